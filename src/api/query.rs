//! Read the domain password policy and a user's password state.

use super::{
    Deadline, DomainHandles, SessionSummary, close_domain, close_handle, lookup_rid,
    open_account_domain, open_user, query_domain, refused,
};
use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials};
use crate::error::{Error, ErrorKind, Operation};
use crate::samr::{
    Call, DomainInfo, SamrQueryInformationDomain2, SamrQueryInformationUser2, UserInfo, access,
    consts,
};
use std::time::{Duration, SystemTime};

/// The domain password and lockout policy ([MS-SAMR] DOMAIN_PASSWORD_INFORMATION and
/// DOMAIN_LOCKOUT_INFORMATION).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// Minimum password length in characters.
    pub min_length: u16,
    /// How many previous passwords may not be reused.
    pub history_length: u16,
    /// The raw PasswordProperties bits (DOMAIN_PASSWORD_COMPLEX = 0x01, …).
    pub properties: u32,
    /// Minimum password age in seconds (0 = may change at once).
    pub min_age_secs: u64,
    /// Maximum password age in seconds (`None` = never expires).
    pub max_age_secs: Option<u64>,
    /// Failed logons before lockout (0 = never locks out).
    pub lockout_threshold: u16,
    /// Lockout duration in seconds (`None` = until an administrator unlocks).
    pub lockout_duration_secs: Option<u64>,
    /// Window in seconds over which failed logons are counted.
    pub lockout_window_secs: u64,
}

impl PasswordPolicy {
    /// The policy from the domain's password information (level 1) and, when read, its
    /// lockout information (level 12; `None` leaves the lockout fields at "never").
    pub(crate) fn from_domain(
        p: &crate::samr::DomainPasswordInformation,
        lockout: Option<&crate::samr::DomainLockoutInformation>,
    ) -> Self {
        Self {
            min_length: p.min_password_length,
            history_length: p.password_history_length,
            properties: p.password_properties,
            min_age_secs: age_secs(p.min_password_age).unwrap_or(0),
            max_age_secs: age_secs(p.max_password_age),
            lockout_threshold: lockout.map_or(0, |l| l.lockout_threshold),
            lockout_duration_secs: lockout.and_then(|l| age_secs(l.lockout_duration)),
            lockout_window_secs: lockout
                .and_then(|l| age_secs(l.lockout_observation_window))
                .unwrap_or(0),
        }
    }

    /// Complexity required (DOMAIN_PASSWORD_COMPLEX).
    pub fn complexity(&self) -> bool {
        self.properties & 0x01 != 0
    }
    /// Anonymous password changes refused (DOMAIN_PASSWORD_NO_ANON_CHANGE).
    pub fn no_anonymous_change(&self) -> bool {
        self.properties & 0x02 != 0
    }
    /// Password changes refused (DOMAIN_REFUSE_PASSWORD_CHANGE).
    pub fn refuse_password_change(&self) -> bool {
        self.properties & 0x20 != 0
    }
    /// The rules in one sentence, for hints: "minimum length 7, complexity required, …".
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("minimum length {}", self.min_length)];
        parts.push(if self.complexity() {
            "complexity required (three of: upper case, lower case, digits, symbols; not the account name)".to_owned()
        } else {
            "no complexity rule".to_owned()
        });
        parts.push(format!("history {} passwords", self.history_length));
        parts.push(if self.min_age_secs == 0 {
            "no minimum age".to_owned()
        } else {
            format!("minimum age {} s", self.min_age_secs)
        });
        parts.join(", ")
    }
}

/// One user's password state.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserState {
    /// The account name.
    pub name: String,
    /// The relative id.
    pub rid: u32,
    /// When the password was last set, as a Windows FILETIME (0 = never / must change);
    /// [`UserState::password_last_set_time`] gives it as a `SystemTime`.
    pub password_last_set: u64,
    /// When the password must be changed, as a FILETIME (`i64::MAX as u64` = never);
    /// [`UserState::password_must_change_time`] gives it as a `SystemTime`.
    pub password_must_change: u64,
    /// The user account control bits (USER_ACCOUNT_DISABLED = 0x01, …).
    pub account_control: u32,
    /// Failed logons counted against the lockout threshold.
    pub bad_password_count: u16,
}

impl UserState {
    /// When the password was last set; `None` when it never was (or is marked "must change
    /// at next logon", which SAMR stores as 0).
    pub fn password_last_set_time(&self) -> Option<SystemTime> {
        filetime_to_system_time(self.password_last_set)
    }

    /// When the password must be changed; `None` when it never expires.
    pub fn password_must_change_time(&self) -> Option<SystemTime> {
        filetime_to_system_time(self.password_must_change)
    }
}

/// A Windows FILETIME (100-ns intervals since 1601-01-01 UTC) as a `SystemTime`; `None` for
/// the "never" values SAMR uses (0 and anything from `i64::MAX` up).
pub fn filetime_to_system_time(filetime: u64) -> Option<SystemTime> {
    /// 1601-01-01 to 1970-01-01 in 100-ns intervals.
    const UNIX_EPOCH_FILETIME: u64 = 116_444_736_000_000_000;
    if filetime == 0 || filetime >= i64::MAX as u64 {
        return None;
    }
    let since =
        |t: u64| Duration::from_secs(t / 10_000_000) + Duration::from_nanos(t % 10_000_000 * 100);
    if filetime >= UNIX_EPOCH_FILETIME {
        SystemTime::UNIX_EPOCH.checked_add(since(filetime - UNIX_EPOCH_FILETIME))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(since(UNIX_EPOCH_FILETIME - filetime))
    }
}

/// The answer of [`password_policy`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PolicyReport {
    /// The domain the policy belongs to (the NetBIOS domain or the computer name).
    pub domain: String,
    /// The policy.
    pub policy: PasswordPolicy,
    /// The named user's state, if one was asked for.
    pub user: Option<UserState>,
    /// The session it was read over.
    pub session: SessionSummary,
}

/// Negative 100-ns interval (as SAMR stores ages) to seconds; `None` for "never".
///
/// Windows writes "never" as the most negative value; Samba's standalone servers write it as
/// 2^32 − 1 seconds (its 32-bit "infinite" policy value): both mean never.
fn age_secs(v: i64) -> Option<u64> {
    let secs = v.unsigned_abs() / 10_000_000;
    if v == i64::MIN || secs >= u64::from(u32::MAX) { None } else { Some(secs) }
}

/// The domain policy's lockout duration (`Some(None)`: until an administrator unlocks), read
/// over an anonymous session for the hint of STATUS_ACCOUNT_LOCKED_OUT; `None` when the server
/// does not let it be read. The account may be under a fine-grained policy with another
/// duration, which SAMR does not show.
pub(crate) async fn lockout_duration(host: &str, config: &ClientConfig) -> Option<Option<u64>> {
    let mut client = SamrClient::connect(host, &Credentials::Anonymous, config).await.ok()?;
    let read = async {
        let h = open_account_domain(
            &mut client,
            access::DOMAIN_LOOKUP | access::DOMAIN_READ_PASSWORD_PARAMETERS,
        )
        .await
        .ok()?;
        let info = query_domain(&mut client, &h, consts::DOMAIN_LOCKOUT_INFORMATION).await;
        close_domain(&mut client, h).await;
        match info.ok()? {
            DomainInfo::Lockout(l) => Some(age_secs(l.lockout_duration)),
            _ => None,
        }
    }
    .await;
    client.close().await;
    read
}

/// What [`password_policy`] reads: the domain policy and, optionally, one user's state.
///
/// Build it with [`PolicyRequest::new`] and the chainable `with_…` methods:
///
/// ```
/// use samrpc::api::PolicyRequest;
/// use samrpc::Credentials;
///
/// let req = PolicyRequest::new("dc1.example.com", Credentials::Anonymous).with_user("alice");
/// assert_eq!(req.user.as_deref(), Some("alice"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct PolicyRequest {
    /// Server host name or address.
    pub host: String,
    /// Who to read as (anonymous works on servers that allow it).
    pub credentials: Credentials,
    /// The account whose password state to read as well (bare name); `None` reads only the
    /// policy.
    pub user: Option<String>,
    /// Connection settings and security policy.
    pub config: ClientConfig,
}

impl PolicyRequest {
    /// Read `host`'s policy as `credentials`, no user, [`ClientConfig::default`].
    pub fn new(host: impl Into<String>, credentials: Credentials) -> Self {
        Self { host: host.into(), credentials, user: None, config: ClientConfig::default() }
    }

    /// Also read this account's password state (bare name).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Connection settings and security policy (default [`ClientConfig::default`]).
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }
}

/// Read the domain password policy and, if `req.user` is given, that user's password state.
///
/// Reads only: dropping the future (cancelling it) at any point changes nothing on the server
/// and leaves nothing running. Over an existing session use
/// [`SamrClient::password_policy`] and [`SamrClient::user_state`].
pub async fn password_policy(req: PolicyRequest) -> Result<PolicyReport, Error> {
    let deadline = Deadline::start(&req.config);
    let mut client = deadline.connect(&req.host, &req.credentials, &req.config).await?;
    let op = Operation::Call(SamrQueryInformationDomain2::NAME);
    let result = match deadline.run(policy_on(&mut client, req.user.as_deref())).await {
        Some(r) => r,
        None => Err(deadline.expired(client.interrupted(), op)),
    };
    client.close().await;
    result
}

impl SamrClient {
    /// Read the account domain's password policy and, if `user` is given, that user's
    /// password state, over this client's session (as [`password_policy`] does over a new
    /// one). Reads only: cancelling it changes nothing on the server (though a cancelled call
    /// closes the client). The client's `operation_timeout` applies, counted from this call.
    pub async fn password_policy(&mut self, user: Option<&str>) -> Result<PolicyReport, Error> {
        let deadline = Deadline::start(self.config());
        let op = Operation::Call(SamrQueryInformationDomain2::NAME);
        match deadline.run(policy_on(self, user)).await {
            Some(r) => r,
            None => Err(deadline.expired(self.interrupted(), op)),
        }
    }

    /// Read one user's password state (last set, must change, account control, bad password
    /// count) from the account domain, over this client's session. Reads only.
    pub async fn user_state(&mut self, user: &str) -> Result<UserState, Error> {
        let deadline = Deadline::start(self.config());
        let op = Operation::Call(SamrQueryInformationUser2::NAME);
        let work = async {
            let h = open_account_domain(self, access::DOMAIN_LOOKUP).await?;
            let r = user_state(self, &h, user).await;
            close_domain(self, h).await;
            r
        };
        match deadline.run(work).await {
            Some(r) => r,
            None => Err(deadline.expired(self.interrupted(), op)),
        }
    }
}

async fn policy_on(client: &mut SamrClient, user: Option<&str>) -> Result<PolicyReport, Error> {
    let h = open_account_domain(
        client,
        access::DOMAIN_LOOKUP | access::DOMAIN_READ_PASSWORD_PARAMETERS,
    )
    .await?;
    let result = async {
        let op = Operation::Call(SamrQueryInformationDomain2::NAME);
        let (DomainInfo::Password(p), DomainInfo::Lockout(l)) = (
            query_domain(client, &h, consts::DOMAIN_PASSWORD_INFORMATION).await?,
            query_domain(client, &h, consts::DOMAIN_LOCKOUT_INFORMATION).await?,
        ) else {
            return Err(Error::new(
                ErrorKind::Protocol,
                op,
                "the server answered another information level",
            ));
        };
        let policy = PasswordPolicy::from_domain(&p, Some(&l));
        let user_state = match user {
            Some(u) => Some(user_state(client, &h, u).await?),
            None => None,
        };
        Ok(PolicyReport {
            domain: h.name.clone(),
            policy,
            user: user_state,
            session: client.session().clone(),
        })
    }
    .await;
    close_domain(client, h).await;
    result
}

pub(crate) async fn user_state(
    client: &mut SamrClient,
    h: &DomainHandles,
    user: &str,
) -> Result<UserState, Error> {
    let rid = lookup_rid(client, h, user).await?;
    let uh = open_user(
        client,
        h,
        rid,
        access::USER_READ_GENERAL
            | access::USER_READ_PREFERENCES
            | access::USER_READ_LOGON
            | access::USER_READ_ACCOUNT,
    )
    .await?;
    let op = Operation::Call(SamrQueryInformationUser2::NAME);
    let r = client
        .call(&SamrQueryInformationUser2 { user_handle: uh, level: consts::USER_ALL_INFORMATION })
        .await;
    close_handle(client, uh).await;
    let r = r?;
    refused(op, r.status)?;
    match r.info {
        Some(UserInfo::All(a)) => Ok(UserState {
            name: a.user_name.to_string_lossy(),
            rid: a.user_id,
            password_last_set: a.password_last_set as u64,
            password_must_change: a.password_must_change as u64,
            account_control: a.user_account_control,
            bad_password_count: a.bad_password_count,
        }),
        _ => Err(Error::new(
            ErrorKind::Protocol,
            op,
            "the server answered another information level",
        )),
    }
}

#[cfg(test)]
mod filetime_tests {
    use super::*;

    #[test]
    fn filetimes_convert_and_never_is_none() {
        // 2021-01-01T00:00:00Z = 1609459200 s after the Unix epoch = FILETIME
        // 132539328000000000 (116444736000000000 + 1609459200 * 10^7).
        let t = filetime_to_system_time(132_539_328_000_000_000).unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_609_459_200);
        let t = filetime_to_system_time(116_444_736_000_000_123).unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos(), 12_300);
        assert_eq!(filetime_to_system_time(0), None);
        assert_eq!(filetime_to_system_time(i64::MAX as u64), None);
        assert_eq!(filetime_to_system_time(u64::MAX), None);
    }
}
