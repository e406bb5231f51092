//! What a connected session is: shared by the transports, the client and the high-level jobs.

/// How the session was authenticated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionKind {
    /// As a named account.
    Authenticated,
    /// A null session.
    Anonymous,
}

impl SessionKind {
    /// `authenticated` or `anonymous`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Authenticated => "authenticated",
            Self::Anonymous => "anonymous",
        }
    }
}

/// The RPC protocol sequence a session runs over.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RpcTransportKind {
    /// `ncacn_np`: a named pipe in an SMB2/3 session.
    #[default]
    NamedPipe,
    /// `ncacn_ip_tcp`: DCE/RPC directly over TCP.
    Tcp,
}

impl RpcTransportKind {
    /// The protocol sequence name: `ncacn_np` or `ncacn_ip_tcp`.
    pub fn name(self) -> &'static str {
        match self {
            Self::NamedPipe => "ncacn_np",
            Self::Tcp => "ncacn_ip_tcp",
        }
    }
}

/// An SMB2/3 dialect a session negotiated ([MS-SMB2] 2.2.3). Ordered from oldest to newest;
/// `Display` gives the usual name (`3.1.1`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dialect {
    /// SMB 2.0.2 (0x0202).
    Smb202,
    /// SMB 2.1 (0x0210).
    Smb210,
    /// SMB 3.0 (0x0300).
    Smb300,
    /// SMB 3.0.2 (0x0302).
    Smb302,
    /// SMB 3.1.1 (0x0311).
    Smb311,
}

impl Dialect {
    /// Every dialect, oldest first.
    pub const ALL: [Self; 5] =
        [Self::Smb202, Self::Smb210, Self::Smb300, Self::Smb302, Self::Smb311];

    /// The dialect with the wire revision `code` (`0x0311` → [`Dialect::Smb311`]); `None` for
    /// a value that is no SMB2/3 dialect.
    pub fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            0x0202 => Self::Smb202,
            0x0210 => Self::Smb210,
            0x0300 => Self::Smb300,
            0x0302 => Self::Smb302,
            0x0311 => Self::Smb311,
            _ => return None,
        })
    }

    /// The wire revision (`0x0311` for 3.1.1).
    pub fn code(self) -> u16 {
        match self {
            Self::Smb202 => 0x0202,
            Self::Smb210 => 0x0210,
            Self::Smb300 => 0x0300,
            Self::Smb302 => 0x0302,
            Self::Smb311 => 0x0311,
        }
    }

    /// The usual name: `2.0.2`, `2.1`, `3.0`, `3.0.2` or `3.1.1`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Smb202 => "2.0.2",
            Self::Smb210 => "2.1",
            Self::Smb300 => "3.0",
            Self::Smb302 => "3.0.2",
            Self::Smb311 => "3.1.1",
        }
    }

    /// Whether this is an SMB 3.x dialect (AES-CMAC/GMAC signing, encryption available).
    pub fn is_smb3(self) -> bool {
        self >= Self::Smb300
    }
}

impl core::fmt::Display for Dialect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the session negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// Authenticated or anonymous.
    pub kind: SessionKind,
    /// The SMB dialect (e.g. [`Dialect::Smb311`], shown as `3.1.1`); `None` for a session
    /// that does not run over SMB.
    pub dialect: Option<Dialect>,
    /// Whether messages were signed (over TCP: RPC integrity or privacy).
    pub signing: bool,
    /// Whether messages were encrypted (over TCP: RPC privacy).
    pub encryption: bool,
    /// The authentication mechanism: `ntlm`, `kerberos` or `anonymous`.
    pub auth: &'static str,
    /// The protocol sequence (default `ncacn_np`).
    pub transport: RpcTransportKind,
}

impl SessionSummary {
    /// A summary of a session of `kind` over `dialect`, with the given protection.
    pub fn new(
        kind: SessionKind,
        dialect: impl Into<Option<Dialect>>,
        signing: bool,
        encryption: bool,
    ) -> Self {
        Self {
            kind,
            dialect: dialect.into(),
            signing,
            encryption,
            transport: RpcTransportKind::NamedPipe,
            auth: if kind == SessionKind::Anonymous { "anonymous" } else { "ntlm" },
        }
    }

    /// The same summary with the authentication mechanism set (`ntlm`, `kerberos`,
    /// `anonymous`).
    pub fn with_auth(mut self, auth: &'static str) -> Self {
        self.auth = auth;
        self
    }

    /// The same summary for another protocol sequence.
    pub fn with_transport(mut self, transport: RpcTransportKind) -> Self {
        self.transport = transport;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_round_trip_their_codes_and_print_their_names() {
        for (code, name) in [
            (0x0202, "2.0.2"),
            (0x0210, "2.1"),
            (0x0300, "3.0"),
            (0x0302, "3.0.2"),
            (0x0311, "3.1.1"),
        ] {
            let d = Dialect::from_code(code).unwrap();
            assert_eq!((d.code(), d.to_string()), (code, name.to_owned()));
            assert_eq!(d.is_smb3(), code >= 0x0300);
        }
        assert_eq!(Dialect::from_code(0x02FF), None);
        assert!(Dialect::Smb210 < Dialect::Smb311);
    }
}
