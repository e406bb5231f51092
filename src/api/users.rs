//! List the users of the account domain.

use super::{
    Deadline, DomainHandles, close_domain, close_handle, open_account_domain, open_user, refused,
};
use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials};
use crate::error::{Error, ErrorKind, Operation};
use crate::samr::{
    Call, SamrEnumerateUsersInDomain, SamrQueryInformationUser2, UserInfo, access, consts,
};
use crate::status::NtStatus;

/// One account of [`list_users`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserEntry {
    /// The account name.
    pub name: String,
    /// The relative id.
    pub rid: u32,
    /// The user account control bits.
    pub account_control: u32,
}

/// Which accounts [`list_users`] lists, by their account-control bits ([MS-SAMR] 2.2.1.12).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccountKind {
    /// Every account (the default).
    #[default]
    All,
    /// Normal user accounts (`USER_NORMAL_ACCOUNT`): what `enumdomusers` of Samba's client
    /// lists by default.
    Normal,
    /// Computer accounts (`USER_WORKSTATION_TRUST_ACCOUNT`, `USER_SERVER_TRUST_ACCOUNT`).
    Computer,
    /// Interdomain trust accounts (`USER_INTERDOMAIN_TRUST_ACCOUNT`).
    Trust,
}

impl AccountKind {
    /// The account-control bits an account of this kind has one of (0 for all).
    pub const fn account_control_mask(self) -> u32 {
        match self {
            Self::All => 0,
            Self::Normal => consts::USER_NORMAL_ACCOUNT,
            Self::Computer => {
                consts::USER_WORKSTATION_TRUST_ACCOUNT | consts::USER_SERVER_TRUST_ACCOUNT
            }
            Self::Trust => consts::USER_INTERDOMAIN_TRUST_ACCOUNT,
        }
    }

    /// Whether an account with these control bits is of this kind.
    pub const fn matches(self, account_control: u32) -> bool {
        let mask = self.account_control_mask();
        mask == 0 || account_control & mask != 0
    }
}

/// What [`list_users`] lists: the users of one server's account domain.
///
/// Build it with [`ListUsersRequest::new`] and the chainable `with_…` methods:
///
/// ```
/// use samrpc::api::ListUsersRequest;
/// use samrpc::{ClientConfig, Credentials};
/// use std::time::Duration;
///
/// let req = ListUsersRequest::new("dc1.example.com", Credentials::Anonymous)
///     .with_config(ClientConfig::default().with_timeout(Duration::from_secs(5)));
/// assert_eq!(req.host, "dc1.example.com");
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ListUsersRequest {
    /// Server host name or address.
    pub host: String,
    /// Who to list as.
    pub credentials: Credentials,
    /// Connection settings and security policy.
    pub config: ClientConfig,
    /// Which accounts to list (default [`AccountKind::All`]).
    pub kind: AccountKind,
}

impl ListUsersRequest {
    /// List all of `host`'s accounts as `credentials`, with [`ClientConfig::default`].
    pub fn new(host: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            host: host.into(),
            credentials,
            config: ClientConfig::default(),
            kind: AccountKind::All,
        }
    }

    /// List only the accounts of this kind.
    pub fn with_kind(mut self, kind: AccountKind) -> Self {
        self.kind = kind;
        self
    }

    /// Connection settings and security policy (default [`ClientConfig::default`]).
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }
}

/// List the accounts of the server's account domain (name, RID and account-control bits), of
/// the kind asked for: the server filters by the account-control bits
/// (`SamrEnumerateUsersInDomain`), and the bits each account reports are checked again.
///
/// Reads only: dropping the future (cancelling it) at any point changes nothing on the server
/// and leaves nothing running. Over an existing session use [`SamrClient::list_users`].
pub async fn list_users(req: ListUsersRequest) -> Result<Vec<UserEntry>, Error> {
    let deadline = Deadline::start(&req.config);
    let mut client = deadline.connect(&req.host, &req.credentials, &req.config).await?;
    let op = Operation::Call(SamrEnumerateUsersInDomain::NAME);
    let result = match deadline.run(users_on(&mut client, req.kind)).await {
        Some(r) => r,
        None => Err(deadline.expired(client.interrupted(), op)),
    };
    client.close().await;
    result
}

impl SamrClient {
    /// List the accounts of `kind` ([`AccountKind::All`] for every one) in the account domain
    /// over this client's session (as [`list_users`] does over a new one). Reads only; the
    /// client's `operation_timeout` applies, counted from this call.
    pub async fn list_users(&mut self, kind: AccountKind) -> Result<Vec<UserEntry>, Error> {
        let deadline = Deadline::start(self.config());
        let op = Operation::Call(SamrEnumerateUsersInDomain::NAME);
        match deadline.run(users_on(self, kind)).await {
            Some(r) => r,
            None => Err(deadline.expired(self.interrupted(), op)),
        }
    }
}

/// The most accounts one enumeration returns (a domain of a million users is listed; a
/// server that keeps answering STATUS_MORE_ENTRIES is stopped).
pub const MAX_ENUMERATED_USERS: usize = 1_000_000;

/// The most SamrEnumerateUsersInDomain calls one enumeration makes (a real server returns
/// hundreds of entries per call at the 64 KiB preferred length asked for).
pub const MAX_ENUMERATION_CALLS: u32 = 10_000;

/// Every account of the opened domain whose control bits match `account_control` (0 = all),
/// as (name, RID), following the resume handle through STATUS_MORE_ENTRIES.
///
/// The enumeration cannot run away: at most [`MAX_ENUMERATED_USERS`] entries and
/// [`MAX_ENUMERATION_CALLS`] calls, the resume handle must change on every call, and the
/// whole enumeration is one operation under the client's operation deadline.
pub(crate) async fn enumerate_users(
    client: &mut SamrClient,
    h: &DomainHandles,
    account_control: u32,
) -> Result<Vec<(String, u32)>, Error> {
    let op = Operation::Call(SamrEnumerateUsersInDomain::NAME);
    let limit = client.operation_timeout();
    match tokio::time::timeout(limit, enumerate_inner(client, h, account_control)).await {
        Ok(r) => r,
        // The call in flight was abandoned: the client knows (it is unusable now).
        Err(_) => Err(crate::client::operation_timed_out(limit, None, op)),
    }
}

async fn enumerate_inner(
    client: &mut SamrClient,
    h: &DomainHandles,
    account_control: u32,
) -> Result<Vec<(String, u32)>, Error> {
    let op = Operation::Call(SamrEnumerateUsersInDomain::NAME);
    let runaway = |what: String| Error::new(ErrorKind::Protocol, op, what);
    let mut names = Vec::new();
    let mut name_bytes = 0usize;
    let mut context = 0;
    let mut calls = 0u32;
    loop {
        calls += 1;
        if calls > MAX_ENUMERATION_CALLS {
            return Err(runaway(format!(
                "the server kept answering STATUS_MORE_ENTRIES past {MAX_ENUMERATION_CALLS} calls"
            )));
        }
        let r = client
            .call(&SamrEnumerateUsersInDomain {
                domain_handle: h.domain,
                enumeration_context: context,
                user_account_control: account_control,
                prefered_maximum_length: 0x10000,
            })
            .await?;
        if r.status != NtStatus::STATUS_MORE_ENTRIES {
            refused(op, r.status)?;
        }
        let entries = r.buffer.as_ref().map(|b| b.as_slice()).unwrap_or_default();
        let more = r.status == NtStatus::STATUS_MORE_ENTRIES && !entries.is_empty();
        check_enumeration(op, names.len(), entries.len(), more, context, r.enumeration_context)?;
        for e in entries {
            let name = e.name.to_string_lossy();
            name_bytes = name_bytes.saturating_add(name.len());
            if name_bytes > MAX_ENUMERATED_NAME_BYTES {
                return Err(Error::new(
                    ErrorKind::Protocol,
                    op,
                    "the server's account names exceed the enumeration's size limit",
                ));
            }
            names.push((name, e.relative_id));
        }
        if !more {
            return Ok(names);
        }
        context = r.enumeration_context;
    }
}

/// The most bytes of account names [`enumerate_users`] collects (names are at most 20
/// characters in AD; the account cap alone would not bound a server sending huge names).
pub(crate) const MAX_ENUMERATED_NAME_BYTES: usize = 128 * 1024 * 1024;

/// Refuse an enumeration that cannot end well (issue 15, item 3): more than
/// [`MAX_ENUMERATED_USERS`] in total, or STATUS_MORE_ENTRIES with a resume handle that did
/// not move (the server would answer the same page forever).
fn check_enumeration(
    op: Operation,
    have: usize,
    got: usize,
    more: bool,
    context: u32,
    next_context: u32,
) -> Result<(), Error> {
    if have.saturating_add(got) > MAX_ENUMERATED_USERS {
        return Err(Error::new(
            ErrorKind::Protocol,
            op,
            format!("the server listed more than {MAX_ENUMERATED_USERS} accounts"),
        ));
    }
    if more && next_context == context {
        return Err(Error::new(
            ErrorKind::Protocol,
            op,
            "the server asked to continue the enumeration without advancing its resume handle",
        ));
    }
    Ok(())
}

async fn users_on(client: &mut SamrClient, kind: AccountKind) -> Result<Vec<UserEntry>, Error> {
    let h =
        open_account_domain(client, access::DOMAIN_LIST_ACCOUNTS | access::DOMAIN_LOOKUP).await?;
    let result = async {
        let names = enumerate_users(client, &h, kind.account_control_mask()).await?;
        let mut users = Vec::with_capacity(names.len());
        let qop = Operation::Call(SamrQueryInformationUser2::NAME);
        for (name, rid) in names {
            let uh = match open_user(client, &h, rid, access::USER_READ_ACCOUNT).await {
                Ok(uh) => uh,
                // Deleted between the enumeration and now: it is no longer a user to list.
                Err(e) if e.status() == Some(NtStatus::STATUS_NO_SUCH_USER) => continue,
                Err(e) => return Err(e),
            };
            let r = client
                .call(&SamrQueryInformationUser2 {
                    user_handle: uh,
                    level: consts::USER_CONTROL_INFORMATION,
                })
                .await;
            close_handle(client, uh).await;
            let r = r?;
            refused(qop, r.status)?;
            let account_control = match r.info {
                Some(UserInfo::Control(c)) => c,
                _ => {
                    return Err(Error::new(
                        ErrorKind::Protocol,
                        qop,
                        "the server answered another information level",
                    ));
                }
            };
            if kind.matches(account_control) {
                users.push(UserEntry { name, rid, account_control });
            }
        }
        Ok(users)
    }
    .await;
    close_domain(client, h).await;
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn enumeration_must_advance_and_stay_bounded() {
        use super::{MAX_ENUMERATED_USERS, check_enumeration};
        let op = crate::error::Operation::Call("SamrEnumerateUsersInDomain");
        // A normal page, then the last one.
        assert!(check_enumeration(op, 0, 500, true, 0, 500).is_ok());
        assert!(check_enumeration(op, 500, 20, false, 500, 500).is_ok());
        // STATUS_MORE_ENTRIES with the same resume handle: the same page forever.
        let e = check_enumeration(op, 500, 500, true, 500, 500).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Protocol);
        assert!(e.to_string().contains("resume handle"), "{e}");
        // Past the total cap.
        let e = check_enumeration(op, MAX_ENUMERATED_USERS, 1, true, 1, 2).unwrap_err();
        assert!(e.to_string().contains("more than"), "{e}");
    }

    use super::*;

    #[test]
    fn kinds_match_their_account_control_bits() {
        // [MS-SAMR] 2.2.1.12: 0x10 normal, 0x40 interdomain trust, 0x80 workstation, 0x100 server.
        assert!(AccountKind::Normal.matches(0x210));
        assert!(!AccountKind::Normal.matches(0x1080));
        assert!(AccountKind::Computer.matches(0x1080));
        assert!(AccountKind::Computer.matches(0x2100));
        assert!(!AccountKind::Computer.matches(0x10));
        assert!(AccountKind::Trust.matches(0x40));
        assert!(!AccountKind::Trust.matches(0x80));
        assert!(AccountKind::All.matches(0));
        assert_eq!(AccountKind::default(), AccountKind::All);
    }
}
