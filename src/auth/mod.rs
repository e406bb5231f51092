//! Authentication: NTLMv2 ([MS-NLMP]) wrapped in SPNEGO ([RFC 4178], [MS-SPNG]) behind a step
//! interface, so another mechanism (Kerberos) can plug in later without touching SMB code.
//!
//! * [`SpnegoNtlm`] — the [`Authenticator`] the SMB2 SESSION_SETUP exchange drives (see its
//!   docs for the exact step contract and what to do with an empty final token).
//! * [`SpnegoKerberos`] — the Kerberos [`Authenticator`] (AP-REQ/AP-REP with mutual
//!   authentication required) for a service ticket; [`kerberos`] holds the messages,
//!   crypto and sans-IO KDC exchanges.
//! * [`ntlm`] — the three NTLM messages, NTLMv2 computation, and [`ntlm::NtlmSealer`]
//!   (sign/seal for DCE/RPC-level NTLM, auth type 10: use [`ntlm::NtlmClient`] directly).
//! * [`spnego`] — the DER codec for NegTokenInit / NegTokenInit2 / NegTokenResp.
//!
//! Everything here is pure: randomness and time are arguments. Plain decoders for fuzzing:
//! [`decode_challenge`], [`decode_authenticate`], [`decode_spnego`].

pub mod der;
pub mod kerberos;
pub mod ntlm;
pub mod spnego;
mod spnego_krb;
mod spnego_ntlm;

#[cfg(test)]
mod proptests;

pub use ntlm::authenticate::decode_authenticate;
pub use ntlm::challenge::decode_challenge;
pub use ntlm::{NtlmCredentials, NtlmSecret};
pub use spnego::decode_spnego;
pub use spnego_krb::SpnegoKerberos;
pub use spnego_ntlm::SpnegoNtlm;

use crate::secret::SessionKey;

/// The result of one authentication step.
#[derive(Debug)]
pub enum Step {
    /// Send this token to the server and feed its answer to the next `step`.
    Send(Vec<u8>),
    /// Authentication is complete on the client side.
    Done {
        /// A last token to send, if the mechanism has one (none for SPNEGO/NTLM over SMB2).
        token: Option<Vec<u8>>,
        /// The exported session key; `None` for an anonymous (null) session.
        session_key: Option<SessionKey>,
    },
}

/// Why authentication failed on the client side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A server token could not be decoded.
    #[error("malformed {0} from the server")]
    Malformed(&'static str),
    /// The server's token was well-formed but not acceptable (e.g. no NTLM offered, wrong
    /// message type, a bad mechListMIC).
    #[error("authentication protocol error: {0}")]
    Protocol(&'static str),
    /// The server rejected the authentication (SPNEGO negState reject).
    #[error("the server rejected the authentication")]
    Rejected,
    /// `step` was called after the exchange finished or out of order.
    #[error("authentication step called in the wrong state")]
    State,
    /// The credentials cannot be used (e.g. a name too long to encode).
    #[error("unusable credentials: {0}")]
    Credentials(&'static str),
    /// An NTLM message signature did not verify.
    #[error("bad NTLM message signature")]
    BadSignature,
    /// A Kerberos failure: a KRB-ERROR from the server (e.g. clock skew, with the server's
    /// time) or an AP-REP that did not verify.
    #[error(transparent)]
    Kerberos(kerberos::error::KerberosError),
    /// The server's CHALLENGE withheld a security flag samrpc requires (KEY_EXCH, 128-bit,
    /// SIGN): an attacker stripping them is the classic NTLM downgrade/relay move.
    #[error("the server's NTLM CHALLENGE did not grant {0}")]
    WeakNegotiation(&'static str),
}

/// A client authentication mechanism driven one token at a time.
///
/// The first call passes `None` (or the server's initial hint token, which may be ignored);
/// every later call passes the server's latest token. Randomness and time come in as
/// arguments so the mechanism stays pure.
pub trait Authenticator: Send {
    /// Advance the exchange.
    ///
    /// `now_filetime` is the current time as a Windows FILETIME (100 ns since 1601-01-01 UTC),
    /// used when the server supplies no timestamp.
    fn step(
        &mut self,
        input: Option<&[u8]>,
        rng: &mut dyn crate::rng::SecureRandom,
        now_filetime: u64,
    ) -> Result<Step, AuthError>;

    /// Whether this is an anonymous (null-session) authenticator.
    fn is_anonymous(&self) -> bool;

    /// The mechanism, for reports: `ntlm`, `kerberos` or `anonymous`.
    fn mechanism(&self) -> &'static str {
        if self.is_anonymous() { "anonymous" } else { "ntlm" }
    }
}
