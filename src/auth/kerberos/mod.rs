//! Kerberos V5 ([RFC 4120]) for SMB: the pure core (no I/O, no tokio).
//!
//! * [`crypto`] — etypes 17, 18 ([RFC 3962]) and 23 ([RFC 4757]): [`crypto::KerberosKey`]
//!   with string-to-key, encrypt/decrypt with key usages and keyed checksums.
//! * [`ccache`] / [`krb5conf`] — MIT credential caches (FILE/DIR) and krb5.conf.
//! * [`asn1`] — Kerberos ASN.1 primitives over the shared DER codec ([`crate::auth::der`]).
//! * [`messages`] — AS/TGS/AP/KRB-ERROR/KRB-PRIV message codecs.
//! * [`gss`] — GSS-API token framing and the 0x8003 authenticator checksum ([RFC 4121]).
//! * [`kpasswd`] — RFC 3244 password-change request/reply framing.
//! * [`exchange`] — the sans-IO AS, TGS, AP and kpasswd exchanges; [`error`] their typed
//!   failures.
//!
//! [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
//! [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120
//! [RFC 4121]: https://www.rfc-editor.org/rfc/rfc4121
//! [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757

pub mod asn1;
pub mod ccache;
pub mod crypto;
pub mod dns;
pub mod error;
pub mod exchange;
pub mod gss;
pub mod kpasswd;
pub mod krb5conf;
pub mod messages;
pub mod wrap;

pub use crypto::{Etype, KerberosKey, KrbCryptoError};
