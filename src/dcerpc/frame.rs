//! Splitting a whole PDU into header, body and auth verifier, and building one back
//! (the framing shared by every PDU type; [MS-RPCE] 2.2.2.11, protocol notes 4.1 and 4.7).

use super::RpcError;
use super::auth::{AuthLayout, AuthVerifier, SecTrailer};
use super::header::{HEADER_LEN, Header, PacketType, PfcFlags, SEC_TRAILER_LEN};
use crate::wire::{DecodeError, Reader, Writer, padding};

/// A PDU split along its frame: header, body (without the auth pad) and verifier.
#[derive(Debug)]
pub(crate) struct Frame<'a> {
    pub(crate) header: Header,
    /// Bytes between the header and the auth pad (or the end of the PDU).
    pub(crate) body: &'a [u8],
    /// The sec_trailer and auth_value, when `auth_length > 0`.
    pub(crate) auth: Option<(SecTrailer, &'a [u8])>,
}

impl<'a> Frame<'a> {
    /// Split a whole PDU: `buf.len()` must equal `frag_length` exactly.
    pub(crate) fn split(buf: &'a [u8]) -> Result<Self, DecodeError> {
        let header = Header::decode(buf)?;
        let frag = usize::from(header.frag_length);
        if buf.len() < frag {
            return Err(DecodeError::truncated("PDU (shorter than frag_length)"));
        }
        if buf.len() > frag {
            return Err(DecodeError::trailing("PDU (bytes after frag_length)"));
        }
        if header.auth_length == 0 {
            let body = buf.get(HEADER_LEN..).ok_or(DecodeError::truncated("PDU body"))?;
            return Ok(Self { header, body, auth: None });
        }
        // Header::decode checked 16 + 8 + auth_length <= frag_length.
        let av_start = frag - usize::from(header.auth_length);
        let tr_start = av_start - SEC_TRAILER_LEN;
        let mut r = Reader::new(buf);
        r.skip(tr_start, "PDU body")?;
        let trailer = SecTrailer::decode(&mut r)?;
        let auth_value = r.take_rest();
        let body_end = tr_start
            .checked_sub(usize::from(trailer.auth_pad_length))
            .filter(|&e| e >= HEADER_LEN)
            .ok_or(DecodeError::invalid("auth_pad_length"))?;
        let body = buf.get(HEADER_LEN..body_end).ok_or(DecodeError::invalid("auth_pad_length"))?;
        Ok(Self { header, body, auth: Some((trailer, auth_value)) })
    }

    /// Check the PDU type.
    pub(crate) fn expect(&self, ptype: PacketType, what: &'static str) -> Result<(), DecodeError> {
        if self.header.ptype == ptype { Ok(()) } else { Err(DecodeError::invalid(what)) }
    }

    /// The verifier as an owned [`AuthVerifier`].
    pub(crate) fn verifier(&self) -> Option<AuthVerifier> {
        self.auth.as_ref().map(|(t, v)| AuthVerifier {
            auth_type: t.auth_type,
            auth_level: t.auth_level,
            context_id: t.auth_context_id,
            auth_value: v.to_vec(),
        })
    }

    /// The layout of a REQUEST/RESPONSE whose stub starts `stub_offset` bytes into the body.
    pub(crate) fn layout(&self, stub_offset: usize) -> Option<AuthLayout> {
        let (t, v) = self.auth.as_ref()?;
        let stub_start = HEADER_LEN + stub_offset;
        let stub_end = HEADER_LEN + self.body.len();
        let pad = usize::from(t.auth_pad_length);
        let sec_trailer = stub_end + pad;
        let av = sec_trailer + SEC_TRAILER_LEN;
        Some(AuthLayout {
            stub: stub_start.min(stub_end)..stub_end,
            pad,
            sec_trailer,
            auth_value: av..av + v.len(),
        })
    }
}

/// How the auth pad is computed for a PDU type.
#[derive(Copy, Clone, Debug)]
pub(crate) enum PadRule {
    /// Align `body.len() - from` to `align` (REQUEST/RESPONSE: stub, 16; BIND family: 0, 4).
    Align { from: usize, align: usize },
    /// No pad (AUTH3).
    None,
}

/// Build a whole PDU. Returns the bytes and, when a verifier is attached, its layout (the stub
/// range is `from..` of the body for [`PadRule::Align`]).
pub(crate) fn build(
    ptype: PacketType,
    flags: PfcFlags,
    call_id: u32,
    body: &[u8],
    pad_rule: PadRule,
    auth: Option<&AuthVerifier>,
) -> Result<(Vec<u8>, Option<AuthLayout>), RpcError> {
    let (pad, stub_from) = match (auth, pad_rule) {
        (None, _) => (0, 0),
        (Some(_), PadRule::None) => (0, body.len()),
        (Some(_), PadRule::Align { from, align }) => {
            (padding(body.len().saturating_sub(from), align), from.min(body.len()))
        }
    };
    let auth_len = auth.map_or(0, |a| a.auth_value.len());
    let verifier_len = if auth.is_some() { pad + SEC_TRAILER_LEN + auth_len } else { 0 };
    let total = HEADER_LEN + body.len() + verifier_len;
    let frag_length =
        u16::try_from(total).map_err(|_| RpcError::Encode("PDU exceeds 65535 bytes"))?;
    let auth_length =
        u16::try_from(auth_len).map_err(|_| RpcError::Encode("auth_value exceeds 65535 bytes"))?;
    let mut w = Writer::with_capacity(total);
    Header { ptype, flags, frag_length, auth_length, call_id }.encode(&mut w);
    w.bytes(body);
    let layout = match auth {
        None => None,
        Some(a) => {
            let stub_end = w.len();
            w.zeros(pad);
            let sec_trailer = w.len();
            SecTrailer {
                auth_type: a.auth_type,
                auth_level: a.auth_level,
                // pad < align <= 16 always fits.
                auth_pad_length: u8::try_from(pad).unwrap_or(0),
                auth_reserved: 0,
                auth_context_id: a.context_id,
            }
            .encode(&mut w);
            let av = w.len();
            w.bytes(&a.auth_value);
            Some(AuthLayout {
                stub: HEADER_LEN + stub_from..stub_end,
                pad,
                sec_trailer,
                auth_value: av..av + auth_len,
            })
        }
    };
    Ok((w.into_vec(), layout))
}
