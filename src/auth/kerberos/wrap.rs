//! Per-message tokens of the Kerberos GSS-API mechanism for AES keys ([RFC 4121] 4.2, "CFX"),
//! in the DCE form MS-RPCE uses for packet integrity and privacy ([MS-KILE] 3.4.5.4.1 and 4.3;
//! research note "ncacn-ip-tcp").
//!
//! # The sealed (wrap) token as DCE/RPC carries it
//!
//! The PDU is three buffers: the part before the stub (header, request fields) and the
//! sec_trailer are *sign only*; the stub with its auth padding is *encrypted in place*. With a
//! 16-byte token header `05 04 flags ff EC RRC SEQ` (EC = 16, RRC = 28, SEQ 64-bit big-endian):
//!
//! ```text
//! P  = confounder(16) | stub | filler(EC, 0xff) | header with RRC = 0 (what is encrypted)
//! C  = AES-CTS(Ke, P)                                                 (same length as P)
//! H  = HMAC-SHA1-96(Ki, confounder | head | stub | sec_trailer | filler | header')
//! token (before rotation) = header | C | H, rotated right by EC + RRC
//! auth_value = header | C[filler, header'] | H | C[confounder]      (16 + 16 + 16 + 12 + 16 = 76)
//! stub       ← C[stub]
//! ```
//!
//! The checksum covers the sign-only buffers in their order in the PDU ([MS-KILE] 3.4.5.4.1:
//! "the concatenation in order of all the input buffers"); encryption covers only the stub.
//! This layout was checked byte for byte against an rpcclient ↔ Samba 4.22 capture whose
//! keys came from the client's ticket cache (`tests/vectors/samba-dc-tcp-krb5/`).
//!
//! # The MIC token (integrity only)
//!
//! `04 04 flags ff ff ff ff ff SEQ` followed by HMAC-SHA1-96(Kc, whole signed PDU | header):
//! 28 bytes.
//!
//! # Keys, usages, sequence numbers
//!
//! The acceptor's subkey (from the AP-REP) when it sent one, flagged `AcceptorSubkey`, else the
//! initiator's. Usages: initiator seal 24 / sign 25, acceptor seal 22 / sign 23. Each side's
//! sequence numbers start at the `seq-number` of its AP message and count up by one per token.
//! Only AES keys (etypes 17 and 18) are supported: RC4's DCE tokens are a different, weaker
//! format ([RFC 4757]) that this client does not speak.
//!
//! [RFC 4121]: https://www.rfc-editor.org/rfc/rfc4121
//! [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757
//! [MS-KILE]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-kile/

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::crypto::KerberosKey;
use super::crypto::aes::{KC, KE, KI, aes_cts_decrypt, aes_cts_encrypt, hmac_sha1_96, usage_key};
use crate::rng::SecureRandom;

/// TOK_ID of a wrap token.
const TOK_WRAP: [u8; 2] = [0x05, 0x04];
/// TOK_ID of a MIC token.
const TOK_MIC: [u8; 2] = [0x04, 0x04];
/// Flag: the token was sent by the context acceptor.
pub const FLAG_SENT_BY_ACCEPTOR: u8 = 0x01;
/// Flag: the wrap token's data is encrypted.
pub const FLAG_SEALED: u8 = 0x02;
/// Flag: the acceptor's subkey protects the token.
pub const FLAG_ACCEPTOR_SUBKEY: u8 = 0x04;
/// Token header length.
pub const HEADER_LEN: usize = 16;
/// The checksum length of the AES enctypes.
const MAC_LEN: usize = 12;
/// The AES block (and confounder) length.
const BLOCK: usize = 16;
/// EC, the filler length this side sends ([MS-KILE] 3.4.5.4.1: "one block").
pub const EC: usize = 16;
/// RRC of a sealed DCE token ([MS-KILE] 3.4.5.4.1: 28 when encrypting).
pub const RRC_SEALED: usize = 28;
/// The largest EC accepted from a peer (a bound on what it can make us allocate).
const MAX_EC: usize = 64;
/// The auth_value length of a sealed DCE token with [`EC`] = 16.
pub const DCE_WRAP_LEN: usize = HEADER_LEN + EC + HEADER_LEN + MAC_LEN + BLOCK;
/// The auth_value length of a MIC token.
pub const MIC_LEN: usize = HEADER_LEN + MAC_LEN;

/// Key usages ([RFC 4121] 2).
mod usage {
    pub(super) const ACCEPTOR_SEAL: u32 = 22;
    pub(super) const ACCEPTOR_SIGN: u32 = 23;
    pub(super) const INITIATOR_SEAL: u32 = 24;
    pub(super) const INITIATOR_SIGN: u32 = 25;
}

/// A derived key (Ke, Ki or Kc), zeroized on drop.
type DerivedKey = Zeroizing<Vec<u8>>;

/// Why a token could not be made or accepted. The text names the failed check only (never
/// key or plaintext bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Kerberos {0}")]
pub struct WrapError(pub &'static str);

/// One side of an established Kerberos context's per-message protection.
pub struct CfxContext {
    key: KerberosKey,
    initiator: bool,
    acceptor_subkey: bool,
    send_seq: u64,
    recv_seq: u64,
}

impl fmt::Debug for CfxContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CfxContext")
            .field("key", &self.key)
            .field("initiator", &self.initiator)
            .field("acceptor_subkey", &self.acceptor_subkey)
            .field("send_seq", &self.send_seq)
            .field("recv_seq", &self.recv_seq)
            .finish()
    }
}

/// The three buffers of a DCE/RPC PDU as the token sees them.
pub struct DceBuffers<'a> {
    /// Sign only: the PDU from its first byte to the stub.
    pub head: &'a [u8],
    /// Encrypted in place (at privacy) or signed (at integrity): the stub and its auth pad.
    pub data: &'a mut [u8],
    /// Sign only: the sec_trailer.
    pub tail: &'a [u8],
}

impl CfxContext {
    /// A context protected by `key`. `initiator`: this side started the context (a client).
    /// `acceptor_subkey`: `key` is the subkey the acceptor sent in its AP-REP. `send_seq` and
    /// `recv_seq`: the first sequence numbers of each direction. AES keys only.
    pub fn new(
        key: KerberosKey,
        initiator: bool,
        acceptor_subkey: bool,
        send_seq: u64,
        recv_seq: u64,
    ) -> Result<Self, WrapError> {
        if !key.etype().is_aes() {
            return Err(WrapError(
                "per-message tokens need an AES session key (RC4 is not supported here)",
            ));
        }
        Ok(Self { key, initiator, acceptor_subkey, send_seq, recv_seq })
    }

    /// The next sequence number this side sends.
    pub fn send_seq(&self) -> u64 {
        self.send_seq
    }

    /// The next sequence number expected from the peer.
    pub fn recv_seq(&self) -> u64 {
        self.recv_seq
    }

    fn flags(&self, sending: bool, sealed: bool) -> u8 {
        let mut f = if sealed { FLAG_SEALED } else { 0 };
        if self.acceptor_subkey {
            f |= FLAG_ACCEPTOR_SUBKEY;
        }
        // A token is "sent by the acceptor" when its sender is not the initiator.
        if sending != self.initiator {
            f |= FLAG_SENT_BY_ACCEPTOR;
        }
        f
    }

    fn usage(&self, sending: bool, seal: bool) -> u32 {
        match (sending == self.initiator, seal) {
            (true, true) => usage::INITIATOR_SEAL,
            (true, false) => usage::INITIATOR_SIGN,
            (false, true) => usage::ACCEPTOR_SEAL,
            (false, false) => usage::ACCEPTOR_SIGN,
        }
    }

    fn wrap_header(&self, sending: bool, ec: usize, rrc: usize, seq: u64) -> [u8; HEADER_LEN] {
        let mut h = [0u8; HEADER_LEN];
        h[..2].copy_from_slice(&TOK_WRAP);
        h[2] = self.flags(sending, true);
        h[3] = 0xff;
        // EC and RRC are at most MAX_EC and RRC_SEALED here.
        h[4..6].copy_from_slice(&(ec as u16).to_be_bytes());
        h[6..8].copy_from_slice(&(rrc as u16).to_be_bytes());
        h[8..].copy_from_slice(&seq.to_be_bytes());
        h
    }

    /// Ke and Ki for `usage`.
    fn keys(&self, usage: u32) -> Result<(DerivedKey, DerivedKey), WrapError> {
        let bad = |_| WrapError("key derivation failed");
        Ok((
            usage_key(self.key.expose(), usage, KE).map_err(bad)?,
            usage_key(self.key.expose(), usage, KI).map_err(bad)?,
        ))
    }

    /// Seal `bufs.data` in place and return the [`DCE_WRAP_LEN`]-byte token for the
    /// sec_trailer's auth_value, with a fresh confounder.
    pub fn wrap_dce(
        &mut self,
        bufs: DceBuffers<'_>,
        rng: &mut dyn SecureRandom,
    ) -> Result<Vec<u8>, WrapError> {
        let mut conf = Zeroizing::new([0u8; BLOCK]);
        rng.fill(&mut conf[..]);
        self.wrap_dce_with_confounder(bufs, &conf)
    }

    /// [`CfxContext::wrap_dce`] with a given confounder (known-answer tests).
    pub fn wrap_dce_with_confounder(
        &mut self,
        bufs: DceBuffers<'_>,
        confounder: &[u8; BLOCK],
    ) -> Result<Vec<u8>, WrapError> {
        let seq = self.send_seq;
        let header = self.wrap_header(true, EC, RRC_SEALED, seq);
        let inner = self.wrap_header(true, EC, 0, seq);
        let (ke, ki) = self.keys(self.usage(true, true))?;
        let n = bufs.data.len();
        // The filler is arbitrary ([RFC 4121] 4.2.4); 0xff as Samba (Heimdal) sends it.
        let filler = [0xffu8; EC];
        let mut p = Zeroizing::new(Vec::with_capacity(BLOCK + n + EC + HEADER_LEN));
        p.extend_from_slice(confounder);
        p.extend_from_slice(bufs.data);
        p.extend_from_slice(&filler);
        p.extend_from_slice(&inner);
        let mac =
            hmac_sha1_96(&ki, &[confounder, bufs.head, bufs.data, bufs.tail, &filler, &inner]);
        let c = aes_cts_encrypt(&ke, &p).map_err(|_| WrapError("encryption failed"))?;
        bufs.data.copy_from_slice(&c[BLOCK..BLOCK + n]);
        let mut token = Vec::with_capacity(DCE_WRAP_LEN);
        token.extend_from_slice(&header);
        token.extend_from_slice(&c[BLOCK + n..]);
        token.extend_from_slice(&mac);
        token.extend_from_slice(&c[..BLOCK]);
        self.send_seq = self.send_seq.wrapping_add(1);
        Ok(token)
    }

    /// Check and open a sealed token from the peer: `bufs.data` is decrypted in place only if
    /// the checksum (compared in constant time), the header and the sequence number all hold;
    /// on failure it is left as received.
    pub fn unwrap_dce(&mut self, bufs: DceBuffers<'_>, token: &[u8]) -> Result<(), WrapError> {
        if token.len() < HEADER_LEN {
            return Err(WrapError("wrap token is shorter than its header"));
        }
        let (hdr, rest) = token.split_at(HEADER_LEN);
        if hdr[..2] != TOK_WRAP || hdr[3] != 0xff {
            return Err(WrapError("token is not a wrap token"));
        }
        if hdr[2] != self.flags(false, true) {
            return Err(WrapError("wrap token has unexpected flags"));
        }
        let ec = usize::from(u16::from_be_bytes([hdr[4], hdr[5]]));
        let rrc = usize::from(u16::from_be_bytes([hdr[6], hdr[7]]));
        if ec > MAX_EC || rrc != RRC_SEALED {
            return Err(WrapError("wrap token has an unsupported EC or RRC"));
        }
        // After the header: C[filler, header'] (EC + 16) | H (12) | C[confounder] (16).
        if rest.len() != ec + HEADER_LEN + MAC_LEN + BLOCK {
            return Err(WrapError("wrap token has the wrong length"));
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&hdr[8..]);
        if u64::from_be_bytes(seq) != self.recv_seq {
            return Err(WrapError("wrap token has an unexpected sequence number"));
        }
        let (c_tail, rest) = rest.split_at(ec + HEADER_LEN);
        let (mac, c_conf) = rest.split_at(MAC_LEN);
        let n = bufs.data.len();
        let mut c = Vec::with_capacity(BLOCK + n + ec + HEADER_LEN);
        c.extend_from_slice(c_conf);
        c.extend_from_slice(bufs.data);
        c.extend_from_slice(c_tail);
        let (ke, ki) = self.keys(self.usage(false, true))?;
        let p = aes_cts_decrypt(&ke, &c).map_err(|_| WrapError("decryption failed"))?;
        let (conf, after) = p.split_at(BLOCK);
        let (data, after) = after.split_at(n);
        let (filler, inner) = after.split_at(ec);
        let want = hmac_sha1_96(&ki, &[conf, bufs.head, data, bufs.tail, filler, inner]);
        if !bool::from(want.ct_eq(mac)) {
            return Err(WrapError("wrap token integrity check failed"));
        }
        // The encrypted header copy must equal the clear one, RRC aside ([RFC 4121] 4.2.4).
        let mut expect = [0u8; HEADER_LEN];
        expect.copy_from_slice(hdr);
        expect[6..8].copy_from_slice(&[0, 0]);
        if inner != expect {
            return Err(WrapError("wrap token's encrypted header does not match"));
        }
        bufs.data.copy_from_slice(data);
        self.recv_seq = self.recv_seq.wrapping_add(1);
        Ok(())
    }

    fn mic_header(&self, sending: bool, seq: u64) -> [u8; HEADER_LEN] {
        let mut h = [0xffu8; HEADER_LEN];
        h[..2].copy_from_slice(&TOK_MIC);
        h[2] = self.flags(sending, false);
        h[8..].copy_from_slice(&seq.to_be_bytes());
        h
    }

    fn mic_checksum(
        &self,
        sending: bool,
        header: &[u8],
        parts: &[&[u8]],
    ) -> Result<[u8; MAC_LEN], WrapError> {
        let kc = usage_key(self.key.expose(), self.usage(sending, false), KC)
            .map_err(|_| WrapError("key derivation failed"))?;
        let mut all: Vec<&[u8]> = parts.to_vec();
        all.push(header);
        Ok(hmac_sha1_96(&kc, &all))
    }

    /// A [`MIC_LEN`]-byte MIC token over the concatenation of `parts`.
    pub fn get_mic(&mut self, parts: &[&[u8]]) -> Result<Vec<u8>, WrapError> {
        let header = self.mic_header(true, self.send_seq);
        let mac = self.mic_checksum(true, &header, parts)?;
        let mut token = header.to_vec();
        token.extend_from_slice(&mac);
        self.send_seq = self.send_seq.wrapping_add(1);
        Ok(token)
    }

    /// Check the peer's MIC token over `parts` (constant-time comparison).
    pub fn verify_mic(&mut self, parts: &[&[u8]], token: &[u8]) -> Result<(), WrapError> {
        if token.len() != MIC_LEN {
            return Err(WrapError("MIC token has the wrong length"));
        }
        let (hdr, mac) = token.split_at(HEADER_LEN);
        let expect = self.mic_header(false, self.recv_seq);
        if hdr[..2] != TOK_MIC || hdr[3..8] != [0xff; 5] {
            return Err(WrapError("token is not a MIC token"));
        }
        if hdr[2] != expect[2] {
            return Err(WrapError("MIC token has unexpected flags"));
        }
        if hdr[8..] != expect[8..] {
            return Err(WrapError("MIC token has an unexpected sequence number"));
        }
        let want = self.mic_checksum(false, hdr, parts)?;
        if !bool::from(want.ct_eq(mac)) {
            return Err(WrapError("MIC token integrity check failed"));
        }
        self.recv_seq = self.recv_seq.wrapping_add(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
