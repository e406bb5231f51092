use super::*;
use crate::auth::ntlm::crypto::nt_hash;
use crate::dcerpc::auth3::Auth3;
use crate::dcerpc::bind::Bind;
use crate::dcerpc::bind_ack::BindAck;
use crate::dcerpc::header::PfcFlags;
use crate::dcerpc::request::Request;
use crate::dcerpc::response::Response;
use crate::dcerpc::{Association, AssociationConfig, Bound, Progress};
use crate::rng::FixedRandom;
use crate::rpcauth::testing::{NtlmRpcPeer, SealedReply, request_layout, server_session_key};
use crate::secret::Password;

fn vector(name: &str) -> Vec<u8> {
    let p = format!("{}/tests/vectors/samba-dc-tcp/{name}.hex", env!("CARGO_MANIFEST_DIR"));
    hex::decode(std::fs::read_to_string(p).unwrap().trim()).unwrap()
}

/// The throw-away account of the capture (tests/vectors/PROVENANCE.md, "samba-dc-tcp").
const CAPTURE_USER: &str = "tcpcap_tmp1";
const CAPTURE_PASSWORD: &str = "Xy9#tcpcap-seal";

/// Recompute the capture's keys from the password and check both directions of the one
/// sealed (or signed) call: our server-side view verifies rpcclient's request, our client-side
/// view verifies Samba's response, and re-protecting the plaintexts with fresh state
/// reproduces the captured bytes exactly.
fn check_capture(prefix: &str, level: AuthLevel) {
    let bind = Bind::decode(&vector(&format!("{prefix}-bind"))).unwrap();
    // rpcclient offers header signing in the BIND; Samba echoes it.
    assert!(bind.flags.contains(PfcFlags::SUPPORT_HEADER_SIGN));
    let ack = BindAck::decode(&vector(&format!("{prefix}-bind-ack"))).unwrap();
    assert!(ack.flags.contains(PfcFlags::SUPPORT_HEADER_SIGN));
    let a3 = Auth3::decode(&vector(&format!("{prefix}-auth3"))).unwrap();
    // AUTH3 reuses the BIND's call id.
    assert_eq!(a3.call_id, bind.call_id);
    assert_eq!(a3.auth.auth_level, level);
    assert_eq!(a3.auth.context_id, CONTEXT_ID);
    let challenge = ack.auth.unwrap().auth_value;
    let hash = nt_hash(&Password::from(CAPTURE_PASSWORD));
    let (key, neg) =
        server_session_key(&a3.auth.auth_value, &challenge, CAPTURE_USER, &hash).unwrap();
    let want = flags::SIGN | flags::KEY_EXCH | flags::EXTENDED_SESSIONSECURITY;
    assert_eq!(neg & want, want);
    if level == AuthLevel::PRIVACY {
        assert_ne!(neg & flags::SEAL, 0);
    }

    // The request, seen by the server.
    let req_bytes = vector(&format!("{prefix}-req"));
    let layout = request_layout(&req_bytes).unwrap();
    let mut server = NtlmPduAuth::new(NtlmSealer::new_server(&key, neg), level);
    let mut req = req_bytes.clone();
    server.unprotect(&mut req, &layout).unwrap();
    let plain_req = req.clone();
    assert_eq!(Request::decode(&plain_req).unwrap().opnum, 56);
    // Re-protecting with fresh client state gives rpcclient's bytes.
    let mut client = NtlmPduAuth::new(NtlmSealer::new(&key, neg), level);
    let mut again = plain_req.clone();
    again[layout.auth_value.clone()].fill(0);
    client.protect(&mut again, &layout).unwrap();
    assert_eq!(again, req_bytes);

    // The response, seen by the client.
    let resp_bytes = vector(&format!("{prefix}-resp"));
    let (_, rl) = Response::decode_with_layout(&resp_bytes).unwrap();
    let rl = rl.unwrap();
    let mut resp = resp_bytes.clone();
    client.unprotect(&mut resp, &rl).unwrap();
    // SamrGetDomainPasswordInformation: MinPasswordLength 7, properties COMPLEX (1),
    // STATUS_SUCCESS — what rpcclient printed.
    assert_eq!(hex::encode(&resp[rl.stub.clone()]), "070000000100000000000000");
    let mut again = resp.clone();
    again[rl.auth_value.clone()].fill(0);
    server.protect(&mut again, &rl).unwrap();
    assert_eq!(again, resp_bytes);
    if level == AuthLevel::PRIVACY {
        assert_ne!(resp_bytes[rl.stub.clone()], resp[rl.stub.clone()], "stub was sealed");
    } else {
        assert_eq!(resp_bytes[rl.stub.clone()], resp[rl.stub.clone()], "stub in clear");
    }
}

#[test]
fn sealed_capture_from_the_dc_recomputes() {
    check_capture("seal", AuthLevel::PRIVACY);
}

#[test]
fn signed_capture_from_the_dc_recomputes() {
    check_capture("sign", AuthLevel::INTEGRITY);
}

fn creds() -> NtlmCredentials {
    NtlmCredentials::with_password("alice", Some("SAMR".into()), Password::from("Pw-1"))
}

fn peer() -> NtlmRpcPeer {
    NtlmRpcPeer::new("alice", nt_hash(&Password::from("Pw-1")))
}

/// The whole three-leg bind against the scripted peer.
fn bind(peer: &mut NtlmRpcPeer, level: AuthLevel, max_xmit: u16) -> Result<Bound, RpcAuthError> {
    let (nb, negotiate) = NtlmRpcBind::new(creds(), level)?;
    let mut u =
        Association::new(AssociationConfig { max_xmit_frag: max_xmit, ..Default::default() });
    u.set_bind_auth(Some(negotiate));
    let ack = peer.answer_bind(&u.bind_pdu().unwrap()).unwrap();
    let mut b = u.handle_bind_response(&ack).unwrap();
    let mut rng = FixedRandom::new((0u8..=255).collect());
    let (auth3, pdu_auth) = nb.authenticate(b.bind_ack_auth(), b.header_signing(), &mut rng, 1)?;
    peer.accept_auth3(&b.auth3_pdu(auth3).unwrap()).unwrap();
    b.set_auth(Box::new(pdu_auth)).unwrap();
    Ok(b)
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + 3) as u8).collect()
}

fn call(peer: &mut NtlmRpcPeer, b: &mut Bound, stub: &[u8]) -> Result<Vec<u8>, RpcError> {
    let c = b.request(73, stub)?;
    let reply = peer.answer_call(&c.fragments).unwrap();
    match b.receive(c.call_id, &reply)? {
        Progress::Complete(s) => Ok(s),
        Progress::NeedMore => panic!("incomplete"),
    }
}

#[test]
fn privacy_round_trip_with_fragments_both_ways() {
    let mut p = peer();
    let mut b = bind(&mut p, AuthLevel::PRIVACY, 1432).unwrap();
    assert_eq!(p.bind_flags.map(|f| f.contains(PfcFlags::SUPPORT_HEADER_SIGN)), Some(true));
    assert_eq!(p.auth3_call_id, p.bind_call_id);
    assert_eq!(p.level, Some(AuthLevel::PRIVACY));
    assert_ne!(p.ntlm_flags.unwrap() & flags::SEAL, 0);
    let req = pattern(3000);
    let c = b.request(73, &req).unwrap();
    assert!(c.fragments.len() >= 3);
    for f in &c.fragments {
        assert!(f.len() <= 1432);
        // Sealed: the plaintext is not on the wire.
        let q = Request::decode(f).unwrap();
        assert!(!req.windows(32).any(|w| q.stub.windows(32).any(|x| x == w)));
    }
    p.push(SealedReply::Ok { stub: pattern(5000), fragments: 3 });
    let reply = p.answer_call(&c.fragments).unwrap();
    assert_eq!(p.calls[0], (73, req));
    assert_eq!(b.receive(c.call_id, &reply).unwrap(), Progress::Complete(pattern(5000)));
    // Sequence numbers keep going on the next call.
    p.push(SealedReply::Ok { stub: vec![9; 20], fragments: 1 });
    assert_eq!(call(&mut p, &mut b, &[1, 2, 3]).unwrap(), vec![9; 20]);
}

#[test]
fn integrity_signs_without_sealing() {
    let mut p = peer();
    let mut b = bind(&mut p, AuthLevel::INTEGRITY, 4280).unwrap();
    let req = pattern(100);
    let c = b.request(73, &req).unwrap();
    let q = Request::decode(&c.fragments[0]).unwrap();
    assert_eq!(q.stub[..100], req[..]);
    assert_eq!(q.auth.unwrap().auth_level, AuthLevel::INTEGRITY);
    p.push(SealedReply::Ok { stub: vec![5; 40], fragments: 2 });
    let reply = p.answer_call(&c.fragments).unwrap();
    assert_eq!(b.receive(c.call_id, &reply).unwrap(), Progress::Complete(vec![5; 40]));
    // A tampered signed body fails.
    p.push(SealedReply::TamperBody(vec![1; 8]));
    assert_eq!(
        call(&mut p, &mut b, &[0]).unwrap_err(),
        RpcError::Auth("response signature does not verify")
    );
}

/// Every hostile answer fails the call with a typed error and poisons the association.
#[test]
fn hostile_sealed_responses_are_rejected_and_poison() {
    let cases: [(SealedReply, RpcError); 5] = [
        (
            SealedReply::TamperBody(vec![1; 24]),
            RpcError::Auth("response signature does not verify"),
        ),
        (
            SealedReply::WrongSignature(vec![1; 24]),
            RpcError::Auth("response signature does not verify"),
        ),
        (
            SealedReply::SkipSequence(vec![1; 24]),
            RpcError::Auth("NTLM signature has an unexpected sequence number"),
        ),
        (
            SealedReply::NoVerifier(vec![1; 24]),
            RpcError::Protocol("response lacks an auth verifier"),
        ),
        (
            SealedReply::TamperHeader(vec![1; 24]),
            RpcError::Auth("response signature does not verify"),
        ),
    ];
    for (reply, want) in cases {
        let mut p = peer();
        let mut b = bind(&mut p, AuthLevel::PRIVACY, 4280).unwrap();
        p.push(reply.clone());
        assert_eq!(call(&mut p, &mut b, &[7; 10]).unwrap_err(), want, "{reply:?}");
        assert_eq!(
            b.request(1, &[]).unwrap_err(),
            RpcError::Protocol("association unusable after an earlier protocol error"),
            "{reply:?}"
        );
    }
}

#[test]
fn replayed_response_is_rejected() {
    let mut p = peer();
    let mut b = bind(&mut p, AuthLevel::PRIVACY, 4280).unwrap();
    p.push(SealedReply::Ok { stub: vec![1; 8], fragments: 1 });
    call(&mut p, &mut b, &[1]).unwrap();
    p.push(SealedReply::Replay);
    assert_eq!(
        call(&mut p, &mut b, &[1]).unwrap_err(),
        RpcError::Auth("NTLM signature has an unexpected sequence number")
    );
}

#[test]
fn bind_leg_problems_are_typed() {
    // No header signing from the server.
    let mut p = peer();
    p.header_signing = false;
    assert_eq!(
        bind(&mut p, AuthLevel::PRIVACY, 4280).unwrap_err(),
        RpcAuthError::Verifier("the server did not agree to header signing")
    );
    // Levels other than INTEGRITY/PRIVACY.
    assert_eq!(NtlmRpcBind::new(creds(), AuthLevel::CONNECT).unwrap_err(), RpcAuthError::Level(2));
    // No CHALLENGE, or one for another level.
    let (nb, v) = NtlmRpcBind::new(creds(), AuthLevel::PRIVACY).unwrap();
    let mut rng = FixedRandom::new(vec![1]);
    assert!(matches!(nb.authenticate(None, true, &mut rng, 0), Err(RpcAuthError::Verifier(_))));
    let (nb, _) = NtlmRpcBind::new(creds(), AuthLevel::PRIVACY).unwrap();
    let other = AuthVerifier { auth_level: AuthLevel::INTEGRITY, ..v.clone() };
    assert!(matches!(
        nb.authenticate(Some(&other), true, &mut rng, 0),
        Err(RpcAuthError::Verifier(_))
    ));
    // A garbage CHALLENGE.
    let (nb, _) = NtlmRpcBind::new(creds(), AuthLevel::PRIVACY).unwrap();
    let garbage = AuthVerifier { auth_value: b"not ntlm".to_vec(), ..v };
    assert!(matches!(
        nb.authenticate(Some(&garbage), true, &mut rng, 0),
        Err(RpcAuthError::Ntlm(_))
    ));
}

#[test]
fn installing_auth_after_a_call_is_refused() {
    let mut p = peer();
    let mut b = bind(&mut p, AuthLevel::PRIVACY, 4280).unwrap();
    p.push(SealedReply::Ok { stub: vec![], fragments: 1 });
    call(&mut p, &mut b, &[]).unwrap();
    let (k, f) = (crate::secret::SessionKey::new([1; 16]), flags::CLIENT_DEFAULT);
    assert!(
        b.set_auth(Box::new(NtlmPduAuth::new(NtlmSealer::new(&k, f), AuthLevel::PRIVACY))).is_err()
    );
}

#[test]
fn debug_hides_keys() {
    let k = crate::secret::SessionKey::new([0xAB; 16]);
    let a = NtlmPduAuth::new(NtlmSealer::new(&k, flags::CLIENT_DEFAULT), AuthLevel::PRIVACY);
    let s = format!("{a:?}");
    assert!(!s.contains("171") && !s.to_lowercase().contains("ab"), "{s}");
}

/// A CHALLENGE without SEAL cannot give packet privacy (a downgrade to signing only is
/// refused, not silently accepted); integrity still works without it.
#[test]
fn challenge_without_seal_is_refused_at_privacy() {
    let mut p = peer();
    p.clear_challenge_flags(flags::SEAL);
    assert_eq!(
        bind(&mut p, AuthLevel::PRIVACY, 4280).unwrap_err(),
        RpcAuthError::Ntlm(AuthError::WeakNegotiation("NTLMSSP_NEGOTIATE_SEAL"))
    );
    let mut p = peer();
    p.clear_challenge_flags(flags::SEAL);
    let mut b = bind(&mut p, AuthLevel::INTEGRITY, 4280).unwrap();
    p.push(SealedReply::Ok { stub: vec![3; 4], fragments: 1 });
    assert_eq!(call(&mut p, &mut b, &[1]).unwrap(), vec![3; 4]);
}
