//! The pure (sans-IO) client side of a DCE/RPC association (C706 12, [MS-RPCE] 3.3.1;
//! protocol notes 4.3–4.5): bind, then calls with request fragmentation and response
//! reassembly.
//!
//! One type per phase; the bind transition consumes `self`:
//!
//! ```text
//! Association::new(config) ─► Unbound ──bind_pdu()──► (send BIND, read one PDU)
//!                              └─handle_bind_response(pdu)─► Bound
//! Bound::request(opnum, stub) ─► OutgoingCall { call_id, fragments } (send each fragment)
//! Bound::receive(call_id, bytes) ─► NeedMore (read more, feed again) | Complete(stub)
//! ```
//!
//! Invariants:
//! * Call ids come from one counter starting at 1: the BIND takes the first (1, as in the
//!   notes 4.3 example), every request takes the next one; AUTH3 reuses the BIND's.
//! * No fragment we send exceeds `min(our max_xmit_frag, server's max_recv_frag)`.
//! * A received fragment longer than our `max_recv_frag` is rejected from its header, before its
//!   body is buffered; `alloc_hint` never drives allocation beyond a small reserve, and the
//!   reassembled stub is capped by [`AssociationConfig::max_stub_len`] (4 MiB by default,
//!   Windows' request limit, notes 4.5).
//! * One call is in progress at a time (named pipes carry one call at a time).
//! * A FAULT ends its call cleanly ([`RpcError::Fault`]); the association stays usable, which
//!   the opnum 73 → 55 fallback relies on. Any other receive error leaves the byte stream in an
//!   unknown state: the association refuses further work and the connection should be closed.

use super::RpcError;
use super::auth::{AuthVerifier, NoAuth, PduAuth, VerifierParams};
use super::auth3::Auth3;
use super::bind::{Bind, ContextElem};
use super::bind_ack::{BindAck, BindResult};
use super::bind_nak::BindNak;
use super::fault::Fault;
use super::header::{HEADER_LEN, Header, PacketType, PfcFlags, SEC_TRAILER_LEN};
use super::request::{REQUEST_STUB_OFFSET, Request};
use super::response::Response;
use super::syntax::{BTFN_KEEP_CONNECTION_ON_ORPHAN, BTFN_SECURITY_CONTEXT_MULTIPLEXING};
use super::syntax::{NDR20_SYNTAX, SAMR_SYNTAX, SyntaxId};

/// The smallest fragment size any DCE/RPC peer must accept (C706 12.6.3.7,
/// `MustRecvFragSize`). Configured limits below it are raised to it; a server announcing less
/// is rejected.
pub const MIN_FRAG: u16 = 1432;
/// Default cap on a reassembled response stub and on a request stub: 4 MiB (notes 4.5).
pub const MAX_STUB_DEFAULT: usize = 4 * 1024 * 1024;
/// Default fragment sizes on ncacn_np (notes 4.5).
pub const DEFAULT_FRAG: u16 = 4280;
/// At most this much is reserved up front from a peer's `alloc_hint`.
const RESERVE_CAP: usize = 64 * 1024;

/// What to bind and how large fragments may be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssociationConfig {
    /// The interface (context id 0). Default [`SAMR_SYNTAX`].
    pub abstract_syntax: SyntaxId,
    /// The transfer syntax offered for it. Default [`NDR20_SYNTAX`].
    pub transfer_syntax: SyntaxId,
    /// Largest fragment we send (offered in the BIND). Default 4280; at least [`MIN_FRAG`].
    pub max_xmit_frag: u16,
    /// Largest fragment we accept (offered in the BIND). Default 4280; at least [`MIN_FRAG`].
    pub max_recv_frag: u16,
    /// Association group to join; 0 (the default) asks for a new one.
    pub assoc_group_id: u32,
    /// Bind-time feature bits to offer as context id 1 (notes 4.4), or `None` to skip the
    /// negotiation. Default: security context multiplexing | keep connection on orphan (0x03).
    pub bind_time_features: Option<u64>,
    /// Cap on a reassembled response stub and on a request stub. Default [`MAX_STUB_DEFAULT`].
    pub max_stub_len: usize,
}

impl Default for AssociationConfig {
    fn default() -> Self {
        Self {
            abstract_syntax: SAMR_SYNTAX,
            transfer_syntax: NDR20_SYNTAX,
            max_xmit_frag: DEFAULT_FRAG,
            max_recv_frag: DEFAULT_FRAG,
            assoc_group_id: 0,
            bind_time_features: Some(
                BTFN_SECURITY_CONTEXT_MULTIPLEXING | BTFN_KEEP_CONNECTION_ON_ORPHAN,
            ),
            max_stub_len: MAX_STUB_DEFAULT,
        }
    }
}

/// Entry point: builds the first phase of an association.
#[derive(Debug)]
pub struct Association;

impl Association {
    /// A new association without per-PDU protection ([`NoAuth`]).
    #[allow(clippy::new_ret_no_self)] // The phase types are the association; this names the start.
    pub fn new(config: AssociationConfig) -> Unbound {
        Self::with_auth(config, Box::new(NoAuth))
    }

    /// A new association whose requests and responses go through `auth`.
    pub fn with_auth(mut config: AssociationConfig, auth: Box<dyn PduAuth>) -> Unbound {
        config.max_xmit_frag = config.max_xmit_frag.max(MIN_FRAG);
        config.max_recv_frag = config.max_recv_frag.max(MIN_FRAG);
        Unbound { config, auth, call_ids: CallIds(1), bind_call_id: None, bind_auth: None }
    }
}

/// The call-id counter: 1, 2, 3, … (skipping 0 on wrap).
#[derive(Debug)]
struct CallIds(u32);

impl CallIds {
    fn next(&mut self) -> u32 {
        let id = self.0;
        self.0 = match self.0.wrapping_add(1) {
            0 => 1,
            n => n,
        };
        id
    }
}

/// Context id of the interface.
const MAIN_CONTEXT: u16 = 0;
/// Context id of the bind-time feature negotiation context.
const BTFN_CONTEXT: u16 = 1;

/// Before the bind: produces the BIND and consumes the server's answer.
pub struct Unbound {
    config: AssociationConfig,
    auth: Box<dyn PduAuth>,
    call_ids: CallIds,
    bind_call_id: Option<u32>,
    bind_auth: Option<AuthVerifier>,
}

impl core::fmt::Debug for Unbound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Unbound")
            .field("config", &self.config)
            .field("bind_call_id", &self.bind_call_id)
            .finish_non_exhaustive()
    }
}

impl Unbound {
    /// Attach a bind-time auth token (e.g. NTLM NEGOTIATE) to the BIND: the seam for
    /// three-leg authentication (BIND → BIND_ACK with [`Bound::bind_ack_auth`] → AUTH3 with
    /// [`Bound::auth3_pdu`]). Not used without RPC-level authentication.
    pub fn set_bind_auth(&mut self, verifier: Option<AuthVerifier>) {
        self.bind_auth = verifier;
    }

    /// The BIND PDU to send: the interface with its transfer syntax as context 0, plus the
    /// bind-time feature negotiation as context 1 when configured. Each call takes a new call id.
    ///
    /// Fails only if an attached auth token makes the PDU exceed 65535 bytes.
    pub fn bind_pdu(&mut self) -> Result<Vec<u8>, RpcError> {
        let mut contexts = vec![ContextElem {
            context_id: MAIN_CONTEXT,
            abstract_syntax: self.config.abstract_syntax,
            transfer_syntaxes: vec![self.config.transfer_syntax],
        }];
        if let Some(bits) = self.config.bind_time_features {
            contexts.push(ContextElem {
                context_id: BTFN_CONTEXT,
                abstract_syntax: self.config.abstract_syntax,
                transfer_syntaxes: vec![SyntaxId::bind_time_features(bits)],
            });
        }
        let call_id = self.call_ids.next();
        // With RPC-level authentication, offer header signing ([MS-RPCE] 2.2.2.3): the
        // signature then covers the whole PDU (notes 4.7).
        let flags = match self.bind_auth {
            Some(_) => PfcFlags::FIRST_LAST.with(PfcFlags::SUPPORT_HEADER_SIGN),
            None => PfcFlags::FIRST_LAST,
        };
        let bind = Bind {
            call_id,
            flags,
            max_xmit_frag: self.config.max_xmit_frag,
            max_recv_frag: self.config.max_recv_frag,
            assoc_group_id: self.config.assoc_group_id,
            contexts,
            auth: self.bind_auth.clone(),
        };
        let bytes = bind.encode()?;
        self.bind_call_id = Some(call_id);
        Ok(bytes)
    }

    /// Consume the server's answer to the BIND (one whole PDU).
    ///
    /// BIND_ACK: the interface context must be accepted with our transfer syntax
    /// ([`RpcError::ContextRejected`] otherwise), and the server's `max_recv_frag` must be at
    /// least [`MIN_FRAG`]. BIND_NAK: [`RpcError::BindRejected`]. Anything else, a wrong call id
    /// or a fragmented ack: [`RpcError::Protocol`]. Malformed bytes: [`RpcError::Decode`].
    pub fn handle_bind_response(self, pdu: &[u8]) -> Result<Bound, RpcError> {
        let header = Header::decode(pdu)?;
        let bind_call_id = self.bind_call_id.ok_or(RpcError::Protocol("no BIND was sent"))?;
        let ack = match header.ptype {
            PacketType::BIND_ACK => BindAck::decode(pdu)?,
            PacketType::BIND_NAK => {
                let nak = BindNak::decode(pdu)?;
                if nak.call_id != bind_call_id {
                    return Err(RpcError::Protocol("BIND_NAK has the wrong call id"));
                }
                return Err(RpcError::BindRejected { reason: nak.reason });
            }
            _ => return Err(RpcError::Protocol("unexpected PDU type in answer to BIND")),
        };
        if ack.call_id != bind_call_id {
            return Err(RpcError::Protocol("BIND_ACK has the wrong call id"));
        }
        if !ack.flags.contains(PfcFlags::FIRST_LAST) {
            return Err(RpcError::Protocol("fragmented BIND_ACK"));
        }
        let main = ack.results.first().ok_or(RpcError::Protocol("BIND_ACK has no results"))?;
        if main.result != BindResult::ACCEPTANCE {
            return Err(RpcError::ContextRejected { result: main.result.0, reason: main.reason });
        }
        if main.transfer_syntax != self.config.transfer_syntax {
            return Err(RpcError::Protocol("BIND_ACK accepted a transfer syntax we did not offer"));
        }
        let bind_time_features = match (self.config.bind_time_features, ack.results.get(1)) {
            (Some(offered), Some(r)) if r.result == BindResult::NEGOTIATE_ACK => {
                Some(u64::from(r.reason) & offered)
            }
            _ => None,
        };
        if ack.max_recv_frag < MIN_FRAG {
            return Err(RpcError::Protocol("server's max_recv_frag is below 1432"));
        }
        let max_xmit = self.config.max_xmit_frag.min(ack.max_recv_frag);
        let header_signing =
            self.bind_auth.is_some() && ack.flags.contains(PfcFlags::SUPPORT_HEADER_SIGN);
        Ok(Bound {
            bind_call_id,
            abstract_syntax: self.config.abstract_syntax,
            transfer_syntax: self.config.transfer_syntax,
            header_signing,
            max_xmit,
            max_recv: self.config.max_recv_frag,
            server_max_xmit: ack.max_xmit_frag,
            assoc_group_id: ack.assoc_group_id,
            bind_time_features,
            bind_ack_auth: ack.auth,
            max_stub_len: self.config.max_stub_len,
            auth: self.auth,
            call_ids: self.call_ids,
            rx: Vec::new(),
            pending: None,
            calls_made: false,
            broken: false,
        })
    }
}

/// A call whose request fragments are ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingCall {
    /// The call id; pass it to [`Bound::receive`].
    pub call_id: u32,
    /// Whole REQUEST PDUs, to be sent in order (each one pipe write / IOCTL).
    pub fragments: Vec<Vec<u8>>,
}

/// Result of feeding response bytes to [`Bound::receive`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Progress {
    /// The call is not complete: read more bytes from the pipe and feed them.
    NeedMore,
    /// The call's reassembled response stub.
    Complete(Vec<u8>),
}

/// Reassembly state of the call in progress.
#[derive(Debug)]
struct Pending {
    call_id: u32,
    stub: Vec<u8>,
    fragments: usize,
}

/// The most fragments one response may take. With the smallest fragment size any peer must
/// accept ([`MIN_FRAG`], 1432 bytes), 4096 fragments carry over 5 MiB, more than the
/// reassembly cap; an answer needing more is a server stalling, not a real answer.
pub const MAX_RESPONSE_FRAGMENTS: usize = 4096;

/// After a successful bind: sends calls and reassembles their responses.
pub struct Bound {
    bind_call_id: u32,
    abstract_syntax: SyntaxId,
    transfer_syntax: SyntaxId,
    header_signing: bool,
    max_xmit: u16,
    max_recv: u16,
    server_max_xmit: u16,
    assoc_group_id: u32,
    bind_time_features: Option<u64>,
    bind_ack_auth: Option<AuthVerifier>,
    max_stub_len: usize,
    auth: Box<dyn PduAuth>,
    call_ids: CallIds,
    /// Bytes of a fragment not yet complete (at most one fragment, ≤ `max_recv`).
    rx: Vec<u8>,
    pending: Option<Pending>,
    calls_made: bool,
    broken: bool,
}

impl core::fmt::Debug for Bound {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bound")
            .field("max_xmit", &self.max_xmit)
            .field("max_recv", &self.max_recv)
            .field("assoc_group_id", &self.assoc_group_id)
            .field("bind_time_features", &self.bind_time_features)
            .field("pending", &self.pending.as_ref().map(|p| p.call_id))
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl Bound {
    /// The largest fragment we send: `min(our max_xmit_frag, server's max_recv_frag)`.
    pub fn max_xmit_frag(&self) -> u16 {
        self.max_xmit
    }
    /// The largest fragment we accept (our offered `max_recv_frag`).
    pub fn max_recv_frag(&self) -> u16 {
        self.max_recv
    }
    /// The server's announced `max_xmit_frag`.
    pub fn server_max_xmit_frag(&self) -> u16 {
        self.server_max_xmit
    }
    /// The association group the server assigned.
    pub fn assoc_group_id(&self) -> u32 {
        self.assoc_group_id
    }
    /// The bind-time feature bits the server accepted, if it answered the negotiation.
    pub fn bind_time_features(&self) -> Option<u64> {
        self.bind_time_features
    }
    /// The context id requests use.
    pub fn context_id(&self) -> u16 {
        MAIN_CONTEXT
    }
    /// The server's bind-time auth token (e.g. NTLM CHALLENGE), if any.
    pub fn bind_ack_auth(&self) -> Option<&AuthVerifier> {
        self.bind_ack_auth.as_ref()
    }

    /// Whether both sides agreed to header signing (the BIND carried an auth token and offered
    /// `PFC_SUPPORT_HEADER_SIGN`, and the BIND_ACK echoed it): signatures then cover the whole
    /// PDU, header through sec_trailer.
    pub fn header_signing(&self) -> bool {
        self.header_signing
    }

    /// An AUTH3 PDU carrying `verifier` (e.g. NTLM AUTHENTICATE). It reuses the BIND's call id,
    /// as Samba and Windows expect (research note "ncacn-ip-tcp"); the server does not answer.
    pub fn auth3_pdu(&mut self, verifier: AuthVerifier) -> Result<Vec<u8>, RpcError> {
        let pdu = Auth3 { call_id: self.bind_call_id, flags: PfcFlags::FIRST_LAST, auth: verifier };
        pdu.encode()
    }

    /// An ALTER_CONTEXT PDU carrying `verifier`: the third leg of a multi-leg bind that the
    /// server answers (Kerberos' DCE-style AP-REP; research note
    /// "ncacn-ip-tcp"). It offers the bound interface again as context 0 (the server accepts
    /// it unchanged) and reuses the BIND's call id, like AUTH3. Feed the answer to
    /// [`Bound::handle_alter_context_response`].
    pub fn alter_context_pdu(&mut self, verifier: AuthVerifier) -> Result<Vec<u8>, RpcError> {
        self.check_usable()?;
        let pdu = Bind {
            call_id: self.bind_call_id,
            flags: PfcFlags::FIRST_LAST.with(PfcFlags::SUPPORT_HEADER_SIGN),
            max_xmit_frag: self.max_xmit,
            max_recv_frag: self.max_recv,
            assoc_group_id: self.assoc_group_id,
            contexts: vec![ContextElem {
                context_id: MAIN_CONTEXT,
                abstract_syntax: self.abstract_syntax,
                transfer_syntaxes: vec![self.transfer_syntax],
            }],
            auth: Some(verifier),
        };
        pdu.encode_alter_context()
    }

    /// Consume the server's answer to [`Bound::alter_context_pdu`]: an ALTER_CONTEXT_RESP for
    /// the BIND's call id that accepts context 0 with our transfer syntax. Returns its auth
    /// verifier, if it carries one. A FAULT, a BIND_NAK or anything else is a
    /// [`RpcError::Protocol`] (or the fault's status) and leaves the association unusable.
    pub fn handle_alter_context_response(
        &mut self,
        pdu: &[u8],
    ) -> Result<Option<AuthVerifier>, RpcError> {
        self.check_usable()?;
        let r = self.alter_context_response(pdu);
        if r.is_err() {
            self.broken = true;
        }
        r
    }

    fn alter_context_response(&self, pdu: &[u8]) -> Result<Option<AuthVerifier>, RpcError> {
        let header = Header::decode(pdu)?;
        if header.ptype == PacketType::FAULT {
            let f = Fault::decode(pdu)?;
            return Err(RpcError::Fault(f.status));
        }
        if header.ptype != PacketType::ALTER_CONTEXT_RESP {
            return Err(RpcError::Protocol("unexpected PDU type in answer to ALTER_CONTEXT"));
        }
        let ack = BindAck::decode_alter_context_resp(pdu)?;
        if ack.call_id != self.bind_call_id {
            return Err(RpcError::Protocol("ALTER_CONTEXT_RESP has the wrong call id"));
        }
        if !ack.flags.contains(PfcFlags::FIRST_LAST) {
            return Err(RpcError::Protocol("fragmented ALTER_CONTEXT_RESP"));
        }
        let main =
            ack.results.first().ok_or(RpcError::Protocol("ALTER_CONTEXT_RESP has no results"))?;
        if main.result != BindResult::ACCEPTANCE {
            return Err(RpcError::ContextRejected { result: main.result.0, reason: main.reason });
        }
        if main.transfer_syntax != self.transfer_syntax {
            return Err(RpcError::Protocol(
                "ALTER_CONTEXT_RESP accepted a transfer syntax we did not offer",
            ));
        }
        Ok(ack.auth)
    }

    /// Install the per-PDU protection established by the bind's authentication legs (e.g. the
    /// NTLM sealer after AUTH3). Only before the first request.
    pub fn set_auth(&mut self, auth: Box<dyn PduAuth>) -> Result<(), RpcError> {
        self.check_usable()?;
        if self.pending.is_some() || self.calls_made {
            return Err(RpcError::Protocol("per-PDU protection set after calls were made"));
        }
        self.auth = auth;
        Ok(())
    }

    fn check_usable(&self) -> Result<(), RpcError> {
        if self.broken {
            Err(RpcError::Protocol("association unusable after an earlier protocol error"))
        } else {
            Ok(())
        }
    }

    /// Stub bytes per fragment so that no fragment exceeds `max_xmit`.
    fn chunk_len(&self, params: Option<&VerifierParams>) -> Result<usize, RpcError> {
        let room = usize::from(self.max_xmit) - REQUEST_STUB_OFFSET;
        let chunk = match params {
            None => room,
            // Keep the stub a multiple of 16 so intermediate fragments need no auth pad.
            Some(p) => {
                (room.saturating_sub(SEC_TRAILER_LEN + usize::from(p.signature_len)) / 16) * 16
            }
        };
        if chunk == 0 {
            return Err(RpcError::Encode("auth signature leaves no room for stub bytes"));
        }
        Ok(chunk)
    }

    /// Build the REQUEST fragments of a new call of `opnum` with the NDR `stub`.
    ///
    /// Stubs larger than one fragment are split: the first fragment has FIRST_FRAG, the last
    /// LAST_FRAG (one fragment has both); all share call id, context id and opnum; each
    /// `alloc_hint` is the number of stub bytes from that fragment on. With a [`PduAuth`]
    /// verifier, each fragment is protected in order. Fails if a call is still in progress,
    /// after a protocol error, or if the stub exceeds the configured cap.
    pub fn request(&mut self, opnum: u16, stub: &[u8]) -> Result<OutgoingCall, RpcError> {
        self.check_usable()?;
        if self.pending.is_some() {
            return Err(RpcError::Protocol("a call is still in progress on this association"));
        }
        if stub.len() > self.max_stub_len || u32::try_from(stub.len()).is_err() {
            return Err(RpcError::Encode("request stub exceeds the size limit"));
        }
        let params = self.auth.verifier();
        let chunk = self.chunk_len(params.as_ref())?;
        let call_id = self.call_ids.next();
        let n = stub.len().div_ceil(chunk).max(1);
        let mut fragments = Vec::with_capacity(n);
        for i in 0..n {
            let start = i * chunk;
            let part = stub.get(start..(start + chunk).min(stub.len())).unwrap_or_default();
            let mut flags = PfcFlags::default();
            if i == 0 {
                flags = flags.with(PfcFlags::FIRST_FRAG);
            }
            if i + 1 == n {
                flags = flags.with(PfcFlags::LAST_FRAG);
            }
            let remaining = u32::try_from(stub.len() - start)
                .map_err(|_| RpcError::Encode("request stub exceeds the size limit"))?;
            let req = Request {
                call_id,
                flags,
                alloc_hint: remaining,
                context_id: MAIN_CONTEXT,
                opnum,
                object: None,
                stub: part.to_vec(),
                auth: params.map(|p| AuthVerifier {
                    auth_type: p.auth_type,
                    auth_level: p.auth_level,
                    context_id: p.context_id,
                    auth_value: vec![0; usize::from(p.signature_len)],
                }),
            };
            let (mut bytes, layout) = req.encode_with_layout()?;
            if let Some(layout) = layout {
                self.auth.protect(&mut bytes, &layout)?;
            }
            if bytes.len() > usize::from(self.max_xmit) {
                return Err(RpcError::Encode("fragment exceeds max_xmit_frag"));
            }
            fragments.push(bytes);
        }
        self.pending = Some(Pending { call_id, stub: Vec::new(), fragments: 0 });
        self.calls_made = true;
        Ok(OutgoingCall { call_id, fragments })
    }

    /// Feed bytes read from the pipe for the call `call_id`.
    ///
    /// `bytes` may hold part of a fragment, one, or several: incomplete fragments are buffered
    /// until the next call. Returns [`Progress::Complete`] with the reassembled stub after the
    /// LAST_FRAG fragment, [`RpcError::Fault`] for a FAULT PDU, and [`RpcError::Protocol`] for a
    /// non-RESPONSE/FAULT PDU, a wrong call or context id, missing or misplaced FIRST_FRAG, a
    /// fragment over `max_recv_frag`, a stub over the cap, a verifier mismatch, or bytes after
    /// the last fragment.
    pub fn receive(&mut self, call_id: u32, bytes: &[u8]) -> Result<Progress, RpcError> {
        self.check_usable()?;
        match &self.pending {
            Some(p) if p.call_id == call_id => {}
            _ => return Err(RpcError::Protocol("receive for a call that is not in progress")),
        }
        let result = self.receive_inner(bytes);
        match &result {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Complete(_)) | Err(RpcError::Fault(_)) => self.pending = None,
            Err(_) => {
                self.broken = true;
                self.pending = None;
                self.rx = Vec::new();
            }
        }
        result
    }

    fn receive_inner(&mut self, mut input: &[u8]) -> Result<Progress, RpcError> {
        loop {
            if self.rx.len() < HEADER_LEN {
                let n = (HEADER_LEN - self.rx.len()).min(input.len());
                let (now, rest) = input.split_at(n);
                self.rx.extend_from_slice(now);
                input = rest;
                if self.rx.len() < HEADER_LEN {
                    return Ok(Progress::NeedMore);
                }
            }
            let frag_len = self.check_fragment_header()?;
            if self.rx.len() < frag_len {
                let n = (frag_len - self.rx.len()).min(input.len());
                let (now, rest) = input.split_at(n);
                self.rx.extend_from_slice(now);
                input = rest;
                if self.rx.len() < frag_len {
                    return Ok(Progress::NeedMore);
                }
            }
            let frag = core::mem::take(&mut self.rx);
            let done = self.process_fragment(frag)?;
            if let Some(stub) = done {
                if !input.is_empty() {
                    return Err(RpcError::Protocol("bytes after the last fragment of the call"));
                }
                return Ok(Progress::Complete(stub));
            }
        }
    }

    /// Check the buffered header: supported version, RESPONSE or FAULT, our call id, and a
    /// length within `max_recv_frag` (before any of the body is buffered).
    fn check_fragment_header(&self) -> Result<usize, RpcError> {
        let h = Header::decode(&self.rx)?;
        if h.ptype != PacketType::RESPONSE && h.ptype != PacketType::FAULT {
            return Err(RpcError::Protocol("unexpected PDU type while awaiting a response"));
        }
        if h.frag_length > self.max_recv {
            return Err(RpcError::Protocol("response fragment exceeds max_recv_frag"));
        }
        if Some(h.call_id) != self.pending.as_ref().map(|p| p.call_id) {
            return Err(RpcError::Protocol("response fragment has the wrong call id"));
        }
        Ok(usize::from(h.frag_length))
    }

    /// Process one complete fragment; `Some(stub)` when the call is complete.
    fn process_fragment(&mut self, mut frag: Vec<u8>) -> Result<Option<Vec<u8>>, RpcError> {
        if frag.get(2) == Some(&PacketType::FAULT.0) {
            let fault = Fault::decode(&frag)?;
            return Err(RpcError::Fault(fault.status));
        }
        let (resp, layout) = Response::decode_with_layout(&frag)?;
        let params = self.auth.verifier();
        let stub_range = match (params, &resp.auth, layout) {
            (None, None, _) => None,
            (None, Some(_), _) => {
                return Err(RpcError::Protocol("unexpected auth verifier on a response"));
            }
            (Some(p), Some(v), Some(layout)) => {
                if v.auth_type != p.auth_type
                    || v.auth_level != p.auth_level
                    || v.context_id != p.context_id
                {
                    return Err(RpcError::Protocol(
                        "response verifier does not match the association",
                    ));
                }
                self.auth.unprotect(&mut frag, &layout)?;
                Some(layout.stub)
            }
            (Some(_), _, _) => return Err(RpcError::Protocol("response lacks an auth verifier")),
        };
        if resp.context_id != MAIN_CONTEXT {
            return Err(RpcError::Protocol("response for another presentation context"));
        }
        let max_stub_len = self.max_stub_len;
        let pending = self.pending.as_mut().ok_or(RpcError::Protocol("no call in progress"))?;
        let first = resp.flags.contains(PfcFlags::FIRST_FRAG);
        if pending.fragments == 0 && !first {
            return Err(RpcError::Protocol("first response fragment lacks FIRST_FRAG"));
        }
        if pending.fragments > 0 && first {
            return Err(RpcError::Protocol("FIRST_FRAG on a later response fragment"));
        }
        let stub: &[u8] = match stub_range {
            // Decrypted in place by unprotect.
            Some(r) => frag.get(r).ok_or(RpcError::Protocol("verifier layout out of range"))?,
            None => &resp.stub,
        };
        let last = resp.flags.contains(PfcFlags::LAST_FRAG);
        // A fragment that is not the last must move the reassembly forward: otherwise a
        // server could send stub-less fragments forever, each within the read timeout, and
        // the stub cap below would never be reached.
        if !last && stub.is_empty() {
            return Err(RpcError::Stalled("a response fragment without stub data is not the last"));
        }
        if pending.fragments >= MAX_RESPONSE_FRAGMENTS {
            return Err(RpcError::Stalled("more response fragments than the cap"));
        }
        if pending.stub.len().saturating_add(stub.len()) > max_stub_len {
            return Err(RpcError::Protocol("reassembled response exceeds the size limit"));
        }
        if pending.fragments == 0 && !last {
            let hint = usize::try_from(resp.alloc_hint).unwrap_or(usize::MAX);
            pending.stub.reserve(hint.min(RESERVE_CAP).min(max_stub_len));
        }
        pending.stub.extend_from_slice(stub);
        pending.fragments += 1;
        if resp.flags.contains(PfcFlags::LAST_FRAG) {
            return Ok(Some(core::mem::take(&mut pending.stub)));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::auth::{AuthLayout, AuthLevel, AuthType};
    use crate::dcerpc::bind::tests::BIND_EXAMPLE;
    use crate::dcerpc::bind_nak::BindNakReason;
    use crate::dcerpc::testing::{BindReply, CallReply, MockDc};
    use crate::dcerpc::tests::hexs;
    use crate::status::RpcFault;
    use proptest::prelude::*;

    fn bind_with(dc: &mut MockDc, config: AssociationConfig) -> Result<Bound, RpcError> {
        let mut u = Association::new(config);
        let ack = dc.answer_bind(&u.bind_pdu()?)?;
        u.handle_bind_response(&ack)
    }

    fn bound(dc: &mut MockDc) -> Bound {
        bind_with(dc, AssociationConfig::default()).unwrap()
    }

    /// A RESPONSE fragment ([C706] 12.6.4.10) for `call_id` with `flags` and `stub`.
    fn response_fragment(call_id: u32, flags: u8, stub: &[u8]) -> Vec<u8> {
        let mut b = vec![5, 0, 2, flags, 0x10, 0, 0, 0];
        b.extend_from_slice(&((24 + stub.len()) as u16).to_le_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(&call_id.to_le_bytes());
        b.extend_from_slice(&(stub.len() as u32).to_le_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(stub);
        b
    }

    fn krb_verifier(value: Vec<u8>) -> AuthVerifier {
        AuthVerifier {
            auth_type: AuthType::KERBEROS,
            auth_level: AuthLevel::PRIVACY,
            context_id: 0,
            auth_value: value,
        }
    }

    /// The third leg as an ALTER_CONTEXT: same call id as the BIND, context 0 offered again
    /// with header signing, the verifier attached; Samba's answer (captured: an
    /// ALTER_CONTEXT_RESP ending in a sec_trailer with an empty auth_value, auth_length 0,
    /// tests/vectors/samba-dc-tcp-krb5/alter-resp.hex) is accepted.
    #[test]
    fn alter_context_third_leg_and_samba_answer() {
        let mut b = bound(&mut MockDc::new());
        let pdu = b.alter_context_pdu(krb_verifier(vec![1, 2, 3])).unwrap();
        let alter = Bind::decode_alter_context(&pdu).unwrap();
        assert_eq!(alter.call_id, b.bind_call_id);
        assert_eq!(alter.contexts.len(), 1);
        assert_eq!(alter.contexts[0].abstract_syntax, SAMR_SYNTAX);
        assert!(alter.flags.contains(PfcFlags::SUPPORT_HEADER_SIGN));
        assert_eq!(alter.auth.unwrap().auth_value, vec![1, 2, 3]);
        let p =
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/samba-dc-tcp-krb5/alter-resp.hex");
        let samba = hex::decode(std::fs::read_to_string(p).unwrap().trim()).unwrap();
        assert_eq!(b.bind_call_id, 1);
        let v = b.handle_alter_context_response(&samba).unwrap().unwrap();
        assert_eq!(
            (v.auth_type, v.auth_level, v.auth_value.len()),
            (AuthType::KERBEROS, AuthLevel::PRIVACY, 0)
        );
        // More than a bare sec_trailer after the results is still trailing garbage.
        let mut longer = samba.clone();
        longer.extend_from_slice(&[0; 4]);
        let n = longer.len() as u16;
        longer[8..10].copy_from_slice(&n.to_le_bytes());
        assert!(BindAck::decode_alter_context_resp(&longer).is_err());
    }

    #[test]
    fn alter_context_answers_that_are_not_acceptance_break_the_association() {
        let p =
            concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/samba-dc-tcp-krb5/alter-resp.hex");
        let samba = hex::decode(std::fs::read_to_string(p).unwrap().trim()).unwrap();
        // Wrong call id.
        let mut b = bound(&mut MockDc::new());
        let mut wrong = samba.clone();
        wrong[12] = 9;
        assert!(matches!(b.handle_alter_context_response(&wrong), Err(RpcError::Protocol(_))));
        assert!(b.request(1, &[]).is_err(), "unusable afterwards");
        // A FAULT (e.g. the server rejecting our AP-REP).
        let mut b = bound(&mut MockDc::new());
        let fault = MockDc::render(1, CallReply::Fault(RpcFault::ACCESS_DENIED)).unwrap();
        assert_eq!(
            b.handle_alter_context_response(&fault),
            Err(RpcError::Fault(RpcFault::ACCESS_DENIED))
        );
        // A BIND_ACK where an ALTER_CONTEXT_RESP belongs.
        let mut b = bound(&mut MockDc::new());
        let mut ack = samba.clone();
        ack[2] = PacketType::BIND_ACK.0;
        assert!(b.handle_alter_context_response(&ack).is_err());
        // The context rejected.
        let mut b = bound(&mut MockDc::new());
        let mut rej = samba;
        rej[32] = 2; // result: provider rejection
        assert!(matches!(
            b.handle_alter_context_response(&rej),
            Err(RpcError::ContextRejected { .. })
        ));
    }

    #[test]
    fn a_fragment_without_stub_that_is_not_the_last_is_a_stall() {
        let mut b = bound(&mut MockDc::new());
        let call = b.request(1, &[]).unwrap();
        let first = response_fragment(call.call_id, 0x01, &[]);
        assert!(matches!(b.receive(call.call_id, &first), Err(RpcError::Stalled(_))));
        // The last fragment may be empty (an empty stub is a complete answer).
        let mut b = bound(&mut MockDc::new());
        let call = b.request(1, &[]).unwrap();
        let only = response_fragment(call.call_id, 0x03, &[]);
        assert_eq!(b.receive(call.call_id, &only), Ok(Progress::Complete(Vec::new())));
    }

    #[test]
    fn a_response_may_not_take_more_fragments_than_the_cap() {
        let mut b = bound(&mut MockDc::new());
        let call = b.request(1, &[]).unwrap();
        let first = response_fragment(call.call_id, 0x01, &[0]);
        assert_eq!(b.receive(call.call_id, &first), Ok(Progress::NeedMore));
        let more = response_fragment(call.call_id, 0x00, &[0]);
        for _ in 1..MAX_RESPONSE_FRAGMENTS {
            assert_eq!(b.receive(call.call_id, &more), Ok(Progress::NeedMore));
        }
        assert!(matches!(b.receive(call.call_id, &more), Err(RpcError::Stalled(_))));
    }

    fn small_server() -> MockDc {
        MockDc::with_bind_reply(BindReply::Accept {
            max_xmit_frag: 1500,
            max_recv_frag: 1500,
            features: 0x02,
        })
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
    }

    #[test]
    fn first_bind_is_the_notes_4_3_example() {
        let mut u = Association::new(AssociationConfig::default());
        assert_eq!(u.bind_pdu().unwrap(), hexs(BIND_EXAMPLE));
    }

    #[test]
    fn bind_without_feature_negotiation_offers_one_context() {
        let config = AssociationConfig { bind_time_features: None, ..Default::default() };
        let mut dc = MockDc::new();
        let b = bind_with(&mut dc, config).unwrap();
        assert_eq!(dc.binds[0].contexts.len(), 1);
        assert_eq!(b.bind_time_features(), None);
    }

    #[test]
    fn bind_ok_records_negotiated_values() {
        let mut dc = small_server();
        let b = bound(&mut dc);
        assert_eq!(b.max_xmit_frag(), 1500);
        assert_eq!(b.max_recv_frag(), 4280);
        assert_eq!(b.server_max_xmit_frag(), 1500);
        assert_eq!(b.bind_time_features(), Some(0x02));
        assert_eq!(b.assoc_group_id(), 0x0001_53f0);
        assert_eq!(b.context_id(), 0);
        assert!(b.bind_ack_auth().is_none());
        assert_eq!(dc.binds[0].call_id, 1);
    }

    #[test]
    fn fragmented_request_reassembles_on_the_peer() {
        let mut dc = small_server();
        let mut b = bound(&mut dc);
        let stub = pattern(5000);
        let call = b.request(73, &stub).unwrap();
        assert_eq!(call.call_id, 2);
        assert_eq!(call.fragments.len(), 5000usize.div_ceil(1500 - 24));
        let mut remaining = stub.len() as u32;
        for (i, f) in call.fragments.iter().enumerate() {
            assert!(f.len() <= 1500);
            let q = Request::decode(f).unwrap();
            assert_eq!((q.call_id, q.context_id, q.opnum), (2, 0, 73));
            assert_eq!(q.flags.contains(PfcFlags::FIRST_FRAG), i == 0);
            assert_eq!(q.flags.contains(PfcFlags::LAST_FRAG), i + 1 == call.fragments.len());
            assert_eq!(q.alloc_hint, remaining);
            remaining -= q.stub.len() as u32;
        }
        dc.push(CallReply::Response { stub: vec![1, 2, 3, 4], fragments: 1 });
        let reply = dc.exchange(&call).unwrap();
        assert_eq!(dc.calls[0].stub, stub);
        assert_eq!(dc.calls[0].fragments.len(), call.fragments.len());
        assert_eq!(b.receive(2, &reply).unwrap(), Progress::Complete(vec![1, 2, 3, 4]));
        // Next call id.
        let next = b.request(1, &[]).unwrap();
        assert_eq!(next.call_id, 3);
        assert_eq!(next.fragments.len(), 1);
        assert_eq!(next.fragments[0][3], 0x03);
    }

    #[test]
    fn exact_multiple_of_chunk_has_no_empty_fragment() {
        let mut dc = small_server();
        let mut b = bound(&mut dc);
        let call = b.request(5, &pattern(2 * (1500 - 24))).unwrap();
        assert_eq!(call.fragments.len(), 2);
        assert!(call.fragments.iter().all(|f| f.len() == 1500));
    }

    #[test]
    fn multi_fragment_response_reassembles_whole_and_byte_by_byte() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        let stub = pattern(10_000);
        for feed_whole in [true, false] {
            dc.push(CallReply::Response { stub: stub.clone(), fragments: 4 });
            let call = b.request(7, &[0; 8]).unwrap();
            let reply = dc.exchange(&call).unwrap();
            if feed_whole {
                assert_eq!(
                    b.receive(call.call_id, &reply).unwrap(),
                    Progress::Complete(stub.clone())
                );
            } else {
                let (last, rest) = reply.split_last().unwrap();
                for byte in rest {
                    assert_eq!(
                        b.receive(call.call_id, core::slice::from_ref(byte)).unwrap(),
                        Progress::NeedMore
                    );
                }
                let done = b.receive(call.call_id, core::slice::from_ref(last)).unwrap();
                assert_eq!(done, Progress::Complete(stub.clone()));
            }
        }
        assert_eq!(
            b.receive(4, &[]).unwrap_err(),
            RpcError::Protocol("receive for a call that is not in progress")
        );
    }

    #[test]
    fn fault_is_typed_and_association_stays_usable() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        dc.push(CallReply::Fault(RpcFault::NCA_S_OP_RNG_ERROR));
        let call = b.request(73, &[0; 40]).unwrap();
        let err = b.receive(call.call_id, &dc.exchange(&call).unwrap()).unwrap_err();
        assert_eq!(err.fault(), Some(RpcFault::NCA_S_OP_RNG_ERROR));
        assert!(
            err.to_string().contains("nca_s_op_rng_error")
                || err.to_string().contains("0x1C010002"),
            "{err}"
        );
        // Fallback to opnum 55 on the same association.
        dc.push(CallReply::Response { stub: vec![0; 4], fragments: 1 });
        let call = b.request(55, &[0; 40]).unwrap();
        let reply = dc.exchange(&call).unwrap();
        assert_eq!(b.receive(call.call_id, &reply).unwrap(), Progress::Complete(vec![0; 4]));
    }

    #[test]
    fn fault_after_first_response_fragment_ends_the_call() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        let call = b.request(1, &[]).unwrap();
        let first =
            MockDc::render(call.call_id, CallReply::Response { stub: pattern(100), fragments: 2 })
                .unwrap();
        let half = usize::from(u16::from_le_bytes([first[8], first[9]]));
        let fault =
            MockDc::render(call.call_id, CallReply::Fault(RpcFault::NCA_S_PROTO_ERROR)).unwrap();
        assert_eq!(b.receive(call.call_id, &first[..half]).unwrap(), Progress::NeedMore);
        let err = b.receive(call.call_id, &fault).unwrap_err();
        assert_eq!(err.fault(), Some(RpcFault::NCA_S_PROTO_ERROR));
    }

    #[test]
    fn bind_nak_and_context_rejection_are_typed() {
        let mut dc = MockDc::with_bind_reply(BindReply::Nak(BindNakReason::LOCAL_LIMIT_EXCEEDED));
        let err = bind_with(&mut dc, AssociationConfig::default()).unwrap_err();
        assert_eq!(err, RpcError::BindRejected { reason: BindNakReason::LOCAL_LIMIT_EXCEEDED });
        assert!(err.to_string().contains("local_limit_exceeded"), "{err}");
        let mut dc = MockDc::with_bind_reply(BindReply::RejectContext { result: 2, reason: 1 });
        let err = bind_with(&mut dc, AssociationConfig::default()).unwrap_err();
        assert_eq!(err, RpcError::ContextRejected { result: 2, reason: 1 });
    }

    #[test]
    fn bind_answer_problems() {
        // Garbage → decode error.
        let mut dc =
            MockDc::with_bind_reply(BindReply::Raw(b"this is not an rpc pdu at all".to_vec()));
        assert!(matches!(
            bind_with(&mut dc, AssociationConfig::default()),
            Err(RpcError::Decode(_))
        ));
        // A well-formed RESPONSE instead of a BIND_ACK → protocol error.
        let resp = MockDc::render(1, CallReply::Response { stub: vec![], fragments: 1 }).unwrap();
        let mut dc = MockDc::with_bind_reply(BindReply::Raw(resp));
        assert_eq!(
            bind_with(&mut dc, AssociationConfig::default()).unwrap_err(),
            RpcError::Protocol("unexpected PDU type in answer to BIND")
        );
        // Wrong call id.
        let mut u = Association::new(AssociationConfig::default());
        let bind = u.bind_pdu().unwrap();
        let mut ack = MockDc::new().answer_bind(&bind).unwrap();
        ack[12] = 9;
        assert_eq!(
            u.handle_bind_response(&ack).unwrap_err(),
            RpcError::Protocol("BIND_ACK has the wrong call id")
        );
        // No BIND sent.
        let u = Association::new(AssociationConfig::default());
        assert_eq!(
            u.handle_bind_response(&ack).unwrap_err(),
            RpcError::Protocol("no BIND was sent")
        );
        // Server max_recv_frag below the minimum.
        let mut dc = MockDc::with_bind_reply(BindReply::Accept {
            max_xmit_frag: 4280,
            max_recv_frag: 100,
            features: 0,
        });
        assert!(matches!(
            bind_with(&mut dc, AssociationConfig::default()),
            Err(RpcError::Protocol(_))
        ));
    }

    #[test]
    fn garbage_response_is_a_decode_error_and_poisons() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        dc.push(CallReply::Raw(b"garbage garbage garbage".to_vec()));
        let call = b.request(1, &[]).unwrap();
        let reply = dc.exchange(&call).unwrap();
        assert!(matches!(b.receive(call.call_id, &reply), Err(RpcError::Decode(_))));
        assert!(matches!(b.request(1, &[]), Err(RpcError::Protocol(_))));
    }

    #[test]
    fn wrong_call_id_is_a_protocol_error() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        dc.push(CallReply::WrongCallId { stub: vec![1] });
        let call = b.request(1, &[]).unwrap();
        let reply = dc.exchange(&call).unwrap();
        assert_eq!(
            b.receive(call.call_id, &reply).unwrap_err(),
            RpcError::Protocol("response fragment has the wrong call id")
        );
    }

    #[test]
    fn oversized_fragment_rejected_from_its_header() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        dc.push(CallReply::OversizedFragment { frag_length: 65535 });
        let call = b.request(1, &[]).unwrap();
        let reply = dc.exchange(&call).unwrap();
        // The 16-byte header alone is enough to reject it.
        assert_eq!(
            b.receive(call.call_id, &reply[..16]).unwrap_err(),
            RpcError::Protocol("response fragment exceeds max_recv_frag")
        );
    }

    #[test]
    fn reassembly_is_capped() {
        let mut dc = MockDc::new();
        let config = AssociationConfig { max_stub_len: 5000, ..Default::default() };
        let mut b = bind_with(&mut dc, config).unwrap();
        dc.push(CallReply::Response { stub: pattern(8000), fragments: 4 });
        let call = b.request(1, &[]).unwrap();
        let reply = dc.exchange(&call).unwrap();
        assert_eq!(
            b.receive(call.call_id, &reply).unwrap_err(),
            RpcError::Protocol("reassembled response exceeds the size limit")
        );
        // Requests are capped too.
        let mut b = bind_with(
            &mut MockDc::new(),
            AssociationConfig { max_stub_len: 10, ..Default::default() },
        )
        .unwrap();
        assert!(matches!(b.request(1, &[0; 11]), Err(RpcError::Encode(_))));
    }

    #[test]
    fn flag_context_and_type_violations() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        let call = b.request(1, &[]).unwrap();
        let id = call.call_id;
        let resp = |flags: PfcFlags, context_id: u16| {
            Response {
                call_id: id,
                flags,
                alloc_hint: 0,
                context_id,
                cancel_count: 0,
                stub: vec![1],
                auth: None,
            }
            .encode()
            .unwrap()
        };
        assert_eq!(
            b.receive(id, &resp(PfcFlags::LAST_FRAG, 0)).unwrap_err(),
            RpcError::Protocol("first response fragment lacks FIRST_FRAG")
        );
        let mut b = bound(&mut MockDc::new());
        let call = b.request(1, &[]).unwrap();
        assert_eq!(call.call_id, id);
        assert_eq!(
            b.receive(id, &resp(PfcFlags::FIRST_LAST, 1)).unwrap_err(),
            RpcError::Protocol("response for another presentation context")
        );
        let mut b = bound(&mut MockDc::new());
        b.request(1, &[]).unwrap();
        let mut two = resp(PfcFlags::FIRST_FRAG, 0);
        two.extend(resp(PfcFlags::FIRST_LAST, 0));
        assert_eq!(
            b.receive(id, &two).unwrap_err(),
            RpcError::Protocol("FIRST_FRAG on a later response fragment")
        );
        let mut b = bound(&mut MockDc::new());
        b.request(1, &[]).unwrap();
        let mut extra = resp(PfcFlags::FIRST_LAST, 0);
        extra.push(5);
        assert_eq!(
            b.receive(id, &extra).unwrap_err(),
            RpcError::Protocol("bytes after the last fragment of the call")
        );
        let mut b = bound(&mut MockDc::new());
        b.request(1, &[]).unwrap();
        let mut bind = Association::new(AssociationConfig::default()).bind_pdu().unwrap();
        bind[12] = id as u8;
        assert_eq!(
            b.receive(id, &bind).unwrap_err(),
            RpcError::Protocol("unexpected PDU type while awaiting a response")
        );
        // A verifier on a response when none was negotiated.
        let mut b = bound(&mut MockDc::new());
        b.request(1, &[]).unwrap();
        let signed = Response {
            call_id: id,
            flags: PfcFlags::FIRST_LAST,
            alloc_hint: 1,
            context_id: 0,
            cancel_count: 0,
            stub: vec![1],
            auth: Some(AuthVerifier {
                auth_type: AuthType::NTLMSSP,
                auth_level: AuthLevel::INTEGRITY,
                context_id: 0,
                auth_value: vec![0; 16],
            }),
        };
        assert_eq!(
            b.receive(id, &signed.encode().unwrap()).unwrap_err(),
            RpcError::Protocol("unexpected auth verifier on a response")
        );
        // Only one call at a time.
        let mut b = bound(&mut MockDc::new());
        b.request(1, &[]).unwrap();
        assert!(matches!(b.request(1, &[]), Err(RpcError::Protocol(_))));
    }

    /// A toy [`PduAuth`] exercising the seam: "seals" by XOR with 0x5A and signs with a constant.
    struct XorAuth {
        protected: usize,
    }

    const XOR_PARAMS: VerifierParams = VerifierParams {
        auth_type: AuthType::NTLMSSP,
        auth_level: AuthLevel::PRIVACY,
        context_id: 1,
        signature_len: 16,
    };

    impl PduAuth for XorAuth {
        fn verifier(&self) -> Option<VerifierParams> {
            Some(XOR_PARAMS)
        }
        fn protect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError> {
            assert!(pdu[layout.auth_value.clone()].iter().all(|&b| b == 0));
            pdu[layout.sealed()].iter_mut().for_each(|b| *b ^= 0x5A);
            pdu[layout.auth_value.clone()].fill(0xEE);
            self.protected += 1;
            Ok(())
        }
        fn unprotect(&mut self, pdu: &mut [u8], layout: &AuthLayout) -> Result<(), RpcError> {
            if !crate::secret::ct_eq(&pdu[layout.auth_value.clone()], &[0xEE; 16]) {
                return Err(RpcError::Auth("bad signature"));
            }
            pdu[layout.sealed()].iter_mut().for_each(|b| *b ^= 0x5A);
            Ok(())
        }
    }

    #[test]
    fn pdu_auth_seam_protects_each_fragment_and_unprotects_responses() {
        let mut u = Association::with_auth(
            AssociationConfig { max_xmit_frag: 1432, ..Default::default() },
            Box::new(XorAuth { protected: 0 }),
        );
        let ack = MockDc::new().answer_bind(&u.bind_pdu().unwrap()).unwrap();
        let mut b = u.handle_bind_response(&ack).unwrap();
        let stub = pattern(3000);
        let call = b.request(73, &stub).unwrap();
        let mut got = Vec::new();
        for f in &call.fragments {
            assert!(f.len() <= 1432);
            let q = Request::decode(f).unwrap();
            let v = q.auth.unwrap();
            assert_eq!(v.auth_value, vec![0xEE; 16]);
            // Sec_trailer 16-aligned relative to the stub start (notes 4.7).
            assert_eq!((f.len() - 24 - 8 - 16) % 16, 0);
            got.extend(q.stub.iter().map(|b| b ^ 0x5A));
        }
        assert_eq!(got, stub);

        let make = |flags, part: &[u8], sig: u8| {
            let r = Response {
                call_id: call.call_id,
                flags,
                alloc_hint: 0,
                context_id: 0,
                cancel_count: 0,
                stub: part.to_vec(),
                auth: Some(AuthVerifier {
                    auth_type: XOR_PARAMS.auth_type,
                    auth_level: XOR_PARAMS.auth_level,
                    context_id: 1,
                    auth_value: vec![sig; 16],
                }),
            };
            let (mut bytes, layout) = r.encode_with_layout().unwrap();
            let layout = layout.unwrap();
            bytes[layout.sealed()].iter_mut().for_each(|b| *b ^= 0x5A);
            bytes
        };
        let mut reply = make(PfcFlags::FIRST_FRAG, &[1, 2, 3], 0xEE);
        reply.extend(make(PfcFlags::LAST_FRAG, &[4, 5], 0xEE));
        assert_eq!(
            b.receive(call.call_id, &reply).unwrap(),
            Progress::Complete(vec![1, 2, 3, 4, 5])
        );
        // A bad signature fails through the hook.
        let call = b.request(1, &[]).unwrap();
        let mut bad = make(PfcFlags::FIRST_LAST, &[1], 0xEF);
        bad[12] = call.call_id as u8;
        assert_eq!(b.receive(call.call_id, &bad).unwrap_err(), RpcError::Auth("bad signature"));
    }

    /// A non-last response fragment with no stub bytes makes no progress: it is refused (a
    /// server could otherwise keep a call waiting forever below the stub cap).
    #[test]
    fn empty_non_last_fragment_is_refused() {
        let mut dc = MockDc::new();
        let mut b = bound(&mut dc);
        let call = b.request(1, &[]).unwrap();
        // Three fragments for an empty stub: the first two carry nothing and lack LAST_FRAG.
        let resp = MockDc::render(call.call_id, CallReply::Response { stub: vec![], fragments: 3 })
            .unwrap();
        let e = b.receive(call.call_id, &resp).unwrap_err();
        assert!(matches!(e, RpcError::Stalled(m) if m.contains("without stub data")), "{e:?}");
        // An empty stub in a single (last) fragment is still a valid response.
        let mut b = bound(&mut MockDc::new());
        let call = b.request(1, &[]).unwrap();
        let one = MockDc::render(call.call_id, CallReply::Response { stub: vec![], fragments: 1 })
            .unwrap();
        let done = b.receive(call.call_id, &one).unwrap();
        assert!(matches!(done, Progress::Complete(s) if s.is_empty()));
    }

    #[test]
    fn auth3_reuses_the_bind_call_id() {
        let mut b = bound(&mut MockDc::new());
        let v = AuthVerifier {
            auth_type: AuthType::NTLMSSP,
            auth_level: AuthLevel::PRIVACY,
            context_id: 1,
            auth_value: vec![1; 20],
        };
        let a = crate::dcerpc::auth3::Auth3::decode(&b.auth3_pdu(v).unwrap()).unwrap();
        // Samba's and rpcclient's AUTH3 reuse the BIND's call id (capture
        // tests/vectors/samba-dc-tcp/seal-auth3.hex: call id 1, like its BIND).
        assert_eq!(a.call_id, 1);
        assert_eq!(b.request(1, &[]).unwrap().call_id, 2);
    }

    proptest! {
        #[test]
        fn receive_never_panics_on_random_bytes(chunks in proptest::collection::vec(
            proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut b = bound(&mut MockDc::new());
            let call = b.request(1, &[]).unwrap();
            for c in &chunks {
                if b.receive(call.call_id, c).is_err() { break; }
            }
        }

        #[test]
        fn receive_never_panics_on_header_shaped_bytes(
            ptype in prop_oneof![Just(2u8), Just(3)], flags in any::<u8>(),
            frag in 0u16..200, auth in 0u16..40, body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = bound(&mut MockDc::new());
            let call = b.request(1, &[]).unwrap();
            let mut bytes = vec![5, 0, ptype, flags, 0x10, 0, 0, 0];
            bytes.extend_from_slice(&frag.to_le_bytes());
            bytes.extend_from_slice(&auth.to_le_bytes());
            bytes.extend_from_slice(&call.call_id.to_le_bytes());
            bytes.extend_from_slice(&body);
            let _ = b.receive(call.call_id, &bytes);
        }

        #[test]
        fn bind_response_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), ptype in 0u8..20) {
            let mut u = Association::new(AssociationConfig::default());
            u.bind_pdu().unwrap();
            let _ = u.handle_bind_response(&bytes);
            let mut u = Association::new(AssociationConfig::default());
            u.bind_pdu().unwrap();
            let mut shaped = vec![5, 0, ptype, 3, 0x10, 0, 0, 0];
            shaped.extend_from_slice(&((16 + bytes.len()) as u16).to_le_bytes());
            shaped.extend_from_slice(&[0, 0, 1, 0, 0, 0]);
            shaped.extend_from_slice(&bytes);
            let _ = u.handle_bind_response(&shaped);
        }

        #[test]
        fn any_split_of_a_fragmented_response_reassembles(
            len in 0usize..6000, frags in 1usize..6, cuts in proptest::collection::vec(any::<u16>(), 0..10)) {
            let mut dc = MockDc::new();
            let mut b = bound(&mut dc);
            let stub = pattern(len);
            // Keep each fragment within the 4280-byte max_recv_frag.
            let mut fragments = frags.max(len.div_ceil(4000));
            // Only the last fragment may be empty (an empty earlier one is refused as a
            // stall): fewer fragments when the mock's even split would leave one empty.
            while fragments > 1 && (fragments - 2) * len.div_ceil(fragments) >= len {
                fragments -= 1;
            }
            dc.push(CallReply::Response { stub: stub.clone(), fragments });
            let call = b.request(2, &[9; 3]).unwrap();
            let reply = dc.exchange(&call).unwrap();
            let mut points: Vec<usize> = cuts.iter().map(|c| usize::from(*c) % (reply.len() + 1)).collect();
            points.push(0);
            points.push(reply.len());
            points.sort_unstable();
            points.dedup();
            let mut result = Progress::NeedMore;
            for w in points.windows(2) {
                prop_assert_eq!(&result, &Progress::NeedMore);
                result = b.receive(call.call_id, &reply[w[0]..w[1]]).unwrap();
            }
            prop_assert_eq!(result, Progress::Complete(stub));
        }
    }
}
