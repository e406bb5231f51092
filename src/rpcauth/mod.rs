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
//! Kerberos (`auth_type` 16, AES sealing) is not implemented here yet.

pub mod ntlm;
#[doc(hidden)]
pub mod testing;

pub use ntlm::{NtlmPduAuth, NtlmRpcBind, RpcAuthError};
