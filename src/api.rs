//! The high-level API: change, reset, policy, users and diagnose, each a sequence of typed SAMR
//! calls over one SMB session.

use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials, Secret};
use crate::crypto::{
    EncryptedPasswordAes, encrypt_nt_owf, encrypt_password_change_aes, encrypt_password_set_aes,
    encrypt_user_password_new, encrypt_user_password_with_old_nt,
    encrypt_user_password_with_session_key, nt_hash,
};
use crate::error::{Error, ErrorKind, Operation};
use crate::ndr::{ContextHandle, RpcUnicodeString, WString};
use crate::rng::{OsRandom, SecureRandomExt};
use crate::samr::{
    Call, DomainInfo, RevisionInfoV1, SamrCloseHandle, SamrConnect5,
    SamrEnumerateDomainsInSamServer, SamrEnumerateUsersInDomain, SamrGetDomainPasswordInformation,
    SamrLookupDomainInSamServer, SamrLookupNamesInDomain, SamrOpenDomain, SamrOpenUser,
    SamrQueryInformationDomain2, SamrQueryInformationUser2, SamrSetInformationUser2,
    SamrUnicodeChangePasswordUser2, SamrUnicodeChangePasswordUser4, UserAllInformation, UserInfo,
    access, consts,
};
use crate::secret::{NtHash, Password, SessionKey};
use crate::status::NtStatus;

/// How the password change authenticates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum ChangeSession {
    /// Authenticate as the user with the old secret; when the server answers
    /// STATUS_PASSWORD_MUST_CHANGE or STATUS_PASSWORD_EXPIRED, retry over an anonymous session.
    #[default]
    Auto,
    /// Use an anonymous session from the start.
    Anonymous,
}

/// A password change: the user knows the old password (or its NT hash).
#[derive(Clone, Debug)]
pub struct ChangePassword {
    /// Server host name or address.
    pub host: String,
    /// The account whose password changes (bare name).
    pub user: String,
    /// The account's NetBIOS domain; `None` uses the one the server announces.
    pub domain: Option<String>,
    /// The current password or its NT hash.
    pub old: Secret,
    /// The new password.
    pub new: Password,
    /// How to authenticate.
    pub session: ChangeSession,
    /// PBKDF2 iterations for SamrUnicodeChangePasswordUser4 (5,000..=1,000,000); `None`
    /// picks the documented default.
    pub iterations: Option<u64>,
    /// Connection settings and security policy.
    pub config: ClientConfig,
}

/// An administrator reset: sets a new password without knowing the old one.
///
/// **A reset is not a change.** Windows protects the user's DPAPI secrets (saved
/// credentials, EFS and certificate private keys) with keys derived from the password; a
/// change re-wraps them, a reset cannot, so a reset can make them unreadable for good. Prefer
/// [`change_password`] whenever the old password is known.
#[derive(Clone, Debug)]
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

/// The SAMR method that did the work.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `SamrUnicodeChangePasswordUser4` (opnum 73): AES-256 + HMAC-SHA512, PBKDF2 key.
    ChangeUser4,
    /// `SamrUnicodeChangePasswordUser2` (opnum 55): legacy RC4 (opt-in only).
    ChangeUser2,
    /// `SamrSetInformationUser2` level 31 (`UserInternal7Information`, AES).
    SetInternal7,
    /// `SamrSetInformationUser2` level 32 (`UserInternal8Information`, AES).
    SetInternal8,
    /// `SamrSetInformationUser2` level 25 (`UserInternal4InformationNew`, legacy RC4).
    SetInternal4New,
    /// `SamrSetInformationUser2` level 23 (`UserInternal4Information`, legacy RC4).
    SetInternal4,
}

impl Method {
    /// The name used in results and JSON output.
    pub fn name(self) -> &'static str {
        match self {
            Self::ChangeUser4 => "SamrUnicodeChangePasswordUser4",
            Self::ChangeUser2 => "SamrUnicodeChangePasswordUser2",
            Self::SetInternal7 => "SamrSetInformationUser2/UserInternal7Information",
            Self::SetInternal8 => "SamrSetInformationUser2/UserInternal8Information",
            Self::SetInternal4New => "SamrSetInformationUser2/UserInternal4InformationNew",
            Self::SetInternal4 => "SamrSetInformationUser2/UserInternal4Information",
        }
    }
}

/// How the SMB session was authenticated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// As a named account.
    Authenticated,
    /// A null session.
    Anonymous,
}

impl SessionKind {
    /// `authenticated` or `anonymous`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Anonymous => "anonymous",
        }
    }
}

/// What the SMB session negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionSummary {
    /// Authenticated or anonymous.
    pub kind: SessionKind,
    /// The SMB dialect, e.g. `3.1.1`.
    pub dialect: String,
    /// Whether messages were signed.
    pub signing: bool,
    /// Whether messages were encrypted.
    pub encryption: bool,
}

/// The result of a successful change or reset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The method that did the work.
    pub method: Method,
    /// The server's final status (STATUS_SUCCESS).
    pub status: NtStatus,
    /// The session it ran over.
    pub session: SessionSummary,
    /// PBKDF2 iterations used (User4 only).
    pub iterations: Option<u64>,
}

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

/// One account of [`list_users`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEntry {
    /// The account name.
    pub name: String,
    /// The relative id.
    pub rid: u32,
    /// The user account control bits.
    pub account_control: u32,
}

/// One step of [`doctor`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DoctorStep {
    /// What was checked ("TCP 445", "SMB dialect", …).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub found: String,
    /// What to do when it failed.
    pub hint: Option<String>,
}

/// The lower bound of the default PBKDF2 iteration range for `SamrUnicodeChangePasswordUser4`.
///
/// The default count is drawn uniformly from
/// [`DEFAULT_ITERATIONS_MIN`]`..=`[`DEFAULT_ITERATIONS_MAX`] for every change. Why this range:
/// the iterations are the only thing that slows an eavesdropper (or, on an anonymous session,
/// an active impersonator of the server) who captured the request and now guesses the *old*
/// password offline — each guess costs the full PBKDF2. The server repeats the derivation for
/// every change, though, and Samba's DC spends about 1.2 µs per iteration. 100,000–150,000
/// iterations cost the server about 0.12–0.18 s and the client about 0.05–0.08 s, and make
/// each offline guess 20–30× dearer than at the protocol minimum of 5,000 (Samba's own client
/// draws from the whole 5,000–1,000,000 range, so up to 1.2 s of server time). Callers who
/// rotate many accounts can lower it with `iterations`; callers on hostile networks can raise
/// it.
pub const DEFAULT_ITERATIONS_MIN: u64 = 100_000;
/// The upper bound of the default PBKDF2 iteration range (see [`DEFAULT_ITERATIONS_MIN`]).
pub const DEFAULT_ITERATIONS_MAX: u64 = 150_000;

fn check_new_password(new: &Password) -> Result<(), Error> {
    if new.is_empty() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            "the new password is empty",
        ));
    }
    let units = new.utf16_len();
    if units > crate::crypto::MAX_PASSWORD_UTF16_UNITS {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            format!(
                "the new password is {units} UTF-16 code units long; SAMR carries at most {}",
                crate::crypto::MAX_PASSWORD_UTF16_UNITS
            ),
        )
        .with_hint("Choose a password of at most 256 characters (characters outside the Basic Multilingual Plane count twice)."));
    }
    Ok(())
}

fn crypto_error(op: Operation, e: crate::crypto::CryptoError) -> Error {
    Error::new(ErrorKind::InvalidInput, op, e.to_string())
}

pub(crate) fn unicode(op: Operation, s: &str) -> Result<RpcUnicodeString, Error> {
    RpcUnicodeString::new(s).map_err(|_| {
        Error::new(ErrorKind::InvalidInput, op, "a name is too long for an RPC_UNICODE_STRING")
    })
}

pub(crate) fn refused(op: Operation, status: NtStatus) -> Result<(), Error> {
    if status.is_error() { Err(Error::refused(op, status)) } else { Ok(()) }
}

/// Whether an opnum-73 answer means "the server has no such call" (the only case in which a
/// fallback to the legacy method is allowed).
fn lacks_call(result: &Result<NtStatus, Error>) -> bool {
    match result {
        Ok(s) => *s == NtStatus::STATUS_NOT_SUPPORTED || *s == NtStatus::STATUS_NOT_IMPLEMENTED,
        Err(e) => e.rpc_fault() == Some(crate::status::RpcFault::NCA_S_OP_RNG_ERROR),
    }
}

async fn connect_change(req: &ChangePassword) -> Result<SamrClient, Error> {
    if req.session == ChangeSession::Anonymous {
        return SamrClient::connect(&req.host, &Credentials::Anonymous, &req.config).await;
    }
    let creds = Credentials::User {
        user: req.user.clone(),
        domain: req.domain.clone(),
        secret: req.old.clone(),
    };
    match SamrClient::connect(&req.host, &creds, &req.config).await {
        Ok(c) => Ok(c),
        Err(e)
            if e.operation() == Operation::SessionSetup
                && matches!(
                    e.status(),
                    Some(NtStatus::STATUS_PASSWORD_MUST_CHANGE | NtStatus::STATUS_PASSWORD_EXPIRED)
                ) =>
        {
            crate::log_debug!(status = ?e.status(), "password expired: retrying over an anonymous session");
            SamrClient::connect(&req.host, &Credentials::Anonymous, &req.config).await.map_err(|a| {
                let msg = format!(
                    "the password must be changed, but the server refused the anonymous session needed to change it: {a}"
                );
                let hint = "The server does not allow anonymous access to \\PIPE\\samr (or requires encryption, which an anonymous session cannot do). Ask an administrator to reset the password, or change it on a domain controller that allows it.";
                a.with_message(msg).with_hint(hint)
            })
        }
        Err(e) => Err(e),
    }
}

/// Explain STATUS_PASSWORD_RESTRICTION with the domain's rules (opnum 56 needs no handle).
async fn restriction_error(client: &mut SamrClient, op: Operation) -> Error {
    let base = Error::refused(op, NtStatus::STATUS_PASSWORD_RESTRICTION);
    match client.call(&SamrGetDomainPasswordInformation { unused: None }).await {
        Ok(r) if r.status.is_success() => {
            let complex = r.info.password_properties & 0x01 != 0;
            base.with_hint(format!(
                "The new password does not meet the policy: minimum length {}{}; it must also \
                 differ from the recent passwords kept in the history, and the minimum password \
                 age must have passed since the last change (`samrpc policy` shows all rules).",
                r.info.min_password_length,
                if complex {
                    ", complexity required (three of: upper case, lower case, digits, symbols; not containing the account name)"
                } else {
                    ", no complexity rule"
                }
            ))
        }
        _ => base,
    }
}

/// Change a password with the old one (or its NT hash).
///
/// Tries `SamrUnicodeChangePasswordUser4` (AES) first. Falls back to the RC4
/// `SamrUnicodeChangePasswordUser2` only when the server lacks opnum 73 (RPC fault
/// `nca_s_op_rng_error`, STATUS_NOT_SUPPORTED or STATUS_NOT_IMPLEMENTED) **and**
/// `config.allow_rc4` is set; any other failure of opnum 73 is final. With
/// [`ChangeSession::Auto`] it authenticates as the user with the old secret and retries over
/// an anonymous session when the server answers STATUS_PASSWORD_MUST_CHANGE or
/// STATUS_PASSWORD_EXPIRED.
///
/// ```no_run
/// # async fn demo() -> Result<(), samrpc::Error> {
/// use samrpc::api::{change_password, ChangePassword, ChangeSession};
/// use samrpc::{ClientConfig, Password, Secret};
///
/// let outcome = change_password(ChangePassword {
///     host: "dc.example.com".into(),
///     user: "alice".into(),
///     domain: None,
///     old: Secret::Password(Password::from("Old-Pass-1!")),
///     new: Password::from("New-Pass-2!"),
///     session: ChangeSession::Auto,
///     iterations: None,
///     config: ClientConfig::default(),
/// })
/// .await?;
/// println!("changed with {}", outcome.method.name());
/// # Ok(()) }
/// ```
pub async fn change_password(req: ChangePassword) -> Result<Outcome, Error> {
    check_new_password(&req.new)?;
    let iterations = match req.iterations {
        Some(n)
            if !(crate::crypto::MIN_PBKDF2_ITERATIONS..=crate::crypto::MAX_PBKDF2_ITERATIONS)
                .contains(&n) =>
        {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                Operation::Input,
                format!("{n} PBKDF2 iterations is outside the allowed 5000..=1000000"),
            ));
        }
        Some(n) => n,
        None => OsRandom.u64_in(DEFAULT_ITERATIONS_MIN, DEFAULT_ITERATIONS_MAX),
    };
    let old_hash = match &req.old {
        Secret::Password(p) => nt_hash(p),
        Secret::NtHash(h) => h.clone(),
    };
    let op4 = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
    let server_name = Some(unicode(op4, &format!("\\\\{}", req.host))?);
    let user_name = unicode(op4, &req.user)?;

    // The PBKDF2 key derivation (the client's only heavy work) runs on a blocking thread
    // while the connection is set up, so its time hides behind the network round trips; all
    // input was checked above, before any traffic.
    let (hash, new_password) = (old_hash.clone(), req.new.clone());
    let derive = tokio::task::spawn_blocking(move || {
        encrypt_password_change_aes(&hash, &new_password, iterations, &mut OsRandom)
    });
    let mut client = connect_change(&req).await?;
    let result = match derive.await {
        Ok(Ok(encrypted)) => {
            change_on(&mut client, &req, old_hash, encrypted, server_name, user_name).await
        }
        Ok(Err(e)) => Err(crypto_error(op4, e)),
        Err(_) => Err(Error::new(ErrorKind::Protocol, op4, "the key derivation task failed")),
    };
    client.close().await;
    result
}

async fn change_on(
    client: &mut SamrClient,
    req: &ChangePassword,
    old_hash: NtHash,
    encrypted: EncryptedPasswordAes,
    server_name: Option<RpcUnicodeString>,
    user_name: RpcUnicodeString,
) -> Result<Outcome, Error> {
    let op4 = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
    let iterations = encrypted.pbkdf2_iterations;
    let call4 = SamrUnicodeChangePasswordUser4 {
        server_name: server_name.clone(),
        user_name: user_name.clone(),
        encrypted_password: encrypted,
    };
    let result4 = client.call_mutating(&call4).await.map(|r| r.status);
    let (method, status, iterations) = if lacks_call(&result4) {
        if !req.config.allow_rc4 {
            return Err(match result4 {
                Ok(s) => Error::refused(op4, s),
                Err(e) => e,
            }
            .with_hint(
                "The server does not implement the AES password change (SamrUnicodeChangePasswordUser4, \
                 added by the July 2021 Windows updates). The legacy RC4 method is refused unless you \
                 allow it (--allow-rc4 / ClientConfig::allow_rc4); better, update the server.",
            ));
        }
        crate::log_debug!("opnum 73 missing; legacy RC4 change allowed by the caller");
        let op2 = Operation::Call(SamrUnicodeChangePasswordUser2::NAME);
        let new_hash = nt_hash(&req.new);
        let call2 = SamrUnicodeChangePasswordUser2 {
            server_name,
            user_name,
            new_password_encrypted_with_old_nt: Some(
                encrypt_user_password_with_old_nt(&old_hash, &req.new, &mut OsRandom)
                    .map_err(|e| crypto_error(op2, e))?,
            ),
            old_nt_owf_password_encrypted_with_new_nt: Some(encrypt_nt_owf(&old_hash, &new_hash)),
            lm_present: 0,
            new_password_encrypted_with_old_lm: None,
            old_lm_owf_password_encrypted_with_new_nt: None,
        };
        let status = client.call_mutating(&call2).await?.status;
        (Method::ChangeUser2, status, None)
    } else {
        (Method::ChangeUser4, result4?, Some(iterations))
    };
    let op = Operation::Call(match method {
        Method::ChangeUser2 => SamrUnicodeChangePasswordUser2::NAME,
        _ => SamrUnicodeChangePasswordUser4::NAME,
    });
    if status == NtStatus::STATUS_PASSWORD_RESTRICTION {
        return Err(restriction_error(client, op).await);
    }
    refused(op, status)?;
    Ok(Outcome { method, status, session: client.session().clone(), iterations })
}

/// Handles opened on the server's account domain.
pub(crate) struct DomainHandles {
    pub(crate) server: ContextHandle,
    pub(crate) domain: ContextHandle,
    pub(crate) name: String,
}

pub(crate) async fn close_handle(client: &mut SamrClient, handle: ContextHandle) {
    let _ = client.call(&SamrCloseHandle { handle }).await;
}

/// SamrConnect5, then the account domain (the server's own domain, not Builtin), opened with
/// `domain_access`.
pub(crate) async fn open_account_domain(
    client: &mut SamrClient,
    domain_access: u32,
) -> Result<DomainHandles, Error> {
    let host = client.host().to_owned();
    let op = Operation::Call(SamrConnect5::NAME);
    let connect = SamrConnect5 {
        server_name: WString::new(&format!("\\\\{host}")).ok(),
        desired_access: access::SAM_SERVER_CONNECT
            | access::SAM_SERVER_ENUMERATE_DOMAINS
            | access::SAM_SERVER_LOOKUP_DOMAIN,
        revision: RevisionInfoV1::CLIENT,
    };
    let r = client.call(&connect).await?;
    refused(op, r.status)?;
    let server = r.handle;

    let op = Operation::Call(SamrEnumerateDomainsInSamServer::NAME);
    let r = client
        .call(&SamrEnumerateDomainsInSamServer {
            server_handle: server,
            enumeration_context: 0,
            prefered_maximum_length: 0xFFFF,
        })
        .await?;
    refused(op, r.status)?;
    let name = r
        .buffer
        .as_ref()
        .map(|b| b.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|e| e.name.to_string_lossy())
        .find(|n| !n.eq_ignore_ascii_case("Builtin"))
        .ok_or_else(|| {
            Error::new(ErrorKind::Protocol, op, "the server listed no account domain")
        })?;

    let op = Operation::Call(SamrLookupDomainInSamServer::NAME);
    let r = client
        .call(&SamrLookupDomainInSamServer { server_handle: server, name: unicode(op, &name)? })
        .await?;
    refused(op, r.status)?;
    let sid = r
        .domain_id
        .ok_or_else(|| Error::new(ErrorKind::Protocol, op, "the server returned no domain SID"))?;

    let op = Operation::Call(SamrOpenDomain::NAME);
    let r = client
        .call(&SamrOpenDomain {
            server_handle: server,
            desired_access: domain_access,
            domain_id: sid,
        })
        .await?;
    refused(op, r.status)?;
    Ok(DomainHandles { server, domain: r.handle, name })
}

pub(crate) async fn close_domain(client: &mut SamrClient, h: DomainHandles) {
    close_handle(client, h.domain).await;
    close_handle(client, h.server).await;
}

/// The RID of `user` in the opened domain.
async fn lookup_rid(client: &mut SamrClient, h: &DomainHandles, user: &str) -> Result<u32, Error> {
    let op = Operation::Call(SamrLookupNamesInDomain::NAME);
    let r = client
        .call(&SamrLookupNamesInDomain { domain_handle: h.domain, names: vec![unicode(op, user)?] })
        .await?;
    if r.status == NtStatus::STATUS_NONE_MAPPED || r.status == NtStatus::STATUS_SOME_NOT_MAPPED {
        return Err(Error::refused(op, r.status).with_hint(format!(
            "There is no account named \"{user}\" in the domain {}. Check the spelling (the bare account name, without DOMAIN\\).",
            h.name
        )));
    }
    refused(op, r.status)?;
    r.relative_ids
        .as_slice()
        .first()
        .copied()
        .ok_or_else(|| Error::new(ErrorKind::Protocol, op, "the server returned no RID"))
}

pub(crate) async fn open_user(
    client: &mut SamrClient,
    h: &DomainHandles,
    rid: u32,
    desired_access: u32,
) -> Result<ContextHandle, Error> {
    let op = Operation::Call(SamrOpenUser::NAME);
    let r = client
        .call(&SamrOpenUser { domain_handle: h.domain, desired_access, user_id: rid })
        .await?;
    refused(op, r.status)?;
    Ok(r.handle)
}

/// Reset a password as an administrator with `SamrSetInformationUser2` level 31
/// (`UserInternal7Information`, AES keyed by the SMB application key). With
/// `config.allow_rc4`, servers without level 31 get level 25, then 23.
///
/// **Warning:** a reset, unlike a change, cannot re-protect the user's DPAPI secrets (saved
/// credentials, EFS files, certificate private keys); they may become unreadable for good.
/// Prefer [`change_password`] when the old password is known.
pub async fn reset_password(req: ResetPassword) -> Result<Outcome, Error> {
    check_new_password(&req.new)?;
    let mut client = SamrClient::connect(&req.host, &req.admin, &req.config).await?;
    let result = reset_on(&mut client, &req).await;
    client.close().await;
    result
}

async fn reset_on(client: &mut SamrClient, req: &ResetPassword) -> Result<Outcome, Error> {
    let op = Operation::Call(SamrSetInformationUser2::NAME);
    let key = client.application_key().cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::Security,
            op,
            "a reset needs an authenticated session (this one has no session key)",
        )
        .with_hint("Give administrator credentials with -U.")
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
    if !req.config.allow_rc4 {
        return Err(match r31 {
            Ok(s) => Error::refused(op, s),
            Err(e) => e,
        }
        .with_hint(
            "The server does not support the AES password set (level 31, July 2021 Windows updates). \
             The legacy RC4 levels are refused unless you allow them (--allow-rc4).",
        ));
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

/// Negative 100-ns interval (as SAMR stores ages) to seconds; `None` for "never".
///
/// Windows writes "never" as the most negative value; Samba's standalone servers write it as
/// 2^32 − 1 seconds (its 32-bit "infinite" policy value): both mean never.
fn age_secs(v: i64) -> Option<u64> {
    let secs = v.unsigned_abs() / 10_000_000;
    if v == i64::MIN || secs >= u64::from(u32::MAX) { None } else { Some(secs) }
}

/// Read the domain password policy and, if `user` is given, that user's password state.
pub async fn password_policy(
    host: &str,
    credentials: Credentials,
    user: Option<&str>,
    config: ClientConfig,
) -> Result<PolicyReport, Error> {
    let mut client = SamrClient::connect(host, &credentials, &config).await?;
    let result = policy_on(&mut client, user).await;
    client.close().await;
    result
}

pub(crate) async fn query_domain(
    client: &mut SamrClient,
    h: &DomainHandles,
    level: u16,
) -> Result<DomainInfo, Error> {
    let op = Operation::Call(SamrQueryInformationDomain2::NAME);
    let r = client.call(&SamrQueryInformationDomain2 { domain_handle: h.domain, level }).await?;
    refused(op, r.status)?;
    r.info.ok_or_else(|| {
        Error::new(ErrorKind::Protocol, op, "the server returned no domain information")
    })
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

async fn user_state(
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

/// List the users of the server's account domain (name, RID and account-control bits).
pub async fn list_users(
    host: &str,
    credentials: Credentials,
    config: ClientConfig,
) -> Result<Vec<UserEntry>, Error> {
    let mut client = SamrClient::connect(host, &credentials, &config).await?;
    let result = users_on(&mut client).await;
    client.close().await;
    result
}

/// Every account of the opened domain whose control bits match `account_control` (0 = all),
/// as (name, RID), following the resume handle through STATUS_MORE_ENTRIES.
pub(crate) async fn enumerate_users(
    client: &mut SamrClient,
    h: &DomainHandles,
    account_control: u32,
) -> Result<Vec<(String, u32)>, Error> {
    let op = Operation::Call(SamrEnumerateUsersInDomain::NAME);
    let mut names = Vec::new();
    let mut context = 0;
    loop {
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
        names.extend(entries.iter().map(|e| (e.name.to_string_lossy(), e.relative_id)));
        if r.status != NtStatus::STATUS_MORE_ENTRIES || entries.is_empty() {
            return Ok(names);
        }
        context = r.enumeration_context;
    }
}

async fn users_on(client: &mut SamrClient) -> Result<Vec<UserEntry>, Error> {
    let h =
        open_account_domain(client, access::DOMAIN_LIST_ACCOUNTS | access::DOMAIN_LOOKUP).await?;
    let result = async {
        let names = enumerate_users(client, &h, 0).await?;
        let mut users = Vec::with_capacity(names.len());
        let qop = Operation::Call(SamrQueryInformationUser2::NAME);
        for (name, rid) in names {
            let uh = open_user(client, &h, rid, access::USER_READ_ACCOUNT).await?;
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
            users.push(UserEntry { name, rid, account_control });
        }
        Ok(users)
    }
    .await;
    close_domain(client, h).await;
    result
}

fn step(name: &str, ok: bool, found: impl Into<String>, hint: Option<String>) -> DoctorStep {
    DoctorStep { name: name.to_owned(), ok, found: found.into(), hint }
}

fn failed_step(name: &str, e: &Error) -> DoctorStep {
    step(name, false, e.to_string(), e.hint().map(str::to_owned))
}

/// Walk the path to a password change one step at a time and report each: TCP reachability,
/// SMB dialect and signing, authentication, IPC$ and `\PIPE\samr`, the SAMR bind,
/// SamrConnect5, the domain lookup, the password policy, the named user's state, and whether
/// the server implements `SamrUnicodeChangePasswordUser4` (probed harmlessly with a random
/// account that does not exist: STATUS_WRONG_PASSWORD means implemented, the RPC fault
/// `nca_s_op_rng_error` means not). Stops at the first failing step.
pub async fn doctor(
    host: &str,
    credentials: Option<Credentials>,
    user: Option<&str>,
    config: ClientConfig,
) -> Vec<DoctorStep> {
    let mut steps = Vec::new();
    let port = config.port;

    // 1. TCP reachability.
    let target = format!(
        "{}:{port}",
        if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        }
    );
    match tokio::time::timeout(config.connect_timeout, tokio::net::TcpStream::connect(&target))
        .await
    {
        Ok(Ok(_)) => steps.push(step(
            &format!("TCP {port}"),
            true,
            format!("{target} accepts connections"),
            None,
        )),
        Ok(Err(e)) => {
            steps.push(step(
                &format!("TCP {port}"),
                false,
                format!("cannot connect to {target}: {e}"),
                Some(CONNECT_CHECKLIST.to_owned()),
            ));
            return steps;
        }
        Err(_) => {
            steps.push(step(
                &format!("TCP {port}"),
                false,
                format!("no answer from {target} within {:?}", config.connect_timeout),
                Some(CONNECT_CHECKLIST.to_owned()),
            ));
            return steps;
        }
    }

    // 2–6. SMB negotiate, authentication, IPC$, the pipe and the bind (one connect).
    let creds = credentials.unwrap_or(Credentials::Anonymous);
    let who = match &creds {
        Credentials::User { user, domain, .. } => match domain {
            Some(d) => format!("{d}\\{user}"),
            None => user.clone(),
        },
        Credentials::Anonymous => "anonymous".to_owned(),
    };
    let mut client = match SamrClient::connect(host, &creds, &config).await {
        Ok(c) => c,
        Err(e) => {
            let order = [
                (Operation::Negotiate, "SMB negotiate"),
                (Operation::SessionSetup, "authentication"),
                (Operation::TreeConnect, "IPC$"),
                (Operation::OpenPipe, "\\PIPE\\samr"),
                (Operation::Bind, "SAMR bind"),
            ];
            let failed = order.iter().position(|(op, _)| *op == e.operation()).unwrap_or(0);
            for (_, name) in &order[..failed] {
                steps.push(step(name, true, "ok", None));
            }
            steps.push(failed_step(order[failed].1, &e));
            return steps;
        }
    };
    let s = client.session().clone();
    steps.push(step(
        "SMB dialect",
        true,
        format!(
            "SMB {}; signing {}; encryption {}",
            s.dialect,
            if s.signing { "on" } else { "off" },
            if s.encryption { "on" } else { "off" }
        ),
        None,
    ));
    steps.push(step("authentication", true, format!("{} session as {who}", s.kind.name()), None));
    steps.push(step("IPC$", true, "connected", None));
    steps.push(step("\\PIPE\\samr", true, "opened", None));
    steps.push(step("SAMR bind", true, "SAMR v1.0 over NDR20 accepted", None));

    // 7–10. SamrConnect5, the domain, the policy and the user.
    let rest = async {
        let h = match open_account_domain(
            &mut client,
            access::DOMAIN_LOOKUP | access::DOMAIN_READ_PASSWORD_PARAMETERS,
        )
        .await
        {
            Ok(h) => h,
            Err(e) => {
                let name = if e.operation() == Operation::Call(SamrConnect5::NAME) {
                    "SamrConnect5"
                } else {
                    "domain lookup"
                };
                if name == "domain lookup" {
                    steps.push(step("SamrConnect5", true, "connected to the SAM server", None));
                }
                steps.push(failed_step(name, &e));
                return false;
            }
        };
        steps.push(step("SamrConnect5", true, "connected to the SAM server", None));
        steps.push(step("domain lookup", true, format!("account domain {}", h.name), None));
        let mut ok = true;
        match query_domain(&mut client, &h, consts::DOMAIN_PASSWORD_INFORMATION).await {
            Ok(DomainInfo::Password(p)) => {
                let policy = PasswordPolicy::from_domain(&p, None);
                steps.push(step("password policy", true, policy.describe(), None));
            }
            Ok(_) => {}
            Err(e) => {
                steps.push(failed_step("password policy", &e));
                ok = false;
            }
        }
        if let (true, Some(u)) = (ok, user) {
            match user_state(&mut client, &h, u).await {
                Ok(st) => {
                    let mut found = format!(
                        "{} (RID {}), account control 0x{:08x}",
                        st.name, st.rid, st.account_control
                    );
                    if st.account_control & 0x1 != 0 {
                        found.push_str(", disabled");
                    }
                    if st.password_last_set == 0 {
                        found.push_str(", must change password at next logon");
                    }
                    if st.bad_password_count > 0 {
                        found.push_str(&format!(
                            ", {} bad password attempts",
                            st.bad_password_count
                        ));
                    }
                    steps.push(step("user", true, found, None));
                }
                Err(e) => {
                    steps.push(failed_step("user", &e));
                    ok = false;
                }
            }
        }
        close_domain(&mut client, h).await;
        ok
    }
    .await;
    if !rest {
        client.close().await;
        return steps;
    }

    // 11. Is opnum 73 implemented? A random, non-existent account: no password is at risk.
    let probe_user = format!("samrpc-probe-{:016x}", OsRandom.u64_in(0, u64::MAX));
    let probe = async {
        let op = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
        let old = crate::secret::NtHash::new(OsRandom.array());
        let enc = encrypt_password_change_aes(
            &old,
            &Password::from("Probe-Only-1!"),
            crate::crypto::MIN_PBKDF2_ITERATIONS,
            &mut OsRandom,
        )
        .map_err(|e| crypto_error(op, e))?;
        client
            .call(&SamrUnicodeChangePasswordUser4 {
                server_name: None,
                user_name: unicode(op, &probe_user)?,
                encrypted_password: enc,
            })
            .await
            .map(|r| r.status)
    }
    .await;
    let name = "AES password change (opnum 73)";
    steps.push(match probe {
        Ok(s) if s == NtStatus::STATUS_WRONG_PASSWORD => step(name, true, "implemented (STATUS_WRONG_PASSWORD for a non-existent probe account)", None),
        Ok(s) if s == NtStatus::STATUS_ACCESS_DENIED => step(
            name,
            false,
            "refused with STATUS_ACCESS_DENIED",
            NtStatus::STATUS_ACCESS_DENIED.hint().map(str::to_owned),
        ),
        Ok(s) => step(name, true, format!("implemented (answered {})", s.symbol()), None),
        Err(e) if e.rpc_fault() == Some(crate::status::RpcFault::NCA_S_OP_RNG_ERROR) => step(
            name,
            false,
            "not implemented (nca_s_op_rng_error)",
            Some("The server predates the July 2021 updates: only the legacy RC4 method (--allow-rc4) can change passwords there; update the server.".to_owned()),
        ),
        Err(e) => failed_step(name, &e),
    });
    client.close().await;
    steps
}

const CONNECT_CHECKLIST: &str = "Check that the host is up and reachable, that TCP 445 is open in its firewall \
     (Windows: \"File and Printer Sharing (SMB-In)\"), that the Server (LanmanServer) service runs, \
     and that you used the right port.";
