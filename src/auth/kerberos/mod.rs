//! Kerberos V5 ([RFC 4120]) for SMB: the pure core (no I/O, no tokio).
//!
//! * [`asn1`] — Kerberos ASN.1 primitives over the shared DER codec.
//! * [`messages`] — AS/TGS/AP/KRB-ERROR/KRB-PRIV message codecs.
//! * [`gss`] — GSS-API token framing and the 0x8003 authenticator checksum ([RFC 4121]).
//! * [`kpasswd`] — RFC 3244 password-change request/reply framing.

pub mod asn1;
pub mod gss;
pub mod kpasswd;
pub mod messages;
