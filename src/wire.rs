//! Bounds-checked little-endian byte cursor ([`Reader`]) and builder ([`Writer`]).
//!
//! Every decoder in the crate reads server bytes through [`Reader`]: each read checks the
//! remaining length first, so malformed input becomes a [`DecodeError`], never a panic or an
//! out-of-bounds slice. Whole-message decoders finish with [`Reader::finish`], which rejects
//! trailing bytes. Lengths announced by the peer are checked against what is actually present
//! (see [`Reader::check_count`]) before any allocation proportional to them.

use core::fmt;

/// Why a byte sequence could not be decoded.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the field was complete.
    Truncated,
    /// Bytes were left over after a complete message.
    TrailingData,
    /// A field held a value the format does not allow.
    Invalid,
    /// A count or length exceeded a fixed limit or the bytes actually present.
    TooLarge,
    /// Nesting exceeded the decoder's depth cap.
    TooDeep,
}

/// A decode failure: what went wrong and in which field.
///
/// Small and `Copy`; `what` names the field or structure being decoded (a static string, never
/// data from the peer). These are internal diagnostics; the public [`crate::Error`] wraps them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError {
    /// The field or structure being decoded.
    pub what: &'static str,
    /// What was wrong with it.
    pub kind: DecodeErrorKind,
}

impl DecodeError {
    /// A truncation error for `what`.
    pub const fn truncated(what: &'static str) -> Self {
        Self { what, kind: DecodeErrorKind::Truncated }
    }
    /// An invalid-value error for `what`.
    pub const fn invalid(what: &'static str) -> Self {
        Self { what, kind: DecodeErrorKind::Invalid }
    }
    /// A too-large error for `what`.
    pub const fn too_large(what: &'static str) -> Self {
        Self { what, kind: DecodeErrorKind::TooLarge }
    }
    /// A trailing-data error for `what`.
    pub const fn trailing(what: &'static str) -> Self {
        Self { what, kind: DecodeErrorKind::TrailingData }
    }
    /// A too-deep error for `what`.
    pub const fn too_deep(what: &'static str) -> Self {
        Self { what, kind: DecodeErrorKind::TooDeep }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            DecodeErrorKind::Truncated => "truncated",
            DecodeErrorKind::TrailingData => "trailing bytes after",
            DecodeErrorKind::Invalid => "invalid",
            DecodeErrorKind::TooLarge => "oversized",
            DecodeErrorKind::TooDeep => "too deeply nested",
        };
        write!(f, "{kind} {}", self.what)
    }
}

impl std::error::Error for DecodeError {}

/// A bounds-checked cursor over a byte slice. All integers are little-endian unless the method
/// name says `_be`.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader positioned at the start of `buf`.
    pub const fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Bytes consumed so far (the offset from the start of the buffer).
    pub const fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet consumed.
    pub const fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Whether every byte has been consumed.
    pub const fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The whole underlying buffer (for offset-based formats such as SMB2 and NTLM).
    pub const fn buffer(&self) -> &'a [u8] {
        self.buf
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// Take `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::truncated(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Take all the remaining bytes.
    pub fn take_rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// Take a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Skip `n` bytes.
    pub fn skip(&mut self, n: usize, what: &'static str) -> Result<(), DecodeError> {
        self.take(n, what).map(|_| ())
    }

    /// Read a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    /// Read a little-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `i32`.
    pub fn i32(&mut self, what: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array(what)?))
    }
    /// Read a little-endian `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }
    /// Read a big-endian `u16`.
    pub fn u16_be(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    /// Read a big-endian `u32`.
    pub fn u32_be(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Skip padding so that the position is a multiple of `align` (relative to the start of
    /// this reader's buffer). `align` must be a power of two.
    pub fn align(&mut self, align: usize, what: &'static str) -> Result<(), DecodeError> {
        let pad = padding(self.pos, align);
        self.skip(pad, what)
    }

    /// Check that `count` elements of `elem_size` bytes each can still be present, so that a
    /// caller may allocate for them. Rejects counts the remaining bytes cannot hold.
    pub fn check_count(
        &self,
        count: usize,
        elem_size: usize,
        what: &'static str,
    ) -> Result<(), DecodeError> {
        match count.checked_mul(elem_size) {
            Some(n) if n <= self.remaining() => Ok(()),
            _ => Err(DecodeError::too_large(what)),
        }
    }

    /// A sub-reader over the next `n` bytes (consumed from this reader).
    pub fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>, DecodeError> {
        Ok(Reader::new(self.take(n, what)?))
    }

    /// Succeed only if every byte was consumed.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() { Ok(()) } else { Err(DecodeError::trailing(what)) }
    }

    /// Slice `len` bytes at absolute `offset` of the underlying buffer (for offset/length
    /// fields), without moving the cursor.
    pub fn slice_at(
        &self,
        offset: usize,
        len: usize,
        what: &'static str,
    ) -> Result<&'a [u8], DecodeError> {
        let end = offset.checked_add(len).ok_or(DecodeError::too_large(what))?;
        self.buf.get(offset..end).ok_or(DecodeError::truncated(what))
    }
}

/// The number of padding bytes that bring `pos` to a multiple of `align` (a power of two).
pub const fn padding(pos: usize, align: usize) -> usize {
    (align - (pos % align)) % align
}

/// A growable little-endian byte builder.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub const fn new() -> Self {
        Self { buf: Vec::new() }
    }
    /// An empty writer with room for `n` bytes.
    pub fn with_capacity(n: usize) -> Self {
        Self { buf: Vec::with_capacity(n) }
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Append a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }
    /// Append a little-endian `u16`.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    /// Append a little-endian `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    /// Append a little-endian `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    /// Append a little-endian `i32`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    /// Append a little-endian `i64`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
    /// Append a big-endian `u16`.
    pub fn u16_be(&mut self, v: u16) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    /// Append a big-endian `u32`.
    pub fn u32_be(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    /// Append raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }
    /// Append `n` zero bytes.
    pub fn zeros(&mut self, n: usize) -> &mut Self {
        self.buf.resize(self.buf.len() + n, 0);
        self
    }
    /// Pad with zeros to a multiple of `align` (relative to the start of this writer).
    pub fn align(&mut self, align: usize) -> &mut Self {
        let pad = padding(self.buf.len(), align);
        self.zeros(pad)
    }
    /// Overwrite a little-endian `u16` at `at` (for lengths known only later).
    ///
    /// # Panics
    /// If `at + 2` exceeds the bytes written: a bug in the encoder, never caused by input.
    #[allow(clippy::indexing_slicing)]
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        self.buf[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }
    /// Overwrite a little-endian `u32` at `at`.
    ///
    /// # Panics
    /// If `at + 4` exceeds the bytes written: a bug in the encoder, never caused by input.
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        self.buf[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }
    /// Mutable access to the bytes written so far.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.buf
    }
    /// The finished bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_little_endian_and_rejects_truncation() {
        let mut r = Reader::new(&[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(r.u16("a").unwrap(), 0x0201);
        assert_eq!(r.u32("b").unwrap(), 0x0605_0403);
        assert_eq!(r.u16("c").unwrap_err(), DecodeError::truncated("c"));
        assert_eq!(r.u8("d").unwrap(), 7);
        r.finish("msg").unwrap();
    }

    #[test]
    fn finish_rejects_trailing_bytes() {
        let r = Reader::new(&[0]);
        assert_eq!(r.finish("m").unwrap_err().kind, DecodeErrorKind::TrailingData);
    }

    #[test]
    fn check_count_rejects_overflow_and_oversize() {
        let r = Reader::new(&[0; 8]);
        assert!(r.check_count(2, 4, "x").is_ok());
        assert!(r.check_count(3, 4, "x").is_err());
        assert!(r.check_count(usize::MAX, 2, "x").is_err());
    }

    #[test]
    fn align_is_relative_to_start() {
        let mut r = Reader::new(&[0; 16]);
        r.skip(1, "x").unwrap();
        r.align(4, "pad").unwrap();
        assert_eq!(r.position(), 4);
        r.align(4, "pad").unwrap();
        assert_eq!(r.position(), 4);
        let mut w = Writer::new();
        w.u8(1).align(8);
        assert_eq!(w.len(), 8);
    }

    #[test]
    fn slice_at_is_checked() {
        let r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.slice_at(1, 2, "s").unwrap(), &[2, 3]);
        assert!(r.slice_at(2, 2, "s").is_err());
        assert!(r.slice_at(usize::MAX, 2, "s").is_err());
    }
}
