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

/// What the session negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// Authenticated or anonymous.
    pub kind: SessionKind,
    /// The SMB dialect, e.g. `3.1.1`.
    pub dialect: String,
    /// Whether messages were signed.
    pub signing: bool,
    /// Whether messages were encrypted.
    pub encryption: bool,
    /// The authentication mechanism: `ntlm`, `kerberos` or `anonymous`.
    pub auth: &'static str,
}

impl SessionSummary {
    /// A summary of a session of `kind` over `dialect`, with the given protection.
    pub fn new(
        kind: SessionKind,
        dialect: impl Into<String>,
        signing: bool,
        encryption: bool,
    ) -> Self {
        let auth = if kind == SessionKind::Anonymous { "anonymous" } else { "ntlm" };
        Self { kind, dialect: dialect.into(), signing, encryption, auth }
    }

    /// The same summary with the authentication mechanism set (`ntlm`, `kerberos`,
    /// `anonymous`).
    pub fn with_auth(mut self, auth: &'static str) -> Self {
        self.auth = auth;
        self
    }
}
