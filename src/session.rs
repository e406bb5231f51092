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

/// What the session negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// Authenticated or anonymous.
    pub kind: SessionKind,
    /// The SMB dialect, e.g. `3.1.1` (empty over TCP).
    pub dialect: String,
    /// Whether messages were signed (over TCP: RPC integrity or privacy).
    pub signing: bool,
    /// Whether messages were encrypted (over TCP: RPC privacy).
    pub encryption: bool,
    /// The protocol sequence (default `ncacn_np`).
    pub transport: RpcTransportKind,
}

impl SessionSummary {
    /// A summary of a session of `kind` over `dialect`, with the given protection.
    pub fn new(
        kind: SessionKind,
        dialect: impl Into<String>,
        signing: bool,
        encryption: bool,
    ) -> Self {
        Self {
            kind,
            dialect: dialect.into(),
            signing,
            encryption,
            transport: RpcTransportKind::NamedPipe,
        }
    }

    /// The same summary for another protocol sequence.
    pub fn with_transport(mut self, transport: RpcTransportKind) -> Self {
        self.transport = transport;
        self
    }
}
