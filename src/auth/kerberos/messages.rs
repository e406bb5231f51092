//! Kerberos V5 messages ([RFC 4120] 5): the codecs for everything the client sends or reads.
//!
//! Encoders produce DER exactly as RFC 4120 specifies (fields in tag order, optional fields
//! omitted when absent). Decoders are strict about structure (fields in ascending tag order,
//! no unknown fields, no trailing bytes, every length checked before use, at most
//! [`MAX_SEQ_ITEMS`](super::asn1::MAX_SEQ_ITEMS) elements per SEQUENCE OF) and tolerant only
//! where real KDCs differ: UInt32 in Windows' signed form, EncTGSRepPart sent as EncASRepPart.
//!
//! Secret-bearing structures (keys, the authenticator, KRB-PRIV plaintext) are encoded into
//! zeroizing buffers, and decoded keys live in [`RawKey`] (zeroized on drop, redacted Debug).

use super::asn1::{
    Fields, KerberosTime, boolean, decode_i32_elem, decode_string, field, flags32, int, octets,
    seq, seq_of, string,
};
use crate::auth::der::{TAG_SEQ, app, only};
use crate::secret::SecretBytes;
use crate::wire::DecodeError;
use zeroize::Zeroizing;

/// Largest Kerberos message accepted from a peer (KDC replies with large PACs stay far below).
pub const MAX_MESSAGE_LEN: usize = 256 * 1024;

/// Message type numbers (RFC 4120 5.10 and the APPLICATION tags they go with).
pub mod msg_type {
    /// AS-REQ.
    pub const AS_REQ: u8 = 10;
    /// AS-REP.
    pub const AS_REP: u8 = 11;
    /// TGS-REQ.
    pub const TGS_REQ: u8 = 12;
    /// TGS-REP.
    pub const TGS_REP: u8 = 13;
    /// AP-REQ.
    pub const AP_REQ: u8 = 14;
    /// AP-REP.
    pub const AP_REP: u8 = 15;
    /// KRB-PRIV.
    pub const KRB_PRIV: u8 = 21;
    /// KRB-ERROR.
    pub const KRB_ERROR: u8 = 30;
}

/// PA-DATA types used here (RFC 4120 7.5.2, [MS-KILE] 2.2).
pub mod pa_type {
    /// PA-TGS-REQ (an AP-REQ in a TGS-REQ).
    pub const TGS_REQ: i32 = 1;
    /// PA-ENC-TIMESTAMP.
    pub const ENC_TIMESTAMP: i32 = 2;
    /// PA-PW-SALT (AD puts an NTSTATUS here in KRB-ERROR e-data).
    pub const PW_SALT: i32 = 3;
    /// PA-ETYPE-INFO.
    pub const ETYPE_INFO: i32 = 11;
    /// PA-ETYPE-INFO2.
    pub const ETYPE_INFO2: i32 = 19;
    /// PA-PAC-REQUEST ([MS-KILE] 2.2.3).
    pub const PAC_REQUEST: i32 = 128;
}

/// KDCOptions bits (RFC 4120 5.4.1; bit 0 is the most significant bit of the u32).
pub mod kdc_options {
    /// forwardable (bit 1).
    pub const FORWARDABLE: u32 = 0x4000_0000;
    /// renewable (bit 8).
    pub const RENEWABLE: u32 = 0x0080_0000;
    /// canonicalize (bit 15, RFC 6806).
    pub const CANONICALIZE: u32 = 0x0001_0000;
    /// renewable-ok (bit 27).
    pub const RENEWABLE_OK: u32 = 0x0000_0010;
}

/// APOptions bits (RFC 4120 5.5.1).
pub mod ap_options {
    /// use-session-key (bit 1).
    pub const USE_SESSION_KEY: u32 = 0x4000_0000;
    /// mutual-required (bit 2).
    pub const MUTUAL_REQUIRED: u32 = 0x2000_0000;
}

/// Name types (RFC 4120 6.2).
pub mod name_type {
    /// NT-PRINCIPAL: a user.
    pub const PRINCIPAL: i32 = 1;
    /// NT-SRV-INST: a service and another component (krbtgt/REALM, kadmin/changepw).
    pub const SRV_INST: i32 = 2;
    /// NT-SRV-HST: a service with a host name (cifs/host).
    pub const SRV_HST: i32 = 3;
    /// NT-ENTERPRISE (RFC 6806): `user@suffix` as one component.
    pub const ENTERPRISE: i32 = 10;
}

/// Most components accepted in a principal name.
const MAX_NAME_COMPONENTS: usize = 16;

/// PrincipalName (RFC 4120 5.2.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PrincipalName {
    /// name-type.
    pub name_type: i32,
    /// name-string components.
    pub components: Vec<String>,
}

impl PrincipalName {
    /// A user principal (NT-PRINCIPAL, one component).
    pub fn user(name: &str) -> Self {
        Self { name_type: name_type::PRINCIPAL, components: vec![name.to_owned()] }
    }

    /// A service principal `service/instance`, e.g. `cifs/dc1.samr.test` (NT-SRV-HST) or
    /// `krbtgt/REALM` and `kadmin/changepw` (NT-SRV-INST).
    pub fn service(service: &str, instance: &str) -> Self {
        let name_type = if service == "krbtgt" || service == "kadmin" {
            name_type::SRV_INST
        } else {
            name_type::SRV_HST
        };
        Self { name_type, components: vec![service.to_owned(), instance.to_owned()] }
    }

    /// Encode as a whole SEQUENCE.
    pub fn encode(&self) -> Vec<u8> {
        let names: Vec<Vec<u8>> = self.components.iter().map(|c| string(c)).collect();
        seq(&[field(0, &int(i64::from(self.name_type))), field(1, &seq(&names))])
    }

    /// Decode a whole SEQUENCE.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos PrincipalName";
        let mut f = Fields::of_seq(buf, W)?;
        let name_type = f.i32(0)?;
        let items = f.seq_of(1)?;
        f.finish()?;
        if items.is_empty() || items.len() > MAX_NAME_COMPONENTS {
            return Err(DecodeError::invalid(W));
        }
        let components = items.iter().map(|e| decode_string(e, W)).collect::<Result<_, _>>()?;
        Ok(Self { name_type, components })
    }

    /// Whether two names denote the same principal (name-type ignored, as RFC 4120 6.2
    /// says; components compared case-sensitively).
    pub fn same_as(&self, other: &Self) -> bool {
        self.components == other.components
    }
}

impl core::fmt::Display for PrincipalName {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.components.join("/"))
    }
}

/// EncryptedData (RFC 4120 5.2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedData {
    /// etype.
    pub etype: i32,
    /// kvno.
    pub kvno: Option<u32>,
    /// cipher.
    pub cipher: Vec<u8>,
}

impl EncryptedData {
    /// Encode as a whole SEQUENCE.
    pub fn encode(&self) -> Vec<u8> {
        let mut parts = vec![field(0, &int(i64::from(self.etype)))];
        if let Some(k) = self.kvno {
            parts.push(field(1, &int(i64::from(k))));
        }
        parts.push(field(2, &octets(&self.cipher)));
        seq(&parts)
    }

    /// Decode a whole SEQUENCE.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut f = Fields::of_seq(buf, "Kerberos EncryptedData")?;
        let etype = f.i32(0)?;
        let kvno = f.opt_u32(1)?;
        let cipher = f.octets(2)?.to_vec();
        f.finish()?;
        Ok(Self { etype, kvno, cipher })
    }
}

/// An EncryptionKey (RFC 4120 5.2.9) as it travels: key type and bytes. Zeroized on drop,
/// redacted `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct RawKey {
    /// keytype (an etype number).
    pub keytype: i32,
    /// keyvalue.
    pub value: SecretBytes,
}

impl core::fmt::Debug for RawKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RawKey({}, ..)", self.keytype)
    }
}

impl RawKey {
    /// Encode as a whole SEQUENCE into a zeroizing buffer.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let kt = field(0, &int(i64::from(self.keytype)));
        let v = zder(0x04, &[self.value.expose()]);
        let f1 = zder(0xa1, &[&v]);
        zder(TAG_SEQ, &[&kt, &f1])
    }

    /// Decode a whole SEQUENCE.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos EncryptionKey";
        let mut f = Fields::of_seq(buf, W)?;
        let keytype = f.i32(0)?;
        let v = f.octets(1)?;
        f.finish()?;
        if v.is_empty() || v.len() > 64 {
            return Err(DecodeError::invalid(W));
        }
        Ok(Self { keytype, value: SecretBytes::new(v.to_vec()) })
    }
}

/// DER-encode `tag` over the concatenation of `parts` into one zeroizing buffer (no
/// unzeroized intermediate copy).
pub(crate) fn zder(tag: u8, parts: &[&[u8]]) -> Zeroizing<Vec<u8>> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Zeroizing::new(Vec::with_capacity(len + 6));
    out.push(tag);
    crate::auth::der::put_len(&mut out, len);
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// Checksum (RFC 4120 5.2.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksum {
    /// cksumtype.
    pub cksumtype: i32,
    /// checksum.
    pub checksum: Vec<u8>,
}

impl Checksum {
    /// Encode as a whole SEQUENCE.
    pub fn encode(&self) -> Vec<u8> {
        seq(&[field(0, &int(i64::from(self.cksumtype))), field(1, &octets(&self.checksum))])
    }

    /// Decode a whole SEQUENCE.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut f = Fields::of_seq(buf, "Kerberos Checksum")?;
        let cksumtype = f.i32(0)?;
        let checksum = f.octets(1)?.to_vec();
        f.finish()?;
        Ok(Self { cksumtype, checksum })
    }
}

/// HostAddress (RFC 4120 5.2.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostAddress {
    /// addr-type (2 = IPv4, 24 = IPv6).
    pub addr_type: i32,
    /// address.
    pub address: Vec<u8>,
}

impl HostAddress {
    /// An IPv4 or IPv6 address.
    pub fn ip(ip: std::net::IpAddr) -> Self {
        match ip {
            std::net::IpAddr::V4(a) => Self { addr_type: 2, address: a.octets().to_vec() },
            std::net::IpAddr::V6(a) => Self { addr_type: 24, address: a.octets().to_vec() },
        }
    }

    /// Encode as a whole SEQUENCE.
    pub fn encode(&self) -> Vec<u8> {
        seq(&[field(0, &int(i64::from(self.addr_type))), field(1, &octets(&self.address))])
    }

    /// Decode a whole SEQUENCE.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut f = Fields::of_seq(buf, "Kerberos HostAddress")?;
        let addr_type = f.i32(0)?;
        let address = f.octets(1)?.to_vec();
        f.finish()?;
        Ok(Self { addr_type, address })
    }
}

/// Ticket (RFC 4120 5.3). The exact received bytes are kept in `raw` so the ticket is sent
/// back byte for byte (it is opaque to the client).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    /// realm.
    pub realm: String,
    /// sname.
    pub sname: PrincipalName,
    /// enc-part (encrypted in the service's key; opaque to us).
    pub enc_part: EncryptedData,
    /// The whole `[APPLICATION 1]` encoding.
    pub raw: Vec<u8>,
}

impl Ticket {
    /// Decode a whole `[APPLICATION 1]` Ticket.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos Ticket";
        let mut f = Fields::of_app(buf, 1, W)?;
        if f.int(0)? != 5 {
            return Err(DecodeError::invalid(W));
        }
        let realm = f.string(1)?;
        let sname = PrincipalName::decode(f.req(2)?)?;
        let enc_part = EncryptedData::decode(f.req(3)?)?;
        f.finish()?;
        Ok(Self { realm, sname, enc_part, raw: buf.to_vec() })
    }

    /// Build a ticket from parts (tests and scripted peers).
    pub fn new(realm: &str, sname: PrincipalName, enc_part: EncryptedData) -> Self {
        let body = seq(&[
            field(0, &int(5)),
            field(1, &string(realm)),
            field(2, &sname.encode()),
            field(3, &enc_part.encode()),
        ]);
        let raw = crate::auth::der::der(app(1), &body);
        Self { realm: realm.to_owned(), sname, enc_part, raw }
    }
}

/// PA-DATA (RFC 4120 5.2.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaData {
    /// padata-type.
    pub padata_type: i32,
    /// padata-value.
    pub value: Vec<u8>,
}

impl PaData {
    /// Encode as a whole SEQUENCE.
    pub fn encode(&self) -> Vec<u8> {
        seq(&[field(1, &int(i64::from(self.padata_type))), field(2, &octets(&self.value))])
    }

    /// Decode a whole SEQUENCE (also the shape of [MS-KILE] KERB-ERROR-DATA).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        let mut f = Fields::of_seq(buf, "Kerberos PA-DATA")?;
        let padata_type = f.i32(1)?;
        let value = f.octets(2)?.to_vec();
        f.finish()?;
        Ok(Self { padata_type, value })
    }

    /// Decode a METHOD-DATA / `SEQUENCE OF PA-DATA` filling `buf`.
    pub fn decode_seq(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        seq_of(buf, "Kerberos PA-DATA list")?.into_iter().map(Self::decode).collect()
    }

    /// PA-PAC-REQUEST ([MS-KILE] 2.2.3): `KERB-PA-PAC-REQUEST ::= SEQUENCE { include-pac [0]
    /// BOOLEAN }`.
    pub fn pac_request(include: bool) -> Self {
        Self { padata_type: pa_type::PAC_REQUEST, value: seq(&[field(0, &boolean(include))]) }
    }

    /// PA-ENC-TIMESTAMP around an already encrypted PA-ENC-TS-ENC.
    pub fn enc_timestamp(enc: EncryptedData) -> Self {
        Self { padata_type: pa_type::ENC_TIMESTAMP, value: enc.encode() }
    }
}

fn encode_padata_list(list: &[PaData]) -> Vec<u8> {
    seq(&list.iter().map(PaData::encode).collect::<Vec<_>>())
}

/// PA-ENC-TS-ENC (RFC 4120 5.2.7.2), the plaintext of PA-ENC-TIMESTAMP (key usage 1).
pub fn encode_pa_enc_ts(ts: super::asn1::KrbTimestamp) -> Vec<u8> {
    seq(&[field(0, &ts.time.encode()), field(1, &int(i64::from(ts.usec)))])
}

/// Decode PA-ENC-TS-ENC.
pub fn decode_pa_enc_ts(buf: &[u8]) -> Result<super::asn1::KrbTimestamp, DecodeError> {
    let mut f = Fields::of_seq(buf, "Kerberos PA-ENC-TS-ENC")?;
    let time = f.time(0)?;
    let usec = f.opt_usec(1)?.unwrap_or(0);
    f.finish()?;
    Ok(super::asn1::KrbTimestamp { time, usec })
}

/// One ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5): the salt and string-to-key parameters the KDC
/// wants for an etype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtypeInfo2Entry {
    /// etype.
    pub etype: i32,
    /// salt (raw KerberosString bytes).
    pub salt: Option<Vec<u8>>,
    /// s2kparams.
    pub s2kparams: Option<Vec<u8>>,
}

impl EtypeInfo2Entry {
    /// Encode as a whole SEQUENCE.
    pub fn encode(&self) -> Vec<u8> {
        let mut parts = vec![field(0, &int(i64::from(self.etype)))];
        if let Some(s) = &self.salt {
            parts.push(field(1, &crate::auth::der::der(0x1b, s)));
        }
        if let Some(p) = &self.s2kparams {
            parts.push(field(2, &octets(p)));
        }
        seq(&parts)
    }

    /// Decode an ETYPE-INFO2 (`SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY`).
    pub fn decode_list(buf: &[u8]) -> Result<Vec<Self>, DecodeError> {
        const W: &str = "Kerberos ETYPE-INFO2";
        let items = seq_of(buf, W)?;
        if items.is_empty() {
            return Err(DecodeError::invalid(W));
        }
        items
            .into_iter()
            .map(|e| {
                let mut f = Fields::of_seq(e, W)?;
                let etype = f.i32(0)?;
                let salt = f.opt(1)?.map(|s| only(s, 0x1b, W).map(<[u8]>::to_vec)).transpose()?;
                let s2kparams = f.opt_octets(2)?.map(<[u8]>::to_vec);
                f.finish()?;
                if salt.as_ref().is_some_and(|s| s.len() > super::asn1::MAX_STRING_LEN)
                    || s2kparams.as_ref().is_some_and(|p| p.len() > 64)
                {
                    return Err(DecodeError::too_large(W));
                }
                Ok(Self { etype, salt, s2kparams })
            })
            .collect()
    }

    /// Encode a list.
    pub fn encode_list(list: &[Self]) -> Vec<u8> {
        seq(&list.iter().map(Self::encode).collect::<Vec<_>>())
    }
}

/// KDC-REQ-BODY (RFC 4120 5.4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcReqBody {
    /// kdc-options.
    pub options: u32,
    /// cname (AS-REQ only).
    pub cname: Option<PrincipalName>,
    /// realm (the server's realm).
    pub realm: String,
    /// sname.
    pub sname: Option<PrincipalName>,
    /// till.
    pub till: KerberosTime,
    /// rtime.
    pub rtime: Option<KerberosTime>,
    /// nonce.
    pub nonce: u32,
    /// etype, in preference order.
    pub etypes: Vec<i32>,
}

impl KdcReqBody {
    /// Encode as a whole SEQUENCE (the exact bytes the TGS-REQ checksum covers).
    pub fn encode(&self) -> Vec<u8> {
        let mut parts = vec![field(0, &flags32(self.options))];
        if let Some(c) = &self.cname {
            parts.push(field(1, &c.encode()));
        }
        parts.push(field(2, &string(&self.realm)));
        if let Some(s) = &self.sname {
            parts.push(field(3, &s.encode()));
        }
        parts.push(field(5, &self.till.encode()));
        if let Some(r) = self.rtime {
            parts.push(field(6, &r.encode()));
        }
        parts.push(field(7, &int(i64::from(self.nonce))));
        let et: Vec<Vec<u8>> = self.etypes.iter().map(|&e| int(i64::from(e))).collect();
        parts.push(field(8, &seq(&et)));
        seq(&parts)
    }

    /// Decode a whole SEQUENCE (addresses, enc-authorization-data and additional-tickets
    /// are accepted and ignored).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos KDC-REQ-BODY";
        let mut f = Fields::of_seq(buf, W)?;
        let options = f.flags(0)?;
        let cname = f.opt(1)?.map(PrincipalName::decode).transpose()?;
        let realm = f.string(2)?;
        let sname = f.opt(3)?.map(PrincipalName::decode).transpose()?;
        f.skip(4)?;
        let till = f.time(5)?;
        let rtime = f.opt_time(6)?;
        let nonce = f.u32(7)?;
        let etypes =
            f.seq_of(8)?.into_iter().map(|e| decode_i32_elem(e, W)).collect::<Result<_, _>>()?;
        f.skip(9)?;
        f.skip(10)?;
        f.skip(11)?;
        f.finish()?;
        Ok(Self { options, cname, realm, sname, till, rtime, nonce, etypes })
    }
}

/// AS-REQ or TGS-REQ (RFC 4120 5.4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcReq {
    /// [`msg_type::AS_REQ`] or [`msg_type::TGS_REQ`].
    pub msg_type: u8,
    /// padata.
    pub padata: Vec<PaData>,
    /// req-body.
    pub body: KdcReqBody,
}

impl KdcReq {
    /// Encode `[APPLICATION 10|12] KDC-REQ`. `body` is the already encoded req-body (so a
    /// TGS-REQ sends exactly the bytes its checksum covers).
    pub fn encode_with_body(msg_type: u8, padata: &[PaData], body: &[u8]) -> Vec<u8> {
        let mut parts = vec![field(1, &int(5)), field(2, &int(i64::from(msg_type)))];
        if !padata.is_empty() {
            parts.push(field(3, &encode_padata_list(padata)));
        }
        parts.push(field(4, body));
        crate::auth::der::der(app(msg_type), &seq(&parts))
    }

    /// Encode.
    pub fn encode(&self) -> Vec<u8> {
        Self::encode_with_body(self.msg_type, &self.padata, &self.body.encode())
    }

    /// Decode an AS-REQ or TGS-REQ.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos KDC-REQ";
        let msg_type = match buf.first() {
            Some(&t) if t == app(msg_type::AS_REQ) => msg_type::AS_REQ,
            Some(&t) if t == app(msg_type::TGS_REQ) => msg_type::TGS_REQ,
            _ => return Err(DecodeError::invalid(W)),
        };
        let mut f = Fields::of_app(buf, msg_type, W)?;
        if f.int(1)? != 5 || f.int(2)? != i64::from(msg_type) {
            return Err(DecodeError::invalid(W));
        }
        let padata = f.opt(3)?.map(PaData::decode_seq).transpose()?.unwrap_or_default();
        let body = KdcReqBody::decode(f.req(4)?)?;
        f.finish()?;
        Ok(Self { msg_type, padata, body })
    }
}

/// AS-REP or TGS-REP (RFC 4120 5.4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcRep {
    /// [`msg_type::AS_REP`] or [`msg_type::TGS_REP`].
    pub msg_type: u8,
    /// padata (ETYPE-INFO2 / PW-SALT the KDC used).
    pub padata: Vec<PaData>,
    /// crealm.
    pub crealm: String,
    /// cname.
    pub cname: PrincipalName,
    /// ticket.
    pub ticket: Ticket,
    /// enc-part.
    pub enc_part: EncryptedData,
}

impl KdcRep {
    /// Decode an AS-REP (`expected` = [`msg_type::AS_REP`]) or TGS-REP.
    pub fn decode(buf: &[u8], expected: u8) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos KDC-REP";
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::too_large(W));
        }
        let mut f = Fields::of_app(buf, expected, W)?;
        if f.int(0)? != 5 || f.int(1)? != i64::from(expected) {
            return Err(DecodeError::invalid(W));
        }
        let padata = f.opt(2)?.map(PaData::decode_seq).transpose()?.unwrap_or_default();
        let crealm = f.string(3)?;
        let cname = PrincipalName::decode(f.req(4)?)?;
        let ticket = Ticket::decode(f.req(5)?)?;
        let enc_part = EncryptedData::decode(f.req(6)?)?;
        f.finish()?;
        Ok(Self { msg_type: expected, padata, crealm, cname, ticket, enc_part })
    }

    /// Encode (scripted peers and round-trip tests).
    pub fn encode(&self) -> Vec<u8> {
        let mut parts = vec![field(0, &int(5)), field(1, &int(i64::from(self.msg_type)))];
        if !self.padata.is_empty() {
            parts.push(field(2, &encode_padata_list(&self.padata)));
        }
        parts.push(field(3, &string(&self.crealm)));
        parts.push(field(4, &self.cname.encode()));
        parts.push(field(5, &self.ticket.raw));
        parts.push(field(6, &self.enc_part.encode()));
        crate::auth::der::der(app(self.msg_type), &seq(&parts))
    }
}

/// EncASRepPart / EncTGSRepPart (RFC 4120 5.4.2), the decrypted part of a KDC reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncKdcRepPart {
    /// key: the session key for the ticket.
    pub key: RawKey,
    /// nonce (must equal the request's).
    pub nonce: u32,
    /// key-expiration.
    pub key_expiration: Option<KerberosTime>,
    /// flags (TicketFlags).
    pub flags: u32,
    /// authtime.
    pub authtime: KerberosTime,
    /// starttime.
    pub starttime: Option<KerberosTime>,
    /// endtime.
    pub endtime: KerberosTime,
    /// renew-till.
    pub renew_till: Option<KerberosTime>,
    /// srealm.
    pub srealm: String,
    /// sname.
    pub sname: PrincipalName,
}

impl EncKdcRepPart {
    /// Decode `[APPLICATION 25]` or `[APPLICATION 26]` (RFC 4120 5.4.2 notes that some KDCs
    /// send EncASRepPart in a TGS-REP, so both are accepted for either reply).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos EncKDCRepPart";
        let tag = match buf.first() {
            Some(&t) if t == app(25) => 25,
            Some(&t) if t == app(26) => 26,
            _ => return Err(DecodeError::invalid(W)),
        };
        let mut f = Fields::of_app(buf, tag, W)?;
        let key = RawKey::decode(f.req(0)?)?;
        f.req(1)?; // last-req: informational, kept opaque
        let nonce = f.u32(2)?;
        let key_expiration = f.opt_time(3)?;
        let flags = f.flags(4)?;
        let authtime = f.time(5)?;
        let starttime = f.opt_time(6)?;
        let endtime = f.time(7)?;
        let renew_till = f.opt_time(8)?;
        let srealm = f.string(9)?;
        let sname = PrincipalName::decode(f.req(10)?)?;
        f.skip(11)?; // caddr
        f.skip(12)?; // encrypted-pa-data (RFC 6806)
        f.finish()?;
        Ok(Self {
            key,
            nonce,
            key_expiration,
            flags,
            authtime,
            starttime,
            endtime,
            renew_till,
            srealm,
            sname,
        })
    }

    /// Encode as `[APPLICATION tag]` (25 or 26) into a zeroizing buffer (scripted KDCs).
    pub fn encode(&self, tag: u8) -> Zeroizing<Vec<u8>> {
        let key = self.key.encode();
        let f0 = zder(0xa0, &[&key]);
        let last_req = seq(&[seq(&[field(0, &int(0)), field(1, &self.authtime.encode())])]);
        let mut rest = vec![field(1, &last_req), field(2, &int(i64::from(self.nonce)))];
        if let Some(t) = self.key_expiration {
            rest.push(field(3, &t.encode()));
        }
        rest.push(field(4, &flags32(self.flags)));
        rest.push(field(5, &self.authtime.encode()));
        if let Some(t) = self.starttime {
            rest.push(field(6, &t.encode()));
        }
        rest.push(field(7, &self.endtime.encode()));
        if let Some(t) = self.renew_till {
            rest.push(field(8, &t.encode()));
        }
        rest.push(field(9, &string(&self.srealm)));
        rest.push(field(10, &self.sname.encode()));
        let rest = rest.concat();
        let body = zder(TAG_SEQ, &[&f0, &rest]);
        zder(app(tag), &[&body])
    }
}

/// AP-REQ (RFC 4120 5.5.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApReq {
    /// ap-options.
    pub options: u32,
    /// ticket.
    pub ticket: Ticket,
    /// authenticator (encrypted with the ticket's session key, usage 11 or 7).
    pub authenticator: EncryptedData,
}

impl ApReq {
    /// Encode `[APPLICATION 14]`.
    pub fn encode(&self) -> Vec<u8> {
        let body = seq(&[
            field(0, &int(5)),
            field(1, &int(i64::from(msg_type::AP_REQ))),
            field(2, &flags32(self.options)),
            field(3, &self.ticket.raw),
            field(4, &self.authenticator.encode()),
        ]);
        crate::auth::der::der(app(msg_type::AP_REQ), &body)
    }

    /// Decode `[APPLICATION 14]`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos AP-REQ";
        let mut f = Fields::of_app(buf, msg_type::AP_REQ, W)?;
        if f.int(0)? != 5 || f.int(1)? != i64::from(msg_type::AP_REQ) {
            return Err(DecodeError::invalid(W));
        }
        let options = f.flags(2)?;
        let ticket = Ticket::decode(f.req(3)?)?;
        let authenticator = EncryptedData::decode(f.req(4)?)?;
        f.finish()?;
        Ok(Self { options, ticket, authenticator })
    }
}

/// Authenticator (RFC 4120 5.5.1), the plaintext of an AP-REQ's authenticator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticator {
    /// crealm.
    pub crealm: String,
    /// cname.
    pub cname: PrincipalName,
    /// cksum (the GSS 0x8003 checksum, or the TGS-REQ body checksum).
    pub cksum: Option<Checksum>,
    /// ctime + cusec.
    pub ctime: super::asn1::KrbTimestamp,
    /// subkey.
    pub subkey: Option<RawKey>,
    /// seq-number.
    pub seq_number: Option<u32>,
}

impl Authenticator {
    /// Encode `[APPLICATION 2]` into a zeroizing buffer (it may carry a subkey).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut head = vec![
            field(0, &int(5)),
            field(1, &string(&self.crealm)),
            field(2, &self.cname.encode()),
        ];
        if let Some(c) = &self.cksum {
            head.push(field(3, &c.encode()));
        }
        head.push(field(4, &int(i64::from(self.ctime.usec))));
        head.push(field(5, &self.ctime.time.encode()));
        let head = head.concat();
        let sub = self.subkey.as_ref().map(|k| {
            let e = k.encode();
            zder(0xa6, &[&e])
        });
        let tail = self.seq_number.map(|s| field(7, &int(i64::from(s)))).unwrap_or_default();
        let body = zder(TAG_SEQ, &[&head, sub.as_deref().map_or(&[][..], |v| v), &tail]);
        zder(app(2), &[&body])
    }

    /// Decode `[APPLICATION 2]` (authorization-data is accepted and ignored).
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos Authenticator";
        let mut f = Fields::of_app(buf, 2, W)?;
        if f.int(0)? != 5 {
            return Err(DecodeError::invalid(W));
        }
        let crealm = f.string(1)?;
        let cname = PrincipalName::decode(f.req(2)?)?;
        let cksum = f.opt(3)?.map(Checksum::decode).transpose()?;
        let usec = f.usec(4)?;
        let time = f.time(5)?;
        let subkey = f.opt(6)?.map(RawKey::decode).transpose()?;
        let seq_number = f.opt_u32(7)?;
        f.skip(8)?;
        f.finish()?;
        Ok(Self {
            crealm,
            cname,
            cksum,
            ctime: super::asn1::KrbTimestamp { time, usec },
            subkey,
            seq_number,
        })
    }
}

/// AP-REP (RFC 4120 5.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApRep {
    /// enc-part (EncAPRepPart, key usage 12, in the ticket session key).
    pub enc_part: EncryptedData,
}

impl ApRep {
    /// Encode `[APPLICATION 15]`.
    pub fn encode(&self) -> Vec<u8> {
        let body = seq(&[
            field(0, &int(5)),
            field(1, &int(i64::from(msg_type::AP_REP))),
            field(2, &self.enc_part.encode()),
        ]);
        crate::auth::der::der(app(msg_type::AP_REP), &body)
    }

    /// Decode `[APPLICATION 15]`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos AP-REP";
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::too_large(W));
        }
        let mut f = Fields::of_app(buf, msg_type::AP_REP, W)?;
        if f.int(0)? != 5 || f.int(1)? != i64::from(msg_type::AP_REP) {
            return Err(DecodeError::invalid(W));
        }
        let enc_part = EncryptedData::decode(f.req(2)?)?;
        f.finish()?;
        Ok(Self { enc_part })
    }
}

/// EncAPRepPart (RFC 4120 5.5.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncApRepPart {
    /// ctime + cusec (must equal the authenticator's).
    pub ctime: super::asn1::KrbTimestamp,
    /// subkey (the acceptor's subkey: the SMB session key source).
    pub subkey: Option<RawKey>,
    /// seq-number.
    pub seq_number: Option<u32>,
}

impl EncApRepPart {
    /// Decode `[APPLICATION 27]`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos EncAPRepPart";
        let mut f = Fields::of_app(buf, 27, W)?;
        let time = f.time(0)?;
        let usec = f.usec(1)?;
        let subkey = f.opt(2)?.map(RawKey::decode).transpose()?;
        let seq_number = f.opt_u32(3)?;
        f.finish()?;
        Ok(Self { ctime: super::asn1::KrbTimestamp { time, usec }, subkey, seq_number })
    }

    /// Encode `[APPLICATION 27]` into a zeroizing buffer (scripted servers).
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let head =
            [field(0, &self.ctime.time.encode()), field(1, &int(i64::from(self.ctime.usec)))]
                .concat();
        let sub = self.subkey.as_ref().map(|k| {
            let e = k.encode();
            zder(0xa2, &[&e])
        });
        let tail = self.seq_number.map(|s| field(3, &int(i64::from(s)))).unwrap_or_default();
        let body = zder(TAG_SEQ, &[&head, sub.as_deref().map_or(&[][..], |v| v), &tail]);
        zder(app(27), &[&body])
    }
}

/// KRB-ERROR (RFC 4120 5.9.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbError {
    /// ctime (echo of the client's, if any).
    pub ctime: Option<KerberosTime>,
    /// cusec.
    pub cusec: Option<u32>,
    /// stime + susec: the server's clock (used to correct skew).
    pub stime: super::asn1::KrbTimestamp,
    /// error-code.
    pub error_code: i32,
    /// crealm.
    pub crealm: Option<String>,
    /// cname.
    pub cname: Option<PrincipalName>,
    /// realm (of the server; for WRONG_REALM the realm to ask instead).
    pub realm: String,
    /// sname.
    pub sname: PrincipalName,
    /// e-text (free text from the KDC: display only, never trusted).
    pub e_text: Option<String>,
    /// e-data.
    pub e_data: Option<Vec<u8>>,
}

impl KrbError {
    /// Decode `[APPLICATION 30]`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos KRB-ERROR";
        if buf.len() > MAX_MESSAGE_LEN {
            return Err(DecodeError::too_large(W));
        }
        let mut f = Fields::of_app(buf, msg_type::KRB_ERROR, W)?;
        if f.int(0)? != 5 || f.int(1)? != i64::from(msg_type::KRB_ERROR) {
            return Err(DecodeError::invalid(W));
        }
        let ctime = f.opt_time(2)?;
        let cusec = f.opt_usec(3)?;
        let time = f.time(4)?;
        let usec = f.usec(5)?;
        let error_code = f.i32(6)?;
        let crealm = f.opt_string(7)?;
        let cname = f.opt(8)?.map(PrincipalName::decode).transpose()?;
        let realm = f.string(9)?;
        let sname = PrincipalName::decode(f.req(10)?)?;
        let e_text = f.opt(11)?.map(|e| {
            // Display-only text: accept any bytes, replacing what is not UTF-8.
            only(e, 0x1b, W).map(|c| String::from_utf8_lossy(&c[..c.len().min(512)]).into_owned())
        });
        let e_text = e_text.transpose()?;
        let e_data = f.opt_octets(12)?.map(<[u8]>::to_vec);
        f.finish()?;
        Ok(Self {
            ctime,
            cusec,
            stime: super::asn1::KrbTimestamp { time, usec },
            error_code,
            crealm,
            cname,
            realm,
            sname,
            e_text,
            e_data,
        })
    }

    /// Encode `[APPLICATION 30]` (scripted peers and round-trip tests).
    pub fn encode(&self) -> Vec<u8> {
        let mut p = vec![field(0, &int(5)), field(1, &int(i64::from(msg_type::KRB_ERROR)))];
        if let Some(t) = self.ctime {
            p.push(field(2, &t.encode()));
        }
        if let Some(u) = self.cusec {
            p.push(field(3, &int(i64::from(u))));
        }
        p.push(field(4, &self.stime.time.encode()));
        p.push(field(5, &int(i64::from(self.stime.usec))));
        p.push(field(6, &int(i64::from(self.error_code))));
        if let Some(r) = &self.crealm {
            p.push(field(7, &string(r)));
        }
        if let Some(c) = &self.cname {
            p.push(field(8, &c.encode()));
        }
        p.push(field(9, &string(&self.realm)));
        p.push(field(10, &self.sname.encode()));
        if let Some(t) = &self.e_text {
            p.push(field(11, &string(t)));
        }
        if let Some(d) = &self.e_data {
            p.push(field(12, &octets(d)));
        }
        crate::auth::der::der(app(msg_type::KRB_ERROR), &seq(&p))
    }

    /// The e-data, interpreted: a METHOD-DATA (`SEQUENCE OF PA-DATA`, e.g. ETYPE-INFO2 with
    /// PREAUTH_REQUIRED) or a single KERB-ERROR-DATA / PA-DATA ([MS-KILE] 2.2.1, 2.2.2: AD
    /// sends `{ data-type 3, data-value KERB-EXT-ERROR }` with an NTSTATUS for KEY_EXPIRED
    /// and friends).
    pub fn e_data_parsed(&self) -> EData {
        let Some(d) = self.e_data.as_deref() else { return EData::None };
        if let Ok(list) = PaData::decode_seq(d) {
            return EData::MethodData(list);
        }
        if let Ok(pa) = PaData::decode(d) {
            if pa.padata_type == pa_type::PW_SALT && pa.value.len() == 12 {
                let mut s = [0u8; 4];
                s.copy_from_slice(&pa.value[..4]);
                return EData::NtStatus(u32::from_le_bytes(s));
            }
            return EData::MethodData(vec![pa]);
        }
        EData::Opaque
    }

    /// The ETYPE-INFO2 entries carried in the e-data, if any.
    pub fn etype_info2(&self) -> Vec<EtypeInfo2Entry> {
        match self.e_data_parsed() {
            EData::MethodData(list) => list
                .iter()
                .filter(|p| p.padata_type == pa_type::ETYPE_INFO2)
                .find_map(|p| EtypeInfo2Entry::decode_list(&p.value).ok())
                .unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

/// A KRB-ERROR's e-data, interpreted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EData {
    /// No e-data.
    None,
    /// METHOD-DATA: PA-DATA the KDC wants (ETYPE-INFO2, …).
    MethodData(Vec<PaData>),
    /// [MS-KILE] KERB-EXT-ERROR: the NTSTATUS behind the error (e.g. 0xC0000224
    /// STATUS_PASSWORD_MUST_CHANGE).
    NtStatus(u32),
    /// Something else (kept opaque).
    Opaque,
}

/// KRB-PRIV (RFC 4120 5.7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KrbPriv {
    /// enc-part (EncKrbPrivPart, key usage 13).
    pub enc_part: EncryptedData,
}

impl KrbPriv {
    /// Encode `[APPLICATION 21]`.
    pub fn encode(&self) -> Vec<u8> {
        let body = seq(&[
            field(0, &int(5)),
            field(1, &int(i64::from(msg_type::KRB_PRIV))),
            field(3, &self.enc_part.encode()),
        ]);
        crate::auth::der::der(app(msg_type::KRB_PRIV), &body)
    }

    /// Decode `[APPLICATION 21]`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos KRB-PRIV";
        let mut f = Fields::of_app(buf, msg_type::KRB_PRIV, W)?;
        if f.int(0)? != 5 || f.int(1)? != i64::from(msg_type::KRB_PRIV) {
            return Err(DecodeError::invalid(W));
        }
        let enc_part = EncryptedData::decode(f.req(3)?)?;
        f.finish()?;
        Ok(Self { enc_part })
    }
}

/// EncKrbPrivPart (RFC 4120 5.7.1). `user_data` is secret on the way out (the new password).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncKrbPrivPart {
    /// user-data.
    pub user_data: SecretBytes,
    /// timestamp + usec.
    pub timestamp: Option<super::asn1::KrbTimestamp>,
    /// seq-number.
    pub seq_number: Option<u32>,
    /// s-address (the sender's address; RFC 4120 makes it mandatory, RFC 3244 servers
    /// check it loosely).
    pub s_address: Option<HostAddress>,
    /// r-address.
    pub r_address: Option<HostAddress>,
}

impl EncKrbPrivPart {
    /// Encode `[APPLICATION 28]` into a zeroizing buffer.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let ud = zder(0x04, &[self.user_data.expose()]);
        let f0 = zder(0xa0, &[&ud]);
        let mut rest = Vec::new();
        if let Some(t) = self.timestamp {
            rest.push(field(1, &t.time.encode()));
            rest.push(field(2, &int(i64::from(t.usec))));
        }
        if let Some(s) = self.seq_number {
            rest.push(field(3, &int(i64::from(s))));
        }
        if let Some(a) = &self.s_address {
            rest.push(field(4, &a.encode()));
        }
        if let Some(a) = &self.r_address {
            rest.push(field(5, &a.encode()));
        }
        let rest = rest.concat();
        let body = zder(TAG_SEQ, &[&f0, &rest]);
        zder(app(28), &[&body])
    }

    /// Decode `[APPLICATION 28]`.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        const W: &str = "Kerberos EncKrbPrivPart";
        let mut f = Fields::of_app(buf, 28, W)?;
        let user_data = SecretBytes::new(f.octets(0)?.to_vec());
        let time = f.opt_time(1)?;
        let usec = f.opt_usec(2)?;
        let seq_number = f.opt_u32(3)?;
        let s_address = f.opt(4)?.map(HostAddress::decode).transpose()?;
        let r_address = f.opt(5)?.map(HostAddress::decode).transpose()?;
        f.finish()?;
        let timestamp =
            time.map(|time| super::asn1::KrbTimestamp { time, usec: usec.unwrap_or(0) });
        Ok(Self { user_data, timestamp, seq_number, s_address, r_address })
    }
}

#[cfg(test)]
mod tests;
