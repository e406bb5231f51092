//! Message codec tests: real bytes captured from the Samba 4.22 AD DC (tests/vectors/kerberos,
//! see PROVENANCE.md there), round trips, truncations and hostile lengths.

use super::*;
use crate::auth::kerberos::gss;
use crate::auth::spnego::{NegTokenInit, NegTokenResp, OID_MS_KERBEROS};

macro_rules! vector {
    ($name:expr) => {
        hex::decode(
            include_str!(concat!("../../../../tests/vectors/kerberos/", $name, ".hex")).trim(),
        )
        .unwrap()
    };
}

/// Strip the 4-byte TCP record mark (RFC 4120 7.2.2), checking it.
fn tcp_body(b: &[u8]) -> &[u8] {
    let n = u32::from_be_bytes(b[..4].try_into().unwrap()) as usize;
    assert_eq!(n, b.len() - 4);
    &b[4..]
}

/// Every strict prefix and the message plus one byte must be rejected.
fn assert_rejects_truncations<T>(b: &[u8], dec: impl Fn(&[u8]) -> Result<T, DecodeError>) {
    for k in 0..b.len() {
        assert!(dec(&b[..k]).is_err(), "prefix {k} of {}", b.len());
    }
    let mut t = b.to_vec();
    t.push(0);
    assert!(dec(&t).is_err(), "trailing byte");
}

#[test]
fn captured_as_req_without_preauth() {
    let v = vector!("as-req-nopreauth");
    let b = tcp_body(&v);
    let r = KdcReq::decode(b).unwrap();
    assert_eq!(r.msg_type, msg_type::AS_REQ);
    assert!(r.padata.iter().all(|p| p.padata_type != pa_type::ENC_TIMESTAMP));
    assert_eq!(r.body.cname.as_ref().unwrap().to_string(), "krbvec");
    assert_eq!(r.body.realm, "SAMR.TEST");
    assert_eq!(r.body.sname.as_ref().unwrap().to_string(), "krbtgt/SAMR.TEST");
    assert!(r.body.options & kdc_options::CANONICALIZE != 0, "kinit -C sets canonicalize");
    assert!(r.body.etypes.starts_with(&[18, 17]));
    assert_rejects_truncations(b, KdcReq::decode);
}

#[test]
fn captured_preauth_required_with_etype_info2() {
    let v = vector!("krb-error-preauth-required");
    let b = tcp_body(&v);
    let e = KrbError::decode(b).unwrap();
    assert_eq!(e.error_code, 25);
    assert_eq!(e.realm, "SAMR.TEST");
    assert_eq!(e.sname.to_string(), "krbtgt/SAMR.TEST");
    let info = e.etype_info2();
    assert_eq!(info[0].etype, 18);
    assert_eq!(info[0].salt.as_deref(), Some(&b"SAMR.TESTkrbvec"[..]));
    assert!(info.iter().all(|i| i.etype != 23), "MIT did not offer RC4, so the KDC lists none");
    assert_eq!(e.encode(), b, "re-encodes byte for byte");
    assert_rejects_truncations(b, KrbError::decode);
    // The administrator's: the salt carries the directory's spelling of the name.
    let v = vector!("krb-error-preauth-required-admin");
    let e = KrbError::decode(tcp_body(&v)).unwrap();
    assert_eq!(e.etype_info2()[0].salt.as_deref(), Some(&b"SAMR.TESTAdministrator"[..]));
}

#[test]
fn captured_as_req_with_preauth_and_as_rep() {
    let v = vector!("as-req-preauth");
    let b = tcp_body(&v);
    let r = KdcReq::decode(b).unwrap();
    let ts = r.padata.iter().find(|p| p.padata_type == pa_type::ENC_TIMESTAMP).unwrap();
    assert_eq!(EncryptedData::decode(&ts.value).unwrap().etype, 18);
    assert_rejects_truncations(b, KdcReq::decode);

    let v = vector!("as-rep");
    let b = tcp_body(&v);
    let rep = KdcRep::decode(b, msg_type::AS_REP).unwrap();
    assert_eq!(rep.crealm, "SAMR.TEST");
    assert_eq!(rep.cname.to_string(), "krbvec");
    assert_eq!(rep.ticket.sname.to_string(), "krbtgt/SAMR.TEST");
    assert_eq!(rep.enc_part.etype, 18);
    assert_eq!(rep.encode(), b);
    assert!(KdcRep::decode(b, msg_type::TGS_REP).is_err());
    assert_rejects_truncations(b, |x| KdcRep::decode(x, msg_type::AS_REP));
}

#[test]
fn captured_tgs_req_and_rep() {
    let v = vector!("tgs-req");
    let b = tcp_body(&v);
    let r = KdcReq::decode(b).unwrap();
    assert_eq!(r.msg_type, msg_type::TGS_REQ);
    assert_eq!(r.body.sname.as_ref().unwrap().to_string(), "cifs/dc1.samr.test");
    let pa = r.padata.iter().find(|p| p.padata_type == pa_type::TGS_REQ).unwrap();
    let ap = ApReq::decode(&pa.value).unwrap();
    assert_eq!(ap.ticket.sname.to_string(), "krbtgt/SAMR.TEST");
    assert_eq!(ap.encode(), pa.value);
    assert_rejects_truncations(b, KdcReq::decode);

    let v = vector!("tgs-rep");
    let b = tcp_body(&v);
    let rep = KdcRep::decode(b, msg_type::TGS_REP).unwrap();
    assert_eq!(rep.ticket.sname.to_string(), "cifs/dc1.samr.test");
    assert_eq!(rep.encode(), b);
    assert_rejects_truncations(b, |x| KdcRep::decode(x, msg_type::TGS_REP));
}

#[test]
fn captured_smb_ap_req_and_ap_rep() {
    let b = vector!("smb-spnego-ap-req");
    let init = NegTokenInit::decode(&b).unwrap();
    assert_eq!(init.mech_types[0], OID_MS_KERBEROS);
    let (tok, msg) = gss::unwrap(init.mech_token.as_deref().unwrap()).unwrap();
    assert_eq!(tok, gss::TokId::ApReq);
    let ap = ApReq::decode(msg).unwrap();
    assert!(ap.options & ap_options::MUTUAL_REQUIRED != 0);
    assert_eq!(ap.ticket.sname.to_string(), "cifs/dc1.samr.test");
    assert_eq!(ap.encode(), msg);
    assert_rejects_truncations(msg, ApReq::decode);

    let b = vector!("smb-spnego-ap-rep");
    let resp = NegTokenResp::decode(&b).unwrap();
    assert_eq!(resp.supported_mech.as_deref(), Some(OID_MS_KERBEROS));
    let (tok, msg) = gss::unwrap(resp.response_token.as_deref().unwrap()).unwrap();
    assert_eq!(tok, gss::TokId::ApRep);
    let rep = ApRep::decode(msg).unwrap();
    assert_eq!(rep.encode(), msg);
    assert_rejects_truncations(msg, ApRep::decode);
}

#[test]
fn captured_errors() {
    for (name, code) in [
        ("krb-error-c-principal-unknown", 6),
        ("krb-error-s-principal-unknown", 7),
        ("krb-error-preauth-failed", 24),
        ("krb-error-key-expired", 23),
        ("krb-error-preauth-required-changepw", 25),
    ] {
        let v = hex::decode(
            std::fs::read_to_string(format!(
                "{}/tests/vectors/kerberos/{name}.hex",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap()
            .trim(),
        )
        .unwrap();
        let b = tcp_body(&v);
        let e = KrbError::decode(b).unwrap();
        assert_eq!(e.error_code, code, "{name}");
        assert_eq!(e.encode(), b, "{name} re-encodes");
        assert_rejects_truncations(b, KrbError::decode);
        match code {
            23 => assert_eq!(e.e_data_parsed(), EData::NtStatus(0xc000_0224)),
            24 => {
                assert_eq!(e.etype_info2()[0].salt.as_deref(), Some(&b"SAMR.TESTAdministrator"[..]))
            }
            7 => assert_eq!(e.sname.to_string(), "cifs/127.0.0.1"),
            _ => {}
        }
    }
}

#[test]
fn captured_changepw_as_rep() {
    let v = vector!("as-req-changepw");
    let r = KdcReq::decode(tcp_body(&v)).unwrap();
    assert_eq!(r.body.sname.as_ref().unwrap().to_string(), "kadmin/changepw");
    let v = vector!("as-rep-changepw");
    let rep = KdcRep::decode(tcp_body(&v), msg_type::AS_REP).unwrap();
    assert_eq!(rep.ticket.sname.to_string(), "kadmin/changepw");
}

#[test]
fn round_trips_of_built_messages() {
    let body = KdcReqBody {
        options: kdc_options::FORWARDABLE | kdc_options::CANONICALIZE,
        cname: Some(PrincipalName::user("alice")),
        realm: "EXAMPLE.TEST".into(),
        sname: Some(PrincipalName::service("krbtgt", "EXAMPLE.TEST")),
        till: super::super::asn1::KerberosTime::FAR_FUTURE,
        rtime: None,
        nonce: 0x7fff_fffe,
        etypes: vec![18, 17],
    };
    let req = KdcReq { msg_type: msg_type::AS_REQ, padata: vec![PaData::pac_request(true)], body };
    let b = req.encode();
    assert_eq!(KdcReq::decode(&b).unwrap(), req);
    assert_rejects_truncations(&b, KdcReq::decode);

    let key = RawKey { keytype: 18, value: SecretBytes::new(vec![7; 32]) };
    let a = Authenticator {
        crealm: "EXAMPLE.TEST".into(),
        cname: PrincipalName::user("alice"),
        cksum: Some(Checksum { cksumtype: 0x8003, checksum: gss::checksum_8003(gss::SMB_FLAGS) }),
        ctime: super::super::asn1::KrbTimestamp {
            time: super::super::asn1::KerberosTime(1_796_500_143),
            usec: 123_456,
        },
        subkey: Some(key.clone()),
        seq_number: Some(0x1234_5678),
    };
    let b = a.encode();
    assert_eq!(Authenticator::decode(&b).unwrap(), a);
    assert_rejects_truncations(&b, Authenticator::decode);
    assert!(!format!("{a:?}").contains("7, 7"), "subkey bytes must not show in Debug");

    let p = EncApRepPart { ctime: a.ctime, subkey: Some(key.clone()), seq_number: Some(1) };
    let b = p.encode();
    assert_eq!(EncApRepPart::decode(&b).unwrap(), p);
    assert_rejects_truncations(&b, EncApRepPart::decode);

    let k = EncKdcRepPart {
        key,
        nonce: 42,
        key_expiration: None,
        flags: 0x40e1_0000,
        authtime: a.ctime.time,
        starttime: Some(a.ctime.time),
        endtime: super::super::asn1::KerberosTime(a.ctime.time.0 + 36_000),
        renew_till: None,
        srealm: "EXAMPLE.TEST".into(),
        sname: PrincipalName::service("cifs", "srv.example.test"),
    };
    for tag in [25, 26] {
        let b = k.encode(tag);
        assert_eq!(EncKdcRepPart::decode(&b).unwrap(), k);
        assert_rejects_truncations(&b, EncKdcRepPart::decode);
    }

    let pp = EncKrbPrivPart {
        user_data: SecretBytes::new(b"new-pw".to_vec()),
        timestamp: Some(a.ctime),
        seq_number: Some(5),
        s_address: Some(HostAddress::ip("127.0.0.1".parse().unwrap())),
        r_address: None,
    };
    let b = pp.encode();
    assert_eq!(EncKrbPrivPart::decode(&b).unwrap(), pp);
    assert_rejects_truncations(&b, EncKrbPrivPart::decode);
}

#[test]
fn hostile_inputs() {
    // Too many name components, a huge announced length, wrong pvno, unknown field.
    let many: Vec<Vec<u8>> = (0..100).map(|_| super::super::asn1::string("x")).collect();
    let pn = super::super::asn1::seq(&[
        super::super::asn1::field(0, &super::super::asn1::int(1)),
        super::super::asn1::field(1, &super::super::asn1::seq(&many)),
    ]);
    assert!(PrincipalName::decode(&pn).is_err());
    assert!(KrbError::decode(&[0x7e, 0x84, 0x7f, 0xff, 0xff, 0xff]).is_err());
    assert!(ApRep::decode(&hex::decode("6f0b3009a003020104a10302010f").unwrap()).is_err());
    let mut e = KrbError::decode(tcp_body(&vector!("krb-error-preauth-failed"))).unwrap();
    e.error_code = -5;
    assert_eq!(KrbError::decode(&e.encode()).unwrap().error_code, -5);
    // An unknown field [13] after e-data.
    let mut enc = e.encode();
    let extra = super::super::asn1::field(13, &super::super::asn1::int(0));
    enc = crate::auth::der::der(
        0x7e,
        &super::super::asn1::seq(&[{
            let seq = crate::auth::der::only(&enc, 0x7e, "t").unwrap();
            let body = crate::auth::der::only(seq, 0x30, "t").unwrap();
            [body, &extra[..]].concat()
        }])[2..],
    );
    assert!(KrbError::decode(&enc).is_err());
}
