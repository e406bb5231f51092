//! [`SamrClient`]: one SMB2/3 session with `\PIPE\samr` open and a bound SAMR association, for
//! repeated typed calls.
//!
//! ```no_run
//! # async fn demo() -> Result<(), samrpc::Error> {
//! use samrpc::client::SamrClient;
//! use samrpc::samr::{SamrGetDomainPasswordInformation};
//! use samrpc::{ClientConfig, Credentials};
//!
//! let mut client =
//!     SamrClient::connect("dc.example.com", &Credentials::Anonymous, &ClientConfig::default())
//!         .await?;
//! let info = client.call(&SamrGetDomainPasswordInformation { unused: None }).await?;
//! println!("minimum length {}", info.info.min_password_length);
//! client.close().await;
//! # Ok(()) }
//! ```

use crate::auth::kerberos::error::KerberosError;
use crate::auth::kerberos::exchange::{ClientCredentials, ClientSecret, Credential};
use crate::auth::kerberos::krb5conf::Krb5Conf;
use crate::auth::kerberos::messages::PrincipalName;
use crate::auth::{
    AuthError, Authenticator, NtlmCredentials, NtlmSecret, SpnegoKerberos, SpnegoNtlm,
};
use crate::config::{AuthMethod, ClientConfig, Credentials, RpcProtection, Secret, Transport};
use crate::dcerpc::association::DEFAULT_FRAG;
use crate::dcerpc::{
    Association, AssociationConfig, AuthLevel, Bound, Progress, RpcError, SAMR_SYNTAX,
};
use crate::error::{Advice, CredentialsUsed, Error, ErrorKind, Operation};
use crate::rng::OsRandom;
use crate::rpcauth::{KrbRpcBind, KrbRpcError, NtlmRpcBind, RpcAuthError};
use crate::samr::Call;
use crate::secret::SessionKey;
pub use crate::session::{SessionKind, SessionSummary};
use crate::smb2::Smb2Error;
use crate::status::NtStatus;
use crate::transport::kdc::{
    CachedTicket, KdcError, KdcSettings, KdcTrips, choose_realm, get_initial, get_service_ticket,
    load_krb5_conf, read_cache, system_nameservers,
};
use crate::transport::smb::{AuthenticatorFuture, Reauthenticator};
use crate::transport::{
    RpcTcp, RpcTransport, SmbPipe, TcpConfig, TransportConfig, TransportError, TransportStep,
};
use std::io;

/// A connected SAMR client: a bound DCE/RPC association over a transport (today an
/// SMB2/3 session, signed and encrypted where required, with the `\PIPE\samr` named pipe).
///
/// # Cancellation
///
/// Every method is an `async fn`; dropping its future (a `select!` branch that lost, a
/// `tokio::time::timeout` that elapsed, an aborted task) stops it at its current `.await`
/// and leaves nothing running. A call dropped **after** its request may have left, though,
/// leaves the association in an unknown state (half a message written, or an answer still on
/// its way), so the client then marks itself closed: [`SamrClient::is_closed`] turns `true`
/// and every later call fails at once with [`ErrorKind::Closed`], naming the cancelled call.
/// Connect a new client to go on. A password change or reset cancelled that way has an
/// unknown outcome: it may or may not have happened on the server (log in with the new
/// password to find out). To bound a whole job and still get that classification in the
/// error, use [`ClientConfig::operation_timeout`] instead of wrapping the future in
/// `tokio::time::timeout`.
///
/// # Runtime
///
/// The client needs a tokio runtime with **I/O and timers enabled** (`#[tokio::main]`,
/// `Runtime::new()`, or a `Builder` with `enable_all()`). Called outside any runtime,
/// [`SamrClient::connect`] returns an error instead of panicking; a runtime built without
/// `enable_io()`/`enable_time()` makes tokio itself panic, which samrpc cannot detect in
/// advance. From synchronous code use [`crate::blocking`], which owns a suitable runtime.
pub struct SamrClient {
    transport: RpcTransport,
    rpc: Bound,
    session: SessionSummary,
    host: String,
    config: ClientConfig,
    /// The call whose future has started and not yet finished. Still set when a new call
    /// starts means the previous call's future was dropped mid-flight.
    in_flight: Option<InFlight>,
    /// Over TCP with RPC-level authentication, until the first call succeeds: the server
    /// reports a failed AUTH3 only as an `access_denied` fault on that call.
    auth_unconfirmed: bool,
    /// A call was abandoned at its operation deadline mid-exchange: whatever arrives next on
    /// the connection may belong to it, so the association cannot be trusted.
    broken: bool,
}

/// A call whose future was running (and, when `sent`, whose request may have left).
#[derive(Copy, Clone, Debug)]
pub(crate) struct InFlight {
    pub(crate) op: Operation,
    pub(crate) mutating: bool,
    pub(crate) sent: bool,
}

/// The hint for an `access_denied` fault on the first call after an authenticated TCP bind.
pub(crate) const TCP_AUTH_REFUSED_HINT: &str = "Over TCP (ncacn_ip_tcp) the server reports a \
     failed RPC-level authentication only as this fault: check the user name, domain and \
     password. An expired password (must change at next logon) fails here too: change it over \
     SMB, which can use an anonymous session for it.";

impl core::fmt::Debug for SamrClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SamrClient")
            .field("host", &self.host)
            .field("session", &self.session)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl SamrClient {
    /// Connect to `host`, authenticate with `credentials`, open `\PIPE\samr` and bind SAMR.
    ///
    /// Each network step is bounded by `config`'s connect and request timeouts. Dropping the
    /// future while it connects just closes the half-open connection: nothing on the server
    /// has changed. Outside a tokio runtime this returns an [`ErrorKind::InvalidInput`] error
    /// (see "Runtime" above).
    pub async fn connect(
        host: &str,
        credentials: &Credentials,
        config: &ClientConfig,
    ) -> Result<Self, Error> {
        require_runtime(Operation::Connect)?;
        crate::log_debug!(
            host,
            port = config.port,
            anonymous = credentials.is_anonymous(),
            "connecting"
        );
        let (transport, rpc) = match config.transport {
            Transport::Smb => connect_smb(host, credentials, config).await.map_err(|f| f.error)?,
            Transport::Tcp => connect_tcp(host, credentials, config).await?,
            Transport::Auto => match connect_smb(host, credentials, config).await {
                Ok(x) => x,
                Err(f) if f.unreachable => {
                    crate::log_debug!(host, error = %f.error, "SMB port unreachable: trying ncacn_ip_tcp");
                    connect_tcp(host, credentials, config).await.map_err(|e| {
                        let msg = format!(
                            "{} (after SMB was unreachable: {})",
                            e.message(),
                            f.error.message()
                        );
                        e.with_message(msg)
                    })?
                }
                Err(f) => return Err(f.error),
            },
        };
        let session = transport.session();
        crate::log_debug!(
            host,
            dialect = ?session.dialect,
            signing = session.signing,
            encryption = session.encryption,
            "SAMR bound"
        );
        let auth_unconfirmed =
            session.transport == crate::session::RpcTransportKind::Tcp && session.signing;
        Ok(Self {
            transport,
            rpc,
            session,
            host: host.to_owned(),
            config: config.clone(),
            in_flight: None,
            auth_unconfirmed,
            broken: false,
        })
    }

    /// The settings this client was connected with (the jobs run as methods on the client
    /// use its `allow_rc4` and `operation_timeout`).
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The deadline of each call on this client
    /// ([`ClientConfig::effective_operation_timeout`]).
    pub fn operation_timeout(&self) -> std::time::Duration {
        self.config.effective_operation_timeout()
    }

    /// Whether this client is closed: an earlier call's future was dropped (cancelled) before
    /// the call finished, or a call was abandoned at its operation deadline mid-exchange. A
    /// closed client fails every call ([`ErrorKind::Closed`] after a cancellation); connect a
    /// new one.
    pub fn is_closed(&self) -> bool {
        self.in_flight.is_some() || self.broken
    }

    /// The call that was cancelled mid-flight, if any (`Some` exactly when
    /// [`SamrClient::is_closed`]).
    pub(crate) fn interrupted(&self) -> Option<InFlight> {
        self.in_flight
    }

    /// The error every call on a closed client returns.
    fn closed_error(&self, op: Operation) -> Option<Error> {
        let was = self.in_flight?;
        let mut e = Error::new(
            ErrorKind::Closed,
            op,
            format!(
                "the client is closed: an earlier {} call on it was cancelled before it finished",
                was.op
            ),
        );
        e = if was.mutating && was.sent {
            e.with_hint(
                "Connect a new client. The cancelled call changed or set a password and its \
                 request may have reached the server, so its outcome is unknown: log in with \
                 the new password to find out.",
            )
        } else {
            e.with_hint("Connect a new client.")
        };
        Some(e)
    }

    /// What the session negotiated.
    pub fn session(&self) -> &SessionSummary {
        &self.session
    }

    /// The host this client is connected to, as given.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The key SAMR password-set levels are encrypted with: the SMB `ApplicationKey` on 3.x,
    /// the session key on 2.x; `None` on an anonymous session.
    pub fn application_key(&self) -> Option<&SessionKey> {
        self.transport.application_key()
    }

    /// Make one SAMR call. A server NTSTATUS failure is **not** an error here: it is in the
    /// response's `status` field (turn it into an error with [`NtStatus::check`]). Errors are
    /// transport, protocol and RPC-fault failures, and [`ErrorKind::Closed`] on a closed
    /// client.
    ///
    /// **Cancellation:** dropping the future before it completes closes the client (see
    /// "Cancellation" on [`SamrClient`]): the request may or may not have reached the
    /// server, and its answer, if any, is never read. For a call that only reads, nothing has
    /// changed on the server; for a call that changes state, the change may have happened.
    pub async fn call<C: Call>(&mut self, request: &C) -> Result<C::Response, Error> {
        self.call_inner(request, false).await
    }

    /// Like [`SamrClient::call`], for calls that change state on the server (password change
    /// and set): when the connection is lost after the request was sent, the error is
    /// [`ErrorKind::OutcomeUnknown`]. Dropping the future after the request may have left
    /// closes the client, and the change's outcome is unknown.
    pub async fn call_mutating<C: Call>(&mut self, request: &C) -> Result<C::Response, Error> {
        self.call_inner(request, true).await
    }

    /// One call under the operation deadline: its request fragments and every READ and
    /// fragment of its answer together.
    async fn call_inner<C: Call>(
        &mut self,
        request: &C,
        mutating: bool,
    ) -> Result<C::Response, Error> {
        let op = Operation::Call(C::NAME);
        if let Some(e) = self.closed_error(op) {
            // The previous call was dropped mid-exchange: its answer may still be on the pipe.
            self.transport.poison();
            return Err(e);
        }
        if self.broken {
            return Err(map_transport(TransportError::Broken, op, mutating, 0));
        }
        let limit = self.operation_timeout();
        let mut sent = false;
        // Set until the call finishes: a dropped future leaves it behind (the client is
        // closed from then on).
        self.in_flight = Some(InFlight { op, mutating, sent: false });
        let r = tokio::time::timeout(limit, self.exchange(request, op, mutating, &mut sent)).await;
        self.in_flight = None;
        match r {
            Ok(r) => r,
            Err(_) => {
                // Abandoned mid-exchange: whatever arrives next on the pipe may belong to it.
                self.broken = true;
                self.transport.poison();
                Err(deadline_error(op, limit, mutating && sent))
            }
        }
    }

    async fn exchange<C: Call>(
        &mut self,
        request: &C,
        op: Operation,
        mutating: bool,
        sent: &mut bool,
    ) -> Result<C::Response, Error> {
        let port = self.config.port;
        let stub = request.encode();
        crate::log_debug!(call = C::NAME, opnum = C::OPNUM, stub_len = stub.len(), "SAMR request");
        let out = self.rpc.request(C::OPNUM, &stub).map_err(|e| map_rpc(e, op))?;
        // From the first write on, the request may reach the server.
        self.in_flight = Some(InFlight { op, mutating, sent: true });
        let n = out.fragments.len();
        let mut data = Vec::new();
        // From here on the server may receive (part of) the request.
        *sent = true;
        for (i, fragment) in out.fragments.iter().enumerate() {
            if i + 1 < n {
                self.transport
                    .write(fragment)
                    .await
                    .map_err(|e| map_transport(e, op, mutating, port))?;
            } else {
                data = self
                    .transport
                    .transceive(fragment)
                    .await
                    .map_err(|e| map_transport(e, op, mutating, port))?;
            }
        }
        let response = loop {
            match self.rpc.receive(out.call_id, &data) {
                Ok(Progress::Complete(stub)) => break stub,
                Ok(Progress::NeedMore) => {
                    data = self
                        .transport
                        .read()
                        .await
                        .map_err(|e| map_transport(e, op, mutating, port))?;
                }
                Err(_e @ RpcError::Stalled(_)) if mutating => {
                    crate::log_debug!(error = %_e, "response stalled after a mutating request");
                    return Err(outcome_unknown(op));
                }
                Err(e) => {
                    let err = map_rpc(e, op);
                    if self.auth_unconfirmed
                        && err.rpc_fault() == Some(crate::status::RpcFault::ACCESS_DENIED)
                    {
                        return Err(err.with_hint(TCP_AUTH_REFUSED_HINT));
                    }
                    return Err(after_sent(err, mutating));
                }
            }
        };
        self.auth_unconfirmed = false;
        C::decode_response(&response).map_err(|e| {
            after_sent(
                Error::new(
                    ErrorKind::Protocol,
                    op,
                    format!("cannot decode the {} response: {e}", C::NAME),
                ),
                mutating,
            )
        })
    }

    /// Close the pipe, the tree connection and the session (best effort: errors while
    /// closing are logged, not returned). A client closed by a cancelled call just drops its
    /// connection: half a message may be on the wire, so no teardown is sent.
    pub async fn close(self) {
        if self.is_closed() {
            crate::log_debug!("closing a cancelled client: connection dropped");
            return;
        }
        // CLOSE + TREE_DISCONNECT + LOGOFF in one compound, not waited for.
        match self.transport.close_nowait().await {
            Ok(_flights) => crate::log_debug!(flights = _flights, "closed"),
            Err(_e) => crate::log_debug!(error = %_e, "close failed"),
        }
    }

    /// Close like [`SamrClient::close`] and return the number of SMB2 request flights the
    /// connection used in all (connection setup, calls and the teardown flight); `None` if
    /// the teardown could not be sent.
    pub async fn close_counted(self) -> Option<u32> {
        if self.is_closed() {
            return None;
        }
        self.transport.close_nowait().await.ok()
    }

    /// SMB2 request flights sent so far on this connection (setup included; the teardown
    /// adds one more).
    pub fn flights(&self) -> u32 {
        self.transport.flights()
    }

    /// How many times the session was re-authenticated after STATUS_NETWORK_SESSION_EXPIRED
    /// (with Kerberos, each time with a renewed service ticket).
    pub fn reauthentications(&self) -> u32 {
        self.transport.reauthentications()
    }
}

/// An error instead of tokio's panic when there is no runtime to run on.
pub(crate) fn require_runtime(op: Operation) -> Result<(), Error> {
    match tokio::runtime::Handle::try_current() {
        Ok(_) => Ok(()),
        Err(_) => Err(Error::new(
            ErrorKind::InvalidInput,
            op,
            "no tokio runtime is running: samrpc's async API must run inside one",
        )
        .with_hint(
            "Run it inside a tokio runtime with I/O and timers enabled (#[tokio::main] or \
             Builder::enable_all()), or call it from synchronous code through samrpc::blocking.",
        )),
    }
}

/// The error of a job that ran out of its [`ClientConfig::operation_timeout`]: outcome unknown
/// when a password-changing request may have reached the server, a timeout otherwise.
pub(crate) fn operation_timed_out(
    limit: std::time::Duration,
    interrupted: Option<InFlight>,
    op: Operation,
) -> Error {
    match interrupted {
        Some(InFlight { op, mutating: true, sent: true }) => outcome_unknown(op).with_message(format!(
            "the operation timeout ({limit:?}) ran out after the {op} request was sent: the password may or may not have changed"
        )),
        Some(InFlight { op, .. }) => Error::new(
            ErrorKind::Timeout,
            op,
            format!("the operation timeout ({limit:?}) ran out during {op}"),
        )
        .with_hint("The server is slow or stopped answering; retry later or allow more time."),
        None => Error::new(
            ErrorKind::Timeout,
            op,
            format!("the operation timeout ({limit:?}) ran out during {op}"),
        )
        .with_hint("The server is slow or stopped answering; retry later or allow more time."),
    }
}

/// The server's name as Windows checks it, from the host as given: no IPv6 brackets and no
/// `:port`. The tree connect's `\\NAME\IPC$` path and the NTLM target name `cifs/NAME`
/// (MsvAvTargetName, [MS-NLMP] 2.2.2.1) both use it, so they always agree.
pub(crate) fn server_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // "[v6]" or "[v6]:port".
        return rest.split_once(']').map_or(rest, |(addr, _)| addr);
    }
    match host.split_once(':') {
        // "name:port" (one colon and digits after it); a bare IPv6 address has several colons.
        Some((name, port))
            if !port.contains(':')
                && !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit()) =>
        {
            name
        }
        _ => host,
    }
}

/// An authenticator that needs no I/O to make.
fn ready(a: Box<dyn Authenticator>) -> AuthenticatorFuture {
    Box::pin(core::future::ready(Ok(a)))
}

/// A factory of SPNEGO/NTLM authenticators for `credentials` and the target `service/host`:
/// the first logon and any re-authentication of the session each take one.
fn ntlm_authenticator(
    credentials: &Credentials,
    service: &str,
    host: &str,
) -> Result<Reauthenticator, Error> {
    match credentials {
        Credentials::User { user, domain, secret } => {
            let secret = match secret {
                Secret::Password(p) => NtlmSecret::Password(p.clone()),
                Secret::NtHash(h) => NtlmSecret::NtHash(h.clone()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        Operation::Input,
                        "an AES key can only be used with Kerberos",
                    ));
                }
            };
            let creds = NtlmCredentials {
                user: user.clone(),
                domain: domain.clone(),
                workstation: None,
                secret,
            };
            let spn = format!("{service}/{host}");
            Ok(Box::new(move || {
                ready(Box::new(SpnegoNtlm::new(creds.clone()).with_target_spn(spn.clone())))
            }))
        }
        Credentials::Anonymous => Ok(Box::new(|| ready(Box::new(SpnegoNtlm::anonymous())))),
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            "a ticket cache can only be used with Kerberos",
        )),
    }
}

/// A failed SMB connect, and whether it failed because the SMB port is unreachable (refused or
/// timed out at the TCP connect, before any request was sent): only then may
/// [`Transport::Auto`] fall back to TCP.
struct SmbFailure {
    error: Error,
    unreachable: bool,
}

impl From<Error> for SmbFailure {
    fn from(error: Error) -> Self {
        Self { error, unreachable: false }
    }
}

/// Whether a transport failure means "nothing reachable on that port": the TCP connect was
/// refused or timed out.
fn unreachable_at_connect(e: &TransportError) -> bool {
    match e {
        TransportError::Connect { kind, .. } => {
            matches!(kind, io::ErrorKind::ConnectionRefused | io::ErrorKind::TimedOut)
        }
        TransportError::Timeout { step: TransportStep::Connect, request_sent: false } => true,
        _ => false,
    }
}

/// `ncacn_np`: an SMB2/3 session to `host`, `\PIPE\samr` opened and SAMR bound (TREE_CONNECT,
/// CREATE and the bind travel as one compound). The authentication follows `config.auth`;
/// `negotiate` retries with Kerberos when NTLM is refused for the account.
async fn connect_smb(
    host: &str,
    credentials: &Credentials,
    config: &ClientConfig,
) -> Result<(RpcTransport, Bound), SmbFailure> {
    let kerberos_only = matches!(credentials, Credentials::TicketCache)
        || matches!(credentials, Credentials::User { secret: Secret::AesKey(_), .. });
    match config.auth {
        AuthMethod::Kerberos => connect_kerberos(host, credentials, config).await,
        _ if kerberos_only && !credentials.is_anonymous() => {
            connect_kerberos(host, credentials, config).await
        }
        AuthMethod::Negotiate if !credentials.is_anonymous() => {
            match connect_with(
                host,
                ntlm_authenticator(credentials, "cifs", server_name(host))?,
                config,
                credentials,
            )
            .await
            {
                Err(f)
                    if f.error.operation() == Operation::SessionSetup
                        && matches!(
                            f.error.status(),
                            Some(
                                NtStatus::STATUS_ACCOUNT_RESTRICTION
                                    | NtStatus::STATUS_NTLM_BLOCKED
                            )
                        ) =>
                {
                    crate::log_debug!(status = ?f.error.status(), "NTLM refused for this account: retrying with Kerberos");
                    connect_kerberos(host, credentials, config).await
                }
                r => r,
            }
        }
        _ => {
            connect_with(
                host,
                ntlm_authenticator(credentials, "cifs", server_name(host))?,
                config,
                credentials,
            )
            .await
        }
    }
}

fn transport_config(host: &str, config: &ClientConfig) -> TransportConfig {
    TransportConfig {
        port: config.port,
        connect_timeout: config.connect_timeout,
        request_timeout: config.request_timeout,
        operation_timeout: Some(config.effective_operation_timeout()),
        require_signing: config.require_signing,
        require_encryption: config.require_encryption,
        // The tree path names the server by `host` (without a port) even when `address` is
        // dialled.
        server_name: Some(server_name(host).to_owned()),
        min_dialect: crate::smb2::Dialect(config.min_dialect.code()),
        ..TransportConfig::default()
    }
}

async fn connect_with(
    host: &str,
    mut make_auth: Reauthenticator,
    config: &ClientConfig,
    credentials: &Credentials,
) -> Result<(RpcTransport, Bound), SmbFailure> {
    let mut auth = match make_auth().await {
        Ok(a) => a,
        Err(e) => {
            return Err(SmbFailure {
                unreachable: false,
                error: map_transport(e, Operation::SessionSetup, false, config.port),
            });
        }
    };
    // Session expiry ([MS-SMB2] 3.2.5.1.8): the same logon is re-run on the same session
    // with a fresh authenticator from the same factory.
    match connect_auth(host, &mut *auth, config, Some(make_auth)).await {
        Ok(r) => Ok(r),
        Err(ConnectFail::Transport(e)) => Err(SmbFailure {
            unreachable: unreachable_at_connect(&e),
            error: explain_connect(
                map_transport(e, Operation::Bind, false, config.port),
                credentials,
            ),
        }),
        Err(ConnectFail::Rpc(e)) => Err(e.into()),
    }
}

enum ConnectFail {
    Transport(TransportError),
    Rpc(Error),
}

async fn connect_auth(
    host: &str,
    auth: &mut dyn Authenticator,
    config: &ClientConfig,
    reauth: Option<Reauthenticator>,
) -> Result<(RpcTransport, Bound), ConnectFail> {
    let tcfg = transport_config(host, config);
    let dial = config.address.as_deref().unwrap_or(host);
    let mut rng = OsRandom;
    let mut unbound = Association::new(AssociationConfig::default());
    let bind = unbound.bind_pdu().map_err(|e| ConnectFail::Rpc(map_rpc(e, Operation::Bind)))?;
    let (mut pipe, ack) = SmbPipe::connect_transceive(dial, tcfg, auth, &mut rng, &bind)
        .await
        .map_err(ConnectFail::Transport)?;
    if let Some(make) = reauth {
        pipe.set_reauthenticator(make);
    }
    let rpc = unbound
        .handle_bind_response(&ack)
        .map_err(|e| ConnectFail::Rpc(map_rpc(e, Operation::Bind)))?;
    Ok((RpcTransport::from(pipe), rpc))
}

pub(crate) const TCP_HINT: &str = "SAMR over TCP needs the endpoint mapper (TCP 135) and the dynamic RPC \
     ports (49152-65535 on current Windows and Samba) open between you and the server. Only \
     domain controllers offer SAMR over TCP; other servers offer it over SMB only.";

/// Map a failure of the TCP path, with TCP-specific advice for connect failures.
fn map_tcp(e: TransportError, op: Operation, port: u16) -> Error {
    let connect = matches!(
        &e,
        TransportError::Connect { .. }
            | TransportError::Timeout { step: TransportStep::Connect, .. }
    );
    let err = map_transport(e, op, false, port);
    if connect { err.with_hint(TCP_HINT) } else { err }
}

/// The credentials NTLM needs at the RPC level.
fn ntlm_credentials(credentials: &Credentials) -> Option<NtlmCredentials> {
    match credentials {
        Credentials::User { user, domain, secret } => Some(NtlmCredentials {
            user: user.clone(),
            domain: domain.clone(),
            workstation: None,
            secret: match secret {
                Secret::Password(p) => NtlmSecret::Password(p.clone()),
                Secret::NtHash(h) => NtlmSecret::NtHash(h.clone()),
                _ => return None,
            },
        }),
        // Kerberos-only credentials are refused before this (connect_tcp).
        _ => None,
    }
}

fn map_rpc_auth(e: RpcAuthError) -> Error {
    use crate::auth::AuthError;
    // A CHALLENGE stripped of signing, sealing or key exchange, or a server refusing header
    // signing, is a security-policy failure (as over SMB), not a malformed answer.
    let kind = match &e {
        RpcAuthError::Ntlm(AuthError::WeakNegotiation(_)) => ErrorKind::Security,
        RpcAuthError::Verifier("the server did not agree to header signing") => ErrorKind::Security,
        RpcAuthError::Ntlm(AuthError::Credentials(_)) => ErrorKind::InvalidInput,
        _ => ErrorKind::Protocol,
    };
    Error::new(kind, Operation::Bind, format!("SAMR bind failed: {e}"))
}

/// `ncacn_ip_tcp`: ask the endpoint mapper for SAMR's port, connect to it on the host dialled,
/// and bind. Named accounts authenticate with NTLM in a three-leg bind (BIND, BIND_ACK, AUTH3),
/// or with Kerberos ([`bind_tcp_kerberos`]) when Kerberos is chosen or the credentials are a
/// ticket cache or an AES key, at packet privacy (or integrity, as configured); every call is
/// then signed and sealed.
/// Anonymous credentials bind without authentication (reads only; the server refuses
/// changes).
async fn connect_tcp(
    host: &str,
    credentials: &Credentials,
    config: &ClientConfig,
) -> Result<(RpcTransport, Bound), Error> {
    let level = match config.rpc_protection {
        RpcProtection::Integrity => AuthLevel::INTEGRITY,
        _ => AuthLevel::PRIVACY,
    };
    if wants_kerberos(credentials, config) {
        return connect_tcp_kerberos(host, credentials, config, level).await;
    }
    let (mut t, mut unbound, port) = open_tcp(host, config).await?;
    let bind_err = |e| map_tcp(e, Operation::Bind, port);
    let Some(creds) = ntlm_credentials(credentials) else {
        let bind = unbound.bind_pdu().map_err(|e| map_rpc(e, Operation::Bind))?;
        let ack = t.transceive(&bind).await.map_err(bind_err)?;
        let rpc = unbound.handle_bind_response(&ack).map_err(|e| map_rpc(e, Operation::Bind))?;
        return Ok((RpcTransport::from(t), rpc));
    };
    let (ntlm, negotiate) = NtlmRpcBind::new(creds, level).map_err(map_rpc_auth)?;
    unbound.set_bind_auth(Some(negotiate));
    let bind = unbound.bind_pdu().map_err(|e| map_rpc(e, Operation::Bind))?;
    let ack = t.transceive(&bind).await.map_err(bind_err)?;
    let mut rpc = unbound.handle_bind_response(&ack).map_err(|e| map_rpc(e, Operation::Bind))?;
    let (authenticate, protection) = ntlm
        .authenticate(
            rpc.bind_ack_auth(),
            rpc.header_signing(),
            &mut OsRandom,
            crate::transport::now_filetime(),
        )
        .map_err(map_rpc_auth)?;
    let auth3 = rpc.auth3_pdu(authenticate).map_err(|e| map_rpc(e, Operation::Bind))?;
    t.write(&auth3).await.map_err(bind_err)?;
    rpc.set_auth(Box::new(protection)).map_err(|e| map_rpc(e, Operation::Bind))?;
    t.set_summary(SessionSummary::new(
        SessionKind::Authenticated,
        None,
        true,
        level == AuthLevel::PRIVACY,
    ));
    Ok((RpcTransport::from(t), rpc))
}

/// The endpoint mapper's answer for SAMR, a connection to that port (on the host dialled, or
/// `address`) and an association to bind on it; also the port, for error messages.
async fn open_tcp(
    host: &str,
    config: &ClientConfig,
) -> Result<(RpcTcp, crate::dcerpc::Unbound, u16), Error> {
    let tcfg = TcpConfig {
        connect_timeout: config.connect_timeout,
        request_timeout: config.request_timeout,
        max_frag: DEFAULT_FRAG,
    };
    let epm_port = config.epm_port;
    // Dial `address` when given (the Kerberos name stays `host`).
    let dial = config.address.as_deref().unwrap_or(host);
    let port = crate::transport::epm::map_tcp_port(dial, epm_port, SAMR_SYNTAX, &tcfg)
        .await
        .map_err(|e| map_tcp(e, Operation::Connect, epm_port))?;
    crate::log_debug!(host, port, "endpoint mapper: SAMR over ncacn_ip_tcp");
    let t = RpcTcp::connect(dial, port, &tcfg)
        .await
        .map_err(|e| map_tcp(e, Operation::Connect, port))?;
    let unbound = Association::new(AssociationConfig {
        max_xmit_frag: tcfg.max_frag,
        max_recv_frag: tcfg.max_frag,
        ..AssociationConfig::default()
    });
    Ok((t, unbound, port))
}

/// Whether these credentials and settings authenticate with Kerberos (an explicit choice, a
/// ticket cache, or an AES key, which only Kerberos can use).
fn wants_kerberos(credentials: &Credentials, config: &ClientConfig) -> bool {
    config.auth == AuthMethod::Kerberos
        || matches!(credentials, Credentials::TicketCache)
        || matches!(credentials, Credentials::User { secret: Secret::AesKey(_), .. })
}

fn map_krb_rpc(e: KrbRpcError) -> Error {
    match e {
        KrbRpcError::Kerberos(k) => map_kerberos(KdcError::Kerberos(k), Operation::Bind),
        KrbRpcError::Verifier("the server did not agree to header signing") => {
            Error::new(ErrorKind::Security, Operation::Bind, format!("SAMR bind failed: {e}"))
        }
        KrbRpcError::Etype(_) => {
            Error::new(ErrorKind::Security, Operation::Bind, format!("SAMR bind failed: {e}"))
        }
        _ => Error::new(ErrorKind::Protocol, Operation::Bind, format!("SAMR bind failed: {e}")),
    }
}

/// Kerberos over TCP ([`crate::rpcauth::kerberos`]): a service ticket for `host/<server>`
/// (cache, or AS + TGS), then on a fresh connection: BIND with the AP-REQ, the server's AP-REP
/// verified, our AP-REP in an ALTER_CONTEXT; every call is then sealed (or signed) with AES.
/// When the server answers KRB_AP_ERR_SKEW (with its time), one more connection with an
/// authenticator on the server's clock, as over SMB.
async fn connect_tcp_kerberos(
    host: &str,
    credentials: &Credentials,
    config: &ClientConfig,
    level: AuthLevel,
) -> Result<(RpcTransport, Bound), Error> {
    let ticket =
        kerberos_ticket_for(host, "host", credentials, config, &mut KdcTrips::default()).await?;
    let mut offset = 0i64;
    for attempt in 0..2 {
        let (t, unbound, port) = open_tcp(host, config).await?;
        match bind_tcp_kerberos(&ticket, t, unbound, level, port, offset).await {
            Err(BindFail::Kerberos(KrbRpcError::Kerberos(KerberosError::ClockSkew {
                server_time,
            }))) if attempt == 0 => {
                offset = server_time.time.0 - crate::transport::now_krb().time.0;
                crate::log_debug!(
                    offset,
                    "the server reported clock skew at the bind: retrying once with its time"
                );
            }
            Err(BindFail::Kerberos(e)) => return Err(map_krb_rpc(e)),
            Err(BindFail::Other(e)) => return Err(e),
            Ok((t, rpc)) => {
                crate::log_debug!(host, "SAMR over ncacn_ip_tcp bound with Kerberos");
                return Ok((RpcTransport::from(t), rpc));
            }
        }
    }
    Err(Error::new(ErrorKind::Protocol, Operation::Bind, "clock skew persisted after one retry"))
}

enum BindFail {
    Kerberos(KrbRpcError),
    Other(Error),
}

/// One Kerberos bind on a fresh connection, the authenticator's clock moved by `offset`
/// seconds.
async fn bind_tcp_kerberos(
    ticket: &Credential,
    mut t: RpcTcp,
    mut unbound: crate::dcerpc::Unbound,
    level: AuthLevel,
    port: u16,
    offset: i64,
) -> Result<(RpcTcp, Bound), BindFail> {
    let bind_err = |e| BindFail::Other(map_tcp(e, Operation::Bind, port));
    let rpc_err = |e| BindFail::Other(map_rpc(e, Operation::Bind));
    let mut now = crate::transport::now_krb();
    now.time.0 += offset;
    let (krb, ap_req) =
        KrbRpcBind::new(ticket, level, &mut OsRandom, now).map_err(BindFail::Kerberos)?;
    unbound.set_bind_auth(Some(ap_req));
    let bind = unbound.bind_pdu().map_err(rpc_err)?;
    let ack = t.transceive(&bind).await.map_err(bind_err)?;
    let mut rpc = unbound.handle_bind_response(&ack).map_err(rpc_err)?;
    let (ap_rep, protection) = krb
        .accept(rpc.bind_ack_auth(), rpc.header_signing(), &mut OsRandom)
        .map_err(BindFail::Kerberos)?;
    let alter = rpc.alter_context_pdu(ap_rep).map_err(rpc_err)?;
    let resp = t.transceive(&alter).await.map_err(bind_err)?;
    rpc.handle_alter_context_response(&resp).map_err(rpc_err)?;
    rpc.set_auth(Box::new(protection)).map_err(rpc_err)?;
    t.set_summary(
        SessionSummary::new(SessionKind::Authenticated, None, true, level == AuthLevel::PRIVACY)
            .with_auth("kerberos"),
    );
    Ok((t, rpc))
}

/// A call that did not finish within its operation deadline. `unknown`: a mutating request
/// had been (at least partly) sent, so the password may have changed.
fn deadline_error(op: Operation, limit: std::time::Duration, unknown: bool) -> Error {
    operation_timed_out(limit, Some(InFlight { op, mutating: unknown, sent: unknown }), op)
}

/// Kerberos: a service ticket for `cifs/<host>` (from the cache, or AS + TGS with the
/// credentials), then the SMB session with mutual authentication; on KRB_AP_ERR_SKEW from
/// the server, one retry with the server's time.
async fn connect_kerberos(
    host: &str,
    credentials: &Credentials,
    config: &ClientConfig,
) -> Result<(RpcTransport, Bound), SmbFailure> {
    let cred = kerberos_service_ticket(host, credentials, config, &mut KdcTrips::default()).await?;
    let mut offset = 0i64;
    for attempt in 0..2 {
        let mut auth = SpnegoKerberos::new(cred.clone());
        auth.set_clock_offset(offset);
        // Session expiry: renew the service ticket, then re-authenticate with it.
        let reauth = kerberos_reauthenticator(host, credentials, config, &cred, offset);
        match connect_auth(host, &mut auth, config, Some(reauth)).await {
            Err(ConnectFail::Transport(TransportError::Auth(AuthError::Kerberos(
                KerberosError::ClockSkew { server_time },
            )))) if attempt == 0 => {
                offset = server_time.time.0 - crate::transport::now_krb().time.0;
                crate::log_debug!(
                    offset,
                    "the server reported clock skew: retrying once with its time"
                );
            }
            Err(ConnectFail::Transport(TransportError::Auth(AuthError::Kerberos(k)))) => {
                return Err(map_kerberos(KdcError::Kerberos(k), Operation::SessionSetup).into());
            }
            Err(ConnectFail::Transport(e)) => {
                return Err(SmbFailure {
                    unreachable: unreachable_at_connect(&e),
                    error: map_transport(e, Operation::Bind, false, config.port),
                });
            }
            Err(ConnectFail::Rpc(e)) => return Err(e.into()),
            Ok(r) => return Ok(r),
        }
    }
    Err(SmbFailure::from(Error::new(
        ErrorKind::Protocol,
        Operation::SessionSetup,
        "clock skew persisted after one retry",
    )))
}

/// The re-authenticator of a Kerberos SMB session ([MS-SMB2] 3.2.4.2.3 after
/// STATUS_NETWORK_SESSION_EXPIRED, which servers send when the service ticket ends): it first
/// renews the service ticket (a TGS exchange with the ticket cache's TGT, or AS + TGS with the
/// credentials), then builds a fresh AP-REQ with it. When the KDC cannot be reached, the ticket
/// held is used while it is still valid; an expired one fails the re-authentication with
/// KRB_AP_ERR_TKT_EXPIRED instead of sending it.
fn kerberos_reauthenticator(
    host: &str,
    credentials: &Credentials,
    config: &ClientConfig,
    ticket: &Credential,
    clock_offset: i64,
) -> Reauthenticator {
    let held = std::sync::Arc::new(std::sync::Mutex::new(ticket.clone()));
    let (host, credentials, config) = (host.to_owned(), credentials.clone(), config.clone());
    Box::new(move || {
        let (host, credentials, config, held) =
            (host.clone(), credentials.clone(), config.clone(), held.clone());
        Box::pin(async move {
            let mut trips = KdcTrips::default();
            match kerberos_service_ticket(&host, &credentials, &config, &mut trips).await {
                Ok(fresh) => {
                    crate::log_debug!(service = %fresh.sname, "service ticket renewed");
                    *held.lock().unwrap_or_else(|e| e.into_inner()) = fresh;
                }
                Err(_e) => {
                    crate::log_debug!(error = %_e, "could not renew the service ticket");
                }
            }
            let ticket = held.lock().unwrap_or_else(|e| e.into_inner()).clone();
            let mut now = crate::transport::now_krb();
            now.time.0 += clock_offset;
            if !ticket.is_valid_at(now.time) {
                return Err(TransportError::Auth(AuthError::Kerberos(KerberosError::Other {
                    code: 32, // KRB_AP_ERR_TKT_EXPIRED
                })));
            }
            let mut a = SpnegoKerberos::new(ticket);
            a.set_clock_offset(clock_offset);
            Ok(Box::new(a) as Box<dyn Authenticator>)
        })
    })
}

/// The Kerberos realm and KDC settings for `host` under `config`, with krb5.conf, the KDCs
/// discovered in full: explicit, krb5.conf, DNS SRV (see [`KdcSettings::discover_with_dns`];
/// nameservers from [`system_nameservers`]), then the target host.
pub(crate) async fn kerberos_settings_dns(
    host: &str,
    user_domain: Option<&str>,
    config: &ClientConfig,
) -> Result<(KdcSettings, Option<Krb5Conf>), Error> {
    let (settings, conf) = kerberos_settings(host, user_domain, config)?;
    let fallback = config.address.as_deref().unwrap_or(host);
    // resolv.conf is read only when DNS will be asked.
    let nameservers =
        if KdcSettings::wants_dns(&settings.realm, config.kdc.as_deref(), conf.as_ref()) {
            system_nameservers()
        } else {
            Vec::new()
        };
    let settings = KdcSettings::discover_with_dns(
        &settings.realm,
        config.kdc.as_deref(),
        conf.as_ref(),
        fallback,
        config.connect_timeout,
        &nameservers,
    )
    .await;
    Ok((settings, conf))
}

/// The Kerberos realm and KDC settings for `host` under `config`, with krb5.conf, without the
/// DNS step (enough where only the realm matters, as for the ticket cache).
pub(crate) fn kerberos_settings(
    host: &str,
    user_domain: Option<&str>,
    config: &ClientConfig,
) -> Result<(KdcSettings, Option<Krb5Conf>), Error> {
    let conf = load_krb5_conf().map_err(|e| map_kerberos(e, Operation::Kerberos))?;
    let realm = choose_realm(config.realm.as_deref(), user_domain, conf.as_ref(), host).ok_or_else(|| {
        Error::new(ErrorKind::InvalidInput, Operation::Input, "no Kerberos realm: none given, none in krb5.conf, and the host name has no DNS suffix")
            .with_hint("Name the realm, or connect by the server's DNS name.")
    })?;
    let fallback = config.address.as_deref().unwrap_or(host);
    let settings = KdcSettings::discover(
        &realm,
        config.kdc.as_deref(),
        conf.as_ref(),
        fallback,
        config.connect_timeout,
    );
    Ok((settings, conf))
}

/// A service ticket for `cifs/<host>`: from the ticket cache for [`Credentials::TicketCache`],
/// else through AS + TGS with the account's secret.
pub async fn kerberos_service_ticket(
    host: &str,
    credentials: &Credentials,
    config: &ClientConfig,
    trips: &mut KdcTrips,
) -> Result<Credential, Error> {
    kerberos_ticket_for(host, "cifs", credentials, config, trips).await
}

/// A service ticket for `<service>/<host>` (`cifs` for SMB, `host` for RPC over TCP): from the
/// ticket cache for [`Credentials::TicketCache`], else through AS + TGS.
pub async fn kerberos_ticket_for(
    host: &str,
    service: &str,
    credentials: &Credentials,
    config: &ClientConfig,
    trips: &mut KdcTrips,
) -> Result<Credential, Error> {
    let op = Operation::Kerberos;
    let domain = match credentials {
        Credentials::User { domain, .. } => domain.as_deref(),
        _ => None,
    };
    let (settings, conf) = kerberos_settings_dns(server_name(host), domain, config).await?;
    let spn = PrincipalName::service(service, server_name(host));
    crate::log_debug!(realm = %settings.realm, spn = %spn, "Kerberos: getting a service ticket");
    match credentials {
        Credentials::TicketCache => {
            match read_cache(config.ccache.as_deref(), conf.as_ref(), &settings.realm, &spn)
                .map_err(|e| map_kerberos(e, op))?
            {
                CachedTicket::Service(c) => Ok(c),
                CachedTicket::Tgt(tgt) => get_service_ticket(&settings, &tgt, spn, trips)
                    .await
                    .map_err(|e| map_kerberos(e, op)),
            }
        }
        Credentials::User { user, secret, .. } => {
            let creds = client_credentials(user, &settings.realm, secret)?;
            let tgt = get_initial(&settings, creds, None, trips)
                .await
                .map_err(|e| map_kerberos(e, op))?;
            get_service_ticket(&settings, &tgt, spn, trips).await.map_err(|e| map_kerberos(e, op))
        }
        _ => Err(Error::new(
            ErrorKind::InvalidInput,
            Operation::Input,
            "Kerberos needs an account or a ticket cache, not an anonymous session",
        )),
    }
}

/// Whether the ticket cache holds a valid ticket for `cifs/<host>` or a TGT for the realm
/// (so a Kerberos logon needs no password). `user_domain` is the domain of `NAME@DOMAIN`.
pub fn ticket_cache_usable(host: &str, user_domain: Option<&str>, config: &ClientConfig) -> bool {
    let Ok((settings, conf)) = kerberos_settings(host, user_domain, config) else { return false };
    let spn = PrincipalName::service("cifs", server_name(host));
    read_cache(config.ccache.as_deref(), conf.as_ref(), &settings.realm, &spn).is_ok()
}

/// The user name of the ticket cache's principal (for a rotation that must skip its own
/// account); `None` if the cache cannot be read.
pub(crate) fn ticket_cache_user(host: &str, config: &ClientConfig) -> Option<String> {
    let (settings, conf) = kerberos_settings(server_name(host), None, config).ok()?;
    let spn = PrincipalName::service("cifs", server_name(host));
    match read_cache(config.ccache.as_deref(), conf.as_ref(), &settings.realm, &spn).ok()? {
        CachedTicket::Service(c) | CachedTicket::Tgt(c) => c.cname.components.first().cloned(),
    }
}

/// The sans-IO core's view of an account.
pub(crate) fn client_credentials(
    user: &str,
    realm: &str,
    secret: &Secret,
) -> Result<ClientCredentials, Error> {
    let secret = match secret {
        Secret::Password(p) => ClientSecret::Password(p.clone()),
        Secret::NtHash(h) => ClientSecret::NtHash(h.clone()),
        Secret::AesKey(k) => ClientSecret::aes_key(k.expose())
            .map_err(|e| Error::new(ErrorKind::InvalidInput, Operation::Input, e.to_string()))?,
    };
    Ok(ClientCredentials { user: user.to_owned(), realm: realm.to_owned(), secret })
}

/// Map a Kerberos failure to the public error (statuses where a KRB-ERROR has an NTSTATUS
/// equivalent, so `is_wrong_password()` and the expired-password logic work unchanged).
pub(crate) fn map_kerberos(e: KdcError, op: Operation) -> Error {
    let msg = format!("{op} failed: {e}");
    match &e {
        KdcError::Kerberos(k) => {
            let status = match k {
                KerberosError::WrongPassword => Some(NtStatus::STATUS_WRONG_PASSWORD),
                KerberosError::PasswordExpired { status } => {
                    Some(NtStatus(status.unwrap_or(NtStatus::STATUS_PASSWORD_EXPIRED.0)))
                }
                KerberosError::ClientRevoked { status } => status.map(NtStatus),
                _ => None,
            };
            let mut err = match status {
                Some(s) => Error::refused(op, s).with_message(msg),
                None => {
                    let kind = match k {
                        KerberosError::Malformed(_) | KerberosError::Protocol(_) => ErrorKind::Protocol,
                        KerberosError::Crypto(_) => ErrorKind::Security,
                        KerberosError::Credentials(_) => ErrorKind::InvalidInput,
                        _ => ErrorKind::ServerRefused,
                    };
                    Error::new(kind, op, msg)
                }
            };
            if let Some(h) = k.hint() {
                err = err.with_hint(h);
            }
            err
        }
        KdcError::Unreachable { .. } => Error::new(ErrorKind::Network, op, msg).with_hint(
            "Check that the KDC (TCP port 88) is reachable; name it in krb5.conf ([realms] REALM = { kdc = HOST }) or explicitly.",
        ),
        KdcError::Cache(_) => Error::new(ErrorKind::InvalidInput, op, msg)
            .with_hint("Get a ticket with kinit first, or give a password instead of using the ticket cache."),
        KdcError::Config(_) => Error::new(ErrorKind::InvalidInput, op, msg),
        KdcError::Kpasswd(_) => Error::new(ErrorKind::ServerRefused, op, msg),
        KdcError::OutcomeUnknown(_) => Error::new(ErrorKind::OutcomeUnknown, op, msg).with_hint(
            "Log in with the new password to find out; if it fails, the old one is still valid and you can retry.",
        ),
    }
}

/// Add what only the caller's credentials tell: whose they were, that an anonymous session
/// can authenticate instead, and that no domain was given.
fn explain_connect(e: Error, credentials: &Credentials) -> Error {
    let (anonymous, no_domain) = match credentials {
        Credentials::Anonymous => (true, false),
        Credentials::User { domain, .. } => (false, domain.is_none()),
        _ => (false, false),
    };
    let e = if anonymous { e.with_credentials_used(CredentialsUsed::Anonymous) } else { e };
    let refused = |s| e.status() == Some(s);
    match e.operation() {
        Operation::SessionSetup | Operation::TreeConnect | Operation::OpenPipe
            if anonymous && refused(NtStatus::STATUS_ACCESS_DENIED) =>
        {
            e.with_advice(Advice::Authenticate)
        }
        Operation::SessionSetup if no_domain && refused(NtStatus::STATUS_LOGON_FAILURE) => {
            let hint = format!(
                "{} No domain was given, so the domain the server named in its NTLM challenge was \
                 used: that is not the domain of a local account on a domain member.",
                e.hint().unwrap_or_default()
            );
            e.with_hint(hint.trim_start().to_owned())
        }
        _ => e,
    }
}

/// A protocol failure on the response to a mutating call: the request was delivered, so say
/// that the password may have changed.
fn after_sent(e: Error, mutating: bool) -> Error {
    if mutating && e.kind() == ErrorKind::Protocol {
        const MAY_HAVE_CHANGED: &str = "The request was delivered before the answer went wrong, \
             so the password may have changed: log in with the new password to find out.";
        // Keep the specific advice (e.g. "a response failed its integrity check") in front.
        let hint = match e.hint() {
            Some(h) => format!("{h} {MAY_HAVE_CHANGED}"),
            None => MAY_HAVE_CHANGED.to_owned(),
        };
        e.with_hint(hint)
    } else {
        e
    }
}

fn op_for_step(step: TransportStep, call_op: Operation) -> Operation {
    match step {
        TransportStep::Resolve | TransportStep::Connect | TransportStep::Operation => {
            Operation::Connect
        }
        TransportStep::Negotiate => Operation::Negotiate,
        TransportStep::SessionSetup => Operation::SessionSetup,
        TransportStep::TreeConnect | TransportStep::ValidateNegotiate => Operation::TreeConnect,
        TransportStep::OpenPipe => Operation::OpenPipe,
        TransportStep::Close => Operation::Close,
        TransportStep::EndpointMapper => Operation::Connect,
        _ => call_op,
    }
}

/// What to check when `port` cannot be reached (the port actually used, not an assumed 445).
pub(crate) fn check_server_hint(port: u16) -> String {
    format!(
        "Check that the host is up and reachable, that TCP port {port} is open in its firewall \
         (Windows, for SMB on 445: the \"File and Printer Sharing (SMB-In)\" rule), that the \
         Server (LanmanServer) service is running, and that {port} is the right port."
    )
}

/// The hint for a name that does not resolve: a name resolution problem, not a network one.
pub(crate) const RESOLVE_HINT: &str = "The host name could not be resolved: check its spelling \
     and the name resolution (DNS servers and search domains, the hosts file), or give an IP \
     address.";

fn outcome_unknown(op: Operation) -> Error {
    Error::new(
        ErrorKind::OutcomeUnknown,
        op,
        format!("the connection was lost after the {op} request was sent: the password may or may not have changed"),
    )
    .with_hint(
        "Log in with the new password to find out. If that fails, the old password is still \
         valid and you can retry.",
    )
    .with_advice(Advice::VerifyNewPassword)
}

/// Map a transport failure to the public error. `call_op` names the RPC step (bind or a SAMR
/// call) for pipe I/O failures; `mutating` turns a loss after sending into "outcome unknown".
pub(crate) fn map_transport(
    e: TransportError,
    call_op: Operation,
    mutating: bool,
    port: u16,
) -> Error {
    if mutating && e.request_sent() {
        match &e {
            TransportError::Timeout { .. }
            | TransportError::Io { .. }
            | TransportError::Closed { .. }
            | TransportError::Stalled { .. } => {
                return outcome_unknown(call_op);
            }
            // A bad signature, failed decryption or malformed answer after the request was
            // delivered: the server may have acted on it.
            TransportError::Smb2 { .. } => {
                return after_sent(map_transport_inner(e, call_op, port), true);
            }
            _ => {}
        }
    }
    map_transport_inner(e, call_op, port)
}

fn map_transport_inner(e: TransportError, call_op: Operation, port: u16) -> Error {
    match e {
        TransportError::Resolve { host, source } => Error::new(
            ErrorKind::Network,
            Operation::Connect,
            format!("cannot resolve {host}: {source}"),
        )
        .with_hint(RESOLVE_HINT)
        .with_source(source),
        TransportError::NoAddress { host } => Error::new(
            ErrorKind::Network,
            Operation::Connect,
            format!("{host} resolved to no address"),
        )
        .with_hint(RESOLVE_HINT),
        TransportError::Connect { addr, kind, source } => {
            let port = if port == 0 { addr.port() } else { port };
            let what = match kind {
                io::ErrorKind::ConnectionRefused => {
                    format!("connection to {addr} refused: nothing listens on TCP port {port}")
                }
                _ => format!("cannot connect to {addr}: {source}"),
            };
            Error::new(ErrorKind::Network, Operation::Connect, what)
                .with_hint(check_server_hint(port))
                .with_advice(Advice::CheckPort(port))
                .with_advice(Advice::Diagnose)
                .with_source(source)
        }
        TransportError::Timeout { step, .. } => {
            let op = op_for_step(step, call_op);
            let e = Error::new(ErrorKind::Timeout, op, format!("timed out during {step}"));
            match step {
                TransportStep::Resolve | TransportStep::Connect => e
                    .with_hint(check_server_hint(port))
                    .with_advice(Advice::CheckPort(port))
                    .with_advice(Advice::Diagnose),
                _ => e
                    .with_hint("The server stopped answering; retry later or allow more time.")
                    .with_advice(Advice::RaiseTimeout),
            }
        }
        TransportError::Io { step, source, .. } => Error::new(
            ErrorKind::Network,
            op_for_step(step, call_op),
            format!("network error during {step}: {source}"),
        )
        .with_source(source),
        TransportError::Closed { step, .. } => Error::new(
            ErrorKind::Network,
            op_for_step(step, call_op),
            format!("the server closed the connection during {step}"),
        ),
        TransportError::Smb2 { step, source, .. } => map_smb2(source, op_for_step(step, call_op)),
        TransportError::Auth(a @ crate::auth::AuthError::WeakNegotiation(_)) => Error::new(
            ErrorKind::Security,
            Operation::SessionSetup,
            format!("authentication refused: {a}"),
        ),
        TransportError::Auth(a) => Error::new(
            ErrorKind::Protocol,
            Operation::SessionSetup,
            format!("authentication failed: {a}"),
        ),
        TransportError::Framing { what } => Error::new(
            ErrorKind::Protocol,
            call_op,
            format!("bad DCE/RPC framing from the server: {what}"),
        ),
        TransportError::Rpc { step, source } => map_rpc(source, op_for_step(step, call_op)),
        TransportError::Epm(crate::dcerpc::epm::EpmError::NotRegistered) => Error::new(
            ErrorKind::Network,
            Operation::Connect,
            "the server's endpoint mapper has no TCP endpoint for SAMR",
        )
        .with_hint("This server offers SAMR over SMB only (named pipe); use the SMB transport."),
        TransportError::Epm(e) => Error::new(
            ErrorKind::Protocol,
            Operation::Connect,
            format!("the endpoint mapper lookup failed: {e}"),
        ),
        TransportError::Stalled { step, what, .. } => Error::new(
            ErrorKind::Protocol,
            op_for_step(step, call_op),
            format!("the server's answer makes no progress during {step}: {what}"),
        ),
        TransportError::Broken => Error::new(
            ErrorKind::Network,
            call_op,
            "the SMB connection is unusable after an earlier error",
        ),
    }
}

fn map_smb2(e: Smb2Error, op: Operation) -> Error {
    if op == Operation::Negotiate && e.status() == Some(NtStatus::STATUS_NOT_SUPPORTED) {
        // [MS-SMB2] 3.3.5.4: the server found no dialect in common with the ones offered.
        return Error::new(
            ErrorKind::Security,
            op,
            "SMB negotiate failed: STATUS_NOT_SUPPORTED (the server speaks none of the SMB \
             dialects offered, 2.1 to 3.1.1)",
        )
        .with_hint(
            "The server is probably limited to SMB 2.0.2 or SMB1, whose integrity protection \
             samrpc does not accept. Enable SMB 2.1 or later on the server.",
        );
    }
    if let Some(status) = e.status() {
        let err = Error::refused(op, status);
        return match (op, status) {
            (Operation::SessionSetup, NtStatus::STATUS_ACCESS_DENIED) => err.with_hint(
                "The server refused the SMB session itself. Anonymous sessions are refused by servers \
                 that restrict anonymous access or require encryption (an anonymous session \
                 cannot encrypt); authenticate, or check the account's logon rights.",
            ),
            (Operation::TreeConnect | Operation::OpenPipe, NtStatus::STATUS_ACCESS_DENIED) => err
                .with_hint(format!(
                    "The server refuses the {} to this session: the SAMR pipe is not open to it. \
                     For an anonymous session, the server restricts null-session access to \
                     named pipes (RestrictNullSessAccess, \"Network access: Named Pipes that can \
                     be accessed anonymously\"); on a member server or workstation, \
                     RestrictRemoteSAM (\"Network access: Restrict clients allowed to make remote \
                     calls to SAM\") refuses remote SAM to accounts that are not administrators. \
                     Authenticate, use an account the policy allows, or use a domain controller.",
                    if op == Operation::TreeConnect { "IPC$ share" } else { "\\PIPE\\samr pipe" }
                )),
            _ => err,
        };
    }
    let kind = match &e {
        Smb2Error::Guest
        | Smb2Error::UnexpectedNullSession
        | Smb2Error::EncryptionUnavailable(_)
        | Smb2Error::EncryptionRequired(_)
        | Smb2Error::SigningRequired(_)
        | Smb2Error::DialectTooLow { .. } => ErrorKind::Security,
        _ => ErrorKind::Protocol,
    };
    let hint = match &e {
        Smb2Error::Guest => Some(
            "The account was not found or the domain is wrong, and the server mapped you to \
             Guest. Check the user name and give the domain (the NetBIOS domain, or the \
             computer name for a local account).",
        ),
        Smb2Error::EncryptionUnavailable(_) => Some(
            "The server cannot encrypt (it needs SMB 3.x with a common cipher); drop the \
             encryption requirement or update the server.",
        ),
        Smb2Error::SigningRequired(_) => Some(
            "The server cannot sign this session. samrpc requires signing for authenticated \
             sessions; update the server or enable signing on it.",
        ),
        Smb2Error::BadSignature { .. } | Smb2Error::Unsigned { .. } | Smb2Error::Decrypt(_) => {
            Some(
                "A response failed its integrity check: something between you and the server may \
             be altering traffic. Do not retry on this network.",
            )
        }
        Smb2Error::DialectTooLow { .. } => Some(
            "The server negotiated an SMB dialect below the configured minimum: either it is \
             old (lower the minimum only on a network you trust) or something in between \
             rewrote the negotiation (downgrade attempt).",
        ),
        Smb2Error::DowngradeDetected(_) => Some(
            "The negotiation was altered in transit (downgrade attempt). Do not retry on this \
             network.",
        ),
        _ => None,
    };
    let err = Error::new(kind, op, format!("{op} failed: {e}"));
    let err = if matches!(e, Smb2Error::Guest) { err.with_advice(Advice::GiveDomain) } else { err };
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

pub(crate) fn map_rpc(e: RpcError, op: Operation) -> Error {
    match e.fault() {
        Some(f) => Error::fault(op, f),
        None => Error::new(ErrorKind::Protocol, op, format!("{op} failed: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::Command;

    #[test]
    fn integrity_failure_after_a_delivered_change_says_it_may_have_changed() {
        let e = TransportError::Smb2 {
            step: TransportStep::Transceive,
            source: Smb2Error::BadSignature { command: Command::IOCTL },
            request_sent: true,
        };
        let err = map_transport(e, Operation::Call("SamrUnicodeChangePasswordUser4"), true, 0);
        assert_eq!(err.kind(), ErrorKind::Protocol);
        assert_eq!(err.exit_code(), 3);
        let hint = err.hint().unwrap();
        assert!(hint.contains("integrity check"), "{hint}");
        assert!(hint.contains("may have changed"), "{hint}");
        // Not mutating (a read): no such claim.
        let e = TransportError::Smb2 {
            step: TransportStep::Transceive,
            source: Smb2Error::BadSignature { command: Command::IOCTL },
            request_sent: true,
        };
        let err = map_transport(e, Operation::Bind, false, 0);
        assert!(!err.hint().unwrap().contains("may have changed"));
    }

    #[test]
    fn rpc_auth_failures_are_typed() {
        use crate::auth::AuthError;
        let weak = map_rpc_auth(RpcAuthError::Ntlm(AuthError::WeakNegotiation("SEAL")));
        assert_eq!((weak.kind(), weak.operation()), (ErrorKind::Security, Operation::Bind));
        let no_hs =
            map_rpc_auth(RpcAuthError::Verifier("the server did not agree to header signing"));
        assert_eq!(no_hs.kind(), ErrorKind::Security);
        let bad = map_rpc_auth(RpcAuthError::Ntlm(AuthError::Malformed("NTLM CHALLENGE")));
        assert_eq!(bad.kind(), ErrorKind::Protocol);
        let long = map_rpc_auth(RpcAuthError::Ntlm(AuthError::Credentials("a name is too long")));
        assert_eq!(long.kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn only_connect_refusals_and_timeouts_let_auto_fall_back() {
        let refused = TransportError::Connect {
            addr: "127.0.0.1:445".parse().unwrap(),
            kind: io::ErrorKind::ConnectionRefused,
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert!(unreachable_at_connect(&refused));
        let timeout = TransportError::Timeout { step: TransportStep::Connect, request_sent: false };
        assert!(unreachable_at_connect(&timeout));
        // After the connection: never.
        let late = TransportError::Timeout { step: TransportStep::Transceive, request_sent: true };
        assert!(!unreachable_at_connect(&late));
        let closed = TransportError::Closed { step: TransportStep::Negotiate, request_sent: true };
        assert!(!unreachable_at_connect(&closed));
        let unreachable = TransportError::Connect {
            addr: "127.0.0.1:445".parse().unwrap(),
            kind: io::ErrorKind::PermissionDenied,
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert!(!unreachable_at_connect(&unreachable));
    }

    #[test]
    fn the_server_name_has_no_brackets_and_no_port() {
        assert_eq!(server_name("dc1.example.com"), "dc1.example.com");
        assert_eq!(server_name("dc1.example.com:1445"), "dc1.example.com");
        assert_eq!(server_name("[::1]"), "::1");
        assert_eq!(server_name("[fe80::1]:445"), "fe80::1");
        assert_eq!(server_name("::1"), "::1");
        assert_eq!(server_name("fe80::1"), "fe80::1");
        assert_eq!(server_name("127.0.0.1"), "127.0.0.1");
    }

    #[test]
    fn connection_hints_name_the_port_used_and_keep_the_io_error() {
        use std::error::Error as _;
        let e = TransportError::Connect {
            addr: "127.0.0.1:1445".parse().unwrap(),
            kind: io::ErrorKind::ConnectionRefused,
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        let err = map_transport(e, Operation::Bind, false, 1445);
        let hint = err.hint().unwrap();
        assert!(hint.contains("TCP port 1445") && !hint.contains("port 445 "), "{hint}");
        assert!(err.advice().contains(&Advice::CheckPort(1445)));
        let src = err.source().unwrap().downcast_ref::<io::Error>().unwrap();
        assert_eq!(src.kind(), io::ErrorKind::ConnectionRefused);
        let e = TransportError::Resolve {
            host: "no-such-host.invalid".into(),
            source: io::Error::other("no such host"),
        };
        let err = map_transport(e, Operation::Bind, false, 445);
        assert!(err.hint().unwrap().contains("name resolution"), "{:?}", err.hint());
        assert!(err.source().is_some());
    }

    #[test]
    fn a_refused_pipe_is_not_the_change_policy() {
        for (step, op) in [
            (TransportStep::TreeConnect, Command::TREE_CONNECT),
            (TransportStep::OpenPipe, Command::CREATE),
        ] {
            let e = TransportError::Smb2 {
                step,
                source: Smb2Error::Status { command: op, status: NtStatus::STATUS_ACCESS_DENIED },
                request_sent: true,
            };
            let err = explain_connect(
                map_transport(e, Operation::Bind, false, 445),
                &Credentials::Anonymous,
            );
            let hint = err.hint().unwrap();
            assert!(hint.contains("RestrictRemoteSAM") && hint.contains("null-session"), "{hint}");
            assert!(!hint.contains("SamrChangeUserPasswordApiPolicy"), "{hint}");
            assert_eq!(err.advice(), &[Advice::Authenticate]);
        }
    }

    #[test]
    fn a_logon_failure_without_a_domain_says_the_computer_name_is_the_domain() {
        let refused = || {
            let e = TransportError::Smb2 {
                step: TransportStep::SessionSetup,
                source: Smb2Error::Status {
                    command: Command::SESSION_SETUP,
                    status: NtStatus::STATUS_LOGON_FAILURE,
                },
                request_sent: true,
            };
            map_transport(e, Operation::Bind, false, 445)
        };
        let pw = || Secret::Password(crate::secret::Password::from("x"));
        let no_domain = Credentials::User { user: "bob".into(), domain: None, secret: pw() };
        let hint = explain_connect(refused(), &no_domain).hint().unwrap().to_owned();
        assert!(hint.contains("No domain was given"), "{hint}");
        assert!(hint.contains("the domain is the computer name"), "{hint}");
        let with_domain =
            Credentials::User { user: "bob".into(), domain: Some("SRV2".into()), secret: pw() };
        let hint = explain_connect(refused(), &with_domain).hint().unwrap().to_owned();
        assert!(!hint.contains("No domain was given"), "{hint}");
    }

    #[test]
    fn negotiate_not_supported_is_a_dialect_policy_failure() {
        let e = TransportError::Smb2 {
            step: TransportStep::Negotiate,
            source: Smb2Error::Status {
                command: Command::NEGOTIATE,
                status: NtStatus::STATUS_NOT_SUPPORTED,
            },
            request_sent: true,
        };
        let err = map_transport(e, Operation::Bind, false, 0);
        assert_eq!(err.kind(), ErrorKind::Security);
        assert_eq!(err.operation(), Operation::Negotiate);
        assert!(err.hint().unwrap().contains("SMB 2.1"));
    }
}
