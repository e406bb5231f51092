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

pub use kerberos::{KrbPduAuth, KrbRpcBind, KrbRpcError};
pub use ntlm::{NtlmPduAuth, NtlmRpcBind, RpcAuthError};
