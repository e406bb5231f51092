//! SMB2 NEGOTIATE request and response with the 3.1.1 negotiate contexts ([MS-SMB2] 2.2.3,
//! 2.2.4; protocol notes 5.2).

use super::{
    Cipher, Dialect, HEADER_LEN, SigningAlgorithm, buffer_at, check_end, check_structure_size,
};
use crate::wire::{DecodeError, Reader, Writer, padding};

/// SecurityMode: signing enabled.
pub const SIGNING_ENABLED: u16 = 0x0001;
/// SecurityMode: signing required.
pub const SIGNING_REQUIRED: u16 = 0x0002;

/// Capability: DFS.
pub const CAP_DFS: u32 = 0x0000_0001;
/// Capability: leasing.
pub const CAP_LEASING: u32 = 0x0000_0002;
/// Capability: large MTU (multi-credit requests).
pub const CAP_LARGE_MTU: u32 = 0x0000_0004;
/// Capability: encryption (3.0 / 3.0.2).
pub const CAP_ENCRYPTION: u32 = 0x0000_0040;

/// Context type: PREAUTH_INTEGRITY_CAPABILITIES.
pub const CTX_PREAUTH_INTEGRITY: u16 = 0x0001;
/// Context type: ENCRYPTION_CAPABILITIES.
pub const CTX_ENCRYPTION: u16 = 0x0002;
/// Context type: SIGNING_CAPABILITIES.
pub const CTX_SIGNING: u16 = 0x0008;
/// Hash algorithm id: SHA-512.
pub const HASH_SHA512: u16 = 0x0001;

/// A NEGOTIATE request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateRequest {
    /// The dialects offered.
    pub dialects: Vec<Dialect>,
    /// SecurityMode.
    pub security_mode: u16,
    /// Capabilities.
    pub capabilities: u32,
    /// ClientGuid.
    pub client_guid: [u8; 16],
    /// The preauth-integrity salt (sent when 3.1.1 is offered).
    pub preauth_salt: [u8; 32],
    /// Ciphers in preference order (sent when 3.1.1 is offered).
    pub ciphers: Vec<Cipher>,
    /// Signing algorithms in preference order (sent when 3.1.1 is offered).
    pub signing_algorithms: Vec<SigningAlgorithm>,
}

fn context(w: &mut Writer, ty: u16, data: &[u8]) {
    w.u16(ty).u16(data.len() as u16).u32(0).bytes(data);
}

impl NegotiateRequest {
    /// Encode the body (the header is 64 bytes before it; context offsets count from the
    /// header).
    pub fn encode_body(&self) -> Vec<u8> {
        let offers_311 = self.dialects.contains(&Dialect::SMB311);
        let mut w = Writer::with_capacity(256);
        w.u16(36)
            .u16(self.dialects.len() as u16)
            .u16(self.security_mode)
            .u16(0)
            .u32(self.capabilities)
            .bytes(&self.client_guid);
        let ctx_offset_at = w.len();
        w.u32(0).u16(0).u16(0);
        for d in &self.dialects {
            w.u16(d.0);
        }
        if offers_311 {
            let mut n = 0u16;
            w.zeros(padding(HEADER_LEN + w.len(), 8));
            let off = HEADER_LEN + w.len();
            let mut data = Writer::new();
            data.u16(1).u16(32).u16(HASH_SHA512).bytes(&self.preauth_salt);
            context(&mut w, CTX_PREAUTH_INTEGRITY, data.as_slice());
            n += 1;
            if !self.ciphers.is_empty() {
                w.zeros(padding(HEADER_LEN + w.len(), 8));
                let mut data = Writer::new();
                data.u16(self.ciphers.len() as u16);
                for c in &self.ciphers {
                    data.u16(c.id());
                }
                context(&mut w, CTX_ENCRYPTION, data.as_slice());
                n += 1;
            }
            if !self.signing_algorithms.is_empty() {
                w.zeros(padding(HEADER_LEN + w.len(), 8));
                let mut data = Writer::new();
                data.u16(self.signing_algorithms.len() as u16);
                for s in &self.signing_algorithms {
                    data.u16(s.id());
                }
                context(&mut w, CTX_SIGNING, data.as_slice());
                n += 1;
            }
            w.patch_u32(ctx_offset_at, off as u32);
            w.patch_u16(ctx_offset_at + 4, n);
        }
        w.into_vec()
    }
}

/// A decoded NEGOTIATE response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NegotiateResponse {
    /// SecurityMode.
    pub security_mode: u16,
    /// The dialect selected.
    pub dialect: Dialect,
    /// ServerGuid.
    pub server_guid: [u8; 16],
    /// Capabilities.
    pub capabilities: u32,
    /// MaxTransactSize.
    pub max_transact_size: u32,
    /// MaxReadSize.
    pub max_read_size: u32,
    /// MaxWriteSize.
    pub max_write_size: u32,
    /// SystemTime (FILETIME).
    pub system_time: u64,
    /// The server's security token (SPNEGO NegTokenInit hint).
    pub security_buffer: Vec<u8>,
    /// PREAUTH_INTEGRITY hash algorithm selected (3.1.1).
    pub preauth_hash_algorithm: Option<u16>,
    /// ENCRYPTION_CAPABILITIES cipher selected (3.1.1; `Some(0)` means none in common).
    pub cipher: Option<u16>,
    /// SIGNING_CAPABILITIES algorithm selected (3.1.1).
    pub signing_algorithm: Option<u16>,
}

/// The cap on negotiate contexts we accept.
const MAX_CONTEXTS: usize = 32;

impl NegotiateResponse {
    /// Decode a NEGOTIATE response from the whole SMB2 message (header included).
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "NEGOTIATE response header")?;
        check_structure_size(&mut r, 65, "NEGOTIATE response StructureSize")?;
        let security_mode = r.u16("NEGOTIATE response SecurityMode")?;
        let dialect = Dialect(r.u16("NEGOTIATE response DialectRevision")?);
        let ctx_count = usize::from(r.u16("NEGOTIATE response NegotiateContextCount")?);
        let server_guid = r.array("NEGOTIATE response ServerGuid")?;
        let capabilities = r.u32("NEGOTIATE response Capabilities")?;
        let max_transact_size = r.u32("NEGOTIATE response MaxTransactSize")?;
        let max_read_size = r.u32("NEGOTIATE response MaxReadSize")?;
        let max_write_size = r.u32("NEGOTIATE response MaxWriteSize")?;
        let system_time = r.u64("NEGOTIATE response SystemTime")?;
        r.skip(8, "NEGOTIATE response ServerStartTime")?;
        let sec_off = usize::from(r.u16("NEGOTIATE response SecurityBufferOffset")?);
        let sec_len = usize::from(r.u16("NEGOTIATE response SecurityBufferLength")?);
        let ctx_off = r.u32("NEGOTIATE response NegotiateContextOffset")? as usize;
        let fixed_end = r.position();
        let sec = buffer_at(msg, sec_off, sec_len, fixed_end, "NEGOTIATE response SecurityBuffer")?;
        let mut end = if sec_len == 0 { 0 } else { sec_off + sec_len };
        let mut out = Self {
            security_mode,
            dialect,
            server_guid,
            capabilities,
            max_transact_size,
            max_read_size,
            max_write_size,
            system_time,
            security_buffer: sec.to_vec(),
            preauth_hash_algorithm: None,
            cipher: None,
            signing_algorithm: None,
        };
        if dialect == Dialect::SMB311 && ctx_count > 0 {
            if ctx_count > MAX_CONTEXTS {
                return Err(DecodeError::too_large("NEGOTIATE response NegotiateContextCount"));
            }
            if ctx_off < fixed_end || ctx_off % 8 != 0 || (sec_len > 0 && ctx_off < end) {
                return Err(DecodeError::invalid("NEGOTIATE response NegotiateContextOffset"));
            }
            let all = msg.get(ctx_off..).ok_or(DecodeError::truncated("negotiate contexts"))?;
            let mut cr = Reader::new(all);
            for i in 0..ctx_count {
                if i > 0 {
                    cr.align(8, "negotiate context padding")?;
                }
                let ty = cr.u16("negotiate context ContextType")?;
                let len = usize::from(cr.u16("negotiate context DataLength")?);
                cr.skip(4, "negotiate context Reserved")?;
                let mut d = cr.sub(len, "negotiate context Data")?;
                match ty {
                    CTX_PREAUTH_INTEGRITY => {
                        let n = d.u16("PREAUTH_INTEGRITY HashAlgorithmCount")?;
                        let salt_len = usize::from(d.u16("PREAUTH_INTEGRITY SaltLength")?);
                        if n != 1 {
                            return Err(DecodeError::invalid(
                                "PREAUTH_INTEGRITY HashAlgorithmCount",
                            ));
                        }
                        out.preauth_hash_algorithm =
                            Some(d.u16("PREAUTH_INTEGRITY HashAlgorithm")?);
                        d.skip(salt_len, "PREAUTH_INTEGRITY Salt")?;
                        d.finish("PREAUTH_INTEGRITY context")?;
                    }
                    CTX_ENCRYPTION => {
                        if d.u16("ENCRYPTION_CAPABILITIES CipherCount")? != 1 {
                            return Err(DecodeError::invalid(
                                "ENCRYPTION_CAPABILITIES CipherCount",
                            ));
                        }
                        out.cipher = Some(d.u16("ENCRYPTION_CAPABILITIES Cipher")?);
                        d.finish("ENCRYPTION_CAPABILITIES context")?;
                    }
                    CTX_SIGNING => {
                        if d.u16("SIGNING_CAPABILITIES SigningAlgorithmCount")? != 1 {
                            return Err(DecodeError::invalid(
                                "SIGNING_CAPABILITIES SigningAlgorithmCount",
                            ));
                        }
                        out.signing_algorithm =
                            Some(d.u16("SIGNING_CAPABILITIES SigningAlgorithm")?);
                        d.finish("SIGNING_CAPABILITIES context")?;
                    }
                    _ => {} // other contexts (compression, RDMA, ...) are ignored
                }
            }
            end = ctx_off + cr.position();
        }
        check_end(msg, fixed_end, end, "NEGOTIATE response")?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    /// A 3.1.1 NEGOTIATE response body with the context values of the MS blog capture
    /// (protocol notes 5.2: SHA-512 with a 32-byte salt, AES-128-GCM), plus SIGNING (AES-GMAC)
    /// and an 8-byte security blob, laid out by the spec (MS-SMB2 2.2.4).
    fn vector() -> Vec<u8> {
        let mut v = vec![0u8; 64];
        v[0..4].copy_from_slice(&[0xFE, b'S', b'M', b'B']);
        v.extend(h("4100 0100 1103 0300")); // size 65, mode, 3.1.1, 3 ctx
        v.extend(h("00112233445566778899AABBCCDDEEFF")); // ServerGuid
        v.extend(h("2F000000 00008000 00008000 00008000")); // caps, max sizes
        v.extend(h("0102030405060708 0000000000000000")); // times
        v.extend(h("8000 0800 88000000")); // sec @128 len 8, ctx @136
        v.extend(h("6082000000000000")); // security buffer
        v.extend(h("0100 2600 00000000 0100 2000 0100")); // PREAUTH, SHA-512, salt 32
        v.extend([0x5A; 32]);
        v.extend(h("0000")); // pad to 8
        v.extend(h("0200 0400 00000000 0100 0200")); // ENCRYPTION AES-128-GCM
        v.extend(h("0000 0000"));
        v.extend(h("0800 0400 00000000 0100 0200")); // SIGNING AES-GMAC
        v
    }

    #[test]
    fn decodes_contexts_and_rejects_truncation_and_trailing() {
        let v = vector();
        let r = NegotiateResponse::decode(&v).unwrap();
        assert_eq!(r.dialect, Dialect::SMB311);
        assert_eq!(r.security_mode, 1);
        assert_eq!(r.max_read_size, 0x0080_0000);
        assert_eq!(r.security_buffer, h("6082000000000000"));
        assert_eq!(r.preauth_hash_algorithm, Some(1));
        assert_eq!(r.cipher, Some(2));
        assert_eq!(r.signing_algorithm, Some(2));
        for n in 0..v.len() {
            assert!(NegotiateResponse::decode(&v[..n]).is_err(), "prefix {n}");
        }
        let mut t = v.clone();
        t.push(0);
        assert!(NegotiateResponse::decode(&t).is_err());
    }

    #[test]
    fn rejects_bad_offsets() {
        let mut v = vector();
        v[64 + 56] = 0x10; // security buffer inside the fixed part
        assert!(NegotiateResponse::decode(&v).is_err());
        let mut v = vector();
        v[64 + 60] = 0x89; // misaligned contexts
        assert!(NegotiateResponse::decode(&v).is_err());
    }

    /// The MS blog 3.1.1 NEGOTIATE request body (protocol notes 5.2) with our encoder: 5
    /// dialects, context offset 0x70, then the PREAUTH context.
    #[test]
    fn request_layout() {
        let req = NegotiateRequest {
            dialects: Dialect::ALL.to_vec(),
            security_mode: SIGNING_ENABLED,
            capabilities: 0x7F,
            client_guid: [0; 16],
            preauth_salt: [0xAA; 32],
            ciphers: vec![Cipher::Aes128Gcm, Cipher::Aes128Ccm],
            signing_algorithms: vec![],
        };
        let b = req.encode_body();
        assert_eq!(b[..4], h("2400 0500")[..]);
        assert_eq!(b[28..36], h("70000000 0200 0000")[..]);
        assert_eq!(b[36..46], h("0202 1002 0003 0203 1103")[..]);
        assert_eq!(b[46..48], h("0000")[..]);
        assert_eq!(b[48..62], h("0100 2600 00000000 0100 2000 0100")[..]);
        assert_eq!(b[94..96], h("0000")[..]);
        assert_eq!(b[96..], h("0200 0600 00000000 0200 0200 0100")[..]);
    }
}
