//! Kerberos V5 ([RFC 4120]) for SMB: the pure core (no I/O, no tokio).
//!
//! * [`crypto`] — etypes 17, 18 ([RFC 3962]) and 23 ([RFC 4757]): [`crypto::KerberosKey`]
//!   with string-to-key, encrypt/decrypt with key usages and keyed checksums.
//! * [`ccache`] — MIT credential caches (FILE v3/v4, DIR), read-only, and `KRB5CCNAME`.
//! * [`krb5conf`] — krb5.conf: default realm, KDCs and kpasswd servers per realm.
//!
//! [RFC 3962]: https://www.rfc-editor.org/rfc/rfc3962
//! [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120
//! [RFC 4757]: https://www.rfc-editor.org/rfc/rfc4757

pub mod ccache;
pub mod crypto;
pub mod krb5conf;

pub use crypto::{Etype, KerberosKey, KrbCryptoError};
