//! Reset a password as an administrator.

use super::{
    Deadline, Method, Outcome, check_new_password, close_domain, close_handle, crypto_error,
    lookup_rid, open_account_domain, open_user, refused, restriction_error,
};
use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials};
use crate::crypto::{
    encrypt_password_set_aes, encrypt_user_password_new, encrypt_user_password_with_session_key,
};
use crate::error::{Advice, CredentialsUsed, Error, ErrorKind, Operation};
use crate::ndr::ContextHandle;
use crate::rng::OsRandom;
use crate::samr::{Call, SamrSetInformationUser2, UserAllInformation, UserInfo, access, consts};
use crate::secret::{Password, SessionKey};
use crate::status::NtStatus;

/// An administrator reset: sets a new password without knowing the old one.
///
/// **A reset is not a change.** Windows protects the user's DPAPI secrets (saved
/// credentials, EFS and certificate private keys) with keys derived from the password; a
/// change re-wraps them, a reset cannot, so a reset can make them unreadable for good. Prefer
/// [`change_password`](super::change_password) whenever the old password is known.
///
/// Build it with [`ResetPassword::new`] and the chainable `with_…` methods:
///
/// ```
/// use samrpc::api::ResetPassword;
/// use samrpc::{Credentials, Password};
///
/// let admin = Credentials::password("Administrator", None, Password::from("Admin-1!"));
/// let req = ResetPassword::new("dc1.example.com", "alice", admin, Password::from("Fresh-3!"))
///     .with_must_change(true);
/// assert!(req.must_change);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ResetPassword {
    /// Server host name or address.
    pub host: String,
    /// The account to reset (bare name).
    pub user: String,
    /// The administrator's credentials.
    pub admin: Credentials,
    /// The new password.
    pub new: Password,
    /// Mark the password expired so the user must change it at the next logon.
    pub must_change: bool,
    /// Connection settings and security policy.
    pub config: ClientConfig,
}

impl ResetPassword {
    /// A reset of `user`'s password on `host` to `new`, authenticated as `admin`; the
    /// password is not marked expired, and [`ClientConfig::default`] applies.
    pub fn new(
        host: impl Into<String>,
        user: impl Into<String>,
        admin: Credentials,
        new: Password,
    ) -> Self {
        Self {
            host: host.into(),
            user: user.into(),
            admin,
            new,
            must_change: false,
            config: ClientConfig::default(),
        }
    }

    /// Mark the password expired so the user must change it at the next logon.
    pub fn with_must_change(mut self, must_change: bool) -> Self {
        self.must_change = must_change;
        self
    }

    /// Connection settings and security policy (default [`ClientConfig::default`]).
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }
}

/// Reset a password as an administrator with `SamrSetInformationUser2` level 31
/// (`UserInternal7Information`, AES keyed by the SMB application key). With
/// `config.allow_rc4`, servers without level 31 get level 25, then 23. To reset several
/// passwords over one session, connect a [`SamrClient`] and use
/// [`SamrClient::reset_password`].
///
/// **Warning:** a reset, unlike a change, cannot re-protect the user's DPAPI secrets (saved
/// credentials, EFS files, certificate private keys); they may become unreadable for good.
/// Prefer [`change_password`](super::change_password) when the old password is known.
///
/// # Cancellation
///
/// Dropping the future stops the job and drops the connection. Dropped before the
/// `SamrSetInformationUser2` request left (connecting, opening the domain, looking up the
/// user), nothing has changed; dropped after, the outcome is unknown: the password may or may
/// not have been set. Set [`ClientConfig::operation_timeout`] instead of wrapping the future
/// in `tokio::time::timeout` to get that classification in the returned error
/// ([`Error::outcome_unknown`]). Needs a tokio runtime with I/O and timers enabled (see
/// [`crate::blocking`] for synchronous callers).
pub async fn reset_password(req: ResetPassword) -> Result<Outcome, Error> {
    check_new_password(&req.new)?;
    let config = super::smb_only(&req.config, "a password reset")?;
    let deadline = Deadline::start(&config);
    let mut client = deadline.connect(&req.host, &req.admin, &config).await.map_err(|e| {
        // An administrator's failed logon says nothing about the target's password.
        if req.admin.is_anonymous() {
            e
        } else {
            e.with_credentials_used(CredentialsUsed::OtherAccount)
        }
    })?;
    let result =
        match deadline.run(reset_on(&mut client, &req)).await {
            Some(r) => r,
            None => Err(deadline
                .expired(client.interrupted(), Operation::Call(SamrSetInformationUser2::NAME))),
        };
    client.close().await;
    result
}

impl SamrClient {
    /// Reset `req.user`'s password over this client's session (which must be authenticated as
    /// an administrator), as [`reset_password`] does over a new one. Of the request it uses
    /// `user`, `new` and `must_change`; `host`, `admin` and `config` belong to the connection
    /// and are ignored: the client's own [`config`](SamrClient::config) decides `allow_rc4`
    /// and the `operation_timeout` (counted from this call). The same warning about DPAPI
    /// secrets applies.
    ///
    /// **Cancellation:** dropping the future after the set request left closes the client
    /// ([`SamrClient::is_closed`]) and the reset's outcome is unknown; before, nothing has
    /// changed.
    pub async fn reset_password(&mut self, req: &ResetPassword) -> Result<Outcome, Error> {
        check_new_password(&req.new)?;
        let deadline = Deadline::start(self.config());
        match deadline.run(reset_on(self, req)).await {
            Some(r) => r,
            None => Err(deadline
                .expired(self.interrupted(), Operation::Call(SamrSetInformationUser2::NAME))),
        }
    }
}

async fn reset_on(client: &mut SamrClient, req: &ResetPassword) -> Result<Outcome, Error> {
    let op = Operation::Call(SamrSetInformationUser2::NAME);
    // A client connected over TCP (a reused one): refused before any call, as the free
    // function refuses a TCP configuration before connecting.
    if client.session().transport == crate::session::RpcTransportKind::Tcp {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            "a password reset cannot run over ncacn_ip_tcp: it needs the SMB session key",
        )
        .with_hint(super::RESET_NEEDS_SMB_HINT));
    }
    let key = client.application_key().cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::Security,
            op,
            "a reset needs an authenticated session (this one has no session key)",
        )
        .with_hint("Authenticate as an account with the reset-password right on the user (an administrator).")
        .with_advice(Advice::Authenticate)
    })?;
    let h = open_account_domain(client, access::DOMAIN_LOOKUP).await?;
    let result = async {
        let rid = lookup_rid(client, &h, &req.user).await?;
        let uh = open_user(client, &h, rid, access::USER_FORCE_PASSWORD_CHANGE).await?;
        let r = set_password(client, &uh, &key, req).await;
        close_handle(client, uh).await;
        r
    }
    .await;
    close_domain(client, h).await;
    let (method, status) = result?;
    if status == NtStatus::STATUS_PASSWORD_RESTRICTION {
        return Err(restriction_error(client, op).await);
    }
    refused(op, status)?;
    Ok(Outcome { method, status, session: client.session().clone(), iterations: None })
}

/// Whether a SamrSetInformationUser2 answer means "the server does not implement this
/// level": the only case in which the next (legacy) level is tried. Besides the statuses and
/// faults for an unknown level or call, an older Windows rejects an unknown union arm with
/// the RPC fault RPC_S_INVALID_TAG.
fn level_missing(result: &Result<NtStatus, Error>) -> bool {
    match result {
        Ok(s) => matches!(
            *s,
            NtStatus::STATUS_INVALID_INFO_CLASS
                | NtStatus::STATUS_NOT_SUPPORTED
                | NtStatus::STATUS_NOT_IMPLEMENTED
        ),
        Err(e) => e.rpc_fault().is_some_and(|f| {
            f == crate::status::RpcFault::NCA_S_OP_RNG_ERROR
                || f == crate::status::RpcFault::RPC_X_BAD_STUB_DATA
                || f == crate::status::RpcFault::RPC_S_INVALID_TAG
        }),
    }
}

pub(crate) async fn set_password(
    client: &mut SamrClient,
    uh: &ContextHandle,
    key: &SessionKey,
    req: &ResetPassword,
) -> Result<(Method, NtStatus), Error> {
    let op = Operation::Call(SamrSetInformationUser2::NAME);
    let expired = u8::from(req.must_change);
    let enc =
        encrypt_password_set_aes(key, &req.new, &mut OsRandom).map_err(|e| crypto_error(op, e))?;
    let call = SamrSetInformationUser2 {
        user_handle: *uh,
        info: UserInfo::Internal7 { password: enc, password_expired: expired },
    };
    let r31 = client.call_mutating(&call).await.map(|r| r.status);
    if !level_missing(&r31) {
        return Ok((Method::SetInternal7, r31?));
    }
    if !client.config().allow_rc4 {
        return Err(match r31 {
            Ok(s) => Error::refused(op, s),
            Err(e) => e,
        }
        .with_hint(
            "The server does not support the AES password set (level 31, July 2021 Windows updates). \
             The legacy RC4 levels are refused unless the caller allows them \
             (ClientConfig::allow_rc4); better, update the server.",
        )
        .with_advice(Advice::AllowRc4));
    }
    let mut which = consts::USER_ALL_NTPASSWORDPRESENT;
    if req.must_change {
        which |= consts::USER_ALL_PASSWORDEXPIRED;
    }
    let all = |which_fields| {
        Box::new(UserAllInformation {
            which_fields,
            password_expired: expired,
            ..UserAllInformation::default()
        })
    };
    let enc =
        encrypt_user_password_new(key, &req.new, &mut OsRandom).map_err(|e| crypto_error(op, e))?;
    let call = SamrSetInformationUser2 {
        user_handle: *uh,
        info: UserInfo::Internal4New { all: all(which), password: enc },
    };
    let r25 = client.call_mutating(&call).await.map(|r| r.status);
    if !level_missing(&r25) {
        return Ok((Method::SetInternal4New, r25?));
    }
    let enc = encrypt_user_password_with_session_key(key, &req.new, &mut OsRandom)
        .map_err(|e| crypto_error(op, e))?;
    let call = SamrSetInformationUser2 {
        user_handle: *uh,
        info: UserInfo::Internal4 { all: all(which), password: enc },
    };
    Ok((Method::SetInternal4, client.call_mutating(&call).await?.status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::RpcFault;

    #[test]
    fn level_missing_covers_every_way_a_server_says_so() {
        let fault = |f| Err(Error::fault(Operation::Call(SamrSetInformationUser2::NAME), f));
        for r in [
            Ok(NtStatus::STATUS_INVALID_INFO_CLASS),
            Ok(NtStatus::STATUS_NOT_SUPPORTED),
            Ok(NtStatus::STATUS_NOT_IMPLEMENTED),
            fault(RpcFault::NCA_S_OP_RNG_ERROR),
            fault(RpcFault::RPC_X_BAD_STUB_DATA),
            // [MS-ERREF] 2.2: 0x6C5, an unknown union arm on an older Windows.
            fault(RpcFault::RPC_S_INVALID_TAG),
        ] {
            assert!(level_missing(&r), "{r:?}");
        }
        for r in [
            Ok(NtStatus::STATUS_SUCCESS),
            Ok(NtStatus::STATUS_ACCESS_DENIED),
            Ok(NtStatus::STATUS_PASSWORD_RESTRICTION),
            fault(RpcFault::ACCESS_DENIED),
        ] {
            assert!(!level_missing(&r), "{r:?}");
        }
    }
}
