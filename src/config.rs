//! Where to connect, as whom, and under which security policy.

use crate::secret::{NtHash, Password};
use crate::session::Dialect;
use core::fmt;
use std::time::Duration;

/// The secret that proves an identity: a password, its NT hash, or (Kerberos only) an AES
/// long-term key.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Secret {
    /// The password itself.
    Password(Password),
    /// The NT hash (MD4 of the UTF-16LE password). Under Kerberos it is the RC4-HMAC key
    /// (etype 23 only): handing it over is the explicit choice of RC4.
    NtHash(NtHash),
    /// A Kerberos AES key (16 bytes: aes128-cts-hmac-sha1-96, 32 bytes: aes256). Kerberos
    /// only; a password change with it goes through kpasswd.
    AesKey(crate::secret::SecretBytes),
}

impl From<Password> for Secret {
    fn from(p: Password) -> Self {
        Self::Password(p)
    }
}

impl From<NtHash> for Secret {
    fn from(h: NtHash) -> Self {
        Self::NtHash(h)
    }
}

/// Who to authenticate as.
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// A named account.
    User {
        /// The account name (no `DOMAIN\` prefix).
        user: String,
        /// The NetBIOS domain (or the computer name for a local account). `None` uses the
        /// domain the server announces in its NTLM CHALLENGE: NTLMv2 mixes the domain into the
        /// proof, so guessing it wrong fails with STATUS_LOGON_FAILURE even with the right
        /// password. An explicit domain always wins.
        domain: Option<String>,
        /// The password or NT hash.
        secret: Secret,
    },
    /// An anonymous (null) session: no identity, no signing. Enough for the handle-less
    /// password change calls on servers that allow it (expired passwords).
    Anonymous,
    /// Kerberos with the tickets already in the default credential cache (`KRB5CCNAME`, else
    /// krb5.conf `default_ccache_name`, else `FILE:/tmp/krb5cc_<uid>`): no password needed.
    TicketCache,
}

impl Credentials {
    /// A named account with a password.
    pub fn password(user: impl Into<String>, domain: Option<String>, password: Password) -> Self {
        Self::User { user: user.into(), domain, secret: Secret::Password(password) }
    }

    /// A named account with a password or NT hash (anything that converts into a [`Secret`]).
    pub fn user(
        user: impl Into<String>,
        domain: Option<String>,
        secret: impl Into<Secret>,
    ) -> Self {
        Self::User { user: user.into(), domain, secret: secret.into() }
    }

    /// Parse `DOMAIN\NAME`, `NAME@DOMAIN` or `NAME` into (name, domain).
    pub fn split_account(s: &str) -> (String, Option<String>) {
        if let Some((d, n)) = s.split_once('\\') {
            (n.to_owned(), Some(d.to_owned()).filter(|d| !d.is_empty()))
        } else if let Some((n, d)) = s.rsplit_once('@') {
            (n.to_owned(), Some(d.to_owned()).filter(|d| !d.is_empty()))
        } else {
            (s.to_owned(), None)
        }
    }

    /// Whether these are anonymous credentials.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, Self::Anonymous)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User { user, domain, secret } => f
                .debug_struct("User")
                .field("user", user)
                .field("domain", domain)
                .field("secret", secret)
                .finish(),
            Self::Anonymous => f.write_str("Anonymous"),
            Self::TicketCache => f.write_str("TicketCache"),
        }
    }
}

/// How to reach SAMR on the server.
///
/// * [`Transport::Smb`] (the default): `ncacn_np`, the `\PIPE\samr` named pipe in an SMB2/3
///   session on TCP 445. Everything works: changes, resets (which need the SMB session key),
///   expired-password changes over an anonymous session.
/// * [`Transport::Tcp`]: `ncacn_ip_tcp`, the endpoint mapper on TCP 135 and then the dynamic
///   RPC port it names, with NTLM authentication and packet privacy (or integrity) at the RPC
///   level. For networks where 445 is closed but 135 and the dynamic ports are open, and for
///   computer accounts changing their own password. Resets are refused (the server has no
///   session key to decrypt them over TCP) and expired passwords cannot be changed.
/// * [`Transport::Auto`]: SMB, falling back to TCP only when the SMB port is unreachable
///   (refused or timed out at connect, never after a request was sent). A password change of
///   an account whose name ends in `$` (a computer account) tries TCP first.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// `ncacn_np` over SMB2/3 (TCP 445).
    #[default]
    Smb,
    /// `ncacn_ip_tcp` (TCP 135, then the port the endpoint mapper names).
    Tcp,
    /// SMB, then TCP when the SMB port is unreachable.
    Auto,
}

impl Transport {
    /// `smb`, `tcp` or `auto`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Smb => "smb",
            Self::Tcp => "tcp",
            Self::Auto => "auto",
        }
    }
}

/// The per-message protection of SAMR calls over TCP ([`Transport::Tcp`]); ignored over SMB,
/// where the SMB session signs (and, if required, encrypts).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RpcProtection {
    /// Packet privacy (auth level 6): every request and response is signed and sealed
    /// (NTLM: HMAC-MD5 signatures, RC4 encryption; Kerberos: AES-CTS with HMAC-SHA1-96,
    /// RFC 4121 wrap tokens). [MS-SAMR] 2.1 asks for it over TCP.
    #[default]
    Privacy,
    /// Packet integrity (auth level 5): signed, not encrypted; for servers that want it.
    Integrity,
}

/// Connection settings and security policy. The defaults are the secure ones.
///
/// Start from [`ClientConfig::default`] and change what you need with the chainable `with_…`
/// methods; the fields stay public for reading. New settings can be added without breaking
/// callers.
///
/// ```
/// use samrpc::ClientConfig;
/// use std::time::Duration;
///
/// let config = ClientConfig::default()
///     .with_port(1445)
///     .with_timeout(Duration::from_secs(5))
///     .with_require_encryption(true);
/// assert_eq!(config.port, 1445);
/// assert!(!config.allow_rc4);
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ClientConfig {
    /// TCP port of the SMB server (445).
    pub port: u16,
    /// Time allowed for the TCP connection.
    pub connect_timeout: Duration,
    /// Time allowed for each request/response exchange.
    pub request_timeout: Duration,
    /// Time allowed for one whole job (connecting and every call of a change, a reset, a
    /// policy read, a user list), on top of the per-step timeouts; it also bounds each part
    /// of the job: the connection setup (all its exchanges together) and each SAMR call (its
    /// request fragments and every READ and fragment of its answer). `None` (the default)
    /// bounds each part on its own, by twice `request_timeout`; see
    /// [`ClientConfig::effective_operation_timeout`]. When the time runs out after a
    /// password-changing request may have reached the server, the error is
    /// [`ErrorKind::OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown), which a
    /// `tokio::time::timeout` around the job cannot report (it just drops the job).
    pub operation_timeout: Option<Duration>,
    /// Require SMB signing on authenticated sessions (default `true`). Anonymous sessions
    /// cannot sign.
    pub require_signing: bool,
    /// Require SMB3 encryption even when the server does not ask for it (default `false`;
    /// it is always used when the server requires it).
    pub require_encryption: bool,
    /// Allow the legacy RC4 methods (SamrUnicodeChangePasswordUser2, SetInformationUser2
    /// levels 25/23) when the server lacks the AES ones (default `false`).
    pub allow_rc4: bool,
    /// How to authenticate: the SMB session, or over [`Transport::Tcp`] the RPC bind
    /// (default [`AuthMethod::Ntlm`]; `Negotiate` means NTLM over TCP).
    pub auth: AuthMethod,
    /// Connect to this address instead of the host name; the host name still names the
    /// server (Kerberos SPN `cifs/<host>` over SMB, `host/<host>` over TCP; tree path). Kerberos needs a name, the network may
    /// need an address.
    pub address: Option<String>,
    /// The Kerberos realm (default: from `user@REALM`, else krb5.conf `default_realm`, else
    /// the host's DNS suffix upper-cased).
    pub realm: Option<String>,
    /// The KDC as `HOST[:PORT]` (default: krb5.conf, else DNS SRV `_kerberos._tcp.REALM`, else
    /// the server itself on port 88).
    pub kdc: Option<String>,
    /// The credential cache for [`Credentials::TicketCache`], e.g. `FILE:/tmp/cc` or
    /// `DIR:/run/user/1000/krb5cc` (default: `KRB5CCNAME`, else krb5.conf
    /// `default_ccache_name`, else `FILE:/tmp/krb5cc_<uid>`).
    pub ccache: Option<String>,
    /// How to reach SAMR (default [`Transport::Smb`]).
    pub transport: Transport,
    /// TCP port of the endpoint mapper, for [`Transport::Tcp`] (default 135).
    pub epm_port: u16,
    /// Protection of SAMR calls over TCP (default [`RpcProtection::Privacy`]).
    pub rpc_protection: RpcProtection,
    /// The lowest SMB dialect accepted (default 2.1; 2.0.2 only on explicit request). Only
    /// dialects from this one up are offered, so a server (or a NEGOTIATE rewritten in
    /// flight) that picks a lower one is refused with a `Security` error. Raise it to
    /// [`Dialect::Smb300`] to rule out SMB 2.x, whose negotiation cannot be protected
    /// against a downgrade and which has no encryption (SECURITY.md, "Downgrades").
    pub min_dialect: Dialect,
}

/// How to authenticate the SMB session.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMethod {
    /// NTLMv2 in SPNEGO (the default).
    #[default]
    Ntlm,
    /// Kerberos, mutual authentication required: in SPNEGO over SMB, as the RPC bind's own
    /// security provider (DCE style, AES tokens) over TCP.
    Kerberos,
    /// NTLM first; when NTLM is refused with STATUS_ACCOUNT_RESTRICTION or
    /// STATUS_NTLM_BLOCKED (Protected Users, NTLM restrictions), retry with Kerberos.
    Negotiate,
}

impl AuthMethod {
    /// `ntlm`, `kerberos` or `negotiate`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ntlm => "ntlm",
            Self::Kerberos => "kerberos",
            Self::Negotiate => "negotiate",
        }
    }

    /// Parse `ntlm`, `kerberos` or `negotiate` (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "ntlm" => Some(Self::Ntlm),
            "kerberos" | "krb5" => Some(Self::Kerberos),
            "negotiate" => Some(Self::Negotiate),
            _ => None,
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            port: 445,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            operation_timeout: None,
            require_signing: true,
            require_encryption: false,
            allow_rc4: false,
            auth: AuthMethod::Ntlm,
            address: None,
            realm: None,
            kdc: None,
            ccache: None,
            transport: Transport::Smb,
            epm_port: 135,
            rpc_protection: RpcProtection::Privacy,
            min_dialect: Dialect::Smb210,
        }
    }
}

impl ClientConfig {
    /// Use `timeout` for both connecting and each request.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self.request_timeout = timeout;
        self
    }

    /// The SMB server's TCP port (default 445).
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Time allowed for the TCP connection (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for each request/response exchange (default 30 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Time allowed for one whole job, and for each of its parts (default: none for the job,
    /// twice the request timeout for each part); see [`ClientConfig::operation_timeout`].
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// The operation deadline in force: [`ClientConfig::operation_timeout`], else twice
    /// `request_timeout` (a call is one exchange, plus READs that each answer at once).
    pub fn effective_operation_timeout(&self) -> Duration {
        self.operation_timeout.unwrap_or_else(|| self.request_timeout.saturating_mul(2))
    }

    /// Require SMB signing on authenticated sessions (default `true`).
    pub fn with_require_signing(mut self, require: bool) -> Self {
        self.require_signing = require;
        self
    }

    /// Require SMB3 encryption even when the server does not ask for it (default `false`).
    pub fn with_require_encryption(mut self, require: bool) -> Self {
        self.require_encryption = require;
        self
    }

    /// Allow the legacy RC4 methods when the server lacks the AES ones (default `false`).
    pub fn with_allow_rc4(mut self, allow: bool) -> Self {
        self.allow_rc4 = allow;
        self
    }

    /// Set [`Self::auth`].
    pub fn with_auth(mut self, auth: AuthMethod) -> Self {
        self.auth = auth;
        self
    }

    /// Set [`Self::address`].
    pub fn with_address(mut self, address: Option<String>) -> Self {
        self.address = address;
        self
    }

    /// Set [`Self::realm`].
    pub fn with_realm(mut self, realm: Option<String>) -> Self {
        self.realm = realm;
        self
    }

    /// Set [`Self::kdc`].
    pub fn with_kdc(mut self, kdc: Option<String>) -> Self {
        self.kdc = kdc;
        self
    }

    /// Set [`Self::ccache`].
    pub fn with_ccache(mut self, ccache: Option<String>) -> Self {
        self.ccache = ccache;
        self
    }

    /// How to reach SAMR (default [`Transport::Smb`]).
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The endpoint mapper's TCP port (default 135).
    pub fn with_epm_port(mut self, port: u16) -> Self {
        self.epm_port = port;
        self
    }

    /// Protection of SAMR calls over TCP (default [`RpcProtection::Privacy`]).
    pub fn with_rpc_protection(mut self, protection: RpcProtection) -> Self {
        self.rpc_protection = protection;
        self
    }

    /// The lowest SMB dialect accepted (default 2.1); see [`Self::min_dialect`].
    pub fn with_min_dialect(mut self, dialect: Dialect) -> Self {
        self.min_dialect = dialect;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_forms() {
        assert_eq!(Credentials::split_account("SAMR\\bob"), ("bob".into(), Some("SAMR".into())));
        assert_eq!(
            Credentials::split_account("bob@SAMR.TEST"),
            ("bob".into(), Some("SAMR.TEST".into()))
        );
        assert_eq!(Credentials::split_account("bob"), ("bob".into(), None));
    }

    #[test]
    fn config_setters_change_only_their_field() {
        let d = ClientConfig::default();
        assert_eq!(
            (d.port, d.require_signing, d.require_encryption, d.allow_rc4),
            (445, true, false, false)
        );
        let t = Duration::from_secs(3);
        let c = ClientConfig::default()
            .with_port(1445)
            .with_connect_timeout(t)
            .with_request_timeout(2 * t)
            .with_require_signing(false)
            .with_require_encryption(true)
            .with_allow_rc4(true);
        assert_eq!(c.port, 1445);
        assert_eq!((c.connect_timeout, c.request_timeout), (t, 2 * t));
        assert_eq!((c.require_signing, c.require_encryption, c.allow_rc4), (false, true, true));
        let c = ClientConfig::default().with_timeout(t);
        assert_eq!((c.connect_timeout, c.request_timeout, c.port), (t, t, 445));
        assert_eq!(
            (d.transport, d.epm_port, d.rpc_protection),
            (Transport::Smb, 135, RpcProtection::Privacy)
        );
        let c = ClientConfig::default()
            .with_transport(Transport::Auto)
            .with_epm_port(1135)
            .with_rpc_protection(RpcProtection::Integrity);
        assert_eq!(
            (c.transport, c.epm_port, c.rpc_protection),
            (Transport::Auto, 1135, RpcProtection::Integrity)
        );
        assert_eq!(c.port, 445);
        assert_eq!(c.operation_timeout, None);
        assert_eq!(ClientConfig::default().with_operation_timeout(t).operation_timeout, Some(t));
        let c = ClientConfig::default().with_timeout(t);
        assert_eq!(c.effective_operation_timeout(), 2 * t, "derived from the request timeout");
        let c = c.with_operation_timeout(5 * t);
        assert_eq!((c.operation_timeout, c.effective_operation_timeout()), (Some(5 * t), 5 * t));
    }

    #[test]
    fn secrets_convert_and_user_credentials_build() {
        let c = Credentials::user("bob", Some("SAMR".into()), NtHash::new([7; 16]));
        match c {
            Credentials::User { user, domain, secret: Secret::NtHash(h) } => {
                assert_eq!((user.as_str(), domain.as_deref()), ("bob", Some("SAMR")));
                assert_eq!(h.expose(), &[7; 16]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(Secret::from(Password::from("x")), Secret::Password(_)));
    }

    #[test]
    fn debug_redacts_secret() {
        let c = Credentials::password("bob", None, Password::from("S3cret!"));
        let s = format!("{c:?}");
        assert!(!s.contains("S3cret"));
        assert!(s.contains("bob"));
    }
}
