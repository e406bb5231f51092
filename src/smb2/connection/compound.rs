//! Compounded requests ([MS-SMB2] 2.2.1 NextCommand, 3.2.4.1.4 "Sending Compounded
//! Requests", 3.2.5.1.3 / 3.2.5.1.9 for compounded responses).
//!
//! Several requests travel in one TCP frame: each message starts on an 8-byte boundary, its
//! header's NextCommand gives the offset of the next one (0 on the last). A *related* request
//! (SMB2_FLAGS_RELATED_OPERATIONS) uses the TreeId and FileId produced by the one before it:
//! TreeId 0xFFFFFFFF and FileId {0xFFFF…, 0xFFFF…} stand for "the previous one's". Each message
//! is signed on its own, over its bytes including the padding up to NextCommand; on an
//! encrypted session the whole chain is sealed in one TRANSFORM_HEADER.
//!
//! Responses may come back chained the same way (Samba does), or one by one (e.g. when the
//! last request goes asynchronous): [`Connection::receive_chain`] accepts both.

use super::{Connection, Received};
use crate::smb2::create::FileId;
use crate::smb2::header::{FLAG_RELATED_OPERATIONS, Header};
use crate::smb2::ioctl::FSCTL_PIPE_TRANSCEIVE;
use crate::smb2::negotiate::CAP_LARGE_MTU;
use crate::smb2::transform::TRANSFORM_PROTOCOL_ID;
use crate::smb2::{
    Command, Dialect, HEADER_LEN, Result, Smb2Error, close, create, ioctl, logoff, signing,
    tree_connect,
};
use crate::status::NtStatus;
use crate::wire::Writer;

/// The TreeId meaning "the previous request's" in a related compound.
const RELATED_TREE_ID: u32 = 0xFFFF_FFFF;

/// Several requests sent in one frame (a compound chain).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingCompound {
    /// The MessageId and command of each request, in order.
    pub requests: Vec<(u64, Command)>,
    /// The whole chain (or its TRANSFORM_HEADER message when sealed), without the TCP frame
    /// header.
    pub bytes: Vec<u8>,
}

/// One request of a chain.
struct Part {
    command: Command,
    body: Vec<u8>,
    tree_id: u32,
    expected_response: usize,
    force_sign: bool,
    related: bool,
}

impl Connection {
    /// Whether a TREE_CONNECT now would have to be followed by VALIDATE_NEGOTIATE_INFO
    /// before anything else (3.0 / 3.0.2 authenticated sessions), so that it cannot be
    /// compounded with the pipe open.
    pub fn validate_negotiate_pending(&self) -> bool {
        let Some(n) = &self.negotiated else { return false };
        (n.dialect == Dialect::SMB300 || n.dialect == Dialect::SMB302)
            && !self.validated
            && !self.anonymous_session
            && self.keys.is_some()
    }

    /// One related chain opening the pipe and sending its first PDU: TREE_CONNECT
    /// `\\server\IPC$` (when `server` is given; otherwise the tree must be connected already),
    /// CREATE `pipe`, IOCTL FSCTL_PIPE_TRANSCEIVE of `pdu` on the just-opened handle.
    ///
    /// Process the responses with `handle_tree_connect`, `handle_create` and
    /// `handle_transceive`, in order.
    pub fn open_pipe_compound(
        &mut self,
        server: Option<&str>,
        pipe: &str,
        pdu: &[u8],
    ) -> Result<OutgoingCompound> {
        self.expect_phase(super::Phase::Established, "pipe open before session setup")?;
        let mut parts = Vec::with_capacity(3);
        let (create_tree, create_related) = match server {
            Some(server) => {
                if self.tree_connected {
                    return Err(Smb2Error::State("already tree-connected"));
                }
                if self.validate_negotiate_pending() {
                    return Err(Smb2Error::State(
                        "VALIDATE_NEGOTIATE_INFO must follow the tree connect",
                    ));
                }
                let force = self.neg()?.dialect == Dialect::SMB311;
                parts.push(Part {
                    command: Command::TREE_CONNECT,
                    body: tree_connect::encode_body(&format!(r"\\{server}\IPC$")),
                    tree_id: 0,
                    expected_response: 0,
                    force_sign: force,
                    related: false,
                });
                (RELATED_TREE_ID, true)
            }
            None => {
                self.tree_ready()?;
                (self.tree_id, false)
            }
        };
        parts.push(Part {
            command: Command::CREATE,
            body: create::encode_pipe_open_body(pipe),
            tree_id: create_tree,
            expected_response: 0,
            force_sign: false,
            related: create_related,
        });
        let max = self.pipe_read_len();
        parts.push(Part {
            command: Command::IOCTL,
            body: ioctl::encode_body(FSCTL_PIPE_TRANSCEIVE, FileId::ANY, pdu, max),
            tree_id: RELATED_TREE_ID,
            expected_response: max as usize,
            force_sign: false,
            related: true,
        });
        self.compound(parts)
    }

    /// CLOSE `file_id`, TREE_DISCONNECT and LOGOFF in one (unrelated) chain. Process the
    /// responses with `handle_close`, `handle_tree_disconnect`, `handle_logoff` — or do not
    /// wait for them at all when the connection is about to be dropped.
    pub fn teardown_compound(&mut self, file_id: FileId) -> Result<OutgoingCompound> {
        self.expect_phase(super::Phase::Established, "teardown before session setup")?;
        let tree = self.tree_id;
        let part = |command, body, tree_id| Part {
            command,
            body,
            tree_id,
            expected_response: 0,
            force_sign: false,
            related: false,
        };
        self.compound(vec![
            part(Command::CLOSE, close::encode_body(file_id), tree),
            part(Command::TREE_DISCONNECT, logoff::encode_body(), tree),
            part(Command::LOGOFF, logoff::encode_body(), 0),
        ])
    }

    /// Build, sign (each message) or seal (the whole chain) a compound request.
    fn compound(&mut self, parts: Vec<Part>) -> Result<OutgoingCompound> {
        let large_mtu = self
            .negotiated
            .as_ref()
            .map(|n| n.dialect >= Dialect::SMB210 && n.capabilities & CAP_LARGE_MTU != 0)
            .unwrap_or(false);
        let charges: Vec<u16> = parts
            .iter()
            .map(|p| {
                let payload = p.body.len().max(p.expected_response);
                if large_mtu { payload.div_ceil(65536).clamp(1, 255) as u16 } else { 1 }
            })
            .collect();
        let total: u64 = charges.iter().map(|c| u64::from(*c)).sum();
        if self.credits < total {
            return Err(Smb2Error::NoCredits);
        }
        let signer = match (&self.keys, &self.negotiated) {
            (Some(k), Some(n)) if !self.encrypt_on => Some((n.signing_algorithm, &k.signing)),
            _ => None,
        };
        let mut chain = Vec::new();
        let mut requests = Vec::with_capacity(parts.len());
        let mut credits = self.credits;
        let mut next_id = self.next_message_id;
        let last = parts.len().saturating_sub(1);
        for (i, (p, charge)) in parts.iter().zip(&charges).enumerate() {
            let mut h = Header::request(p.command, next_id, self.session_id, p.tree_id);
            h.credit_charge = *charge;
            if p.related {
                h.flags |= FLAG_RELATED_OPERATIONS;
            }
            credits -= u64::from(*charge);
            let want =
                u64::from(self.cfg.credit_target).saturating_sub(credits).max(u64::from(*charge));
            h.credits = want.min(u64::from(u16::MAX)) as u16;
            let len = HEADER_LEN + p.body.len();
            let padded = if i == last { len } else { len.div_ceil(8) * 8 };
            if i != last {
                h.next_command =
                    u32::try_from(padded).map_err(|_| Smb2Error::Protocol("message too long"))?;
            }
            let mut w = Writer::with_capacity(padded);
            h.encode(&mut w);
            w.bytes(&p.body);
            w.zeros(padded - len);
            let mut msg = w.into_vec();
            if let Some((alg, key)) = signer {
                if self.signing_on || p.force_sign {
                    signing::sign(&mut msg, alg, key)
                        .ok_or(Smb2Error::Protocol("cannot sign the request"))?;
                }
            }
            chain.extend_from_slice(&msg);
            requests.push((next_id, p.command));
            next_id = next_id
                .checked_add(u64::from(*charge))
                .ok_or(Smb2Error::Protocol("message ids exhausted"))?;
        }
        let bytes = if self.encrypt_on { self.seal(&chain)? } else { chain };
        self.next_message_id = next_id;
        self.credits = credits;
        for (id, cmd) in &requests {
            self.outstanding.insert(*id, *cmd);
        }
        Ok(OutgoingCompound { requests, bytes })
    }

    /// Check one received frame payload that may hold a chain of responses (decrypting it
    /// first if sealed); returns what each message was, in order.
    pub fn receive_chain(&mut self, msg: &[u8]) -> Result<Vec<Received>> {
        let (plain, encrypted) = if msg.starts_with(&TRANSFORM_PROTOCOL_ID) {
            (self.open(msg)?, true)
        } else {
            (msg.to_vec(), false)
        };
        let mut out = Vec::new();
        let mut rest: &[u8] = &plain;
        loop {
            let header = Header::decode(rest)?;
            let next = header.next_command as usize;
            if next == 0 {
                // Samba pads the last response of a chain too.
                let mut item = self.receive_one(rest.to_vec(), encrypted)?;
                strip_padding(&mut item);
                out.push(item);
                return Ok(out);
            }
            if next < HEADER_LEN || next % 8 != 0 || next > rest.len() {
                return Err(Smb2Error::Protocol("bad NextCommand in a compound response"));
            }
            let (this, tail) = rest.split_at(next);
            // The signature covers the padding; the message decoders do not expect it.
            let mut item = self.receive_one(this.to_vec(), encrypted)?;
            strip_padding(&mut item);
            out.push(item);
            // A chain of a few requests never answers with more messages than we have open.
            if out.len() > 64 {
                return Err(Smb2Error::Protocol("too many messages in a compound response"));
            }
            rest = tail;
        }
    }
}

/// A little-endian u32 at `at`, if present.
fn u32_at(m: &[u8], at: usize) -> Option<usize> {
    let b = m.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// The length of a chained response without its alignment padding (at most 7 bytes, not
/// necessarily zero: Samba leaves them as they were):
/// the end of the fixed part (StructureSize) or of the furthest variable buffer the body
/// points at, whichever is later. Anything that does not look like padding is left for the
/// decoder to judge.
fn unpadded_len(m: &[u8], command: Command, status: NtStatus) -> usize {
    let len = m.len();
    let body = HEADER_LEN;
    let Some(ss) = m.get(body..body + 2).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
    else {
        return len;
    };
    let fixed = body + (ss & !1);
    let end = |off: Option<usize>, n: Option<usize>| match (off, n) {
        (Some(o), Some(n)) if n > 0 => o.saturating_add(n),
        _ => 0,
    };
    let want = if status.is_error() {
        // ERROR response: 8 fixed bytes then ByteCount bytes (at least one).
        body + 8 + u32_at(m, body + 4).unwrap_or(0).max(1)
    } else if command == Command::CREATE {
        fixed.max(end(u32_at(m, body + 80), u32_at(m, body + 84)))
    } else if command == Command::IOCTL {
        fixed
            .max(end(u32_at(m, body + 24), u32_at(m, body + 28)))
            .max(end(u32_at(m, body + 32), u32_at(m, body + 36)))
    } else if command == Command::READ {
        fixed.max(end(m.get(body + 2).map(|b| usize::from(*b)), u32_at(m, body + 4)))
    } else {
        fixed
    };
    let padding = len.saturating_sub(want);
    if want <= len && padding < 8 { want } else { len }
}

/// Drop a final response's alignment padding (see [`unpadded_len`]).
fn strip_padding(item: &mut Received) {
    if let Received::Final(r) = item {
        let len = unpadded_len(&r.message, r.header.command, r.header.status);
        r.message.truncate(len);
    }
}
