//! Walk the path to a password change one step at a time.

use super::{
    PasswordPolicy, close_domain, crypto_error, open_account_domain, query_domain, unicode,
    user_state,
};
use crate::auth::kerberos::messages::PrincipalName;
use crate::client::{RESOLVE_HINT, check_server_hint};
use crate::client::{SamrClient, client_credentials, kerberos_settings_dns, map_kerberos};
use crate::config::{AuthMethod, ClientConfig, Credentials, Transport};
use crate::crypto::encrypt_password_change_aes;
use crate::error::{Error, Operation};
use crate::rng::{OsRandom, SecureRandomExt};
use crate::samr::{Call, DomainInfo, SamrConnect5, SamrUnicodeChangePasswordUser4, access, consts};
use crate::secret::Password;
use crate::session::{RpcTransportKind, SessionSummary};
use crate::status::{NtStatus, RpcFault};
use crate::transport::kdc::{
    CachedTicket, KdcTrips, get_initial, get_service_ticket, probe_kdc, read_cache,
};

/// One step of [`doctor`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DoctorStep {
    /// What was checked ("TCP 445", "SMB dialect", …).
    pub name: String,
    /// Whether it passed.
    pub ok: bool,
    /// What was found.
    pub found: String,
    /// What to do when it failed.
    pub hint: Option<String>,
}

impl DoctorStep {
    /// A step named `name` that passed (`ok`) or not, with what was found and, for a failure,
    /// what to do.
    pub fn new(
        name: impl Into<String>,
        ok: bool,
        found: impl Into<String>,
        hint: Option<String>,
    ) -> Self {
        Self { name: name.into(), ok, found: found.into(), hint }
    }
}

fn step(name: &str, ok: bool, found: impl Into<String>, hint: Option<String>) -> DoctorStep {
    DoctorStep { name: name.to_owned(), ok, found: found.into(), hint }
}

fn failed_step(name: &str, e: &Error) -> DoctorStep {
    step(name, false, e.to_string(), e.hint().map(str::to_owned))
}

/// What [`doctor`] checks: the path to one server, as one account, optionally for one user.
///
/// Build it with [`DoctorRequest::new`] and the chainable `with_…` methods:
///
/// ```
/// use samrpc::api::DoctorRequest;
/// use samrpc::{Credentials, Password};
///
/// let req = DoctorRequest::new("dc1.example.com")
///     .with_credentials(Credentials::password("alice", None, Password::from("Pass-1!")))
///     .with_user("alice");
/// assert!(!req.credentials.is_anonymous());
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DoctorRequest {
    /// Server host name or address.
    pub host: String,
    /// Who to connect as (default: an anonymous session).
    pub credentials: Credentials,
    /// The account whose state to check as well (bare name).
    pub user: Option<String>,
    /// Connection settings and security policy.
    pub config: ClientConfig,
}

impl DoctorRequest {
    /// Diagnose the path to `host` over an anonymous session, no user, [`ClientConfig::default`].
    pub fn new(host: impl Into<String>) -> Self {
        Self {
            host: host.into(),
            credentials: Credentials::Anonymous,
            user: None,
            config: ClientConfig::default(),
        }
    }

    /// Connect as this account instead of anonymously.
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// Also check this account's state (bare name).
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// Connection settings and security policy (default [`ClientConfig::default`]).
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }
}

/// Whether an operation can work, as far as [`doctor`] could tell.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verdict {
    /// `Some(true)`: the path is open; `Some(false)`: it is closed; `None`: not checked (the
    /// session could not test it, e.g. a reset over an anonymous session).
    pub possible: Option<bool>,
    /// Why, in one sentence.
    pub reason: String,
}

impl Verdict {
    fn yes(reason: impl Into<String>) -> Self {
        Self { possible: Some(true), reason: reason.into() }
    }
    fn no(reason: impl Into<String>) -> Self {
        Self { possible: Some(false), reason: reason.into() }
    }
    fn unknown(reason: impl Into<String>) -> Self {
        Self { possible: None, reason: reason.into() }
    }
}

/// What [`doctor`] found: each step, and the verdicts for a password change and for a reset.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DoctorReport {
    /// The steps, in order; a failed step does not stop the independent ones.
    pub steps: Vec<DoctorStep>,
    /// Can a password change (`SamrUnicodeChangePasswordUser4`, needing no handle) work?
    pub passwd: Verdict,
    /// Can an administrator's reset (SamrConnect5, the domain, the user handles) work?
    pub reset: Verdict,
}

impl DoctorReport {
    /// Every step passed.
    pub fn all_ok(&self) -> bool {
        !self.steps.is_empty() && self.steps.iter().all(|s| s.ok)
    }
}

/// The opnum-73 probe: a random, non-existent account, so no password is at risk.
async fn probe_change(client: &mut SamrClient) -> Result<NtStatus, Error> {
    let probe_user = format!("samrpc-probe-{:016x}", OsRandom.u64_in(0, u64::MAX));
    let op = Operation::Call(SamrUnicodeChangePasswordUser4::NAME);
    let old = crate::secret::NtHash::new(OsRandom.array());
    let enc = encrypt_password_change_aes(
        &old,
        &Password::from("Probe-Only-1!"),
        crate::crypto::MIN_PBKDF2_ITERATIONS,
        &mut OsRandom,
    )
    .map_err(|e| crypto_error(op, e))?;
    client
        .call(&SamrUnicodeChangePasswordUser4 {
            server_name: None,
            user_name: unicode(op, &probe_user)?,
            encrypted_password: enc,
        })
        .await
        .map(|r| r.status)
}

/// The Kerberos steps of [`doctor`]: realm, KDC reached, AS exchange (or the ticket cache),
/// TGS for `SERVICE/HOST` (`cifs` over SMB, `host` over TCP). Returns whether all passed.
async fn kerberos_steps(
    host: &str,
    service: &str,
    creds: &Credentials,
    config: &ClientConfig,
    steps: &mut Vec<DoctorStep>,
) -> bool {
    let domain = match creds {
        Credentials::User { domain, .. } => domain.as_deref(),
        _ => None,
    };
    let (settings, conf) = match kerberos_settings_dns(host, domain, config).await {
        Ok(x) => x,
        Err(e) => {
            steps.push(failed_step("Kerberos realm", &e));
            return false;
        }
    };
    steps.push(step("Kerberos realm", true, settings.realm.clone(), None));
    match probe_kdc(&settings).await {
        Ok(ep) => steps.push(step("KDC reached", true, format!("{ep} (TCP)"), None)),
        Err(e) => {
            steps.push(failed_step("KDC reached", &map_kerberos(e, Operation::Kerberos)));
            return false;
        }
    }
    let spn = PrincipalName::service(service, host);
    let mut trips = KdcTrips::default();
    let tgt = match creds {
        Credentials::TicketCache => {
            match read_cache(config.ccache.as_deref(), conf.as_ref(), &settings.realm, &spn) {
                Ok(CachedTicket::Service(c)) => {
                    steps.push(step(
                        "ticket cache",
                        true,
                        format!("valid ticket for {}", c.sname),
                        None,
                    ));
                    steps.push(step(&format!("TGS for {spn}"), true, "cached", None));
                    return true;
                }
                Ok(CachedTicket::Tgt(t)) => {
                    steps.push(step(
                        "ticket cache",
                        true,
                        format!("valid TGT for {}@{}", t.cname, t.crealm),
                        None,
                    ));
                    t
                }
                Err(e) => {
                    steps.push(failed_step("ticket cache", &map_kerberos(e, Operation::Kerberos)));
                    return false;
                }
            }
        }
        Credentials::User { user, secret, .. } => {
            let c = match client_credentials(user, &settings.realm, secret) {
                Ok(c) => c,
                Err(e) => {
                    steps.push(failed_step("AS exchange", &e));
                    return false;
                }
            };
            match get_initial(&settings, c, None, &mut trips).await {
                Ok(t) => {
                    steps.push(step(
                        "AS exchange",
                        true,
                        format!("TGT for {}@{} ({})", t.cname, t.crealm, t.session_key.etype()),
                        None,
                    ));
                    t
                }
                Err(e) => {
                    steps.push(failed_step("AS exchange", &map_kerberos(e, Operation::Kerberos)));
                    return false;
                }
            }
        }
        _ => return false,
    };
    match get_service_ticket(&settings, &tgt, spn.clone(), &mut trips).await {
        Ok(c) => {
            steps.push(step(
                &format!("TGS for {spn}"),
                true,
                format!("service ticket ({})", c.session_key.etype()),
                None,
            ));
            true
        }
        Err(e) => {
            steps.push(failed_step(
                &format!("TGS for {spn}"),
                &map_kerberos(e, Operation::Kerberos),
            ));
            false
        }
    }
}

/// Walk the path to a password change one step at a time and report each: name resolution
/// (when it fails), TCP reachability, SMB dialect and signing, authentication, IPC$ and
/// `\PIPE\samr`, the SAMR bind, then two independent paths:
///
/// - the read path a reset needs: SamrConnect5, the domain lookup, the password policy and the
///   named user's state;
/// - the change path `passwd` needs: `SamrUnicodeChangePasswordUser4`, which needs no handle,
///   probed harmlessly with a random account that does not exist (STATUS_WRONG_PASSWORD means
///   implemented and allowed; the RPC fault `nca_s_op_rng_error` means not implemented).
///
/// The change path is probed even when the read path fails: on a member server,
/// RestrictRemoteSAM refuses SamrConnect5 to non-administrators while a change still works.
/// Both run over the session of `req.credentials` (anonymous by default). The report gives a
/// [`Verdict`] for `passwd` and one for `reset`.
///
/// Changes nothing on the server (the opnum-73 probe names an account that does not exist),
/// so dropping the future (cancelling it) at any point is harmless.
pub async fn doctor(req: DoctorRequest) -> DoctorReport {
    let DoctorRequest { host, credentials, user, config } = req;
    let (host, user) = (host.as_str(), user.as_deref());
    let mut steps = Vec::new();
    let port = config.port;
    let anonymous = credentials.is_anonymous();
    let unreachable = |steps: Vec<DoctorStep>, why: &str| DoctorReport {
        steps,
        passwd: Verdict::no(format!("the server cannot be reached: {why}")),
        reset: Verdict::no(format!("the server cannot be reached: {why}")),
    };

    // 0. Name resolution (a step of its own only when it fails), of the address dialled.
    let dial = config.address.as_deref().unwrap_or(host);
    let target = host_port(dial, port);
    let resolved = tokio::time::timeout(config.connect_timeout, tokio::net::lookup_host(&target))
        .await
        .map(|r| r.map(|mut addrs| addrs.next()));
    let resolve_failure = match resolved {
        Ok(Ok(Some(_))) => None,
        Ok(Ok(None)) => Some(format!("{host} resolved to no address")),
        Ok(Err(e)) => Some(format!("cannot resolve {host}: {e}")),
        Err(_) => Some(format!("resolving {host} took longer than {:?}", config.connect_timeout)),
    };
    if let Some(found) = resolve_failure {
        steps.push(step("name resolution", false, found.clone(), Some(RESOLVE_HINT.to_owned())));
        return unreachable(steps, &found);
    }

    // 1. TCP reachability: the SMB port, or the endpoint mapper's over TCP. Under auto, an
    // unreachable SMB port moves the checks to TCP (as the client itself would).
    let mut over_tcp = config.transport == Transport::Tcp;
    if !over_tcp {
        match probe(dial, port, config.connect_timeout).await {
            Ok(target) => steps.push(step(
                &format!("TCP {port}"),
                true,
                format!("{target} accepts connections"),
                None,
            )),
            Err(found) if config.transport == Transport::Auto => {
                steps.push(step(
                    &format!("TCP {port}"),
                    true,
                    format!("{found}; auto: trying SAMR over TCP (ncacn_ip_tcp)"),
                    None,
                ));
                over_tcp = true;
            }
            Err(found) => {
                steps.push(step(
                    &format!("TCP {port}"),
                    false,
                    found.clone(),
                    Some(check_server_hint(port)),
                ));
                return unreachable(steps, &found);
            }
        }
    }
    if over_tcp {
        let epm = config.epm_port;
        match probe(dial, epm, config.connect_timeout).await {
            Ok(target) => steps.push(step(
                &format!("TCP {epm}"),
                true,
                format!("{target} accepts connections (endpoint mapper)"),
                None,
            )),
            Err(found) => {
                steps.push(step(
                    &format!("TCP {epm}"),
                    false,
                    found.clone(),
                    Some(crate::client::TCP_HINT.to_owned()),
                ));
                return unreachable(steps, &found);
            }
        }
    }

    // Kerberos: realm, KDC, AS (or the ticket cache), TGS for cifs/HOST (host/HOST over TCP).
    let kerberos = config.auth == AuthMethod::Kerberos && !credentials.is_anonymous();
    let service = if over_tcp { "host" } else { "cifs" };
    if kerberos && !kerberos_steps(host, service, &credentials, &config, &mut steps).await {
        let why = steps.last().map_or_else(String::new, |s| s.found.clone());
        return DoctorReport {
            steps,
            passwd: Verdict::no(format!("no Kerberos ticket for the server: {why}")),
            reset: Verdict::no(format!("no Kerberos ticket for the server: {why}")),
        };
    }

    // 2–6. SMB negotiate, authentication, IPC$, the pipe and the bind (one connect).
    let creds = credentials;
    let who = match &creds {
        Credentials::User { user, domain, .. } => match domain {
            Some(d) => format!("{d}\\{user}"),
            None => user.clone(),
        },
        Credentials::Anonymous => "anonymous".to_owned(),
        _ => "the ticket cache's principal".to_owned(),
    };
    let mut client = match SamrClient::connect(host, &creds, &config).await {
        Ok(c) => c,
        Err(e) => {
            let order: &[(Operation, &str)] = if over_tcp {
                &[(Operation::Connect, "endpoint mapper"), (Operation::Bind, "SAMR bind")]
            } else {
                &[
                    (Operation::Negotiate, "SMB negotiate"),
                    (Operation::SessionSetup, "authentication"),
                    (Operation::TreeConnect, "IPC$"),
                    (Operation::OpenPipe, "\\PIPE\\samr"),
                    (Operation::Bind, "SAMR bind"),
                ]
            };
            let failed = order.iter().position(|(op, _)| *op == e.operation()).unwrap_or(0);
            for (_, name) in &order[..failed] {
                steps.push(step(name, true, "ok", None));
            }
            steps.push(failed_step(order[failed].1, &e));
            let why = format!("{} failed: {}", order[failed].1, e.message());
            let passwd = if anonymous {
                Verdict::unknown(format!(
                    "not over an anonymous session ({why}); a change authenticated as the user \
                     may still work"
                ))
            } else {
                Verdict::no(why.clone())
            };
            let reset = if anonymous { needs_credentials() } else { Verdict::no(why) };
            return DoctorReport { steps, passwd, reset };
        }
    };
    let s = client.session().clone();
    let over_tcp = s.transport == RpcTransportKind::Tcp;
    if over_tcp {
        steps.push(step("endpoint mapper", true, "SAMR registered on ncacn_ip_tcp", None));
        let protection = match (s.signing, s.encryption, s.auth == "kerberos") {
            (_, true, false) => "RPC packet privacy (NTLM, signed and sealed)",
            (true, false, false) => "RPC packet integrity (NTLM, signed)",
            (_, true, true) => {
                "RPC packet privacy (Kerberos, AES-sealed; the server proved it holds the host \
                 key)"
            }
            (true, false, true) => {
                "RPC packet integrity (Kerberos, AES-signed; the server proved it holds the host \
                 key)"
            }
            _ => "no RPC-level protection",
        };
        steps.push(step(
            "authentication",
            true,
            format!("{} as {who}; {protection}", s.kind.name()),
            None,
        ));
        steps.push(step("SAMR bind", true, "SAMR v1.0 over NDR20 accepted", None));
    } else {
        smb_steps(&mut steps, &s, &who);
        if kerberos {
            steps.push(step(
                "AP-REP verified",
                s.auth == "kerberos",
                "the server proved it holds the cifs key (mutual authentication)",
                None,
            ));
        }
    }

    // 7–10. The read path: SamrConnect5, the domain, the policy and the user.
    let read_failure: Option<String> = async {
        let h = match open_account_domain(
            &mut client,
            access::DOMAIN_LOOKUP | access::DOMAIN_READ_PASSWORD_PARAMETERS,
        )
        .await
        {
            Ok(h) => h,
            Err(e) => {
                let name = if e.operation() == Operation::Call(SamrConnect5::NAME) {
                    "SamrConnect5"
                } else {
                    "domain lookup"
                };
                if name == "domain lookup" {
                    steps.push(step("SamrConnect5", true, "connected to the SAM server", None));
                }
                steps.push(failed_step(name, &e));
                return Some(format!("{name} failed: {}", e.message()));
            }
        };
        steps.push(step("SamrConnect5", true, "connected to the SAM server", None));
        steps.push(step("domain lookup", true, format!("account domain {}", h.name), None));
        let mut failure = None;
        match query_domain(&mut client, &h, consts::DOMAIN_PASSWORD_INFORMATION).await {
            Ok(DomainInfo::Password(p)) => {
                let policy = PasswordPolicy::from_domain(&p, None);
                steps.push(step("password policy", true, policy.describe(), None));
            }
            Ok(_) => {}
            Err(e) => {
                steps.push(failed_step("password policy", &e));
                failure = Some(format!("reading the password policy failed: {}", e.message()));
            }
        }
        if let (None, Some(u)) = (&failure, user) {
            match user_state(&mut client, &h, u).await {
                Ok(st) => {
                    let mut found = format!(
                        "{} (RID {}), account control 0x{:08x}",
                        st.name, st.rid, st.account_control
                    );
                    if st.account_control & 0x1 != 0 {
                        found.push_str(", disabled");
                    }
                    if st.password_last_set == 0 {
                        found.push_str(", must change password at next logon");
                    }
                    if st.bad_password_count > 0 {
                        found.push_str(&format!(
                            ", {} bad password attempts",
                            st.bad_password_count
                        ));
                    }
                    steps.push(step("user", true, found, None));
                }
                Err(e) => {
                    steps.push(failed_step("user", &e));
                    failure = Some(format!("looking up the user failed: {}", e.message()));
                }
            }
        }
        close_domain(&mut client, h).await;
        failure
    }
    .await;

    // 11. The change path, independent of the read path: a fresh connection after a read
    // failure (a fault may leave the association unusable), else the same one.
    if read_failure.is_some() {
        client.close().await;
        client = match SamrClient::connect(host, &creds, &config).await {
            Ok(c) => c,
            Err(e) => {
                steps.push(failed_step(PROBE, &e));
                let passwd =
                    Verdict::no(format!("reconnecting for the probe failed: {}", e.message()));
                let reset = reset_verdict(anonymous, read_failure.as_deref());
                return DoctorReport { steps, passwd, reset };
            }
        };
    }
    let probe = probe_change(&mut client).await;
    client.close().await;
    let kind = s.kind.name();
    let (probe_step, passwd) = match probe {
        Ok(st) if st == NtStatus::STATUS_WRONG_PASSWORD => (
            step(PROBE, true, "implemented (STATUS_WRONG_PASSWORD for a non-existent probe account)", None),
            Verdict::yes(format!(
                "SamrUnicodeChangePasswordUser4 is implemented and answers over an {kind} session"
            )),
        ),
        Ok(st) if st == NtStatus::STATUS_ACCESS_DENIED => (
            step(PROBE, false, "refused with STATUS_ACCESS_DENIED", NtStatus::STATUS_ACCESS_DENIED.hint().map(str::to_owned)),
            Verdict::no(format!("the server refuses SamrUnicodeChangePasswordUser4 over an {kind} session (STATUS_ACCESS_DENIED)")),
        ),
        Ok(st) => (
            step(PROBE, true, format!("implemented (answered {})", st.symbol()), None),
            Verdict::yes(format!("SamrUnicodeChangePasswordUser4 is implemented (it answered {})", st.symbol())),
        ),
        Err(e) if e.rpc_fault() == Some(RpcFault::NCA_S_OP_RNG_ERROR) => (
            step(
                PROBE,
                false,
                "not implemented (nca_s_op_rng_error)",
                Some("The server predates the July 2021 updates: only the legacy RC4 method can change passwords there, if the caller allows it; update the server.".to_owned()),
            ),
            Verdict::no("the server lacks SamrUnicodeChangePasswordUser4; only the legacy RC4 method, if allowed, can change passwords"),
        ),
        Err(e) => {
            let v = Verdict::no(format!("the change call failed: {}", e.message()));
            (failed_step(PROBE, &e), v)
        }
    };
    steps.push(probe_step);
    let reset = if over_tcp {
        // Resets are refused over TCP before anything is sent (the server has no session key
        // there); the SMB path was not checked.
        Verdict::no("password resets need SMB (ncacn_np), and these checks ran over TCP")
    } else {
        reset_verdict(anonymous, read_failure.as_deref())
    };
    DoctorReport { steps, passwd, reset }
}

/// Steps 2–6 over SMB, from the connected session.
fn smb_steps(steps: &mut Vec<DoctorStep>, s: &SessionSummary, who: &str) {
    steps.push(step(
        "SMB dialect",
        true,
        format!(
            "SMB {}; signing {}; encryption {}",
            s.dialect.map_or("none", crate::session::Dialect::name),
            if s.signing { "on" } else { "off" },
            if s.encryption { "on" } else { "off" }
        ),
        None,
    ));
    steps.push(step("authentication", true, format!("{} session as {who}", s.kind.name()), None));
    steps.push(step("IPC$", true, "connected", None));
    steps.push(step("\\PIPE\\samr", true, "opened", None));
    steps.push(step("SAMR bind", true, "SAMR v1.0 over NDR20 accepted", None));
}

/// `host:port` for `lookup_host` / `connect`, with a bare IPv6 literal bracketed.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether `host:port` accepts a TCP connection: `Ok(target)` or `Err(what was found)`.
async fn probe(host: &str, port: u16, limit: std::time::Duration) -> Result<String, String> {
    let target = host_port(host, port);
    match tokio::time::timeout(limit, tokio::net::TcpStream::connect(&target)).await {
        Ok(Ok(_)) => Ok(target),
        Ok(Err(e)) => Err(format!("cannot connect to {target}: {e}")),
        Err(_) => Err(format!("no answer from {target} within {limit:?}")),
    }
}

const PROBE: &str = "AES password change (opnum 73)";

fn needs_credentials() -> Verdict {
    Verdict::unknown(
        "a reset needs a session authenticated as an account with the reset-password right \
         (an administrator)",
    )
}

fn reset_verdict(anonymous: bool, read_failure: Option<&str>) -> Verdict {
    match (anonymous, read_failure) {
        (true, _) => needs_credentials(),
        (false, Some(why)) => Verdict::no(format!("a reset needs the SAM handles, and {why}")),
        (false, None) => Verdict::yes(
            "the SAM server and the account domain are open to this account; whether it may \
             reset a given user's password is that user's reset-password right",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reset_verdict_follows_the_session_and_the_read_path() {
        assert_eq!(reset_verdict(true, None).possible, None);
        assert_eq!(reset_verdict(true, Some("SamrConnect5 failed: x")).possible, None);
        let v = reset_verdict(false, Some("SamrConnect5 failed: RPC fault access_denied"));
        assert_eq!(v.possible, Some(false));
        assert!(v.reason.contains("SamrConnect5"), "{v:?}");
        assert_eq!(reset_verdict(false, None).possible, Some(true));
    }
}
