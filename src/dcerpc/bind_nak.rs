//! BIND_NAK PDU (C706 12.6.4.5, [MS-RPCE] 2.2.2.5; protocol notes 4.2).
//!
//! ```text
//! u16 provider_reject_reason; u8 n_versions; n_versions × { u8 major; u8 minor }
//! [anything else up to frag_length: pad / extended error signature, kept verbatim]
//! ```

use core::fmt;

use super::RpcError;
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use crate::wire::{DecodeError, Reader, Writer};

/// `provider_reject_reason` of a BIND_NAK. Open newtype.
#[derive(Copy, Clone, PartialEq, Eq, Hash)]
pub struct BindNakReason(pub u16);

impl BindNakReason {
    /// Reason not specified.
    pub const NOT_SPECIFIED: Self = Self(0);
    /// Temporary congestion.
    pub const TEMPORARY_CONGESTION: Self = Self(1);
    /// Local limit exceeded.
    pub const LOCAL_LIMIT_EXCEEDED: Self = Self(2);
    /// Called presentation address unknown.
    pub const CALLED_PADDR_UNKNOWN: Self = Self(3);
    /// Protocol version not supported.
    pub const PROTOCOL_VERSION_NOT_SUPPORTED: Self = Self(4);
    /// Default context not supported.
    pub const DEFAULT_CONTEXT_NOT_SUPPORTED: Self = Self(5);
    /// User data not readable.
    pub const USER_DATA_NOT_READABLE: Self = Self(6);
    /// No PSAP available.
    pub const NO_PSAP_AVAILABLE: Self = Self(7);
    /// Authentication type not recognized.
    pub const INVALID_AUTH_TYPE: Self = Self(8);
    /// Invalid checksum.
    pub const INVALID_CHECKSUM: Self = Self(9);

    /// The symbolic name, if known.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "reason_not_specified",
            1 => "temporary_congestion",
            2 => "local_limit_exceeded",
            3 => "called_paddr_unknown",
            4 => "protocol_version_not_supported",
            5 => "default_context_not_supported",
            6 => "user_data_not_readable",
            7 => "no_psap_available",
            8 => "authentication_type_not_recognized",
            9 => "invalid_checksum",
            _ => return None,
        })
    }
}

impl fmt::Display for BindNakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "{n} ({})", self.0),
            None => write!(f, "reject reason {}", self.0),
        }
    }
}

impl fmt::Debug for BindNakReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BindNakReason({self})")
    }
}

/// A BIND_NAK PDU.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindNak {
    /// Call id (echoes the bind's).
    pub call_id: u32,
    /// `pfc_flags`.
    pub flags: PfcFlags,
    /// Why the bind was rejected.
    pub reason: BindNakReason,
    /// Protocol versions the server supports, `(major, minor)`.
    pub versions: Vec<(u8, u8)>,
    /// Bytes after the version list (padding, Windows' extended-error signature).
    pub extra: Vec<u8>,
}

impl BindNak {
    /// Encode the PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        let n = u8::try_from(self.versions.len())
            .map_err(|_| RpcError::Encode("more than 255 versions"))?;
        let mut w = Writer::new();
        w.u16(self.reason.0).u8(n);
        for (major, minor) in &self.versions {
            w.u8(*major).u8(*minor);
        }
        w.bytes(&self.extra);
        let pad = PadRule::None;
        Ok(frame::build(PacketType::BIND_NAK, self.flags, self.call_id, w.as_slice(), pad, None)?.0)
    }

    /// Decode a whole BIND_NAK PDU. It carries no auth verifier.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(PacketType::BIND_NAK, "PTYPE (expected BIND_NAK)")?;
        if f.auth.is_some() {
            return Err(DecodeError::invalid("auth_length (BIND_NAK has no verifier)"));
        }
        let mut r = Reader::new(f.body);
        let reason = BindNakReason(r.u16("provider_reject_reason")?);
        let n = usize::from(r.u8("n_versions")?);
        r.check_count(n, 2, "n_versions")?;
        let mut versions = Vec::with_capacity(n);
        for _ in 0..n {
            versions.push((r.u8("version major")?, r.u8("version minor")?));
        }
        let extra = r.take_rest().to_vec();
        Ok(Self { call_id: f.header.call_id, flags: f.header.flags, reason, versions, extra })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// Built from the notes 4.2 layout: reason 4 (protocol_version_not_supported), one version 5.0,
    /// then 8 further bytes (pad), kept verbatim.
    const NAK: &str = "
        05 00 0d 03 10000000 1d00 0000 02000000
        0400 01 05 00
        000000
        0000000000";

    #[test]
    fn decode_encode() {
        let bytes = hexs(NAK);
        assert_eq!(bytes.len(), 29);
        let n = BindNak::decode(&bytes).unwrap();
        assert_eq!(n.reason, BindNakReason::PROTOCOL_VERSION_NOT_SUPPORTED);
        assert_eq!(n.versions, vec![(5, 0)]);
        assert_eq!(n.extra.len(), 8);
        assert_eq!(n.encode().unwrap(), bytes);
        assert_eq!(n.reason.to_string(), "protocol_version_not_supported (4)");
        // Truncations that cut the version list or the header fail; trailing bytes fail.
        for len in 0..21 {
            assert!(BindNak::decode(&bytes[..len]).is_err());
        }
        check_truncations_and_trailing(&bytes, |b| BindNak::decode(b).map(drop));
    }
}
