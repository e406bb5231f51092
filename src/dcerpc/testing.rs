//! Test support, not part of the supported API: [`MockDc`], a scripted DCE/RPC server peer for
//! driving an [`Association`](super::Association) fully in memory (no sockets).
//!
//! It answers a BIND as told by [`BindReply`], checks and reassembles REQUEST fragments (flags,
//! call id, context id, opnum, `alloc_hint`, fragment size), records each call, and answers it
//! with the next scripted [`CallReply`]:
//!
//! For fuzz targets, [`bound_with_pending_call`] gives a bound association awaiting a response.
//!
//! ```
//! use samrpc::dcerpc::testing::{CallReply, MockDc};
//! use samrpc::dcerpc::{Association, AssociationConfig, Progress};
//!
//! let mut dc = MockDc::new();
//! let mut unbound = Association::new(AssociationConfig::default());
//! let ack = dc.answer_bind(&unbound.bind_pdu()?)?;
//! let mut bound = unbound.handle_bind_response(&ack)?;
//! dc.push(CallReply::Response { stub: vec![0; 8], fragments: 1 });
//! let call = bound.request(1, &[1, 2, 3])?;
//! let reply = dc.exchange(&call)?;
//! assert_eq!(bound.receive(call.call_id, &reply)?, Progress::Complete(vec![0; 8]));
//! assert_eq!(dc.calls[0].stub, vec![1, 2, 3]);
//! # Ok::<(), samrpc::dcerpc::RpcError>(())
//! ```

use std::collections::VecDeque;

use super::association::{Association, AssociationConfig, Bound, DEFAULT_FRAG, OutgoingCall};
use super::bind::Bind;
use super::bind_ack::{BindAck, BindResult, ContextResult};
use super::bind_nak::{BindNak, BindNakReason};
use super::fault::Fault;
use super::header::{Header, PacketType, PfcFlags};
use super::request::Request;
use super::response::Response;
use super::{RpcError, SyntaxId};
use crate::status::RpcFault;

/// How the mock answers a BIND.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BindReply {
    /// BIND_ACK accepting the first context with its first transfer syntax, and answering a
    /// bind-time feature negotiation context with NEGOTIATE_ACK (bits offered & `features`).
    Accept {
        /// Announced `max_xmit_frag` (the largest fragment the mock sends by default).
        max_xmit_frag: u16,
        /// Announced `max_recv_frag` (fragments above it are rejected by [`MockDc::feed`]).
        max_recv_frag: u16,
        /// Feature bits the mock accepts.
        features: u16,
    },
    /// BIND_ACK rejecting the first context.
    RejectContext {
        /// `result` (1 user rejection, 2 provider rejection).
        result: u16,
        /// `reason`.
        reason: u16,
    },
    /// BIND_NAK with this reason.
    Nak(BindNakReason),
    /// These exact bytes.
    Raw(Vec<u8>),
}

/// How the mock answers one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallReply {
    /// RESPONSE PDUs carrying `stub`, split as evenly as possible over `fragments` (≥ 1).
    Response {
        /// The stub.
        stub: Vec<u8>,
        /// Number of fragments.
        fragments: usize,
    },
    /// A FAULT with this status.
    Fault(RpcFault),
    /// A single-fragment RESPONSE with the call id plus one.
    WrongCallId {
        /// The stub.
        stub: Vec<u8>,
    },
    /// A RESPONSE whose header announces `frag_length` (followed by that many bytes).
    OversizedFragment {
        /// The announced length.
        frag_length: u16,
    },
    /// These exact bytes (garbage, or a hand-made PDU).
    Raw(Vec<u8>),
}

/// A call the mock received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedCall {
    /// Call id.
    pub call_id: u32,
    /// Operation number.
    pub opnum: u16,
    /// Context id.
    pub context_id: u16,
    /// The reassembled stub.
    pub stub: Vec<u8>,
    /// The fragments as decoded.
    pub fragments: Vec<Request>,
}

/// A scripted DCE/RPC server (test support).
#[derive(Clone, Debug)]
pub struct MockDc {
    /// The answer to the next BIND.
    pub bind_reply: BindReply,
    /// Association group id put in BIND_ACKs.
    pub assoc_group_id: u32,
    /// Largest REQUEST fragment accepted (set from [`BindReply::Accept`] on bind).
    pub max_recv_frag: u16,
    /// BINDs received.
    pub binds: Vec<Bind>,
    /// Calls received, complete.
    pub calls: Vec<ReceivedCall>,
    script: VecDeque<CallReply>,
    partial: Option<ReceivedCall>,
}

impl Default for MockDc {
    fn default() -> Self {
        Self::new()
    }
}

impl MockDc {
    /// A mock that accepts binds with 4280-byte fragments and feature bits 0x03.
    pub fn new() -> Self {
        Self::with_bind_reply(BindReply::Accept {
            max_xmit_frag: DEFAULT_FRAG,
            max_recv_frag: DEFAULT_FRAG,
            features: 0x03,
        })
    }

    /// A mock with the given bind answer.
    pub fn with_bind_reply(bind_reply: BindReply) -> Self {
        Self {
            bind_reply,
            assoc_group_id: 0x0001_53f0,
            max_recv_frag: DEFAULT_FRAG,
            binds: Vec::new(),
            calls: Vec::new(),
            script: VecDeque::new(),
            partial: None,
        }
    }

    /// Queue the answer to the next call.
    pub fn push(&mut self, reply: CallReply) -> &mut Self {
        self.script.push_back(reply);
        self
    }

    /// Answer a BIND PDU.
    pub fn answer_bind(&mut self, pdu: &[u8]) -> Result<Vec<u8>, RpcError> {
        let bind = Bind::decode(pdu)?;
        let call_id = bind.call_id;
        let mut results = Vec::new();
        let reply = match &self.bind_reply {
            BindReply::Raw(bytes) => return Ok(bytes.clone()),
            BindReply::Nak(reason) => {
                let nak = BindNak {
                    call_id,
                    flags: PfcFlags::FIRST_LAST,
                    reason: *reason,
                    versions: vec![(5, 0)],
                    extra: Vec::new(),
                };
                self.binds.push(bind);
                return nak.encode();
            }
            BindReply::RejectContext { result, reason } => {
                results.push(ContextResult {
                    result: BindResult(*result),
                    reason: *reason,
                    transfer_syntax: zero_syntax(),
                });
                (DEFAULT_FRAG, DEFAULT_FRAG)
            }
            BindReply::Accept { max_xmit_frag, max_recv_frag, features } => {
                results = accept_contexts(&bind, *features);
                self.max_recv_frag = *max_recv_frag;
                (*max_xmit_frag, *max_recv_frag)
            }
        };
        self.binds.push(bind);
        BindAck {
            call_id,
            flags: PfcFlags::FIRST_LAST,
            max_xmit_frag: reply.0,
            max_recv_frag: reply.1,
            assoc_group_id: self.assoc_group_id,
            sec_addr: b"\\PIPE\\lsass\0".to_vec(),
            results,
            auth: None,
        }
        .encode()
    }

    /// Take one REQUEST fragment; after the LAST_FRAG fragment, record the call and return
    /// the scripted answer's bytes. Errors describe what the client did wrong.
    pub fn feed(&mut self, fragment: &[u8]) -> Result<Option<Vec<u8>>, RpcError> {
        if fragment.len() > usize::from(self.max_recv_frag) {
            return Err(RpcError::Protocol("mock: request fragment exceeds max_recv_frag"));
        }
        let req = Request::decode(fragment)?;
        let first = req.flags.contains(PfcFlags::FIRST_FRAG);
        let mut call = match self.partial.take() {
            None if !first => {
                return Err(RpcError::Protocol("mock: first fragment lacks FIRST_FRAG"));
            }
            None => ReceivedCall {
                call_id: req.call_id,
                opnum: req.opnum,
                context_id: req.context_id,
                stub: Vec::new(),
                fragments: Vec::new(),
            },
            Some(_) if first => {
                return Err(RpcError::Protocol("mock: FIRST_FRAG on a later fragment"));
            }
            Some(c) => c,
        };
        if (req.call_id, req.opnum, req.context_id) != (call.call_id, call.opnum, call.context_id) {
            return Err(RpcError::Protocol("mock: fragment fields differ within a call"));
        }
        // alloc_hint = stub bytes from this fragment on: the first fragment fixes the total.
        let total = call.fragments.first().map_or(req.alloc_hint, |f| f.alloc_hint);
        if u64::from(req.alloc_hint) + call.stub.len() as u64 != u64::from(total) {
            return Err(RpcError::Protocol("mock: alloc_hint is not the remaining stub length"));
        }
        call.stub.extend_from_slice(&req.stub);
        let last = req.flags.contains(PfcFlags::LAST_FRAG);
        call.fragments.push(req);
        if !last {
            self.partial = Some(call);
            return Ok(None);
        }
        if call.stub.len() as u64 != u64::from(total) {
            return Err(RpcError::Protocol("mock: stub length differs from the first alloc_hint"));
        }
        let call_id = call.call_id;
        self.calls.push(call);
        let reply =
            self.script.pop_front().ok_or(RpcError::Protocol("mock: no scripted reply left"))?;
        Self::render(call_id, reply).map(Some)
    }

    /// Feed every fragment of `call`; the reply bytes (all fragments concatenated).
    pub fn exchange(&mut self, call: &OutgoingCall) -> Result<Vec<u8>, RpcError> {
        let mut out = None;
        for f in &call.fragments {
            if out.is_some() {
                return Err(RpcError::Protocol("mock: fragments after LAST_FRAG"));
            }
            out = self.feed(f)?;
        }
        out.ok_or(RpcError::Protocol("mock: call had no LAST_FRAG"))
    }

    /// The bytes of `reply` for `call_id`.
    pub fn render(call_id: u32, reply: CallReply) -> Result<Vec<u8>, RpcError> {
        match reply {
            CallReply::Raw(bytes) => Ok(bytes),
            CallReply::Fault(status) => Fault {
                call_id,
                flags: PfcFlags::FIRST_LAST.with(PfcFlags::DID_NOT_EXECUTE),
                alloc_hint: 32,
                context_id: 0,
                cancel_count: 0,
                fault_flags: 0,
                status,
                extended: Vec::new(),
                auth: None,
            }
            .encode(),
            CallReply::WrongCallId { stub } => {
                response_fragments(call_id.wrapping_add(1), &stub, 1)
            }
            CallReply::Response { stub, fragments } => {
                response_fragments(call_id, &stub, fragments)
            }
            CallReply::OversizedFragment { frag_length } => {
                let mut w = crate::wire::Writer::new();
                Header {
                    ptype: PacketType::RESPONSE,
                    flags: PfcFlags::FIRST_LAST,
                    frag_length,
                    auth_length: 0,
                    call_id,
                }
                .encode(&mut w);
                w.zeros(usize::from(frag_length).saturating_sub(16));
                Ok(w.into_vec())
            }
        }
    }
}

/// A [`Bound`] association (default config, bound against a default [`MockDc`]) with one call
/// in progress, and that call's id: the starting point for fuzzing [`Bound::receive`].
pub fn bound_with_pending_call() -> Result<(Bound, u32), RpcError> {
    let mut dc = MockDc::new();
    let mut unbound = Association::new(AssociationConfig::default());
    let ack = dc.answer_bind(&unbound.bind_pdu()?)?;
    let mut bound = unbound.handle_bind_response(&ack)?;
    let call = bound.request(1, &[])?;
    Ok((bound, call.call_id))
}

/// The context results of a server that accepts a BIND's first context with its first
/// transfer syntax, answers a bind-time feature negotiation context with the `features` bits
/// the client offered, and rejects every other context (a context with no transfer syntax
/// included).
pub fn accept_contexts(bind: &Bind, features: u16) -> Vec<ContextResult> {
    let reject = ContextResult {
        result: BindResult::PROVIDER_REJECTION,
        reason: 2,
        transfer_syntax: zero_syntax(),
    };
    bind.contexts
        .iter()
        .enumerate()
        .map(|(i, c)| match c.transfer_syntaxes.first().copied() {
            None => reject.clone(),
            Some(ts) => match ts.bind_time_feature_bits() {
                Some(bits) => ContextResult {
                    result: BindResult::NEGOTIATE_ACK,
                    reason: features & (bits as u16),
                    transfer_syntax: zero_syntax(),
                },
                None if i == 0 => {
                    ContextResult { result: BindResult::ACCEPTANCE, reason: 0, transfer_syntax: ts }
                }
                None => reject.clone(),
            },
        })
        .collect()
}

fn zero_syntax() -> SyntaxId {
    SyntaxId { uuid: [0; 16], major: 0, minor: 0 }
}

/// `stub` as `n` (≥ 1) RESPONSE fragments, concatenated.
fn response_fragments(call_id: u32, stub: &[u8], n: usize) -> Result<Vec<u8>, RpcError> {
    let n = n.max(1);
    let per = stub.len().div_ceil(n);
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..n {
        let end = (start + per).min(stub.len());
        let mut flags = PfcFlags::default();
        if i == 0 {
            flags = flags.with(PfcFlags::FIRST_FRAG);
        }
        if i + 1 == n {
            flags = flags.with(PfcFlags::LAST_FRAG);
        }
        let remaining = u32::try_from(stub.len() - start)
            .map_err(|_| RpcError::Encode("mock: stub too large"))?;
        let resp = Response {
            call_id,
            flags,
            alloc_hint: remaining,
            context_id: 0,
            cancel_count: 0,
            stub: stub.get(start..end).unwrap_or_default().to_vec(),
            auth: None,
        };
        out.extend_from_slice(&resp.encode()?);
        start = end;
    }
    Ok(out)
}
