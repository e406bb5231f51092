//! MIT credential caches, read-only: the FILE format (versions 3 and 4), the DIR collection's
//! `primary` file, and the `KRB5CCNAME` name forms.
//!
//! The format (MIT krb5 documentation, "Credential cache file format"): a two-byte version
//! (`05 04` or `05 03`), in version 4 a header of tagged fields (tag 1 = the KDC time offset),
//! the default principal, then credentials until the end of the file. Integers are
//! big-endian; `data` is a 32-bit length and that many bytes. Configuration entries (server
//! realm `X-CACHECONF:`) are kept apart from the credentials.
//!
//! Everything here is pure: the shell reads the files and the clock and hands over bytes and
//! `now` (seconds since the Unix epoch). The parser reads through the bounds-checked
//! [`Reader`], caps every count and length before allocating, and never panics.

use core::fmt;
use std::path::PathBuf;

use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::crypto::{KerberosKey, KrbCryptoError};
use crate::wire::{DecodeError, Reader, Writer};

/// The largest cache file accepted (a cache with a few dozen PAC-bearing tickets is tens of
/// kilobytes).
pub const MAX_CCACHE_LEN: usize = 4 * 1024 * 1024;
/// The most components a principal name may have.
pub const MAX_COMPONENTS: usize = 16;
/// The most addresses or authorization-data elements one credential may carry.
pub const MAX_LIST: usize = 256;
/// The most credentials (including configuration entries) in one cache.
pub const MAX_CREDENTIALS: usize = 4096;

/// The realm MIT uses for configuration entries.
pub const CONFIG_REALM: &str = "X-CACHECONF:";
/// The first component of a configuration entry's server name.
pub const CONFIG_COMPONENT: &str = "krb5_ccache_conf_data";

/// Ticket flag bits as MIT stores them ([RFC 4120] §5.3 TicketFlags bit *n* is `0x8000_0000 >>
/// n`).
///
/// [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120
pub mod flags {
    /// forwardable (bit 1).
    pub const FORWARDABLE: u32 = 0x4000_0000;
    /// forwarded (bit 2).
    pub const FORWARDED: u32 = 0x2000_0000;
    /// proxiable (bit 3).
    pub const PROXIABLE: u32 = 0x1000_0000;
    /// proxy (bit 4).
    pub const PROXY: u32 = 0x0800_0000;
    /// may-postdate (bit 5).
    pub const MAY_POSTDATE: u32 = 0x0400_0000;
    /// postdated (bit 6).
    pub const POSTDATED: u32 = 0x0200_0000;
    /// invalid (bit 7): a postdated ticket not yet validated; unusable.
    pub const INVALID: u32 = 0x0100_0000;
    /// renewable (bit 8).
    pub const RENEWABLE: u32 = 0x0080_0000;
    /// initial (bit 9): issued by the AS exchange.
    pub const INITIAL: u32 = 0x0040_0000;
    /// pre-authent (bit 10).
    pub const PRE_AUTHENT: u32 = 0x0020_0000;
    /// hw-authent (bit 11).
    pub const HW_AUTHENT: u32 = 0x0010_0000;
    /// transited-policy-checked (bit 12).
    pub const TRANSITED_POLICY_CHECKED: u32 = 0x0008_0000;
    /// ok-as-delegate (bit 13).
    pub const OK_AS_DELEGATE: u32 = 0x0004_0000;
    /// enc-pa-rep (bit 15, [RFC 6806] §11): the KDC protects the pre-authentication data in its
    /// reply.
    ///
    /// [RFC 6806]: https://www.rfc-editor.org/rfc/rfc6806
    pub const ENC_PA_REP: u32 = 0x0001_0000;
}

/// Why a credential cache could not be read.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CcacheError {
    /// Not an MIT FILE cache of a version samrpc reads (3 or 4); versions 1 and 2 (native
    /// byte order, last written by krb5 1.x decades ago) are not supported.
    #[error("unsupported credential cache format version {0:#06x}")]
    UnsupportedVersion(u16),
    /// The file is larger than [`MAX_CCACHE_LEN`].
    #[error("credential cache larger than {MAX_CCACHE_LEN} bytes")]
    TooLarge,
    /// The bytes do not follow the format.
    #[error("malformed credential cache: {0}")]
    Malformed(DecodeError),
    /// A DIR collection's `primary` file does not name a cache file in the directory.
    #[error("the DIR cache's primary file does not name a ticket file")]
    BadPrimary,
}

impl From<DecodeError> for CcacheError {
    fn from(e: DecodeError) -> Self {
        CcacheError::Malformed(e)
    }
}

/// A principal name as a cache stores it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The name type ([RFC 4120] §6.2: 1 = NT-PRINCIPAL, 2 = NT-SRV-INST, …).
    ///
    /// [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120
    pub name_type: i32,
    /// The realm.
    pub realm: String,
    /// The name components (`["krbtgt", "SAMR.TEST"]`, `["cifs", "dc1.samr.test"]`).
    pub components: Vec<String>,
}

impl Principal {
    /// Whether this is `components@realm`, ignoring the name type and ASCII case (AD treats
    /// realms and service names case-insensitively: `cifs/DC1.SAMR.TEST` and
    /// `cifs/dc1.samr.test` name the same account).
    pub fn matches(&self, realm: &str, components: &[&str]) -> bool {
        self.realm.eq_ignore_ascii_case(realm)
            && self.components.len() == components.len()
            && self.components.iter().zip(components).all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// Whether two principals name the same entity (see [`Principal::matches`]).
    pub fn same_as(&self, other: &Principal) -> bool {
        let c: Vec<&str> = other.components.iter().map(String::as_str).collect();
        self.matches(&other.realm, &c)
    }
}

impl fmt::Display for Principal {
    /// `a/b@REALM` (no escaping: for messages, not for parsing back).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.components.join("/"), self.realm)
    }
}

/// A session key as a cache stores it: etype number and bytes (zeroized on drop, redacted in
/// `Debug`, compared in constant time). The etype may be one samrpc does not implement.
#[derive(Clone)]
pub struct KeyBlock {
    /// The etype number.
    pub etype: i32,
    key: Zeroizing<Vec<u8>>,
}

impl KeyBlock {
    /// A key block from an etype number and key bytes.
    pub fn new(etype: i32, key: &[u8]) -> Self {
        Self { etype, key: Zeroizing::new(key.to_vec()) }
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8] {
        &self.key
    }

    /// The key as a [`KerberosKey`]: fails for etypes samrpc does not implement or a key of the
    /// wrong length.
    pub fn to_key(&self) -> Result<KerberosKey, KrbCryptoError> {
        KerberosKey::from_number(self.etype, &self.key)
    }
}

impl fmt::Debug for KeyBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyBlock(etype {}, ..)", self.etype)
    }
}

impl PartialEq for KeyBlock {
    fn eq(&self, other: &Self) -> bool {
        self.etype == other.etype
            && self.key.len() == other.key.len()
            && bool::from(self.key.ct_eq(&other.key))
    }
}
impl Eq for KeyBlock {}

/// A typed, counted byte string (a host address or an authorization-data element).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typed {
    /// The address type or ad-type.
    pub kind: i32,
    /// The contents.
    pub data: Vec<u8>,
}

/// One credential: a ticket with its session key and times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// The client principal.
    pub client: Principal,
    /// The service principal (`krbtgt/REALM@REALM` for a TGT).
    pub server: Principal,
    /// The session key (secret).
    pub key: KeyBlock,
    /// The authentication time (seconds since the Unix epoch, as the KDC stated it).
    pub authtime: u32,
    /// The start time (0 = the same as `authtime`).
    pub starttime: u32,
    /// The expiry time.
    pub endtime: u32,
    /// The renewal limit (0 = not renewable).
    pub renew_till: u32,
    /// Whether the ticket is encrypted in a session key (user-to-user), not the service's key.
    pub is_skey: bool,
    /// The ticket flags ([`flags`]).
    pub ticket_flags: u32,
    /// Client addresses the ticket is bound to (normally none).
    pub addresses: Vec<Typed>,
    /// Authorization data stored with the credential (normally none).
    pub authdata: Vec<Typed>,
    /// The DER-encoded Ticket, as sent in an AP-REQ (its secret part is encrypted).
    pub ticket: Vec<u8>,
    /// The second ticket (user-to-user), normally empty.
    pub second_ticket: Vec<u8>,
}

impl Credential {
    /// When the ticket becomes valid: `starttime`, or `authtime` when no start time is set.
    pub fn start(&self) -> u32 {
        if self.starttime != 0 { self.starttime } else { self.authtime }
    }

    /// Whether the ticket can be used at `now` (seconds since the Unix epoch): started, not
    /// expired, not marked invalid, and with a ticket to send.
    pub fn is_valid_at(&self, now: u64) -> bool {
        u64::from(self.start()) <= now
            && now < u64::from(self.endtime)
            && self.ticket_flags & flags::INVALID == 0
            && !self.ticket.is_empty()
    }

    /// Whether this is a ticket-granting ticket for `realm` (`krbtgt/REALM@REALM`).
    pub fn is_tgt_for(&self, realm: &str) -> bool {
        self.server.matches(realm, &["krbtgt", realm])
    }
}

/// A configuration entry (server realm `X-CACHECONF:`): MIT stores e.g. `fast_avail` and
/// `pa_type` this way. Not a credential; never offered as one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigEntry {
    /// The key (`fast_avail`, `pa_type`, `pa_config_data`, …).
    pub key: String,
    /// The principal the key is about, if any (e.g. `krbtgt/SAMR.TEST@SAMR.TEST`).
    pub principal: Option<String>,
    /// The value (stored in the ticket field).
    pub value: Vec<u8>,
}

/// The KDC time offset recorded in a version-4 header (tag 1): KDC time minus client time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdcTimeOffset {
    /// Whole seconds.
    pub seconds: i32,
    /// Microseconds.
    pub microseconds: i32,
}

/// A parsed FILE credential cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ccache {
    /// The format version: 3 or 4.
    pub version: u8,
    /// The KDC time offset from the version-4 header, if recorded.
    pub kdc_offset: Option<KdcTimeOffset>,
    /// The default (client) principal.
    pub default_principal: Principal,
    /// The credentials, in file order, configuration entries excluded.
    pub credentials: Vec<Credential>,
    /// The configuration entries, in file order.
    pub config: Vec<ConfigEntry>,
}

/// Read a length-prefixed `data` field.
fn data<'a>(r: &mut Reader<'a>, what: &'static str) -> Result<&'a [u8], DecodeError> {
    let n = r.u32_be(what)?;
    let n = usize::try_from(n).map_err(|_| DecodeError::too_large(what))?;
    r.take(n, what)
}

fn string(r: &mut Reader<'_>, what: &'static str) -> Result<String, DecodeError> {
    let b = data(r, what)?;
    core::str::from_utf8(b).map(str::to_owned).map_err(|_| DecodeError::invalid(what))
}

fn count(
    r: &mut Reader<'_>,
    max: usize,
    min_elem: usize,
    what: &'static str,
) -> Result<usize, DecodeError> {
    let n = usize::try_from(r.u32_be(what)?).map_err(|_| DecodeError::too_large(what))?;
    if n > max {
        return Err(DecodeError::too_large(what));
    }
    r.check_count(n, min_elem, what)?;
    Ok(n)
}

fn principal(r: &mut Reader<'_>) -> Result<Principal, DecodeError> {
    let name_type = r.u32_be("principal name type")? as i32;
    let n = count(r, MAX_COMPONENTS, 4, "principal component count")?;
    let realm = string(r, "principal realm")?;
    let mut components = Vec::with_capacity(n);
    for _ in 0..n {
        components.push(string(r, "principal component")?);
    }
    Ok(Principal { name_type, realm, components })
}

fn typed_list(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<Typed>, DecodeError> {
    let n = count(r, MAX_LIST, 6, what)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let kind = i32::from(r.u16_be(what)? as i16);
        out.push(Typed { kind, data: data(r, what)?.to_vec() });
    }
    Ok(out)
}

/// One credential entry, or a configuration entry.
enum Entry {
    Credential(Credential),
    Config(ConfigEntry),
}

fn entry(r: &mut Reader<'_>, version: u8) -> Result<Entry, DecodeError> {
    let client = principal(r)?;
    let server = principal(r)?;
    let etype = i32::from(r.u16_be("keyblock enctype")? as i16);
    if version == 3 {
        // Version 3 writes the enctype twice.
        r.u16_be("keyblock enctype (repeated)")?;
    }
    let key = KeyBlock { etype, key: Zeroizing::new(data(r, "keyblock")?.to_vec()) };
    let authtime = r.u32_be("authtime")?;
    let starttime = r.u32_be("starttime")?;
    let endtime = r.u32_be("endtime")?;
    let renew_till = r.u32_be("renew_till")?;
    let is_skey = match r.u8("is_skey")? {
        0 => false,
        1 => true,
        _ => return Err(DecodeError::invalid("is_skey")),
    };
    let ticket_flags = r.u32_be("ticket_flags")?;
    let addresses = typed_list(r, "addresses")?;
    let authdata = typed_list(r, "authdata")?;
    let ticket = data(r, "ticket")?.to_vec();
    let second_ticket = data(r, "second_ticket")?.to_vec();
    if server.realm == CONFIG_REALM {
        if !(2..=3).contains(&server.components.len()) || server.components[0] != CONFIG_COMPONENT {
            return Err(DecodeError::invalid("configuration entry name"));
        }
        return Ok(Entry::Config(ConfigEntry {
            key: server.components[1].clone(),
            principal: server.components.get(2).cloned(),
            value: ticket,
        }));
    }
    Ok(Entry::Credential(Credential {
        client,
        server,
        key,
        authtime,
        starttime,
        endtime,
        renew_till,
        is_skey,
        ticket_flags,
        addresses,
        authdata,
        ticket,
        second_ticket,
    }))
}

/// Parse a FILE credential cache (format version 3 or 4).
pub fn parse_ccache(bytes: &[u8]) -> Result<Ccache, CcacheError> {
    if bytes.len() > MAX_CCACHE_LEN {
        return Err(CcacheError::TooLarge);
    }
    let mut r = Reader::new(bytes);
    let version = r.u16_be("ccache version")?;
    let version = match version {
        0x0504 => 4,
        0x0503 => 3,
        v => return Err(CcacheError::UnsupportedVersion(v)),
    };
    let mut kdc_offset = None;
    if version == 4 {
        let len = usize::from(r.u16_be("header length")?);
        let mut h = r.sub(len, "header")?;
        while !h.is_empty() {
            let tag = h.u16_be("header tag")?;
            let tlen = usize::from(h.u16_be("header tag length")?);
            let mut v = h.sub(tlen, "header tag value")?;
            // Tag 1 is the KDC time offset; other tags are ignored, as the format asks.
            if tag == 1 {
                let seconds = v.u32_be("time offset")? as i32;
                let microseconds = v.u32_be("time offset")? as i32;
                v.finish("time offset")?;
                kdc_offset = Some(KdcTimeOffset { seconds, microseconds });
            }
        }
    }
    let default_principal = principal(&mut r)?;
    let mut credentials = Vec::new();
    let mut config = Vec::new();
    let mut n = 0usize;
    while !r.is_empty() {
        n += 1;
        if n > MAX_CREDENTIALS {
            return Err(CcacheError::Malformed(DecodeError::too_large("credential count")));
        }
        match entry(&mut r, version)? {
            Entry::Credential(c) => credentials.push(c),
            Entry::Config(c) => config.push(c),
        }
    }
    Ok(Ccache { version, kdc_offset, default_principal, credentials, config })
}

fn put_data(w: &mut Writer, b: &[u8]) {
    // Every length came from a parsed file or a caller's value under 4 GiB in practice; a
    // longer one would be truncated in the prefix, which `encode` documents away.
    w.u32_be(b.len() as u32).bytes(b);
}

fn put_principal(w: &mut Writer, p: &Principal) {
    w.u32_be(p.name_type as u32).u32_be(p.components.len() as u32);
    put_data(w, p.realm.as_bytes());
    for c in &p.components {
        put_data(w, c.as_bytes());
    }
}

fn put_typed(w: &mut Writer, list: &[Typed]) {
    w.u32_be(list.len() as u32);
    for t in list {
        w.u16_be(t.kind as u16);
        put_data(w, &t.data);
    }
}

impl Ccache {
    /// Encode the cache in its format version (configuration entries after the credentials).
    /// Used by the tests and the fuzz round trip; samrpc does not write caches.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16_be(if self.version == 3 { 0x0503 } else { 0x0504 });
        if self.version != 3 {
            match self.kdc_offset {
                Some(o) => {
                    w.u16_be(12).u16_be(1).u16_be(8);
                    w.u32_be(o.seconds as u32).u32_be(o.microseconds as u32);
                }
                None => {
                    w.u16_be(0);
                }
            }
        }
        put_principal(&mut w, &self.default_principal);
        let put_entry = |w: &mut Writer, c: &Credential| {
            put_principal(w, &c.client);
            put_principal(w, &c.server);
            w.u16_be(c.key.etype as u16);
            if self.version == 3 {
                w.u16_be(c.key.etype as u16);
            }
            put_data(w, c.key.expose());
            w.u32_be(c.authtime).u32_be(c.starttime).u32_be(c.endtime).u32_be(c.renew_till);
            w.u8(u8::from(c.is_skey)).u32_be(c.ticket_flags);
            put_typed(w, &c.addresses);
            put_typed(w, &c.authdata);
            put_data(w, &c.ticket);
            put_data(w, &c.second_ticket);
        };
        for c in &self.credentials {
            put_entry(&mut w, c);
        }
        for e in &self.config {
            let mut components = vec![CONFIG_COMPONENT.to_owned(), e.key.clone()];
            components.extend(e.principal.clone());
            let conf = Credential {
                client: self.default_principal.clone(),
                server: Principal { name_type: 0, realm: CONFIG_REALM.to_owned(), components },
                key: KeyBlock::new(0, &[]),
                authtime: 0,
                starttime: 0,
                endtime: 0,
                renew_till: 0,
                is_skey: false,
                ticket_flags: 0,
                addresses: Vec::new(),
                authdata: Vec::new(),
                ticket: e.value.clone(),
                second_ticket: Vec::new(),
            };
            put_entry(&mut w, &conf);
        }
        w.into_vec()
    }

    /// A valid TGT (`krbtgt/REALM@REALM`) for the default principal at `now`, the one that
    /// expires last if there are several.
    pub fn find_tgt(&self, realm: &str, now: u64) -> Option<&Credential> {
        self.credentials
            .iter()
            .filter(|c| c.client.same_as(&self.default_principal))
            .filter(|c| c.is_tgt_for(realm) && !c.is_skey && c.is_valid_at(now))
            .max_by_key(|c| c.endtime)
    }

    /// A valid service ticket for `components@realm` (e.g. `["cifs", "dc1.samr.test"]`) for the
    /// default principal at `now`, the one that expires last if there are several. Names
    /// compare ignoring ASCII case ([`Principal::matches`]).
    pub fn find_service_ticket(
        &self,
        realm: &str,
        components: &[&str],
        now: u64,
    ) -> Option<&Credential> {
        self.credentials
            .iter()
            .filter(|c| c.client.same_as(&self.default_principal))
            .filter(|c| c.server.matches(realm, components) && !c.is_skey && c.is_valid_at(now))
            .max_by_key(|c| c.endtime)
    }
}

/// The file a DIR collection's `primary` file designates (MIT: a file name in the directory
/// starting with `tkt`). `None` (no primary file) means the default `tkt`. The shell joins the
/// result to the directory and reads that file.
pub fn dir_primary_name(primary: Option<&[u8]>) -> Result<String, CcacheError> {
    let Some(bytes) = primary else { return Ok("tkt".to_owned()) };
    if bytes.len() > 256 {
        return Err(CcacheError::BadPrimary);
    }
    let text = core::str::from_utf8(bytes).map_err(|_| CcacheError::BadPrimary)?;
    // One line: the name and an optional line ending.
    let name = text.strip_suffix('\n').unwrap_or(text);
    let name = name.strip_suffix('\r').unwrap_or(name);
    let ok = name.starts_with("tkt")
        && !name.contains(['/', '\\', '\0', '\n', '\r'])
        && name != "."
        && name != "..";
    if ok { Ok(name.to_owned()) } else { Err(CcacheError::BadPrimary) }
}

/// A credential cache name (`KRB5CCNAME` or krb5.conf `default_ccache_name`), by type.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CcacheName {
    /// `FILE:path` or a bare path.
    File(PathBuf),
    /// `DIR:directory`: a collection; its `primary` file names the cache to use.
    Dir(PathBuf),
    /// `DIR::path`: one cache file inside a DIR collection.
    DirFile(PathBuf),
    /// `KCM:…` (the sssd-kcm / Heimdal KCM daemon). Not readable by samrpc.
    Kcm(String),
    /// `KEYRING:…` (the Linux kernel keyring). Not readable by samrpc.
    Keyring(String),
    /// `MEMORY:…` (process memory of another program). Not readable by samrpc.
    Memory(String),
    /// `API:…` (the macOS/Windows CCAPI). Not readable by samrpc.
    Api(String),
    /// Any other `TYPE:residual`.
    Other {
        /// The type prefix.
        kind: String,
        /// What follows the colon.
        residual: String,
    },
}

impl CcacheName {
    /// Parse a cache name. A name with no `TYPE:` prefix (no colon, or a colon only after the
    /// first `/`) is a FILE path, as MIT treats it. `None` for an empty name or an empty
    /// FILE/DIR path.
    pub fn parse(name: &str) -> Option<CcacheName> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        let (kind, residual) = match name.split_once(':') {
            Some((k, r)) if !k.is_empty() && !k.contains('/') => (k, r),
            _ => return Some(CcacheName::File(PathBuf::from(name))),
        };
        let path = |p: &str| if p.is_empty() { None } else { Some(PathBuf::from(p)) };
        Some(match kind {
            "FILE" => CcacheName::File(path(residual)?),
            "DIR" => match residual.strip_prefix(':') {
                Some(file) => CcacheName::DirFile(path(file)?),
                None => CcacheName::Dir(path(residual)?),
            },
            "KCM" => CcacheName::Kcm(residual.to_owned()),
            "KEYRING" => CcacheName::Keyring(residual.to_owned()),
            "MEMORY" => CcacheName::Memory(residual.to_owned()),
            "API" => CcacheName::Api(residual.to_owned()),
            _ => CcacheName::Other { kind: kind.to_owned(), residual: residual.to_owned() },
        })
    }

    /// The type name as written (`FILE`, `DIR`, `KCM`, …), for messages.
    pub fn kind(&self) -> &str {
        match self {
            CcacheName::File(_) => "FILE",
            CcacheName::Dir(_) | CcacheName::DirFile(_) => "DIR",
            CcacheName::Kcm(_) => "KCM",
            CcacheName::Keyring(_) => "KEYRING",
            CcacheName::Memory(_) => "MEMORY",
            CcacheName::Api(_) => "API",
            CcacheName::Other { kind, .. } => kind,
        }
    }

    /// Whether samrpc can read this cache type (FILE and DIR).
    pub fn is_readable(&self) -> bool {
        matches!(self, CcacheName::File(_) | CcacheName::Dir(_) | CcacheName::DirFile(_))
    }
}

/// The cache name to use: `KRB5CCNAME` if set and non-empty, else krb5.conf's
/// `default_ccache_name` (with `%{uid}`, `%{euid}` and `%{TEMP}` expanded), else
/// `FILE:/tmp/krb5cc_<uid>` (MIT's built-in default).
pub fn default_ccache_name(
    krb5ccname: Option<&str>,
    conf_default: Option<&str>,
    uid: u32,
) -> String {
    if let Some(n) = krb5ccname.map(str::trim).filter(|n| !n.is_empty()) {
        return n.to_owned();
    }
    if let Some(n) = conf_default.map(str::trim).filter(|n| !n.is_empty()) {
        let uid = uid.to_string();
        return n.replace("%{uid}", &uid).replace("%{euid}", &uid).replace("%{TEMP}", "/tmp");
    }
    format!("FILE:/tmp/krb5cc_{uid}")
}

#[cfg(test)]
mod tests;
