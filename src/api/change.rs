//! Change a password with the old one (or its NT hash).

use super::{
    Deadline, Method, Outcome, check_new_password, crypto_error, refused, restriction_error,
    unicode,
};
use crate::auth::kerberos::kpasswd::ResultCode;
use crate::auth::kerberos::messages::PrincipalName;
use crate::client::{SamrClient, client_credentials, kerberos_settings_dns, map_kerberos};
use crate::config::{AuthMethod, ClientConfig, Credentials, Secret, Transport};
use crate::crypto::{
    CryptoError, EncryptedPasswordAes, encrypt_nt_owf, encrypt_password_change_aes_cancellable,
    encrypt_user_password_with_old_nt, nt_hash,
};
use crate::error::{Advice, CredentialsUsed, Error, ErrorKind, Operation};
use crate::ndr::RpcUnicodeString;
use crate::rng::{OsRandom, SecureRandomExt};
use crate::samr::{Call, SamrUnicodeChangePasswordUser2, SamrUnicodeChangePasswordUser4};
use crate::secret::{NtHash, Password};
use crate::session::{RpcTransportKind, SessionKind, SessionSummary};
use crate::status::NtStatus;
use crate::transport::kdc::{KdcTrips, get_initial, kpasswd_change as kdc_kpasswd_change};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How the password change authenticates.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChangeSession {
    /// Authenticate as the user with the old secret; when the server answers
    /// STATUS_PASSWORD_MUST_CHANGE or STATUS_PASSWORD_EXPIRED, retry over an anonymous session.
    #[default]
    Auto,
    /// Use an anonymous session from the start.
    Anonymous,
    /// Never fall back to an anonymous session. STATUS_PASSWORD_MUST_CHANGE/EXPIRED at SMB
    /// session setup is unsigned, so an active attacker can forge it to push
    /// [`ChangeSession::Auto`] onto the unauthenticated anonymous path; this refuses that
    /// downgrade. An expired password then fails with a hint — or, under Kerberos, is
    /// changed through kpasswd, whose answer is authenticated.
    AuthenticatedOnly,
}

/// A password change: the user knows the old password (or its NT hash).
///
/// Build it with [`ChangePassword::new`] (the required fields) and the chainable `with_…`
/// methods (the optional ones); the fields stay public for reading and for assignment. New
/// optional fields can be added without breaking callers.
///
/// ```
/// use samrpc::api::{ChangePassword, ChangeSession};
/// use samrpc::{ClientConfig, Password};
///
/// let req = ChangePassword::new("dc1.example.com", "alice", Password::from("Old-1!"), Password::from("New-2!"))
///     .with_domain("EXAMPLE")
///     .with_session(ChangeSession::Auto)
///     .with_config(ClientConfig::default().with_port(445));
/// assert_eq!(req.domain.as_deref(), Some("EXAMPLE"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
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

impl ChangePassword {
    /// A change of `user`'s password on `host` from `old` (a [`Password`] or an
    /// [`NtHash`], or a [`Secret`]) to `new`; the domain announced by the server,
    /// [`ChangeSession::Auto`], the default iteration range and [`ClientConfig::default`].
    pub fn new(
        host: impl Into<String>,
        user: impl Into<String>,
        old: impl Into<Secret>,
        new: Password,
    ) -> Self {
        Self {
            host: host.into(),
            user: user.into(),
            domain: None,
            old: old.into(),
            new,
            session: ChangeSession::Auto,
            iterations: None,
            config: ClientConfig::default(),
        }
    }

    /// The account's NetBIOS domain (instead of the one the server announces).
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.domain = Some(domain.into());
        self
    }

    /// How to authenticate (default [`ChangeSession::Auto`]).
    pub fn with_session(mut self, session: ChangeSession) -> Self {
        self.session = session;
        self
    }

    /// PBKDF2 iterations for `SamrUnicodeChangePasswordUser4` (5,000..=1,000,000; checked when
    /// the change runs) instead of a random count from the default range.
    pub fn with_iterations(mut self, iterations: u64) -> Self {
        self.iterations = Some(iterations);
        self
    }

    /// Connection settings and security policy (default [`ClientConfig::default`]).
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }
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

/// Whether an opnum-73 answer means "the server has no such call" (the only case in which a
/// fallback to the legacy method is allowed).
fn lacks_call(result: &Result<NtStatus, Error>) -> bool {
    match result {
        Ok(s) => *s == NtStatus::STATUS_NOT_SUPPORTED || *s == NtStatus::STATUS_NOT_IMPLEMENTED,
        Err(e) => e.rpc_fault() == Some(crate::status::RpcFault::NCA_S_OP_RNG_ERROR),
    }
}

fn is_expired(e: &Error) -> bool {
    matches!(
        e.status(),
        Some(NtStatus::STATUS_PASSWORD_MUST_CHANGE | NtStatus::STATUS_PASSWORD_EXPIRED)
    )
}

/// Whether the change authenticates with Kerberos.
fn uses_kerberos(req: &ChangePassword) -> bool {
    req.config.auth == AuthMethod::Kerberos || matches!(req.old, Secret::AesKey(_))
}

/// RFC 3244 kpasswd: an AS exchange for `kadmin/changepw` with the old secret (the KDC grants
/// it even to an expired password), then AP-REQ + KRB-PRIV to the kpasswd server. Its answer
/// is encrypted in keys only the real KDC could have issued, so it authenticates the server.
async fn kpasswd_change(req: &ChangePassword) -> Result<Outcome, Error> {
    let op = Operation::Kerberos;
    let (settings, _) =
        kerberos_settings_dns(&req.host, req.domain.as_deref(), &req.config).await?;
    let creds = client_credentials(&req.user, &settings.realm, &req.old)?;
    let mut trips = KdcTrips::default();
    let service = PrincipalName::service("kadmin", "changepw");
    let cp = get_initial(&settings, creds, Some(service), &mut trips)
        .await
        .map_err(|e| map_kerberos(e, op))?;
    crate::log_debug!(realm = %settings.realm, "changing the password through kpasswd");
    let r = kdc_kpasswd_change(&settings, &cp, &req.new).await.map_err(|e| map_kerberos(e, op))?;
    match r.code {
        ResultCode::Success => Ok(Outcome {
            method: Method::Kpasswd,
            status: NtStatus::STATUS_SUCCESS,
            session: SessionSummary::new(SessionKind::Authenticated, None, false, true)
                .with_auth("kerberos"),
            iterations: None,
        }),
        ResultCode::SoftError => Err(Error::refused(op, NtStatus::STATUS_PASSWORD_RESTRICTION)
            .with_message(format!("the kpasswd server refused the new password: {}", r.message()))),
        code => Err(Error::new(
            ErrorKind::ServerRefused,
            op,
            format!("the kpasswd server refused the change ({code:?}): {}", r.message()),
        )),
    }
}

/// Whether `req` is a computer account's own change under [`Transport::Auto`]: those go over
/// TCP first (Windows refuses the SMB logon of a workstation trust account).
fn prefers_tcp(req: &ChangePassword) -> bool {
    req.config.transport == Transport::Auto
        && req.session != ChangeSession::Anonymous
        && req.user.ends_with('$')
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
    if prefers_tcp(req) {
        let tcp = req.config.clone().with_transport(Transport::Tcp);
        match SamrClient::connect(&req.host, &creds, &tcp).await {
            Ok(c) => return Ok(c),
            Err(e)
                if e.operation() == Operation::Connect
                    && matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout) =>
            {
                crate::log_debug!(error = %e, "computer account: TCP unreachable, trying SMB");
            }
            Err(e) => return Err(e.with_credentials_used(CredentialsUsed::TargetAccount)),
        }
    }
    // A failed logon here is the changed account's own: STATUS_LOGON_FAILURE means its
    // current password is wrong (or the account unknown; Windows does not say which).
    let connected = SamrClient::connect(&req.host, &creds, &req.config)
        .await
        .map_err(|e| e.with_credentials_used(CredentialsUsed::TargetAccount));
    match connected {
        Ok(c) => Ok(c),
        Err(e)
            if e.operation() == Operation::SessionSetup
                && e.status() == Some(NtStatus::STATUS_ACCOUNT_LOCKED_OUT) =>
        {
            Err(explain_lockout(e, &req.host, &req.config).await)
        }
        Err(e)
            if e.operation() == Operation::SessionSetup
                && is_expired(&e)
                && req.session == ChangeSession::AuthenticatedOnly =>
        {
            let hint = "The password must be changed, and the anonymous fallback is disabled (the \
                 server's \"must change\" answer is unauthenticated, so falling back could be a forced \
                 downgrade). Change it over Kerberos (kpasswd), or allow the anonymous session.";
            Err(e.with_hint(hint))
        }
        Err(e) if e.operation() == Operation::SessionSetup && is_expired(&e) => {
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

/// Add the domain policy's lockout duration to a lockout error, when it can be read.
async fn explain_lockout(e: Error, host: &str, config: &ClientConfig) -> Error {
    let Some(duration) = super::query::lockout_duration(host, config).await else { return e };
    let said = match duration {
        Some(secs) => format!("The domain policy's lockout duration is {} min", secs.div_ceil(60)),
        None => {
            "The domain policy keeps accounts locked until an administrator unlocks them".to_owned()
        }
    };
    let hint = format!(
        "{} {said} (a fine-grained password policy on the account may set another).",
        e.hint().unwrap_or_default()
    );
    e.with_hint(hint.trim_start().to_owned()).with_advice(Advice::LockoutDuration(duration))
}

/// Change a password with the old one (or its NT hash).
///
/// Tries `SamrUnicodeChangePasswordUser4` (AES) first. Falls back to the RC4
/// `SamrUnicodeChangePasswordUser2` only when the server lacks opnum 73 (RPC fault
/// `nca_s_op_rng_error`, STATUS_NOT_SUPPORTED or STATUS_NOT_IMPLEMENTED) **and**
/// `config.allow_rc4` is set; any other failure of opnum 73 is final. With
/// [`ChangeSession::Auto`] it authenticates as the user with the old secret and retries over
/// an anonymous session when the server answers STATUS_PASSWORD_MUST_CHANGE or
/// STATUS_PASSWORD_EXPIRED. To change several passwords over one session, connect a
/// [`SamrClient`] and use [`SamrClient::change_password`].
///
/// # Cancellation
///
/// Dropping the future stops the job at its current step and leaves nothing running: the
/// PBKDF2 derivation on the blocking pool ends at its next check of a cancellation flag
/// (every [`CANCEL_CHECK_INTERVAL`](crate::crypto::CANCEL_CHECK_INTERVAL) iterations, a few
/// milliseconds), and the connection is dropped. Dropped **before** the change request left
/// (while connecting or deriving), the password has not changed. Dropped **after**, the
/// outcome is unknown: the server may or may not have changed it, and the dropped future
/// cannot say which. To bound the job's time and still get that answer, set
/// [`ClientConfig::operation_timeout`] rather than wrapping the future in
/// `tokio::time::timeout`: the job then returns an error whose
/// [`outcome_unknown()`](Error::outcome_unknown) is `true` exactly when the request may have
/// reached the server.
///
/// Needs a tokio runtime with I/O and timers enabled (outside any runtime it returns an error;
/// from synchronous code use [`crate::blocking`]).
///
/// Over TCP ([`Transport::Tcp`]) the change is authenticated as the user at the RPC level
/// (packet privacy by default); the server refuses expired passwords there. Under
/// [`Transport::Auto`], a computer account (name ending in `$`) goes over TCP first and is
/// retried over SMB if the server refuses it at the RPC layer.
///
/// ```no_run
/// # async fn demo() -> Result<(), samrpc::Error> {
/// use samrpc::api::{change_password, ChangePassword};
/// use samrpc::Password;
///
/// let outcome = change_password(ChangePassword::new(
///     "dc.example.com",
///     "alice",
///     Password::from("Old-Pass-1!"),
///     Password::from("New-Pass-2!"),
/// ))
/// .await?;
/// println!("changed with {}", outcome.method.name());
/// # Ok(()) }
/// ```
pub async fn change_password(req: ChangePassword) -> Result<Outcome, Error> {
    crate::client::require_runtime(Operation::Input)?;
    if matches!(req.old, Secret::AesKey(_)) && req.session != ChangeSession::Anonymous {
        // SAMR needs the old NT hash, which an AES key cannot give: kpasswd only.
        check_new_password(&req.new)?;
        return kpasswd_change(&req).await;
    }
    let prepared = Prepared::new(&req, &req.host)?;
    let deadline = Deadline::start(&req.config);
    // The PBKDF2 key derivation (the client's only heavy work) runs on a blocking thread
    // while the connection is set up, so its time hides behind the network round trips; all
    // input was checked above, before any traffic. It starts as soon as the connection first
    // waits on the network (the NEGOTIATE has left, or a name is being looked up), not
    // before: on a machine with few free cores the new thread would otherwise compete with
    // the connection's start (issue 14 item 5). Dropping `derive` cancels it.
    let derive = Arc::new(LazyDerivation::new(&prepared.old_hash, &req.new, prepared.iterations));
    let start = Arc::clone(&derive);
    let connecting = deadline.run(connect_change(&req));
    let connected =
        crate::transport::with_wait_hook(Box::new(move || start.start()), connecting).await;
    let mut client = match connected {
        Some(Ok(c)) => c,
        // Under Kerberos the KDC already says KEY_EXPIRED to the AS-REQ: change through
        // kpasswd (authenticated) rather than the anonymous SAMR path.
        Some(Err(e))
            if uses_kerberos(&req) && e.operation() == Operation::Kerberos && is_expired(&e) =>
        {
            drop(derive);
            return match kpasswd_change(&req).await {
                Err(k) if k.kind() == ErrorKind::Network && req.session == ChangeSession::Auto => {
                    crate::log_debug!(
                        "kpasswd unreachable: falling back to the anonymous SAMR change"
                    );
                    let anon = ChangePassword {
                        session: ChangeSession::Anonymous,
                        config: req.config.clone().with_auth(AuthMethod::Ntlm),
                        ..req
                    };
                    Box::pin(change_password(anon)).await
                }
                r => r,
            };
        }
        Some(Err(e)) => return Err(e),
        None => return Err(deadline.expired(None, Operation::Connect)),
    };
    let op4 = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
    // Started by now (the connection waited on the network), or started here.
    let derive = derive.take().ok_or_else(|| {
        Error::new(ErrorKind::Protocol, op4, "the key derivation was already taken")
    })?;
    let work = async {
        let encrypted = derive.finish(op4).await?;
        let first = change_on(&mut client, &req, prepared.clone(), encrypted.clone()).await;
        match first {
            // Under auto, a computer account's TCP attempt that the server refused at the RPC
            // layer (failed authentication, or an expired password, which TCP cannot change)
            // is retried over SMB, which names the reason and has the anonymous path for
            // expired passwords. Nothing changed on the server: the call was refused.
            Err(e)
                if prefers_tcp(&req)
                    && client.session().transport == RpcTransportKind::Tcp
                    && e.rpc_fault() == Some(crate::status::RpcFault::ACCESS_DENIED) =>
            {
                crate::log_debug!("TCP change refused: retrying over SMB");
                let smb = ChangePassword {
                    config: req.config.clone().with_transport(Transport::Smb),
                    ..req.clone()
                };
                let fresh = connect_change(&smb).await?;
                std::mem::replace(&mut client, fresh).close().await;
                change_on(&mut client, &smb, prepared, encrypted).await
            }
            other => other,
        }
    };
    let result = match deadline.run(work).await {
        Some(r) => r,
        None => Err(deadline.expired(client.interrupted(), op4)),
    };
    client.close().await;
    result
}

impl SamrClient {
    /// Change `req.user`'s password over this client's session, as [`change_password`] does
    /// over a new one: a service can change many passwords on one connection. Any session
    /// works (the user's own, an administrator's, or anonymous where the server allows it:
    /// opnum 73 proves knowledge of the old password itself). Of the request it uses `user`,
    /// `old`, `new` and `iterations`; `host`, `domain`, `session` and `config` belong to the
    /// connection and are ignored: the client's own [`config`](SamrClient::config) decides
    /// `allow_rc4` and the `operation_timeout` (counted from this call).
    ///
    /// **Cancellation:** dropping the future while the key is derived cancels the derivation
    /// and changes nothing; dropping it after the request left closes the client
    /// ([`SamrClient::is_closed`]) and the change's outcome is unknown. With
    /// [`ClientConfig::operation_timeout`] set, a timeout is reported with the right
    /// classification instead.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), samrpc::Error> {
    /// use samrpc::api::ChangePassword;
    /// use samrpc::client::SamrClient;
    /// use samrpc::{ClientConfig, Credentials, Password};
    ///
    /// let mut client =
    ///     SamrClient::connect("dc.example.com", &Credentials::Anonymous, &ClientConfig::default())
    ///         .await?;
    /// for (user, old, new) in [("alice", "Old-1!", "New-1!"), ("bob", "Old-2!", "New-2!")] {
    ///     let req = ChangePassword::new("dc.example.com", user, Password::from(old), Password::from(new));
    ///     client.change_password(&req).await?;
    /// }
    /// client.close().await;
    /// # Ok(()) }
    /// ```
    pub async fn change_password(&mut self, req: &ChangePassword) -> Result<Outcome, Error> {
        let prepared = Prepared::new(req, self.host())?;
        let deadline = Deadline::start(self.config());
        let op4 = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
        let derive = Derivation::spawn(&prepared.old_hash, &req.new, prepared.iterations);
        let work = async {
            let encrypted = derive.finish(op4).await?;
            change_on(self, req, prepared, encrypted).await
        };
        match deadline.run(work).await {
            Some(r) => r,
            None => Err(deadline.expired(self.interrupted(), op4)),
        }
    }
}

/// A change's checked input: the iteration count, the old NT hash and the encoded names.
#[derive(Clone)]
struct Prepared {
    iterations: u64,
    old_hash: NtHash,
    server_name: Option<RpcUnicodeString>,
    user_name: RpcUnicodeString,
}

impl Prepared {
    /// `host` is the server the change goes to (it names the server in the request).
    fn new(req: &ChangePassword, host: &str) -> Result<Self, Error> {
        check_new_password(&req.new)?;
        let iterations = match req.iterations {
            Some(n)
                if !(crate::crypto::MIN_PBKDF2_ITERATIONS
                    ..=crate::crypto::MAX_PBKDF2_ITERATIONS)
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
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    Operation::Input,
                    "an AES key can only change a password through Kerberos (kpasswd)",
                ));
            }
        };
        let op4 = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
        let server_name = Some(unicode(op4, &format!("\\\\{host}"))?);
        let user_name = unicode(op4, &req.user)?;
        Ok(Self { iterations, old_hash, server_name, user_name })
    }
}

/// Derivations that ended because their future was dropped (for the cancellation test).
#[cfg(test)]
static DERIVATIONS_CANCELLED: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(0);

/// The opnum-73 encryption (PBKDF2 and AEAD) running on tokio's blocking pool. Dropping it
/// (directly, or with the future that holds it) sets the cancellation flag, and the derivation
/// stops at its next check.
struct Derivation {
    task: tokio::task::JoinHandle<Result<EncryptedPasswordAes, CryptoError>>,
    _cancel: CancelOnDrop,
}

/// A derivation that starts when first asked to ([`LazyDerivation::start`], idempotent) or
/// when taken. Dropping it drops a started derivation, which cancels it.
struct LazyDerivation(std::sync::Mutex<Lazy>);

enum Lazy {
    Waiting { old_hash: NtHash, new: Password, iterations: u64 },
    Running(Derivation),
    Taken,
}

impl LazyDerivation {
    fn new(old_hash: &NtHash, new: &Password, iterations: u64) -> Self {
        Self(std::sync::Mutex::new(Lazy::Waiting {
            old_hash: old_hash.clone(),
            new: new.clone(),
            iterations,
        }))
    }

    /// Start the derivation unless it already started.
    fn start(&self) {
        // Poisoning cannot leave the state half-written: ignore it.
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Lazy::Waiting { old_hash, new, iterations } = &*state {
            let running = Derivation::spawn(old_hash, new, *iterations);
            *state = Lazy::Running(running);
        }
    }

    /// The running derivation (started now if it had not been); `None` if already taken.
    fn take(&self) -> Option<Derivation> {
        let mut state = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match core::mem::replace(&mut *state, Lazy::Taken) {
            Lazy::Running(d) => Some(d),
            Lazy::Waiting { old_hash, new, iterations } => {
                Some(Derivation::spawn(&old_hash, &new, iterations))
            }
            Lazy::Taken => None,
        }
    }
}

/// Sets the flag when dropped.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Derivation {
    fn spawn(old_hash: &NtHash, new: &Password, iterations: u64) -> Self {
        let flag = Arc::new(AtomicBool::new(false));
        let (hash, new_password, cancel) = (old_hash.clone(), new.clone(), Arc::clone(&flag));
        let task = tokio::task::spawn_blocking(move || {
            let r = encrypt_password_change_aes_cancellable(
                &hash,
                &new_password,
                iterations,
                &mut OsRandom,
                &cancel,
            );
            #[cfg(test)]
            if r == Err(CryptoError::Cancelled) {
                DERIVATIONS_CANCELLED.fetch_add(1, Ordering::SeqCst);
            }
            r
        });
        Self { task, _cancel: CancelOnDrop(flag) }
    }

    /// Wait for the encrypted password.
    async fn finish(mut self, op: Operation) -> Result<EncryptedPasswordAes, Error> {
        match (&mut self.task).await {
            Ok(Ok(encrypted)) => Ok(encrypted),
            Ok(Err(e)) => Err(crypto_error(op, e)),
            Err(_) => Err(Error::new(ErrorKind::Protocol, op, "the key derivation task failed")),
        }
    }
}

async fn change_on(
    client: &mut SamrClient,
    req: &ChangePassword,
    prepared: Prepared,
    encrypted: EncryptedPasswordAes,
) -> Result<Outcome, Error> {
    let Prepared { old_hash, server_name, user_name, .. } = prepared;
    let op4 = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
    let iterations = encrypted.pbkdf2_iterations;
    let call4 = SamrUnicodeChangePasswordUser4 {
        server_name: server_name.clone(),
        user_name: user_name.clone(),
        encrypted_password: encrypted,
    };
    let result4 = client.call_mutating(&call4).await.map(|r| r.status);
    let (method, status, iterations) = if lacks_call(&result4) {
        if !client.config().allow_rc4 {
            return Err(match result4 {
                Ok(s) => Error::refused(op4, s),
                Err(e) => e,
            }
            .with_hint(
                "The server does not implement the AES password change (SamrUnicodeChangePasswordUser4, \
                 added by the July 2021 Windows updates). The legacy RC4 method is refused unless the \
                 caller allows it (ClientConfig::allow_rc4); better, update the server.",
            )
            .with_advice(Advice::AllowRc4));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_change_has_the_documented_defaults() {
        let r = ChangePassword::new("h", "alice", Password::from("a"), Password::from("b"));
        assert_eq!((r.host.as_str(), r.user.as_str()), ("h", "alice"));
        assert_eq!(
            (r.domain.as_deref(), r.session, r.iterations),
            (None, ChangeSession::Auto, None)
        );
        assert!(matches!(r.old, Secret::Password(_)));
        let r = r.with_domain("D").with_session(ChangeSession::Anonymous).with_iterations(5000);
        assert_eq!(
            (r.domain.as_deref(), r.session, r.iterations),
            (Some("D"), ChangeSession::Anonymous, Some(5000))
        );
    }

    /// A change future dropped while it connects (to a server that accepts and never
    /// answers) cancels its PBKDF2 derivation: the blocking task ends with
    /// `CryptoError::Cancelled` instead of running its million iterations to the end.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_change_future_stops_its_derivation() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            loop {
                let (sock, _) = listener.accept().await.unwrap();
                held.push(sock); // keep it open, never answer
            }
        });
        let before = DERIVATIONS_CANCELLED.load(Ordering::SeqCst);
        let req =
            ChangePassword::new("127.0.0.1", "alice", Password::from("a"), Password::from("b"))
                .with_iterations(crate::crypto::MAX_PBKDF2_ITERATIONS)
                .with_config(ClientConfig::default().with_port(port));
        let job = change_password(req);
        // Drop the job while it waits for the server's NEGOTIATE answer.
        let r = tokio::time::timeout(std::time::Duration::from_millis(50), job).await;
        assert!(r.is_err(), "the silent server cannot have answered");
        // The derivation's own end, not a clock, decides: it must report Cancelled.
        for _ in 0..600 {
            if DERIVATIONS_CANCELLED.load(Ordering::SeqCst) > before {
                silent.abort();
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the derivation did not stop after its future was dropped");
    }

    /// The lazy derivation runs nothing until asked; `start` is idempotent; `take` hands out
    /// the running derivation once (starting it if nobody asked), and it derives with the
    /// requested iteration count.
    #[tokio::test]
    async fn a_lazy_derivation_starts_when_asked_and_once() {
        let op = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
        let lazy = LazyDerivation::new(&NtHash::new([1; 16]), &Password::from("New-Pass-1!"), 5000);
        assert!(matches!(*lazy.0.lock().unwrap(), Lazy::Waiting { .. }));
        lazy.start();
        assert!(matches!(*lazy.0.lock().unwrap(), Lazy::Running(_)));
        lazy.start();
        let encrypted = lazy.take().unwrap().finish(op).await.unwrap();
        assert_eq!(encrypted.pbkdf2_iterations, 5000);
        assert!(lazy.take().is_none());
        lazy.start(); // after the take: nothing to start
        assert!(matches!(*lazy.0.lock().unwrap(), Lazy::Taken));

        let never_asked =
            LazyDerivation::new(&NtHash::new([2; 16]), &Password::from("New-Pass-2!"), 6000);
        let encrypted = never_asked.take().unwrap().finish(op).await.unwrap();
        assert_eq!(encrypted.pbkdf2_iterations, 6000);
    }

    #[tokio::test]
    async fn dropping_a_derivation_cancels_it() {
        let d = Derivation::spawn(
            &NtHash::new([1; 16]),
            &Password::from("x"),
            crate::crypto::MAX_PBKDF2_ITERATIONS,
        );
        let Derivation { task, _cancel } = d;
        drop(_cancel);
        assert_eq!(task.await.unwrap().err(), Some(CryptoError::Cancelled));
    }

    #[test]
    fn outside_a_runtime_the_jobs_return_an_error_instead_of_panicking() {
        let req = ChangePassword::new("h", "alice", Password::from("a"), Password::from("b"));
        let e = futures_lite_block_on(change_password(req)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("no tokio runtime"), "{e}");
    }

    /// Poll a future to completion on this thread without any tokio runtime.
    fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
        use std::task::{Context, Poll, Waker};
        let mut f = std::pin::pin!(f);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::yield_now();
        }
    }
}
