//! Fuzzing entry points, not part of the supported API.
//!
//! Every decoder that reads peer (server) bytes is reachable from one of these functions. The
//! cargo-fuzz targets in `fuzz/fuzz_targets/` are one line each calling the function of the same
//! name, and `tests/fuzz_corpus.rs` replays the committed corpora through the same functions on
//! stable Rust, so a regression input fails plain `cargo test`.
//!
//! Each entry point takes arbitrary bytes and must never panic, except through the assertions
//! written here: where a type has an encoder, whatever decodes is re-encoded and must decode to
//! an equal value. No MAC check is bypassed: where a path sits behind a MAC (the SAMR AES
//! AEAD), the entry point computes a valid tag over the fuzzed ciphertext with the same key
//! derivation the crate uses, so the fuzzer reaches the code after the check, and separately
//! checks that a wrong tag is rejected.
//!
//! Targets: [`smb2_message`], [`smb2_transform`], [`smb2_connection`],
//! [`smb2_signed_receive`], [`ntlm`], [`spnego`],
//! [`dcerpc_pdu`], [`dcerpc_association`], [`samr_stub`], [`ndr`], [`samr_crypto`],
//! [`krb_kdc_reply`], [`krb_error`], [`krb_ap_rep`], [`krb_kpasswd_reply`], [`ccache`],
//! [`krb5conf`], [`krb_crypto`], [`epm`], [`rpc_sealed`], [`dns_srv`], [`rpc_krb_sealed`]. [`ALL`] maps the corpus directory
//! names to them.
// The assertions here are the point of the module: a fuzzer reports a failed round trip as a
// crash. Nothing outside fuzzing and tests calls these functions.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use core::fmt::Debug;

use crate::auth::spnego::{NegTokenInit, NegTokenResp, SpnegoToken};
use crate::auth::{Authenticator, NtlmCredentials, SpnegoNtlm, Step};
use crate::crypto::{self, EncryptedPasswordAes, EncryptedUserPassword, EncryptedUserPasswordNew};
use crate::dcerpc::{Progress, decode_pdu};
use crate::ndr::{
    ContextHandle, Ndr, NdrReader, NdrWriter, OldLargeInteger, RpcSid, RpcUnicodeString, Stub,
    WString, decode_stub,
};
use crate::rng::SecureRandom;
use crate::samr::{self, Call};
use crate::secret::{Key16, NtHash, Password, SessionKey};
use crate::smb2::{self, Connection, ConnectionConfig, Header, Received};
use crate::wire::Writer;

/// A named entry point, for corpus replay.
pub type Target = (&'static str, fn(&[u8]));

/// Every entry point with the name of its cargo-fuzz target (= its corpus directory).
pub const ALL: [Target; 22] = [
    ("smb2_message", smb2_message),
    ("smb2_transform", smb2_transform),
    ("smb2_connection", smb2_connection),
    ("smb2_signed_receive", smb2_signed_receive),
    ("ntlm", ntlm),
    ("spnego", spnego),
    ("dcerpc_pdu", dcerpc_pdu),
    ("dcerpc_association", dcerpc_association),
    ("samr_stub", samr_stub),
    ("ndr", ndr),
    ("samr_crypto", samr_crypto),
    ("krb_kdc_reply", krb_kdc_reply),
    ("krb_error", krb_error),
    ("krb_ap_rep", krb_ap_rep),
    ("krb_kpasswd_reply", krb_kpasswd_reply),
    ("ccache", ccache),
    ("krb5conf", krb5conf),
    ("krb_crypto", krb_crypto),
    ("epm", epm),
    ("rpc_sealed", rpc_sealed),
    ("dns_srv", dns_srv),
    ("rpc_krb_sealed", rpc_krb_sealed),
];

/// The entry point for a target name.
pub fn by_name(name: &str) -> Option<fn(&[u8])> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// A deterministic byte stream standing in for the CSPRNG (fuzzing must be reproducible).
struct Counter(u8);

impl SecureRandom for Counter {
    fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
            *b = self.0;
        }
    }
}

/// Split `data` into frames, each prefixed by a little-endian u16 length (the last frame takes
/// whatever remains if its prefix runs past the end).
fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let n = usize::from(u16::from_le_bytes([data[0], data[1]]));
        let rest = &data[2..];
        let n = n.min(rest.len());
        out.push(&rest[..n]);
        data = &rest[n..];
    }
    out
}

// ---- SMB2 ----

/// A whole SMB2 message (64-byte header and body, as after the direct-TCP frame header): the
/// header decoder with an exact re-encode check, then every response body decoder (the one the
/// command names, and all the others too, since each must reject foreign bodies cleanly), the
/// error body, FSCTL_VALIDATE_NEGOTIATE_INFO output, and the frame-length check on the first 4
/// bytes.
pub fn smb2_message(data: &[u8]) {
    use smb2::{close, create, error, ioctl, logoff, negotiate, read, session_setup};
    use smb2::{tree_connect, write};
    if let Ok(h) = Header::decode(data) {
        let mut w = Writer::new();
        h.encode(&mut w);
        let bytes = w.into_vec();
        assert_eq!(&bytes[..], &data[..Header::LEN], "SMB2 header re-encode");
        assert_eq!(Header::decode(&bytes).as_ref(), Ok(&h));
    }
    let _ = negotiate::NegotiateResponse::decode(data);
    let _ = session_setup::SessionSetupResponse::decode(data);
    let _ = tree_connect::TreeConnectResponse::decode(data);
    let _ = create::CreateResponse::decode(data);
    let _ = close::decode_response(data);
    let _ = read::ReadResponse::decode(data);
    let _ = write::decode_response(data);
    let _ = logoff::decode_response(data);
    let _ = error::ErrorResponse::decode(data);
    if let Ok(r) = ioctl::IoctlResponse::decode(data) {
        let _ = ioctl::ValidateNegotiateInfo::decode(&r.output);
    }
    let _ = ioctl::ValidateNegotiateInfo::decode(data);
    let mut r = crate::wire::Reader::new(data);
    if let Ok(id) = create::FileId::decode(&mut r) {
        let mut w = Writer::new();
        id.encode(&mut w);
        assert_eq!(&w.into_vec()[..], &data[..16], "FileId re-encode");
    }
    if let Some(hdr) = data.first_chunk::<{ smb2::framing::FRAME_HEADER_LEN }>() {
        let _ = smb2::framing::parse_frame_len(*hdr, 1 << 20);
    }
}

/// The SMB 3.x TRANSFORM_HEADER: decode with an exact re-encode check, open (decrypt and
/// authenticate) with fixed keys under every cipher (garbage must fail cleanly), and a seal/open
/// round trip of the input as plaintext.
pub fn smb2_transform(data: &[u8]) {
    use smb2::keys::CipherKey;
    use smb2::transform::{self, TRANSFORM_HEADER_LEN, TransformHeader};
    if let Ok(th) = TransformHeader::decode(data) {
        let mut w = Writer::new();
        th.encode(&mut w);
        let bytes = w.into_vec();
        assert_eq!(bytes.len(), TRANSFORM_HEADER_LEN);
        // Reserved (bytes 40..42) is not kept.
        assert_eq!(&bytes[..40], &data[..40], "TRANSFORM_HEADER re-encode");
        assert_eq!(&bytes[42..], &data[42..TRANSFORM_HEADER_LEN], "TRANSFORM_HEADER re-encode");
        assert_eq!(TransformHeader::decode(&bytes).as_ref(), Ok(&th));
    }
    for cipher in smb2::Cipher::PREFERENCE {
        let key = if cipher.is_256() {
            CipherKey::Aes256(crate::secret::Key32::new([0x5A; 32]))
        } else {
            CipherKey::Aes128(Key16::new([0x5A; 16]))
        };
        let _ = transform::open(cipher, &key, data);
        if data.len() <= 4096 {
            let sealed = transform::seal(cipher, &key, [0x11; 16], 7, data).expect("seal");
            let (th, plain) = transform::open(cipher, &key, &sealed).expect("open sealed");
            assert_eq!(plain, data, "seal/open round trip ({cipher})");
            assert_eq!(th.session_id, 7);
        }
    }
}

/// The client connection state machine fed server messages: input = frames with a u16 length
/// prefix; the first answers NEGOTIATE (MessageId 0), the following ones answer SESSION_SETUP
/// requests with an opaque token, until one fails.
pub fn smb2_connection(data: &[u8]) {
    let mut rng = Counter(1);
    let cfg = ConnectionConfig { require_signing: false, ..ConnectionConfig::default() };
    let Ok(mut conn) = Connection::new(cfg, &mut rng) else { return };
    let frames = frames(data);
    let mut it = frames.into_iter();
    if conn.negotiate_request().is_err() {
        return;
    }
    let Some(first) = it.next() else { return };
    let resp = match conn.receive(first) {
        Ok(Received::Final(r)) => r,
        _ => return,
    };
    if conn.handle_negotiate(&resp).is_err() {
        return;
    }
    let _ = conn.info();
    for msg in it {
        if conn.session_setup_request(b"token").is_err() {
            return;
        }
        let resp = match conn.receive(msg) {
            Ok(Received::Final(r)) => r,
            Ok(Received::Interim { .. }) => continue,
            Err(_) => return,
        };
        match conn.handle_session_setup(&resp) {
            Ok(smb2::connection::SetupStep::More { .. }) => {}
            Ok(smb2::connection::SetupStep::Success { .. }) => {
                let _ = conn.complete_session(Some(SessionKey::new([3; 16])));
                return;
            }
            Err(_) => return,
        }
    }
}

/// A minimal server NEGOTIATE response for `dialect` (no contexts, signing required, no
/// encryption capability) answering MessageId 0 ([MS-SMB2] 2.2.4).
fn negotiate_answer(dialect: smb2::Dialect) -> Vec<u8> {
    use smb2::negotiate::{CAP_LARGE_MTU, SIGNING_ENABLED, SIGNING_REQUIRED};
    let mut m =
        server_header(smb2::Command::NEGOTIATE, 0, crate::status::NtStatus::STATUS_SUCCESS, 0, 1);
    let mut w = Writer::new();
    w.u16(65).u16(SIGNING_ENABLED | SIGNING_REQUIRED).u16(dialect.0).u16(0);
    w.bytes(&[0xAB; 16]).u32(CAP_LARGE_MTU).u32(65536).u32(65536).u32(65536).u64(0).u64(0);
    w.u16(128).u16(2).u32(0);
    w.bytes(&[0x60, 0x00]);
    m.extend(w.into_vec());
    m
}

/// A response header (64 bytes) from the server.
fn server_header(
    command: smb2::Command,
    message_id: u64,
    status: crate::status::NtStatus,
    session_id: u64,
    credits: u16,
) -> Vec<u8> {
    let mut h = Header::request(command, message_id, session_id, 0);
    h.flags = smb2::header::FLAG_SERVER_TO_REDIR;
    h.status = status;
    h.credits = credits;
    let mut w = Writer::new();
    h.encode(&mut w);
    w.into_vec()
}

/// A SESSION_SETUP response body ([MS-SMB2] 2.2.6).
fn session_setup_answer(flags: u16, token: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(9).u16(flags).u16(72).u16(token.len() as u16).bytes(token);
    w.into_vec()
}

/// The SMB signature check inside [`Connection::receive`] (and what follows it) on an
/// established, **signed** session (issue 14 item 4). The harness logs on with a fixed session
/// key over 2.1, 3.0 or 3.0.2 (first byte), so it knows the signing key; then each frame
/// (u16 length prefix, one control byte first) answers a request the connection just made
/// (tree connect, create, transceive, read, write, close, a re-authentication leg, or the
/// teardown compound). Control bits: 0x01 patch the MessageId to the outstanding request's,
/// 0x02 patch the SessionId to the session's, 0x04 sign the message with the session's key
/// (so the fuzzer reaches the code after a valid MAC; no MAC check is bypassed), the high
/// bits choose the request. Without 0x04 the message must be refused unless it is a status
/// the client does not verify: checked here.
pub fn smb2_signed_receive(data: &[u8]) {
    use crate::status::NtStatus;
    use smb2::connection::SetupStep;
    use smb2::keys::{default_signing, derive_session_keys};
    let Some((&choice, rest)) = data.split_first() else { return };
    let dialect = [smb2::Dialect::SMB210, smb2::Dialect::SMB300, smb2::Dialect::SMB302]
        [usize::from(choice % 3)];
    let mut rng = Counter(5);
    let cfg = ConnectionConfig::default();
    let Ok(mut conn) = Connection::new(cfg, &mut rng) else { return };
    let sid: u64 = 0x0000_1000_0000_0041;
    let sk = SessionKey::new([0x5C; 16]);
    let keys = derive_session_keys(&sk, dialect, None, None);
    let alg = default_signing(dialect);
    // Log on: NEGOTIATE, then two SESSION_SETUP legs, the final one signed.
    let setup = (|| {
        conn.negotiate_request().ok()?;
        let Ok(Received::Final(r)) = conn.receive(&negotiate_answer(dialect)) else { return None };
        conn.handle_negotiate(&r).ok()?;
        let out = conn.session_setup_request(b"negotiate").ok()?;
        let mut m = server_header(
            smb2::Command::SESSION_SETUP,
            out.message_id,
            NtStatus::STATUS_MORE_PROCESSING_REQUIRED,
            sid,
            32,
        );
        m.extend(session_setup_answer(0, b"challenge"));
        let Ok(Received::Final(r)) = conn.receive(&m) else { return None };
        conn.handle_session_setup(&r).ok()?;
        let out = conn.session_setup_request(b"authenticate").ok()?;
        let mut m = server_header(
            smb2::Command::SESSION_SETUP,
            out.message_id,
            NtStatus::STATUS_SUCCESS,
            sid,
            32,
        );
        m.extend(session_setup_answer(0, b"done"));
        crate::smb2::signing::sign(&mut m, alg, &keys.signing)?;
        let Ok(Received::Final(r)) = conn.receive(&m) else { return None };
        conn.handle_session_setup(&r).ok()?;
        conn.complete_session(Some(sk.clone())).ok()
    })();
    assert!(setup.is_some(), "the harness logon must succeed");
    assert!(conn.info().is_some_and(|i| i.signing), "the session signs");
    let file_id = smb2::create::FileId::default();
    for frame in frames(rest) {
        let Some((&ctl, body)) = frame.split_first() else { continue };
        let out = match ctl >> 4 {
            0 => conn.tree_connect_request("srv").map(|o| (o.message_id, o.command)),
            1 => conn.create_pipe_request("samr").map(|o| (o.message_id, o.command)),
            2 => conn.transceive_request(file_id, b"pdu").map(|o| (o.message_id, o.command)),
            3 => conn.read_request(file_id).map(|o| (o.message_id, o.command)),
            4 => conn.write_request(file_id, b"pdu").map(|o| (o.message_id, o.command)),
            5 => conn.close_request(file_id).map(|o| (o.message_id, o.command)),
            6 => conn.reauth_request(b"token").map(|o| (o.message_id, o.command)),
            7 => conn.validate_negotiate_request().map(|o| (o.message_id, o.command)),
            _ => {
                // The teardown compound, answered by the frame as a chain.
                if conn.teardown_compound(file_id).is_err() {
                    return;
                }
                let _ = conn.receive_chain(body);
                continue;
            }
        };
        let Ok((message_id, command)) = out else { return };
        let mut msg = body.to_vec();
        if msg.len() >= smb2::HEADER_LEN {
            if ctl & 0x01 != 0 {
                msg[24..32].copy_from_slice(&message_id.to_le_bytes());
            }
            if ctl & 0x02 != 0 {
                msg[40..48].copy_from_slice(&sid.to_le_bytes());
            }
            if ctl & 0x04 != 0 {
                let _ = crate::smb2::signing::sign(&mut msg, alg, &keys.signing);
            }
        }
        let signed_by_us = ctl & 0x04 != 0;
        let received = match conn.receive(&msg) {
            Ok(r) => r,
            Err(_) => continue,
        };
        let resp = match received {
            Received::Interim { .. } => continue,
            Received::Final(r) => r,
        };
        // The property under test: on a signing session, a final response the harness did
        // not sign is accepted only where the client deliberately skips the check (SESSION_SETUP
        // answers, verified by handle_reauth / complete_session).
        if !signed_by_us && resp.header.command != smb2::Command::SESSION_SETUP {
            panic!(
                "an unsigned or forged {:?} response passed the signature check",
                resp.header.command
            );
        }
        let _ = command;
        let _ = match resp.header.command {
            smb2::Command::TREE_CONNECT => conn.handle_tree_connect(&resp).map(|_| ()),
            smb2::Command::CREATE => conn.handle_create(&resp).map(|_| ()),
            smb2::Command::IOCTL => conn.handle_transceive(&resp).map(|_| ()),
            smb2::Command::READ => conn.handle_read(&resp).map(|_| ()),
            smb2::Command::WRITE => conn.handle_write(&resp).map(|_| ()),
            smb2::Command::CLOSE => conn.handle_close(&resp),
            smb2::Command::SESSION_SETUP => match conn.handle_reauth(&resp) {
                Ok(SetupStep::Success { .. }) => {
                    assert!(
                        signed_by_us || resp.encrypted,
                        "an unsigned re-authentication answer was accepted"
                    );
                    Ok(())
                }
                Ok(SetupStep::More { .. }) => Ok(()),
                Err(e) => Err(e),
            },
            _ => Ok(()),
        };
    }
}

// ---- NTLM / SPNEGO ----

/// NTLM messages: CHALLENGE (with a re-encode round trip), and the NEGOTIATE and AUTHENTICATE
/// decoders (a scripted server's side), AV_PAIR lists; then the client's NTLM step fed the input
/// as the server's CHALLENGE.
pub fn ntlm(data: &[u8]) {
    use crate::auth::ntlm::{AvPairs, Negotiate};
    if let Ok(c) = crate::auth::decode_challenge(data) {
        let again = c.encode();
        assert_eq!(crate::auth::decode_challenge(&again).as_ref(), Ok(&c), "CHALLENGE round trip");
    }
    if let Ok(n) = Negotiate::decode(data) {
        assert_eq!(Negotiate::decode(&n.encode()).as_ref(), Ok(&n), "NEGOTIATE round trip");
    }
    if let Ok(a) = crate::auth::decode_authenticate(data) {
        let again = a.encode();
        assert_eq!(crate::auth::decode_authenticate(&again).as_ref(), Ok(&a), "AUTH round trip");
    }
    if let Ok(p) = AvPairs::decode(data) {
        let again = p.encode();
        assert_eq!(again.len(), p.encoded_len());
        assert_eq!(AvPairs::decode(&again).as_ref(), Ok(&p), "AV_PAIR round trip");
    }
    // The client consuming the CHALLENGE inside a SPNEGO NegTokenResp.
    let resp = NegTokenResp {
        neg_state: Some(crate::auth::spnego::NegState::AcceptIncomplete),
        supported_mech: Some(crate::auth::spnego::OID_NTLMSSP.to_vec()),
        response_token: Some(data.to_vec()),
        mech_list_mic: None,
    };
    client_exchange(&[&resp.encode()]);
}

/// Run a SPNEGO/NTLM client (password credentials, fixed rng and time) against `server_tokens`.
fn client_exchange(server_tokens: &[&[u8]]) {
    let creds = NtlmCredentials::with_password(
        "user",
        Some("DOMAIN".into()),
        Password::new("Passw0rd!".into()),
    );
    let mut auth = SpnegoNtlm::new(creds);
    let mut rng = Counter(9);
    let now = 133_000_000_000_000_000;
    if auth.step(None, &mut rng, now).is_err() {
        return;
    }
    for t in server_tokens {
        match auth.step(Some(t), &mut rng, now) {
            Ok(Step::Send(_)) => {}
            Ok(Step::Done { .. }) | Err(_) => return,
        }
    }
}

/// SPNEGO tokens: [`crate::auth::decode_spnego`] with an encode/decode round trip, then the
/// client authenticator fed the input (and, for frames, a sequence of tokens) as the server's
/// answers.
pub fn spnego(data: &[u8]) {
    if let Ok(t) = crate::auth::decode_spnego(data) {
        let again = match &t {
            SpnegoToken::Init(i) => i.encode(),
            SpnegoToken::Resp(r) => r.encode(),
        };
        assert_eq!(crate::auth::decode_spnego(&again).as_ref(), Ok(&t), "SPNEGO round trip");
    }
    let _ = NegTokenInit::decode(data);
    client_exchange(&[data]);
    let f = frames(data);
    if f.len() > 1 {
        client_exchange(&f);
    }
}

// ---- DCE/RPC ----

/// One connection-oriented PDU: [`decode_pdu`] with an encode/decode round trip.
pub fn dcerpc_pdu(data: &[u8]) {
    if let Ok(p) = decode_pdu(data) {
        let again = p.encode().expect("a decoded PDU encodes");
        assert_eq!(decode_pdu(&again).as_ref(), Ok(&p), "PDU round trip");
    }
}

/// The association's receive path: a bound association with a call in progress is fed the
/// input as the server's answer, whole, and again split into u16-length-prefixed chunks.
pub fn dcerpc_association(data: &[u8]) {
    use crate::dcerpc::testing::bound_with_pending_call;
    let Ok((mut bound, call_id)) = bound_with_pending_call() else { return };
    let _ = bound.receive(call_id, data);
    let Ok((mut bound, call_id)) = bound_with_pending_call() else { return };
    for chunk in frames(data) {
        match bound.receive(call_id, chunk) {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Complete(_)) | Err(_) => return,
        }
    }
}

/// The endpoint mapper decoders: the input as a protocol tower (a decoded tower re-encodes to
/// the same bytes; a TCP/IP endpoint read from it round-trips) and as an `ept_map` response stub.
pub fn epm(data: &[u8]) {
    use crate::dcerpc::SAMR_SYNTAX;
    use crate::dcerpc::epm::{TcpEndpoint, Tower, decode_ept_map_response, decode_ept_map_towers};
    if let Ok(t) = Tower::decode(data) {
        assert_eq!(t.encode(), data, "tower round trip");
        if let Ok(e) = TcpEndpoint::from_tower(&t) {
            assert_eq!(TcpEndpoint::from_tower(&e.to_tower()), Ok(e), "endpoint round trip");
        }
    }
    if let Ok(towers) = decode_ept_map_towers(data) {
        assert!(!towers.is_empty() && towers.len() <= 16);
    }
    let _ = decode_ept_map_response(data, SAMR_SYNTAX);
}

/// The sealed (PRIVACY) receive path: a bound association with NTLM sealing (fixed key) and a
/// call in progress is fed u16-length-prefixed frames. No check is bypassed: for a frame whose
/// first byte is odd, the rest is decoded as a RESPONSE and, when it has a 16-byte verifier,
/// sealed and signed by the server side of the same keys (with the call's id) before it is
/// fed, so the fuzzer reaches the code after a valid signature; other frames are fed as they
/// are (and must not verify).
pub fn rpc_sealed(data: &[u8]) {
    use crate::auth::ntlm::{NtlmSealer, flags};
    use crate::dcerpc::AuthLevel;
    use crate::rpcauth::NtlmPduAuth;

    let key = SessionKey::new([0x42; 16]);
    let client = NtlmPduAuth::new(NtlmSealer::new(&key, flags::CLIENT_DEFAULT), AuthLevel::PRIVACY);
    let mut server =
        NtlmPduAuth::new(NtlmSealer::new_server(&key, flags::CLIENT_DEFAULT), AuthLevel::PRIVACY);
    feed_protected(Box::new(client), &mut server, data);
}

/// The shared part of [`rpc_sealed`] and [`rpc_krb_sealed`]: bind an association protected by
/// `client` (scripted BIND_ACK), start a call whose request `server` reads (keeping its
/// receive state in step), then feed the u16-length-prefixed frames of `data`; a frame whose
/// first byte is odd is decoded as a RESPONSE and, when its verifier has the length `server`
/// produces, protected by `server` for the call's id first.
fn feed_protected(
    client: Box<dyn crate::dcerpc::PduAuth>,
    server: &mut dyn crate::dcerpc::PduAuth,
    data: &[u8],
) {
    use crate::dcerpc::response::Response;
    use crate::dcerpc::testing::MockDc;
    use crate::dcerpc::{Association, AssociationConfig};

    let token_len = server.verifier().map_or(0, |v| usize::from(v.signature_len));
    let mut unbound = Association::with_auth(AssociationConfig::default(), client);
    let Ok(bind) = unbound.bind_pdu() else { return };
    let Ok(ack) = MockDc::new().answer_bind(&bind) else { return };
    let Ok(mut bound) = unbound.handle_bind_response(&ack) else { return };
    let Ok(call) = bound.request(73, &[1, 2, 3, 4]) else { return };
    // Keep the server's receive state in step (it never reads the request otherwise).
    for f in &call.fragments {
        let mut f = f.clone();
        if let Ok(l) = crate::rpcauth::testing::request_layout(&f) {
            server.unprotect(&mut f, &l).expect("our own request verifies");
        }
    }
    for frame in frames(data) {
        let mut bytes = frame.get(1..).unwrap_or_default().to_vec();
        if frame.first().is_some_and(|b| b & 1 == 1) {
            if let Ok((_, Some(layout))) = Response::decode_with_layout(&bytes) {
                if layout.auth_value.len() == token_len {
                    bytes[12..16].copy_from_slice(&call.call_id.to_le_bytes());
                    bytes[layout.auth_value.clone()].fill(0);
                    let _ = server.protect(&mut bytes, &layout);
                }
            }
        }
        match bound.receive(call.call_id, &bytes) {
            Ok(Progress::NeedMore) => {}
            Ok(Progress::Complete(_)) | Err(_) => return,
        }
    }
}

/// The Kerberos-protected receive path ([`crate::rpcauth::KrbPduAuth`], RFC 4121 AES tokens):
/// the first byte picks the level (bit 0 set: INTEGRITY, MIC tokens; else PRIVACY, wrap
/// tokens); then, as in [`rpc_sealed`], u16-length-prefixed frames are fed to a bound
/// association with a call in progress. No check is bypassed: for a frame whose first byte is
/// odd, the rest is decoded as a RESPONSE and, when its token has the level's length, it is
/// protected by the acceptor side of the same context (with the call's id) before it is fed.
pub fn rpc_krb_sealed(data: &[u8]) {
    use crate::auth::kerberos::crypto::{Etype, KerberosKey};
    use crate::auth::kerberos::wrap::CfxContext;
    use crate::dcerpc::AuthLevel;
    use crate::rpcauth::KrbPduAuth;

    let Some((&sel, data)) = data.split_first() else { return };
    let level = if sel & 1 == 1 { AuthLevel::INTEGRITY } else { AuthLevel::PRIVACY };
    let Ok(key) = KerberosKey::new(Etype::Aes256CtsHmacSha196, &[0x42; 32]) else { return };
    let (Ok(c), Ok(s)) = (
        CfxContext::new(key.clone(), true, true, 1000, 2000),
        CfxContext::new(key, false, true, 2000, 1000),
    ) else {
        return;
    };
    feed_protected(Box::new(KrbPduAuth::new(c, level)), &mut KrbPduAuth::new(s, level), data);
}

// ---- SAMR / NDR ----

fn samr_rt<C>(stub: &[u8], request: bool)
where
    C: Call + PartialEq + Debug,
    C::Response: PartialEq + Debug,
{
    if request {
        if let Ok(v) = C::from_stub(stub) {
            assert_eq!(C::from_stub(&v.to_stub()).as_ref(), Ok(&v), "{} request", C::NAME);
        }
    } else if let Ok(v) = C::decode_response(stub) {
        let again = v.to_stub();
        assert_eq!(C::decode_response(&again).as_ref(), Ok(&v), "{} response", C::NAME);
    }
}

/// SAMR stubs. The first byte selects the operation (low 4 bits index
/// [`samr::OPNUMS`]) and the direction (bit 4 set: request, else response); the rest is the
/// stub, decoded with a re-encode round trip. The untyped dispatchers
/// [`samr::decode_response`] / [`samr::decode_request`] are run too.
pub fn samr_stub(data: &[u8]) {
    use samr::*;
    let Some((&sel, stub)) = data.split_first() else { return };
    let opnum = OPNUMS[usize::from(sel & 0x0f)];
    let request = sel & 0x10 != 0;
    if request {
        let _ = decode_request(opnum, stub);
    } else {
        let _ = decode_response(opnum, stub);
    }
    match opnum {
        SamrCloseHandle::OPNUM => samr_rt::<SamrCloseHandle>(stub, request),
        SamrLookupDomainInSamServer::OPNUM => samr_rt::<SamrLookupDomainInSamServer>(stub, request),
        SamrEnumerateDomainsInSamServer::OPNUM => {
            samr_rt::<SamrEnumerateDomainsInSamServer>(stub, request)
        }
        SamrOpenDomain::OPNUM => samr_rt::<SamrOpenDomain>(stub, request),
        SamrEnumerateUsersInDomain::OPNUM => samr_rt::<SamrEnumerateUsersInDomain>(stub, request),
        SamrLookupNamesInDomain::OPNUM => samr_rt::<SamrLookupNamesInDomain>(stub, request),
        SamrOpenUser::OPNUM => samr_rt::<SamrOpenUser>(stub, request),
        SamrGetUserDomainPasswordInformation::OPNUM => {
            samr_rt::<SamrGetUserDomainPasswordInformation>(stub, request)
        }
        SamrQueryInformationDomain2::OPNUM => samr_rt::<SamrQueryInformationDomain2>(stub, request),
        SamrQueryInformationUser2::OPNUM => samr_rt::<SamrQueryInformationUser2>(stub, request),
        SamrUnicodeChangePasswordUser2::OPNUM => {
            samr_rt::<SamrUnicodeChangePasswordUser2>(stub, request)
        }
        SamrGetDomainPasswordInformation::OPNUM => {
            samr_rt::<SamrGetDomainPasswordInformation>(stub, request)
        }
        SamrConnect2::OPNUM => samr_rt::<SamrConnect2>(stub, request),
        SamrSetInformationUser2::OPNUM => samr_rt::<SamrSetInformationUser2>(stub, request),
        SamrConnect5::OPNUM => samr_rt::<SamrConnect5>(stub, request),
        SamrUnicodeChangePasswordUser4::OPNUM => {
            samr_rt::<SamrUnicodeChangePasswordUser4>(stub, request)
        }
        _ => {}
    }
}

fn ndr_rt<T: Ndr + PartialEq + Debug>(stub: &[u8], unique: bool) {
    if unique {
        if let Ok(v) = decode_stub(stub, |r: &mut NdrReader<'_>| r.unique::<T>("fuzz")) {
            let mut w = NdrWriter::new();
            w.unique(v.as_ref());
            let again = w.into_vec();
            let back = decode_stub(&again, |r: &mut NdrReader<'_>| r.unique::<T>("fuzz"));
            assert_eq!(back.as_ref(), Ok(&v), "NDR unique round trip");
        }
    } else if let Ok(v) = decode_stub(stub, |r: &mut NdrReader<'_>| r.read::<T>()) {
        let mut w = NdrWriter::new();
        w.write(&v);
        let again = w.into_vec();
        let back = decode_stub(&again, |r: &mut NdrReader<'_>| r.read::<T>());
        assert_eq!(back.as_ref(), Ok(&v), "NDR round trip");
    }
}

/// The NDR reader and every NDR type SAMR responses are built from. The first byte selects the
/// type (low 4 bits) and whether it is read as a top-level `[unique]` pointer (bit 4); the rest
/// is the stub, decoded with a re-encode round trip. Conformant arrays of `u32` and the raw
/// primitive readers are exercised for selectors without a type.
pub fn ndr(data: &[u8]) {
    use samr::*;
    let Some((&sel, stub)) = data.split_first() else { return };
    let u = sel & 0x10 != 0;
    match sel & 0x0f {
        0 => ndr_rt::<RpcUnicodeString>(stub, u),
        1 => ndr_rt::<WString>(stub, u),
        2 => ndr_rt::<ContextHandle>(stub, u),
        3 => ndr_rt::<OldLargeInteger>(stub, u),
        4 => ndr_rt::<RpcSid>(stub, u),
        5 => ndr_rt::<UlongArray>(stub, u),
        6 => ndr_rt::<RidEnumeration>(stub, u),
        7 => ndr_rt::<EnumerationBuffer>(stub, u),
        8 => ndr_rt::<UserDomainPasswordInformation>(stub, u),
        9 => ndr_rt::<DomainPasswordInformation>(stub, u),
        10 => ndr_rt::<DomainLockoutInformation>(stub, u),
        11 => ndr_rt::<LogonHours>(stub, u),
        12 => ndr_rt::<UserAllInformation>(stub, u),
        13 => {
            let _ = decode_stub(stub, |r: &mut NdrReader<'_>| r.conformant_array::<RpcSid>("f"));
        }
        14 => {
            let _ = decode_stub(stub, |r: &mut NdrReader<'_>| {
                let n = r.conformance(1 << 16, "f")?;
                r.u32_values(n, "f")
            });
        }
        _ => {
            // A primitive walk: each step's kind comes from the data itself.
            let mut r = NdrReader::new(stub);
            for _ in 0..64 {
                let step = match r.u8("kind") {
                    Ok(k) => k,
                    Err(_) => break,
                };
                let res = match step % 8 {
                    0 => r.u16("u16").map(drop),
                    1 => r.u32("u32").map(drop),
                    2 => r.u64("u64").map(drop),
                    3 => r.align(usize::from(step >> 3 & 7) + 1, "align"),
                    4 => r.referent("ref").map(drop),
                    5 => r.conformant_bytes(1024, "bytes").map(drop),
                    6 => r.u16_values(usize::from(step >> 3), "u16s").map(drop),
                    _ => r.variance(1024, usize::from(step >> 3 & 3) + 1, "variance").map(drop),
                };
                if res.is_err() {
                    break;
                }
            }
            let _ = r.finish("walk");
        }
    }
}

// ---- SAMR crypto ----

/// The SAMR password crypto open paths: the 514/516-byte buffer decoders and UTF-16 conversion
/// on the raw input; the AES-256-CBC + HMAC-SHA512 AEAD with input = CEK (16) ‖ salt (16) ‖
/// cipher, first with a correct tag (computed here) so padding and buffer parsing are reached,
/// then with a wrong tag, which must be rejected; and the RC4 decryptors on 516/532-byte inputs.
pub fn samr_crypto(data: &[u8]) {
    use hmac::{Hmac, Mac};
    use sha2::Sha512;
    let _ = crypto::UserPasswordAes::decode(data);
    let _ = crypto::UserPassword::decode(data);
    let _ = crypto::utf16le_to_password(data);
    if let (Some(k), Some(s)) = (data.first_chunk::<16>(), data.get(16..32)) {
        let cek = Key16::new(*k);
        let mut salt = [0u8; 16];
        salt.copy_from_slice(s);
        let cipher = data[32..].to_vec();
        let (_, mac_key) = crypto::derive_aead_keys(&cek);
        let mut m = <Hmac<Sha512> as Mac>::new_from_slice(mac_key.expose()).expect("any key");
        m.update(&[1]);
        m.update(&salt);
        m.update(&cipher);
        m.update(&[1]);
        let mut auth_data = [0u8; 64];
        auth_data.copy_from_slice(&m.finalize().into_bytes());
        let mut enc = EncryptedPasswordAes { auth_data, salt, cipher, pbkdf2_iterations: 0 };
        let opened = crypto::open(&cek, &enc);
        if !enc.cipher.is_empty() && enc.cipher.len() % 16 == 0 {
            assert!(
                !matches!(opened, Err(crypto::CryptoError::AuthenticationFailed)),
                "a correct tag was rejected"
            );
        }
        let _ = crypto::decrypt_password_aes(&cek, &enc);
        let _ = crypto::decrypt_password_set_aes(&SessionKey::new(*k), &enc);
        enc.auth_data[63] ^= 0x80;
        assert!(crypto::open(&cek, &enc).is_err(), "a wrong tag was accepted");
    }
    if let Some(b) = data.first_chunk::<516>() {
        let enc = EncryptedUserPassword(*b);
        let _ = crypto::decrypt_user_password_with_old_nt(&NtHash::new([1; 16]), &enc);
        let _ = crypto::decrypt_user_password_with_session_key(&SessionKey::new([2; 16]), &enc);
    }
    if let Some(b) = data.first_chunk::<532>() {
        let enc = EncryptedUserPasswordNew(*b);
        let _ = crypto::decrypt_user_password_new(&SessionKey::new([2; 16]), &enc);
    }
}

// ---- Kerberos ----

/// A KDC reply as the shell receives it: AS-REP / TGS-REP / KRB-ERROR (re-encode round trips),
/// the decrypted-part decoders (EncASRepPart/EncTGSRepPart, reached without the MAC by
/// decoding the input directly), and the AS exchange fed the input as the KDC's answer.
pub fn krb_kdc_reply(data: &[u8]) {
    use crate::auth::kerberos::messages::{EncKdcRepPart, KdcRep, msg_type};
    let _ = crate::auth::kerberos::exchange::decode_kdc_reply(data);
    for t in [msg_type::AS_REP, msg_type::TGS_REP] {
        if let Ok(r) = KdcRep::decode(data, t) {
            assert_eq!(KdcRep::decode(&r.encode(), t).as_ref(), Ok(&r), "KDC-REP round trip");
        }
    }
    if let Ok(p) = EncKdcRepPart::decode(data) {
        let tag = if data.first() == Some(&0x79) { 25 } else { 26 };
        assert_eq!(
            EncKdcRepPart::decode(&p.encode(tag)).as_ref(),
            Ok(&p),
            "EncKDCRepPart round trip"
        );
    }
    krb_as_exchange(data);
}

fn krb_as_exchange(data: &[u8]) {
    use crate::auth::kerberos::asn1::{KerberosTime, KrbTimestamp};
    use crate::auth::kerberos::crypto::{Etype, KerberosKey};
    use crate::auth::kerberos::exchange::{AsExchange, ClientCredentials, ClientSecret};
    let mut rng = Counter(1);
    let now = KrbTimestamp { time: KerberosTime(1_796_500_143), usec: 0 };
    // A fixed key (no PBKDF2 per input): the AS exchange's reply handling is what is fuzzed.
    let Ok(key) = KerberosKey::new(Etype::Aes256CtsHmacSha196, &[7; 32]) else { return };
    let creds =
        ClientCredentials { user: "u".into(), realm: "R".into(), secret: ClientSecret::Key(key) };
    if let Ok((mut x, _)) = AsExchange::start(creds, None, &mut rng, now) {
        let _ = x.on_reply(data, &mut rng, now);
    }
}

/// A KRB-ERROR: decode, re-encode round trip, e-data interpretation, typed mapping.
pub fn krb_error(data: &[u8]) {
    use crate::auth::kerberos::messages::KrbError;
    if let Ok(e) = KrbError::decode(data) {
        assert_eq!(KrbError::decode(&e.encode()).as_ref(), Ok(&e), "KRB-ERROR round trip");
        let _ = e.e_data_parsed();
        let _ = e.etype_info2();
        let _ = crate::auth::kerberos::error::KerberosError::from_krb_error(&e);
    }
    let _ = crate::auth::kerberos::exchange::decode_krb_error(data);
}

/// An AP-REP and what travels around it: the GSS framing, the SPNEGO/Kerberos client fed
/// the input as the server's answer, EncAPRepPart and Authenticator decoders (round trips).
pub fn krb_ap_rep(data: &[u8]) {
    use crate::auth::kerberos::gss;
    use crate::auth::kerberos::messages::{ApRep, Authenticator as KrbAuth, EncApRepPart};
    if let Ok(r) = ApRep::decode(data) {
        assert_eq!(ApRep::decode(&r.encode()).as_ref(), Ok(&r), "AP-REP round trip");
    }
    if let Ok(p) = EncApRepPart::decode(data) {
        assert_eq!(EncApRepPart::decode(&p.encode()).as_ref(), Ok(&p), "EncAPRepPart round trip");
    }
    if let Ok(a) = KrbAuth::decode(data) {
        assert_eq!(KrbAuth::decode(&a.encode()).as_ref(), Ok(&a), "Authenticator round trip");
    }
    if let Ok((tok, msg)) = gss::unwrap(data) {
        let _ = ApRep::decode(msg);
        let again = gss::wrap(tok, msg);
        assert_eq!(gss::unwrap(&again).map(|(t, m)| (t, m.to_vec())), Ok((tok, msg.to_vec())));
    }
    let _ = gss::parse_checksum_8003(data);
    krb_spnego_client(data);
}

fn krb_spnego_client(data: &[u8]) {
    use crate::auth::SpnegoKerberos;
    use crate::auth::kerberos::asn1::KerberosTime;
    use crate::auth::kerberos::crypto::{Etype, KerberosKey};
    use crate::auth::kerberos::exchange::Credential;
    use crate::auth::kerberos::messages::{EncryptedData, PrincipalName, Ticket};
    let Ok(session_key) = KerberosKey::new(Etype::Aes256CtsHmacSha196, &[9; 32]) else { return };
    let sname = PrincipalName::service("cifs", "srv");
    let cred = Credential {
        crealm: "R".into(),
        cname: PrincipalName::user("u"),
        ticket: Ticket::new(
            "R",
            sname.clone(),
            EncryptedData { etype: 18, kvno: None, cipher: vec![0; 40] },
        ),
        session_key,
        flags: 0,
        endtime: KerberosTime::FAR_FUTURE,
        starttime: None,
        srealm: "R".into(),
        sname,
    };
    let mut rng = Counter(1);
    let mut auth = SpnegoKerberos::new(cred);
    if auth.step(None, &mut rng, 0x01dd_7a2e_d461_a6e6).is_ok() {
        let _ = auth.step(Some(data), &mut rng, 0x01dd_7a2e_d461_a6e6);
    }
}

/// A kpasswd reply (RFC 3244 framing, AP-REP / KRB-PRIV / KRB-ERROR inside), the
/// EncKrbPrivPart decoder (round trip) and the result/policy-string decoder.
pub fn krb_kpasswd_reply(data: &[u8]) {
    use crate::auth::kerberos::kpasswd::KpasswdResult;
    use crate::auth::kerberos::messages::{EncKrbPrivPart, KrbPriv};
    let _ = crate::auth::kerberos::exchange::decode_kpasswd_reply(data);
    if let Ok(p) = KrbPriv::decode(data) {
        assert_eq!(KrbPriv::decode(&p.encode()).as_ref(), Ok(&p), "KRB-PRIV round trip");
    }
    if let Ok(p) = EncKrbPrivPart::decode(data) {
        assert_eq!(
            EncKrbPrivPart::decode(&p.encode()).as_ref(),
            Ok(&p),
            "EncKrbPrivPart round trip"
        );
    }
    if let Ok(r) = KpasswdResult::decode(data) {
        let _ = r.message();
        assert_eq!(KpasswdResult::decode(r.encode().expose()).as_ref(), Ok(&r));
    }
}

/// An MIT FILE credential cache: parse; whatever parses must re-encode to bytes that parse to an
/// equal value, and the ticket look-ups must run. The same bytes are also tried as a DIR
/// `primary` file and (lossily decoded) as a `KRB5CCNAME` value.
pub fn ccache(data: &[u8]) {
    use crate::auth::kerberos::ccache::{CcacheName, dir_primary_name, parse_ccache};
    if let Ok(c) = parse_ccache(data) {
        let again = parse_ccache(&c.encode()).expect("re-encoded ccache parses");
        assert_eq!(again, c, "ccache round trip");
        let realm = c.default_principal.realm.clone();
        for cred in &c.credentials {
            let now = u64::from(cred.authtime);
            let _ = c.find_tgt(&realm, now);
            let comps: Vec<&str> = cred.server.components.iter().map(String::as_str).collect();
            let _ = c.find_service_ticket(&cred.server.realm, &comps, now);
            let _ = cred.key.to_key();
        }
    }
    if let Ok(name) = dir_primary_name(Some(data)) {
        assert!(name.starts_with("tkt") && !name.contains('/'), "primary name {name:?}");
    }
    let text = String::from_utf8_lossy(data);
    if let Some(n) = CcacheName::parse(&text) {
        let _ = (n.kind(), n.is_readable());
    }
}

/// krb5.conf text (lossily decoded): parse, then run every resolver over every realm and a few
/// host names, and merge the result into itself.
pub fn krb5conf(data: &[u8]) {
    use crate::auth::kerberos::krb5conf::{Endpoint, parse_krb5conf};
    let text = String::from_utf8_lossy(data);
    if let Ok(mut c) = parse_krb5conf(&text) {
        for r in &c.realms {
            for e in c.kdcs(&r.name).iter().chain(c.kpasswd_servers(&r.name).iter()) {
                assert!(!e.host.is_empty() && e.port != 0, "endpoint {e:?}");
                let back = Endpoint::parse(&e.to_string(), 1);
                assert_eq!(back.as_ref(), Some(e), "endpoint round trip");
            }
        }
        for (d, _) in &c.domain_realm {
            let _ = c.realm_for_host(d);
        }
        let _ = c.realm_for_host("host.example.com");
        let _ = c.dns_lookup_kdc();
        let copy = c.clone();
        c.merge(copy);
    }
    for line in text.lines().take(64) {
        let _ = Endpoint::parse(line, 88);
    }
}

/// Kerberos decryption and checksums under fixed keys of every etype: arbitrary bytes must not
/// decrypt (the MAC check fails first) or verify; the input encrypted and decrypted again must
/// come back unchanged, and with one bit flipped must fail. Also AES-CTS and n-fold round
/// trips on the raw bytes.
pub fn krb_crypto(data: &[u8]) {
    use crate::auth::kerberos::crypto::{Etype, KerberosKey, KrbCryptoError, aes, nfold};
    let usage = data.first().map_or(1, |b| u32::from(*b));
    for e in Etype::ALL {
        let key = KerberosKey::new(e, &[0x5A; 32][..e.key_len()]).expect("key length");
        assert!(key.decrypt(usage, data).is_err(), "arbitrary bytes decrypted under {e}");
        let sum = key.checksum(usage, data);
        assert_eq!(key.verify_checksum(usage, e.checksum_type(), data, &sum), Ok(()));
        if let Some(c) = data.get(..e.checksum_len()) {
            let _ = key.verify_checksum(usage, e.checksum_type(), &data[c.len()..], c);
        }
        if data.len() <= 4096 {
            let mut rng = Counter(data.len() as u8);
            let mut ct = key.encrypt(usage, data, &mut rng);
            let pt = key.decrypt(usage, &ct).expect("own ciphertext decrypts");
            assert_eq!(&pt[..], data, "encrypt/decrypt round trip ({e})");
            let i = usize::from(data.first().copied().unwrap_or(0)) % ct.len();
            ct[i] ^= 0x01;
            assert_eq!(key.decrypt(usage, &ct).err(), Some(KrbCryptoError::IntegrityCheckFailed));
        }
    }
    if data.len() >= 16 && data.len() <= 4096 {
        for k in [&[7u8; 16][..], &[7u8; 32][..]] {
            let ct = aes::aes_cts_encrypt(k, data).expect("CTS encrypt");
            assert_eq!(ct.len(), data.len());
            assert_eq!(
                &aes::aes_cts_decrypt(k, &ct).expect("CTS decrypt")[..],
                data,
                "CTS round trip"
            );
        }
    }
    if let Some((n, rest)) = data.split_first() {
        let _ = nfold::nfold(rest, usize::from(*n));
    }
}

/// DNS SRV replies ([`crate::auth::kerberos::dns::decode_srv_response`]) for the query
/// `_kerberos._tcp.SAMR.TEST` with the id taken from the input's first two bytes (so the
/// fuzzer gets past the id check), and the input as resolv.conf text. Asserts that decoded
/// records are sorted by priority, have a non-empty target that re-encodes as a query name,
/// and that at most three nameservers come out of resolv.conf.
pub fn dns_srv(data: &[u8]) {
    use crate::auth::kerberos::dns::{
        MAX_NAMESERVERS, SrvAnswer, decode_srv_response, encode_srv_query, parse_resolv_conf,
    };
    const NAME: &str = "_kerberos._tcp.SAMR.TEST";
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    if let Ok(SrvAnswer::Records(rs)) = decode_srv_response(data, id, NAME) {
        assert!(rs.windows(2).all(|w| w[0].priority <= w[1].priority), "order {rs:?}");
        for r in &rs {
            assert!(!r.target.is_empty(), "root target kept");
            assert!(encode_srv_query(&r.target, &mut Counter(0)).is_ok(), "target {r:?}");
        }
    }
    assert!(parse_resolv_conf(&String::from_utf8_lossy(data)).len() <= MAX_NAMESERVERS);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_survives_trivial_inputs() {
        for (name, f) in ALL {
            for input in [&[][..], &[0], &[0xff; 3], &[0x10; 600]] {
                f(input);
            }
            assert!(by_name(name).is_some());
        }
    }

    #[test]
    fn frames_split_on_length_prefixes() {
        assert_eq!(frames(&[2, 0, 9, 9, 1, 0, 7, 5, 0, 1]), vec![&[9, 9][..], &[7], &[1]]);
        assert!(frames(&[1]).is_empty());
    }
}
