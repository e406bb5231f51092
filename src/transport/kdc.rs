//! The Kerberos shell: KDC and kpasswd I/O over TCP ([RFC 4120] 7.2.2: a 4-byte big-endian
//! record mark before each message), KDC discovery, ticket-cache reading, and the async
//! drivers of the sans-IO exchanges in [`crate::auth::kerberos::exchange`].
//!
//! Every network step has a timeout; replies are capped at [`MAX_REPLY`] before anything is
//! allocated. String-to-key (PBKDF2) runs on the blocking pool, off the async executor.
//!
//! KDC discovery, in order: an explicit KDC, krb5.conf (`KRB5_CONFIG`, else `/etc/krb5.conf`)
//! `[realms] REALM = { kdc = … }`, then DNS SRV `_kerberos._tcp.REALM` ([RFC 4120] 7.2.3.2;
//! only when krb5.conf's `dns_lookup_kdc` is true, MIT's default, or there is no krb5.conf),
//! then the target host itself on port 88. The SRV query goes over UDP to the nameservers of
//! `/etc/resolv.conf` (or of the file named by [`RESOLV_CONF_ENV`]), through the sans-IO codec
//! in [`crate::auth::kerberos::dns`].
//!
//! [RFC 4120]: https://www.rfc-editor.org/rfc/rfc4120

use crate::auth::kerberos::ccache::{
    CcacheName, default_ccache_name, dir_primary_name, parse_ccache,
};
use crate::auth::kerberos::crypto::KerberosKey;
use crate::auth::kerberos::dns::{self, SrvAnswer};
use crate::auth::kerberos::error::KerberosError;
use crate::auth::kerberos::exchange::{
    AsExchange, AsStep, ClientCredentials, Credential, KpasswdExchange, TgsExchange,
};
use crate::auth::kerberos::kpasswd::{self, KpasswdResult};
use crate::auth::kerberos::krb5conf::{Endpoint, Krb5Conf, parse_krb5conf};
use crate::auth::kerberos::messages::{HostAddress, PrincipalName, Ticket};
use crate::rng::OsRandom;
use crate::secret::Password;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::timeout;

/// Largest KDC or kpasswd reply accepted.
pub const MAX_REPLY: usize = 256 * 1024;

/// Why a Kerberos step failed in the shell.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum KdcError {
    /// No KDC answered (every candidate failed to connect or timed out).
    #[error("no KDC reachable for realm {realm} (tried {tried})")]
    Unreachable {
        /// The realm.
        realm: String,
        /// The endpoints tried, comma-separated, with the last error.
        tried: String,
    },
    /// The KDC's answer, typed.
    #[error(transparent)]
    Kerberos(#[from] KerberosError),
    /// The ticket cache could not be used.
    #[error("ticket cache: {0}")]
    Cache(String),
    /// krb5.conf could not be read or parsed.
    #[error("krb5.conf: {0}")]
    Config(String),
    /// The kpasswd server refused the new password.
    #[error("the kpasswd server refused the change: {0}")]
    Kpasswd(String),
    /// The kpasswd request was sent but no valid answer came back: the password may or may
    /// not have changed.
    #[error(
        "no answer from the kpasswd server after the request was sent ({0}): the password may or may not have changed"
    )]
    OutcomeUnknown(String),
}

/// Where the KDCs are and how long to wait.
#[derive(Clone, Debug)]
pub struct KdcSettings {
    /// The realm (upper case).
    pub realm: String,
    /// KDC endpoints in order.
    pub kdcs: Vec<Endpoint>,
    /// kpasswd endpoints in order.
    pub kpasswd: Vec<Endpoint>,
    /// Per-step timeout (connect, write, read).
    pub timeout: Duration,
}

/// krb5.conf from `KRB5_CONFIG` (the first readable file of its colon-separated list), else
/// `/etc/krb5.conf`; `None` if there is none.
pub fn load_krb5_conf() -> Result<Option<Krb5Conf>, KdcError> {
    let paths: Vec<PathBuf> = match std::env::var_os("KRB5_CONFIG") {
        Some(v) if !v.is_empty() => std::env::split_paths(&v).collect(),
        _ => vec![PathBuf::from("/etc/krb5.conf")],
    };
    for p in paths {
        match std::fs::read(&p) {
            Ok(bytes) => {
                if bytes.len() > 1 << 20 {
                    return Err(KdcError::Config(format!("{} is larger than 1 MiB", p.display())));
                }
                let text = String::from_utf8_lossy(&bytes);
                return parse_krb5conf(&text)
                    .map(Some)
                    .map_err(|e| KdcError::Config(format!("{}: {e}", p.display())));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(KdcError::Config(format!("{}: {e}", p.display()))),
        }
    }
    Ok(None)
}

/// The realm: `explicit`, else `user_domain` when it looks like a DNS name (`USER@REALM`),
/// else krb5.conf `default_realm`, else the DNS suffix of `host` upper-cased.
pub fn choose_realm(
    explicit: Option<&str>,
    user_domain: Option<&str>,
    conf: Option<&Krb5Conf>,
    host: &str,
) -> Option<String> {
    explicit
        .map(str::to_owned)
        .or_else(|| user_domain.filter(|d| d.contains('.')).map(str::to_owned))
        .or_else(|| conf.and_then(|c| c.default_realm.clone()))
        .or_else(|| {
            if host.parse::<std::net::IpAddr>().is_ok() {
                return None;
            }
            host.split_once('.').map(|(_, d)| d.to_owned()).filter(|d| !d.is_empty())
        })
        .map(|r| r.to_uppercase())
}

/// The environment variable naming a resolv.conf to read instead of `/etc/resolv.conf` for
/// the DNS SRV step of KDC discovery (for tests and unusual hosts; only its `nameserver`
/// lines are used).
pub const RESOLV_CONF_ENV: &str = "SAMRPC_RESOLV_CONF";

/// The nameservers of the resolv.conf named by [`RESOLV_CONF_ENV`], else of
/// `/etc/resolv.conf` (see [`dns::parse_resolv_conf`]); empty if it cannot be read or names
/// none.
pub fn system_nameservers() -> Vec<SocketAddr> {
    let path = std::env::var_os(RESOLV_CONF_ENV)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from("/etc/resolv.conf"), PathBuf::from);
    match std::fs::read(&path) {
        // resolv.conf is small; a huge file is not one.
        Ok(b) if b.len() <= 64 * 1024 => dns::parse_resolv_conf(&String::from_utf8_lossy(&b)),
        Ok(_) => Vec::new(),
        Err(_e) => {
            crate::log_debug!(path = %path.display(), error = %_e, "no resolv.conf for DNS SRV");
            Vec::new()
        }
    }
}

/// One SRV query to one nameserver over UDP, the answer awaited for `t`.
async fn srv_query_once(ns: SocketAddr, name: &str, t: Duration) -> Result<SrvAnswer, String> {
    let (id, query) =
        dns::encode_srv_query(name, &mut OsRandom).map_err(|e| format!("{name}: {e}"))?;
    let bind: SocketAddr = if ns.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let sock = UdpSocket::bind(bind).await.map_err(|e| format!("{ns}: {e}"))?;
    // Connected: the kernel drops datagrams from any other address.
    sock.connect(ns).await.map_err(|e| format!("{ns}: {e}"))?;
    timeout(t, sock.send(&query))
        .await
        .map_err(|_| format!("{ns}: send timed out"))?
        .map_err(|e| format!("{ns}: {e}"))?;
    super::net::waiting_on_peer();
    let mut buf = vec![0u8; dns::MAX_MESSAGE];
    let n = timeout(t, sock.recv(&mut buf))
        .await
        .map_err(|_| format!("{ns}: no DNS answer within {} ms", t.as_millis()))?
        .map_err(|e| format!("{ns}: {e}"))?;
    dns::decode_srv_response(&buf[..n], id, name).map_err(|e| format!("{ns}: {e}"))
}

/// The SRV records for `name` from the first of `nameservers` that answers (each tried once,
/// a lone nameserver retried once, every attempt under `t`). NXDOMAIN or an empty answer is
/// `Ok(empty)`; a truncated (TC) answer counts as a failure of that server, since samrpc does
/// not retry over TCP.
pub async fn lookup_srv(
    name: &str,
    nameservers: &[SocketAddr],
    t: Duration,
) -> Result<Vec<dns::SrvRecord>, String> {
    let mut attempts: Vec<SocketAddr> = nameservers.to_vec();
    if attempts.len() == 1 {
        attempts.push(attempts[0]);
    }
    if attempts.is_empty() {
        return Err("no nameserver configured".into());
    }
    let mut tried = Vec::new();
    for ns in attempts {
        match srv_query_once(ns, name, t).await {
            Ok(SrvAnswer::Records(r)) => return Ok(r),
            Ok(SrvAnswer::NoSuchName) => return Ok(Vec::new()),
            Ok(SrvAnswer::ServerFailure(c)) => tried.push(format!("{ns}: RCODE {c}")),
            Ok(SrvAnswer::Truncated) => {
                tried.push(format!("{ns}: truncated answer (TCP fallback not implemented)"))
            }
            Err(e) => tried.push(e),
        }
    }
    Err(tried.join(", "))
}

/// The SRV records of `_service._tcp.REALM` as endpoints; empty (logged) on any failure.
async fn srv_endpoints(
    service: &str,
    realm: &str,
    nameservers: &[SocketAddr],
    t: Duration,
) -> Vec<Endpoint> {
    let name = dns::srv_name(service, realm);
    match lookup_srv(&name, nameservers, t).await {
        Ok(rs) => {
            crate::log_debug!(name = %name, records = rs.len(), "DNS SRV answer");
            rs.into_iter().map(|r| Endpoint { host: r.target, port: r.port }).collect()
        }
        Err(_e) => {
            crate::log_debug!(name = %name, error = %_e, "DNS SRV lookup failed");
            Vec::new()
        }
    }
}

impl KdcSettings {
    /// Discover the KDCs for `realm` without DNS: `explicit` (`HOST[:PORT]`), else krb5.conf,
    /// else `fallback_host` on port 88 (kpasswd: krb5.conf `kpasswd_server`, else the first
    /// KDC's host on port 464). [`KdcSettings::discover_with_dns`] adds the DNS SRV step.
    pub fn discover(
        realm: &str,
        explicit: Option<&str>,
        conf: Option<&Krb5Conf>,
        fallback_host: &str,
        timeout: Duration,
    ) -> Self {
        Self::assemble(realm, explicit, conf, None, fallback_host, timeout).0
    }

    /// Whether discovery for `realm` would consult DNS: no usable explicit KDC, no KDC for the
    /// realm in krb5.conf, and krb5.conf's `dns_lookup_kdc` true (or no krb5.conf at all).
    pub fn wants_dns(realm: &str, explicit: Option<&str>, conf: Option<&Krb5Conf>) -> bool {
        explicit.and_then(|k| Endpoint::parse(k, 88)).is_none()
            && conf.is_none_or(|c| c.kdcs(realm).is_empty() && c.dns_lookup_kdc())
    }

    /// Discover the KDCs for `realm`: `explicit`, else krb5.conf, else DNS SRV
    /// `_kerberos._tcp.REALM` asked of `nameservers` (when [`KdcSettings::wants_dns`]), else
    /// `fallback_host` on port 88. When the KDCs came from DNS, the kpasswd servers are
    /// krb5.conf's `kpasswd_server`, else DNS SRV `_kpasswd._tcp.REALM`, else the KDC hosts on
    /// port 464. Each DNS attempt waits at most `timeout`.
    pub async fn discover_with_dns(
        realm: &str,
        explicit: Option<&str>,
        conf: Option<&Krb5Conf>,
        fallback_host: &str,
        timeout: Duration,
        nameservers: &[SocketAddr],
    ) -> Self {
        let mut from_dns = None;
        if Self::wants_dns(realm, explicit, conf) {
            let kdcs = srv_endpoints("kerberos", realm, nameservers, timeout).await;
            if !kdcs.is_empty() {
                let has_conf_kpasswd = conf.is_some_and(|c| !c.kpasswd_servers(realm).is_empty());
                let kpasswd = if has_conf_kpasswd {
                    Vec::new()
                } else {
                    srv_endpoints("kpasswd", realm, nameservers, timeout).await
                };
                from_dns = Some((kdcs, kpasswd));
            }
        }
        let (s, _source) = Self::assemble(realm, explicit, conf, from_dns, fallback_host, timeout);
        crate::log_debug!(realm = %s.realm, source = _source, kdcs = s.kdcs.len(), "KDC discovery");
        s
    }

    /// The settings and the name of the KDCs' source (for the debug log).
    fn assemble(
        realm: &str,
        explicit: Option<&str>,
        conf: Option<&Krb5Conf>,
        from_dns: Option<(Vec<Endpoint>, Vec<Endpoint>)>,
        fallback_host: &str,
        timeout: Duration,
    ) -> (Self, &'static str) {
        let mut source = "explicit";
        let mut kdcs: Vec<Endpoint> =
            explicit.and_then(|k| Endpoint::parse(k, 88)).into_iter().collect();
        if kdcs.is_empty() {
            source = "krb5.conf";
            if let Some(c) = conf {
                kdcs = c.kdcs(realm);
            }
        }
        let mut dns_kpasswd = Vec::new();
        if kdcs.is_empty() {
            if let Some((k, p)) = from_dns {
                source = "DNS SRV";
                kdcs = k;
                dns_kpasswd = p;
            }
        }
        if kdcs.is_empty() {
            source = "target host";
            kdcs.extend(Endpoint::parse(fallback_host, 88));
        }
        let mut kpasswd = if explicit.is_none() {
            conf.map(|c| c.kpasswd_servers(realm)).unwrap_or_default()
        } else {
            Vec::new()
        };
        if kpasswd.is_empty() {
            kpasswd = dns_kpasswd;
        }
        if kpasswd.is_empty() {
            kpasswd = kdcs.iter().map(|e| Endpoint { host: e.host.clone(), port: 464 }).collect();
        }
        (Self { realm: realm.to_uppercase(), kdcs, kpasswd, timeout }, source)
    }
}

fn endpoint_addr(ep: &Endpoint) -> String {
    if ep.host.contains(':') && !ep.host.starts_with('[') {
        format!("[{}]:{}", ep.host, ep.port)
    } else {
        format!("{}:{}", ep.host, ep.port)
    }
}

/// Connect to `ep` within `t`; returns the stream and the local address it uses.
async fn tcp_connect(ep: &Endpoint, t: Duration) -> Result<(TcpStream, std::net::IpAddr), String> {
    let addr = endpoint_addr(ep);
    let s = timeout(t, TcpStream::connect(&addr))
        .await
        .map_err(|_| format!("{addr}: connect timed out"))?
        .map_err(|e| format!("{addr}: {e}"))?;
    let local = s.local_addr().map_err(|e| format!("{addr}: {e}"))?.ip();
    Ok((s, local))
}

/// One request/reply on a connected stream, with the record mark; every step under `t`, the
/// reply length checked against [`MAX_REPLY`] before anything is allocated.
async fn exchange_on(
    s: &mut TcpStream,
    addr: &str,
    req: &[u8],
    t: Duration,
) -> Result<Vec<u8>, String> {
    let len = u32::try_from(req.len()).map_err(|_| "request too large".to_owned())?;
    let mut out = Vec::with_capacity(req.len() + 4);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(req);
    timeout(t, s.write_all(&out))
        .await
        .map_err(|_| format!("{addr}: write timed out"))?
        .map_err(|e| format!("{addr}: {e}"))?;
    super::net::waiting_on_peer();
    let mut mark = [0u8; 4];
    timeout(t, s.read_exact(&mut mark))
        .await
        .map_err(|_| format!("{addr}: no answer within {} s", t.as_secs()))?
        .map_err(|e| format!("{addr}: {e}"))?;
    let n = u32::from_be_bytes(mark);
    // The high bit is reserved (RFC 4120 7.2.2); a reply above the cap is refused unread.
    if n & 0x8000_0000 != 0 || n as usize > MAX_REPLY || n == 0 {
        return Err(format!("{addr}: bad reply length {n}"));
    }
    let mut buf = vec![0u8; n as usize];
    timeout(t, s.read_exact(&mut buf))
        .await
        .map_err(|_| format!("{addr}: reply timed out"))?
        .map_err(|e| format!("{addr}: {e}"))?;
    Ok(buf)
}

/// One request/reply over TCP with the record mark. Returns the reply and the local address
/// used.
async fn tcp_exchange(
    ep: &Endpoint,
    req: &[u8],
    t: Duration,
) -> Result<(Vec<u8>, std::net::IpAddr), String> {
    let (mut s, local) = tcp_connect(ep, t).await?;
    let rep = exchange_on(&mut s, &endpoint_addr(ep), req, t).await?;
    Ok((rep, local))
}

/// Send `req` to the first KDC that answers.
async fn kdc_round_trip(
    s: &KdcSettings,
    eps: &[Endpoint],
    req: &[u8],
) -> Result<(Vec<u8>, std::net::IpAddr), KdcError> {
    let mut tried = Vec::new();
    for ep in eps {
        match tcp_exchange(ep, req, s.timeout).await {
            Ok(r) => return Ok(r),
            Err(e) => {
                crate::log_debug!(kdc = %ep, error = %e, "KDC not reachable");
                tried.push(e);
            }
        }
    }
    Err(KdcError::Unreachable { realm: s.realm.clone(), tried: tried.join(", ") })
}

/// The first KDC that accepts a TCP connection (for diagnostics).
pub async fn probe_kdc(s: &KdcSettings) -> Result<Endpoint, KdcError> {
    let mut tried = Vec::new();
    for ep in &s.kdcs {
        match tcp_connect(ep, s.timeout).await {
            Ok(_) => return Ok(ep.clone()),
            Err(e) => tried.push(e),
        }
    }
    Err(KdcError::Unreachable { realm: s.realm.clone(), tried: tried.join(", ") })
}

/// Counts of KDC round trips (for the flight tests and `doctor`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KdcTrips {
    /// AS-REQs sent.
    pub as_req: u32,
    /// TGS-REQs sent.
    pub tgs_req: u32,
}

/// Run an AS exchange (TGT, or `service` such as `kadmin/changepw`). String-to-key runs on
/// the blocking pool.
pub async fn get_initial(
    s: &KdcSettings,
    creds: ClientCredentials,
    service: Option<PrincipalName>,
    trips: &mut KdcTrips,
) -> Result<Credential, KdcError> {
    let t = super::now_krb();
    let (mut x, mut req) =
        tokio::task::spawn_blocking(move || AsExchange::start(creds, service, &mut OsRandom, t))
            .await
            .map_err(|_| {
                KdcError::Kerberos(KerberosError::Protocol("string-to-key task failed"))
            })??;
    loop {
        trips.as_req += 1;
        let (rep, _) = kdc_round_trip(s, &s.kdcs, &req).await?;
        let t = super::now_krb();
        let (x2, step) = tokio::task::spawn_blocking(move || {
            let r = x.on_reply(&rep, &mut OsRandom, t);
            (x, r)
        })
        .await
        .map_err(|_| KdcError::Kerberos(KerberosError::Protocol("string-to-key task failed")))?;
        x = x2;
        match step? {
            AsStep::Send(r) => {
                crate::log_debug!(
                    offset = x.clock_offset(),
                    "retrying the AS-REQ (with the KDC's time when the offset is not 0, else with its salt/etype)"
                );
                req = r;
            }
            AsStep::Done(c) => {
                crate::log_debug!(client = %c.cname, realm = %c.crealm, service = %c.sname, etype = %c.session_key.etype(), "AS exchange done");
                return Ok(*c);
            }
        }
    }
}

/// Run a TGS exchange for `service` with `tgt`; on SKEW, retry once with the KDC's time.
pub async fn get_service_ticket(
    s: &KdcSettings,
    tgt: &Credential,
    service: PrincipalName,
    trips: &mut KdcTrips,
) -> Result<Credential, KdcError> {
    let mut offset = 0i64;
    for attempt in 0..2 {
        let mut t = super::now_krb();
        t.time.0 += offset;
        let (x, req) = TgsExchange::start(tgt, service.clone(), &s.realm, &mut OsRandom, t)?;
        trips.tgs_req += 1;
        let (rep, _) = kdc_round_trip(s, &s.kdcs, &req).await?;
        match x.on_reply(&rep) {
            Ok(c) => {
                crate::log_debug!(service = %c.sname, etype = %c.session_key.etype(), "TGS exchange done");
                return Ok(c);
            }
            Err(KerberosError::ClockSkew { server_time }) if attempt == 0 => {
                offset = server_time.time.0 - super::now_krb().time.0;
                crate::log_debug!(
                    offset,
                    "KDC clock skew: retrying the TGS-REQ with the KDC's time"
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(KerberosError::Protocol("clock skew persisted after one retry").into())
}

/// Change the password of the owner of `changepw` (a `kadmin/changepw` ticket from an
/// AS exchange with the old password) through kpasswd ([RFC 3244], version 1 as MIT and
/// Windows use it for a change).
pub async fn kpasswd_change(
    s: &KdcSettings,
    changepw: &Credential,
    new_password: &Password,
) -> Result<KpasswdResult, KdcError> {
    let mut tried = Vec::new();
    for ep in &s.kpasswd {
        // KRB-PRIV's s-address is this connection's local address: connect first, then
        // build the request.
        let (mut stream, local) = match tcp_connect(ep, s.timeout).await {
            Ok(x) => x,
            Err(e) => {
                tried.push(e);
                continue;
            }
        };
        let (x, req) = KpasswdExchange::start(
            changepw,
            new_password,
            kpasswd::VERSION_CHANGE,
            HostAddress::ip(local),
            &mut OsRandom,
            super::now_krb(),
        )?;
        let rep = exchange_on(&mut stream, &endpoint_addr(ep), &req, s.timeout)
            .await
            .map_err(KdcError::OutcomeUnknown)?;
        return Ok(x.on_reply(&rep)?);
    }
    Err(KdcError::Unreachable { realm: s.realm.clone(), tried: tried.join(", ") })
}

/// What the ticket cache offers for a service.
#[derive(Debug)]
pub enum CachedTicket {
    /// A valid service ticket for the service itself.
    Service(Credential),
    /// A valid TGT for the realm.
    Tgt(Credential),
}

/// Read the ticket cache `explicit`, else the default one (`KRB5CCNAME`, else krb5.conf `default_ccache_name`, else
/// `FILE:/tmp/krb5cc_<uid>`) and find a valid ticket for `service` or a TGT for `realm`.
/// KCM and KEYRING caches are refused with the `FILE:` workaround in the message.
pub fn read_cache(
    explicit: Option<&str>,
    conf: Option<&Krb5Conf>,
    realm: &str,
    service: &PrincipalName,
) -> Result<CachedTicket, KdcError> {
    let env = explicit.map(str::to_owned).or_else(|| std::env::var("KRB5CCNAME").ok());
    let name = default_ccache_name(
        env.as_deref(),
        conf.and_then(|c| c.default_ccache_name.as_deref()),
        current_uid(),
    );
    let parsed = CcacheName::parse(&name)
        .ok_or_else(|| KdcError::Cache(format!("bad cache name {name:?}")))?;
    let path = match &parsed {
        CcacheName::File(p) | CcacheName::DirFile(p) => p.clone(),
        CcacheName::Dir(d) => {
            let primary = std::fs::read(d.join("primary")).ok();
            let file =
                dir_primary_name(primary.as_deref()).map_err(|e| KdcError::Cache(e.to_string()))?;
            d.join(file)
        }
        other => {
            return Err(KdcError::Cache(format!(
                "{} caches ({name}) cannot be read; use a FILE cache: KRB5CCNAME=FILE:/tmp/krb5cc_$(id -u) kinit USER",
                other.kind()
            )));
        }
    };
    let bytes =
        std::fs::read(&path).map_err(|e| KdcError::Cache(format!("{}: {e}", path.display())))?;
    if bytes.len() > 4 << 20 {
        return Err(KdcError::Cache(format!("{} is larger than 4 MiB", path.display())));
    }
    let cc =
        parse_ccache(&bytes).map_err(|e| KdcError::Cache(format!("{}: {e}", path.display())))?;
    let now = u64::try_from(super::now_krb().time.0).unwrap_or(0);
    let comps: Vec<&str> = service.components.iter().map(String::as_str).collect();
    let to_cred = |c: &crate::auth::kerberos::ccache::Credential| -> Result<Credential, KdcError> {
        let ticket =
            Ticket::decode(&c.ticket).map_err(|e| KdcError::Cache(format!("ticket: {e}")))?;
        let key: KerberosKey =
            c.key.to_key().map_err(|e| KdcError::Cache(format!("session key: {e}")))?;
        Ok(Credential {
            crealm: c.client.realm.clone(),
            cname: PrincipalName { name_type: 1, components: c.client.components.clone() },
            sname: ticket.sname.clone(),
            srealm: ticket.realm.clone(),
            ticket,
            session_key: key,
            flags: c.ticket_flags,
            endtime: crate::auth::kerberos::asn1::KerberosTime(i64::from(c.endtime)),
            starttime: Some(crate::auth::kerberos::asn1::KerberosTime(i64::from(c.start()))),
        })
    };
    if let Some(c) = cc.find_service_ticket(realm, &comps, now) {
        crate::log_debug!(cache = %path.display(), service = %service, "using a cached service ticket");
        return Ok(CachedTicket::Service(to_cred(c)?));
    }
    if let Some(c) = cc.find_tgt(realm, now) {
        crate::log_debug!(cache = %path.display(), "using the cached TGT");
        return Ok(CachedTicket::Tgt(to_cred(c)?));
    }
    Err(KdcError::Cache(format!("no valid ticket for {realm} in {} (run kinit)", path.display())))
}

/// The real user id, read from `/proc/self/status` (std has no getuid); 0 if unknown.
fn current_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    #[test]
    fn realm_rules() {
        let conf = parse_krb5conf("[libdefaults]\n default_realm = CONF.TEST\n").unwrap();
        assert_eq!(
            choose_realm(Some("x.test"), Some("U.TEST"), Some(&conf), "h.d.test").unwrap(),
            "X.TEST"
        );
        assert_eq!(choose_realm(None, Some("u.test"), Some(&conf), "h.d.test").unwrap(), "U.TEST");
        // A NetBIOS domain (no dot) is not a realm.
        assert_eq!(choose_realm(None, Some("SAMR"), Some(&conf), "h.d.test").unwrap(), "CONF.TEST");
        assert_eq!(choose_realm(None, None, None, "dc1.samr.test").unwrap(), "SAMR.TEST");
        assert_eq!(choose_realm(None, None, None, "127.0.0.1"), None);
        assert_eq!(choose_realm(None, None, None, "dc1"), None);
    }

    #[test]
    fn discovery_order() {
        let conf = parse_krb5conf(
            "[realms]\n R.TEST = {\n  kdc = k1.r.test\n  kdc = k2.r.test:8888\n  kpasswd_server = pw.r.test\n }\n",
        )
        .unwrap();
        let t = Duration::from_secs(1);
        let s = KdcSettings::discover("r.test", Some("x:99"), Some(&conf), "h", t);
        assert_eq!(s.realm, "R.TEST");
        assert_eq!(s.kdcs.iter().map(ToString::to_string).collect::<Vec<_>>(), ["x:99"]);
        assert_eq!(s.kpasswd.iter().map(ToString::to_string).collect::<Vec<_>>(), ["x:464"]);
        let s = KdcSettings::discover("R.TEST", None, Some(&conf), "h", t);
        assert_eq!(
            s.kdcs.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["k1.r.test:88", "k2.r.test:8888"]
        );
        assert_eq!(
            s.kpasswd.iter().map(ToString::to_string).collect::<Vec<_>>(),
            ["pw.r.test:464"]
        );
        let s = KdcSettings::discover("R.TEST", None, None, "srv.r.test", t);
        assert_eq!(s.kdcs.iter().map(ToString::to_string).collect::<Vec<_>>(), ["srv.r.test:88"]);
    }

    /// An SRV answer: priority, weight, port, target.
    type Srv = (u16, u16, u16, &'static str);
    /// A DNS peer's script: the query name → the reply flags and SRV answers, or silence.
    type Script = fn(&str) -> Option<(u16, Vec<Srv>)>;

    /// A scripted DNS server on 127.0.0.1 (random UDP port): each query's name goes to
    /// `answer`, which returns `(flags, SRV answers as (priority, weight, port, target))` or
    /// `None` to stay silent. The reply echoes the id and question (RFC 1035 4.1.1/4.1.2); the
    /// answers' owners point at the question (4.1.4), their RDATA per RFC 2782. Returns the
    /// address and a count of the queries received.
    async fn dns_peer(
        answer: Script,
    ) -> (SocketAddr, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = sock.local_addr().unwrap();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = count.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            while let Ok((n, from)) = sock.recv_from(&mut buf).await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let q = &buf[..n];
                // The question name, dotted (labels only: the client never compresses).
                let mut name = Vec::new();
                let mut i = 12;
                while q[i] != 0 {
                    let l = usize::from(q[i]);
                    name.push(String::from_utf8_lossy(&q[i + 1..i + 1 + l]).into_owned());
                    i += 1 + l;
                }
                let Some((flags, answers)) = answer(&name.join(".")) else { continue };
                let mut m = vec![q[0], q[1]];
                m.extend_from_slice(&flags.to_be_bytes());
                m.extend_from_slice(&[0, 1, 0, answers.len() as u8, 0, 0, 0, 0]);
                m.extend_from_slice(&q[12..]);
                for (prio, weight, port, target) in answers {
                    let mut t = Vec::new();
                    for label in target.split('.') {
                        t.push(label.len() as u8);
                        t.extend_from_slice(label.as_bytes());
                    }
                    t.push(0);
                    m.extend_from_slice(&[0xC0, 12, 0, 33, 0, 1, 0, 0, 0, 60]);
                    m.extend_from_slice(&((6 + t.len()) as u16).to_be_bytes());
                    for v in [prio, weight, port] {
                        m.extend_from_slice(&v.to_be_bytes());
                    }
                    m.extend_from_slice(&t);
                }
                let _ = sock.send_to(&m, from).await;
            }
        });
        (addr, count)
    }

    fn names(eps: &[Endpoint]) -> Vec<String> {
        eps.iter().map(ToString::to_string).collect()
    }

    #[tokio::test]
    async fn dns_srv_discovery() {
        let t = Duration::from_millis(300);
        // _kerberos answered (two records, out of order), _kpasswd NXDOMAIN.
        let (ns, count) = dns_peer(|name| match name {
            "_kerberos._tcp.SAMR.TEST" => {
                Some((0x8180, vec![(10, 0, 8888, "kdc2.samr.test"), (0, 0, 88, "127.0.0.1")]))
            }
            _ => Some((0x8183, vec![])),
        })
        .await;
        let s = KdcSettings::discover_with_dns("SAMR.TEST", None, None, "h", t, &[ns]).await;
        assert_eq!(names(&s.kdcs), ["127.0.0.1:88", "kdc2.samr.test:8888"]);
        assert_eq!(names(&s.kpasswd), ["127.0.0.1:464", "kdc2.samr.test:464"]);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 2);

        // krb5.conf without a kdc line and dns_lookup_kdc unset (MIT default true): DNS asked;
        // its kpasswd_server wins over DNS for kpasswd, so _kpasswd is not asked.
        let conf =
            parse_krb5conf("[realms]\n SAMR.TEST = {\n  kpasswd_server = pw.samr.test\n }\n")
                .unwrap();
        let s = KdcSettings::discover_with_dns("SAMR.TEST", None, Some(&conf), "h", t, &[ns]).await;
        assert_eq!(names(&s.kdcs), ["127.0.0.1:88", "kdc2.samr.test:8888"]);
        assert_eq!(names(&s.kpasswd), ["pw.samr.test:464"]);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3);

        // An explicit KDC, a krb5.conf KDC, or dns_lookup_kdc = false: DNS is not asked.
        let s = KdcSettings::discover_with_dns("SAMR.TEST", Some("x"), None, "h", t, &[ns]).await;
        assert_eq!(names(&s.kdcs), ["x:88"]);
        let kdc_conf =
            parse_krb5conf("[realms]\n SAMR.TEST = {\n  kdc = k.samr.test\n }\n").unwrap();
        let s =
            KdcSettings::discover_with_dns("SAMR.TEST", None, Some(&kdc_conf), "h", t, &[ns]).await;
        assert_eq!(names(&s.kdcs), ["k.samr.test:88"]);
        let off = parse_krb5conf("[libdefaults]\n dns_lookup_kdc = false\n").unwrap();
        let s = KdcSettings::discover_with_dns("SAMR.TEST", None, Some(&off), "h", t, &[ns]).await;
        assert_eq!(names(&s.kdcs), ["h:88"]);
        assert_eq!(count.load(std::sync::atomic::Ordering::SeqCst), 3, "DNS asked anyway");
    }

    #[tokio::test]
    async fn dns_failures_fall_through_to_the_target_host() {
        let t = Duration::from_millis(300);
        // NXDOMAIN.
        let (nx, nx_count) = dns_peer(|_| Some((0x8183, vec![]))).await;
        let s = KdcSettings::discover_with_dns("R.TEST", None, None, "srv.r.test", t, &[nx]).await;
        assert_eq!(names(&s.kdcs), ["srv.r.test:88"]);
        assert_eq!(nx_count.load(std::sync::atomic::Ordering::SeqCst), 1, "NXDOMAIN is final");
        // SERVFAIL from the first nameserver: the second is asked and answers.
        let (fail, _) = dns_peer(|_| Some((0x8182, vec![]))).await;
        let (good, _) = dns_peer(|_| Some((0x8180, vec![(0, 0, 88, "k.r.test")]))).await;
        let s = KdcSettings::discover_with_dns("R.TEST", None, None, "h", t, &[fail, good]).await;
        assert_eq!(names(&s.kdcs), ["k.r.test:88"]);
        // Truncated (TC) and silence: the lone nameserver retried once, then the target host.
        let (tc, tc_count) = dns_peer(|_| Some((0x8380, vec![]))).await;
        let e = lookup_srv("_kerberos._tcp.R.TEST", &[tc], t).await.unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        assert_eq!(tc_count.load(std::sync::atomic::Ordering::SeqCst), 2);
        let (mute, mute_count) = dns_peer(|_| None).await;
        let started = std::time::Instant::now();
        let s = KdcSettings::discover_with_dns("R.TEST", None, None, "h", t, &[mute]).await;
        assert_eq!(names(&s.kdcs), ["h:88"]);
        assert_eq!(mute_count.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(started.elapsed() < Duration::from_secs(3), "timeouts not applied");
        // No nameserver at all.
        let s = KdcSettings::discover_with_dns("R.TEST", None, None, "h", t, &[]).await;
        assert_eq!(names(&s.kdcs), ["h:88"]);
    }

    /// A scripted KDC that answers each connection with `reply` (raw bytes, record mark
    /// included).
    async fn peer(reply: Vec<u8>) -> Endpoint {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                let mut mark = [0u8; 4];
                if s.read_exact(&mut mark).await.is_err() {
                    continue;
                }
                let mut req = vec![0u8; u32::from_be_bytes(mark) as usize];
                let _ = s.read_exact(&mut req).await;
                let _ = s.write_all(&reply).await;
            }
        });
        Endpoint { host: "127.0.0.1".into(), port }
    }

    #[tokio::test]
    async fn framing_caps_and_timeouts() {
        let t = Duration::from_millis(500);
        // A good answer.
        let ep = peer([&3u32.to_be_bytes()[..], b"abc"].concat()).await;
        assert_eq!(tcp_exchange(&ep, b"req", t).await.unwrap().0, b"abc");
        // Over the cap, the reserved high bit, zero: refused before reading or allocating.
        for n in [MAX_REPLY as u32 + 1, 0x8000_0010, 0, u32::MAX] {
            let ep = peer(n.to_be_bytes().to_vec()).await;
            let e = tcp_exchange(&ep, b"req", t).await.unwrap_err();
            assert!(e.contains("bad reply length"), "{n}: {e}");
        }
        // A short answer and then silence: times out.
        let ep = peer([&10u32.to_be_bytes()[..], b"abc"].concat()).await;
        let e = tcp_exchange(&ep, b"req", t).await.unwrap_err();
        assert!(e.contains("timed out") || e.contains("eof") || e.contains("early"), "{e}");
        // Nobody listening: every KDC tried, named in the error.
        let s = KdcSettings {
            realm: "R".into(),
            kdcs: vec![Endpoint { host: "127.0.0.1".into(), port: 1 }],
            kpasswd: vec![],
            timeout: t,
        };
        let e = kdc_round_trip(&s, &s.kdcs, b"x").await.unwrap_err();
        assert!(e.to_string().contains("127.0.0.1:1"), "{e}");
    }

    #[test]
    fn unreadable_cache_types_name_the_file_workaround() {
        let spn = PrincipalName::service("cifs", "h");
        for name in ["KCM:", "KEYRING:persistent:0", "MEMORY:x"] {
            let e = read_cache(Some(name), None, "R", &spn).unwrap_err().to_string();
            assert!(e.contains("FILE:"), "{name}: {e}");
        }
        let e = read_cache(Some("FILE:/nonexistent/samrpc-cc"), None, "R", &spn).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/samrpc-cc"), "{e}");
    }
}
