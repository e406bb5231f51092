//! BIND and ALTER_CONTEXT PDUs (C706 12.6.4.3, [MS-RPCE] 2.2.2.1; protocol notes 4.2, 4.3).
//!
//! ```text
//! u16 max_xmit_frag; u16 max_recv_frag; u32 assoc_group_id
//! u8 n_context_elem; u8 reserved; u16 reserved2
//! n_context_elem × { u16 p_cont_id; u8 n_transfer_syn; u8 reserved;
//!                    abstract_syntax(20); transfer_syntax(20) × n_transfer_syn }
//! [auth pad to 4 | sec_trailer | auth_value]
//! ```

use super::RpcError;
use super::auth::AuthVerifier;
use super::frame::{self, Frame, PadRule};
use super::header::{PacketType, PfcFlags};
use super::syntax::{SYNTAX_ID_LEN, SyntaxId};
use crate::wire::{DecodeError, Reader, Writer};

/// One presentation context offered in a BIND / ALTER_CONTEXT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextElem {
    /// `p_cont_id`, used by later REQUESTs.
    pub context_id: u16,
    /// The interface.
    pub abstract_syntax: SyntaxId,
    /// Transfer syntaxes offered for it (at most 255).
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// A BIND or ALTER_CONTEXT PDU (same body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bind {
    /// Call id.
    pub call_id: u32,
    /// `pfc_flags` (normally FIRST_FRAG | LAST_FRAG).
    pub flags: PfcFlags,
    /// Largest fragment the client will send.
    pub max_xmit_frag: u16,
    /// Largest fragment the client will accept.
    pub max_recv_frag: u16,
    /// 0 for a new association group.
    pub assoc_group_id: u32,
    /// Offered contexts (at most 255).
    pub contexts: Vec<ContextElem>,
    /// Bind-time auth token (e.g. NTLM NEGOTIATE), if authenticating.
    pub auth: Option<AuthVerifier>,
}

/// Minimum wire size of a context element (no transfer syntax).
const CONTEXT_ELEM_MIN: usize = 4 + SYNTAX_ID_LEN;

impl Bind {
    /// Encode as a BIND PDU.
    pub fn encode(&self) -> Result<Vec<u8>, RpcError> {
        self.encode_as(PacketType::BIND)
    }

    /// Encode as an ALTER_CONTEXT PDU.
    pub fn encode_alter_context(&self) -> Result<Vec<u8>, RpcError> {
        self.encode_as(PacketType::ALTER_CONTEXT)
    }

    /// Decode a whole BIND PDU.
    pub fn decode(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_as(buf, PacketType::BIND)
    }

    /// Decode a whole ALTER_CONTEXT PDU.
    pub fn decode_alter_context(buf: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_as(buf, PacketType::ALTER_CONTEXT)
    }

    fn encode_as(&self, ptype: PacketType) -> Result<Vec<u8>, RpcError> {
        let n = u8::try_from(self.contexts.len())
            .map_err(|_| RpcError::Encode("more than 255 presentation contexts"))?;
        let mut w = Writer::new();
        w.u16(self.max_xmit_frag).u16(self.max_recv_frag).u32(self.assoc_group_id);
        w.u8(n).u8(0).u16(0);
        for c in &self.contexts {
            let nt = u8::try_from(c.transfer_syntaxes.len())
                .map_err(|_| RpcError::Encode("more than 255 transfer syntaxes"))?;
            w.u16(c.context_id).u8(nt).u8(0);
            c.abstract_syntax.encode(&mut w);
            for t in &c.transfer_syntaxes {
                t.encode(&mut w);
            }
        }
        let pad = PadRule::Align { from: 0, align: 4 };
        Ok(frame::build(ptype, self.flags, self.call_id, w.as_slice(), pad, self.auth.as_ref())?.0)
    }

    pub(crate) fn decode_as(buf: &[u8], ptype: PacketType) -> Result<Self, DecodeError> {
        let f = Frame::split(buf)?;
        f.expect(ptype, "PTYPE (expected BIND or ALTER_CONTEXT)")?;
        let mut r = Reader::new(f.body);
        let max_xmit_frag = r.u16("max_xmit_frag")?;
        let max_recv_frag = r.u16("max_recv_frag")?;
        let assoc_group_id = r.u32("assoc_group_id")?;
        let n = usize::from(r.u8("n_context_elem")?);
        r.skip(3, "context list reserved")?;
        r.check_count(n, CONTEXT_ELEM_MIN, "n_context_elem")?;
        let mut contexts = Vec::with_capacity(n);
        for _ in 0..n {
            let context_id = r.u16("p_cont_id")?;
            let nt = usize::from(r.u8("n_transfer_syn")?);
            r.skip(1, "context reserved")?;
            let abstract_syntax = SyntaxId::decode(&mut r)?;
            r.check_count(nt, SYNTAX_ID_LEN, "n_transfer_syn")?;
            let mut transfer_syntaxes = Vec::with_capacity(nt);
            for _ in 0..nt {
                transfer_syntaxes.push(SyntaxId::decode(&mut r)?);
            }
            contexts.push(ContextElem { context_id, abstract_syntax, transfer_syntaxes });
        }
        r.finish("BIND body")?;
        Ok(Self {
            call_id: f.header.call_id,
            flags: f.header.flags,
            max_xmit_frag,
            max_recv_frag,
            assoc_group_id,
            contexts,
            auth: f.verifier(),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dcerpc::auth::{AuthLevel, AuthType};
    use crate::dcerpc::syntax::{NDR20_SYNTAX, SAMR_SYNTAX};
    use crate::dcerpc::tests::{check_truncations_and_trailing, hexs};

    /// Protocol notes 4.3: the 116-byte SAMR bind (no auth, SAMR + NDR20 + BTFN 0x03), hex
    /// grouped by field.
    pub(crate) const BIND_EXAMPLE: &str = "
        05 00 0b 03 10000000 7400 0000 01000000
        b810 b810 00000000
        02 00 0000
        0000 01 00
          785734123412cdabef000123456789ac 0100 0000
          045d888aeb1cc9119fe808002b104860 0200 0000
        0100 01 00
          785734123412cdabef000123456789ac 0100 0000
          2c1cb76c129840450300000000000000 0100 0000";

    pub(crate) fn example() -> Bind {
        Bind {
            call_id: 1,
            flags: PfcFlags::FIRST_LAST,
            max_xmit_frag: 4280,
            max_recv_frag: 4280,
            assoc_group_id: 0,
            contexts: vec![
                ContextElem {
                    context_id: 0,
                    abstract_syntax: SAMR_SYNTAX,
                    transfer_syntaxes: vec![NDR20_SYNTAX],
                },
                ContextElem {
                    context_id: 1,
                    abstract_syntax: SAMR_SYNTAX,
                    transfer_syntaxes: vec![SyntaxId::bind_time_features(3)],
                },
            ],
            auth: None,
        }
    }

    #[test]
    fn notes_4_3_bind_example_byte_for_byte() {
        let bytes = hexs(BIND_EXAMPLE);
        assert_eq!(bytes.len(), 116);
        assert_eq!(example().encode().unwrap(), bytes);
        assert_eq!(Bind::decode(&bytes).unwrap(), example());
        check_truncations_and_trailing(&bytes, |b| Bind::decode(b).map(drop));
        // Not an ALTER_CONTEXT.
        assert!(Bind::decode_alter_context(&bytes).is_err());
    }

    #[test]
    fn alter_context_and_auth_round_trip() {
        let mut b = example();
        b.auth = Some(AuthVerifier {
            auth_type: AuthType::NTLMSSP,
            auth_level: AuthLevel::PRIVACY,
            context_id: 1,
            auth_value: b"NTLMSSP\0\x01\0\0\0".to_vec(),
        });
        let bytes = b.encode_alter_context().unwrap();
        assert_eq!(bytes[2], 14);
        // 116-byte body is 4-aligned: no pad; then 8-byte trailer and 12-byte token.
        assert_eq!(bytes.len(), 116 + 8 + 12);
        assert_eq!(&bytes[116..118], &[10, 6]);
        assert_eq!(Bind::decode_alter_context(&bytes).unwrap(), b);
        check_truncations_and_trailing(&bytes, |x| Bind::decode_alter_context(x).map(drop));
    }

    #[test]
    fn rejects_absurd_counts() {
        let mut bytes = hexs(BIND_EXAMPLE);
        bytes[24] = 200; // n_context_elem
        assert!(Bind::decode(&bytes).is_err());
        let mut bytes = hexs(BIND_EXAMPLE);
        bytes[30] = 9; // n_transfer_syn of ctx 0
        assert!(Bind::decode(&bytes).is_err());
    }
}
