//! NTLM ([MS-NLMP]): the three messages, NTLMv2 response and key computation, and the
//! sign/seal layer. The client exchange itself is [`client::NtlmClient`].

pub mod authenticate;
pub mod av_pair;
pub mod challenge;
pub mod client;
pub mod crypto;
pub mod negotiate;
pub mod rc4;
pub mod sealer;

use crate::secret::{NtHash, Password};
use crate::wire::{DecodeError, Reader};

pub use authenticate::Authenticate;
pub use av_pair::{AvId, AvPairs};
pub use challenge::Challenge;
pub use client::{NtlmClient, NtlmExpectChallenge, NtlmOutcome};
pub use negotiate::Negotiate;
pub use sealer::NtlmSealer;

/// The 8-byte signature that starts every NTLM message.
pub const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

/// Largest NTLM message this client accepts or builds (SMB2 session-setup buffers are far
/// smaller in practice; the cap bounds every allocation driven by peer lengths).
pub const MAX_MESSAGE_LEN: usize = 64 * 1024;

/// NegotiateFlags bits ([MS-NLMP] 2.2.2.5; notes 6.2).
pub mod flags {
    /// Strings are UTF-16LE.
    pub const UNICODE: u32 = 0x0000_0001;
    /// Strings are OEM code page.
    pub const OEM: u32 = 0x0000_0002;
    /// The server should return its target name.
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// Message integrity.
    pub const SIGN: u32 = 0x0000_0010;
    /// Message confidentiality.
    pub const SEAL: u32 = 0x0000_0020;
    /// LAN Manager session key (never set by this client).
    pub const LM_KEY: u32 = 0x0000_0080;
    /// NTLM v1/v2 authentication.
    pub const NTLM: u32 = 0x0000_0200;
    /// Anonymous (null session) authentication.
    pub const ANONYMOUS: u32 = 0x0000_0800;
    /// The NEGOTIATE domain field is filled.
    pub const OEM_DOMAIN_SUPPLIED: u32 = 0x0000_1000;
    /// The NEGOTIATE workstation field is filled.
    pub const OEM_WORKSTATION_SUPPLIED: u32 = 0x0000_2000;
    /// Always sign (dummy signatures when not signing).
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    /// TargetName is a domain name.
    pub const TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
    /// TargetName is a server name.
    pub const TARGET_TYPE_SERVER: u32 = 0x0002_0000;
    /// Extended session security (NTLM2 signing/sealing).
    pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// Identify-level token.
    pub const IDENTIFY: u32 = 0x0010_0000;
    /// Request the non-NT session key.
    pub const REQUEST_NON_NT_SESSION_KEY: u32 = 0x0040_0000;
    /// TargetInfo is present.
    pub const TARGET_INFO: u32 = 0x0080_0000;
    /// The Version field is present.
    pub const VERSION: u32 = 0x0200_0000;
    /// 128-bit session keys.
    pub const NEGOTIATE_128: u32 = 0x2000_0000;
    /// Explicit key exchange (EncryptedRandomSessionKey).
    pub const KEY_EXCH: u32 = 0x4000_0000;
    /// 56-bit session keys.
    pub const NEGOTIATE_56: u32 = 0x8000_0000;

    /// What this client asks for in NEGOTIATE: UNICODE | REQUEST_TARGET | SIGN | SEAL | NTLM |
    /// ALWAYS_SIGN | ESS | TARGET_INFO | VERSION | 128 | KEY_EXCH | 56 = `0xE2888235`
    /// (notes 6.2 list these flags but print `0xE28882B5`, which also has LM_KEY 0x80; this
    /// client follows the flag list and never sets LM_KEY).
    pub const CLIENT_DEFAULT: u32 = UNICODE
        | REQUEST_TARGET
        | SIGN
        | SEAL
        | NTLM
        | ALWAYS_SIGN
        | EXTENDED_SESSIONSECURITY
        | TARGET_INFO
        | VERSION
        | NEGOTIATE_128
        | KEY_EXCH
        | NEGOTIATE_56;
}

/// The 8-byte VERSION structure ([MS-NLMP] 2.2.2.10). Informational only.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    /// Product major version.
    pub major: u8,
    /// Product minor version.
    pub minor: u8,
    /// Product build number.
    pub build: u16,
    /// NTLM revision (0x0F = NTLMSSP_REVISION_W2K3).
    pub revision: u8,
}

impl Version {
    /// What this client announces: 10.0.20348, revision 15.
    pub const CLIENT: Self = Self { major: 10, minor: 0, build: 20348, revision: 0x0F };

    /// The wire form (3 reserved zero bytes before the revision).
    pub fn to_bytes(self) -> [u8; 8] {
        let b = self.build.to_le_bytes();
        [self.major, self.minor, b[0], b[1], 0, 0, 0, self.revision]
    }

    /// Parse the wire form (the reserved bytes are ignored).
    pub fn from_bytes(b: [u8; 8]) -> Self {
        Self { major: b[0], minor: b[1], build: u16::from_le_bytes([b[2], b[3]]), revision: b[7] }
    }
}

/// The secret half of [`NtlmCredentials`].
#[derive(Clone, Debug)]
pub enum NtlmSecret {
    /// A cleartext password; the NT hash is derived from it (MD4 of UTF-16LE).
    Password(Password),
    /// The NT hash itself ("pass the hash"); equivalent to the password for NTLM.
    NtHash(NtHash),
}

/// Credentials for NTLMv2 authentication.
///
/// `Debug` never shows the secret (it is a [`Password`] or [`NtHash`], both redacted).
///
/// # The domain rule ([MS-NLMP] 3.3.2; notes 8.3)
///
/// NTLMv2 salts the hash with `UPPERCASE(user) ‖ domain`, and the server recomputes it with
/// the DomainName field **of the AUTHENTICATE message**. This client always hashes with
/// exactly the domain string it sends:
///
/// * `domain: Some(d)` — `d` is sent and hashed, verbatim (not uppercased), always. Give the
///   domain's NetBIOS name for a domain account, or the server's computer name for a local
///   account.
/// * `domain: None` — the domain is taken from the server's CHALLENGE: its NetBIOS domain name
///   (`MsvAvNbDomainName`; on a workgroup host this equals the computer name), falling back to
///   `MsvAvNbComputerName`, then to the CHALLENGE TargetName, then to the empty string. This
///   matches what Windows clients send for a bare user name and avoids the classic
///   `STATUS_LOGON_FAILURE` from sending an empty domain while hashing with another.
///
/// The domain actually used is reported in [`NtlmOutcome::domain_used`] and by
/// [`crate::auth::SpnegoNtlm::domain_used`].
#[derive(Clone, Debug)]
pub struct NtlmCredentials {
    /// The account name, without any `DOMAIN\` prefix. Sent with its case preserved; only
    /// the hash input is uppercased.
    pub user: String,
    /// The logon domain; `None` means "take it from the CHALLENGE" (see the type docs).
    pub domain: Option<String>,
    /// The workstation name to announce; `None` sends an empty name.
    pub workstation: Option<String>,
    /// The password or NT hash.
    pub secret: NtlmSecret,
}

impl NtlmCredentials {
    /// Credentials from a password.
    pub fn with_password(
        user: impl Into<String>,
        domain: Option<String>,
        password: Password,
    ) -> Self {
        Self {
            user: user.into(),
            domain,
            workstation: None,
            secret: NtlmSecret::Password(password),
        }
    }

    /// Credentials from an NT hash.
    pub fn with_nt_hash(user: impl Into<String>, domain: Option<String>, hash: NtHash) -> Self {
        Self { user: user.into(), domain, workstation: None, secret: NtlmSecret::NtHash(hash) }
    }

    /// The NT hash (NTOWFv1) of the secret.
    pub fn nt_hash(&self) -> NtHash {
        match &self.secret {
            NtlmSecret::Password(p) => crypto::nt_hash(p),
            NtlmSecret::NtHash(h) => h.clone(),
        }
    }
}

/// UTF-16LE encoding of `s`.
pub fn utf16le(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() * 2);
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// Decode UTF-16LE bytes (odd lengths and unpaired surrogates are replaced, not rejected:
/// names are informational).
pub fn from_utf16le_lossy(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// Read the 8-byte NTLM "fields" structure (u16 Len, u16 MaxLen, u32 Offset) and return the
/// referenced slice of the whole message, bounds-checked. Returns the field's `(offset, len)`
/// too, so callers can check coverage.
pub(crate) fn read_field<'a>(
    r: &mut Reader<'a>,
    what: &'static str,
) -> Result<(&'a [u8], usize, usize), DecodeError> {
    let len = usize::from(r.u16(what)?);
    let _max = r.u16(what)?;
    let off = r.u32(what)? as usize;
    if len == 0 {
        return Ok((&[], off, 0));
    }
    let s = r.slice_at(off, len, what)?;
    Ok((s, off, len))
}

/// Check the signature and message type at the start of an NTLM message.
pub(crate) fn read_header(
    r: &mut Reader<'_>,
    ty: u32,
    what: &'static str,
) -> Result<(), DecodeError> {
    if r.buffer().len() > MAX_MESSAGE_LEN {
        return Err(DecodeError::too_large(what));
    }
    let sig = r.take(8, what)?;
    if sig != SIGNATURE {
        return Err(DecodeError::invalid(what));
    }
    if r.u32(what)? != ty {
        return Err(DecodeError::invalid(what));
    }
    Ok(())
}
