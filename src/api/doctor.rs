//! Walk the path to a password change one step at a time.

use super::{
    PasswordPolicy, close_domain, crypto_error, open_account_domain, query_domain, unicode,
    user_state,
};
use crate::auth::kerberos::messages::PrincipalName;
use crate::client::{SamrClient, client_credentials, kerberos_settings, map_kerberos};
use crate::config::{AuthMethod, ClientConfig, Credentials};
use crate::crypto::encrypt_password_change_aes;
use crate::error::{Error, Operation};
use crate::rng::{OsRandom, SecureRandomExt};
use crate::samr::{Call, DomainInfo, SamrConnect5, SamrUnicodeChangePasswordUser4, access, consts};
use crate::secret::Password;
use crate::status::NtStatus;
use crate::transport::kdc::{
    CachedTicket, KdcTrips, get_initial, get_service_ticket, probe_kdc, read_cache,
};

/// One step of [`doctor`].
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// The Kerberos steps of [`doctor`]: realm, KDC reached, AS exchange (or the ticket cache),
/// TGS for `cifs/HOST`. Returns whether all passed.
async fn kerberos_steps(
    host: &str,
    creds: &Credentials,
    config: &ClientConfig,
    steps: &mut Vec<DoctorStep>,
) -> bool {
    let domain = match creds {
        Credentials::User { domain, .. } => domain.as_deref(),
        _ => None,
    };
    let (settings, conf) = match kerberos_settings(host, domain, config) {
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
    let spn = PrincipalName::service("cifs", host);
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

/// Walk the path to a password change one step at a time and report each: TCP reachability,
/// SMB dialect and signing, authentication, IPC$ and `\PIPE\samr`, the SAMR bind,
/// SamrConnect5, the domain lookup, the password policy, the named user's state, and whether
/// the server implements `SamrUnicodeChangePasswordUser4` (probed harmlessly with a random
/// account that does not exist: STATUS_WRONG_PASSWORD means implemented, the RPC fault
/// `nca_s_op_rng_error` means not). Stops at the first failing step.
pub async fn doctor(req: DoctorRequest) -> Vec<DoctorStep> {
    let DoctorRequest { host, credentials, user, config } = req;
    let (host, user) = (host.as_str(), user.as_deref());
    let mut steps = Vec::new();
    let port = config.port;

    // 1. TCP reachability (of the address dialled, when it differs from the name).
    let dial = config.address.as_deref().unwrap_or(host);
    let target = format!(
        "{}:{port}",
        if dial.contains(':') && !dial.starts_with('[') {
            format!("[{dial}]")
        } else {
            dial.to_owned()
        }
    );
    match tokio::time::timeout(config.connect_timeout, tokio::net::TcpStream::connect(&target))
        .await
    {
        Ok(Ok(_)) => steps.push(step(
            &format!("TCP {port}"),
            true,
            format!("{target} accepts connections"),
            None,
        )),
        Ok(Err(e)) => {
            steps.push(step(
                &format!("TCP {port}"),
                false,
                format!("cannot connect to {target}: {e}"),
                Some(CONNECT_CHECKLIST.to_owned()),
            ));
            return steps;
        }
        Err(_) => {
            steps.push(step(
                &format!("TCP {port}"),
                false,
                format!("no answer from {target} within {:?}", config.connect_timeout),
                Some(CONNECT_CHECKLIST.to_owned()),
            ));
            return steps;
        }
    }

    // Kerberos: realm, KDC, AS (or the ticket cache), TGS for cifs/HOST.
    let kerberos = config.auth == AuthMethod::Kerberos && !credentials.is_anonymous();
    if kerberos && !kerberos_steps(host, &credentials, &config, &mut steps).await {
        return steps;
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
            let order = [
                (Operation::Negotiate, "SMB negotiate"),
                (Operation::SessionSetup, "authentication"),
                (Operation::TreeConnect, "IPC$"),
                (Operation::OpenPipe, "\\PIPE\\samr"),
                (Operation::Bind, "SAMR bind"),
            ];
            let failed = order.iter().position(|(op, _)| *op == e.operation()).unwrap_or(0);
            for (_, name) in &order[..failed] {
                steps.push(step(name, true, "ok", None));
            }
            steps.push(failed_step(order[failed].1, &e));
            return steps;
        }
    };
    let s = client.session().clone();
    steps.push(step(
        "SMB dialect",
        true,
        format!(
            "SMB {}; signing {}; encryption {}",
            s.dialect,
            if s.signing { "on" } else { "off" },
            if s.encryption { "on" } else { "off" }
        ),
        None,
    ));
    steps.push(step("authentication", true, format!("{} session as {who}", s.kind.name()), None));
    if kerberos {
        steps.push(step(
            "AP-REP verified",
            s.auth == "kerberos",
            "the server proved it holds the cifs key (mutual authentication)",
            None,
        ));
    }
    steps.push(step("IPC$", true, "connected", None));
    steps.push(step("\\PIPE\\samr", true, "opened", None));
    steps.push(step("SAMR bind", true, "SAMR v1.0 over NDR20 accepted", None));

    // 7–10. SamrConnect5, the domain, the policy and the user.
    let rest = async {
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
                return false;
            }
        };
        steps.push(step("SamrConnect5", true, "connected to the SAM server", None));
        steps.push(step("domain lookup", true, format!("account domain {}", h.name), None));
        let mut ok = true;
        match query_domain(&mut client, &h, consts::DOMAIN_PASSWORD_INFORMATION).await {
            Ok(DomainInfo::Password(p)) => {
                let policy = PasswordPolicy::from_domain(&p, None);
                steps.push(step("password policy", true, policy.describe(), None));
            }
            Ok(_) => {}
            Err(e) => {
                steps.push(failed_step("password policy", &e));
                ok = false;
            }
        }
        if let (true, Some(u)) = (ok, user) {
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
                    ok = false;
                }
            }
        }
        close_domain(&mut client, h).await;
        ok
    }
    .await;
    if !rest {
        client.close().await;
        return steps;
    }

    // 11. Is opnum 73 implemented? A random, non-existent account: no password is at risk.
    let probe_user = format!("samrpc-probe-{:016x}", OsRandom.u64_in(0, u64::MAX));
    let probe = async {
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
    .await;
    let name = "AES password change (opnum 73)";
    steps.push(match probe {
        Ok(s) if s == NtStatus::STATUS_WRONG_PASSWORD => step(name, true, "implemented (STATUS_WRONG_PASSWORD for a non-existent probe account)", None),
        Ok(s) if s == NtStatus::STATUS_ACCESS_DENIED => step(
            name,
            false,
            "refused with STATUS_ACCESS_DENIED",
            NtStatus::STATUS_ACCESS_DENIED.hint().map(str::to_owned),
        ),
        Ok(s) => step(name, true, format!("implemented (answered {})", s.symbol()), None),
        Err(e) if e.rpc_fault() == Some(crate::status::RpcFault::NCA_S_OP_RNG_ERROR) => step(
            name,
            false,
            "not implemented (nca_s_op_rng_error)",
            Some("The server predates the July 2021 updates: only the legacy RC4 method (--allow-rc4) can change passwords there; update the server.".to_owned()),
        ),
        Err(e) => failed_step(name, &e),
    });
    client.close().await;
    steps
}

const CONNECT_CHECKLIST: &str = "Check that the host is up and reachable, that TCP 445 is open in its firewall \
     (Windows: \"File and Printer Sharing (SMB-In)\"), that the Server (LanmanServer) service runs, \
     and that you used the right port.";
