//! Stubs captured from the real Samba 4.22 AD DC (127.0.0.1, realm SAMR.TEST) answering
//! `rpcclient` 4.22 over SMB3 (signed, not encrypted); see `tests/vectors/PROVENANCE.md`.
//! Each test decodes Samba's bytes with our decoders, re-encodes them to the identical bytes,
//! and rejects every truncation and a trailing byte. Opnums 8 and 36 are the older
//! QueryDomainInfo / QueryUserInfo, whose parameters are exactly those of opnums 46 / 47.

use super::consts::*;
use super::test_util::{roundtrip, roundtrip_as, vector};
use super::*;
use crate::ndr::{ContextHandle, RpcUnicodeString, WString};
use crate::status::NtStatus;

macro_rules! dc {
    ($name:literal) => {
        vector(include_str!(concat!("../../tests/vectors/samba-dc/", $name, ".hex")))
    };
}

/// `b` with the u32 referent ids at `offsets` replaced by 0x00020000, 0x00020004, …
fn renumber(b: &[u8], offsets: &[usize]) -> Vec<u8> {
    let mut v = b.to_vec();
    for (i, &o) in offsets.iter().enumerate() {
        let id = 0x0002_0000u32 + 4 * i as u32;
        v[o..o + 4].copy_from_slice(&id.to_le_bytes());
    }
    v
}

const DOMAIN_SID: &str = "S-1-5-21-2992935671-108488941-1997047976";

#[test]
fn getdompwinfo() {
    let req: SamrGetDomainPasswordInformation = roundtrip(&dc!("op56-getdompwinfo-req"));
    // rpcclient passes a non-NULL, empty Unused string; we send NULL (both are accepted).
    assert_eq!(req.unused.as_ref().map(RpcUnicodeString::length), Some(0));
    let resp =
        SamrGetDomainPasswordInformation::decode_response(&dc!("op56-getdompwinfo-resp")).unwrap();
    assert_eq!(resp.info.min_password_length, 7);
    assert_eq!(resp.info.password_properties, DOMAIN_PASSWORD_COMPLEX);
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
    roundtrip::<SamrGetDomainPasswordInformationResponse>(&dc!("op56-getdompwinfo-resp"));
}

#[test]
fn connect5() {
    let b = dc!("op64-connect5-req");
    let req: SamrConnect5 = roundtrip(&b);
    // Our encoder produces Samba's request from the same inputs.
    let ours = SamrConnect5 {
        server_name: Some(WString::new("\\\\127.0.0.1").unwrap()),
        desired_access: req.desired_access,
        revision: req.revision,
    };
    // rpcclient asks MAXIMUM_ALLOWED and sends Revision 2 (SAMR_CONNECT_W2K).
    assert_eq!(req.desired_access, crate::samr::access::MAXIMUM_ALLOWED);
    assert_eq!(req.revision.revision, 2);
    assert_eq!(hex::encode(ours.encode()), hex::encode(&b));
    let resp: SamrConnect5Response = roundtrip(&dc!("op64-connect5-resp"));
    // Samba advertises no features (notes 1.8) yet supports opnum 73 (see chgpasswd4 below).
    assert_eq!(resp.revision, RevisionInfoV1 { revision: 3, supported_features: 0 });
    assert!(!resp.handle.is_null());
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
}

#[test]
fn enumdomains_lookupdomain_close() {
    let req: SamrEnumerateDomainsInSamServer = roundtrip(&dc!("op06-enumdomains-req"));
    assert_eq!(req.enumeration_context, 0);
    let resp =
        SamrEnumerateDomainsInSamServer::decode_response(&dc!("op06-enumdomains-resp")).unwrap();
    let names: Vec<String> =
        resp.buffer.as_ref().unwrap().as_slice().iter().map(|e| e.name.to_string()).collect();
    assert_eq!(names, ["SAMR", "BUILTIN"]);
    assert_eq!(resp.count_returned, 2);
    roundtrip::<SamrEnumerateDomainsInSamServerResponse>(&dc!("op06-enumdomains-resp"));

    let b = dc!("op05-lookupdomain-req");
    let req: SamrLookupDomainInSamServer = roundtrip(&b);
    let ours = SamrLookupDomainInSamServer {
        server_handle: req.server_handle,
        name: RpcUnicodeString::new("SAMR").unwrap(),
    };
    assert_eq!(ours.encode(), b);
    // Samba's server numbers this response's referent from 0x00020004; ours from 0x00020000.
    let b = dc!("op05-lookupdomain-resp");
    let resp: SamrLookupDomainInSamServerResponse = roundtrip_as(&b, &renumber(&b, &[0]));
    assert_eq!(resp.domain_id.unwrap().to_string(), DOMAIN_SID);

    let req: SamrCloseHandle = roundtrip(&dc!("op01-close-req"));
    assert!(!req.handle.is_null());
    let resp: HandleResponse = roundtrip(&dc!("op01-close-resp"));
    assert_eq!(resp.handle, ContextHandle::NULL);
}

#[test]
fn opendomain_enumdomusers() {
    let b = dc!("op07-opendomain-req");
    let req: SamrOpenDomain = roundtrip(&b);
    assert_eq!(req.domain_id.to_string(), DOMAIN_SID);
    let resp: HandleResponse = roundtrip(&dc!("op07-opendomain-resp"));
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);

    let req: SamrEnumerateUsersInDomain = roundtrip(&dc!("op13-enumdomusers-req"));
    assert_eq!(req.enumeration_context, 0);
    let resp = SamrEnumerateUsersInDomain::decode_response(&dc!("op13-enumdomusers-resp")).unwrap();
    let users = resp.buffer.as_ref().unwrap().as_slice();
    assert_eq!(users.len() as u32, resp.count_returned);
    assert_eq!(users[0].relative_id, 500);
    assert_eq!(users[0].name.to_string(), "Administrator");
    assert!(
        resp.status == NtStatus::STATUS_SUCCESS || resp.status == NtStatus::STATUS_MORE_ENTRIES
    );
    roundtrip::<SamrEnumerateUsersInDomainResponse>(&dc!("op13-enumdomusers-resp"));
}

#[test]
fn lookupnames_found_and_none_mapped() {
    let b = dc!("op17-lookupnames-req");
    let req: SamrLookupNamesInDomain = roundtrip(&b);
    let ours = SamrLookupNamesInDomain::new(req.domain_handle, &["Administrator"]).unwrap();
    assert_eq!(hex::encode(ours.encode()), hex::encode(&b));
    let b = dc!("op17-lookupnames-resp");
    let resp: SamrLookupNamesInDomainResponse = roundtrip_as(&b, &renumber(&b, &[4, 20]));
    assert_eq!(resp.relative_ids.as_slice(), &[500]);
    assert_eq!(resp.uses.as_slice(), &[SidNameUse::USER.0]);

    roundtrip::<SamrLookupNamesInDomain>(&dc!("op17-lookupnames-nosuchuser-req"));
    // STATUS_NONE_MAPPED: Samba still sends one-element arrays (RID 0, SidTypeUnknown).
    let b = dc!("op17-lookupnames-nosuchuser-resp");
    let resp: SamrLookupNamesInDomainResponse = roundtrip_as(&b, &renumber(&b, &[4, 20]));
    assert_eq!(resp.status, NtStatus::STATUS_NONE_MAPPED);
    assert_eq!(resp.uses.as_slice(), &[SidNameUse::UNKNOWN.0]);
}

#[test]
fn openuser_queryuser_level21() {
    let b = dc!("op34-openuser-req");
    let req: SamrOpenUser = roundtrip(&b);
    assert_eq!(req.user_id, 500);
    roundtrip::<HandleResponse>(&dc!("op34-openuser-resp"));

    let req: SamrQueryInformationUser2 = roundtrip(&dc!("op36-queryuserinfo-level21-req"));
    assert_eq!(req.level, USER_ALL_INFORMATION);
    let resp: SamrQueryInformationUser2Response =
        roundtrip(&dc!("op36-queryuserinfo-level21-resp"));
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
    let Some(UserInfo::All(all)) = resp.info else { panic!("level 21 expected") };
    assert_eq!(all.user_name.to_string(), "Administrator");
    assert_eq!(all.user_id, 500);
    assert_eq!(all.primary_group_id, 513);
    assert_eq!(all.user_account_control, USER_NORMAL_ACCOUNT);
    assert_eq!(all.which_fields, 0x08ff_ffff);
    assert_eq!(all.logon_hours.units_per_week, 168);
    assert_eq!(all.logon_hours.hours.as_ref().map(Vec::len), Some(21));
    assert!(all.password_last_set > 0);
    assert!(all.password_must_change > all.password_last_set);
    assert!(!all.is_disabled() && !all.is_locked_out() && !all.must_change_password());
    // The hashes are not sent over the network.
    assert_eq!(all.nt_owf_password.length(), 0);
}

#[test]
fn getusrdompwinfo_and_querydominfo() {
    roundtrip::<SamrGetUserDomainPasswordInformation>(&dc!("op44-getusrdompwinfo-req"));
    let resp: SamrGetDomainPasswordInformationResponse =
        roundtrip(&dc!("op44-getusrdompwinfo-resp"));
    assert_eq!(resp.info.min_password_length, 7);

    let req: SamrQueryInformationDomain2 = roundtrip(&dc!("op08-querydominfo-level1-req"));
    assert_eq!(req.level, DOMAIN_PASSWORD_INFORMATION);
    let resp: SamrQueryInformationDomain2Response =
        roundtrip(&dc!("op08-querydominfo-level1-resp"));
    let Some(DomainInfo::Password(p)) = resp.info else { panic!("level 1 expected") };
    assert_eq!(p.min_password_length, 7);
    assert_eq!(p.password_properties, DOMAIN_PASSWORD_COMPLEX);
    assert_eq!(p.max_password_age, -42 * 24 * 3600 * 10_000_000);

    let req: SamrQueryInformationDomain2 = roundtrip(&dc!("op08-querydominfo-level12-req"));
    assert_eq!(req.level, DOMAIN_LOCKOUT_INFORMATION);
    let resp: SamrQueryInformationDomain2Response =
        roundtrip(&dc!("op08-querydominfo-level12-resp"));
    let Some(DomainInfo::Lockout(l)) = resp.info else { panic!("level 12 expected") };
    assert_eq!(l.lockout_duration, -30 * 60 * 10_000_000);
    assert_eq!(l.lockout_threshold, 0);
}

#[test]
fn chgpasswd4_and_chgpasswd2() {
    // rpcclient `chgpasswd4 nosuchuserxyz …`: a real opnum-73 request from Samba's client.
    let b = dc!("op73-chgpasswd4-req");
    let req: SamrUnicodeChangePasswordUser4 = roundtrip(&b);
    assert_eq!(req.server_name.as_ref().unwrap().to_string(), "\\\\127.0.0.1");
    assert_eq!(req.user_name.to_string(), "nosuchuserxyz");
    let ep = &req.encrypted_password;
    assert_eq!(ep.cipher.len(), 528);
    assert!((5000..=1_000_000).contains(&ep.pbkdf2_iterations));
    // Rebuilding from the decoded fields gives Samba's bytes.
    let ours =
        SamrUnicodeChangePasswordUser4::new("\\\\127.0.0.1", "nosuchuserxyz", ep.clone()).unwrap();
    assert_eq!(ours.encode(), b);
    let resp: StatusResponse = roundtrip(&dc!("op73-chgpasswd4-resp"));
    assert_eq!(resp.status, NtStatus::STATUS_WRONG_PASSWORD);

    let b = dc!("op55-chgpasswd2-req");
    let req: SamrUnicodeChangePasswordUser2 = roundtrip(&b);
    let ours = SamrUnicodeChangePasswordUser2::new(
        "\\\\127.0.0.1",
        "nosuchuserxyz",
        req.new_password_encrypted_with_old_nt.clone().unwrap(),
        req.old_nt_owf_password_encrypted_with_new_nt.clone().unwrap(),
    )
    .unwrap();
    // rpcclient also sends the LM values (LmPresent 1); we do not, so the stubs agree up to
    // LmPresent, then ours ends with LmPresent 0 and two NULL pointers.
    assert_eq!(req.lm_present, 1);
    assert!(req.new_password_encrypted_with_old_lm.is_some());
    let o = ours.encode();
    let n = o.len() - 12;
    assert_eq!(o[..n], b[..n]);
    assert_eq!(o[n..], [0; 12]);
    assert_eq!(req.user_name.to_string(), "nosuchuserxyz");
    assert!(req.new_password_encrypted_with_old_nt.is_some());
    assert!(req.old_nt_owf_password_encrypted_with_new_nt.is_some());
    let resp: StatusResponse = roundtrip(&dc!("op55-chgpasswd2-resp"));
    assert_eq!(resp.status, NtStatus::STATUS_WRONG_PASSWORD);
}

#[test]
fn setuserinfo2_password_levels() {
    // rpcclient `setuserinfo2 ndrcap_tmp1 {31,26,25,24,23} …` on a throw-away account (created,
    // reset five times, deleted). Every level is decoded, rebuilt field by field and re-encoded
    // to Samba's exact bytes; the server answered STATUS_SUCCESS to each.
    for (req_hex, resp_hex, level) in [
        (
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level31-req.hex"),
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level31-resp.hex"),
            USER_INTERNAL7_INFORMATION,
        ),
        (
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level26-req.hex"),
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level26-resp.hex"),
            USER_INTERNAL5_INFORMATION_NEW,
        ),
        (
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level25-req.hex"),
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level25-resp.hex"),
            USER_INTERNAL4_INFORMATION_NEW,
        ),
        (
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level24-req.hex"),
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level24-resp.hex"),
            USER_INTERNAL5_INFORMATION,
        ),
        (
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level23-req.hex"),
            include_str!("../../tests/vectors/samba-dc/op58-setuserinfo2-level23-resp.hex"),
            USER_INTERNAL4_INFORMATION,
        ),
    ] {
        let b = vector(req_hex);
        let req: SamrSetInformationUser2 = roundtrip(&b);
        assert_eq!(req.info.level(), level);
        match &req.info {
            UserInfo::Internal7 { password, password_expired } => {
                assert_eq!(password.cipher.len(), 528);
                assert_eq!(password.pbkdf2_iterations, 0);
                assert_eq!(*password_expired, 0);
            }
            UserInfo::Internal4 { all, .. } | UserInfo::Internal4New { all, .. } => {
                assert_eq!(
                    all.which_fields,
                    USER_ALL_NTPASSWORDPRESENT | USER_ALL_LMPASSWORDPRESENT
                );
            }
            UserInfo::Internal5 { password_expired, .. }
            | UserInfo::Internal5New { password_expired, .. } => {
                assert_eq!(*password_expired, 0);
            }
            other => panic!("unexpected level {}", other.level()),
        }
        let ours = SamrSetInformationUser2 { user_handle: req.user_handle, info: req.info.clone() };
        assert_eq!(ours.encode(), b);
        let resp: StatusResponse = roundtrip(&vector(resp_hex));
        assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
    }
}

#[test]
fn querydominfo2_and_queryuserinfo2_from_second_capture() {
    // Opnums 46 and 47 proper, sent to the same DC by another client on the machine during the
    // second capture; the responses are Samba's.
    roundtrip::<SamrQueryInformationDomain2>(&dc!("op46-querydominfo2-level1-req"));
    let resp: SamrQueryInformationDomain2Response =
        roundtrip(&dc!("op46-querydominfo2-level1-resp"));
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
    assert!(matches!(resp.info, Some(DomainInfo::Password(_))));
    roundtrip::<SamrQueryInformationDomain2>(&dc!("op46-querydominfo2-level12-req"));
    let resp: SamrQueryInformationDomain2Response =
        roundtrip(&dc!("op46-querydominfo2-level12-resp"));
    assert!(matches!(resp.info, Some(DomainInfo::Lockout(_))));

    let req: SamrQueryInformationUser2 = roundtrip(&dc!("op47-queryuserinfo2-level21-req"));
    assert_eq!(req.level, USER_ALL_INFORMATION);
    let resp: SamrQueryInformationUser2Response =
        roundtrip(&dc!("op47-queryuserinfo2-level21-resp"));
    let Some(UserInfo::All(all)) = resp.info else { panic!("level 21 expected") };
    assert!(!all.user_name.to_string().is_empty());
    assert_eq!(resp.status, NtStatus::STATUS_SUCCESS);
}
