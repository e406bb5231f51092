//! A scripted SMB2 + DCE/RPC + SAMR server peer on a real loopback socket, for integration
//! tests of the whole client stack (`samrpc::api`, `SamrClient`, the `samrpc` binary).
//!
//! [`MockServer::start`] binds `127.0.0.1:0` and serves one connection at a time (then accepts
//! the next, so a client that reconnects is served too). It speaks just enough of the server
//! side for **anonymous** sessions, which carry no signing and no encryption, and, when the
//! script names an account ([`Script::authenticated`]), for **authenticated NTLMv2 sessions
//! with SMB signing** on every dialect the client accepts (2.1 and up): HMAC-SHA256 keyed by the session key on
//! 2.x, AES-CMAC with the SP800-108 keys on 3.0 / 3.0.2 (answering
//! FSCTL_VALIDATE_NEGOTIATE_INFO) and on 3.1.1 (keys from the session's preauth integrity
//! hash, which the peer keeps); no encryption:
//!
//! * SMB2 ([MS-SMB2] 3.3): NEGOTIATE (dialect 2.1 by default, or 3.0, 3.0.2, 3.1.1 with its
//!   preauth context; signing enabled but not required; empty security buffer), SESSION_SETUP in two legs (STATUS_MORE_PROCESSING_REQUIRED with a SPNEGO
//!   NegTokenResp carrying an NTLM CHALLENGE built with the crate's own encoders, then
//!   STATUS_SUCCESS with SessionFlags IS_NULL and an accept-completed NegTokenResp),
//!   TREE_CONNECT (a pipe share), CREATE (one FileId), IOCTL FSCTL_PIPE_TRANSCEIVE, WRITE,
//!   READ (with STATUS_BUFFER_OVERFLOW when an answer exceeds the client's buffer), CLOSE,
//!   TREE_DISCONNECT and LOGOFF.
//! * Authenticated sessions ([MS-NLMP] 3.2.5, 3.4.5; [MS-SPNG] 3.2.5.1; [MS-SMB2] 3.3.5.5.3):
//!   the CHALLENGE asks for SIGN, KEY_EXCH and 128-bit keys; the AUTHENTICATE must carry the
//!   account's NTLMv2 response (else STATUS_LOGON_FAILURE), its MIC and the client's SPNEGO
//!   mechListMIC; the peer recovers the ExportedSessionKey (RC4-decrypting the
//!   EncryptedRandomSessionKey), answers with its own mechListMIC, signs every later response,
//!   records a departure for every later request that is unsigned or badly signed (a script
//!   can play a hostile server: [`Script::server_mic`] withholds or spoils the mechListMIC,
//!   [`Script::sign_responses`] turns response signing off), and logs
//!   the session's ApplicationKey ([`Log::application_keys`]) so a test can decrypt the SAMR
//!   password-set buffers. All of it is the crate's own NTLM/SMB crypto, used from the server
//!   side ([`NtlmSealer::new_server`], `ntowfv2`, `compute_mic`, `derive_session_keys`,
//!   `smb2::signing`).
//! * SAMR directory ([`Script::directory`]): when no rule matches a call, SamrConnect5,
//!   SamrEnumerateDomainsInSamServer, SamrLookupDomainInSamServer, SamrOpenDomain,
//!   SamrLookupNamesInDomain, SamrOpenUser and SamrCloseHandle answer as a server with one
//!   account domain and one user would, so scripts reach SamrSetInformationUser2.
//! * DCE/RPC: [`MockDc`] answers the BIND (as [`Script::bind_reply`] says) and reassembles
//!   REQUEST fragments; the answer to each call comes from the first matching [`Rule`], by
//!   default a FAULT `nca_s_op_rng_error` (the server lacks the call).
//!
//! Behaviour is scripted with [`Rule`]s: a [`When`] (an SMB2 command, the RPC bind, or a SAMR
//! call by opnum) and an [`Action`] (answer normally, answer with a status, raw bytes, a bare
//! frame length, a wrong message id, close, go silent, or an RPC-level answer). The first
//! matching rule wins; a rule applies every time unless made [`Rule::once`].
//!
//! Everything the peer received is recorded in a [`Log`] (SMB2 commands, binds, complete SAMR
//! calls with their stubs, and every departure from the protocol the peer noticed in the
//! client's requests) so tests can assert on the wire, e.g. that opnum 55 was never sent.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs
)]

use samrpc::auth::ntlm::authenticate::MIC_OFFSET;
use samrpc::auth::ntlm::crypto::{compute_mic, hmac_md5, nt_proof_str, ntowfv2};
use samrpc::auth::ntlm::rc4::Rc4;
use samrpc::auth::ntlm::{Authenticate, AvId, AvPairs, Challenge, NtlmSealer, flags as ntlm_flags};
use samrpc::auth::spnego::{NegState, NegTokenResp, OID_NTLMSSP, SpnegoToken, decode_spnego};
use samrpc::dcerpc::header::{Header as RpcHeader, PacketType, PfcFlags};
use samrpc::dcerpc::testing::{BindReply, CallReply, MockDc, ReceivedCall};
use samrpc::ndr::{ContextHandle, RpcSid, RpcUnicodeString, Stub};
use samrpc::samr::{
    Call, EnumerationBuffer, HandleResponse, RevisionInfoV1, RidEnumeration, SamrCloseHandle,
    SamrConnect5, SamrConnect5Response, SamrEnumerateDomainsInSamServer,
    SamrEnumerateDomainsInSamServerResponse, SamrLookupDomainInSamServer,
    SamrLookupDomainInSamServerResponse, SamrLookupNamesInDomain, SamrLookupNamesInDomainResponse,
    SamrOpenDomain, SamrOpenUser, StatusResponse, UlongArray,
};
use samrpc::secret::{Key16, NtHash, Password, SessionKey, ct_eq};
use samrpc::smb2::header::{FLAG_ASYNC_COMMAND, FLAG_SERVER_TO_REDIR, Header};
use samrpc::smb2::keys::{PreauthHash, default_signing, derive_session_keys};
use samrpc::smb2::{Command, Dialect, HEADER_LEN, SigningAlgorithm, signing};
use samrpc::status::{NtStatus, RpcFault};
use samrpc::wire::{Reader, Writer};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// FSCTL_PIPE_TRANSCEIVE ([MS-FSCC] 2.3.49).
pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;
/// FSCTL_VALIDATE_NEGOTIATE_INFO ([MS-SMB2] 2.2.31).
pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;
/// SessionFlags: null session ([MS-SMB2] 2.2.6).
pub const SESSION_FLAG_IS_NULL: u16 = 0x0002;
/// The FileId the peer hands out for the pipe.
pub const PIPE_FILE_ID: (u64, u64) = (0x0000_0000_0000_0011, 0x0000_0000_0000_0022);
/// The SessionId the peer hands out.
pub const SESSION_ID: u64 = 0x0000_1000_0000_0041;
/// The TreeId the peer hands out.
pub const TREE_ID: u32 = 0x0000_0005;
/// Credits granted in every response.
pub const CREDITS_GRANTED: u16 = 32;
/// The largest message the peer reads from the client.
const MAX_REQUEST: usize = 1 << 20;
/// The ServerChallenge of every CHALLENGE the peer sends.
pub const SERVER_CHALLENGE: [u8; 8] = [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF];

/// The account an authenticated script accepts ([`Script::authenticated`]).
#[derive(Clone)]
pub struct Account {
    /// The user name (matched case-insensitively, as Windows does).
    pub user: String,
    /// Its password.
    pub password: String,
}

impl core::fmt::Debug for Account {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Account").field("user", &self.user).finish_non_exhaustive()
    }
}

/// The server's mechListMIC in an authenticated logon's final SPNEGO token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerMic {
    /// The correct one.
    Correct,
    /// None (what a downgraded or relayed exchange looks like).
    Missing,
    /// Sixteen wrong bytes.
    Wrong,
}

/// The SAM database the peer's default SAMR answers describe ([`Script::directory`]).
#[derive(Clone, Debug)]
pub struct Directory {
    /// The account domain's name (listed with `Builtin`).
    pub domain: String,
    /// The one user the domain holds.
    pub user: String,
    /// Its RID.
    pub rid: u32,
}

/// The domain SID of the [`Directory`]: S-1-5-21-1-2-3.
pub fn directory_sid() -> RpcSid {
    RpcSid {
        revision: 1,
        identifier_authority: [0, 0, 0, 0, 0, 5],
        sub_authorities: vec![21, 1, 2, 3],
    }
}
/// The server handle the directory hands out.
pub const SERVER_HANDLE: ContextHandle = ContextHandle([0x51; 20]);
/// The domain handle the directory hands out.
pub const DOMAIN_HANDLE: ContextHandle = ContextHandle([0xD0; 20]);
/// The user handle the directory hands out.
pub const USER_HANDLE: ContextHandle = ContextHandle([0x0E; 20]);

/// What a rule reacts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum When {
    /// Any request with this SMB2 command.
    Smb(Command),
    /// A pipe write (IOCTL or WRITE) carrying a DCE/RPC BIND.
    Bind,
    /// The request (IOCTL or WRITE) carrying the last fragment of a SAMR call with this opnum.
    Call(u16),
}

/// A closure computing the RPC answer to a call from what was received.
pub type CallHandler = Arc<dyn Fn(&ReceivedCall) -> CallReply + Send + Sync>;

/// What the peer does when a rule matches.
#[derive(Clone)]
pub enum Action {
    /// The protocol-correct answer (the default for everything).
    Reply,
    /// Answer the SMB2 request with this status and an SMB2 ERROR body. On a pipe write the
    /// PDU is not processed (the FSCTL or WRITE failed).
    Status(NtStatus),
    /// Write these bytes to the socket as they are (no frame header), then keep serving.
    Raw(Vec<u8>),
    /// Write one frame carrying these bytes, then keep serving.
    RawFrame(Vec<u8>),
    /// Write a frame header announcing this many bytes, then nothing (the socket stays open).
    FrameLengthOnly(u32),
    /// The normal answer, but with a MessageId the client never used.
    WrongMessageId,
    /// Close the connection without answering (the request was received: for a call, the
    /// call is recorded first).
    Close,
    /// Never answer; keep the connection open until the client gives up.
    Silent,
    /// Answer with this status and this body (the request's header turned around; a pipe
    /// write is received, a call recorded, its normal answer dropped).
    Respond(NtStatus, Vec<u8>),
    /// Answer the normal answer after this delay.
    Delay(Duration),
    /// Send an interim STATUS_PENDING (async) response at this interval, forever, and never
    /// the final one (the request is received, a call recorded).
    PendingForever(Duration),
    /// (SAMR calls) the RPC answer.
    Rpc(CallReply),
    /// (SAMR calls) a RESPONSE whose stub is only this NTSTATUS (opnums 55, 73, …).
    SamrStatus(NtStatus),
    /// (SAMR calls) the RPC answer computed from the received call.
    Handler(CallHandler),
}

impl core::fmt::Debug for Action {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Reply => f.write_str("Reply"),
            Self::Status(s) => write!(f, "Status({s:?})"),
            Self::Raw(b) => write!(f, "Raw({} bytes)", b.len()),
            Self::RawFrame(b) => write!(f, "RawFrame({} bytes)", b.len()),
            Self::FrameLengthOnly(n) => write!(f, "FrameLengthOnly({n})"),
            Self::WrongMessageId => f.write_str("WrongMessageId"),
            Self::Close => f.write_str("Close"),
            Self::Silent => f.write_str("Silent"),
            Self::Respond(s, b) => write!(f, "Respond({s:?}, {} bytes)", b.len()),
            Self::Delay(d) => write!(f, "Delay({d:?})"),
            Self::PendingForever(d) => write!(f, "PendingForever({d:?})"),
            Self::Rpc(r) => write!(f, "Rpc({r:?})"),
            Self::SamrStatus(s) => write!(f, "SamrStatus({s:?})"),
            Self::Handler(_) => f.write_str("Handler(..)"),
        }
    }
}

/// One scripted behaviour.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The trigger.
    pub when: When,
    /// The behaviour.
    pub action: Action,
    /// How many more times it may fire (`None`: always).
    pub remaining: Option<usize>,
}

impl Rule {
    /// A rule that fires every time.
    pub fn new(when: When, action: Action) -> Self {
        Self { when, action, remaining: None }
    }
    /// Fire only once.
    pub fn once(mut self) -> Self {
        self.remaining = Some(1);
        self
    }
}

/// The peer's configuration and rules.
#[derive(Clone, Debug)]
pub struct Script {
    /// The dialect chosen in NEGOTIATE (default 2.1; 3.0, 3.0.2 and 3.1.1 work too, and any
    /// value is sent as is).
    pub dialect: Dialect,
    /// MaxTransactSize / MaxReadSize / MaxWriteSize announced.
    pub max_transact: u32,
    /// The answer to DCE/RPC BINDs.
    pub bind_reply: BindReply,
    /// Credits granted in every response.
    pub credits: u16,
    /// SessionFlags of the final SESSION_SETUP response (IS_NULL by default).
    pub session_flags: u16,
    /// ShareFlags of the TREE_CONNECT response (0 by default; 0x8000 = ENCRYPT_DATA).
    pub share_flags: u32,
    /// The account authenticated logons must prove (`None`: only anonymous logons are
    /// served, as before).
    pub account: Option<Account>,
    /// Default answers for the SAMR calls on the way to a user handle (`None`: unscripted
    /// calls fault with `nca_s_op_rng_error`).
    pub directory: Option<Directory>,
    /// (Authenticated sessions) the server's mechListMIC in the final SPNEGO token.
    pub server_mic: ServerMic,
    /// (Authenticated sessions) sign the responses (default `true`; `false` plays a server
    /// or a relay that does not).
    pub sign_responses: bool,
    /// The rules, first match wins.
    pub rules: Vec<Rule>,
}

impl Default for Script {
    fn default() -> Self {
        Self {
            dialect: Dialect::SMB210,
            max_transact: 65536,
            bind_reply: BindReply::Accept { max_xmit_frag: 4280, max_recv_frag: 4280, features: 0 },
            credits: CREDITS_GRANTED,
            session_flags: SESSION_FLAG_IS_NULL,
            share_flags: 0,
            account: None,
            directory: None,
            server_mic: ServerMic::Correct,
            sign_responses: true,
            rules: Vec::new(),
        }
    }
}

impl Script {
    /// The default script: every step answered correctly, every SAMR call faulted with
    /// `nca_s_op_rng_error`.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add a rule that fires every time.
    pub fn on(mut self, when: When, action: Action) -> Self {
        self.rules.push(Rule::new(when, action));
        self
    }
    /// Add a rule that fires once.
    pub fn once(mut self, when: When, action: Action) -> Self {
        self.rules.push(Rule::new(when, action).once());
        self
    }
    /// Answer SAMR calls with `opnum` by `action`.
    pub fn call(self, opnum: u16, action: Action) -> Self {
        self.on(When::Call(opnum), action)
    }
    /// Serve authenticated NTLMv2 logons of `user` with `password` (signed sessions, on any
    /// of the peer's dialects). Anonymous logons are still served, as null sessions.
    pub fn authenticated(mut self, user: &str, password: &str) -> Self {
        self.account = Some(Account { user: user.to_owned(), password: password.to_owned() });
        self
    }
    /// Answer the calls on the way to a user handle (see [`Directory`]) as a server whose
    /// account domain `domain` holds `user` with RID `rid`; rules still take precedence.
    pub fn directory(mut self, domain: &str, user: &str, rid: u32) -> Self {
        self.directory = Some(Directory { domain: domain.to_owned(), user: user.to_owned(), rid });
        self
    }

    fn take(&mut self, when: &When) -> Action {
        for r in &mut self.rules {
            if &r.when == when && r.remaining != Some(0) {
                if let Some(n) = r.remaining.as_mut() {
                    *n -= 1;
                }
                return r.action.clone();
            }
        }
        Action::Reply
    }
}

/// An SMB2 request the peer received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmbRequest {
    /// Connection number (0-based).
    pub connection: usize,
    /// The command.
    pub command: Command,
    /// Its MessageId.
    pub message_id: u64,
    /// When the peer had read it.
    pub at: Instant,
}

/// Everything the peer saw.
#[derive(Clone, Debug, Default)]
pub struct Log {
    /// Connections accepted.
    pub connections: usize,
    /// SMB2 requests, in order.
    pub requests: Vec<SmbRequest>,
    /// DCE/RPC BINDs received.
    pub binds: usize,
    /// Complete SAMR calls (opnum, reassembled stub, fragments), in order.
    pub calls: Vec<ReceivedCall>,
    /// The opnum of every REQUEST fragment received, complete call or not.
    pub fragment_opnums: Vec<u16>,
    /// Whether each session setup was anonymous (empty user, ANONYMOUS flag), per connection.
    pub anonymous_logons: Vec<bool>,
    /// The user names of the authenticated logons the peer accepted, in order.
    pub authenticated_logons: Vec<String>,
    /// Authenticated logons refused with STATUS_LOGON_FAILURE (unknown user, wrong
    /// password).
    pub logon_failures: usize,
    /// The ApplicationKey of each accepted authenticated session, in order (on 2.x the
    /// session key: the key of the SAMR password-set levels 23, 24, 25, 26, 31, 32).
    pub application_keys: Vec<SessionKey>,
    /// Requests received signed and verified on authenticated sessions.
    pub verified_requests: usize,
    /// FSCTL_VALIDATE_NEGOTIATE_INFO requests received.
    pub validate_negotiates: usize,
    /// Protocol departures noticed in the client's requests (empty for a correct client).
    pub errors: Vec<String>,
}

impl Log {
    /// The opnums of the calls received, in order.
    pub fn opnums(&self) -> Vec<u16> {
        self.calls.iter().map(|c| c.opnum).collect()
    }
    /// Whether any REQUEST fragment (even of an incomplete call) carried `opnum`.
    pub fn saw_opnum(&self, opnum: u16) -> bool {
        self.fragment_opnums.contains(&opnum)
    }
    /// The SMB2 commands received, in order.
    pub fn commands(&self) -> Vec<Command> {
        self.requests.iter().map(|r| r.command).collect()
    }
    /// When the last SMB2 request was read.
    pub fn last_request_at(&self) -> Option<Instant> {
        self.requests.last().map(|r| r.at)
    }
    /// The first call with `opnum`.
    pub fn call(&self, opnum: u16) -> Option<&ReceivedCall> {
        self.calls.iter().find(|c| c.opnum == opnum)
    }
}

/// The running peer. Dropping it stops the accept loop.
pub struct MockServer {
    port: u16,
    log: Arc<Mutex<Log>>,
    task: JoinHandle<()>,
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl MockServer {
    /// Bind 127.0.0.1:0 and serve `script`.
    pub async fn start(script: Script) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let log = Arc::new(Mutex::new(Log::default()));
        let task = tokio::spawn(accept_loop(listener, script, Arc::clone(&log)));
        Self { port, log, task }
    }

    /// The TCP port to give the client.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A snapshot of what was received so far.
    pub fn log(&self) -> Log {
        self.log.lock().unwrap().clone()
    }

    /// The log once the client's session has ended (LOGOFF read, or the connection gone),
    /// waiting at most 5 s: the client sends CLOSE + TREE_DISCONNECT + LOGOFF without waiting
    /// for the answers, so the peer may still be reading them when the call returns.
    pub async fn log_after_logoff(&self) -> Log {
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let log = self.log();
            if log.commands().last() == Some(&Command::LOGOFF) || Instant::now() > deadline {
                return log;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

async fn accept_loop(listener: TcpListener, script: Script, log: Arc<Mutex<Log>>) {
    let script = Arc::new(Mutex::new(script));
    loop {
        let Ok((stream, _)) = listener.accept().await else { return };
        let _ = stream.set_nodelay(true);
        let n = {
            let mut l = log.lock().unwrap();
            l.connections += 1;
            l.connections - 1
        };
        let mut conn = Conn::new(stream, n, Arc::clone(&script), Arc::clone(&log));
        conn.serve().await;
    }
}

/// What to do after handling one request.
enum Flow {
    Continue,
    Stop,
}

struct Conn {
    stream: TcpStream,
    index: usize,
    script: Arc<Mutex<Script>>,
    log: Arc<Mutex<Log>>,
    dc: MockDc,
    session_legs: usize,
    /// RPC answer bytes not yet handed to the client (read with READ).
    pending: Vec<u8>,
    /// The NTLM NEGOTIATE of this connection's logon (for the AUTHENTICATE's MIC).
    ntlm_negotiate: Vec<u8>,
    /// The DER mechTypes of the client's NegTokenInit (the mechListMIC covers them).
    mech_types: Vec<u8>,
    /// The NTLM CHALLENGE sent.
    ntlm_challenge: Vec<u8>,
    /// The signing algorithm and key of an accepted authenticated session.
    signing: Option<(SigningAlgorithm, Key16)>,
    /// 3.1.1: Connection.PreauthIntegrityHashValue ([MS-SMB2] 3.3.5.4).
    preauth: PreauthHash,
    /// 3.1.1: the session's PreauthIntegrityHashValue ([MS-SMB2] 3.3.5.5).
    session_preauth: PreauthHash,
}

impl Conn {
    fn new(
        stream: TcpStream,
        index: usize,
        script: Arc<Mutex<Script>>,
        log: Arc<Mutex<Log>>,
    ) -> Self {
        let bind_reply = script.lock().unwrap().bind_reply.clone();
        Self {
            stream,
            index,
            script,
            log,
            dc: MockDc::with_bind_reply(bind_reply),
            session_legs: 0,
            pending: Vec::new(),
            ntlm_negotiate: Vec::new(),
            mech_types: Vec::new(),
            ntlm_challenge: challenge_message(),
            signing: None,
            preauth: PreauthHash::default(),
            session_preauth: PreauthHash::default(),
        }
    }

    fn error(&self, e: impl Into<String>) {
        let e = e.into();
        if std::env::var_os("MOCK_DEBUG").is_some() {
            eprintln!("mock: connection {}: {e}", self.index);
        }
        self.log.lock().unwrap().errors.push(format!("connection {}: {e}", self.index));
    }

    fn rule(&self, when: &When) -> Action {
        self.script.lock().unwrap().take(when)
    }

    /// A response to `req` granting the scripted credits.
    fn resp(&self, req: &Header, status: NtStatus, body: &[u8]) -> Vec<u8> {
        let credits = self.script_value(|s| s.credits);
        response(req, status, body, credits)
    }

    fn script_value<T>(&self, f: impl FnOnce(&Script) -> T) -> T {
        f(&self.script.lock().unwrap())
    }

    async fn serve(&mut self) {
        loop {
            let msg = match self.read_message().await {
                Some(m) => m,
                None => return,
            };
            // A compound chain ([MS-SMB2] 3.3.5.2.7): log every message as received, then
            // handle each in turn, answering each in its own frame (a server may answer a
            // chain chained or one by one).
            let mut parts = Vec::new();
            let mut rest = &msg[..];
            loop {
                let next = Header::decode(rest).map_or(0, |h| h.next_command as usize);
                let (this, tail) = if next != 0 && next < rest.len() {
                    rest.split_at(next)
                } else {
                    (rest, &[][..])
                };
                parts.push(this);
                if tail.is_empty() {
                    break;
                }
                rest = tail;
            }
            for part in &parts {
                if let Ok(req) = Header::decode(part) {
                    self.log.lock().unwrap().requests.push(SmbRequest {
                        connection: self.index,
                        command: req.command,
                        message_id: req.message_id,
                        at: Instant::now(),
                    });
                }
            }
            for part in parts {
                if let Flow::Stop = self.handle(part).await {
                    return;
                }
            }
        }
    }

    /// One framed message from the client, or `None` at EOF or on a framing error.
    async fn read_message(&mut self) -> Option<Vec<u8>> {
        let mut hdr = [0u8; 4];
        self.stream.read_exact(&mut hdr).await.ok()?;
        let len = usize::from(hdr[1]) << 16 | usize::from(hdr[2]) << 8 | usize::from(hdr[3]);
        if hdr[0] != 0 || len == 0 || len > MAX_REQUEST {
            self.error(format!("bad frame header {hdr:02x?}"));
            return None;
        }
        let mut buf = vec![0u8; len];
        self.stream.read_exact(&mut buf).await.ok()?;
        Some(buf)
    }

    async fn send_frame(&mut self, msg: &[u8]) -> bool {
        // On a signed session every SMB2 response is signed ([MS-SMB2] 3.3.4.1.1); raw bytes
        // that are no response header go out as they are.
        let mut signed;
        let mut msg = msg;
        let sign = self.script_value(|s| s.sign_responses);
        if let (Some((alg, key)), true) = (&self.signing, sign) {
            if msg.len() >= HEADER_LEN
                && msg.starts_with(b"\xFESMB")
                && Header::decode(msg).is_ok_and(|h| h.is_response())
            {
                signed = msg.to_vec();
                signing::sign(&mut signed, *alg, key).expect("sign a response");
                msg = &signed;
            }
        }
        let len = msg.len() as u32;
        let mut v = Vec::with_capacity(4 + msg.len());
        v.extend_from_slice(&[0, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
        v.extend_from_slice(msg);
        self.stream.write_all(&v).await.is_ok()
    }

    async fn handle(&mut self, msg: &[u8]) -> Flow {
        let req = match Header::decode(msg) {
            Ok(h) => h,
            Err(e) => {
                self.error(format!("undecodable SMB2 header: {e}"));
                return Flow::Stop;
            }
        };
        if req.is_response() || req.flags & FLAG_ASYNC_COMMAND != 0 {
            self.error(format!("unexpected header flags {:#x}", req.flags));
        }
        let body = &msg[HEADER_LEN.min(msg.len())..];
        if let Some((alg, key)) = &self.signing {
            if signing::verify(msg, *alg, key) {
                self.log.lock().unwrap().verified_requests += 1;
            } else {
                let what = if req.is_signed() { "badly signed" } else { "unsigned" };
                self.error(format!("{what} {} request on a signed session", req.command));
            }
        }

        // 3.1.1 preauth integrity: NEGOTIATE and every SESSION_SETUP request are hashed as
        // received ([MS-SMB2] 3.3.5.4, 3.3.5.5).
        if self.script_value(|s| s.dialect) == Dialect::SMB311 {
            match req.command {
                Command::NEGOTIATE => self.preauth.update(msg),
                Command::SESSION_SETUP => {
                    if self.session_legs == 0 {
                        self.session_preauth = self.preauth.clone();
                    }
                    self.session_preauth.update(msg);
                }
                _ => {}
            }
        }
        // 3.0 / 3.0.2: FSCTL_VALIDATE_NEGOTIATE_INFO on an authenticated session.
        if req.command == Command::IOCTL
            && ioctl_ctl_code(msg) == Some(FSCTL_VALIDATE_NEGOTIATE_INFO)
        {
            return self.validate_negotiate(&req).await;
        }

        // Pipe writes: find out whether they carry a BIND or a call's last fragment, so that
        // rules on those can fire.
        let pipe_data = match req.command {
            Command::IOCTL => match parse_ioctl(msg) {
                Ok(i) => Some(i.input),
                Err(e) => {
                    self.error(format!("bad IOCTL request: {e}"));
                    return Flow::Stop;
                }
            },
            Command::WRITE => match parse_write(msg) {
                Ok(d) => Some(d),
                Err(e) => {
                    self.error(format!("bad WRITE request: {e}"));
                    return Flow::Stop;
                }
            },
            _ => None,
        };
        let rpc_when = pipe_data.as_deref().and_then(rpc_trigger);

        let mut action = self.rule(&When::Smb(req.command));
        if matches!(action, Action::Reply) {
            if let Some(w) = &rpc_when {
                action = self.rule(w);
            }
        }
        let mut call_action = None;
        match action {
            Action::Reply => {}
            Action::Delay(d) => tokio::time::sleep(d).await,
            Action::Status(status) => {
                let resp = self.resp(&req, status, &error_body());
                return flow(self.send_frame(&resp).await);
            }
            Action::Raw(bytes) => {
                self.receive_only(pipe_data.as_deref());
                let ok = self.stream.write_all(&bytes).await.is_ok();
                return flow(ok);
            }
            Action::RawFrame(bytes) => {
                self.receive_only(pipe_data.as_deref());
                return flow(self.send_frame(&bytes).await);
            }
            Action::FrameLengthOnly(n) => {
                self.receive_only(pipe_data.as_deref());
                let hdr = [0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
                let _ = self.stream.write_all(&hdr).await;
                return flow(true);
            }
            Action::Close => {
                self.receive_only(pipe_data.as_deref());
                let _ = self.stream.shutdown().await;
                return Flow::Stop;
            }
            Action::Silent => {
                self.receive_only(pipe_data.as_deref());
                return Flow::Continue;
            }
            Action::Respond(status, body) => {
                self.receive_only(pipe_data.as_deref());
                let resp = self.resp(&req, status, &body);
                return flow(self.send_frame(&resp).await);
            }
            Action::PendingForever(every) => {
                self.receive_only(pipe_data.as_deref());
                let credits = self.script_value(|s| s.credits);
                let mut interim = response(&req, NtStatus::STATUS_PENDING, &error_body(), credits);
                // The async header form: FLAGS |= ASYNC_COMMAND; AsyncId replaces
                // ProcessId/TreeId ([MS-SMB2] 2.2.1.1).
                interim[16..20]
                    .copy_from_slice(&(FLAG_SERVER_TO_REDIR | FLAG_ASYNC_COMMAND).to_le_bytes());
                interim[32..40].copy_from_slice(&0x0000_0000_0000_0777u64.to_le_bytes());
                while self.send_frame(&interim).await {
                    tokio::time::sleep(every).await;
                }
                return Flow::Stop;
            }
            Action::WrongMessageId => {
                let mut resp = self.answer(&req, body, pipe_data.as_deref(), None);
                // MessageId sits at offset 24 of the header.
                let bogus = req.message_id.wrapping_add(1000).to_le_bytes();
                resp[24..32].copy_from_slice(&bogus);
                return flow(self.send_frame(&resp).await);
            }
            a @ (Action::Rpc(_) | Action::SamrStatus(_) | Action::Handler(_)) => {
                call_action = Some(a);
            }
        }
        let resp = self.answer(&req, body, pipe_data.as_deref(), call_action);
        flow(self.send_frame(&resp).await)
    }

    /// The protocol-correct response message for `req`.
    fn answer(
        &mut self,
        req: &Header,
        body: &[u8],
        pipe_data: Option<&[u8]>,
        call_action: Option<Action>,
    ) -> Vec<u8> {
        let ok = NtStatus::STATUS_SUCCESS;
        match req.command {
            Command::NEGOTIATE => {
                let (dialect, max) = self.script_value(|s| (s.dialect, s.max_transact));
                if !negotiate_offers(body, dialect) {
                    self.error(format!("NEGOTIATE does not offer {dialect}"));
                }
                let r = self.resp(req, ok, &negotiate_body(dialect, max));
                if dialect == Dialect::SMB311 {
                    self.preauth.update(&r);
                }
                r
            }
            Command::SESSION_SETUP => {
                self.session_legs += 1;
                let token = session_setup_token(body);
                if self.session_legs == 1 {
                    match token.as_deref().map(decode_spnego) {
                        Some(Ok(SpnegoToken::Init(i))) if i.offers_ntlm() => {
                            self.mech_types = i.mech_types_der();
                            self.ntlm_negotiate = i.mech_token.clone().unwrap_or_default();
                        }
                        _ => self.error("first SESSION_SETUP token is not a SPNEGO NegTokenInit"),
                    }
                    let mut r = self.resp(
                        req,
                        NtStatus::STATUS_MORE_PROCESSING_REQUIRED,
                        &session_setup_body(0, &wrap_challenge(&self.ntlm_challenge)),
                    );
                    set_session_id(&mut r, SESSION_ID);
                    if self.script_value(|s| s.dialect) == Dialect::SMB311 {
                        self.session_preauth.update(&r);
                    }
                    r
                } else {
                    let anonymous = token.as_deref().is_some_and(is_anonymous_authenticate);
                    let account = self.script_value(|s| s.account.clone());
                    if let (Some(account), false) = (account, anonymous) {
                        return self.authenticated_logon(req, &account, token.as_deref());
                    }
                    if !anonymous {
                        self.error("the AUTHENTICATE message is not anonymous");
                    }
                    self.log.lock().unwrap().anonymous_logons.push(anonymous);
                    let done = NegTokenResp {
                        neg_state: Some(NegState::AcceptCompleted),
                        ..Default::default()
                    }
                    .encode();
                    let mut r = self.resp(
                        req,
                        ok,
                        &session_setup_body(self.script_value(|s| s.session_flags), &done),
                    );
                    set_session_id(&mut r, SESSION_ID);
                    r
                }
            }
            Command::TREE_CONNECT => {
                let mut w = Writer::new();
                // StructureSize 16, ShareType pipe, Reserved, ShareFlags, Capabilities,
                // MaximalAccess ([MS-SMB2] 2.2.10).
                let share_flags = self.script_value(|s| s.share_flags);
                w.u16(16).u8(0x02).u8(0).u32(share_flags).u32(0).u32(0x001F_01FF);
                let mut r = self.resp(req, ok, w.as_slice());
                set_tree_id(&mut r, TREE_ID);
                r
            }
            Command::CREATE => self.resp(req, ok, &create_body()),
            Command::IOCTL => {
                let max_out = parse_ioctl(&self_msg(req, body)).map(|i| i.max_output).unwrap_or(0);
                let out = match pipe_data {
                    Some(d) => self.pipe_input(d, call_action),
                    None => None,
                };
                let Some(out) = out else {
                    self.error("IOCTL transceive produced no answer");
                    return self.resp(req, NtStatus::STATUS_PIPE_BROKEN, &error_body());
                };
                let n = out.len().min(max_out as usize);
                let (now, rest) = out.split_at(n);
                self.pending = rest.to_vec();
                let status = if rest.is_empty() { ok } else { NtStatus::STATUS_BUFFER_OVERFLOW };
                self.resp(req, status, &ioctl_body(now))
            }
            Command::WRITE => {
                let d = pipe_data.unwrap_or_default();
                if let Some(out) = self.pipe_input(d, call_action) {
                    self.pending.extend_from_slice(&out);
                }
                let mut w = Writer::new();
                // StructureSize 17, Reserved, Count, Remaining, WriteChannelInfo offset/length.
                w.u16(17).u16(0).u32(d.len() as u32).u32(0).u16(0).u16(0);
                self.resp(req, ok, w.as_slice())
            }
            Command::READ => {
                let len = read_length(body).unwrap_or(0) as usize;
                if self.pending.is_empty() {
                    self.error("READ with nothing to read");
                    return self.resp(req, NtStatus::STATUS_PIPE_BROKEN, &error_body());
                }
                let n = len.min(self.pending.len());
                let now: Vec<u8> = self.pending.drain(..n).collect();
                let status =
                    if self.pending.is_empty() { ok } else { NtStatus::STATUS_BUFFER_OVERFLOW };
                self.resp(req, status, &read_body(&now))
            }
            Command::CLOSE => {
                let mut w = Writer::new();
                w.u16(60).u16(0).zeros(56);
                self.resp(req, ok, w.as_slice())
            }
            Command::TREE_DISCONNECT | Command::LOGOFF => {
                let mut w = Writer::new();
                w.u16(4).u16(0);
                self.resp(req, ok, w.as_slice())
            }
            other => {
                self.error(format!("unexpected command {other}"));
                self.resp(req, NtStatus::STATUS_NOT_SUPPORTED, &error_body())
            }
        }
    }

    /// The second SESSION_SETUP leg of an authenticated logon: verify the AUTHENTICATE and
    /// the client's mechListMIC, answer with the server's, and turn signing on.
    fn authenticated_logon(
        &mut self,
        req: &Header,
        account: &Account,
        token: Option<&[u8]>,
    ) -> Vec<u8> {
        let verified = verify_authenticate(
            account,
            token.unwrap_or_default(),
            &self.ntlm_negotiate,
            &self.ntlm_challenge,
            &self.mech_types,
        );
        let (user, exported, server_mic) = match verified {
            Ok(v) => v,
            Err(Refusal::Credentials(why)) => {
                if std::env::var_os("MOCK_DEBUG").is_some() {
                    eprintln!("mock: connection {}: logon refused: {why}", self.index);
                }
                self.log.lock().unwrap().logon_failures += 1;
                let mut r = self.resp(req, NtStatus::STATUS_LOGON_FAILURE, &error_body());
                set_session_id(&mut r, SESSION_ID);
                return r;
            }
            Err(Refusal::Protocol(why)) => {
                self.error(why);
                let mut r = self.resp(req, NtStatus::STATUS_INVALID_PARAMETER, &error_body());
                set_session_id(&mut r, SESSION_ID);
                return r;
            }
        };
        let dialect = self.script_value(|s| s.dialect);
        // Session.SessionKey = the NTLM ExportedSessionKey; 2.x signs with it, 3.x derives the
        // signing and application keys from it, 3.1.1 with the session's preauth hash as the
        // context ([MS-SMB2] 3.3.5.5.3). No cipher is negotiated.
        let preauth = (dialect == Dialect::SMB311).then_some(&self.session_preauth);
        let keys = derive_session_keys(&exported, dialect, preauth, None);
        {
            let mut l = self.log.lock().unwrap();
            l.anonymous_logons.push(false);
            l.authenticated_logons.push(user);
            l.application_keys.push(keys.application.clone());
        }
        let mech_list_mic = match self.script_value(|s| s.server_mic) {
            ServerMic::Correct => Some(server_mic.to_vec()),
            ServerMic::Missing => None,
            ServerMic::Wrong => Some({
                let mut m = server_mic.to_vec();
                m[8] ^= 0x01;
                m
            }),
        };
        let done = NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            mech_list_mic,
            ..Default::default()
        }
        .encode();
        let mut r = self.resp(req, NtStatus::STATUS_SUCCESS, &session_setup_body(0, &done));
        set_session_id(&mut r, SESSION_ID);
        // Signed by `send_frame` from here on, this final response included; requests are
        // checked either way.
        self.signing = Some((default_signing(dialect), keys.signing));
        r
    }

    /// The answer to FSCTL_VALIDATE_NEGOTIATE_INFO ([MS-SMB2] 3.3.5.15.12): what the NEGOTIATE
    /// response said (a mismatch is the client's to detect), signed like every response.
    async fn validate_negotiate(&mut self, req: &Header) -> Flow {
        self.log.lock().unwrap().validate_negotiates += 1;
        if self.signing.is_none() {
            self.error("VALIDATE_NEGOTIATE_INFO outside a signed session");
        }
        let action = self.rule(&When::Smb(Command::IOCTL));
        let dialect = self.script_value(|s| s.dialect);
        let resp = match action {
            Action::Status(status) => self.resp(req, status, &error_body()),
            _ => {
                let mut out = Writer::new();
                // Capabilities, ServerGuid, SecurityMode, Dialect ([MS-SMB2] 2.2.32.6).
                out.u32(0).bytes(&[0x5A; 16]).u16(0x0001).u16(dialect.0);
                let mut body = ioctl_body(out.as_slice());
                body[4..8].copy_from_slice(&FSCTL_VALIDATE_NEGOTIATE_INFO.to_le_bytes());
                // FileId 0xFFFF…: the request's, not the pipe's.
                body[8..24].fill(0xFF);
                self.resp(req, NtStatus::STATUS_SUCCESS, &body)
            }
        };
        flow(self.send_frame(&resp).await)
    }

    /// Take in a pipe write that will not be answered normally: the PDU is received (a
    /// BIND counted, a call recorded) but its answer is dropped.
    fn receive_only(&mut self, pipe_data: Option<&[u8]>) {
        if let Some(d) = pipe_data {
            let _ = self.pipe_input(d, Some(Action::Reply));
        }
    }

    /// Feed one DCE/RPC PDU written to the pipe; the answer bytes once a BIND or a call's
    /// last fragment is complete. `call_action` overrides the rules for the call's answer.
    fn pipe_input(&mut self, pdu: &[u8], call_action: Option<Action>) -> Option<Vec<u8>> {
        let hdr = match RpcHeader::decode(pdu) {
            Ok(h) => h,
            Err(e) => {
                self.error(format!("undecodable DCE/RPC header: {e}"));
                return None;
            }
        };
        if usize::from(hdr.frag_length) != pdu.len() {
            self.error("a pipe write is not exactly one PDU");
        }
        if hdr.ptype == PacketType::BIND {
            self.log.lock().unwrap().binds += 1;
            return match self.dc.answer_bind(pdu) {
                Ok(b) => Some(b),
                Err(e) => {
                    self.error(format!("bad BIND: {e}"));
                    None
                }
            };
        }
        if hdr.ptype != PacketType::REQUEST {
            self.error(format!("unexpected PDU type {:?}", hdr.ptype));
            return None;
        }
        if let Some(When::Call(opnum)) = rpc_trigger_any(pdu) {
            self.log.lock().unwrap().fragment_opnums.push(opnum);
        }
        let last = hdr.flags.contains(PfcFlags::LAST_FRAG);
        if last {
            // A placeholder: the real answer is chosen once the call is complete.
            self.dc.push(CallReply::Raw(Vec::new()));
        }
        match self.dc.feed(pdu) {
            Ok(None) => None,
            Ok(Some(_)) => {
                let call = self.dc.calls.last().cloned()?;
                self.log.lock().unwrap().calls.push(call.clone());
                let action = call_action.unwrap_or_else(|| self.rule(&When::Call(call.opnum)));
                let reply = match action {
                    Action::Rpc(r) => r,
                    Action::SamrStatus(status) => CallReply::Response {
                        stub: StatusResponse { status }.to_stub(),
                        fragments: 1,
                    },
                    Action::Handler(h) => h(&call),
                    Action::Reply => {
                        let dir = self.script_value(|s| s.directory.clone());
                        dir.and_then(|d| directory_answer(&d, &call))
                            .unwrap_or(CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR))
                    }
                    _ => CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR),
                };
                match MockDc::render(call.call_id, reply) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        self.error(format!("cannot render the scripted answer: {e}"));
                        None
                    }
                }
            }
            Err(e) => {
                self.error(format!("bad REQUEST fragment: {e}"));
                None
            }
        }
    }
}

fn flow(ok: bool) -> Flow {
    if ok { Flow::Continue } else { Flow::Stop }
}

/// Rebuild the whole message from header + body (for helpers that take whole messages).
fn self_msg(req: &Header, body: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    req.encode(&mut w);
    w.bytes(body);
    w.into_vec()
}

/// Which rule trigger a pipe write carries: a BIND, or the last fragment of a call.
fn rpc_trigger(pdu: &[u8]) -> Option<When> {
    let hdr = RpcHeader::decode(pdu).ok()?;
    if hdr.ptype == PacketType::REQUEST && !hdr.flags.contains(PfcFlags::LAST_FRAG) {
        return None;
    }
    rpc_trigger_any(pdu)
}

/// A BIND, or the opnum of any REQUEST fragment.
fn rpc_trigger_any(pdu: &[u8]) -> Option<When> {
    let hdr = RpcHeader::decode(pdu).ok()?;
    if hdr.ptype == PacketType::BIND {
        return Some(When::Bind);
    }
    if hdr.ptype == PacketType::REQUEST {
        // opnum: after the 16-byte header, alloc_hint (4) and p_cont_id (2).
        let mut r = Reader::new(pdu);
        r.skip(22, "REQUEST header").ok()?;
        return Some(When::Call(r.u16("opnum").ok()?));
    }
    None
}

/// A response message: the request's header turned around, then `body`.
pub fn response(req: &Header, status: NtStatus, body: &[u8], credits: u16) -> Vec<u8> {
    let h = Header {
        credit_charge: req.credit_charge,
        status,
        command: req.command,
        credits,
        flags: FLAG_SERVER_TO_REDIR,
        next_command: 0,
        message_id: req.message_id,
        async_id: None,
        process_id: req.process_id,
        tree_id: req.tree_id,
        session_id: req.session_id,
        signature: [0; 16],
    };
    let mut w = Writer::with_capacity(HEADER_LEN + body.len());
    h.encode(&mut w);
    w.bytes(body);
    w.into_vec()
}

fn set_session_id(msg: &mut [u8], id: u64) {
    msg[40..48].copy_from_slice(&id.to_le_bytes());
}

fn set_tree_id(msg: &mut [u8], id: u32) {
    msg[36..40].copy_from_slice(&id.to_le_bytes());
}

/// The SMB2 ERROR response body ([MS-SMB2] 2.2.2): StructureSize 9, no error data, the one
/// placeholder byte.
pub fn error_body() -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(9).u8(0).u8(0).u32(0).u8(0);
    w.into_vec()
}

/// NEGOTIATE response body ([MS-SMB2] 2.2.4): signing enabled (not required), no
/// capabilities, no security buffer; for 3.1.1 one PREAUTH_INTEGRITY_CAPABILITIES context
/// (SHA-512, 32-byte salt) at offset 128 ([MS-SMB2] 2.2.3.1.1), the only one the client needs.
pub fn negotiate_body(dialect: Dialect, max: u32) -> Vec<u8> {
    let is_311 = dialect == Dialect::SMB311;
    let mut w = Writer::new();
    w.u16(65)
        .u16(0x0001) // SecurityMode: SIGNING_ENABLED
        .u16(dialect.0)
        .u16(u16::from(is_311)) // NegotiateContextCount (3.1.1) / Reserved
        .bytes(&[0x5A; 16]) // ServerGuid
        .u32(0) // Capabilities
        .u32(max)
        .u32(max)
        .u32(max)
        .u64(0x01DA_0000_0000_0000) // SystemTime
        .u64(0) // ServerStartTime
        .u16(0) // SecurityBufferOffset
        .u16(0) // SecurityBufferLength
        .u32(if is_311 { (HEADER_LEN + 64) as u32 } else { 0 }); // NegotiateContextOffset
    if is_311 {
        // ContextType 1, DataLength 38, Reserved; HashAlgorithmCount 1, SaltLength 32,
        // SHA-512, salt.
        w.u16(1).u16(38).u32(0).u16(1).u16(32).u16(1).bytes(&[0xA5; 32]);
    }
    w.into_vec()
}

/// Whether the NEGOTIATE request body offers `dialect`.
fn negotiate_offers(body: &[u8], dialect: Dialect) -> bool {
    let mut r = Reader::new(body);
    let parse = |r: &mut Reader<'_>| -> Option<bool> {
        r.skip(2, "size").ok()?;
        let n = r.u16("count").ok()?;
        r.skip(32, "fixed").ok()?;
        for _ in 0..n {
            if r.u16("dialect").ok()? == dialect.0 {
                return Some(true);
            }
        }
        Some(false)
    };
    parse(&mut r).unwrap_or(false)
}

/// SESSION_SETUP response body ([MS-SMB2] 2.2.6): the token at offset 72.
pub fn session_setup_body(flags: u16, token: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(9).u16(flags).u16((HEADER_LEN + 8) as u16).u16(token.len() as u16).bytes(token);
    w.into_vec()
}

/// The security token of a SESSION_SETUP request body.
fn session_setup_token(body: &[u8]) -> Option<Vec<u8>> {
    let mut r = Reader::new(body);
    r.skip(12, "fixed").ok()?;
    let off = usize::from(r.u16("offset").ok()?);
    let len = usize::from(r.u16("length").ok()?);
    let start = off.checked_sub(HEADER_LEN)?;
    body.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
}

fn is_neg_token_init(token: &[u8]) -> bool {
    matches!(decode_spnego(token), Ok(SpnegoToken::Init(i)) if i.offers_ntlm())
}

fn is_anonymous_authenticate(token: &[u8]) -> bool {
    let Ok(SpnegoToken::Resp(r)) = decode_spnego(token) else { return false };
    let Some(t) = r.response_token else { return false };
    let Ok(a) = Authenticate::decode(&t) else { return false };
    a.user.is_empty() && a.nt_response.is_empty() && a.flags & ntlm_flags::ANONYMOUS != 0
}

/// The first-leg server token: NegTokenResp(accept-incomplete, NTLMSSP, CHALLENGE).
pub fn challenge_token() -> Vec<u8> {
    wrap_challenge(&challenge_message())
}

/// NegTokenResp(accept-incomplete, NTLMSSP, `challenge`).
fn wrap_challenge(challenge: &[u8]) -> Vec<u8> {
    NegTokenResp {
        neg_state: Some(NegState::AcceptIncomplete),
        supported_mech: Some(OID_NTLMSSP.to_vec()),
        response_token: Some(challenge.to_vec()),
        mech_list_mic: None,
    }
    .encode()
}

/// The NTLM CHALLENGE message the peer sends ([MS-NLMP] 2.2.1.2).
pub fn challenge_message() -> Vec<u8> {
    let name = utf16("MOCK");
    let mut ti = AvPairs::new();
    ti.set(AvId::NB_DOMAIN_NAME, name.clone());
    ti.set(AvId::NB_COMPUTER_NAME, utf16("MOCKSRV"));
    ti.set(AvId::DNS_DOMAIN_NAME, utf16("mock.test"));
    ti.set(AvId::DNS_COMPUTER_NAME, utf16("mocksrv.mock.test"));
    ti.set(AvId::TIMESTAMP, 0x01DA_0000_0000_0000u64.to_le_bytes().to_vec());
    let challenge = Challenge {
        target_name: name,
        flags: ntlm_flags::UNICODE
            | ntlm_flags::REQUEST_TARGET
            | ntlm_flags::NTLM
            | ntlm_flags::ALWAYS_SIGN
            | ntlm_flags::TARGET_TYPE_DOMAIN
            | ntlm_flags::EXTENDED_SESSIONSECURITY
            | ntlm_flags::TARGET_INFO
            | ntlm_flags::NEGOTIATE_128
            | ntlm_flags::NEGOTIATE_56
            // What the client requires of an authenticated exchange (a refused logon is
            // scripted after the CHALLENGE); an anonymous one ignores them.
            | ntlm_flags::SIGN
            | ntlm_flags::KEY_EXCH,
        server_challenge: SERVER_CHALLENGE,
        target_info: Some(ti),
        version: None,
    };
    challenge.encode()
}

/// Why an authenticated logon was refused.
enum Refusal {
    /// Unknown user or wrong password: STATUS_LOGON_FAILURE, not a client bug.
    Credentials(String),
    /// The client's messages break the protocol.
    Protocol(String),
}

/// The server side of an NTLMv2 logon over SPNEGO ([MS-NLMP] 3.2.5.1.2, 3.3.2, 3.4.5;
/// [MS-SPNG] 3.2.5.1): check the account's NTProofStr, recover the ExportedSessionKey, check
/// the AUTHENTICATE's MIC and the client's mechListMIC; the user name, the key and the
/// server's mechListMIC.
fn verify_authenticate(
    account: &Account,
    token: &[u8],
    negotiate: &[u8],
    challenge: &[u8],
    mech_types: &[u8],
) -> Result<(String, SessionKey, [u8; 16]), Refusal> {
    let protocol = |s: &str| Refusal::Protocol(s.to_owned());
    let Ok(SpnegoToken::Resp(r)) = decode_spnego(token) else {
        return Err(protocol("second SESSION_SETUP token is not a SPNEGO NegTokenResp"));
    };
    let auth = r.response_token.ok_or_else(|| protocol("no NTLM AUTHENTICATE"))?;
    let a = Authenticate::decode(&auth).map_err(|_| protocol("undecodable AUTHENTICATE"))?;
    let required = ntlm_flags::SIGN | ntlm_flags::KEY_EXCH | ntlm_flags::NEGOTIATE_128;
    if a.flags & required != required {
        return Err(Refusal::Protocol(format!(
            "AUTHENTICATE flags {:#x} lack SIGN/KEY_EXCH/128",
            a.flags
        )));
    }
    let user = String::from_utf16_lossy(&utf16_units(&a.user));
    let domain = String::from_utf16_lossy(&utf16_units(&a.domain));
    if !user.eq_ignore_ascii_case(&account.user) {
        return Err(Refusal::Credentials(format!("unknown user {user:?}")));
    }
    if a.nt_response.len() < 16 + 28 {
        return Err(protocol("the NtChallengeResponse is not an NTLMv2 response"));
    }
    // The response key from the names as sent ([MS-NLMP] 3.3.2: the domain as given).
    let hash = NtHash::from_password(&Password::from(account.password.as_str()));
    let key = ntowfv2(&hash, &user, &domain);
    let proof = nt_proof_str(&key, &SERVER_CHALLENGE, &a.nt_response[16..]);
    if !ct_eq(&proof, &a.nt_response[..16]) {
        return Err(Refusal::Credentials("wrong password (NTProofStr)".to_owned()));
    }
    let base = hmac_md5(key.expose(), &[&proof]);
    // KEY_EXCH: ExportedSessionKey = RC4(KeyExchangeKey = SessionBaseKey, EncryptedRandom…).
    let mut exported = [0u8; 16];
    exported.copy_from_slice(
        a.encrypted_session_key
            .get(..16)
            .ok_or_else(|| protocol("no EncryptedRandomSessionKey"))?,
    );
    Rc4::new(&base).apply(&mut exported);
    let exported = SessionKey::new(exported);
    let mic = a.mic.ok_or_else(|| protocol("the AUTHENTICATE carries no MIC"))?;
    let mut zeroed = auth.clone();
    zeroed[MIC_OFFSET..MIC_OFFSET + 16].fill(0);
    if !ct_eq(&compute_mic(&exported, negotiate, challenge, &zeroed), &mic) {
        return Err(protocol("the AUTHENTICATE's MIC is wrong"));
    }
    let client_mic = r.mech_list_mic.ok_or_else(|| protocol("no client mechListMIC"))?;
    let mut sealer = NtlmSealer::new_server(&exported, a.flags);
    if sealer.verify(mech_types, &client_mic).is_err() {
        return Err(protocol("the client's mechListMIC is wrong"));
    }
    let server_mic = sealer.sign(mech_types);
    Ok((user, exported, server_mic))
}

fn utf16_units(b: &[u8]) -> Vec<u16> {
    b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()
}

/// The directory's answer to `call`, or `None` for calls it does not know.
fn directory_answer(d: &Directory, call: &ReceivedCall) -> Option<CallReply> {
    let ok = NtStatus::STATUS_SUCCESS;
    let stub = match call.opnum {
        SamrConnect5::OPNUM => SamrConnect5Response {
            revision: RevisionInfoV1 { revision: 3, supported_features: 0 },
            handle: SERVER_HANDLE,
            status: ok,
        }
        .to_stub(),
        SamrEnumerateDomainsInSamServer::OPNUM => {
            let names = [d.domain.as_str(), "Builtin"];
            let entries = names
                .iter()
                .map(|n| RidEnumeration { relative_id: 0, name: RpcUnicodeString::new(n).unwrap() })
                .collect();
            SamrEnumerateDomainsInSamServerResponse {
                enumeration_context: 2,
                buffer: Some(EnumerationBuffer::new(entries)),
                count_returned: 2,
                status: ok,
            }
            .to_stub()
        }
        SamrLookupDomainInSamServer::OPNUM => {
            SamrLookupDomainInSamServerResponse { domain_id: Some(directory_sid()), status: ok }
                .to_stub()
        }
        SamrOpenDomain::OPNUM => HandleResponse { handle: DOMAIN_HANDLE, status: ok }.to_stub(),
        SamrLookupNamesInDomain::OPNUM => {
            let known = SamrLookupNamesInDomain::from_stub(&call.stub).ok().is_some_and(|q| {
                q.names.len() == 1 && q.names[0].to_string_lossy().eq_ignore_ascii_case(&d.user)
            });
            let (rids, uses, status) = if known {
                (vec![d.rid], vec![1], ok)
            } else {
                (vec![0], vec![8], NtStatus::STATUS_NONE_MAPPED)
            };
            SamrLookupNamesInDomainResponse {
                relative_ids: UlongArray::new(rids),
                uses: UlongArray::new(uses),
                status,
            }
            .to_stub()
        }
        SamrOpenUser::OPNUM => {
            let known =
                SamrOpenUser::from_stub(&call.stub).ok().is_some_and(|q| q.user_id == d.rid);
            if known {
                HandleResponse { handle: USER_HANDLE, status: ok }.to_stub()
            } else {
                HandleResponse {
                    handle: ContextHandle::NULL,
                    status: NtStatus::STATUS_NO_SUCH_USER,
                }
                .to_stub()
            }
        }
        SamrCloseHandle::OPNUM => {
            HandleResponse { handle: ContextHandle::NULL, status: ok }.to_stub()
        }
        _ => return None,
    };
    Some(CallReply::Response { stub, fragments: 1 })
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// CREATE response body ([MS-SMB2] 2.2.14) for the pipe: no create contexts.
pub fn create_body() -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(89)
        .u8(0) // OplockLevel
        .u8(0) // Flags
        .u32(1) // CreateAction: FILE_OPENED
        .zeros(48) // times, AllocationSize, EndofFile
        .u32(0x80) // FileAttributes: NORMAL
        .u32(0) // Reserved2
        .u64(PIPE_FILE_ID.0)
        .u64(PIPE_FILE_ID.1)
        .u32(0) // CreateContextsOffset
        .u32(0); // CreateContextsLength
    w.into_vec()
}

/// IOCTL response body ([MS-SMB2] 2.2.32) for FSCTL_PIPE_TRANSCEIVE with `output` at 112.
pub fn ioctl_body(output: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    let at = (HEADER_LEN + 48) as u32;
    w.u16(49)
        .u16(0)
        .u32(FSCTL_PIPE_TRANSCEIVE)
        .u64(PIPE_FILE_ID.0)
        .u64(PIPE_FILE_ID.1)
        .u32(at) // InputOffset
        .u32(0) // InputCount
        .u32(at) // OutputOffset
        .u32(output.len() as u32)
        .u32(0) // Flags
        .u32(0) // Reserved2
        .bytes(output);
    w.into_vec()
}

/// The CtlCode of an IOCTL request (whole message).
fn ioctl_ctl_code(msg: &[u8]) -> Option<u32> {
    let mut r = Reader::new(msg);
    r.skip(HEADER_LEN + 4, "header, StructureSize, Reserved").ok()?;
    r.u32("CtlCode").ok()
}

/// A parsed IOCTL request.
struct Ioctl {
    input: Vec<u8>,
    max_output: u32,
}

/// Parse an IOCTL request (whole message): FSCTL_PIPE_TRANSCEIVE on the pipe's FileId.
fn parse_ioctl(msg: &[u8]) -> Result<Ioctl, String> {
    let mut r = Reader::new(msg);
    let e = |e: samrpc::wire::DecodeError| e.to_string();
    r.skip(HEADER_LEN, "header").map_err(e)?;
    if r.u16("StructureSize").map_err(e)? != 57 {
        return Err("StructureSize is not 57".into());
    }
    r.skip(2, "Reserved").map_err(e)?;
    let ctl = r.u32("CtlCode").map_err(e)?;
    if ctl != FSCTL_PIPE_TRANSCEIVE {
        return Err(format!("CtlCode {ctl:#x} is not FSCTL_PIPE_TRANSCEIVE"));
    }
    let fid = (r.u64("FileId").map_err(e)?, r.u64("FileId").map_err(e)?);
    if fid != PIPE_FILE_ID && !(related(msg) && fid == RELATED_FILE_ID) {
        return Err("wrong FileId".into());
    }
    let in_off = r.u32("InputOffset").map_err(e)? as usize;
    let in_len = r.u32("InputCount").map_err(e)? as usize;
    r.skip(12, "MaxInputResponse/OutputOffset/OutputCount").map_err(e)?;
    let max_output = r.u32("MaxOutputResponse").map_err(e)?;
    let flags = r.u32("Flags").map_err(e)?;
    if flags != 1 {
        return Err("Flags lacks SMB2_0_IOCTL_IS_FSCTL".into());
    }
    let input = Reader::new(msg).slice_at(in_off, in_len, "Input").map_err(e)?.to_vec();
    Ok(Ioctl { input, max_output })
}

/// Parse a WRITE request (whole message) on the pipe's FileId; its data.
/// The FileId of a related compound request: "the file the previous request opened"
/// ([MS-SMB2] 3.2.4.1.4, 3.3.5.2.7.2).
const RELATED_FILE_ID: (u64, u64) = (u64::MAX, u64::MAX);

/// Whether the request carries SMB2_FLAGS_RELATED_OPERATIONS.
fn related(msg: &[u8]) -> bool {
    msg.get(16..20).is_some_and(|f| u32::from_le_bytes([f[0], f[1], f[2], f[3]]) & 0x4 != 0)
}

fn parse_write(msg: &[u8]) -> Result<Vec<u8>, String> {
    let mut r = Reader::new(msg);
    let e = |e: samrpc::wire::DecodeError| e.to_string();
    r.skip(HEADER_LEN, "header").map_err(e)?;
    if r.u16("StructureSize").map_err(e)? != 49 {
        return Err("StructureSize is not 49".into());
    }
    let off = usize::from(r.u16("DataOffset").map_err(e)?);
    let len = r.u32("Length").map_err(e)? as usize;
    r.skip(8, "Offset").map_err(e)?;
    let fid = (r.u64("FileId").map_err(e)?, r.u64("FileId").map_err(e)?);
    if fid != PIPE_FILE_ID && !(related(msg) && fid == RELATED_FILE_ID) {
        return Err("wrong FileId".into());
    }
    Ok(Reader::new(msg).slice_at(off, len, "Data").map_err(e)?.to_vec())
}

/// READ response body ([MS-SMB2] 2.2.20): StructureSize 17, DataOffset 80, Reserved,
/// DataLength, DataRemaining, Reserved2, then the data.
pub fn read_body(data: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(17).u8(0x50).u8(0).u32(data.len() as u32).u32(0).u32(0).bytes(data);
    w.into_vec()
}

/// The Length of a READ request body.
fn read_length(body: &[u8]) -> Option<u32> {
    let mut r = Reader::new(body);
    r.skip(4, "size/padding/flags").ok()?;
    r.u32("Length").ok()
}
