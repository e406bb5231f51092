//! AV_PAIR lists (TargetInfo) — [MS-NLMP] 2.2.2.1; notes 6.3.

use crate::wire::{DecodeError, Reader, Writer};

/// Most pairs accepted in one list (Windows sends about ten).
pub const MAX_PAIRS: usize = 64;
/// Largest TargetInfo accepted, in bytes.
pub const MAX_TARGET_INFO_LEN: usize = 16 * 1024;

/// AvId values ([MS-NLMP] 2.2.2.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AvId(pub u16);

impl AvId {
    /// MsvAvEOL: end of list.
    pub const EOL: Self = Self(0);
    /// MsvAvNbComputerName.
    pub const NB_COMPUTER_NAME: Self = Self(1);
    /// MsvAvNbDomainName.
    pub const NB_DOMAIN_NAME: Self = Self(2);
    /// MsvAvDnsComputerName.
    pub const DNS_COMPUTER_NAME: Self = Self(3);
    /// MsvAvDnsDomainName.
    pub const DNS_DOMAIN_NAME: Self = Self(4);
    /// MsvAvDnsTreeName.
    pub const DNS_TREE_NAME: Self = Self(5);
    /// MsvAvFlags (u32).
    pub const FLAGS: Self = Self(6);
    /// MsvAvTimestamp (FILETIME u64).
    pub const TIMESTAMP: Self = Self(7);
    /// MsvAvSingleHost (48 bytes).
    pub const SINGLE_HOST: Self = Self(8);
    /// MsvAvTargetName (UTF-16 SPN).
    pub const TARGET_NAME: Self = Self(9);
    /// MsvAvChannelBindings (16-byte MD5).
    pub const CHANNEL_BINDINGS: Self = Self(10);
}

/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
pub const AV_FLAG_MIC_PRESENT: u32 = 0x2;

/// An ordered AV_PAIR list without its terminating MsvAvEOL (added on encode).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AvPairs {
    pairs: Vec<(AvId, Vec<u8>)>,
}

impl AvPairs {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decode a complete list: pairs up to and including MsvAvEOL, nothing after it.
    ///
    /// Rejects: a missing EOL, an EOL with a non-zero length, a pair longer than the bytes
    /// left, a repeated AvId, fixed-size pairs (Flags, Timestamp, SingleHost,
    /// ChannelBindings) with the wrong length, odd-length name pairs, more than
    /// [`MAX_PAIRS`] pairs or more than [`MAX_TARGET_INFO_LEN`] bytes.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "NTLM AV_PAIR list";
        if buf.len() > MAX_TARGET_INFO_LEN {
            return Err(DecodeError::too_large(W));
        }
        let mut r = Reader::new(buf);
        let mut pairs: Vec<(AvId, Vec<u8>)> = Vec::new();
        loop {
            let id = AvId(r.u16(W)?);
            let len = usize::from(r.u16(W)?);
            if id == AvId::EOL {
                if len != 0 {
                    return Err(DecodeError::invalid(W));
                }
                break;
            }
            let value = r.take(len, W)?;
            if pairs.len() >= MAX_PAIRS {
                return Err(DecodeError::too_large(W));
            }
            if pairs.iter().any(|(i, _)| *i == id) {
                return Err(DecodeError::invalid(W));
            }
            let ok = match id.0 {
                1..=5 | 9 => len % 2 == 0,
                6 => len == 4,
                7 => len == 8,
                8 => len >= 48 || len == 0,
                10 => len == 16,
                _ => true,
            };
            if !ok {
                return Err(DecodeError::invalid(W));
            }
            pairs.push((id, value.to_vec()));
        }
        r.finish(W)?;
        Ok(Self { pairs })
    }

    /// Encode, with the terminating MsvAvEOL.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::with_capacity(self.encoded_len());
        for (id, v) in &self.pairs {
            // Values longer than u16::MAX cannot be built through `set`; see there.
            w.u16(id.0).u16(v.len() as u16).bytes(v);
        }
        w.u16(0).u16(0);
        w.into_vec()
    }

    /// The encoded length including EOL.
    pub fn encoded_len(&self) -> usize {
        self.pairs.iter().map(|(_, v)| 4 + v.len()).sum::<usize>() + 4
    }

    /// The raw value of `id`, if present.
    pub fn get(&self, id: AvId) -> Option<&[u8]> {
        self.pairs.iter().find(|(i, _)| *i == id).map(|(_, v)| v.as_slice())
    }

    /// A UTF-16 name pair decoded to a `String` (lossily), if present.
    pub fn get_name(&self, id: AvId) -> Option<String> {
        self.get(id).map(super::from_utf16le_lossy)
    }

    /// MsvAvTimestamp, if present.
    pub fn timestamp(&self) -> Option<u64> {
        let v = self.get(AvId::TIMESTAMP)?;
        let a: [u8; 8] = v.try_into().ok()?;
        Some(u64::from_le_bytes(a))
    }

    /// MsvAvFlags, if present.
    pub fn av_flags(&self) -> Option<u32> {
        let v = self.get(AvId::FLAGS)?;
        let a: [u8; 4] = v.try_into().ok()?;
        Some(u32::from_le_bytes(a))
    }

    /// Set `id` to `value`: replaces an existing pair in place, or appends. EOL is ignored
    /// and values are truncated to `u16::MAX` bytes (no legitimate pair comes close).
    pub fn set(&mut self, id: AvId, value: Vec<u8>) {
        if id == AvId::EOL {
            return;
        }
        let mut value = value;
        value.truncate(usize::from(u16::MAX));
        if let Some(slot) = self.pairs.iter_mut().find(|(i, _)| *i == id) {
            slot.1 = value;
        } else {
            self.pairs.push((id, value));
        }
    }

    /// Iterate over the pairs in order (EOL excluded).
    pub fn iter(&self) -> impl Iterator<Item = (AvId, &[u8])> {
        self.pairs.iter().map(|(i, v)| (*i, v.as_slice()))
    }

    /// Number of pairs (EOL excluded).
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether the list has no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [MS-NLMP] 4.2.4.3 TargetInfo (chromium `kExpectedTargetInfoFromSpecV2`).
    const SPEC_TI: &str = concat!(
        "02000c00",
        "44006f006d00610069006e00", // NbDomainName "Domain"
        "01000c00",
        "530065007200760065007200", // NbComputerName "Server"
        "00000000"                  // EOL
    );

    #[test]
    fn spec_list_round_trips() {
        let b = hex::decode(SPEC_TI).unwrap();
        let l = AvPairs::decode(&b).unwrap();
        assert_eq!(l.get_name(AvId::NB_DOMAIN_NAME).unwrap(), "Domain");
        assert_eq!(l.get_name(AvId::NB_COMPUTER_NAME).unwrap(), "Server");
        assert_eq!(l.timestamp(), None);
        assert_eq!(l.encode(), b);
        for n in 0..b.len() {
            assert!(AvPairs::decode(&b[..n]).is_err(), "prefix {n}");
        }
        let mut t = b.clone();
        t.push(0);
        assert!(AvPairs::decode(&t).is_err());
    }

    #[test]
    fn rejects_malformed() {
        // EOL with a length.
        assert!(AvPairs::decode(&hex::decode("00000200aaaa").unwrap()).is_err());
        // Pair overruns the list.
        assert!(AvPairs::decode(&hex::decode("01000c00530065000000").unwrap()).is_err());
        // Duplicate id.
        assert!(
            AvPairs::decode(
                &hex::decode("010002004100010002004200 00000000".replace(' ', "")).unwrap()
            )
            .is_err()
        );
        // Timestamp of the wrong size.
        assert!(
            AvPairs::decode(&hex::decode("07000400000000000000000").unwrap_or_default()).is_err()
        );
        assert!(AvPairs::decode(&hex::decode("070004000000000000000000").unwrap()).is_err());
        // Odd-length name.
        assert!(AvPairs::decode(&hex::decode("010001004100000000").unwrap()).is_err());
        // Too many pairs.
        let mut many = Vec::new();
        for i in 0..(MAX_PAIRS as u16 + 1) {
            many.extend_from_slice(&(100 + i).to_le_bytes());
            many.extend_from_slice(&[0, 0]);
        }
        many.extend_from_slice(&[0, 0, 0, 0]);
        assert!(AvPairs::decode(&many).is_err());
    }

    #[test]
    fn set_replaces_or_appends() {
        let mut l = AvPairs::decode(&hex::decode(SPEC_TI).unwrap()).unwrap();
        l.set(AvId::FLAGS, 2u32.to_le_bytes().to_vec());
        l.set(AvId::FLAGS, 3u32.to_le_bytes().to_vec());
        assert_eq!(l.av_flags(), Some(3));
        assert_eq!(l.len(), 3);
    }
}
