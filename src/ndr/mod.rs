//! NDR20 marshalling (two-pass: scalars, then deferred pointees), as C706 chapter 14 and
//! [MS-RPCE] 2.2.4/2.2.5 define it; the rules used here are summarised in protocol-notes 4.6.
//!
//! The model is the one Samba's generated code uses. Every marshallable type implements
//! [`Ndr`] with two passes per direction:
//!
//! * `write_scalars` / `read_scalars`: the fixed part, in member order. An embedded pointer
//!   contributes only its referent id (0 = NULL).
//! * `write_deferred` / `read_deferred`: the pointees of those embedded pointers, in the same
//!   order, each again as scalars then deferred.
//!
//! A top-level parameter is marshalled with [`NdrWriter::write`] (scalars, then deferred), so
//! the pointees of its embedded pointers land at the end of that parameter. A top-level
//! `[ref]` pointer takes no wire space; a top-level `[unique]` pointer is a referent id followed
//! at once by its pointee ([`NdrWriter::unique`], [`NdrReader::unique`]).
//!
//! Alignment is relative to the start of the stub (the bytes after the REQUEST/RESPONSE PDU
//! header). Full (`[ptr]`) pointers with aliasing are not supported: SAMR never aliases, and
//! every pointer is treated as unique.
//!
//! Decoding is bounded: counts are checked against the remaining bytes before allocating,
//! arrays and strings are capped ([`MAX_ARRAY_ELEMENTS`], [`MAX_STRING_UNITS`]), nesting is
//! capped ([`MAX_DEPTH`]), and [`decode_stub`] rejects trailing bytes.

mod types;

pub use types::{
    ContextHandle, OldLargeInteger, RpcSid, RpcUnicodeString, SID_MAX_SUB_AUTHORITIES,
    StringTooLong, WString,
};

use crate::wire::{DecodeError, Reader, Writer};

/// The first referent id handed out; the following ones step by 4, as Windows and Samba do
/// (protocol-notes 1.3).
pub const FIRST_REFERENT_ID: u32 = 0x0002_0000;

/// Largest element count accepted for a decoded conformant array.
pub const MAX_ARRAY_ELEMENTS: usize = 65_536;

/// Largest number of UTF-16 code units accepted for a decoded string.
pub const MAX_STRING_UNITS: usize = 32_768;

/// Largest nesting depth of [`NdrReader::read`] calls.
pub const MAX_DEPTH: u32 = 16;

/// A type with an NDR20 representation, marshalled in two passes (see the module docs).
pub trait Ndr: Sized {
    /// Alignment of the type's scalar part (its largest member).
    const ALIGN: usize;
    /// The smallest number of bytes one value occupies on the wire (for count checks).
    const MIN_WIRE_SIZE: usize = 1;

    /// Write the scalar part: fixed members and referent ids of embedded pointers.
    fn write_scalars(&self, w: &mut NdrWriter);
    /// Write the pointees of embedded pointers (default: none).
    fn write_deferred(&self, _w: &mut NdrWriter) {}
    /// Read the scalar part. Embedded pointers are recorded as pending.
    fn read_scalars(r: &mut NdrReader<'_>) -> Result<Self, DecodeError>;
    /// Read the pointees of embedded pointers recorded by `read_scalars` (default: none).
    fn read_deferred(&mut self, _r: &mut NdrReader<'_>) -> Result<(), DecodeError> {
        Ok(())
    }
}

/// A whole stub (a request's `[in]` parameters or a response's `[out]` parameters and return
/// value): encoded from the stub start, decoded with trailing bytes rejected.
pub trait Stub: Sized {
    /// Write every parameter, in IDL order.
    fn write_stub(&self, w: &mut NdrWriter);
    /// Read every parameter, in IDL order.
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError>;

    /// The stub bytes.
    fn to_stub(&self) -> Vec<u8> {
        let mut w = NdrWriter::new();
        self.write_stub(&mut w);
        w.into_vec()
    }
    /// Decode a whole stub, rejecting trailing bytes.
    fn from_stub(stub: &[u8]) -> Result<Self, DecodeError> {
        decode_stub(stub, Self::read_stub)
    }
}

/// Run `f` over the whole `stub` and reject any byte it leaves unread.
pub fn decode_stub<T>(
    stub: &[u8],
    f: impl FnOnce(&mut NdrReader<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut r = NdrReader::new(stub);
    let v = f(&mut r)?;
    r.finish("NDR stub")?;
    Ok(v)
}

/// NDR20 encoder over a [`Writer`]; alignment is relative to the stub start.
#[derive(Debug)]
pub struct NdrWriter {
    w: Writer,
    next_referent: u32,
}

impl Default for NdrWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl NdrWriter {
    /// An empty writer positioned at the stub start.
    pub fn new() -> Self {
        Self { w: Writer::new(), next_referent: FIRST_REFERENT_ID }
    }
    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.w.len()
    }
    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }
    /// Pad with zeros to a multiple of `align`.
    pub fn align(&mut self, align: usize) {
        self.w.align(align);
    }
    /// A `u8` (boolean, UCHAR).
    pub fn u8(&mut self, v: u8) {
        self.w.u8(v);
    }
    /// A 2-aligned `u16` (also NDR20 enums).
    pub fn u16(&mut self, v: u16) {
        self.align(2);
        self.w.u16(v);
    }
    /// A 4-aligned `u32`.
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.w.u32(v);
    }
    /// An 8-aligned `u64` (hyper, ULONGLONG).
    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.w.u64(v);
    }
    /// An 8-aligned `i64` (LARGE_INTEGER).
    pub fn i64(&mut self, v: i64) {
        self.align(8);
        self.w.i64(v);
    }
    /// Raw bytes (a fixed array of bytes, alignment 1).
    pub fn bytes(&mut self, b: &[u8]) {
        self.w.bytes(b);
    }
    /// A pointer's referent id: 0 for NULL, else the next id (0x00020000, +4, …).
    pub fn referent(&mut self, present: bool) {
        if present {
            let id = self.next_referent;
            self.next_referent = self.next_referent.wrapping_add(4);
            self.u32(id);
        } else {
            self.u32(0);
        }
    }
    /// A complete value: scalars, then its deferred pointees (a top-level parameter, a `[ref]`
    /// pointee, or a pointee written in a deferred pass).
    pub fn write<T: Ndr>(&mut self, v: &T) {
        v.write_scalars(self);
        v.write_deferred(self);
    }
    /// A top-level `[unique]` pointer: referent id, then the pointee at once.
    pub fn unique<T: Ndr>(&mut self, v: Option<&T>) {
        self.referent(v.is_some());
        if let Some(v) = v {
            self.write(v);
        }
    }
    /// A conformant array of bytes: MaxCount, then the bytes.
    pub fn conformant_bytes(&mut self, b: &[u8]) {
        self.u32(len_u32(b.len()));
        self.bytes(b);
    }
    /// A conformant varying array header: MaxCount, Offset = 0, ActualCount.
    pub fn varying_header(&mut self, max_count: u32, actual_count: u32) {
        self.u32(max_count);
        self.u32(0);
        self.u32(actual_count);
    }
    /// A conformant array of structures: MaxCount, every element's scalars, then every
    /// element's deferred pointees.
    pub fn conformant_array<T: Ndr>(&mut self, items: &[T]) {
        self.u32(len_u32(items.len()));
        self.array_body(items);
    }
    /// The elements of an array (after its header): all scalars, then all deferred parts.
    pub fn array_body<T: Ndr>(&mut self, items: &[T]) {
        for it in items {
            it.write_scalars(self);
        }
        for it in items {
            it.write_deferred(self);
        }
    }
    /// The finished stub bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.w.into_vec()
    }
}

/// Saturating conversion of an in-memory length to a wire count. Encoders only marshal values
/// whose constructors bounded their lengths, so saturation never happens in practice.
pub(crate) fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// NDR20 decoder over a [`Reader`], with the limits described in the module docs.
#[derive(Debug)]
pub struct NdrReader<'a> {
    r: Reader<'a>,
    depth: u32,
}

impl<'a> NdrReader<'a> {
    /// A reader at the stub start.
    pub const fn new(stub: &'a [u8]) -> Self {
        Self { r: Reader::new(stub), depth: 0 }
    }
    /// Bytes not yet consumed.
    pub const fn remaining(&self) -> usize {
        self.r.remaining()
    }
    /// Skip padding to a multiple of `align`.
    pub fn align(&mut self, align: usize, what: &'static str) -> Result<(), DecodeError> {
        self.r.align(align, what)
    }
    /// A `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        self.r.u8(what)
    }
    /// A 2-aligned `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        self.align(2, what)?;
        self.r.u16(what)
    }
    /// A 4-aligned `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        self.align(4, what)?;
        self.r.u32(what)
    }
    /// An 8-aligned `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        self.align(8, what)?;
        self.r.u64(what)
    }
    /// An 8-aligned `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        self.align(8, what)?;
        self.r.i64(what)
    }
    /// `n` raw bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        self.r.take(n, what)
    }
    /// A fixed byte array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        self.r.array(what)
    }
    /// A referent id: `true` if non-NULL.
    pub fn referent(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u32(what)? != 0)
    }
    /// A complete value (scalars, then deferred), with the nesting cap.
    pub fn read<T: Ndr>(&mut self) -> Result<T, DecodeError> {
        if self.depth >= MAX_DEPTH {
            return Err(DecodeError::too_deep("NDR nesting"));
        }
        self.depth += 1;
        let res = T::read_scalars(self).and_then(|mut v| v.read_deferred(self).map(|()| v));
        self.depth -= 1;
        res
    }
    /// A top-level `[unique]` pointer: referent id, then the pointee at once.
    pub fn unique<T: Ndr>(&mut self, what: &'static str) -> Result<Option<T>, DecodeError> {
        if self.referent(what)? { self.read().map(Some) } else { Ok(None) }
    }
    /// A conformant MaxCount, checked against `cap`.
    pub fn conformance(&mut self, cap: usize, what: &'static str) -> Result<usize, DecodeError> {
        let n = usize::try_from(self.u32(what)?).map_err(|_| DecodeError::too_large(what))?;
        if n > cap {
            return Err(DecodeError::too_large(what));
        }
        // MaxCount may exceed what is transmitted (varying arrays); the transmitted part is
        // checked against the remaining bytes by `variance` or by the element reader.
        Ok(n)
    }
    /// A varying part: Offset (must be 0) and ActualCount (must be ≤ `max_count`), checked
    /// against the remaining bytes for elements of `elem_size` bytes.
    pub fn variance(
        &mut self,
        max_count: usize,
        elem_size: usize,
        what: &'static str,
    ) -> Result<usize, DecodeError> {
        if self.u32(what)? != 0 {
            return Err(DecodeError::invalid(what));
        }
        let n = usize::try_from(self.u32(what)?).map_err(|_| DecodeError::too_large(what))?;
        if n > max_count {
            return Err(DecodeError::invalid(what));
        }
        self.r.check_count(n, elem_size, what)?;
        Ok(n)
    }
    /// A conformant array of bytes (MaxCount, then the bytes), at most `cap` bytes.
    pub fn conformant_bytes(
        &mut self,
        cap: usize,
        what: &'static str,
    ) -> Result<Vec<u8>, DecodeError> {
        let n = self.conformance(cap, what)?;
        Ok(self.bytes(n, what)?.to_vec())
    }
    /// A conformant array of structures (MaxCount, scalars of each, deferred of each).
    pub fn conformant_array<T: Ndr>(&mut self, what: &'static str) -> Result<Vec<T>, DecodeError> {
        let n = self.conformance(MAX_ARRAY_ELEMENTS, what)?;
        self.array_body(n, what)
    }
    /// `n` elements of an array (after its header): all scalars, then all deferred parts.
    pub fn array_body<T: Ndr>(
        &mut self,
        n: usize,
        what: &'static str,
    ) -> Result<Vec<T>, DecodeError> {
        self.r.check_count(n, T::MIN_WIRE_SIZE, what)?;
        if self.depth >= MAX_DEPTH {
            return Err(DecodeError::too_deep("NDR nesting"));
        }
        self.depth += 1;
        let res = (|| {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(T::read_scalars(self)?);
            }
            for it in &mut v {
                it.read_deferred(self)?;
            }
            Ok(v)
        })();
        self.depth -= 1;
        res
    }
    /// A 4-aligned array of `n` `u32` values (already counted).
    pub fn u32_values(&mut self, n: usize, what: &'static str) -> Result<Vec<u32>, DecodeError> {
        self.align(4, what)?;
        self.r.check_count(n, 4, what)?;
        (0..n).map(|_| self.r.u32(what)).collect()
    }
    /// A 2-aligned array of `n` UTF-16 code units (already counted).
    pub fn u16_values(&mut self, n: usize, what: &'static str) -> Result<Vec<u16>, DecodeError> {
        self.align(2, what)?;
        self.r.check_count(n, 2, what)?;
        (0..n).map(|_| self.r.u16(what)).collect()
    }
    /// Succeed only if every byte was consumed.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        self.r.finish(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn referent_ids_step_by_four() {
        let mut w = NdrWriter::new();
        w.referent(true);
        w.referent(false);
        w.referent(true);
        assert_eq!(
            hex::encode(w.into_vec()),
            "00000200" /**/
                .to_owned()
                + "00000000"
                + "04000200"
        );
    }

    #[test]
    fn alignment_is_relative_to_stub_start() {
        let mut w = NdrWriter::new();
        w.u8(1);
        w.u16(2);
        w.u64(3);
        assert_eq!(
            hex::encode(w.into_vec()),
            "0100020000000000" /**/
                .to_owned()
                + "0300000000000000"
        );
        let bytes = [1u8, 0, 2, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0];
        let mut r = NdrReader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 1);
        assert_eq!(r.u16("b").unwrap(), 2);
        assert_eq!(r.u64("c").unwrap(), 3);
        r.finish("x").unwrap();
    }

    #[test]
    fn variance_rejects_nonzero_offset_and_actual_over_max() {
        // Offset 1.
        let mut r = NdrReader::new(&[1, 0, 0, 0, 0, 0, 0, 0]);
        assert!(r.variance(4, 1, "v").is_err());
        // ActualCount 5 > MaxCount 4.
        let mut r = NdrReader::new(&[0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(r.variance(4, 1, "v").is_err());
        // ActualCount larger than the bytes present.
        let mut r = NdrReader::new(&[0, 0, 0, 0, 3, 0, 0, 0, 0]);
        assert!(r.variance(4, 1, "v").is_err());
    }

    #[test]
    fn conformance_is_capped() {
        let mut r = NdrReader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert!(r.conformant_bytes(1024, "c").is_err());
        let mut r = NdrReader::new(&[0x10, 0, 0, 0, 1, 2]);
        assert!(r.conformant_bytes(1024, "c").is_err());
    }

    #[test]
    fn decode_stub_rejects_trailing_bytes() {
        assert!(decode_stub(&[1, 0, 0, 0, 0], |r| r.u32("x")).is_err());
        assert_eq!(decode_stub(&[1, 0, 0, 0], |r| r.u32("x")).unwrap(), 1);
    }
}
