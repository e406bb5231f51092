//! Tests for the credential cache reader. The fixtures under `tests/vectors/kerberos/` were
//! written by MIT `kinit`/`kvno` against the integration DC (see the PROVENANCE.md there).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;
use crate::auth::kerberos::crypto::Etype;

fn fixture(name: &str) -> Vec<u8> {
    let p = format!("{}/tests/vectors/kerberos/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// Times `klist` printed for the v4 fixture (UTC): valid 2026-12-05 19:55:49 to 2026-12-06
/// 05:55:49, renew until 2026-12-06 19:55:48.
const AUTHTIME: u32 = 1_796_500_549;
const ENDTIME: u32 = 1_796_536_549;
const RENEW_TILL_V4: u32 = 1_796_586_948;

fn me() -> Principal {
    Principal { name_type: 1, realm: "SAMR.TEST".into(), components: vec!["krbcc_fixture".into()] }
}

#[test]
fn v4_fixture_from_mit_kinit_and_kvno() {
    let c = parse_ccache(&fixture("krbcc_fixture_v4.ccache")).unwrap();
    assert_eq!(c.version, 4);
    // MIT recorded a one-second KDC offset (header tag 1).
    assert_eq!(c.kdc_offset, Some(KdcTimeOffset { seconds: 1, microseconds: 0 }));
    assert_eq!(c.default_principal, me());
    assert_eq!(c.credentials.len(), 2);

    let tgt = &c.credentials[0];
    assert_eq!(tgt.client, me());
    assert_eq!(tgt.server.to_string(), "krbtgt/SAMR.TEST@SAMR.TEST");
    assert_eq!(tgt.server.name_type, 2); // NT-SRV-INST
    assert!(tgt.is_tgt_for("SAMR.TEST"));
    assert_eq!(tgt.key.etype, 18);
    assert_eq!(tgt.key.expose().len(), 32);
    assert_eq!(tgt.key.to_key().unwrap().etype(), Etype::Aes256CtsHmacSha196);
    assert_eq!(
        (tgt.authtime, tgt.starttime, tgt.endtime, tgt.renew_till),
        (AUTHTIME, AUTHTIME, ENDTIME, RENEW_TILL_V4)
    );
    assert!(!tgt.is_skey);
    // klist: "Flags: RIA" (renewable, initial, pre-authent), plus enc-pa-rep which klist does
    // not print.
    assert_eq!(
        tgt.ticket_flags,
        flags::RENEWABLE | flags::INITIAL | flags::PRE_AUTHENT | flags::ENC_PA_REP
    );
    assert!(tgt.addresses.is_empty() && tgt.authdata.is_empty() && tgt.second_ticket.is_empty());
    // The ticket is DER: [APPLICATION 1] with a long-form length.
    assert_eq!(&tgt.ticket[..2], &[0x61, 0x82]);
    assert_eq!(
        tgt.ticket.len(),
        4 + usize::from(u16::from_be_bytes([tgt.ticket[2], tgt.ticket[3]]))
    );

    let cifs = &c.credentials[1];
    assert_eq!(cifs.server.to_string(), "cifs/dc1.samr.test@SAMR.TEST");
    assert_eq!(cifs.server.name_type, 1);
    // klist: "Flags: RATO".
    assert_eq!(
        cifs.ticket_flags,
        flags::RENEWABLE
            | flags::PRE_AUTHENT
            | flags::TRANSITED_POLICY_CHECKED
            | flags::OK_AS_DELEGATE
    );
    assert_ne!(cifs.key, tgt.key);
}

#[test]
fn config_entries_are_kept_apart_from_credentials() {
    for f in ["krbcc_fixture_v4.ccache", "krbcc_fixture_v3.ccache", "dir/tkt"] {
        let c = parse_ccache(&fixture(f)).unwrap();
        // klist -C: fast_avail(krbtgt/SAMR.TEST@SAMR.TEST) = yes, pa_type(...) = 2.
        assert_eq!(
            c.config,
            vec![
                ConfigEntry {
                    key: "fast_avail".into(),
                    principal: Some("krbtgt/SAMR.TEST@SAMR.TEST".into()),
                    value: b"yes".to_vec()
                },
                ConfigEntry {
                    key: "pa_type".into(),
                    principal: Some("krbtgt/SAMR.TEST@SAMR.TEST".into()),
                    value: b"2".to_vec()
                },
            ],
            "{f}"
        );
        assert!(c.credentials.iter().all(|cr| cr.server.realm != CONFIG_REALM), "{f}");
    }
}

/// `ccache_type = 3` in krb5.conf makes kinit write version 3: no header, the enctype twice.
#[test]
fn v3_fixture() {
    let c = parse_ccache(&fixture("krbcc_fixture_v3.ccache")).unwrap();
    assert_eq!(c.version, 3);
    assert_eq!(c.kdc_offset, None);
    assert_eq!(c.default_principal, me());
    assert_eq!(c.credentials.len(), 1);
    let tgt = &c.credentials[0];
    assert!(tgt.is_tgt_for("SAMR.TEST"));
    assert_eq!(tgt.key.etype, 18);
    assert_eq!((tgt.authtime, tgt.endtime), (AUTHTIME, ENDTIME));
    assert_eq!(&tgt.ticket[..2], &[0x61, 0x82]);
}

#[test]
fn dir_collection_fixture() {
    let name = dir_primary_name(Some(&fixture("dir/primary"))).unwrap();
    assert_eq!(name, "tkt");
    let c = parse_ccache(&fixture(&format!("dir/{name}"))).unwrap();
    assert_eq!(c.default_principal, me());
    assert!(c.find_tgt("SAMR.TEST", u64::from(c.credentials[0].authtime)).is_some());
}

#[test]
fn dir_primary_names() {
    assert_eq!(dir_primary_name(None).unwrap(), "tkt");
    assert_eq!(dir_primary_name(Some(b"tktAbC123")).unwrap(), "tktAbC123");
    assert_eq!(dir_primary_name(Some(b"tkt7\r\n")).unwrap(), "tkt7");
    for bad in [
        &b""[..],
        b"\n",
        b"krb5cc",
        b"../tkt",
        b"tkt/../x",
        b"tkt\\x",
        b"tkt\0",
        b"tkt\nmore",
        b"\xfftkt",
    ] {
        assert_eq!(dir_primary_name(Some(bad)), Err(CcacheError::BadPrimary), "{bad:?}");
    }
    assert_eq!(dir_primary_name(Some(&[b't'; 300])), Err(CcacheError::BadPrimary));
}

#[test]
fn finding_a_valid_tgt() {
    let c = parse_ccache(&fixture("krbcc_fixture_v4.ccache")).unwrap();
    let at = |t: u32| c.find_tgt("SAMR.TEST", u64::from(t)).map(|cr| cr.server.to_string());
    assert_eq!(at(AUTHTIME).as_deref(), Some("krbtgt/SAMR.TEST@SAMR.TEST"));
    assert_eq!(at(ENDTIME - 1).as_deref(), Some("krbtgt/SAMR.TEST@SAMR.TEST"));
    assert_eq!(at(ENDTIME), None, "expired at endtime");
    assert_eq!(at(AUTHTIME - 1), None, "not yet valid");
    assert!(c.find_tgt("samr.test", u64::from(AUTHTIME)).is_some(), "realm case ignored");
    assert!(c.find_tgt("OTHER.TEST", u64::from(AUTHTIME)).is_none());
}

#[test]
fn finding_a_service_ticket() {
    let c = parse_ccache(&fixture("krbcc_fixture_v4.ccache")).unwrap();
    let now = u64::from(AUTHTIME) + 60;
    let t = c.find_service_ticket("SAMR.TEST", &["cifs", "dc1.samr.test"], now).unwrap();
    assert_eq!(t.server.to_string(), "cifs/dc1.samr.test@SAMR.TEST");
    assert!(c.find_service_ticket("SAMR.TEST", &["cifs", "DC1.SAMR.TEST"], now).is_some());
    assert!(c.find_service_ticket("SAMR.TEST", &["host", "dc1.samr.test"], now).is_none());
    assert!(c.find_service_ticket("SAMR.TEST", &["cifs", "dc1"], now).is_none());
    assert!(
        c.find_service_ticket("SAMR.TEST", &["cifs", "dc1.samr.test"], u64::from(ENDTIME))
            .is_none()
    );
    // The v3 fixture holds only the TGT.
    let v3 = parse_ccache(&fixture("krbcc_fixture_v3.ccache")).unwrap();
    assert!(v3.find_service_ticket("SAMR.TEST", &["cifs", "dc1.samr.test"], now).is_none());
}

fn synthetic() -> Ccache {
    let server = Principal {
        name_type: 2,
        realm: "R.TEST".into(),
        components: vec!["krbtgt".into(), "R.TEST".into()],
    };
    let client = Principal { name_type: 1, realm: "R.TEST".into(), components: vec!["u".into()] };
    let cred = Credential {
        client: client.clone(),
        server,
        key: KeyBlock::new(23, &[0x42; 16]),
        authtime: 100,
        starttime: 0,
        endtime: 200,
        renew_till: 0,
        is_skey: false,
        ticket_flags: flags::INITIAL,
        addresses: vec![Typed { kind: 2, data: vec![127, 0, 0, 1] }],
        authdata: vec![Typed { kind: -141, data: vec![1, 2, 3] }],
        ticket: vec![0x61, 0x00],
        second_ticket: vec![9, 9],
    };
    Ccache {
        version: 4,
        kdc_offset: None,
        default_principal: client,
        credentials: vec![cred],
        config: vec![ConfigEntry {
            key: "refresh_time".into(),
            principal: None,
            value: b"123".to_vec(),
        }],
    }
}

#[test]
fn synthetic_fields_round_trip_in_both_versions() {
    for version in [3, 4] {
        let mut c = synthetic();
        c.version = version;
        let back = parse_ccache(&c.encode()).unwrap();
        assert_eq!(back, c, "v{version}");
        assert_eq!(back.credentials[0].authdata[0].kind, -141);
        assert_eq!(back.credentials[0].key.to_key().unwrap().etype(), Etype::Rc4Hmac);
    }
}

#[test]
fn validity_rules() {
    let mut c = synthetic();
    // starttime 0 → authtime counts.
    assert!(c.find_tgt("R.TEST", 100).is_some());
    assert!(c.find_tgt("R.TEST", 99).is_none());
    c.credentials[0].ticket_flags |= flags::INVALID;
    assert!(c.find_tgt("R.TEST", 150).is_none(), "invalid flag");
    c.credentials[0].ticket_flags = 0;
    c.credentials[0].is_skey = true;
    assert!(c.find_tgt("R.TEST", 150).is_none(), "user-to-user");
    c.credentials[0].is_skey = false;
    c.credentials[0].client.components[0] = "someone-else".into();
    assert!(c.find_tgt("R.TEST", 150).is_none(), "another client");
    c.credentials[0].client.components[0] = "u".into();
    c.credentials[0].ticket.clear();
    assert!(c.find_tgt("R.TEST", 150).is_none(), "no ticket");
    // Of two valid TGTs the one that lasts longer wins.
    let mut c = synthetic();
    let mut later = c.credentials[0].clone();
    later.endtime = 300;
    later.key = KeyBlock::new(23, &[7; 16]);
    c.credentials.push(later);
    assert_eq!(c.find_tgt("R.TEST", 150).unwrap().endtime, 300);
}

#[test]
fn malformed_caches_are_refused() {
    assert_eq!(
        parse_ccache(&[]),
        Err(CcacheError::Malformed(DecodeError::truncated("ccache version")))
    );
    for v in [0x0501u16, 0x0502, 0x0505, 0x0405, 0] {
        assert_eq!(parse_ccache(&v.to_be_bytes()), Err(CcacheError::UnsupportedVersion(v)));
    }
    assert_eq!(parse_ccache(&vec![5; MAX_CCACHE_LEN + 1]), Err(CcacheError::TooLarge));

    let good = synthetic().encode();
    assert!(parse_ccache(&good).is_ok());
    // Too many components: the count sits after version (2), header length (2) and name type.
    let mut bad = good.clone();
    bad[8..12].copy_from_slice(&(MAX_COMPONENTS as u32 + 1).to_be_bytes());
    assert!(
        matches!(parse_ccache(&bad), Err(CcacheError::Malformed(e)) if e.kind == crate::wire::DecodeErrorKind::TooLarge)
    );
    // A component count the bytes cannot hold.
    bad[8..12].copy_from_slice(&16u32.to_be_bytes());
    assert!(parse_ccache(&bad).is_err());
    // A realm length past the end.
    let mut bad = good.clone();
    bad[12..16].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(
        matches!(parse_ccache(&bad), Err(CcacheError::Malformed(e)) if e.kind == crate::wire::DecodeErrorKind::Truncated)
    );
    // Non-UTF-8 realm.
    let mut bad = good.clone();
    bad[16] = 0xff;
    assert!(
        matches!(parse_ccache(&bad), Err(CcacheError::Malformed(e)) if e.kind == crate::wire::DecodeErrorKind::Invalid)
    );
    // A truncated header.
    assert!(parse_ccache(&[5, 4, 0, 12, 0, 1]).is_err());
    // A time-offset tag of the wrong length.
    let mut c = synthetic();
    c.kdc_offset = Some(KdcTimeOffset { seconds: 1, microseconds: 2 });
    let mut bad = c.encode();
    bad[2..4].copy_from_slice(&14u16.to_be_bytes());
    bad[6..8].copy_from_slice(&10u16.to_be_bytes());
    bad.splice(16..16, [0, 0]);
    assert!(parse_ccache(&bad).is_err());
    // Unknown header tags are skipped.
    let mut ok = synthetic().encode();
    ok.splice(2..4, [0, 6, 0, 9, 0, 2, 0xaa, 0xbb]);
    assert_eq!(parse_ccache(&ok).unwrap(), synthetic());
}

#[test]
fn bad_is_skey_and_config_names_are_refused() {
    let good = synthetic().encode();
    let c = parse_ccache(&good).unwrap();
    // Find the is_skey byte: re-encode with a marker ticket_flags value and search for it.
    let mut marked = c.clone();
    marked.credentials[0].ticket_flags = 0xA5A5_5A5A;
    let enc = marked.encode();
    let at = enc.windows(4).position(|w| w == [0xA5, 0xA5, 0x5A, 0x5A]).unwrap();
    let mut bad = enc.clone();
    bad[at - 1] = 2;
    assert!(matches!(parse_ccache(&bad), Err(CcacheError::Malformed(e)) if e.what == "is_skey"));
    // A configuration entry whose first component is not krb5_ccache_conf_data.
    let text = b"krb5_ccache_conf_data";
    let mut bad = good.clone();
    let at = bad.windows(text.len()).position(|w| w == text).unwrap();
    bad[at] = b'K';
    assert!(
        matches!(parse_ccache(&bad), Err(CcacheError::Malformed(e)) if e.what == "configuration entry name")
    );
}

#[test]
fn every_truncation_of_a_real_cache_is_handled() {
    let full = fixture("krbcc_fixture_v4.ccache");
    let whole = parse_ccache(&full).unwrap();
    let mut ok = 0;
    for n in 0..full.len() {
        if let Ok(c) = parse_ccache(&full[..n]) {
            // Only cuts between entries parse, and they hold fewer entries.
            assert!(
                c.credentials.len() + c.config.len() < whole.credentials.len() + whole.config.len()
            );
            ok += 1;
        }
    }
    // After the default principal and after each of the four entries but the last.
    assert_eq!(ok, 4);
}

#[test]
fn debug_hides_session_keys() {
    let c = synthetic();
    let d = format!("{c:?}");
    assert!(d.contains("KeyBlock(etype 23, ..)"), "{d}");
    assert!(!d.contains("66, 66"), "{d}");
}

#[test]
fn ccache_names() {
    use std::path::PathBuf;
    let p = |s: &str| CcacheName::parse(s);
    assert_eq!(p("FILE:/tmp/krb5cc_0"), Some(CcacheName::File(PathBuf::from("/tmp/krb5cc_0"))));
    assert_eq!(p("/tmp/krb5cc_0"), Some(CcacheName::File(PathBuf::from("/tmp/krb5cc_0"))));
    assert_eq!(p("relative/cc"), Some(CcacheName::File(PathBuf::from("relative/cc"))));
    assert_eq!(p("/odd:path"), Some(CcacheName::File(PathBuf::from("/odd:path"))));
    assert_eq!(
        p("DIR:/run/user/0/krb5cc"),
        Some(CcacheName::Dir(PathBuf::from("/run/user/0/krb5cc")))
    );
    assert_eq!(
        p("DIR::/run/user/0/krb5cc/tktAbc"),
        Some(CcacheName::DirFile(PathBuf::from("/run/user/0/krb5cc/tktAbc")))
    );
    assert_eq!(p("KCM:"), Some(CcacheName::Kcm(String::new())));
    assert_eq!(p("KCM:1000"), Some(CcacheName::Kcm("1000".into())));
    assert_eq!(p("KEYRING:persistent:1000"), Some(CcacheName::Keyring("persistent:1000".into())));
    assert_eq!(p("MEMORY:x"), Some(CcacheName::Memory("x".into())));
    assert_eq!(p("API:"), Some(CcacheName::Api(String::new())));
    assert_eq!(
        p("XYZ:abc"),
        Some(CcacheName::Other { kind: "XYZ".into(), residual: "abc".into() })
    );
    for bad in ["", "  ", "FILE:", "DIR:", "DIR::"] {
        assert_eq!(p(bad), None, "{bad:?}");
    }
    assert!(p("FILE:/x").unwrap().is_readable());
    assert!(p("DIR::/x/tkt").unwrap().is_readable());
    for n in ["KCM:", "KEYRING:persistent:0", "MEMORY:a", "API:", "XYZ:a"] {
        let n = p(n).unwrap();
        assert!(!n.is_readable(), "{n:?}");
    }
    assert_eq!(p("KEYRING:x").unwrap().kind(), "KEYRING");
    assert_eq!(p("DIR::/x/tkt").unwrap().kind(), "DIR");
    assert_eq!(p("XYZ:a").unwrap().kind(), "XYZ");
}

#[test]
fn default_cache_name_order() {
    assert_eq!(default_ccache_name(Some("FILE:/a"), Some("DIR:/b"), 5), "FILE:/a");
    assert_eq!(default_ccache_name(Some(""), Some("DIR:/b"), 5), "DIR:/b");
    assert_eq!(
        default_ccache_name(None, Some("KEYRING:persistent:%{uid}"), 1000),
        "KEYRING:persistent:1000"
    );
    assert_eq!(
        default_ccache_name(None, Some("FILE:%{TEMP}/krb5cc_%{euid}"), 7),
        "FILE:/tmp/krb5cc_7"
    );
    assert_eq!(default_ccache_name(None, None, 1000), "FILE:/tmp/krb5cc_1000");
    assert_eq!(default_ccache_name(Some("  "), Some(" "), 0), "FILE:/tmp/krb5cc_0");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_ccache(&b);
        let mut v4 = vec![5, 4];
        v4.extend_from_slice(&b);
        let _ = parse_ccache(&v4);
    }

    #[test]
    fn mutated_real_caches_never_panic_and_round_trip(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        v3 in any::<bool>(),
    ) {
        let mut b = fixture(if v3 { "krbcc_fixture_v3.ccache" } else { "krbcc_fixture_v4.ccache" });
        for (i, v) in edits {
            let i = i.index(b.len());
            b[i] = v;
        }
        if let Ok(c) = parse_ccache(&b) {
            prop_assert_eq!(parse_ccache(&c.encode()).unwrap(), c);
        }
    }
}
