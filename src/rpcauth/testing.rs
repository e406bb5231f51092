//! A scripted server side of the RPC-level NTLM bind and of sealed/signed calls, for
//! in-memory tests of what a real server cannot be made to send (a tampered sealed body, a
//! wrong or missing verifier, a skipped sequence number). Test support only; not part of the
//! supported API.
#![allow(clippy::missing_panics_doc)]

use std::collections::VecDeque;

use crate::auth::ntlm::av_pair::{AvId, AvPairs};
use crate::auth::ntlm::crypto::{hmac_md5, nt_proof_str, ntowfv2};
use crate::auth::ntlm::rc4::rc4_oneshot;
use crate::auth::ntlm::{
    Authenticate, Challenge, NtlmSealer, Version, flags, from_utf16le_lossy, utf16le,
};
use crate::dcerpc::auth::AuthLayout;
use crate::dcerpc::auth3::Auth3;
use crate::dcerpc::bind::Bind;
use crate::dcerpc::bind_ack::BindAck;
use crate::dcerpc::header::PfcFlags;
use crate::dcerpc::request::Request;
use crate::dcerpc::response::Response;
use crate::dcerpc::{AuthLevel, AuthType, AuthVerifier, PduAuth, RpcError};
use crate::secret::{NtHash, SessionKey};

use super::ntlm::{CONTEXT_ID, NtlmPduAuth};

/// How the peer answers the next call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SealedReply {
    /// A correctly protected response carrying `stub`, in `fragments` fragments.
    Ok {
        /// The plaintext stub.
        stub: Vec<u8>,
        /// Number of fragments (at least 1).
        fragments: usize,
    },
    /// A protected response whose sealed (or, at INTEGRITY, signed) stub has one byte flipped
    /// after protection.
    TamperBody(Vec<u8>),
    /// A protected response whose signature checksum has one byte flipped.
    WrongSignature(Vec<u8>),
    /// A protected response whose sequence number is one ahead (a message was skipped).
    SkipSequence(Vec<u8>),
    /// A response without any auth verifier.
    NoVerifier(Vec<u8>),
    /// The previous response's bytes again (with this call's id): a replay.
    Replay,
    /// A protected response with the header's call id changed after signing (header signing
    /// must catch it: the client accepts the call id, then the signature fails).
    TamperHeader(Vec<u8>),
}

/// The server side of an NTLM-authenticated association.
pub struct NtlmRpcPeer {
    user: String,
    hash: NtHash,
    /// Whether the BIND_ACK echoes `PFC_SUPPORT_HEADER_SIGN`.
    pub header_signing: bool,
    /// The auth level of the BIND, once seen.
    pub level: Option<AuthLevel>,
    /// Call id of the BIND, once seen.
    pub bind_call_id: Option<u32>,
    /// Call id of the AUTH3, once seen.
    pub auth3_call_id: Option<u32>,
    /// The BIND's pfc_flags, once seen.
    pub bind_flags: Option<PfcFlags>,
    /// NTLM flags of the AUTHENTICATE, once seen.
    pub ntlm_flags: Option<u32>,
    challenge: Vec<u8>,
    auth: Option<NtlmPduAuth>,
    /// Plaintext stubs of the calls received, in order.
    pub calls: Vec<(u16, Vec<u8>)>,
    script: VecDeque<SealedReply>,
    last_reply: Vec<u8>,
    max_frag: u16,
}

/// What a server does with an AUTHENTICATE ([MS-NLMP] 3.2.5.1.2): check the NTLMv2 proof of
/// `user` with `hash` against `challenge` and recover the ExportedSessionKey. Returns the key
/// and the AUTHENTICATE's flags.
pub fn server_session_key(
    authenticate: &[u8],
    challenge: &[u8],
    user: &str,
    hash: &NtHash,
) -> Result<(SessionKey, u32), RpcError> {
    let a = Authenticate::decode(authenticate)?;
    let c = Challenge::decode(challenge)?;
    let sent_user = from_utf16le_lossy(&a.user);
    if !sent_user.eq_ignore_ascii_case(user) || a.nt_response.len() < 16 {
        return Err(RpcError::Auth("peer: unknown user"));
    }
    let dom = from_utf16le_lossy(&a.domain);
    let key = ntowfv2(hash, &sent_user, &dom);
    let proof = nt_proof_str(&key, &c.server_challenge, &a.nt_response[16..]);
    if !crate::secret::ct_eq(&proof, &a.nt_response[..16]) {
        return Err(RpcError::Auth("peer: wrong password"));
    }
    let base = hmac_md5(key.expose(), &[&proof]);
    let exported = if a.flags & flags::KEY_EXCH != 0 && a.encrypted_session_key.len() == 16 {
        let mut k = [0u8; 16];
        k.copy_from_slice(&a.encrypted_session_key);
        rc4_oneshot(&base, &mut k);
        k
    } else {
        base
    };
    Ok((SessionKey::new(exported), a.flags))
}

/// Where stub, pad, sec_trailer and signature sit in a REQUEST PDU without an object UUID
/// that carries a verifier.
pub fn request_layout(pdu: &[u8]) -> Result<AuthLayout, RpcError> {
    let req = Request::decode(pdu)?;
    let v = req.auth.as_ref().ok_or(RpcError::Protocol("request without auth"))?;
    let bad = RpcError::Protocol("request verifier layout out of range");
    let trailer = pdu.len().checked_sub(v.auth_value.len() + 8).ok_or(bad.clone())?;
    let pad = usize::from(*pdu.get(trailer + 2).ok_or(bad.clone())?);
    let stub_end = trailer.checked_sub(pad).filter(|e| *e >= 24).ok_or(bad)?;
    Ok(AuthLayout {
        stub: 24..stub_end,
        pad,
        sec_trailer: trailer,
        auth_value: trailer + 8..pdu.len(),
    })
}

impl core::fmt::Debug for NtlmRpcPeer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NtlmRpcPeer").field("user", &self.user).finish_non_exhaustive()
    }
}

impl NtlmRpcPeer {
    /// A peer accepting `user` (in domain `SAMR`) with the NT hash `hash`.
    pub fn new(user: &str, hash: NtHash) -> Self {
        let mut ti = AvPairs::new();
        ti.set(AvId::NB_DOMAIN_NAME, utf16le("SAMR"));
        ti.set(AvId::NB_COMPUTER_NAME, utf16le("DC1"));
        ti.set(AvId::TIMESTAMP, 0x01db_0000_0000_0000u64.to_le_bytes().to_vec());
        let challenge = Challenge {
            target_name: utf16le("SAMR"),
            flags: 0x62_8a_82_35 | flags::TARGET_INFO | flags::NEGOTIATE_56,
            server_challenge: [0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88],
            target_info: Some(ti),
            version: Some(Version::CLIENT),
        }
        .encode();
        Self {
            user: user.to_owned(),
            hash,
            header_signing: true,
            level: None,
            bind_call_id: None,
            auth3_call_id: None,
            bind_flags: None,
            ntlm_flags: None,
            challenge,
            auth: None,
            calls: Vec::new(),
            script: VecDeque::new(),
            last_reply: Vec::new(),
            max_frag: 4280,
        }
    }

    /// Clear `mask` from the CHALLENGE's flags (a server, or a man in the middle, that does
    /// not grant them).
    pub fn clear_challenge_flags(&mut self, mask: u32) {
        if let Ok(mut c) = Challenge::decode(&self.challenge) {
            c.flags &= !mask;
            self.challenge = c.encode();
        }
    }

    /// Queue the answer to the next call.
    pub fn push(&mut self, r: SealedReply) -> &mut Self {
        self.script.push_back(r);
        self
    }

    /// Answer a BIND carrying an NTLM NEGOTIATE with a BIND_ACK carrying the CHALLENGE.
    pub fn answer_bind(&mut self, pdu: &[u8]) -> Result<Vec<u8>, RpcError> {
        let bind = Bind::decode(pdu)?;
        let v = bind.auth.as_ref().ok_or(RpcError::Protocol("peer: BIND without auth"))?;
        if v.auth_type != AuthType::NTLMSSP {
            return Err(RpcError::Protocol("peer: BIND auth is not NTLMSSP"));
        }
        self.level = Some(v.auth_level);
        self.bind_call_id = Some(bind.call_id);
        self.bind_flags = Some(bind.flags);
        // Bind-time features: security context multiplexing and keep-connection-on-orphan
        // (0x03), as Samba answers.
        let results = crate::dcerpc::testing::accept_contexts(&bind, 0x03);
        let flags = if self.header_signing && bind.flags.contains(PfcFlags::SUPPORT_HEADER_SIGN) {
            PfcFlags::FIRST_LAST.with(PfcFlags::SUPPORT_HEADER_SIGN)
        } else {
            PfcFlags::FIRST_LAST
        };
        BindAck {
            call_id: bind.call_id,
            flags,
            max_xmit_frag: self.max_frag,
            max_recv_frag: self.max_frag,
            assoc_group_id: 0x1234,
            sec_addr: b"49154\0".to_vec(),
            results,
            auth: Some(AuthVerifier {
                auth_type: AuthType::NTLMSSP,
                auth_level: v.auth_level,
                context_id: v.context_id,
                auth_value: self.challenge.clone(),
            }),
        }
        .encode()
    }

    /// Take the AUTH3: check the NTLMv2 proof with the account's hash and derive the keys.
    pub fn accept_auth3(&mut self, pdu: &[u8]) -> Result<(), RpcError> {
        let a3 = Auth3::decode(pdu)?;
        self.auth3_call_id = Some(a3.call_id);
        let (exported, neg) =
            server_session_key(&a3.auth.auth_value, &self.challenge, &self.user, &self.hash)?;
        self.ntlm_flags = Some(neg);
        let level = self.level.unwrap_or(AuthLevel::PRIVACY);
        self.auth = Some(NtlmPduAuth::new(NtlmSealer::new_server(&exported, neg), level));
        Ok(())
    }

    /// Take every REQUEST fragment of one call (unprotecting each), then answer it from the
    /// script.
    pub fn answer_call(&mut self, fragments: &[Vec<u8>]) -> Result<Vec<u8>, RpcError> {
        let auth = self.auth.as_mut().ok_or(RpcError::Protocol("peer: no AUTH3 yet"))?;
        let mut stub = Vec::new();
        let mut call_id = 0;
        let mut opnum = 0;
        for f in fragments {
            let mut f = f.clone();
            let req = Request::decode(&f)?;
            let layout = request_layout(&f)?;
            auth.unprotect(&mut f, &layout)?;
            stub.extend_from_slice(&f[layout.stub.clone()]);
            call_id = req.call_id;
            opnum = req.opnum;
        }
        self.calls.push((opnum, stub));
        let reply = self.script.pop_front().ok_or(RpcError::Protocol("peer: no reply left"))?;
        let level = auth.level();
        let protect = |auth: &mut NtlmPduAuth, stub: &[u8], flags: PfcFlags, total: usize| {
            let r = Response {
                call_id,
                flags,
                alloc_hint: total as u32,
                context_id: 0,
                cancel_count: 0,
                stub: stub.to_vec(),
                auth: Some(AuthVerifier {
                    auth_type: AuthType::NTLMSSP,
                    auth_level: level,
                    context_id: CONTEXT_ID,
                    auth_value: vec![0; 16],
                }),
            };
            let (mut bytes, layout) = r.encode_with_layout()?;
            let layout = layout.ok_or(RpcError::Protocol("peer: no layout"))?;
            auth.protect(&mut bytes, &layout)?;
            Ok::<_, RpcError>((bytes, layout))
        };
        let out = match reply {
            SealedReply::Ok { stub, fragments } => {
                let n = fragments.max(1);
                let chunk = stub.len().div_ceil(n).div_ceil(16).max(1) * 16;
                let parts: Vec<&[u8]> =
                    if stub.is_empty() { vec![&[][..]] } else { stub.chunks(chunk).collect() };
                let mut out = Vec::new();
                let mut sent = 0;
                for (i, p) in parts.iter().enumerate() {
                    let mut fl = PfcFlags::default();
                    if i == 0 {
                        fl = fl.with(PfcFlags::FIRST_FRAG);
                    }
                    if i + 1 == parts.len() {
                        fl = fl.with(PfcFlags::LAST_FRAG);
                    }
                    out.extend(protect(auth, p, fl, stub.len() - sent)?.0);
                    sent += p.len();
                }
                out
            }
            SealedReply::TamperBody(stub) => {
                let (mut b, l) = protect(auth, &stub, PfcFlags::FIRST_LAST, stub.len())?;
                b[l.stub.start] ^= 0x01;
                b
            }
            SealedReply::WrongSignature(stub) => {
                let (mut b, l) = protect(auth, &stub, PfcFlags::FIRST_LAST, stub.len())?;
                b[l.auth_value.start + 5] ^= 0x01;
                b
            }
            SealedReply::SkipSequence(stub) => {
                // Burn one sequence number (and RC4 keystream) on a message never sent.
                protect(auth, &[0; 16], PfcFlags::FIRST_LAST, 16)?;
                protect(auth, &stub, PfcFlags::FIRST_LAST, stub.len())?.0
            }
            SealedReply::NoVerifier(stub) => Response {
                call_id,
                flags: PfcFlags::FIRST_LAST,
                alloc_hint: stub.len() as u32,
                context_id: 0,
                cancel_count: 0,
                stub,
                auth: None,
            }
            .encode()?,
            SealedReply::Replay => {
                let mut b = self.last_reply.clone();
                if b.len() >= 16 {
                    b[12..16].copy_from_slice(&call_id.to_le_bytes());
                }
                b
            }
            SealedReply::TamperHeader(stub) => {
                let (mut b, _) = protect(auth, &stub, PfcFlags::FIRST_LAST, stub.len())?;
                // cancel_count sits in the response header fields, inside the signed range.
                b[22] ^= 0x01;
                b
            }
        };
        self.last_reply = out.clone();
        Ok(out)
    }
}
