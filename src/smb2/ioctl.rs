//! SMB2 IOCTL request and response, with FSCTL_PIPE_TRANSCEIVE and
//! FSCTL_VALIDATE_NEGOTIATE_INFO ([MS-SMB2] 2.2.31, 2.2.32, 2.2.31.4, 2.2.32.6; protocol notes
//! 5.8, 5.9).

use super::create::FileId;
use super::{Dialect, HEADER_LEN, buffer_at, check_end, check_structure_size};
use crate::wire::{DecodeError, Reader, Writer};

/// FSCTL_PIPE_TRANSCEIVE.
pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;
/// FSCTL_VALIDATE_NEGOTIATE_INFO.
pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;
/// IOCTL Flags: SMB2_0_IOCTL_IS_FSCTL.
pub const IOCTL_IS_FSCTL: u32 = 1;

/// Encode an IOCTL request body.
pub fn encode_body(ctl_code: u32, file_id: FileId, input: &[u8], max_output: u32) -> Vec<u8> {
    let mut w = Writer::with_capacity(56 + input.len());
    w.u16(57).u16(0).u32(ctl_code);
    file_id.encode(&mut w);
    let in_off = if input.is_empty() { 0 } else { (HEADER_LEN + 56) as u32 };
    w.u32(in_off)
        .u32(input.len() as u32)
        .u32(0) // MaxInputResponse
        .u32(0) // OutputOffset
        .u32(0) // OutputCount
        .u32(max_output)
        .u32(IOCTL_IS_FSCTL)
        .u32(0)
        .bytes(input);
    w.into_vec()
}

/// A decoded IOCTL response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IoctlResponse {
    /// CtlCode.
    pub ctl_code: u32,
    /// FileId.
    pub file_id: FileId,
    /// The output buffer.
    pub output: Vec<u8>,
}

/// The cap on an IOCTL output buffer we accept (above any MaxTransactSize we offer).
const MAX_OUTPUT: usize = 16 * 1024 * 1024;

impl IoctlResponse {
    /// Decode from the whole SMB2 message.
    pub fn decode(msg: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(msg);
        r.skip(HEADER_LEN, "IOCTL response header")?;
        check_structure_size(&mut r, 49, "IOCTL response StructureSize")?;
        r.skip(2, "IOCTL response Reserved")?;
        let ctl_code = r.u32("IOCTL response CtlCode")?;
        let file_id = FileId::decode(&mut r)?;
        let in_off = r.u32("IOCTL response InputOffset")? as usize;
        let in_len = r.u32("IOCTL response InputCount")? as usize;
        let out_off = r.u32("IOCTL response OutputOffset")? as usize;
        let out_len = r.u32("IOCTL response OutputCount")? as usize;
        r.skip(8, "IOCTL response Flags/Reserved2")?;
        let fixed_end = r.position();
        if out_len > MAX_OUTPUT {
            return Err(DecodeError::too_large("IOCTL response OutputCount"));
        }
        buffer_at(msg, in_off, in_len, fixed_end, "IOCTL response Input")?;
        let output = buffer_at(msg, out_off, out_len, fixed_end, "IOCTL response Output")?;
        let in_end = if in_len == 0 { 0 } else { in_off + in_len };
        let out_end = if out_len == 0 { 0 } else { out_off + out_len };
        if in_len > 0 && out_len > 0 && out_off < in_end {
            return Err(DecodeError::invalid("IOCTL response OutputOffset"));
        }
        check_end(msg, fixed_end, in_end.max(out_end), "IOCTL response")?;
        Ok(Self { ctl_code, file_id, output: output.to_vec() })
    }
}

/// The VALIDATE_NEGOTIATE_INFO request input: what our NEGOTIATE request said.
pub fn encode_validate_negotiate_input(
    capabilities: u32,
    client_guid: &[u8; 16],
    security_mode: u16,
    dialects: &[Dialect],
) -> Vec<u8> {
    let mut w = Writer::with_capacity(24 + 2 * dialects.len());
    w.u32(capabilities).bytes(client_guid).u16(security_mode).u16(dialects.len() as u16);
    for d in dialects {
        w.u16(d.0);
    }
    w.into_vec()
}

/// The VALIDATE_NEGOTIATE_INFO response output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateNegotiateInfo {
    /// Capabilities.
    pub capabilities: u32,
    /// ServerGuid.
    pub server_guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// Dialect.
    pub dialect: Dialect,
}

impl ValidateNegotiateInfo {
    /// Decode the 24-byte output buffer.
    pub fn decode(out: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(out);
        let capabilities = r.u32("VALIDATE_NEGOTIATE_INFO Capabilities")?;
        let server_guid = r.array("VALIDATE_NEGOTIATE_INFO Guid")?;
        let security_mode = r.u16("VALIDATE_NEGOTIATE_INFO SecurityMode")?;
        let dialect = Dialect(r.u16("VALIDATE_NEGOTIATE_INFO Dialect")?);
        r.finish("VALIDATE_NEGOTIATE_INFO response")?;
        Ok(Self { capabilities, server_guid, security_mode, dialect })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smb2::test_util::h;

    fn vector() -> Vec<u8> {
        let mut v = vec![0u8; 64];
        v.extend(h("3100 0000 17C01100 0100000000000000 0200000000000000"));
        v.extend(h("70000000 00000000 70000000 04000000 00000000 00000000"));
        v.extend(h("05000c03"));
        v
    }

    #[test]
    fn decodes_and_rejects_truncation() {
        let v = vector();
        let r = IoctlResponse::decode(&v).unwrap();
        assert_eq!(r.ctl_code, FSCTL_PIPE_TRANSCEIVE);
        assert_eq!(r.output, h("05000c03"));
        for n in 0..v.len() {
            assert!(IoctlResponse::decode(&v[..n]).is_err());
        }
        let mut t = v.clone();
        t.push(0);
        assert!(IoctlResponse::decode(&t).is_err());
        let mut bad = v.clone();
        bad[64 + 32] = 0x20;
        assert!(IoctlResponse::decode(&bad).is_err());
    }

    #[test]
    fn request_layout() {
        let b = encode_body(FSCTL_PIPE_TRANSCEIVE, FileId::ANY, &[1, 2], 4280);
        assert_eq!(b.len(), 58);
        assert_eq!(b[..8], h("3900 0000 17C01100")[..]);
        assert_eq!(b[24..32], h("78000000 02000000")[..]);
        assert_eq!(b[44..52], h("B8100000 01000000")[..]);
    }

    #[test]
    fn validate_negotiate_round_trip() {
        let i =
            encode_validate_negotiate_input(0x44, &[9; 16], 1, &[Dialect::SMB300, Dialect::SMB302]);
        assert_eq!(i.len(), 28);
        let mut o = Vec::new();
        o.extend(h("44000000"));
        o.extend([3u8; 16]);
        o.extend(h("0100 0203"));
        let v = ValidateNegotiateInfo::decode(&o).unwrap();
        assert_eq!(v.dialect, Dialect::SMB302);
        for n in 0..o.len() {
            assert!(ValidateNegotiateInfo::decode(&o[..n]).is_err());
        }
    }
}
