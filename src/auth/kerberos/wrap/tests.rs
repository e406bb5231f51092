use super::*;
use crate::auth::kerberos::crypto::Etype;
use crate::auth::kerberos::messages::{ApRep, ApReq, Authenticator, EncApRepPart};
use crate::rng::SecureRandom;

// rpcclient ↔ Samba 4.22 over ncacn_ip_tcp with Kerberos at PRIVACY:
// tests/vectors/samba-dc-tcp-krb5 (see PROVENANCE.md there).
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/samba-dc-tcp-krb5/");

fn vector(name: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(format!("{DIR}{name}.hex")).unwrap();
    let t = text.trim();
    (0..t.len()).step_by(2).map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap()).collect()
}

fn auth_value(pdu: &[u8]) -> &[u8] {
    let len = usize::from(u16::from_le_bytes([pdu[10], pdu[11]]));
    &pdu[pdu.len() - len..]
}

/// The captured context: (acceptor subkey, initiator seq, acceptor seq).
fn captured_context() -> (KerberosKey, u64, u64) {
    captured_context_of("")
}

/// The same for the capture whose files start with `prefix` ("" sealed, "sign-" signed).
fn captured_context_of(prefix: &str) -> (KerberosKey, u64, u64) {
    let session =
        KerberosKey::new(Etype::Aes256CtsHmacSha196, &vector("ticket-session-key")).unwrap();
    let ap_req = ApReq::decode(auth_value(&vector(&format!("{prefix}bind")))).unwrap();
    let auth =
        Authenticator::decode(&session.decrypt(11, &ap_req.authenticator.cipher).unwrap()).unwrap();
    let ap_rep = ApRep::decode(auth_value(&vector(&format!("{prefix}bind-ack")))).unwrap();
    let part =
        EncApRepPart::decode(&session.decrypt(12, &ap_rep.enc_part.cipher).unwrap()).unwrap();
    let sub = part.subkey.unwrap();
    let key = KerberosKey::from_number(sub.keytype, sub.value.expose()).unwrap();
    (key, u64::from(auth.seq_number.unwrap()), u64::from(part.seq_number.unwrap()))
}

/// Split a request/response PDU (24-byte header + fields) into (head, data, tail, token).
fn split(pdu: &mut [u8]) -> (DceBuffers<'_>, Vec<u8>) {
    let auth_len = usize::from(u16::from_le_bytes([pdu[10], pdu[11]]));
    let trailer = pdu.len() - auth_len - 8;
    let token = pdu[trailer + 8..].to_vec();
    let (head, rest) = pdu.split_at_mut(24);
    let (data, rest) = rest.split_at_mut(trailer - 24);
    (DceBuffers { head, data, tail: &rest[..8] }, token)
}

struct Fixed([u8; 16]);
impl SecureRandom for Fixed {
    fn fill(&mut self, dest: &mut [u8]) {
        dest.copy_from_slice(&self.0[..dest.len()]);
    }
}

#[test]
fn captured_request_opens_and_is_reproduced_byte_for_byte() {
    let (key, client_seq, server_seq) = captured_context();
    assert_eq!((client_seq, server_seq), (92_124_486, 687_420_064));
    let captured = vector("req");
    // The server's view opens the client's token: layout, checksum order and keys are right.
    let mut server = CfxContext::new(key.clone(), false, true, server_seq, client_seq).unwrap();
    let mut pdu = captured.clone();
    let (bufs, token) = split(&mut pdu);
    assert_eq!(token.len(), DCE_WRAP_LEN);
    server.unwrap_dce(bufs, &token).unwrap();
    assert_eq!(server.recv_seq(), client_seq + 1);
    let plain = pdu.clone();
    // Recover the confounder the client drew (the first block of C, at the token's end).
    let ke = usage_key(key.expose(), 24, KE).unwrap();
    let n = plain.len() - DCE_WRAP_LEN - 8 - 24;
    let mut c = token[token.len() - 16..].to_vec();
    c.extend_from_slice(&captured[24..24 + n]);
    c.extend_from_slice(&token[16..48]);
    let p = aes_cts_decrypt(&ke, &c).unwrap();
    let mut conf = [0u8; 16];
    conf.copy_from_slice(&p[..16]);
    // Our client side seals the plaintext into exactly the captured PDU.
    let mut client = CfxContext::new(key, true, true, client_seq, server_seq).unwrap();
    let mut again = plain;
    let (bufs, _) = split(&mut again);
    let ours = client.wrap_dce(bufs, &mut Fixed(conf)).unwrap();
    let at = again.len() - DCE_WRAP_LEN;
    again[at..].copy_from_slice(&ours);
    assert_eq!(again, captured);
    assert_eq!(client.send_seq(), client_seq + 1);
}

#[test]
fn captured_response_opens_to_the_policy_answer() {
    let (key, client_seq, server_seq) = captured_context();
    let mut client = CfxContext::new(key, true, true, client_seq, server_seq).unwrap();
    let mut pdu = vector("resp");
    let (bufs, token) = split(&mut pdu);
    client.unwrap_dce(bufs, &token).unwrap();
    // SamrGetDomainPasswordInformation: min length 7, properties 1 (COMPLEX), status 0.
    assert_eq!(&pdu[24..32], &[7, 0, 0, 0, 1, 0, 0, 0]);
    assert_eq!(&pdu[32..36], &[0, 0, 0, 0]);
    assert_eq!(client.recv_seq(), server_seq + 1);
}

/// The signed (INTEGRITY) capture: MIC tokens over the whole PDU, header through sec_trailer.
#[test]
fn captured_signed_request_and_response_verify_and_are_reproduced() {
    let (key, client_seq, server_seq) = captured_context_of("sign-");
    let req = vector("sign-req");
    let signed_end = req.len() - MIC_LEN;
    let mut server = CfxContext::new(key.clone(), false, true, server_seq, client_seq).unwrap();
    server.verify_mic(&[&req[..signed_end]], &req[signed_end..]).unwrap();
    let mut client = CfxContext::new(key, true, true, client_seq, server_seq).unwrap();
    assert_eq!(client.get_mic(&[&req[..signed_end]]).unwrap(), &req[signed_end..]);
    let resp = vector("sign-resp");
    let signed_end = resp.len() - MIC_LEN;
    client.verify_mic(&[&resp[..signed_end]], &resp[signed_end..]).unwrap();
    assert_eq!(&resp[24..32], &[7, 0, 0, 0, 1, 0, 0, 0], "the stub is in clear");
}

fn pair() -> (CfxContext, CfxContext) {
    let key = KerberosKey::new(Etype::Aes128CtsHmacSha196, &[7u8; 16]).unwrap();
    (
        CfxContext::new(key.clone(), true, true, 10, 500).unwrap(),
        CfxContext::new(key, false, true, 500, 10).unwrap(),
    )
}

fn sealed(client: &mut CfxContext, stub: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let head = vec![5u8; 24];
    let tail = vec![16u8, 6, 0, 0, 0, 0, 0, 0];
    let mut data = stub.to_vec();
    let token = client
        .wrap_dce(DceBuffers { head: &head, data: &mut data, tail: &tail }, &mut Fixed([9; 16]))
        .unwrap();
    (head, data, tail, token)
}

#[test]
fn round_trip_and_every_tampered_byte_fails() {
    let (mut c, mut s) = pair();
    let stub = b"sixteen byte stub plus more bytes".to_vec();
    let (head, data, tail, token) = sealed(&mut c, &stub);
    assert_ne!(data, stub);
    for (which, len) in [(0usize, head.len()), (1, data.len()), (2, tail.len()), (3, token.len())] {
        for i in 0..len {
            let (mut h, mut d, mut t, mut k) =
                (head.clone(), data.clone(), tail.clone(), token.clone());
            match which {
                0 => h[i] ^= 1,
                1 => d[i] ^= 1,
                2 => t[i] ^= 1,
                _ => k[i] ^= 1,
            }
            let (_, mut s2) = pair();
            let before = d.clone();
            assert!(
                s2.unwrap_dce(DceBuffers { head: &h, data: &mut d, tail: &t }, &k).is_err(),
                "{which}/{i}"
            );
            assert_eq!(d, before, "data must be left as received on failure");
        }
    }
    let mut d = data.clone();
    s.unwrap_dce(DceBuffers { head: &head, data: &mut d, tail: &tail }, &token).unwrap();
    assert_eq!(d, stub);
    // A replay (same sequence number again) fails.
    let mut d = data;
    assert_eq!(
        s.unwrap_dce(DceBuffers { head: &head, data: &mut d, tail: &tail }, &token),
        Err(WrapError("wrap token has an unexpected sequence number"))
    );
}

#[test]
fn own_tokens_and_wrong_direction_are_refused() {
    let (mut c, _) = pair();
    let (head, data, tail, token) = sealed(&mut c, &[1u8; 32]);
    // The client cannot open its own token as if the server had sent it (flags, usage).
    let (mut c2, _) = pair();
    let mut d = data;
    assert!(c2.unwrap_dce(DceBuffers { head: &head, data: &mut d, tail: &tail }, &token).is_err());
}

#[test]
fn truncated_and_oversized_tokens_are_refused() {
    let (mut c, _) = pair();
    let (head, data, tail, token) = sealed(&mut c, &[1u8; 32]);
    for n in 0..token.len() {
        let (_, mut s) = pair();
        let mut d = data.clone();
        assert!(
            s.unwrap_dce(DceBuffers { head: &head, data: &mut d, tail: &tail }, &token[..n])
                .is_err()
        );
    }
    let mut long = token.clone();
    long.push(0);
    let (_, mut s) = pair();
    let mut d = data.clone();
    assert!(s.unwrap_dce(DceBuffers { head: &head, data: &mut d, tail: &tail }, &long).is_err());
    // An EC beyond the cap is refused before anything is allocated for it.
    let mut big_ec = token;
    big_ec[4..6].copy_from_slice(&0xffffu16.to_be_bytes());
    let (_, mut s) = pair();
    let mut d = data;
    assert_eq!(
        s.unwrap_dce(DceBuffers { head: &head, data: &mut d, tail: &tail }, &big_ec),
        Err(WrapError("wrap token has an unsupported EC or RRC"))
    );
}

#[test]
fn mic_round_trip_and_tamper() {
    let (mut c, mut s) = pair();
    let pdu = b"a whole pdu from header to sec_trailer".to_vec();
    let mic = c.get_mic(&[&pdu]).unwrap();
    assert_eq!(mic.len(), MIC_LEN);
    assert_eq!(&mic[..8], &[4, 4, FLAG_ACCEPTOR_SUBKEY, 0xff, 0xff, 0xff, 0xff, 0xff]);
    for i in 0..mic.len() {
        let mut m = mic.clone();
        m[i] ^= 0x80;
        let (_, mut s2) = pair();
        assert!(s2.verify_mic(&[&pdu], &m).is_err(), "{i}");
    }
    let mut other = pdu.clone();
    other[0] ^= 1;
    let (_, mut s2) = pair();
    assert!(s2.verify_mic(&[&other], &mic).is_err());
    s.verify_mic(&[&pdu], &mic).unwrap();
    assert!(s.verify_mic(&[&pdu], &mic).is_err(), "replayed MIC");
}

#[test]
fn rc4_keys_are_refused() {
    let key = KerberosKey::new(Etype::Rc4Hmac, &[1u8; 16]).unwrap();
    assert!(CfxContext::new(key, true, true, 0, 0).is_err());
}

#[test]
fn debug_hides_the_key() {
    let (c, _) = pair();
    let s = format!("{c:?}");
    assert!(!s.contains("7, 7"), "{s}");
    assert!(s.contains("send_seq"));
}
