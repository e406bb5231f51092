//! Read the domain password policy and a user's password state.

use super::{
    DomainHandles, SessionSummary, close_domain, close_handle, lookup_rid, open_account_domain,
    open_user, query_domain, refused,
};
use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials};
use crate::error::{Error, ErrorKind, Operation};
use crate::samr::{
    Call, DomainInfo, SamrQueryInformationDomain2, SamrQueryInformationUser2, UserInfo, access,
    consts,
};

/// The domain password and lockout policy ([MS-SAMR] DOMAIN_PASSWORD_INFORMATION and
/// DOMAIN_LOCKOUT_INFORMATION).
#[derive(Clone, Debug, PartialEq, Eq)]
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
pub struct UserState {
    /// The account name.
    pub name: String,
    /// The relative id.
    pub rid: u32,
    /// When the password was last set, as a Windows FILETIME (0 = never / must change).
    pub password_last_set: u64,
    /// When the password must be changed, as a FILETIME (`i64::MAX as u64` = never).
    pub password_must_change: u64,
    /// The user account control bits (USER_ACCOUNT_DISABLED = 0x01, …).
    pub account_control: u32,
    /// Failed logons counted against the lockout threshold.
    pub bad_password_count: u16,
}

/// The answer of [`password_policy`].
#[derive(Clone, Debug, PartialEq, Eq)]
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
pub async fn password_policy(req: PolicyRequest) -> Result<PolicyReport, Error> {
    let mut client = SamrClient::connect(&req.host, &req.credentials, &req.config).await?;
    let result = policy_on(&mut client, req.user.as_deref()).await;
    client.close().await;
    result
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
