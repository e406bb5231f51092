//! User-handle calls: SamrOpenUser (34), SamrQueryInformationUser2 (47),
//! SamrGetUserDomainPasswordInformation (44), SamrSetInformationUser2 (58) ([MS-SAMR]
//! 3.1.5.1.9, 3.1.5.5.5, 3.1.5.13.3, 3.1.5.6.4; protocol-notes 2.2, 2.3, 3).

use super::Call;
use super::domain::SamrGetDomainPasswordInformationResponse;
use super::password::StatusResponse;
use super::server::{HandleResponse, read_status};
use super::types::UserInfo;
use crate::ndr::{ContextHandle, NdrReader, NdrWriter, Stub};
use crate::status::NtStatus;
use crate::wire::DecodeError;

/// SamrOpenUser, opnum 34 ([MS-SAMR] 3.1.5.1.9).
///
/// ```text
/// NTSTATUS SamrOpenUser(
///     [in] SAMPR_HANDLE DomainHandle,
///     [in] unsigned long DesiredAccess,
///     [in] unsigned long UserId,
///     [out] SAMPR_HANDLE* UserHandle);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrOpenUser {
    /// DomainHandle (needs DOMAIN_LOOKUP).
    pub domain_handle: ContextHandle,
    /// DesiredAccess (e.g. `USER_FORCE_PASSWORD_CHANGE` for a reset).
    pub desired_access: u32,
    /// UserId (RID).
    pub user_id: u32,
}

impl Stub for SamrOpenUser {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.domain_handle);
        w.u32(self.desired_access);
        w.u32(self.user_id);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            domain_handle: r.read()?,
            desired_access: r.u32("DesiredAccess")?,
            user_id: r.u32("UserId")?,
        })
    }
}

/// The SamrOpenUser response: UserHandle and status.
pub type SamrOpenUserResponse = HandleResponse;

impl Call for SamrOpenUser {
    const OPNUM: u16 = 34;
    const NAME: &'static str = "SamrOpenUser";
    type Response = HandleResponse;
}

/// SamrQueryInformationUser2, opnum 47 ([MS-SAMR] 3.1.5.5.5). Levels 16
/// (UserControlInformation: account control) and 21 (UserAllInformation: password last set,
/// must change, account control, bad password count, PasswordExpired) are the ones to ask;
/// Samba and Windows answer both. The password levels (23–26, 31, 32) are write-only.
///
/// ```text
/// NTSTATUS SamrQueryInformationUser2(
///     [in] SAMPR_HANDLE UserHandle,
///     [in] USER_INFORMATION_CLASS UserInformationClass,            // enum: u16
///     [out, switch_is(UserInformationClass)] PSAMPR_USER_INFO_BUFFER* Buffer);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrQueryInformationUser2 {
    /// UserHandle (level 16 needs USER_READ_ACCOUNT; level 21 also USER_READ_GENERAL,
    /// USER_READ_LOGON and USER_READ_PREFERENCES).
    pub user_handle: ContextHandle,
    /// UserInformationClass (`consts::USER_CONTROL_INFORMATION` or `consts::USER_ALL_INFORMATION`).
    pub level: u16,
}

impl Stub for SamrQueryInformationUser2 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.user_handle);
        w.u16(self.level);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { user_handle: r.read()?, level: r.u16("UserInformationClass")? })
    }
}

/// The SamrQueryInformationUser2 response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrQueryInformationUser2Response {
    /// Buffer (`None` on error).
    pub info: Option<UserInfo>,
    /// The return value.
    pub status: NtStatus,
}

impl Stub for SamrQueryInformationUser2Response {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.referent(self.info.is_some());
        if let Some(info) = &self.info {
            info.write_union(w);
        }
        w.u32(self.status.0);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let info = if r.referent("Buffer")? { Some(UserInfo::read_union(r)?) } else { None };
        Ok(Self { info, status: read_status(r)? })
    }
}

impl Call for SamrQueryInformationUser2 {
    const OPNUM: u16 = 47;
    const NAME: &'static str = "SamrQueryInformationUser2";
    type Response = SamrQueryInformationUser2Response;
}

/// SamrGetUserDomainPasswordInformation, opnum 44 ([MS-SAMR] 3.1.5.13.3): the password rules
/// that apply to this user.
///
/// ```text
/// NTSTATUS SamrGetUserDomainPasswordInformation(
///     [in] SAMPR_HANDLE UserHandle,
///     [out] PUSER_DOMAIN_PASSWORD_INFORMATION PasswordInformation);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrGetUserDomainPasswordInformation {
    /// UserHandle.
    pub user_handle: ContextHandle,
}

/// The SamrGetUserDomainPasswordInformation response.
pub type SamrGetUserDomainPasswordInformationResponse = SamrGetDomainPasswordInformationResponse;

impl Stub for SamrGetUserDomainPasswordInformation {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.user_handle);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        Ok(Self { user_handle: r.read()? })
    }
}

impl Call for SamrGetUserDomainPasswordInformation {
    const OPNUM: u16 = 44;
    const NAME: &'static str = "SamrGetUserDomainPasswordInformation";
    type Response = SamrGetDomainPasswordInformationResponse;
}

/// SamrSetInformationUser2, opnum 58 ([MS-SAMR] 3.1.5.6.4): set attributes; with levels 31/32
/// (AES) or 23–26 (RC4) it resets the password (notes 2.2, 2.3), with level 16 it writes the
/// account-control bits.
///
/// ```text
/// NTSTATUS SamrSetInformationUser2(
///     [in] SAMPR_HANDLE UserHandle,
///     [in] USER_INFORMATION_CLASS UserInformationClass,            // enum: u16
///     [in, switch_is(UserInformationClass)] PSAMPR_USER_INFO_BUFFER Buffer);   // [ref]
/// ```
///
/// The class is written from `info`, so the two can never disagree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SamrSetInformationUser2 {
    /// UserHandle (USER_FORCE_PASSWORD_CHANGE for password levels; USER_WRITE_ACCOUNT for 16).
    pub user_handle: ContextHandle,
    /// Buffer.
    pub info: UserInfo,
}

impl Stub for SamrSetInformationUser2 {
    fn write_stub(&self, w: &mut NdrWriter) {
        w.write(&self.user_handle);
        w.u16(self.info.level());
        self.info.write_union(w);
    }
    fn read_stub(r: &mut NdrReader<'_>) -> Result<Self, DecodeError> {
        let user_handle = r.read()?;
        let level = r.u16("UserInformationClass")?;
        let info = UserInfo::read_union(r)?;
        if info.level() != level {
            return Err(DecodeError::invalid("SamrSetInformationUser2 discriminant"));
        }
        Ok(Self { user_handle, info })
    }
}

/// The SamrSetInformationUser2 response: the status only.
pub type SamrSetInformationUser2Response = StatusResponse;

impl Call for SamrSetInformationUser2 {
    const OPNUM: u16 = 58;
    const NAME: &'static str = "SamrSetInformationUser2";
    type Response = StatusResponse;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{EncryptedPasswordAes, EncryptedUserPassword, EncryptedUserPasswordNew};
    use crate::ndr::RpcUnicodeString;
    use crate::samr::access::USER_FORCE_PASSWORD_CHANGE;
    use crate::samr::consts::*;
    use crate::samr::test_util::{roundtrip, vector};
    use crate::samr::{LogonHours, SrSecurityDescriptor, UserAllInformation};

    fn uh() -> ContextHandle {
        let b = hex::decode("02000000d86eec8ce11f2d41995313e9a451e81d").unwrap();
        ContextHandle(b.try_into().unwrap())
    }

    fn aes() -> EncryptedPasswordAes {
        EncryptedPasswordAes {
            auth_data: [0xaa; 64],
            salt: [0x55; 16],
            cipher: (0..=255u8).cycle().take(528).collect(),
            pbkdf2_iterations: 0,
        }
    }

    #[test]
    fn open_user_samba_capture() {
        // samba source4/torture/ndr/samr.c samr_openuser_in_data: domain handle | access 0xb0
        // | RID 1003; samr_openuser_out_data: user handle | status.
        let b = vector(include_str!("../../tests/vectors/samba/samr_openuser_in_data.hex"));
        let req: SamrOpenUser = roundtrip(&b);
        assert_eq!((req.desired_access, req.user_id), (0xb0, 1003));
        assert_eq!(req.encode(), b);
        let b = vector(include_str!("../../tests/vectors/samba/samr_openuser_out_data.hex"));
        let resp = SamrOpenUser::decode_response(&b).unwrap();
        assert_eq!(resp.handle, uh());
        roundtrip::<HandleResponse>(&b);
    }

    #[test]
    fn query_user_level_16_samba_capture() {
        // samr_queryuserinfo_in/out_data (opnum 36, the same parameters as opnum 47):
        // handle | class 16; out: referent | level 16 | pad | UAC 0x80 | status.
        let b = vector(include_str!("../../tests/vectors/samba/samr_queryuserinfo_in_data.hex"));
        let req: SamrQueryInformationUser2 = roundtrip(&b);
        assert_eq!(
            req,
            SamrQueryInformationUser2 { user_handle: uh(), level: USER_CONTROL_INFORMATION }
        );
        let b = vector(include_str!("../../tests/vectors/samba/samr_queryuserinfo_out_data.hex"));
        let resp = SamrQueryInformationUser2::decode_response(&b).unwrap();
        assert_eq!(resp.info, Some(UserInfo::Control(USER_WORKSTATION_TRUST_ACCOUNT)));
        let mut expect = b.clone();
        expect[..4].copy_from_slice(&0x0002_0000u32.to_le_bytes());
        roundtrip::<SamrQueryInformationUser2Response>(&expect);
    }

    #[test]
    fn get_user_pw_info_samba_capture() {
        let b = vector(include_str!("../../tests/vectors/samba/samr_getuserpwinfo_in_data.hex"));
        let req: SamrGetUserDomainPasswordInformation = roundtrip(&b);
        assert_eq!(req.user_handle, uh());
        let b = vector(include_str!("../../tests/vectors/samba/samr_getuserpwinfo_out_data.hex"));
        let resp = SamrGetUserDomainPasswordInformation::decode_response(&b).unwrap();
        assert_eq!((resp.info.min_password_length, resp.info.password_properties), (7, 0));
    }

    #[test]
    fn set_user_level_16_samba_capture() {
        // samr_setuserinfo_in_data (opnum 37, the same parameters as 58): handle | class 16 |
        // discriminant 16 | UAC 0x80.
        let b = vector(include_str!("../../tests/vectors/samba/samr_setuserinfo_in_data.hex"));
        let req: SamrSetInformationUser2 = roundtrip(&b);
        assert_eq!(req.info, UserInfo::Control(0x80));
        assert_eq!(
            SamrSetInformationUser2::decode_response(&[0; 4]).unwrap().status,
            NtStatus::STATUS_SUCCESS
        );
    }

    #[test]
    fn set_user_level_26_samba_capture() {
        // samr_setuserinfo2_in_data (notes 2.3): handle | 1a00 | 1a00 | 532 bytes | 00.
        let b = vector(include_str!("../../tests/vectors/samba/samr_setuserinfo2_in_data.hex"));
        let req: SamrSetInformationUser2 = roundtrip(&b);
        let UserInfo::Internal5New { password, password_expired } = &req.info else { panic!() };
        assert_eq!(password.0[..], b[24..556]);
        assert_eq!(*password_expired, 0);
        let rebuilt = SamrSetInformationUser2 {
            user_handle: uh(),
            info: UserInfo::Internal5New {
                password: EncryptedUserPasswordNew(b[24..556].try_into().unwrap()),
                password_expired: 0,
            },
        };
        assert_eq!(rebuilt.encode(), b);
    }

    #[test]
    fn set_user_level_31_layout() {
        // Notes 2.2 table: class 0x1f at 20, discriminant at 22, arm at 24: AuthData, Salt at
        // 88, cbCipher at 104, Cipher referent at 108, PBKDF2Iterations at 112,
        // PasswordExpired at 120, MaxCount at 124, cipher at 128.
        let req = SamrSetInformationUser2 {
            user_handle: uh(),
            info: UserInfo::Internal7 { password: aes(), password_expired: 1 },
        };
        let b = req.encode();
        assert_eq!(&b[20..24], &[0x1f, 0, 0x1f, 0]);
        assert_eq!(&b[24..88], &[0xaa; 64]);
        assert_eq!(&b[88..104], &[0x55; 16]);
        assert_eq!(&b[104..108], &528u32.to_le_bytes());
        assert_eq!(&b[108..112], &0x0002_0000u32.to_le_bytes());
        assert_eq!(&b[112..120], &[0; 8]);
        assert_eq!(&b[120..124], &[1, 0, 0, 0]);
        assert_eq!(&b[124..128], &528u32.to_le_bytes());
        assert_eq!(b.len(), 128 + 528);
        assert_eq!(roundtrip::<SamrSetInformationUser2>(&b), req);
        assert_eq!(SamrSetInformationUser2::OPNUM, 58);
    }

    #[test]
    fn set_user_level_32_layout() {
        let all = UserAllInformation {
            which_fields: USER_ALL_NTPASSWORDPRESENT | USER_ALL_PASSWORDEXPIRED,
            password_expired: 1,
            ..Default::default()
        };
        let req = SamrSetInformationUser2 {
            user_handle: uh(),
            info: UserInfo::Internal8 { all: Box::new(all), password: aes() },
        };
        let b = req.encode();
        // The 196-byte I1 at 24 (WhichFields at 24 + 48 + 104 + 8 + 12 = 196), then the AES
        // struct at 224 (8-aligned), then the deferred cipher at 320.
        assert_eq!(&b[20..24], &[0x20, 0, 0x20, 0]);
        assert_eq!(&b[196..200], &0x0900_0000u32.to_le_bytes());
        assert_eq!(&b[212..220], &[0, 0, 0, 0, 0, 0, 1, 0]);
        assert_eq!(&b[220..224], &[0; 4]);
        assert_eq!(&b[224..288], &[0xaa; 64]);
        assert_eq!(&b[304..308], &528u32.to_le_bytes());
        assert_eq!(&b[308..312], &0x0002_0000u32.to_le_bytes());
        assert_eq!(&b[320..324], &528u32.to_le_bytes());
        assert_eq!(b.len(), 324 + 528);
        assert_eq!(roundtrip::<SamrSetInformationUser2>(&b), req);
    }

    #[test]
    fn rc4_levels_roundtrip() {
        let all =
            UserAllInformation { which_fields: USER_ALL_NTPASSWORDPRESENT, ..Default::default() };
        for info in [
            UserInfo::Internal4 {
                all: Box::new(all.clone()),
                password: EncryptedUserPassword([7; 516]),
            },
            UserInfo::Internal5 { password: EncryptedUserPassword([7; 516]), password_expired: 1 },
            UserInfo::Internal4New {
                all: Box::new(all.clone()),
                password: EncryptedUserPasswordNew([9; 532]),
            },
        ] {
            let req = SamrSetInformationUser2 { user_handle: uh(), info };
            let b = req.encode();
            assert_eq!(roundtrip::<SamrSetInformationUser2>(&b), req);
        }
    }

    #[test]
    fn level_21_full_roundtrip() {
        let all = UserAllInformation {
            last_logon: 0x01d9_0000_0000_0001,
            password_last_set: 0x01d9_1234_5678_9abc,
            password_must_change: i64::MAX,
            account_expires: i64::MAX,
            user_name: RpcUnicodeString::new("alice").unwrap(),
            full_name: RpcUnicodeString::new("Alice A.").unwrap(),
            admin_comment: RpcUnicodeString::new("x").unwrap().with_maximum_length(8),
            security_descriptor: SrSecurityDescriptor::new(vec![1, 0, 4, 0x80, 0, 0, 0, 0]),
            user_id: 1103,
            primary_group_id: 513,
            user_account_control: USER_NORMAL_ACCOUNT | USER_DONT_EXPIRE_PASSWORD,
            which_fields: 0x00ff_ffff,
            logon_hours: LogonHours { units_per_week: 168, hours: Some(vec![0xff; 21]) },
            bad_password_count: 2,
            nt_password_present: 1,
            ..Default::default()
        };
        let resp = SamrQueryInformationUser2Response {
            info: Some(UserInfo::All(Box::new(all))),
            status: NtStatus::STATUS_SUCCESS,
        };
        let b = resp.to_stub();
        // referent | level 21 | pad to 8 | 196 bytes of scalars from offset 8.
        assert_eq!(&b[4..8], &[21, 0, 0, 0]);
        assert_eq!(&b[8 + 48..8 + 52], &[10, 0, 10, 0]);
        assert_eq!(roundtrip::<SamrQueryInformationUser2Response>(&b), resp);
        // An unknown level is a typed error.
        let mut bad = b.clone();
        bad[4] = 99;
        assert_eq!(
            SamrQueryInformationUser2Response::from_stub(&bad).unwrap_err(),
            DecodeError::invalid("unsupported USER_INFORMATION_CLASS")
        );
        let _ = USER_FORCE_PASSWORD_CHANGE;
    }

    #[test]
    fn set_rejects_discriminant_mismatch() {
        let b = vector(include_str!("../../tests/vectors/samba/samr_setuserinfo_in_data.hex"));
        let mut bad = b.clone();
        bad[20] = 17;
        assert!(SamrSetInformationUser2::from_stub(&bad).is_err());
    }
}
