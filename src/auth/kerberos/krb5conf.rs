//! krb5.conf, the MIT profile format: what samrpc needs to find a realm's KDCs and kpasswd
//! servers, plus the defaults that steer ticket-cache and DNS use.
//!
//! The syntax (MIT krb5 documentation, "krb5.conf"): `[section]` headers; `tag = value`
//! relations; `tag = {` … `}` subsections, one relation per line; comments on lines starting
//! with `#` or `;`; a `*` after a section's `]`, a tag or a `}` marks it final (accepted and
//! ignored here: samrpc reads one file tree); `include FILE` and `includedir DIR` lines, which
//! the parser returns in [`Krb5Conf::includes`] for the shell to read and [`Krb5Conf::merge`]
//! in. Unknown sections and tags are skipped; sizes, line counts and nesting are capped.
//!
//! Pure: text in, values out. The shell picks the file (`KRB5_CONFIG`, else `/etc/krb5.conf`).

use core::fmt;

/// The largest krb5.conf text accepted.
pub const MAX_KRB5CONF_LEN: usize = 1024 * 1024;
/// The most lines accepted.
pub const MAX_LINES: usize = 20_000;
/// The deepest `{ … }` nesting accepted.
pub const MAX_DEPTH: usize = 8;
/// The most values kept for one list (KDCs of a realm, domain_realm entries, includes).
pub const MAX_VALUES: usize = 1_000;

/// The default KDC port.
pub const KDC_PORT: u16 = 88;
/// The default kpasswd port ([RFC 3244]).
///
/// [RFC 3244]: https://www.rfc-editor.org/rfc/rfc3244
pub const KPASSWD_PORT: u16 = 464;

/// Why krb5.conf text was refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Krb5ConfError {
    /// The text is longer than [`MAX_KRB5CONF_LEN`] or has more than [`MAX_LINES`] lines.
    #[error("krb5.conf is too large")]
    TooLarge,
    /// A syntax error on a line (1-based).
    #[error("krb5.conf line {line}: {what}")]
    Syntax {
        /// The line number.
        line: usize,
        /// What is wrong.
        what: &'static str,
    },
}

/// An `include` or `includedir` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Include {
    /// `include FILE`: read that file too.
    File(String),
    /// `includedir DIR`: read the files in that directory (MIT: names made of letters, digits,
    /// `-` and `_`, or ending in `.conf`).
    Dir(String),
}

/// A realm's entry in `[realms]`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RealmConf {
    /// The realm name, as written.
    pub name: String,
    /// `kdc` values (`host`, `host:port`, `[v6addr]:port`), in order.
    pub kdc: Vec<String>,
    /// `master_kdc` values.
    pub master_kdc: Vec<String>,
    /// `kpasswd_server` values.
    pub kpasswd_server: Vec<String>,
    /// `admin_server` values.
    pub admin_server: Vec<String>,
    /// `default_domain`, if set.
    pub default_domain: Option<String>,
}

/// A host and port to contact.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// A host name or address (IPv6 without brackets).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl Endpoint {
    /// Parse a krb5.conf server value: `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6
    /// address, optionally prefixed with `tcp/` or `udp/` (samrpc uses TCP either way).
    /// `None` for an empty host, a bad port, or a URL (MS-KKDCP `https://…` proxies are not
    /// supported).
    pub fn parse(value: &str, default_port: u16) -> Option<Endpoint> {
        let v = value.trim();
        let v = v.strip_prefix("tcp/").or_else(|| v.strip_prefix("udp/")).unwrap_or(v);
        if v.contains("://") || v.is_empty() || v.contains(char::is_whitespace) {
            return None;
        }
        let (host, port) = if let Some(rest) = v.strip_prefix('[') {
            let (h, after) = rest.split_once(']')?;
            match after {
                "" => (h, None),
                p => (h, Some(p.strip_prefix(':')?)),
            }
        } else if v.matches(':').count() > 1 {
            (v, None) // a bare IPv6 address
        } else {
            match v.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (v, None),
            }
        };
        if host.is_empty() || host.contains(['/', '[', ']']) {
            return None;
        }
        let port = match port {
            Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0)?,
            None => default_port,
        };
        Some(Endpoint { host: host.to_owned(), port })
    }
}

/// The parsed krb5.conf values samrpc uses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Krb5Conf {
    /// `[libdefaults] default_realm`.
    pub default_realm: Option<String>,
    /// `[libdefaults] dns_lookup_kdc` (MIT's default when unset: true).
    pub dns_lookup_kdc: Option<bool>,
    /// `[libdefaults] dns_lookup_realm` (MIT's default when unset: false).
    pub dns_lookup_realm: Option<bool>,
    /// `[libdefaults] default_ccache_name` (may hold `%{uid}`-style parameters).
    pub default_ccache_name: Option<String>,
    /// `[libdefaults] rdns` (MIT's default when unset: true).
    pub rdns: Option<bool>,
    /// `[libdefaults] dns_canonicalize_hostname` (`true`, `false` or `fallback`).
    pub dns_canonicalize_hostname: Option<String>,
    /// `[libdefaults] udp_preference_limit`.
    pub udp_preference_limit: Option<u32>,
    /// `[libdefaults] ccache_type`.
    pub ccache_type: Option<u32>,
    /// `[realms]`, in order.
    pub realms: Vec<RealmConf>,
    /// `[domain_realm]` mappings (`.example.com` or `host.example.com` → realm), in order.
    pub domain_realm: Vec<(String, String)>,
    /// `include` / `includedir` lines, in order, for the shell to follow.
    pub includes: Vec<Include>,
}

/// MIT's boolean spellings (case-insensitive); anything else is "unset".
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "y" | "yes" | "true" | "t" | "1" | "on" => Some(true),
        "n" | "no" | "false" | "nil" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// A value: trimmed; a double-quoted value has its quotes removed and `\n`, `\t`, `\b`, `\\`
/// and `\"` escapes applied.
fn unquote(v: &str) -> String {
    let v = v.trim();
    let Some(inner) = v.strip_prefix('"') else { return v.to_owned() };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('b') => out.push('\u{8}'),
                Some(o) => out.push(o),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

fn push_capped<T>(list: &mut Vec<T>, v: T) {
    if list.len() < MAX_VALUES {
        list.push(v);
    }
}

/// Parse krb5.conf text.
pub fn parse_krb5conf(text: &str) -> Result<Krb5Conf, Krb5ConfError> {
    if text.len() > MAX_KRB5CONF_LEN {
        return Err(Krb5ConfError::TooLarge);
    }
    let mut conf = Krb5Conf::default();
    let mut section: Option<String> = None;
    // The open subsections, outermost first (tag names, lower-cased where samrpc compares).
    let mut stack: Vec<String> = Vec::new();
    // Index into conf.realms of the realm being read, if the top subsection of [realms] is one.
    let mut realm: Option<usize> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if line > MAX_LINES {
            return Err(Krb5ConfError::TooLarge);
        }
        let syntax = |what| Krb5ConfError::Syntax { line, what };
        let l = raw.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with(';') {
            continue;
        }
        // Directives are only recognised at the start of a line.
        if let Some(rest) =
            raw.strip_prefix("includedir").filter(|r| r.starts_with(char::is_whitespace))
        {
            push_capped(&mut conf.includes, Include::Dir(rest.trim().to_owned()));
            continue;
        }
        if let Some(rest) =
            raw.strip_prefix("include").filter(|r| r.starts_with(char::is_whitespace))
        {
            push_capped(&mut conf.includes, Include::File(rest.trim().to_owned()));
            continue;
        }
        if raw.starts_with("module") && raw[6..].starts_with(char::is_whitespace) {
            continue; // a profile library module: not for samrpc
        }
        if let Some(rest) = l.strip_prefix('[') {
            if !stack.is_empty() {
                return Err(syntax("section header inside braces"));
            }
            let rest = rest.strip_suffix('*').unwrap_or(rest).trim_end();
            let name =
                rest.strip_suffix(']').ok_or_else(|| syntax("unterminated section header"))?;
            let name = name.trim();
            if name.is_empty() {
                return Err(syntax("empty section name"));
            }
            section = Some(name.to_owned());
            realm = None;
            continue;
        }
        if l == "}" || l == "}*" {
            if stack.pop().is_none() {
                return Err(syntax("'}' without '{'"));
            }
            if stack.is_empty() {
                realm = None;
            }
            continue;
        }
        let Some(sect) = section.as_deref() else {
            return Err(syntax("relation outside any section"));
        };
        let (tag, value) = l.split_once('=').ok_or_else(|| syntax("expected 'tag = value'"))?;
        let tag = tag.trim();
        let tag = tag.strip_suffix('*').unwrap_or(tag).trim_end();
        if tag.is_empty() {
            return Err(syntax("empty tag"));
        }
        let value = value.trim();
        if value == "{" {
            if stack.len() >= MAX_DEPTH {
                return Err(syntax("subsections nested too deeply"));
            }
            if stack.is_empty() && sect == "realms" {
                match conf.realms.iter().position(|r| r.name == tag) {
                    Some(i) => realm = Some(i),
                    None if conf.realms.len() < MAX_VALUES => {
                        conf.realms
                            .push(RealmConf { name: tag.to_owned(), ..RealmConf::default() });
                        realm = Some(conf.realms.len() - 1);
                    }
                    None => realm = None,
                }
            }
            stack.push(tag.to_owned());
            continue;
        }
        let value = unquote(value);
        match (sect, stack.len()) {
            ("libdefaults", 0) => {
                let set_first = |slot: &mut Option<String>, v: String| {
                    if slot.is_none() {
                        *slot = Some(v);
                    }
                };
                match tag {
                    "default_realm" => set_first(&mut conf.default_realm, value),
                    "default_ccache_name" => set_first(&mut conf.default_ccache_name, value),
                    "dns_canonicalize_hostname" => {
                        set_first(&mut conf.dns_canonicalize_hostname, value)
                    }
                    "dns_lookup_kdc" | "dns_fallback" if conf.dns_lookup_kdc.is_none() => {
                        conf.dns_lookup_kdc = parse_bool(&value)
                    }
                    "dns_lookup_realm" if conf.dns_lookup_realm.is_none() => {
                        conf.dns_lookup_realm = parse_bool(&value)
                    }
                    "rdns" if conf.rdns.is_none() => conf.rdns = parse_bool(&value),
                    "udp_preference_limit" if conf.udp_preference_limit.is_none() => {
                        conf.udp_preference_limit = value.parse().ok()
                    }
                    "ccache_type" if conf.ccache_type.is_none() => {
                        conf.ccache_type = value.parse().ok()
                    }
                    _ => {}
                }
            }
            ("realms", 1) => {
                if let Some(r) = realm.and_then(|i| conf.realms.get_mut(i)) {
                    match tag {
                        "kdc" => push_capped(&mut r.kdc, value),
                        "master_kdc" => push_capped(&mut r.master_kdc, value),
                        "kpasswd_server" => push_capped(&mut r.kpasswd_server, value),
                        "admin_server" => push_capped(&mut r.admin_server, value),
                        "default_domain" if r.default_domain.is_none() => {
                            r.default_domain = Some(value)
                        }
                        _ => {}
                    }
                }
            }
            ("domain_realm", 0) => {
                push_capped(&mut conf.domain_realm, (tag.to_ascii_lowercase(), value))
            }
            _ => {} // other sections and deeper subsections: not used by samrpc
        }
    }
    if !stack.is_empty() {
        return Err(Krb5ConfError::Syntax {
            line: text.lines().count(),
            what: "unclosed '{' at end of file",
        });
    }
    Ok(conf)
}

impl Krb5Conf {
    /// Merge a file read after this one (an include, or a later file of `KRB5_CONFIG`): values
    /// already set win, lists are appended, realms of the same name are combined.
    pub fn merge(&mut self, later: Krb5Conf) {
        fn first<T>(a: &mut Option<T>, b: Option<T>) {
            if a.is_none() {
                *a = b;
            }
        }
        first(&mut self.default_realm, later.default_realm);
        first(&mut self.dns_lookup_kdc, later.dns_lookup_kdc);
        first(&mut self.dns_lookup_realm, later.dns_lookup_realm);
        first(&mut self.default_ccache_name, later.default_ccache_name);
        first(&mut self.rdns, later.rdns);
        first(&mut self.dns_canonicalize_hostname, later.dns_canonicalize_hostname);
        first(&mut self.udp_preference_limit, later.udp_preference_limit);
        first(&mut self.ccache_type, later.ccache_type);
        for r in later.realms {
            match self.realms.iter_mut().find(|m| m.name == r.name) {
                Some(m) => {
                    for v in r.kdc {
                        push_capped(&mut m.kdc, v);
                    }
                    for v in r.master_kdc {
                        push_capped(&mut m.master_kdc, v);
                    }
                    for v in r.kpasswd_server {
                        push_capped(&mut m.kpasswd_server, v);
                    }
                    for v in r.admin_server {
                        push_capped(&mut m.admin_server, v);
                    }
                    first(&mut m.default_domain, r.default_domain);
                }
                None => push_capped(&mut self.realms, r),
            }
        }
        for d in later.domain_realm {
            push_capped(&mut self.domain_realm, d);
        }
        for i in later.includes {
            push_capped(&mut self.includes, i);
        }
    }

    /// The `[realms]` entry for `realm`: an exact name match, else one that differs only in
    /// ASCII case.
    pub fn realm(&self, realm: &str) -> Option<&RealmConf> {
        self.realms
            .iter()
            .find(|r| r.name == realm)
            .or_else(|| self.realms.iter().find(|r| r.name.eq_ignore_ascii_case(realm)))
    }

    /// The KDCs configured for `realm` (port 88 unless given), in file order, without
    /// duplicates. Empty when the realm has no `kdc` lines (then DNS, if allowed, or the
    /// target host).
    pub fn kdcs(&self, realm: &str) -> Vec<Endpoint> {
        let mut out = Vec::new();
        if let Some(r) = self.realm(realm) {
            for v in &r.kdc {
                if let Some(e) = Endpoint::parse(v, KDC_PORT) {
                    if !out.contains(&e) {
                        out.push(e);
                    }
                }
            }
        }
        out
    }

    /// The kpasswd servers for `realm`: the `kpasswd_server` values (port 464 unless given);
    /// else the `admin_server` hosts on port 464 (their ports are kadmin's, not kpasswd's);
    /// else the KDC hosts on port 464.
    pub fn kpasswd_servers(&self, realm: &str) -> Vec<Endpoint> {
        let Some(r) = self.realm(realm) else { return Vec::new() };
        let mut out: Vec<Endpoint> = Vec::new();
        let mut add = |e: Endpoint| {
            if !out.contains(&e) {
                out.push(e);
            }
        };
        if !r.kpasswd_server.is_empty() {
            for v in &r.kpasswd_server {
                if let Some(e) = Endpoint::parse(v, KPASSWD_PORT) {
                    add(e);
                }
            }
        } else {
            let hosts = if r.admin_server.is_empty() { &r.kdc } else { &r.admin_server };
            for v in hosts {
                if let Some(e) = Endpoint::parse(v, KPASSWD_PORT) {
                    add(Endpoint { host: e.host, port: KPASSWD_PORT });
                }
            }
        }
        out
    }

    /// Whether DNS SRV lookups for KDCs are allowed (`dns_lookup_kdc`, MIT's default true).
    pub fn dns_lookup_kdc(&self) -> bool {
        self.dns_lookup_kdc.unwrap_or(true)
    }

    /// The realm `[domain_realm]` maps `host` to: an exact host entry first, else the longest
    /// `.domain` entry the host ends with (a `.domain` entry also matches `domain` itself).
    /// Host names compare ignoring ASCII case.
    pub fn realm_for_host(&self, host: &str) -> Option<&str> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if let Some((_, r)) =
            self.domain_realm.iter().find(|(d, _)| !d.starts_with('.') && *d == host)
        {
            return Some(r);
        }
        self.domain_realm
            .iter()
            .filter(|(d, _)| d.starts_with('.') && (host.ends_with(d.as_str()) || host == d[1..]))
            .max_by_key(|(d, _)| d.len())
            .map(|(_, r)| r.as_str())
    }
}

#[cfg(test)]
mod tests;
