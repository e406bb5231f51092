//! SMB2/3 client messages, keys, signing, encryption and the pure connection state machine
//! for named pipes on IPC$ ([MS-SMB2]).
//!
//! This module is sans-IO: it encodes requests to bytes and decodes/verifies response bytes.
//! It knows nothing of NTLM or SPNEGO: it is handed opaque security tokens and the session key
//! an authenticator exported. The tokio shell lives in `crate::transport`.
//!
//! Layout (one wire message per file): [`framing`] (direct-TCP 4-byte header), [`header`]
//! (64-byte SMB2 header), [`transform`] (TRANSFORM_HEADER and AEAD seal/open), [`negotiate`],
//! [`session_setup`], [`logoff`] (LOGOFF and TREE_DISCONNECT share a 4-byte body),
//! [`tree_connect`], [`create`], [`close`], [`read`], [`write`](mod@write), [`ioctl`], [`error`] (error
//! response body), [`keys`] (KDF, preauth hash), [`signing`], and [`connection`] (the state
//! machine).

use crate::status::NtStatus;
use crate::wire::DecodeError;
use core::fmt;

pub mod close;
pub mod connection;
pub mod create;
pub mod error;
pub mod framing;
pub mod header;
pub mod ioctl;
pub mod keys;
pub mod logoff;
#[cfg(test)]
mod ms_blog_vectors;
pub mod negotiate;
pub mod phases;
pub mod read;
pub mod session_setup;
pub mod signing;
pub mod transform;
pub mod tree_connect;
pub mod write;

pub use connection::{Connection, ConnectionConfig, Outgoing, Received, SessionInfo};
pub use header::Header;

/// An SMB2 command code (MS-SMB2 2.2.1.2). Open: unknown values are kept.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Command(pub u16);

impl Command {
    /// SMB2 NEGOTIATE.
    pub const NEGOTIATE: Self = Self(0x0000);
    /// SMB2 SESSION_SETUP.
    pub const SESSION_SETUP: Self = Self(0x0001);
    /// SMB2 LOGOFF.
    pub const LOGOFF: Self = Self(0x0002);
    /// SMB2 TREE_CONNECT.
    pub const TREE_CONNECT: Self = Self(0x0003);
    /// SMB2 TREE_DISCONNECT.
    pub const TREE_DISCONNECT: Self = Self(0x0004);
    /// SMB2 CREATE.
    pub const CREATE: Self = Self(0x0005);
    /// SMB2 CLOSE.
    pub const CLOSE: Self = Self(0x0006);
    /// SMB2 FLUSH.
    pub const FLUSH: Self = Self(0x0007);
    /// SMB2 READ.
    pub const READ: Self = Self(0x0008);
    /// SMB2 WRITE.
    pub const WRITE: Self = Self(0x0009);
    /// SMB2 IOCTL.
    pub const IOCTL: Self = Self(0x000B);
    /// SMB2 CANCEL.
    pub const CANCEL: Self = Self(0x000C);
    /// SMB2 ECHO.
    pub const ECHO: Self = Self(0x000D);

    /// The command name, if known.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "NEGOTIATE",
            1 => "SESSION_SETUP",
            2 => "LOGOFF",
            3 => "TREE_CONNECT",
            4 => "TREE_DISCONNECT",
            5 => "CREATE",
            6 => "CLOSE",
            7 => "FLUSH",
            8 => "READ",
            9 => "WRITE",
            0x0B => "IOCTL",
            0x0C => "CANCEL",
            0x0D => "ECHO",
            _ => return None,
        })
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "command 0x{:04X}", self.0),
        }
    }
}

/// An SMB2 dialect revision (MS-SMB2 2.2.3). Open; ordered by revision.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dialect(pub u16);

impl Dialect {
    /// SMB 2.0.2.
    pub const SMB202: Self = Self(0x0202);
    /// SMB 2.1.
    pub const SMB210: Self = Self(0x0210);
    /// SMB 3.0.
    pub const SMB300: Self = Self(0x0300);
    /// SMB 3.0.2.
    pub const SMB302: Self = Self(0x0302);
    /// SMB 3.1.1.
    pub const SMB311: Self = Self(0x0311);
    /// Every dialect this client can speak, lowest first.
    pub const ALL: [Self; 5] =
        [Self::SMB202, Self::SMB210, Self::SMB300, Self::SMB302, Self::SMB311];

    /// Whether this is an SMB 3.x dialect (AES-CMAC signing, KDF-derived keys, encryption).
    pub const fn is_smb3(self) -> bool {
        self.0 >= 0x0300
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            0x0202 => f.write_str("2.0.2"),
            0x0210 => f.write_str("2.1"),
            0x0300 => f.write_str("3.0"),
            0x0302 => f.write_str("3.0.2"),
            0x0311 => f.write_str("3.1.1"),
            v => write!(f, "0x{v:04X}"),
        }
    }
}

impl fmt::Debug for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dialect({self})")
    }
}

/// The message signing algorithm in force (MS-SMB2 3.1.4.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 truncated to 16 bytes (2.0.2 / 2.1).
    HmacSha256,
    /// AES-128-CMAC (3.0 and the 3.1.1 default).
    AesCmac,
    /// AES-128-GMAC (3.1.1 when negotiated).
    AesGmac,
}

impl SigningAlgorithm {
    /// The SIGNING_CAPABILITIES id (MS-SMB2 2.2.3.1.7).
    pub const fn id(self) -> u16 {
        match self {
            Self::HmacSha256 => 0,
            Self::AesCmac => 1,
            Self::AesGmac => 2,
        }
    }
    /// The algorithm for a SIGNING_CAPABILITIES id.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            0 => Some(Self::HmacSha256),
            1 => Some(Self::AesCmac),
            2 => Some(Self::AesGmac),
            _ => None,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HmacSha256 => "HMAC-SHA256",
            Self::AesCmac => "AES-128-CMAC",
            Self::AesGmac => "AES-128-GMAC",
        })
    }
}

/// An SMB 3.x encryption cipher (MS-SMB2 2.2.3.1.2).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-128-CCM (the only 3.0 / 3.0.2 cipher).
    Aes128Ccm,
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-CCM.
    Aes256Ccm,
    /// AES-256-GCM.
    Aes256Gcm,
}

impl Cipher {
    /// Our preference order for the ENCRYPTION_CAPABILITIES context.
    pub const PREFERENCE: [Self; 4] =
        [Self::Aes256Gcm, Self::Aes256Ccm, Self::Aes128Gcm, Self::Aes128Ccm];

    /// The cipher id.
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128Ccm => 1,
            Self::Aes128Gcm => 2,
            Self::Aes256Ccm => 3,
            Self::Aes256Gcm => 4,
        }
    }
    /// The cipher for an id.
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            1 => Some(Self::Aes128Ccm),
            2 => Some(Self::Aes128Gcm),
            3 => Some(Self::Aes256Ccm),
            4 => Some(Self::Aes256Gcm),
            _ => None,
        }
    }
    /// Whether the key is 256 bits.
    pub const fn is_256(self) -> bool {
        matches!(self, Self::Aes256Ccm | Self::Aes256Gcm)
    }
    /// Whether this is a GCM cipher (12-byte nonce) rather than CCM (11-byte nonce).
    pub const fn is_gcm(self) -> bool {
        matches!(self, Self::Aes128Gcm | Self::Aes256Gcm)
    }
}

impl fmt::Display for Cipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Aes128Ccm => "AES-128-CCM",
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Ccm => "AES-256-CCM",
            Self::Aes256Gcm => "AES-256-GCM",
        })
    }
}

/// Why an SMB2 exchange failed. Protocol-tier errors: the public error wraps them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Smb2Error {
    /// The server answered a request with a failure status.
    #[error("SMB2 {command} failed: {status}")]
    Status {
        /// The request that failed.
        command: Command,
        /// The server's status.
        status: NtStatus,
    },
    /// Server bytes could not be decoded.
    #[error("malformed SMB2 message: {0}")]
    Decode(#[from] DecodeError),
    /// A response's signature did not verify.
    #[error("the SMB2 {command} response has a bad signature")]
    BadSignature {
        /// The response's command.
        command: Command,
    },
    /// A response was unsigned while signing is in force.
    #[error("the SMB2 {command} response is unsigned but signing is required")]
    Unsigned {
        /// The response's command.
        command: Command,
    },
    /// An encrypted message failed to decrypt or authenticate, or a plaintext message arrived
    /// where encryption is in force.
    #[error("SMB3 decryption failed: {0}")]
    Decrypt(&'static str),
    /// The server logged us in as Guest although real credentials were given.
    #[error("the server logged you in as Guest: the account was not found or the domain is wrong")]
    Guest,
    /// The server gave a null (anonymous) session although credentials were given.
    #[error("the server gave an anonymous session although credentials were given")]
    UnexpectedNullSession,
    /// The caller or the server requires encryption but this connection cannot do it.
    #[error("encryption is required but unavailable: {0}")]
    EncryptionUnavailable(&'static str),
    /// The server requires encryption (session or share flag) and this session cannot encrypt.
    #[error("the server requires encryption, which this session cannot provide: {0}")]
    EncryptionRequired(&'static str),
    /// Signing is required but this session cannot sign.
    #[error("signing is required but unavailable: {0}")]
    SigningRequired(&'static str),
    /// No dialect at or above the configured minimum was agreed.
    #[error("the server's SMB dialect {server} is below the minimum {minimum}")]
    DialectTooLow {
        /// The dialect the server chose.
        server: Dialect,
        /// The configured minimum.
        minimum: Dialect,
    },
    /// A negotiation downgrade or tampering was detected.
    #[error("SMB negotiation downgrade detected: {0}")]
    DowngradeDetected(&'static str),
    /// A response to a message id we never sent (or already completed).
    #[error("SMB2 response to unknown message id {0}")]
    UnknownMessageId(u64),
    /// The credit window does not allow another request.
    #[error("the SMB2 server granted no credits for another request")]
    NoCredits,
    /// A frame was announced larger than the negotiated maximum.
    #[error("SMB2 frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// The announced length.
        len: usize,
        /// The maximum accepted.
        max: usize,
    },
    /// The server sent legal bytes with an illegal meaning.
    #[error("SMB2 protocol error: {0}")]
    Protocol(&'static str),
    /// A method was called in the wrong connection phase.
    #[error("SMB2 connection used in the wrong state: {0}")]
    State(&'static str),
}

impl Smb2Error {
    /// The server's NTSTATUS if this is a status failure.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Shorthand for results in this module.
pub type Result<T, E = Smb2Error> = core::result::Result<T, E>;

/// UTF-16LE encoding of a string (names and paths on the wire).
pub(crate) fn utf16le(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() * 2);
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// Size of the SMB2 header.
pub const HEADER_LEN: usize = 64;

/// Check that a response body's StructureSize is `expected`.
pub(crate) fn check_structure_size(
    r: &mut crate::wire::Reader<'_>,
    expected: u16,
    what: &'static str,
) -> core::result::Result<(), DecodeError> {
    if r.u16(what)? != expected {
        return Err(DecodeError::invalid(what));
    }
    Ok(())
}

/// Slice a variable buffer announced by an offset (from the start of the SMB2 header) and a
/// length, checking that it lies after the fixed body part (`min_offset`) and inside `msg`.
/// A zero length yields an empty slice whatever the offset.
pub(crate) fn buffer_at<'a>(
    msg: &'a [u8],
    offset: usize,
    len: usize,
    min_offset: usize,
    what: &'static str,
) -> core::result::Result<&'a [u8], DecodeError> {
    if len == 0 {
        return Ok(&[]);
    }
    if offset < min_offset {
        return Err(DecodeError::invalid(what));
    }
    crate::wire::Reader::new(msg).slice_at(offset, len, what)
}

/// Reject trailing bytes after a variable buffer: the message must end at
/// `max(fixed_end, buffer_end)`, with one extra byte tolerated when the buffer is empty (the
/// placeholder byte counted in odd StructureSizes).
pub(crate) fn check_end(
    msg: &[u8],
    fixed_end: usize,
    buffer_end: usize,
    what: &'static str,
) -> core::result::Result<(), DecodeError> {
    let end = fixed_end.max(buffer_end);
    if msg.len() < end {
        return Err(DecodeError::truncated(what));
    }
    if msg.len() == end || (buffer_end <= fixed_end && msg.len() == fixed_end + 1) {
        Ok(())
    } else {
        Err(DecodeError::trailing(what))
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    /// Hex to bytes, ignoring whitespace.
    pub(crate) fn h(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(s).unwrap()
    }
}

/// Run every SMB2 decoder over `data` (for fuzzing): the frame header, the SMB2 and transform
/// headers, and each response body decoder. Headers that decode must re-encode to the same
/// bytes. Never panics on any input except when that round trip breaks (only built for tests
/// and `cfg(fuzzing)`).
#[cfg(any(test, fuzzing))]
pub fn fuzz_decode_all(data: &[u8]) {
    use crate::wire::Writer;
    if let Some(hdr) = data.get(..framing::FRAME_HEADER_LEN) {
        let mut a = [0u8; framing::FRAME_HEADER_LEN];
        a.copy_from_slice(hdr);
        let _ = framing::parse_frame_len(a, 1 << 20);
    }
    if let Ok(h) = Header::decode(data) {
        let mut w = Writer::new();
        h.encode(&mut w);
        assert_eq!(w.as_slice(), &data[..HEADER_LEN], "SMB2 header round trip");
    }
    if let Ok(t) = transform::TransformHeader::decode(data) {
        let mut w = Writer::new();
        t.encode(&mut w);
        // Reserved (2 bytes at 40) is not kept.
        assert_eq!(w.as_slice()[..40], data[..40], "transform header round trip");
        assert_eq!(w.as_slice()[42..], data[42..transform::TRANSFORM_HEADER_LEN]);
    }
    let _ = negotiate::NegotiateResponse::decode(data);
    let _ = session_setup::SessionSetupResponse::decode(data);
    let _ = logoff::decode_response(data);
    let _ = tree_connect::TreeConnectResponse::decode(data);
    let _ = create::CreateResponse::decode(data);
    let _ = close::decode_response(data);
    let _ = read::ReadResponse::decode(data);
    let _ = write::decode_response(data);
    let _ = ioctl::IoctlResponse::decode(data);
    let _ = ioctl::ValidateNegotiateInfo::decode(data);
    let _ = error::ErrorResponse::decode(data);
}

#[cfg(test)]
mod fuzz_tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            super::fuzz_decode_all(&data);
        }

        #[test]
        fn decoders_never_panic_on_smb2_shaped_input(tail in proptest::collection::vec(any::<u8>(), 0..300), cmd in 0u16..14) {
            let mut v = vec![0xFE, b'S', b'M', b'B', 64, 0];
            v.extend([0u8; 6]);
            v.extend(cmd.to_le_bytes());
            v.extend([0u8; 50]);
            v.extend(tail);
            super::fuzz_decode_all(&v);
        }
    }
}
