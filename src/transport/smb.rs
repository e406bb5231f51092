//! `ncacn_np`: the tokio shell around the sans-IO SMB2/3 core. Resolve, connect, negotiate,
//! authenticate, tree-connect IPC$ and open a named pipe, then move DCE/RPC PDUs through it.
//!
//! Every network step runs under a timeout and fails with a typed [`TransportError`]. Errors
//! raised after a request left this host say so ([`TransportError::request_sent`]), so that a
//! caller can report "outcome unknown" for change requests.

use super::net::{connect_any, io_err, resolve};
use super::{TransportError, TransportStep, now_filetime};
use crate::auth::{Authenticator, Step as AuthStep};
use crate::rng::SecureRandom;
use crate::secret::SessionKey;
use crate::session::{SessionKind, SessionSummary};
use crate::smb2::connection::{
    Outgoing, OutgoingCompound, PipeData, Received, Response, SetupStep,
};
use crate::smb2::create::FileId;
use crate::smb2::framing::{FRAME_HEADER_LEN, frame_header, parse_frame_len};
use crate::smb2::phases::{self, Accepted, Authenticating, Established, Receive, SetupProgress};
use crate::smb2::{Cipher, ConnectionConfig, Dialect, SessionInfo, SigningAlgorithm, Smb2Error};
use crate::status::NtStatus;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Connection settings for [`SmbPipe::connect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportConfig {
    /// TCP port (445).
    pub port: u16,
    /// Timeout for name resolution and for each TCP connect attempt.
    pub connect_timeout: Duration,
    /// Timeout for each request/response exchange.
    pub request_timeout: Duration,
    /// Optional overall limit for the whole `connect` (all steps together).
    pub operation_timeout: Option<Duration>,
    /// The lowest SMB dialect accepted (default 2.1).
    pub min_dialect: Dialect,
    /// The highest SMB dialect offered (default 3.1.1).
    pub max_dialect: Dialect,
    /// Require signing on authenticated sessions (default true). Anonymous sessions cannot
    /// sign and are allowed unsigned.
    pub require_signing: bool,
    /// Require encryption (default false); fails clearly if the server cannot encrypt.
    pub require_encryption: bool,
    /// The largest frame accepted from the server, in bytes (default 1 MiB + headers).
    pub max_frame: usize,
    /// The largest pipe output asked for in one IOCTL or READ (default 65536, capped by the
    /// server's MaxTransactSize/MaxReadSize); longer answers continue with READ.
    pub max_pipe_read: u32,
    /// The 3.1.1 ciphers offered, in preference order (default: all four, AES-256 first).
    pub ciphers: Vec<Cipher>,
    /// The 3.1.1 signing algorithms offered, in preference order (default: AES-GMAC,
    /// AES-CMAC, HMAC-SHA256).
    pub signing_algorithms: Vec<SigningAlgorithm>,
    /// The pipe to open (default `samr`).
    pub pipe: String,
    /// The server name used in the `\\server\IPC$` path (default: the host as given).
    pub server_name: Option<String>,
}

impl Default for TransportConfig {
    fn default() -> Self {
        Self {
            port: 445,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            operation_timeout: None,
            min_dialect: Dialect::SMB210,
            max_dialect: Dialect::SMB311,
            require_signing: true,
            require_encryption: false,
            max_frame: (1 << 20) + 4096,
            max_pipe_read: 65536,
            ciphers: Cipher::PREFERENCE.to_vec(),
            signing_algorithms: vec![
                SigningAlgorithm::AesGmac,
                SigningAlgorithm::AesCmac,
                SigningAlgorithm::HmacSha256,
            ],
            pipe: "samr".to_owned(),
            server_name: None,
        }
    }
}

/// Debug-level structured logs (never secret bytes: only addresses, dialects and lengths).
macro_rules! debug {
    ($($t:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::debug!($($t)*);
    };
}

/// Whether `data` starts a DCE/RPC connection-oriented PDU (version 5) whose `frag_length`
/// (bytes 8..10, little-endian) is longer than the bytes present.
fn dcerpc_fragment_incomplete(data: &[u8]) -> bool {
    match data {
        [5, ..] if data.len() < 16 => true,
        [5, _, _, _, _, _, _, _, lo, hi, ..] => {
            usize::from(u16::from_le_bytes([*lo, *hi])) > data.len()
        }
        _ => false,
    }
}

/// The most STATUS_PENDING interim responses accepted for one request.
const MAX_INTERIMS: u32 = 16;

/// The most READs one pipe message may take: a 16 MiB message in 64 KiB READs takes 256;
/// more is a server stalling.
const MAX_READS_PER_MESSAGE: u32 = 1024;

/// The cap on one reassembled pipe message.
const MAX_PIPE_MESSAGE: usize = 16 * 1024 * 1024;

/// A fresh authenticator, made asynchronously (Kerberos asks the KDC for a new service ticket
/// first), or why none could be made.
pub type AuthenticatorFuture =
    Pin<Box<dyn Future<Output = Result<Box<dyn Authenticator>, TransportError>> + Send>>;

/// Makes a fresh authenticator for re-authenticating an expired session
/// ([`SmbPipe::set_reauthenticator`]). It holds what the exchange needs (the credentials, in
/// zeroizing types). With Kerberos, this is where the service ticket is renewed first.
pub type Reauthenticator = Box<dyn FnMut() -> AuthenticatorFuture + Send>;

/// An authenticated SMB2/3 session with one named pipe open on IPC$.
pub struct SmbPipe {
    stream: TcpStream,
    conn: Established,
    file_id: FileId,
    cfg: TransportConfig,
    peer: SocketAddr,
    server_name: String,
    broken: bool,
    use_write_read: bool,
    flights: u32,
    reauth: Option<Reauthenticator>,
    reauthentications: u32,
    mechanism: &'static str,
}

impl fmt::Debug for SmbPipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmbPipe")
            .field("peer", &self.peer)
            .field("server_name", &self.server_name)
            .field("conn", &self.conn)
            .finish_non_exhaustive()
    }
}

fn smb(step: TransportStep, request_sent: bool) -> impl FnOnce(Smb2Error) -> TransportError {
    move |source| TransportError::Smb2 { step, source, request_sent }
}

/// Send one request and wait for its final response (skipping STATUS_PENDING interims).
async fn round_trip(
    stream: &mut TcpStream,
    conn: &mut (impl Receive + Send),
    out: Outgoing,
    step: TransportStep,
    cfg: &TransportConfig,
) -> Result<Response, TransportError> {
    send_frame(stream, &out.bytes, step, cfg).await?;
    super::net::waiting_on_peer();
    let max = frame_limit(cfg, conn.max_frame_len());
    let finals = await_finals(stream, max, step, cfg, &[out.message_id], |m| {
        conn.receive(m).map(|r| vec![r])
    })
    .await?;
    finals
        .into_iter()
        .next()
        .ok_or_else(|| smb(step, true)(Smb2Error::Protocol("final response for another request")))
}

/// Mark a failure as happening after the request had left (a READ continuing an answer, a
/// WRITE after earlier parts of the same request).
fn already_sent<T>(r: Result<T, TransportError>) -> Result<T, TransportError> {
    r.map_err(|e| match e {
        TransportError::Smb2 { step, source, .. } => {
            TransportError::Smb2 { step, source, request_sent: true }
        }
        TransportError::Timeout { step, .. } => {
            TransportError::Timeout { step, request_sent: true }
        }
        TransportError::Io { step, kind, source, .. } => {
            TransportError::Io { step, kind, source, request_sent: true }
        }
        TransportError::Closed { step, .. } => TransportError::Closed { step, request_sent: true },
        other => other,
    })
}

/// Frame and write one request flight (a message or a compound chain).
async fn send_frame(
    stream: &mut TcpStream,
    bytes: &[u8],
    step: TransportStep,
    cfg: &TransportConfig,
) -> Result<(), TransportError> {
    let hdr = frame_header(bytes.len()).map_err(smb(step, false))?;
    let mut framed = Vec::with_capacity(FRAME_HEADER_LEN + bytes.len());
    framed.extend_from_slice(&hdr);
    framed.extend_from_slice(bytes);
    timeout(cfg.request_timeout, stream.write_all(&framed))
        .await
        .map_err(|_| TransportError::Timeout { step, request_sent: false })?
        .map_err(|e| io_err(step, false, e))
}

/// The largest frame accepted from the server now.
fn frame_limit(cfg: &TransportConfig, conn_max: usize) -> usize {
    cfg.max_frame.min(conn_max.saturating_add(4096)).max(65536 + 4096)
}

/// Send a compound chain and wait for the final response of every request in it (the
/// server may answer chained or message by message, with STATUS_PENDING interims).
async fn compound_trip(
    stream: &mut TcpStream,
    conn: &mut Established,
    out: OutgoingCompound,
    step: TransportStep,
    cfg: &TransportConfig,
) -> Result<Vec<Response>, TransportError> {
    send_frame(stream, &out.bytes, step, cfg).await?;
    let max = frame_limit(cfg, conn.max_frame_len());
    let ids: Vec<u64> = out.requests.iter().map(|(m, _)| *m).collect();
    await_finals(stream, max, step, cfg, &ids, |m| conn.receive_chain(m)).await
}

/// Read frames until every request in `ids` has its final response; returns them in the
/// order of `ids`. `decode` checks one frame (a message or a chain) and yields what it holds.
///
/// A server sends one STATUS_PENDING interim per request; a few are tolerated, not an endless
/// stream. The timeout covers the whole exchange, interims included: a server that keeps
/// answering "pending" cannot hold the client past `request_timeout`. An interim or final
/// response for a request not in `ids` (or a second final) is a protocol error.
async fn await_finals(
    stream: &mut TcpStream,
    max: usize,
    step: TransportStep,
    cfg: &TransportConfig,
    ids: &[u64],
    mut decode: impl FnMut(&[u8]) -> Result<Vec<Received>, Smb2Error>,
) -> Result<Vec<Response>, TransportError> {
    let protocol = |what: &'static str| smb(step, true)(Smb2Error::Protocol(what));
    let mut finals: Vec<Option<Response>> = vec![None; ids.len()];
    let deadline = tokio::time::Instant::now() + cfg.request_timeout;
    let mut interims = 0u32;
    let index = |id: u64| ids.iter().position(|m| *m == id);
    while finals.iter().any(Option::is_none) {
        let msg = tokio::time::timeout_at(deadline, read_frame(stream, max, step))
            .await
            .map_err(|_| TransportError::Timeout { step, request_sent: true })??;
        for item in decode(&msg).map_err(smb(step, true))? {
            match item {
                Received::Interim { message_id } if index(message_id).is_some() => {
                    interims += 1;
                    if interims > MAX_INTERIMS {
                        return Err(protocol("too many interim responses for one request"));
                    }
                }
                Received::Interim { .. } => {
                    return Err(protocol("interim response for another request"));
                }
                Received::Final(r) => match index(r.header.message_id) {
                    Some(i) if finals[i].is_none() => finals[i] = Some(r),
                    _ => return Err(protocol("final response for another request")),
                },
            }
        }
    }
    Ok(finals.into_iter().flatten().collect())
}

/// Read one direct-TCP frame; failures name `step`, the exchange in progress.
async fn read_frame(
    stream: &mut TcpStream,
    max: usize,
    step: TransportStep,
) -> Result<Vec<u8>, TransportError> {
    let mut hdr = [0u8; FRAME_HEADER_LEN];
    stream.read_exact(&mut hdr).await.map_err(|e| io_err(step, true, e))?;
    let len = parse_frame_len(hdr, max).map_err(smb(step, true))?;
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await.map_err(|e| io_err(step, true, e))?;
    Ok(buf)
}

impl SmbPipe {
    /// Resolve `host` (name, IPv4 or IPv6 literal), connect, negotiate, authenticate with
    /// `authenticator`, tree-connect `\\host\IPC$` and open the configured pipe.
    pub async fn connect(
        host: &str,
        config: TransportConfig,
        mut authenticator: Box<dyn Authenticator>,
        rng: &mut (dyn SecureRandom + Send),
    ) -> Result<Self, TransportError> {
        Self::connect_with(host, config, &mut *authenticator, rng).await
    }

    /// Like [`Self::connect`], but borrowing the authenticator, so that the caller can query
    /// it afterwards (e.g. `SpnegoNtlm::server_nb_domain_name`, `domain_used`).
    pub async fn connect_with(
        host: &str,
        config: TransportConfig,
        authenticator: &mut dyn Authenticator,
        rng: &mut (dyn SecureRandom + Send),
    ) -> Result<Self, TransportError> {
        Self::connect_limited(host, config, authenticator, rng, None).await.map(|(p, _)| p)
    }

    /// Like [`Self::connect_with`], then transceive `first_pdu` (typically the DCE/RPC bind)
    /// and return its answer. TREE_CONNECT, CREATE and the transceive IOCTL travel as one
    /// related compound (on 3.0 / 3.0.2 the tree connect and VALIDATE_NEGOTIATE_INFO go
    /// first, then CREATE + IOCTL), saving two round trips.
    pub async fn connect_transceive(
        host: &str,
        config: TransportConfig,
        authenticator: &mut dyn Authenticator,
        rng: &mut (dyn SecureRandom + Send),
        first_pdu: &[u8],
    ) -> Result<(Self, Vec<u8>), TransportError> {
        let (pipe, first) =
            Self::connect_limited(host, config, authenticator, rng, Some(first_pdu)).await?;
        let first = first.ok_or(TransportError::Smb2 {
            step: TransportStep::Transceive,
            source: Smb2Error::Protocol("no answer to the first PDU"),
            request_sent: true,
        })?;
        Ok((pipe, first))
    }

    async fn connect_limited(
        host: &str,
        config: TransportConfig,
        authenticator: &mut dyn Authenticator,
        rng: &mut (dyn SecureRandom + Send),
        first_pdu: Option<&[u8]>,
    ) -> Result<(Self, Option<Vec<u8>>), TransportError> {
        let fut = Self::connect_inner(host, config.clone(), authenticator, rng, first_pdu);
        match config.operation_timeout {
            Some(limit) => timeout(limit, fut).await.map_err(|_| TransportError::Timeout {
                step: TransportStep::Operation,
                request_sent: false,
            })?,
            None => fut.await,
        }
    }

    async fn connect_inner(
        host: &str,
        cfg: TransportConfig,
        auth: &mut dyn Authenticator,
        rng: &mut (dyn SecureRandom + Send),
        first_pdu: Option<&[u8]>,
    ) -> Result<(Self, Option<Vec<u8>>), TransportError> {
        let mut flights = 0u32;
        let addrs = resolve(host, cfg.port, cfg.connect_timeout).await?;
        let (mut stream, peer) = connect_any(&addrs, cfg.connect_timeout).await?;
        debug!(%peer, "TCP connected");
        let anonymous = auth.is_anonymous();
        let mechanism = auth.mechanism();
        let ccfg = ConnectionConfig {
            min_dialect: cfg.min_dialect,
            max_dialect: cfg.max_dialect,
            require_signing: cfg.require_signing && !anonymous,
            require_encryption: cfg.require_encryption,
            anonymous,
            max_pipe_read: cfg.max_pipe_read,
            ciphers: cfg.ciphers.clone(),
            signing_algorithms: cfg.signing_algorithms.clone(),
            ..ConnectionConfig::default()
        };
        // NEGOTIATE
        let step = TransportStep::Negotiate;
        let (mut negotiating, out) = phases::start(ccfg, rng).map_err(smb(step, false))?;
        flights += 1;
        let r = round_trip(&mut stream, &mut negotiating, out, step, &cfg).await?;
        let (authenticating, _hint) = negotiating.negotiated(&r).map_err(smb(step, true))?;

        // SESSION_SETUP legs, driven by the authenticator's tokens.
        enum Setup {
            Authenticating(Authenticating),
            Accepted(Accepted),
            Gone,
        }
        let step = TransportStep::SessionSetup;
        let protocol = |what: &'static str| smb(step, true)(Smb2Error::Protocol(what));
        let mut state = Setup::Authenticating(authenticating);
        let mut server_token: Option<Vec<u8>> = None;
        let session_key: Option<SessionKey> = loop {
            let (token, done) = match auth.step(server_token.as_deref(), rng, now_filetime())? {
                AuthStep::Send(token) => (Some(token), None),
                AuthStep::Done { token, session_key } => (token, Some(session_key)),
            };
            if let Some(token) = token {
                let Setup::Authenticating(mut a) = core::mem::replace(&mut state, Setup::Gone)
                else {
                    return Err(protocol(
                        "the authenticator continued after the server accepted the logon",
                    ));
                };
                let out = a.request(&token).map_err(smb(step, false))?;
                flights += 1;
                let r = round_trip(&mut stream, &mut a, out, step, &cfg).await?;
                match a.response(&r).map_err(smb(step, true))? {
                    SetupProgress::More(a, t) => {
                        state = Setup::Authenticating(a);
                        server_token = Some(t);
                    }
                    SetupProgress::Accepted(acc, t) => {
                        state = Setup::Accepted(acc);
                        server_token = Some(t);
                    }
                }
            }
            if let Some(key) = done {
                break key;
            }
        };
        let Setup::Accepted(accepted) = state else {
            return Err(protocol(
                "the authenticator finished before the server accepted the logon",
            ));
        };
        let conn = accepted.complete(session_key).map_err(smb(step, true))?;
        if let Some(i) = conn.info() {
            debug!(
                dialect = %i.dialect,
                signing = i.signing,
                encryption = i.encryption,
                anonymous = i.anonymous,
                "SMB session established"
            );
            let _ = &i;
        }

        let server_name = cfg
            .server_name
            .clone()
            .unwrap_or_else(|| host.trim_start_matches('[').trim_end_matches(']').to_owned());
        let mut pipe = Self {
            stream,
            conn,
            file_id: FileId::default(),
            cfg,
            peer,
            server_name,
            broken: false,
            use_write_read: false,
            flights,
            reauth: None,
            reauthentications: 0,
            mechanism,
        };
        let first = pipe.open(first_pdu).await?;
        debug!(pipe = %pipe.cfg.pipe, flights = pipe.flights, "named pipe open");
        Ok((pipe, first))
    }

    /// TREE_CONNECT IPC$ (+ VALIDATE_NEGOTIATE_INFO on 3.0 / 3.0.2) and CREATE the pipe;
    /// with `first_pdu`, also transceive it. Related requests go in one compound where the
    /// dialect allows; a server that refuses the compound gets separate requests.
    async fn open(&mut self, first_pdu: Option<&[u8]>) -> Result<Option<Vec<u8>>, TransportError> {
        let server_name = self.server_name.clone();
        let pipe_name = self.cfg.pipe.clone();
        let Some(pdu) = first_pdu else {
            self.tree_connect(&server_name).await?;
            self.create(&pipe_name).await?;
            return Ok(None);
        };
        let with_tree = !self.conn.validate_negotiate_pending();
        if !with_tree {
            self.tree_connect(&server_name).await?;
        }
        let step = if with_tree { TransportStep::TreeConnect } else { TransportStep::OpenPipe };
        let out = self
            .conn
            .open_pipe_compound(with_tree.then_some(server_name.as_str()), &pipe_name, pdu)
            .map_err(smb(step, false))?;
        self.flights += 1;
        let rs = compound_trip(&mut self.stream, &mut self.conn, out, step, &self.cfg).await?;
        let short = || smb(step, true)(Smb2Error::Protocol("short compound response"));
        let mut rs = rs.into_iter();
        let tree = if with_tree { Some(rs.next().ok_or_else(short)?) } else { None };
        let create = rs.next().ok_or_else(short)?;
        let ioctl = rs.next().ok_or_else(short)?;
        if let Some(tree) = tree {
            self.conn.handle_tree_connect(&tree).map_err(smb(TransportStep::TreeConnect, true))?;
        }
        match self.conn.handle_create(&create) {
            Ok(id) => self.file_id = id,
            Err(e) if e.status().is_some() => {
                // Refused inside the compound (e.g. a share demanding encryption that the
                // chain did not have yet): open the pipe on its own.
                debug!(error = %e, "compound CREATE refused; retrying alone");
                self.create(&pipe_name).await?;
                return self.transceive(pdu).await.map(Some);
            }
            Err(e) => return Err(smb(TransportStep::OpenPipe, true)(e)),
        }
        match self.conn.handle_transceive(&ioctl) {
            Ok(PipeData { data, more: false }) => Ok(Some(data)),
            Ok(PipeData { data, more: true }) => {
                self.read_rest(data, TransportStep::Transceive).await.map(Some)
            }
            Err(e) if e.status().is_some() => {
                // A server without FSCTL_PIPE_TRANSCEIVE: WRITE + READ from now on; any other
                // refusal inside the chain: retry the transceive on its own.
                if matches!(
                    e.status(),
                    Some(NtStatus::STATUS_NOT_SUPPORTED | NtStatus::STATUS_INVALID_DEVICE_REQUEST)
                ) {
                    self.use_write_read = true;
                }
                debug!(error = %e, "compound transceive refused; retrying alone");
                self.transceive(pdu).await.map(Some)
            }
            Err(e) => Err(smb(TransportStep::Transceive, true)(e)),
        }
    }

    async fn tree_connect(&mut self, server_name: &str) -> Result<(), TransportError> {
        let step = TransportStep::TreeConnect;
        let r = self.exchange(step, |c| c.tree_connect_request(server_name)).await?;
        self.conn.handle_tree_connect(&r).map_err(smb(step, true))?;
        if self.conn.needs_validate_negotiate() {
            let step = TransportStep::ValidateNegotiate;
            let r = self.exchange(step, |c| c.validate_negotiate_request()).await?;
            self.conn.handle_validate_negotiate(&r).map_err(smb(step, true))?;
        }
        Ok(())
    }

    async fn create(&mut self, pipe_name: &str) -> Result<(), TransportError> {
        let step = TransportStep::OpenPipe;
        let r = self.exchange(step, |c| c.create_pipe_request(pipe_name)).await?;
        self.file_id = self.conn.handle_create(&r).map_err(smb(step, true))?;
        Ok(())
    }

    /// Mark the pipe unusable (an operation was abandoned mid-exchange, e.g. at its deadline:
    /// the next bytes on the socket may belong to it). Later calls fail with
    /// [`TransportError::Broken`].
    pub fn poison(&mut self) {
        self.broken = true;
    }

    /// The number of request flights (frames carrying one request or one compound chain)
    /// sent on this connection so far, connection setup included.
    pub fn flights(&self) -> u32 {
        self.flights
    }

    /// Let the pipe re-authenticate its session when the server answers a request with
    /// STATUS_NETWORK_SESSION_EXPIRED ([MS-SMB2] 3.2.5.1.8): a SESSION_SETUP on the same
    /// SessionId with a fresh authenticator from `make`, then the request again (the server
    /// refused it without acting on it). Without one, the expiry is returned as the status.
    pub fn set_reauthenticator(&mut self, make: Reauthenticator) {
        self.reauth = Some(make);
    }

    /// How many times the session was re-authenticated after expiring.
    pub fn reauthentications(&self) -> u32 {
        self.reauthentications
    }

    /// Build a request with `build`, send it and wait for its final response. A response
    /// STATUS_NETWORK_SESSION_EXPIRED re-authenticates the session (when a re-authenticator
    /// is set) and sends the request once more, rebuilt (new MessageId and signature).
    async fn exchange(
        &mut self,
        step: TransportStep,
        mut build: impl FnMut(&mut Established) -> Result<Outgoing, Smb2Error>,
    ) -> Result<Response, TransportError> {
        let r = self.exchange_once(step, &mut build).await?;
        if r.header.status != NtStatus::STATUS_NETWORK_SESSION_EXPIRED || self.reauth.is_none() {
            return Ok(r);
        }
        debug!(%step, "session expired; re-authenticating");
        self.reauthenticate().await?;
        self.exchange_once(step, &mut build).await
    }

    async fn exchange_once(
        &mut self,
        step: TransportStep,
        build: &mut impl FnMut(&mut Established) -> Result<Outgoing, Smb2Error>,
    ) -> Result<Response, TransportError> {
        if self.broken {
            return Err(TransportError::Broken);
        }
        let out = build(&mut self.conn).map_err(smb(step, false))?;
        self.flights = self.flights.saturating_add(1);
        let r = round_trip(&mut self.stream, &mut self.conn, out, step, &self.cfg).await;
        if let Err(e) = &r {
            // A status failure leaves the connection usable; anything else breaks it.
            if e.status().is_none() {
                self.broken = true;
            }
        }
        r
    }

    /// Re-authenticate the established session ([MS-SMB2] 3.2.4.2.3): SESSION_SETUP legs on
    /// the existing SessionId driven by a fresh authenticator. The session keys stay; a
    /// failure ends the connection. (A server that wants a brand-new session instead refuses
    /// this; the pipe and the RPC association die with the old session, so the caller
    /// reconnects.)
    async fn reauthenticate(&mut self) -> Result<(), TransportError> {
        let step = TransportStep::SessionSetup;
        let Some(make) = self.reauth.as_mut() else {
            return Err(smb(step, false)(Smb2Error::State("no re-authenticator")));
        };
        let made = make().await;
        let mut auth = match made {
            Ok(a) => a,
            Err(e) => {
                self.broken = true;
                return Err(e);
            }
        };
        let mut rng = crate::rng::OsRandom;
        let mut server_token: Option<Vec<u8>> = None;
        let result = async {
            loop {
                let (token, done) =
                    match auth.step(server_token.as_deref(), &mut rng, now_filetime())? {
                        AuthStep::Send(token) => (Some(token), false),
                        AuthStep::Done { token, .. } => (token, true),
                    };
                let Some(token) = token else {
                    return if done {
                        Ok(())
                    } else {
                        Err(smb(step, true)(Smb2Error::Protocol("the authenticator sent nothing")))
                    };
                };
                self.flights = self.flights.saturating_add(1);
                let out = self.conn.reauth_request(&token).map_err(smb(step, false))?;
                let r = round_trip(&mut self.stream, &mut self.conn, out, step, &self.cfg).await?;
                match self.conn.handle_reauth(&r).map_err(smb(step, true))? {
                    SetupStep::More { token } => server_token = Some(token),
                    SetupStep::Success { token } => {
                        if !done {
                            // Let the authenticator check the server's last token.
                            let _ = auth.step(Some(&token), &mut rng, now_filetime())?;
                        }
                        return Ok(());
                    }
                }
            }
        }
        .await;
        match result {
            Ok(()) => {
                self.reauthentications = self.reauthentications.saturating_add(1);
                Ok(())
            }
            Err(e) => {
                self.broken = true;
                Err(e)
            }
        }
    }

    /// Write one RPC PDU and read the answer (FSCTL_PIPE_TRANSCEIVE, continued with READ on
    /// STATUS_BUFFER_OVERFLOW; WRITE then READ if the server does not support the FSCTL).
    pub async fn transceive(&mut self, pdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        if self.broken {
            return Err(TransportError::Broken);
        }
        if self.use_write_read {
            self.write(pdu).await?;
            return self.read().await;
        }
        let step = TransportStep::Transceive;
        debug!(len = pdu.len(), "pipe transceive");
        let file_id = self.file_id;
        let r = self.exchange(step, |c| c.transceive_request(file_id, pdu)).await?;
        match self.conn.handle_transceive(&r) {
            Ok(PipeData { data, more }) => {
                if more {
                    self.read_rest(data, step).await
                } else {
                    Ok(data)
                }
            }
            Err(Smb2Error::Status { status, .. })
                if status == NtStatus::STATUS_NOT_SUPPORTED
                    || status == NtStatus::STATUS_INVALID_DEVICE_REQUEST =>
            {
                // The FSCTL did not execute: fall back to WRITE + READ for good.
                self.use_write_read = true;
                self.write(pdu).await?;
                self.read().await
            }
            Err(e) => {
                if e.status().is_none() {
                    self.broken = true;
                }
                Err(smb(step, true)(e))
            }
        }
    }

    async fn read_rest(
        &mut self,
        mut data: Vec<u8>,
        step: TransportStep,
    ) -> Result<Vec<u8>, TransportError> {
        let mut reads = 0u32;
        loop {
            reads += 1;
            if reads > MAX_READS_PER_MESSAGE {
                self.broken = true;
                return Err(TransportError::Stalled {
                    step,
                    what: "more READs than any pipe message needs",
                    request_sent: true,
                });
            }
            let file_id = self.file_id;
            // A READ continues an answer: its request was sent before.
            let r = already_sent(self.exchange(step, |c| c.read_request(file_id)).await)?;
            let pd = self.conn.handle_read(&r).map_err(smb(step, true))?;
            if pd.more && pd.data.is_empty() {
                // STATUS_BUFFER_OVERFLOW with nothing in it makes no progress: the next READ
                // would be the same, each inside the request timeout, the size cap never
                // reached (issue 15, item 2).
                self.broken = true;
                return Err(TransportError::Stalled {
                    step,
                    what: "a READ answered that more data follows, with no data",
                    request_sent: true,
                });
            }
            if data.len().saturating_add(pd.data.len()) > MAX_PIPE_MESSAGE {
                self.broken = true;
                return Err(smb(step, true)(Smb2Error::Protocol("pipe message too large")));
            }
            let progressed = !pd.data.is_empty();
            data.extend_from_slice(&pd.data);
            if pd.more {
                continue;
            }
            // Samba answers a short READ on a pipe with STATUS_SUCCESS even when the message
            // continues, so also keep reading while a DCE/RPC fragment is visibly incomplete.
            if !(progressed && dcerpc_fragment_incomplete(&data)) {
                return Ok(data);
            }
        }
    }

    /// Write bytes to the pipe (split into WRITEs of at most the server's MaxWriteSize).
    pub async fn write(&mut self, data: &[u8]) -> Result<(), TransportError> {
        let step = TransportStep::Write;
        let chunk = self.conn.max_write().max(1);
        let mut sent_any = false;
        for part in data.chunks(chunk) {
            let file_id = self.file_id;
            let r = self.exchange(step, |c| c.write_request(file_id, part)).await;
            let r = if sent_any { already_sent(r) } else { r }?;
            let n = self.conn.handle_write(&r).map_err(smb(step, true))?;
            sent_any = true;
            if n as usize != part.len() {
                self.broken = true;
                return Err(smb(step, true)(Smb2Error::Protocol("short pipe write")));
            }
        }
        Ok(())
    }

    /// Read one message from the pipe (continuing on STATUS_BUFFER_OVERFLOW).
    pub async fn read(&mut self) -> Result<Vec<u8>, TransportError> {
        self.read_rest(Vec::new(), TransportStep::Read).await
    }

    /// The SMB ApplicationKey (3.x: KDF output; 2.x: the session key) that SAMR
    /// password-set levels are keyed with. `None` for anonymous sessions.
    pub fn application_key(&self) -> Option<&SessionKey> {
        self.conn.application_key()
    }

    /// How the session is protected.
    pub fn info(&self) -> SessionInfo {
        self.conn.info().unwrap_or(SessionInfo {
            dialect: Dialect(0),
            signing: false,
            signing_algorithm: None,
            encryption: false,
            cipher: None,
            anonymous: false,
            max_transact_size: 0,
        })
    }

    /// The session in the transport-neutral form the client reports.
    pub fn summary(&self) -> SessionSummary {
        let i = self.info();
        let kind = if i.anonymous { SessionKind::Anonymous } else { SessionKind::Authenticated };
        SessionSummary::new(
            kind,
            crate::session::Dialect::from_code(i.dialect.0),
            i.signing,
            i.encryption,
        )
        .with_auth(if i.anonymous { "anonymous" } else { self.mechanism })
    }

    /// The address connected to.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The server name used in the `\\server\IPC$` path of the tree connect.
    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// The largest pipe output asked for in one exchange (a hint for DCE/RPC max_recv_frag).
    pub fn max_transact(&self) -> usize {
        self.conn.info().map(|i| i.max_transact_size as usize).unwrap_or(4280)
    }

    /// CLOSE the pipe, TREE_DISCONNECT and LOGOFF (one compound), wait for the answers, then
    /// shut the socket down.
    pub async fn close(mut self) -> Result<(), TransportError> {
        let step = TransportStep::Close;
        if self.broken {
            return Err(TransportError::Broken);
        }
        let out = self.conn.teardown_compound(self.file_id).map_err(smb(step, false))?;
        self.flights = self.flights.saturating_add(1);
        let rs = compound_trip(&mut self.stream, &mut self.conn, out, step, &self.cfg).await?;
        let [close, tdis, logoff] = <[Response; 3]>::try_from(rs)
            .map_err(|_| smb(step, true)(Smb2Error::Protocol("short compound response")))?;
        self.conn.handle_close(&close).map_err(smb(step, true))?;
        self.conn.handle_tree_disconnect(&tdis).map_err(smb(step, true))?;
        self.conn.handle_logoff(&logoff).map_err(smb(step, true))?;
        let _ = timeout(self.cfg.request_timeout, self.stream.shutdown()).await;
        Ok(())
    }

    /// Send CLOSE, TREE_DISCONNECT and LOGOFF as one compound without waiting for the answers,
    /// then shut the socket down: the server cleans up either way, and the caller saves a
    /// round trip. Returns the connection's total number of request flights.
    pub async fn close_nowait(mut self) -> Result<u32, TransportError> {
        let step = TransportStep::Close;
        if self.broken {
            return Err(TransportError::Broken);
        }
        let out = self.conn.teardown_compound(self.file_id).map_err(smb(step, false))?;
        self.flights = self.flights.saturating_add(1);
        send_frame(&mut self.stream, &out.bytes, step, &self.cfg).await?;
        let _ = timeout(self.cfg.request_timeout, self.stream.shutdown()).await;
        Ok(self.flights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::Connection;

    fn assert_send<T: Send>(_: &T) {}

    /// `SmbPipe` and the `connect` future can move across tokio worker threads.
    #[test]
    fn pipe_and_connect_future_are_send() {
        fn pipe_is_send<T: Send>() {}
        pipe_is_send::<SmbPipe>();
        let mut rng = crate::rng::OsRandom;
        let auth: Box<dyn Authenticator> = Box::new(crate::auth::SpnegoNtlm::anonymous());
        let fut = SmbPipe::connect("localhost", TransportConfig::default(), auth, &mut rng);
        assert_send(&fut);
        drop(fut);
    }

    #[test]
    fn dcerpc_fragment_completeness() {
        assert!(dcerpc_fragment_incomplete(&[5, 0, 12]));
        let mut f = vec![5, 0, 12, 3, 0x10, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0];
        assert!(dcerpc_fragment_incomplete(&f));
        f.extend([0; 4]);
        assert!(!dcerpc_fragment_incomplete(&f));
        assert!(!dcerpc_fragment_incomplete(&[]));
        assert!(!dcerpc_fragment_incomplete(&[4, 0, 0]));
    }

    #[tokio::test]
    async fn silent_server_times_out_with_request_sent() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let accept = tokio::spawn(async move { l.accept().await.map(|(s, _)| s) });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let _server = accept.await.unwrap().unwrap();
        let mut conn =
            Connection::new(ConnectionConfig::default(), &mut crate::rng::OsRandom).unwrap();
        let out = conn.negotiate_request().unwrap();
        let cfg =
            TransportConfig { request_timeout: Duration::from_millis(100), ..Default::default() };
        let e = round_trip(&mut stream, &mut conn, out, TransportStep::Negotiate, &cfg)
            .await
            .unwrap_err();
        assert!(
            matches!(
                e,
                TransportError::Timeout { step: TransportStep::Negotiate, request_sent: true }
            ),
            "{e}"
        );
        assert!(e.request_sent());
    }

    /// The wait hook (which starts a change's PBKDF2 derivation) runs only once the request
    /// is on the wire: when it runs, the server can already read the whole framed NEGOTIATE.
    #[tokio::test]
    async fn the_wait_hook_runs_once_the_request_has_left() {
        use std::io::Read;
        use std::sync::{Arc, Mutex};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut stream = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (server, _) = l.accept().unwrap();
        server.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let server = Arc::new(Mutex::new(server));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let hook = Box::new(move || {
            let mut buf = [0u8; 4096];
            let n = server.lock().unwrap().read(&mut buf).unwrap_or(0);
            log.lock().unwrap().push(n);
        });
        let mut conn =
            Connection::new(ConnectionConfig::default(), &mut crate::rng::OsRandom).unwrap();
        let out = conn.negotiate_request().unwrap();
        let framed = FRAME_HEADER_LEN + out.bytes.len();
        let cfg =
            TransportConfig { request_timeout: Duration::from_millis(100), ..Default::default() };
        let sent = round_trip(&mut stream, &mut conn, out, TransportStep::Negotiate, &cfg);
        let e = super::super::net::with_wait_hook(hook, sent).await.unwrap_err();
        assert!(matches!(e, TransportError::Timeout { request_sent: true, .. }), "{e}");
        assert_eq!(*seen.lock().unwrap(), vec![framed], "one call, after the whole request left");
    }

    fn interim(message_id: u64) -> Vec<u8> {
        use crate::smb2::header::{FLAG_ASYNC_COMMAND, FLAG_SERVER_TO_REDIR, Header};
        let mut h = Header::request(crate::smb2::Command::NEGOTIATE, message_id, 0, 0);
        h.flags = FLAG_SERVER_TO_REDIR | FLAG_ASYNC_COMMAND;
        h.async_id = Some(5);
        h.status = NtStatus::STATUS_PENDING;
        h.credits = 1;
        let mut w = crate::wire::Writer::new();
        h.encode(&mut w);
        w.bytes(&[9, 0, 0, 0, 0, 0, 0, 0, 0]);
        crate::smb2::framing::frame(w.as_slice()).unwrap()
    }

    /// A scripted peer: interim STATUS_PENDING responses, then (optionally) a final one.
    async fn pending_peer(interims: usize, final_too: bool) -> Result<Response, TransportError> {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            for _ in 0..interims {
                s.write_all(&interim(0)).await.unwrap();
            }
            if final_too {
                let mut f = interim(0);
                f[4 + 8..4 + 12].copy_from_slice(&0u32.to_le_bytes()); // STATUS_SUCCESS
                f[4 + 16] = 1; // SERVER_TO_REDIR, sync
                f[4 + 32..4 + 40].copy_from_slice(&[0; 8]);
                s.write_all(&f).await.unwrap();
            }
            s
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut conn =
            Connection::new(ConnectionConfig::default(), &mut crate::rng::OsRandom).unwrap();
        let out = conn.negotiate_request().unwrap();
        let cfg = TransportConfig { request_timeout: Duration::from_secs(5), ..Default::default() };
        let r = round_trip(&mut stream, &mut conn, out, TransportStep::Negotiate, &cfg).await;
        let _ = server.await;
        r
    }

    #[tokio::test]
    async fn pending_then_final_over_tcp() {
        let r = pending_peer(2, true).await.unwrap();
        assert_eq!(r.header.status, NtStatus::STATUS_SUCCESS);
        assert_eq!(r.header.message_id, 0);
    }

    #[tokio::test]
    async fn endless_interims_are_refused() {
        let e = pending_peer(MAX_INTERIMS as usize + 1, false).await.unwrap_err();
        assert!(matches!(e.smb2(), Some(Smb2Error::Protocol(_))), "{e:?}");
        assert!(e.request_sent());
    }

    #[tokio::test]
    async fn oversized_frame_is_rejected_before_allocation() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = [0u8; 512];
            let _ = s.read(&mut buf).await;
            s.write_all(&[0, 0xFF, 0xFF, 0xFF]).await.unwrap();
            s
        });
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut conn =
            Connection::new(ConnectionConfig::default(), &mut crate::rng::OsRandom).unwrap();
        let out = conn.negotiate_request().unwrap();
        let e = round_trip(
            &mut stream,
            &mut conn,
            out,
            TransportStep::Negotiate,
            &TransportConfig::default(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e.smb2(), Some(Smb2Error::FrameTooLarge { .. })), "{e}");
        let _ = server.await;
    }
}
