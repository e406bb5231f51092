//! Kerberos ASN.1 primitives on top of the shared DER codec ([`crate::auth::der`]):
//! Int32/UInt32/Microseconds, KerberosString/Realm, KerberosTime, the 32-bit flag BIT STRINGs
//! (KDCOptions, TicketFlags, APOptions) and a field cursor for `SEQUENCE { [n] … }` bodies
//! ([RFC 4120] 5.2).

use crate::auth::der::{
    DerReader, TAG_BIT_STRING, TAG_BOOLEAN, TAG_GENERAL_STRING, TAG_GENERALIZED_TIME, TAG_INTEGER,
    TAG_OCTETS, TAG_SEQ, ctx, der, only,
};
use crate::wire::DecodeError;

pub use crate::auth::der::{app, ctx as context_tag};

/// Longest KerberosString accepted (realm and name components): far above real names.
pub const MAX_STRING_LEN: usize = 1024;
/// Most elements accepted in any SEQUENCE OF (name components, etypes, PA-DATA, …).
pub const MAX_SEQ_ITEMS: usize = 64;

/// Decode a DER INTEGER content as an `i64` (1..=8 bytes, two's complement).
pub fn decode_int(c: &[u8], what: &'static str) -> Result<i64, DecodeError> {
    if c.is_empty() || c.len() > 8 {
        return Err(DecodeError::invalid(what));
    }
    let mut v: i64 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | i64::from(b);
    }
    Ok(v)
}

/// Decode a DER INTEGER content (up to 9 bytes, for a 64-bit value with a sign byte).
fn decode_int_wide(c: &[u8], what: &'static str) -> Result<i128, DecodeError> {
    if c.is_empty() || c.len() > 9 {
        return Err(DecodeError::invalid(what));
    }
    let mut v: i128 = if c[0] & 0x80 != 0 { -1 } else { 0 };
    for &b in c {
        v = (v << 8) | i128::from(b);
    }
    Ok(v)
}

/// The minimal two's-complement DER INTEGER content of `v`.
pub fn encode_int_content(v: i64) -> Vec<u8> {
    let b = v.to_be_bytes();
    let mut i = 0;
    while i < 7 {
        let (cur, next) = (b[i], b[i + 1]);
        if (cur == 0x00 && next & 0x80 == 0) || (cur == 0xff && next & 0x80 != 0) {
            i += 1;
        } else {
            break;
        }
    }
    b[i..].to_vec()
}

/// A whole INTEGER element.
pub fn int(v: i64) -> Vec<u8> {
    der(TAG_INTEGER, &encode_int_content(v))
}

/// A whole OCTET STRING element.
pub fn octets(v: &[u8]) -> Vec<u8> {
    der(TAG_OCTETS, v)
}

/// A whole KerberosString (GeneralString) element.
pub fn string(s: &str) -> Vec<u8> {
    der(TAG_GENERAL_STRING, s.as_bytes())
}

/// A whole SEQUENCE element over already-encoded `parts`.
pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(TAG_SEQ, &parts.concat())
}

/// An explicit context field `[n] inner`.
pub fn field(n: u8, inner: &[u8]) -> Vec<u8> {
    der(ctx(n), inner)
}

/// A 32-bit flags BIT STRING element (`03 05 00 b0 b1 b2 b3`, bit 0 = MSB of `b0`).
pub fn flags32(v: u32) -> Vec<u8> {
    let mut c = vec![0u8];
    c.extend_from_slice(&v.to_be_bytes());
    der(TAG_BIT_STRING, &c)
}

/// A BOOLEAN element.
pub fn boolean(v: bool) -> Vec<u8> {
    der(TAG_BOOLEAN, &[if v { 0xff } else { 0x00 }])
}

/// A KerberosTime (GeneralizedTime `YYYYMMDDHHMMSSZ`) as whole seconds since the Unix epoch.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KerberosTime(pub i64);

/// 100 ns intervals between 1601-01-01 (FILETIME epoch) and 1970-01-01.
const FILETIME_UNIX_OFFSET: u64 = 116_444_736_000_000_000;

/// A point in time with microseconds, as Kerberos carries it (ctime + cusec).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KrbTimestamp {
    /// Whole seconds.
    pub time: KerberosTime,
    /// Microseconds (0..=999_999).
    pub usec: u32,
}

impl KrbTimestamp {
    /// From a Windows FILETIME (100 ns intervals since 1601). Times before 1970 clamp to 1970.
    pub fn from_filetime(ft: u64) -> Self {
        let since = ft.saturating_sub(FILETIME_UNIX_OFFSET);
        Self {
            time: KerberosTime((since / 10_000_000) as i64),
            usec: ((since % 10_000_000) / 10) as u32,
        }
    }

    /// As a Windows FILETIME.
    pub fn to_filetime(self) -> u64 {
        let secs = u64::try_from(self.time.0).unwrap_or(0);
        secs.saturating_mul(10_000_000)
            .saturating_add(u64::from(self.usec) * 10)
            .saturating_add(FILETIME_UNIX_OFFSET)
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(m) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl KerberosTime {
    /// The latest time Kerberos can express in practice; used as "no end" (`till`).
    pub const FAR_FUTURE: KerberosTime = KerberosTime(2_147_483_647); // 2038-01-19T03:14:07Z

    /// The 15 ASCII bytes `YYYYMMDDHHMMSSZ`.
    pub fn to_generalized(self) -> [u8; 15] {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, mo, d) = civil_from_days(days);
        let y = y.clamp(0, 9999) as u32;
        let s = format!(
            "{y:04}{mo:02}{d:02}{:02}{:02}{:02}Z",
            secs / 3600,
            (secs / 60) % 60,
            secs % 60
        );
        let mut out = [0u8; 15];
        out.copy_from_slice(s.as_bytes());
        out
    }

    /// Parse `YYYYMMDDHHMMSSZ` (the only form RFC 4120 5.2.3 allows: no fraction, UTC).
    pub fn parse(c: &[u8], what: &'static str) -> Result<Self, DecodeError> {
        if c.len() != 15 || c[14] != b'Z' || !c[..14].iter().all(u8::is_ascii_digit) {
            return Err(DecodeError::invalid(what));
        }
        let n = |a: usize, b: usize| {
            c[a..b].iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'))
        };
        let (y, mo, d, h, mi, s) = (n(0, 4), n(4, 6), n(6, 8), n(8, 10), n(10, 12), n(12, 14));
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return Err(DecodeError::invalid(what));
        }
        let days = days_from_civil(i64::from(y), mo, d);
        Ok(Self(days * 86_400 + i64::from(h * 3600 + mi * 60 + s)))
    }

    /// The whole GeneralizedTime element.
    pub fn encode(self) -> Vec<u8> {
        der(TAG_GENERALIZED_TIME, &self.to_generalized())
    }
}

/// A cursor over the `[n]`-tagged fields of a Kerberos SEQUENCE body, in ascending order.
pub struct Fields<'a> {
    r: DerReader<'a>,
    what: &'static str,
}

impl<'a> Fields<'a> {
    /// The fields of the SEQUENCE that fills `buf` exactly.
    pub fn of_seq(buf: &'a [u8], what: &'static str) -> Result<Self, DecodeError> {
        Ok(Self::of_body(only(buf, TAG_SEQ, what)?, what))
    }

    /// The fields of `[APPLICATION n] SEQUENCE { … }` filling `buf` exactly.
    pub fn of_app(buf: &'a [u8], n: u8, what: &'static str) -> Result<Self, DecodeError> {
        Self::of_seq(only(buf, app(n), what)?, what)
    }

    /// The fields of a SEQUENCE body (content without the `30 len`).
    pub fn of_body(body: &'a [u8], what: &'static str) -> Self {
        Self { r: DerReader::new(body, what), what }
    }

    /// The inner element (whole encoding) of field `[n]` if it comes next.
    pub fn opt(&mut self, n: u8) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.r.optional(ctx(n))? {
            None => Ok(None),
            Some(c) => {
                crate::auth::der::only_any(c, self.what)?;
                Ok(Some(c))
            }
        }
    }

    /// The inner element (whole encoding) of mandatory field `[n]`.
    pub fn req(&mut self, n: u8) -> Result<&'a [u8], DecodeError> {
        self.opt(n)?.ok_or(DecodeError::invalid(self.what))
    }

    /// Mandatory INTEGER field.
    pub fn int(&mut self, n: u8) -> Result<i64, DecodeError> {
        let w = self.what;
        decode_int(only(self.req(n)?, TAG_INTEGER, w)?, w)
    }

    /// Optional INTEGER field.
    pub fn opt_int(&mut self, n: u8) -> Result<Option<i64>, DecodeError> {
        let w = self.what;
        self.opt(n)?.map(|e| decode_int(only(e, TAG_INTEGER, w)?, w)).transpose()
    }

    /// Mandatory Int32 field.
    pub fn i32(&mut self, n: u8) -> Result<i32, DecodeError> {
        let v = self.int(n)?;
        i32::try_from(v).map_err(|_| DecodeError::invalid(self.what))
    }

    /// Optional Int32 field.
    pub fn opt_i32(&mut self, n: u8) -> Result<Option<i32>, DecodeError> {
        let w = self.what;
        self.opt_int(n)?.map(|v| i32::try_from(v).map_err(|_| DecodeError::invalid(w))).transpose()
    }

    /// Mandatory UInt32 field. Accepts the unsigned encoding (up to 5 bytes) and the signed
    /// 32-bit encoding Windows uses for nonces and sequence numbers (a negative value is
    /// taken modulo 2^32).
    pub fn u32(&mut self, n: u8) -> Result<u32, DecodeError> {
        let w = self.what;
        let v = decode_int_wide(only(self.req(n)?, TAG_INTEGER, w)?, w)?;
        uint32(v, w)
    }

    /// Optional UInt32 field (see [`Self::u32`]).
    pub fn opt_u32(&mut self, n: u8) -> Result<Option<u32>, DecodeError> {
        let w = self.what;
        self.opt(n)?.map(|e| uint32(decode_int_wide(only(e, TAG_INTEGER, w)?, w)?, w)).transpose()
    }

    /// Optional Microseconds field (0..=999999).
    pub fn opt_usec(&mut self, n: u8) -> Result<Option<u32>, DecodeError> {
        let w = self.what;
        match self.opt_int(n)? {
            None => Ok(None),
            Some(v) if (0..=999_999).contains(&v) => Ok(Some(v as u32)),
            Some(_) => Err(DecodeError::invalid(w)),
        }
    }

    /// Mandatory Microseconds field.
    pub fn usec(&mut self, n: u8) -> Result<u32, DecodeError> {
        self.opt_usec(n)?.ok_or(DecodeError::invalid(self.what))
    }

    /// Mandatory KerberosString / Realm field.
    pub fn string(&mut self, n: u8) -> Result<String, DecodeError> {
        let e = self.req(n)?;
        decode_string(e, self.what)
    }

    /// Optional KerberosString / Realm field.
    pub fn opt_string(&mut self, n: u8) -> Result<Option<String>, DecodeError> {
        let w = self.what;
        self.opt(n)?.map(|e| decode_string(e, w)).transpose()
    }

    /// Mandatory OCTET STRING field.
    pub fn octets(&mut self, n: u8) -> Result<&'a [u8], DecodeError> {
        let w = self.what;
        only(self.req(n)?, TAG_OCTETS, w)
    }

    /// Optional OCTET STRING field.
    pub fn opt_octets(&mut self, n: u8) -> Result<Option<&'a [u8]>, DecodeError> {
        let w = self.what;
        self.opt(n)?.map(|e| only(e, TAG_OCTETS, w)).transpose()
    }

    /// Mandatory KerberosTime field.
    pub fn time(&mut self, n: u8) -> Result<KerberosTime, DecodeError> {
        let w = self.what;
        KerberosTime::parse(only(self.req(n)?, TAG_GENERALIZED_TIME, w)?, w)
    }

    /// Optional KerberosTime field.
    pub fn opt_time(&mut self, n: u8) -> Result<Option<KerberosTime>, DecodeError> {
        let w = self.what;
        self.opt(n)?.map(|e| KerberosTime::parse(only(e, TAG_GENERALIZED_TIME, w)?, w)).transpose()
    }

    /// Mandatory 32-bit flags BIT STRING field.
    pub fn flags(&mut self, n: u8) -> Result<u32, DecodeError> {
        let w = self.what;
        decode_flags(only(self.req(n)?, TAG_BIT_STRING, w)?, w)
    }

    /// Mandatory BOOLEAN field.
    pub fn boolean(&mut self, n: u8) -> Result<bool, DecodeError> {
        let w = self.what;
        match only(self.req(n)?, TAG_BOOLEAN, w)? {
            [0] => Ok(false),
            [_] => Ok(true),
            _ => Err(DecodeError::invalid(w)),
        }
    }

    /// The elements of a mandatory `[n] SEQUENCE OF X` field (each element's whole encoding),
    /// at most [`MAX_SEQ_ITEMS`].
    pub fn seq_of(&mut self, n: u8) -> Result<Vec<&'a [u8]>, DecodeError> {
        let e = self.req(n)?;
        seq_of(e, self.what)
    }

    /// As [`Self::seq_of`], for an optional field.
    pub fn opt_seq_of(&mut self, n: u8) -> Result<Option<Vec<&'a [u8]>>, DecodeError> {
        let w = self.what;
        self.opt(n)?.map(|e| seq_of(e, w)).transpose()
    }

    /// Skip an optional field we do not interpret (kept opaque, not descended into).
    pub fn skip(&mut self, n: u8) -> Result<(), DecodeError> {
        self.opt(n).map(|_| ())
    }

    /// Fail unless every field has been read (unknown or out-of-order fields end up here).
    pub fn finish(&self) -> Result<(), DecodeError> {
        self.r.finish()
    }
}

fn uint32(v: i128, what: &'static str) -> Result<u32, DecodeError> {
    if (0..=i128::from(u32::MAX)).contains(&v) {
        Ok(v as u32)
    } else if (i128::from(i32::MIN)..0).contains(&v) {
        Ok(v as i32 as u32)
    } else {
        Err(DecodeError::invalid(what))
    }
}

/// Decode a whole KerberosString element. GeneralString is restricted to IA5 in practice
/// (RFC 4120 5.2.1); UTF-8 is accepted as MIT and Windows send it for non-ASCII names.
pub fn decode_string(e: &[u8], what: &'static str) -> Result<String, DecodeError> {
    let c = only(e, TAG_GENERAL_STRING, what)?;
    if c.len() > MAX_STRING_LEN {
        return Err(DecodeError::too_large(what));
    }
    String::from_utf8(c.to_vec()).map_err(|_| DecodeError::invalid(what))
}

/// The elements (whole encodings) of the SEQUENCE OF filling `e` exactly.
pub fn seq_of<'a>(e: &'a [u8], what: &'static str) -> Result<Vec<&'a [u8]>, DecodeError> {
    let mut r = DerReader::new(only(e, TAG_SEQ, what)?, what);
    let mut out = Vec::new();
    while !r.is_empty() {
        if out.len() >= MAX_SEQ_ITEMS {
            return Err(DecodeError::too_large(what));
        }
        let tag = r.peek_tag().ok_or(DecodeError::truncated(what))?;
        out.push(r.expect_whole(tag)?);
    }
    Ok(out)
}

/// Decode the content of a flags BIT STRING: unused-bits byte 0 and at least 4 bytes (RFC
/// 4120 5.2.8 allows longer strings; bits past 31 are ignored).
pub fn decode_flags(c: &[u8], what: &'static str) -> Result<u32, DecodeError> {
    match c {
        [0, b0, b1, b2, b3, ..] => Ok(u32::from_be_bytes([*b0, *b1, *b2, *b3])),
        [unused, rest @ ..] if *unused < 8 && rest.len() < 4 => {
            let mut b = [0u8; 4];
            b[..rest.len()].copy_from_slice(rest);
            Ok(u32::from_be_bytes(b))
        }
        _ => Err(DecodeError::invalid(what)),
    }
}

/// Decode the content of an INTEGER element filling `e` exactly as an Int32.
pub fn decode_i32_elem(e: &[u8], what: &'static str) -> Result<i32, DecodeError> {
    let v = decode_int(only(e, TAG_INTEGER, what)?, what)?;
    i32::try_from(v).map_err(|_| DecodeError::invalid(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_round_trip_minimal() {
        for (v, hex) in [
            (0i64, "00"),
            (5, "05"),
            (127, "7f"),
            (128, "0080"),
            (-1, "ff"),
            (-128, "80"),
            (-129, "ff7f"),
            (-138, "ff76"),
            (0x7fff_ffff, "7fffffff"),
            (0xffff_ffff, "00ffffffff"),
        ] {
            assert_eq!(hex::encode(encode_int_content(v)), hex, "{v}");
            assert_eq!(decode_int(&hex::decode(hex).unwrap(), "t").unwrap(), v);
        }
        assert!(decode_int(&[], "t").is_err());
        assert!(decode_int(&[0; 9], "t").is_err());
    }

    #[test]
    fn uint32_accepts_windows_negative_form() {
        let mut f = Fields::of_body(&[0xa0, 0x06, 0x02, 0x04, 0x80, 0x00, 0x00, 0x01], "t");
        assert_eq!(f.u32(0).unwrap(), 0x8000_0001);
        let mut f = Fields::of_body(&[0xa0, 0x07, 0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x01], "t");
        assert_eq!(f.u32(0).unwrap(), 0x8000_0001);
        let mut f = Fields::of_body(&[0xa0, 0x07, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00], "t");
        assert!(f.u32(0).is_err());
    }

    /// RFC 4120 5.2.3 form; 2026-12-05T19:49:03Z is the time of the captures under
    /// tests/vectors/kerberos (epoch 1796500143).
    #[test]
    fn kerberos_time() {
        let t = KerberosTime(1_796_500_143);
        assert_eq!(&t.to_generalized(), b"20261205194903Z");
        assert_eq!(KerberosTime::parse(b"20261205194903Z", "t").unwrap(), t);
        assert_eq!(&KerberosTime(0).to_generalized(), b"19700101000000Z");
        assert_eq!(&KerberosTime::FAR_FUTURE.to_generalized(), b"20380119031407Z");
        assert_eq!(&KerberosTime(951_782_400).to_generalized(), b"20000229000000Z");
        for bad in
            [&b"20261205194903"[..], b"2026120519490Z", b"20261305194903Z", b"2026120519490aZ"]
        {
            assert!(KerberosTime::parse(bad, "t").is_err());
        }
        let ts = KrbTimestamp::from_filetime(0x01dd_7a2e_d461_a6e6);
        assert_eq!(KrbTimestamp::from_filetime(ts.to_filetime()), ts);
        assert!(ts.usec < 1_000_000);
    }

    #[test]
    fn flags_bit_string() {
        let e = flags32(0x4081_0010);
        assert_eq!(hex::encode(&e), "03050040810010");
        assert_eq!(decode_flags(&e[2..], "t").unwrap(), 0x4081_0010);
        assert!(decode_flags(&[], "t").is_err());
        assert!(decode_flags(&[9, 1], "t").is_err());
    }
}
