//! Password changes that need no handle: SamrUnicodeChangePasswordUser4 (73, AES) and
//! SamrUnicodeChangePasswordUser2 (55, RC4 fallback) ([MS-SAMR] 3.1.5.10.4, 3.1.5.10.3;
//! protocol-notes 1.1–1.3, 2.5). The encrypted buffers come from `crate::crypto`.

use super::Call;
use super::server::read_status;
use super::types::WireAes;
use crate::crypto::{EncryptedNtOwfPassword, EncryptedPasswordAes, EncryptedUserPassword};
use crate::ndr::{NdrReader, NdrWriter, RpcUnicodeString, StringTooLong, Stub};
use crate::status::NtStatus;
use crate::wire::DecodeError;

/// A response that is only the NTSTATUS (opnums 55, 58, 73).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct StatusResponse {
    /// The return value.
    pub status: NtStatus,
}

impl Stub for StatusResponse {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { status: read_status(r)? })
    }
}

/// SamrUnicodeChangePasswordUser4, opnum 73 ([MS-SAMR] 3.1.5.10.4; notes 1): change a password
/// knowing the old one, with the AES AEAD; no handle needed.
///
/// ```text
/// NTSTATUS SamrUnicodeChangePasswordUser4(
///     [in] handle_t BindingHandle,
///     [in, unique] PRPC_UNICODE_STRING ServerName,
///     [in] PRPC_UNICODE_STRING UserName,
///     [in] PSAMPR_ENCRYPTED_PASSWORD_AES EncryptedPassword);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrUnicodeChangePasswordUser4 {
    /// ServerName (Samba sends `\\SERVER`; a hint only). `None` sends NULL.
    pub server_name: Option<RpcUnicodeString>,
    /// UserName: the bare sAMAccountName.
    pub user_name: RpcUnicodeString,
    /// EncryptedPassword (PBKDF2Iterations in 5,000..=1,000,000).
    pub encrypted_password: EncryptedPasswordAes,
}

impl SamrUnicodeChangePasswordUser4 {
    /// A request for `user` (the bare account name) on `server` (e.g. `\\dc1`; empty sends
    /// NULL).
    pub fn new(
        server: &str,
        user: &str,
        encrypted_password: EncryptedPasswordAes,
    ) -> Result<Self, StringTooLong> {
        let server_name =
            if server.is_empty() { None } else { Some(RpcUnicodeString::new(server)?) };
        Ok(Self { server_name, user_name: RpcUnicodeString::new(user)?, encrypted_password })
    }
}

impl Stub for SamrUnicodeChangePasswordUser4 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.unique(self.server_name.as_ref());
        w.write(&self.user_name);
        w.write(&WireAes::new(self.encrypted_password.clone()));
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let server_name = r.unique("ServerName")?;
        let user_name = r.read()?;
        let encrypted_password = r.read::<WireAes>()?.value;
        Ok(Self { server_name, user_name, encrypted_password })
    }
}

/// The SamrUnicodeChangePasswordUser4 response: the status only.
pub type SamrUnicodeChangePasswordUser4Response = StatusResponse;

impl Call for SamrUnicodeChangePasswordUser4 {
    const OPNUM: u16 = 73;
    const NAME: &'static str = "SamrUnicodeChangePasswordUser4";
    type Response = StatusResponse;
}

/// SamrUnicodeChangePasswordUser2, opnum 55 ([MS-SAMR] 3.1.5.10.3; notes 2.5): the RC4 + DES
/// fallback. Send `lm_present = 0` and NULL LM buffers.
///
/// ```text
/// NTSTATUS SamrUnicodeChangePasswordUser2(
///     [in] handle_t BindingHandle,
///     [in, unique] PRPC_UNICODE_STRING ServerName,
///     [in] PRPC_UNICODE_STRING UserName,
///     [in, unique] PSAMPR_ENCRYPTED_USER_PASSWORD NewPasswordEncryptedWithOldNt,
///     [in, unique] PENCRYPTED_NT_OWF_PASSWORD OldNtOwfPasswordEncryptedWithNewNt,
///     [in] unsigned char LmPresent,
///     [in, unique] PSAMPR_ENCRYPTED_USER_PASSWORD NewPasswordEncryptedWithOldLm,
///     [in, unique] PENCRYPTED_LM_OWF_PASSWORD OldLmOwfPasswordEncryptedWithNewNt);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrUnicodeChangePasswordUser2 {
    /// ServerName. `None` sends NULL.
    pub server_name: Option<RpcUnicodeString>,
    /// UserName: the bare sAMAccountName.
    pub user_name: RpcUnicodeString,
    /// NewPasswordEncryptedWithOldNt (516 bytes).
    pub new_password_encrypted_with_old_nt: Option<EncryptedUserPassword>,
    /// OldNtOwfPasswordEncryptedWithNewNt (16 bytes).
    pub old_nt_owf_password_encrypted_with_new_nt: Option<EncryptedNtOwfPassword>,
    /// LmPresent (0).
    pub lm_present: u8,
    /// NewPasswordEncryptedWithOldLm (`None`).
    pub new_password_encrypted_with_old_lm: Option<EncryptedUserPassword>,
    /// OldLmOwfPasswordEncryptedWithNewNt (`None`; ENCRYPTED_LM_OWF_PASSWORD has the same
    /// 16-byte layout).
    pub old_lm_owf_password_encrypted_with_new_nt: Option<EncryptedNtOwfPassword>,
}

/// A top-level `[unique]` pointer to a fixed byte array (alignment 1): referent id, then the
/// bytes at once.
fn write_unique_bytes(w: &mut NdrWriter, b: Option<&[u8]>) {
    w.referent(b.is_some());
    if let Some(b) = b {
        w.bytes(b);
    }
}

fn read_unique_array<const N: usize>(
    r: &mut NdrReader<'_>,
    what: &'static str,
) -> Result<Option<[u8; N]>, DecodeError> {
    if r.referent(what)? { r.array(what).map(Some) } else { Ok(None) }
}

impl SamrUnicodeChangePasswordUser2 {
    /// A request without LM values (LmPresent 0, NULL LM buffers), as notes 2.5 recommend.
    pub fn new(
        server: &str,
        user: &str,
        new_password_encrypted_with_old_nt: EncryptedUserPassword,
        old_nt_owf_password_encrypted_with_new_nt: EncryptedNtOwfPassword,
    ) -> Result<Self, StringTooLong> {
        let server_name =
            if server.is_empty() { None } else { Some(RpcUnicodeString::new(server)?) };
        Ok(Self {
            server_name,
            user_name: RpcUnicodeString::new(user)?,
            new_password_encrypted_with_old_nt: Some(new_password_encrypted_with_old_nt),
            old_nt_owf_password_encrypted_with_new_nt: Some(
                old_nt_owf_password_encrypted_with_new_nt,
            ),
            lm_present: 0,
            new_password_encrypted_with_old_lm: None,
            old_lm_owf_password_encrypted_with_new_nt: None,
        })
    }
}

impl Stub for SamrUnicodeChangePasswordUser2 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.unique(self.server_name.as_ref());
        w.write(&self.user_name);
        write_unique_bytes(w, self.new_password_encrypted_with_old_nt.as_ref().map(|p| &p.0[..]));
        write_unique_bytes(
            w,
            self.old_nt_owf_password_encrypted_with_new_nt.as_ref().map(|p| &p.0[..]),
        );
        w.u8(self.lm_present);
        write_unique_bytes(w, self.new_password_encrypted_with_old_lm.as_ref().map(|p| &p.0[..]));
        write_unique_bytes(
            w,
            self.old_lm_owf_password_encrypted_with_new_nt.as_ref().map(|p| &p.0[..]),
        );
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            server_name: r.unique("ServerName")?,
            user_name: r.read()?,
            new_password_encrypted_with_old_nt: read_unique_array(
                r,
                "NewPasswordEncryptedWithOldNt",
            )?
            .map(EncryptedUserPassword),
            old_nt_owf_password_encrypted_with_new_nt: read_unique_array(
                r,
                "OldNtOwfPasswordEncryptedWithNewNt",
            )?
            .map(EncryptedNtOwfPassword),
            lm_present: r.u8("LmPresent")?,
            new_password_encrypted_with_old_lm: read_unique_array(
                r,
                "NewPasswordEncryptedWithOldLm",
            )?
            .map(EncryptedUserPassword),
            old_lm_owf_password_encrypted_with_new_nt: read_unique_array(
                r,
                "OldLmOwfPasswordEncryptedWithNewNt",
            )?
            .map(EncryptedNtOwfPassword),
        })
    }
}

/// The SamrUnicodeChangePasswordUser2 response: the status only.
pub type SamrUnicodeChangePasswordUser2Response = StatusResponse;

impl Call for SamrUnicodeChangePasswordUser2 {
    const OPNUM: u16 = 55;
    const NAME: &'static str = "SamrUnicodeChangePasswordUser2";
    type Response = StatusResponse;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::samr::test_util::{roundtrip, vector};
    use sha2::{Digest, Sha256};

    /// The notes 7.3 composite vector's ciphertext: the crate's AEAD with the 7.3 CEK, the
    /// 7.3 salt as IV and the 7.2 plaintext (both vectors are proven in `crate::crypto`'s
    /// tests), checked below against the published SHA-256.
    fn composite_cipher() -> Vec<u8> {
        let cek: [u8; 16] =
            hex::decode("f1e6b26a782863057738c971d2058858").unwrap().try_into().unwrap();
        let salt: [u8; 16] =
            hex::decode("d5be4fd7b685d1eafd3bf42983ce1044").unwrap().try_into().unwrap();
        crate::crypto::seal(
            &crate::secret::Key16::new(cek),
            salt,
            &crate::crypto::test_vector_7_2(),
        )
        .1
    }

    fn composite_request() -> SamrUnicodeChangePasswordUser4 {
        let cipher = composite_cipher();
        SamrUnicodeChangePasswordUser4 {
            server_name: Some(RpcUnicodeString::new("\\\\HOST").unwrap()),
            user_name: RpcUnicodeString::new("alice").unwrap(),
            encrypted_password: EncryptedPasswordAes {
                auth_data: hex::decode(concat!(
                    "06b71ed641c2450368fc75b62739e809d2f7e1dd87368c4db5efbb76fb40df18",
                    "2fb50773322ab40beba24664b9f4937d267966f0f6a1e97e269d29fa806bb779"
                ))
                .unwrap()
                .try_into()
                .unwrap(),
                salt: hex::decode("d5be4fd7b685d1eafd3bf42983ce1044").unwrap().try_into().unwrap(),
                cipher,
                pbkdf2_iterations: 23533,
            },
        }
    }

    #[test]
    fn opnum73_reproduces_notes_1_3_example_stub() {
        // Notes 7.3 composite vector: the cipher's SHA-256, first and last 32 bytes.
        let cipher = composite_cipher();
        assert_eq!(
            hex::encode(Sha256::digest(&cipher)),
            "e248cee7a7515d511f401ab7a357c327947bacce4445036b2b9d66c7a3173fec"
        );
        assert_eq!(
            hex::encode(&cipher[..32]),
            "7720ecbe697acea3f10a3d2e8751a39b2b966885b5db027685a7f7c2df5469c8"
        );
        assert_eq!(
            hex::encode(&cipher[496..]),
            "c91ad8ba453bb6a1f7aacc05c3b9d73a1563ae1598058cdfbbb8d4e4f545695e"
        );

        let stub = composite_request().encode();
        // Notes 1.3: the full stub is 700 bytes with this SHA-256.
        assert_eq!(stub.len(), 700);
        assert_eq!(
            hex::encode(Sha256::digest(&stub)),
            "68e1a930d29849a9b69fa409c7c887788fc8fe00fdfbd82d9b760046577a7f85"
        );
        // And the annotated prefix of notes 1.3, field by field.
        let prefix = [
            "00000200",
            "0c000c00",
            "04000200",
            "06000000", // ServerName ptr; Len/Max 12; buf ptr; MaxCount 6
            "00000000",
            "06000000",
            "5c005c0048004f00", // Offset; Actual; "\\HO
            "53005400",
            "0a000a00",
            "08000200",
            "05000000", // ST"; UserName 10/10; ptr; MaxCount 5
            "00000000",
            "05000000",
            "61006c0069006300", // Offset; Actual; "alic
            "6500",
            "000000000000",
            "06b71ed641c24503", // e" + pad to 0x48; AuthData…
        ]
        .concat();
        assert_eq!(hex::encode(&stub[..0x50]), prefix);
        assert_eq!(hex::encode(&stub[0x88..0x98]), "d5be4fd7b685d1eafd3bf42983ce1044");
        assert_eq!(
            hex::encode(&stub[0x98..0xac]),
            ["10020000", "0c000200", "ed5b000000000000", "10020000"].concat()
        );
        assert_eq!(&stub[0xac..], &cipher[..]);
    }

    #[test]
    fn opnum73_decode_roundtrip_and_truncations() {
        let req = composite_request();
        let stub = req.encode();
        assert_eq!(roundtrip::<SamrUnicodeChangePasswordUser4>(&stub), req);
        // cbCipher disagreeing with the conformant MaxCount.
        let mut bad = stub.clone();
        bad[0xa8] = 0x11;
        assert!(SamrUnicodeChangePasswordUser4::from_stub(&bad).is_err());
        // Response: status only.
        let r = SamrUnicodeChangePasswordUser4::decode_response(&hex::decode("6c0000c0").unwrap())
            .unwrap();
        assert_eq!(r.status, NtStatus::STATUS_PASSWORD_RESTRICTION);
        roundtrip::<StatusResponse>(&hex::decode("6a0000c0").unwrap());
        assert_eq!(SamrUnicodeChangePasswordUser4::OPNUM, 73);
    }

    #[test]
    fn opnum55_matches_samba_w2k_capture_layout() {
        // samba source4/torture/ndr/samr.c samr_changepassworduser3_w2k_in_data (notes 7.8):
        // opnum 63's parameters are opnum 55's followed by one more unique pointer (NULL here,
        // the last 4 bytes). So the first 1148 bytes are an opnum-55 stub: "\\W2KSRV", "gd",
        // 516 + 16 encrypted bytes, LmPresent 1, a zero 516-byte LM buffer and a zero LM OWF.
        let full = vector(include_str!(
            "../../tests/vectors/samba/samr_changepassworduser3_w2k_in_data.hex"
        ));
        assert_eq!(&full[1148..], &[0; 4]);
        let b = &full[..1148];
        let req: SamrUnicodeChangePasswordUser2 = roundtrip(b);
        assert_eq!(req.server_name.as_ref().unwrap().to_string(), "\\\\W2KSRV");
        assert_eq!(req.user_name.to_string(), "gd");
        assert_eq!(
            req.new_password_encrypted_with_old_nt.as_ref().unwrap().0[..4],
            [0x8a, 0x5d, 0x1b, 0x5c]
        );
        assert_eq!(
            hex::encode(req.old_nt_owf_password_encrypted_with_new_nt.as_ref().unwrap().0),
            "a70f6218fbca8781924a42a1049bf865"
        );
        assert_eq!(req.lm_present, 1);
        assert_eq!(req.encode(), b);

        // What samrpc sends: no LM.
        let ours = SamrUnicodeChangePasswordUser2 {
            lm_present: 0,
            new_password_encrypted_with_old_lm: None,
            old_lm_owf_password_encrypted_with_new_nt: None,
            ..req
        };
        let s = ours.encode();
        assert_eq!(s.len(), 0x40 + 4 + 516 + 4 + 16 + 4 + 8);
        assert_eq!(hex::encode(&s[s.len() - 12..]), "000000000000000000000000");
        assert_eq!(roundtrip::<SamrUnicodeChangePasswordUser2>(&s), ours);
        assert_eq!(SamrUnicodeChangePasswordUser2::OPNUM, 55);
    }
}
