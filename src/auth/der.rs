//! A minimal, strict DER (X.690) reader and writer shared by SPNEGO and Kerberos.
//!
//! Only what these protocols use: single-byte tags (universal, application and context
//! classes up to tag number 30), definite lengths in the short form and the `81`–`84` long
//! forms, and an element-by-element cursor over a constructed value's content.
//!
//! Safety rules (every decoder in the crate follows them): every length is checked against
//! the bytes actually present before anything is sliced or allocated, lengths above
//! [`MAX_DER_LEN`] are refused, indefinite lengths and multi-byte tags are refused, and
//! [`DerReader::finish`] rejects trailing bytes. Decoders built on this module follow fixed
//! message structures and never recurse on peer-chosen nesting, so nesting depth is bounded
//! by construction; elements they do not interpret are kept opaque, never descended into.

use crate::wire::{DecodeError, Reader};

/// Largest single DER element accepted (1 MiB): far above any Kerberos or SPNEGO message
/// (tickets with PACs are a few KiB), far below anything that could exhaust memory.
pub const MAX_DER_LEN: usize = 1 << 20;

/// Universal tag: BOOLEAN.
pub const TAG_BOOLEAN: u8 = 0x01;
/// Universal tag: INTEGER.
pub const TAG_INTEGER: u8 = 0x02;
/// Universal tag: BIT STRING.
pub const TAG_BIT_STRING: u8 = 0x03;
/// Universal tag: OCTET STRING.
pub const TAG_OCTETS: u8 = 0x04;
/// Universal tag: OBJECT IDENTIFIER.
pub const TAG_OID: u8 = 0x06;
/// Universal tag: ENUMERATED.
pub const TAG_ENUM: u8 = 0x0a;
/// Universal tag: GeneralString.
pub const TAG_GENERAL_STRING: u8 = 0x1b;
/// Universal tag: GeneralizedTime.
pub const TAG_GENERALIZED_TIME: u8 = 0x18;
/// Universal tag: SEQUENCE / SEQUENCE OF (constructed).
pub const TAG_SEQ: u8 = 0x30;

/// The tag byte of an explicit context-specific constructed tag `[n]` (`n` ≤ 30).
pub const fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// The tag byte of an application-class constructed tag `[APPLICATION n]` (`n` ≤ 30).
pub const fn app(n: u8) -> u8 {
    0x60 | n
}

/// Read one element (tag, content) from `r`.
pub fn read_tlv<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<(u8, &'a [u8]), DecodeError> {
    let tag = r.u8(what)?;
    if tag & 0x1f == 0x1f {
        return Err(DecodeError::invalid(what)); // multi-byte tags never occur here
    }
    let first = r.u8(what)?;
    let len = match first {
        0..=0x7f => usize::from(first),
        0x81 => usize::from(r.u8(what)?),
        0x82 => usize::from(r.u16_be(what)?),
        0x83 => {
            let b = r.array::<3>(what)?;
            (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
        }
        0x84 => r.u32_be(what)? as usize,
        _ => return Err(DecodeError::invalid(what)), // indefinite (0x80) or over-long length
    };
    if len > MAX_DER_LEN {
        return Err(DecodeError::too_large(what));
    }
    Ok((tag, r.take(len, what)?))
}

/// Read one element that must carry `tag`; returns its content.
pub fn expect<'a>(
    r: &mut Reader<'a>,
    tag: u8,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let (t, c) = read_tlv(r, what)?;
    if t != tag {
        return Err(DecodeError::invalid(what));
    }
    Ok(c)
}

/// The content of a single element `tag` that must fill `buf` exactly.
pub fn only<'a>(buf: &'a [u8], tag: u8, what: &'static str) -> Result<&'a [u8], DecodeError> {
    let mut r = Reader::new(buf);
    let c = expect(&mut r, tag, what)?;
    r.finish(what)?;
    Ok(c)
}

/// The tag of the single element filling `buf` exactly (its bytes are `buf` itself).
pub fn only_any(buf: &[u8], what: &'static str) -> Result<u8, DecodeError> {
    let mut r = Reader::new(buf);
    let (tag, _) = read_tlv(&mut r, what)?;
    r.finish(what)?;
    Ok(tag)
}

/// Append a DER length.
pub fn put_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xffff {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else if len <= 0xff_ffff {
        out.push(0x83);
        out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
    } else {
        out.push(0x84);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// DER-encode one element.
pub fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    put_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

/// A cursor over the elements of a constructed value's content.
#[derive(Clone, Debug)]
pub struct DerReader<'a> {
    r: Reader<'a>,
    what: &'static str,
}

impl<'a> DerReader<'a> {
    /// A cursor over `content`; `what` names the structure in errors.
    pub const fn new(content: &'a [u8], what: &'static str) -> Self {
        Self { r: Reader::new(content), what }
    }

    /// Whether every element has been read.
    pub const fn is_empty(&self) -> bool {
        self.r.is_empty()
    }

    /// The tag of the next element, without consuming it.
    pub fn peek_tag(&self) -> Option<u8> {
        self.r.rest().first().copied()
    }

    /// Read the next element, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], DecodeError> {
        expect(&mut self.r, tag, self.what)
    }

    /// Read the next element if it carries `tag`; `None` (nothing consumed) otherwise.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, DecodeError> {
        if self.peek_tag() == Some(tag) { self.expect(tag).map(Some) } else { Ok(None) }
    }

    /// The whole encoding (tag, length, content) of the next element, which must carry
    /// `tag`: for fields kept opaque.
    pub fn expect_whole(&mut self, tag: u8) -> Result<&'a [u8], DecodeError> {
        let start = self.r.position();
        self.expect(tag)?;
        let end = self.r.position();
        Ok(&self.r.buffer()[start..end])
    }

    /// Fail unless every element has been read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        self.r.finish(self.what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_forms_round_trip() {
        for n in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x1_0000] {
            let e = der(TAG_OCTETS, &vec![0xab; n]);
            assert_eq!(only(&e, TAG_OCTETS, "t").unwrap().len(), n);
            for k in 0..e.len() {
                assert!(only(&e[..k], TAG_OCTETS, "t").is_err(), "prefix {k} of {n}");
            }
            let mut t = e.clone();
            t.push(0);
            assert!(only(&t, TAG_OCTETS, "t").is_err(), "trailing byte");
        }
    }

    #[test]
    fn rejects_hostile_forms() {
        // Indefinite length, 5-byte length, multi-byte tag, over-cap length, wrong tag.
        for b in [
            &[0x30, 0x80, 0x00, 0x00][..],
            &[0x04, 0x85, 0, 0, 0, 0, 1, 0],
            &[0x1f, 0x01, 0x00],
            &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff],
            &[0x04, 0x84, 0x00, 0x10, 0x00, 0x01],
            &[0x05, 0x00],
        ] {
            assert!(only(b, TAG_OCTETS, "t").is_err(), "{b:02x?}");
        }
    }

    #[test]
    fn reader_optional_and_whole() {
        let mut body = der(ctx(0), &der(TAG_INTEGER, &[5]));
        body.extend(der(ctx(2), &der(TAG_OCTETS, b"x")));
        let mut r = DerReader::new(&body, "t");
        assert!(r.optional(ctx(0)).unwrap().is_some());
        assert!(r.optional(ctx(1)).unwrap().is_none());
        assert_eq!(r.expect_whole(ctx(2)).unwrap(), &body[5..]);
        r.finish().unwrap();
        assert_eq!(only_any(&body[..5], "t").unwrap(), ctx(0));
    }
}
