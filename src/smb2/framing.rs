//! Direct-TCP transport framing ([MS-SMB2] 2.1): one zero byte and a 24-bit big-endian length
//! before every SMB2 message (or TRANSFORM_HEADER message).

use super::{Result, Smb2Error};

/// Size of the direct-TCP frame header.
pub const FRAME_HEADER_LEN: usize = 4;

/// The largest length a 24-bit frame header can announce.
pub const MAX_FRAME_LEN: usize = 0x00FF_FFFF;

/// Parse a frame header and return the announced message length, rejecting a non-zero first
/// byte and any length above `max` **before** the caller allocates for the message.
pub fn parse_frame_len(hdr: [u8; FRAME_HEADER_LEN], max: usize) -> Result<usize> {
    if hdr[0] != 0 {
        return Err(Smb2Error::Protocol("direct-TCP frame header does not start with a zero byte"));
    }
    let len = usize::from(hdr[1]) << 16 | usize::from(hdr[2]) << 8 | usize::from(hdr[3]);
    if len > max {
        return Err(Smb2Error::FrameTooLarge { len, max });
    }
    if len == 0 {
        return Err(Smb2Error::Protocol("empty direct-TCP frame"));
    }
    Ok(len)
}

/// The frame header for a message of `len` bytes.
pub fn frame_header(len: usize) -> Result<[u8; FRAME_HEADER_LEN]> {
    if len > MAX_FRAME_LEN {
        return Err(Smb2Error::FrameTooLarge { len, max: MAX_FRAME_LEN });
    }
    let b = (len as u32).to_be_bytes();
    Ok([0, b[1], b[2], b[3]])
}

/// Prepend the frame header to `msg`.
pub fn frame(msg: &[u8]) -> Result<Vec<u8>> {
    let hdr = frame_header(msg.len())?;
    let mut v = Vec::with_capacity(FRAME_HEADER_LEN + msg.len());
    v.extend_from_slice(&hdr);
    v.extend_from_slice(msg);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_limits() {
        assert_eq!(frame_header(0x012345).unwrap(), [0, 0x01, 0x23, 0x45]);
        assert_eq!(parse_frame_len([0, 0x01, 0x23, 0x45], 0x10_0000).unwrap(), 0x012345);
        assert_eq!(
            parse_frame_len([0, 0x01, 0x23, 0x46], 0x012345).unwrap_err(),
            Smb2Error::FrameTooLarge { len: 0x012346, max: 0x012345 }
        );
        assert!(parse_frame_len([1, 0, 0, 4], 100).is_err());
        assert!(parse_frame_len([0, 0, 0, 0], 100).is_err());
        assert!(frame_header(MAX_FRAME_LEN + 1).is_err());
        assert_eq!(frame(&[9, 9]).unwrap(), vec![0, 0, 0, 2, 9, 9]);
    }
}
