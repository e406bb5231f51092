//! RPC-level authentication ([MS-RPCE] 2.2.1.1.7, 3.3.1.5.2): security providers that plug
//! into the DCE/RPC association's bind legs and its [`PduAuth`](crate::dcerpc::PduAuth) seam.
//!
//! Used over ncacn_ip_tcp, where the transport itself authenticates nobody: the bind carries
//! the provider's tokens and every REQUEST/RESPONSE carries a verifier. Over ncacn_np SAMR runs
//! at level NONE (the SMB session authenticates and protects), so this module is not used there.
//!
//! * [`ntlm`]: NTLMSSP (`auth_type` 10) at INTEGRITY (5) or PRIVACY (6): the three-leg bind
//!   ([`NtlmRpcBind`]) and the per-PDU signing/sealing ([`NtlmPduAuth`]).
//!
//! * [`kerberos`]: Kerberos (`auth_type` 16) at INTEGRITY or PRIVACY: the DCE-style three-leg
//!   bind ([`KrbRpcBind`]: AP-REQ, AP-REP, the client's AP-REP) and RFC 4121 AES tokens per PDU
//!   ([`KrbPduAuth`]).

pub mod kerberos;
pub mod ntlm;
#[doc(hidden)]
pub mod testing;

use crate::dcerpc::{AuthLevel, AuthType, AuthVerifier};

pub use kerberos::{KrbPduAuth, KrbRpcBind, KrbRpcError};
pub use ntlm::{NtlmPduAuth, NtlmRpcBind, RpcAuthError};

/// The BIND_ACK's verifier, checked against what the BIND offered: present (`missing` says
/// what was expected otherwise), of `auth_type`, at `level`, on [`ntlm::CONTEXT_ID`].
fn bind_ack_verifier<'a>(
    v: Option<&'a AuthVerifier>,
    auth_type: AuthType,
    level: AuthLevel,
    missing: &'static str,
) -> Result<&'a AuthVerifier, &'static str> {
    let v = v.ok_or(missing)?;
    if v.auth_type != auth_type {
        return Err("the BIND_ACK's verifier has another auth type");
    }
    if v.auth_level != level {
        return Err("the BIND_ACK's verifier has another auth level");
    }
    if v.context_id != ntlm::CONTEXT_ID {
        return Err("the BIND_ACK's verifier has another context id");
    }
    Ok(v)
}
