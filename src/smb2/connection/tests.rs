//! Whole flows of [`Connection`] against an in-memory scripted server (no sockets).

use super::*;
use crate::rng::FixedRandom;
use crate::secret::Key16;
use crate::smb2::header::{FLAG_ASYNC_COMMAND, FLAG_SERVER_TO_REDIR};
use crate::smb2::keys::CipherKey;
use crate::smb2::session_setup::SESSION_FLAG_IS_GUEST;
use crate::smb2::test_util::h;

const SID: u64 = 0x0000_1000_0000_0019;
const TID: u32 = 7;

/// A scripted server that mirrors the client's key schedule.
struct Server {
    dialect: Dialect,
    cipher: Option<Cipher>,
    signing: SigningAlgorithm,
    preauth: PreauthHash,
    keys: Option<SessionKeys>,
    session_key: SessionKey,
    encrypt: bool,
    counter: u64,
}

impl Server {
    fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            cipher: if dialect == Dialect::SMB311 {
                Some(Cipher::Aes128Gcm)
            } else if dialect.is_smb3() {
                Some(Cipher::Aes128Ccm)
            } else {
                None
            },
            signing: if dialect == Dialect::SMB311 {
                SigningAlgorithm::AesGmac
            } else {
                default_signing(dialect)
            },
            preauth: PreauthHash::default(),
            keys: None,
            session_key: SessionKey::new([0x5C; 16]),
            encrypt: false,
            counter: 0,
        }
    }

    fn header(
        cmd: Command,
        mid: u64,
        status: NtStatus,
        sid: u64,
        tid: u32,
        credits: u16,
    ) -> Vec<u8> {
        let mut hd = Header::request(cmd, mid, sid, tid);
        hd.flags = FLAG_SERVER_TO_REDIR;
        hd.status = status;
        hd.credits = credits;
        let mut w = Writer::new();
        hd.encode(&mut w);
        w.into_vec()
    }

    fn negotiate_response(&mut self, req: &Outgoing) -> Vec<u8> {
        let mut m =
            Self::header(Command::NEGOTIATE, req.message_id, NtStatus::STATUS_SUCCESS, 0, 0, 1);
        let ctx = self.dialect == Dialect::SMB311;
        let caps = CAP_LARGE_MTU | if self.dialect.is_smb3() { CAP_ENCRYPTION } else { 0 };
        let mut w = Writer::new();
        w.u16(65).u16(SIGNING_ENABLED | SIGNING_REQUIRED).u16(self.dialect.0).u16(if ctx {
            3
        } else {
            0
        });
        w.bytes(&[0xAB; 16]).u32(caps).u32(65536).u32(65536).u32(65536).u64(0).u64(0);
        w.u16(128).u16(2).u32(if ctx { 136 } else { 0 });
        w.bytes(&[0x60, 0x00]);
        if ctx {
            w.zeros(6);
            w.u16(1).u16(38).u32(0).u16(1).u16(32).u16(1).bytes(&[7; 32]);
            w.zeros(2);
            w.u16(2).u16(4).u32(0).u16(1).u16(self.cipher.map(|c| c.id()).unwrap_or(0));
            w.zeros(4);
            w.u16(8).u16(4).u32(0).u16(1).u16(self.signing.id());
        }
        m.extend(w.into_vec());
        if ctx {
            self.preauth.update(&req.bytes);
            self.preauth.update(&m);
        }
        m
    }

    fn ss_body(flags: u16, token: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        w.u16(9).u16(flags).u16(72).u16(token.len() as u16).bytes(token);
        w.into_vec()
    }

    fn ss_more(&mut self, req: &Outgoing) -> Vec<u8> {
        let mut m = Self::header(
            Command::SESSION_SETUP,
            req.message_id,
            NtStatus::STATUS_MORE_PROCESSING_REQUIRED,
            SID,
            0,
            32,
        );
        m.extend(Self::ss_body(0, b"challenge"));
        if self.dialect == Dialect::SMB311 {
            self.preauth.update(&req.bytes);
            self.preauth.update(&m);
        }
        m
    }

    fn ss_final(&mut self, req: &Outgoing, flags: u16, sign: bool) -> Vec<u8> {
        if self.dialect == Dialect::SMB311 {
            self.preauth.update(&req.bytes);
        }
        let keys =
            derive_session_keys(&self.session_key, self.dialect, Some(&self.preauth), self.cipher);
        let mut m = Self::header(
            Command::SESSION_SETUP,
            req.message_id,
            NtStatus::STATUS_SUCCESS,
            SID,
            0,
            32,
        );
        m.extend(Self::ss_body(flags, b"done"));
        if sign {
            signing::sign(&mut m, self.signing, &keys.signing).unwrap();
        }
        self.keys = Some(keys);
        m
    }

    /// A response to `req`, signed (or sealed when `self.encrypt`).
    fn reply(&mut self, req: &Outgoing, status: NtStatus, body: &[u8]) -> Vec<u8> {
        let mut m = Self::header(req.command, req.message_id, status, SID, TID, 8);
        m.extend_from_slice(body);
        let keys = self.keys.as_ref().unwrap();
        if self.encrypt {
            self.counter += 1;
            let mut nonce = [0u8; 16];
            nonce[..8].copy_from_slice(&self.counter.to_le_bytes());
            transform::seal(self.cipher.unwrap(), keys.decryption.as_ref().unwrap(), nonce, SID, &m)
                .unwrap()
        } else {
            signing::sign(&mut m, self.signing, &keys.signing).unwrap();
            m
        }
    }

    /// Seal `m` as this server would (for messages built by hand).
    fn seal(&mut self, m: &[u8]) -> Vec<u8> {
        let keys = self.keys.as_ref().unwrap();
        self.counter += 1;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&self.counter.to_le_bytes());
        transform::seal(self.cipher.unwrap(), keys.decryption.as_ref().unwrap(), nonce, SID, m)
            .unwrap()
    }

    /// Decode a client request (opening it if sealed) and check its signature.
    fn check_request(&self, out: &Outgoing) -> Vec<u8> {
        let keys = self.keys.as_ref().unwrap();
        if self.encrypt {
            let c: &CipherKey = keys.encryption.as_ref().unwrap();
            let (_, plain) = transform::open(self.cipher.unwrap(), c, &out.bytes).unwrap();
            plain
        } else {
            assert!(signing::verify(&out.bytes, self.signing, &keys.signing), "request signature");
            out.bytes.clone()
        }
    }
}

fn rng() -> FixedRandom {
    FixedRandom::new((0u8..=255).collect())
}

fn final_of(c: &mut Connection, m: &[u8]) -> Response {
    match c.receive(m).unwrap() {
        Received::Final(r) => r,
        Received::Interim { .. } => panic!("interim"),
    }
}

/// Negotiate and log on; returns the established connection and the server.
fn logon(dialect: Dialect, cfg: ConnectionConfig, flags: u16) -> (Connection, Server) {
    let mut c = Connection::new(cfg, &mut rng()).unwrap();
    let mut s = Server::new(dialect);
    let out = c.negotiate_request().unwrap();
    assert_eq!(out.message_id, 0);
    let r = final_of(&mut c, &s.negotiate_response(&out));
    assert_eq!(c.handle_negotiate(&r).unwrap(), vec![0x60, 0]);
    let out = c.session_setup_request(b"negotiate").unwrap();
    let r = final_of(&mut c, &s.ss_more(&out));
    assert_eq!(
        c.handle_session_setup(&r).unwrap(),
        SetupStep::More { token: b"challenge".to_vec() }
    );
    let out = c.session_setup_request(b"authenticate").unwrap();
    let r = final_of(&mut c, &s.ss_final(&out, flags, true));
    assert_eq!(c.handle_session_setup(&r).unwrap(), SetupStep::Success { token: b"done".to_vec() });
    c.complete_session(Some(SessionKey::new([0x5C; 16]))).unwrap();
    (c, s)
}

fn tree_connect(c: &mut Connection, s: &mut Server, share_flags: u32) {
    let out = c.tree_connect_request("srv").unwrap();
    s.check_request(&out);
    let mut body = Writer::new();
    body.u16(16).u8(2).u8(0).u32(share_flags).u32(0).u32(0x1F01FF);
    let r = final_of(c, &s.reply(&out, NtStatus::STATUS_SUCCESS, body.as_slice()));
    c.handle_tree_connect(&r).unwrap();
}

fn create_body() -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(89).u16(0).u32(1).zeros(48).u32(0x80).u32(0).u64(0x11).u64(0x22).u32(0).u32(0);
    w.into_vec()
}

fn ioctl_body(out: &[u8]) -> Vec<u8> {
    let mut w = Writer::new();
    w.u16(49).u16(0).u32(FSCTL_PIPE_TRANSCEIVE).u64(0x11).u64(0x22);
    w.u32(112).u32(0).u32(112).u32(out.len() as u32).u32(0).u32(0).bytes(out);
    w.into_vec()
}

#[test]
fn full_311_flow_with_gmac_signing_transceive_overflow_and_teardown() {
    let (mut c, mut s) = logon(Dialect::SMB311, ConnectionConfig::default(), 0);
    let info = c.info().unwrap();
    assert_eq!(info.dialect.to_string(), "3.1.1");
    assert!(info.signing && !info.encryption && !info.anonymous);
    assert_eq!(info.signing_algorithm, Some(SigningAlgorithm::AesGmac));
    assert_eq!(
        c.application_key().unwrap().expose(),
        s.keys.as_ref().unwrap().application.expose()
    );
    tree_connect(&mut c, &mut s, 0);
    assert!(!c.needs_validate_negotiate(), "never on 3.1.1");
    let out = c.create_pipe_request("samr").unwrap();
    s.check_request(&out);
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &create_body()));
    let fid = c.handle_create(&r).unwrap();
    assert_eq!(fid, FileId { persistent: 0x11, volatile: 0x22 });

    let out = c.transceive_request(fid, b"bind").unwrap();
    let plain = s.check_request(&out);
    assert_eq!(&plain[plain.len() - 4..], b"bind");
    let r =
        final_of(&mut c, &s.reply(&out, NtStatus::STATUS_BUFFER_OVERFLOW, &ioctl_body(b"part1")));
    assert_eq!(c.handle_transceive(&r).unwrap(), PipeData { data: b"part1".to_vec(), more: true });
    let out = c.read_request(fid).unwrap();
    let mut rb = Writer::new();
    rb.u16(17).u8(80).u8(0).u32(5).u32(0).u32(0).bytes(b"part2");
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, rb.as_slice()));
    assert_eq!(c.handle_read(&r).unwrap(), PipeData { data: b"part2".to_vec(), more: false });

    let out = c.close_request(fid).unwrap();
    let mut cb = Writer::new();
    cb.u16(60).zeros(58);
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, cb.as_slice()));
    c.handle_close(&r).unwrap();
    let out = c.tree_disconnect_request().unwrap();
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &[4, 0, 0, 0]));
    c.handle_tree_disconnect(&r).unwrap();
    let out = c.logoff_request().unwrap();
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &[4, 0, 0, 0]));
    c.handle_logoff(&r).unwrap();
    assert_eq!(c.outstanding(), 0);
}

#[test]
fn response_to_unknown_message_id_is_rejected() {
    let (mut c, mut s) = logon(Dialect::SMB311, ConnectionConfig::default(), 0);
    let out = c.tree_connect_request("srv").unwrap();
    let mut fake = out.clone();
    fake.message_id += 100;
    let m = s.reply(&fake, NtStatus::STATUS_SUCCESS, &[]);
    assert_eq!(c.receive(&m).unwrap_err(), Smb2Error::UnknownMessageId(fake.message_id));
    // Before anything was sent.
    let mut c2 = Connection::new(ConnectionConfig::default(), &mut rng()).unwrap();
    let m = Server::header(Command::NEGOTIATE, 0, NtStatus::STATUS_SUCCESS, 0, 0, 1);
    assert_eq!(c2.receive(&m).unwrap_err(), Smb2Error::UnknownMessageId(0));
}

#[test]
fn pending_then_final() {
    let (mut c, mut s) = logon(Dialect::SMB311, ConnectionConfig::default(), 0);
    tree_connect(&mut c, &mut s, 0);
    let out = c.create_pipe_request("samr").unwrap();
    let fid_out = out.clone();
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &create_body()));
    let fid = c.handle_create(&r).unwrap();
    let _ = fid_out;
    let out = c.read_request(fid).unwrap();
    // Interim: async, unsigned, STATUS_PENDING, grants credits.
    let mut interim = Header::request(Command::READ, out.message_id, SID, 0);
    interim.flags = FLAG_SERVER_TO_REDIR | FLAG_ASYNC_COMMAND;
    interim.async_id = Some(99);
    interim.status = NtStatus::STATUS_PENDING;
    interim.credits = 3;
    let mut w = Writer::new();
    interim.encode(&mut w);
    w.bytes(&[9, 0, 0, 0, 0, 0, 0, 0, 0]);
    let before = c.credits();
    assert_eq!(c.receive(w.as_slice()).unwrap(), Received::Interim { message_id: out.message_id });
    // An unsigned interim cannot be verified: its grant waits for the verified final.
    assert_eq!(c.credits(), before);
    assert_eq!(c.outstanding(), 1);
    let mut rb = Writer::new();
    rb.u16(17).u8(80).u8(0).u32(2).u32(0).u32(0).bytes(b"ok");
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, rb.as_slice()));
    assert_eq!(c.credits(), before + 3 + 8);
    assert_eq!(c.handle_read(&r).unwrap().data, b"ok");
    assert_eq!(c.outstanding(), 0);
    // The same id again is now unknown.
    let again = s.reply(&out, NtStatus::STATUS_SUCCESS, rb.as_slice());
    assert_eq!(c.receive(&again).unwrap_err(), Smb2Error::UnknownMessageId(out.message_id));
}

/// An interim STATUS_PENDING response to `out` (async, unsigned) from session `sid`.
fn interim(out: &Outgoing, sid: u64, credits: u16) -> Vec<u8> {
    let mut hd = Header::request(out.command, out.message_id, sid, TID);
    hd.flags = FLAG_SERVER_TO_REDIR | FLAG_ASYNC_COMMAND;
    hd.async_id = Some(99);
    hd.status = NtStatus::STATUS_PENDING;
    hd.credits = credits;
    let mut w = Writer::new();
    hd.encode(&mut w);
    w.bytes(&[9, 0, 0, 0, 0, 0, 0, 0, 0]);
    w.into_vec()
}

/// An established pipe on `dialect` (encrypted when `encrypt`) and a READ outstanding.
fn pipe_with_read_outstanding(dialect: Dialect, encrypt: bool) -> (Connection, Server, Outgoing) {
    let flags = if encrypt { SESSION_FLAG_ENCRYPT_DATA } else { 0 };
    let (mut c, mut s) = logon(dialect, ConnectionConfig::default(), flags);
    s.encrypt = encrypt;
    tree_connect(&mut c, &mut s, 0);
    let out = c.create_pipe_request("samr").unwrap();
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &create_body()));
    let fid = c.handle_create(&r).unwrap();
    let out = c.read_request(fid).unwrap();
    (c, s, out)
}

fn read_ok_body() -> Vec<u8> {
    let mut rb = Writer::new();
    rb.u16(17).u8(80).u8(0).u32(2).u32(0).u32(0).bytes(b"ok");
    rb.into_vec()
}

#[test]
fn plaintext_interim_on_an_encrypted_session_is_rejected_and_grants_nothing() {
    let (mut c, mut s, out) = pipe_with_read_outstanding(Dialect::SMB311, true);
    let before = c.credits();
    // Injected in the clear, SessionId 0, a huge grant: an integrity failure, no credits.
    let forged = interim(&out, 0, 60_000);
    assert!(matches!(c.receive(&forged), Err(Smb2Error::Decrypt(_))));
    assert_eq!(c.credits(), before);
    // The same with our SessionId: still not encrypted, still refused.
    let forged = interim(&out, SID, 60_000);
    assert!(matches!(c.receive(&forged), Err(Smb2Error::Decrypt(_))));
    assert_eq!(c.credits(), before);
    assert_eq!(c.outstanding(), 1);
    // A sealed interim inside our session is verified by its tag: its grant counts at once.
    let sealed = s.seal(&interim(&out, SID, 5));
    assert_eq!(c.receive(&sealed).unwrap(), Received::Interim { message_id: out.message_id });
    assert_eq!(c.credits(), before + 5);
    // A sealed interim naming another session inside is refused too.
    let other = s.seal(&interim(&out, 0, 5));
    assert!(matches!(c.receive(&other), Err(Smb2Error::Protocol(_))));
    // The real final response still completes the read.
    let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &read_ok_body()));
    assert_eq!(c.handle_read(&r).unwrap().data, b"ok");
    assert_eq!(c.credits(), before + 5 + 8);
}

#[test]
fn unverifiable_interim_on_a_signed_session_grants_credits_only_after_the_final() {
    for dialect in [Dialect::SMB210, Dialect::SMB311] {
        let (mut c, mut s, out) = pipe_with_read_outstanding(dialect, false);
        let before = c.credits();
        // SessionId 0 (or another session) on a signed session: refused, nothing granted.
        assert!(matches!(c.receive(&interim(&out, 0, 60_000)), Err(Smb2Error::Protocol(_))));
        assert!(matches!(c.receive(&interim(&out, SID + 1, 60_000)), Err(Smb2Error::Protocol(_))));
        assert_eq!(c.credits(), before, "{dialect:?}");
        // Our SessionId, unsigned (as [MS-SMB2] 3.3.4.1.1 sends interims): "keep waiting",
        // but the 60,000 credits are not taken.
        assert_eq!(
            c.receive(&interim(&out, SID, 60_000)).unwrap(),
            Received::Interim { message_id: out.message_id }
        );
        assert_eq!(c.credits(), before, "{dialect:?}");
        // A signed interim whose signature does not verify is an integrity failure.
        let mut signed = interim(&out, SID, 60_000);
        signed[16] |= 0x08; // SMB2_FLAGS_SIGNED
        assert!(matches!(c.receive(&signed), Err(Smb2Error::BadSignature { .. })));
        // Once the verified final arrives, the held grant counts, capped at our window.
        let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, &read_ok_body()));
        assert_eq!(c.handle_read(&r).unwrap().data, b"ok");
        let target = u64::from(ConnectionConfig::default().credit_target);
        assert_eq!(c.credits(), before + target + 8, "{dialect:?}");
    }
}

#[test]
fn interim_with_a_forged_final_grants_nothing() {
    let (mut c, _s, out) = pipe_with_read_outstanding(Dialect::SMB311, false);
    let before = c.credits();
    c.receive(&interim(&out, SID, 60_000)).unwrap();
    // A forged (unsigned) final is refused, and the held interim grant goes nowhere.
    let mut forged =
        Server::header(Command::READ, out.message_id, NtStatus::STATUS_SUCCESS, SID, TID, 9);
    forged.extend(read_ok_body());
    assert!(matches!(c.receive(&forged), Err(Smb2Error::Unsigned { .. })));
    assert_eq!(c.credits(), before);
}

#[test]
fn unsigned_and_badly_signed_responses_are_rejected() {
    let (mut c, mut s) = logon(Dialect::SMB311, ConnectionConfig::default(), 0);
    let out = c.tree_connect_request("srv").unwrap();
    let mut body = Writer::new();
    body.u16(16).u8(2).u8(0).u32(0).u32(0).u32(0);
    let mut m = s.reply(&out, NtStatus::STATUS_SUCCESS, body.as_slice());
    m[70] ^= 1;
    assert_eq!(
        c.receive(&m).unwrap_err(),
        Smb2Error::BadSignature { command: Command::TREE_CONNECT }
    );
    let mut unsigned = Server::header(
        Command::TREE_CONNECT,
        out.message_id,
        NtStatus::STATUS_SUCCESS,
        SID,
        TID,
        1,
    );
    unsigned.extend_from_slice(body.as_slice());
    assert_eq!(
        c.receive(&unsigned).unwrap_err(),
        Smb2Error::Unsigned { command: Command::TREE_CONNECT }
    );
}

#[test]
fn tampered_final_session_setup_is_a_downgrade_on_311() {
    let mut c = Connection::new(ConnectionConfig::default(), &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB311);
    let out = c.negotiate_request().unwrap();
    let mut neg = s.negotiate_response(&out);
    let r = final_of(&mut c, &neg);
    c.handle_negotiate(&r).unwrap();
    let out = c.session_setup_request(b"n").unwrap();
    // The server hashed a different negotiate response than the client saw.
    neg[64 + 24] ^= 1;
    s.preauth = PreauthHash::default();
    s.preauth.update(&[0]);
    let r = final_of(&mut c, &s.ss_final(&out, 0, true));
    c.handle_session_setup(&r).unwrap();
    assert!(matches!(
        c.complete_session(Some(SessionKey::new([0x5C; 16]))),
        Err(Smb2Error::DowngradeDetected(_))
    ));
}

#[test]
fn unsigned_final_session_setup_is_rejected_on_311() {
    let mut c = Connection::new(ConnectionConfig::default(), &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB311);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    c.handle_negotiate(&r).unwrap();
    let out = c.session_setup_request(b"n").unwrap();
    let r = final_of(&mut c, &s.ss_final(&out, 0, false));
    c.handle_session_setup(&r).unwrap();
    assert_eq!(
        c.complete_session(Some(SessionKey::new([0x5C; 16]))).unwrap_err(),
        Smb2Error::Unsigned { command: Command::SESSION_SETUP }
    );
}

#[test]
fn guest_and_unexpected_null_sessions_are_errors() {
    for (flags, err) in [
        (SESSION_FLAG_IS_GUEST, Smb2Error::Guest),
        (SESSION_FLAG_IS_NULL, Smb2Error::UnexpectedNullSession),
    ] {
        let mut c = Connection::new(ConnectionConfig::default(), &mut rng()).unwrap();
        let mut s = Server::new(Dialect::SMB300);
        let out = c.negotiate_request().unwrap();
        let r = final_of(&mut c, &s.negotiate_response(&out));
        c.handle_negotiate(&r).unwrap();
        let out = c.session_setup_request(b"n").unwrap();
        let r = final_of(&mut c, &s.ss_final(&out, flags, false));
        assert_eq!(c.handle_session_setup(&r).unwrap_err(), err);
    }
    assert!(Smb2Error::Guest.to_string().contains("logged you in as Guest"));
}

#[test]
fn anonymous_session_is_unsigned_and_cannot_meet_require_encryption() {
    let cfg = ConnectionConfig { anonymous: true, ..Default::default() };
    let mut c = Connection::new(cfg.clone(), &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB311);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    c.handle_negotiate(&r).unwrap();
    let out = c.session_setup_request(b"n").unwrap();
    let r = final_of(&mut c, &s.ss_final(&out, SESSION_FLAG_IS_NULL, false));
    c.handle_session_setup(&r).unwrap();
    c.complete_session(None).unwrap();
    let info = c.info().unwrap();
    assert!(info.anonymous && !info.signing);
    assert!(c.application_key().is_none());
    // Unsigned responses are fine on an anonymous session.
    let out = c.tree_connect_request("srv").unwrap();
    let mut m = Server::header(
        Command::TREE_CONNECT,
        out.message_id,
        NtStatus::STATUS_SUCCESS,
        SID,
        TID,
        1,
    );
    m.extend(h("1000 02 00 00000000 00000000 00000000"));
    let r = final_of(&mut c, &m);
    c.handle_tree_connect(&r).unwrap();
    assert!(!c.needs_validate_negotiate());

    let cfg = ConnectionConfig { anonymous: true, require_encryption: true, ..Default::default() };
    let mut c = Connection::new(cfg, &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB311);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    c.handle_negotiate(&r).unwrap();
    let out = c.session_setup_request(b"n").unwrap();
    let r = final_of(&mut c, &s.ss_final(&out, SESSION_FLAG_IS_NULL, false));
    c.handle_session_setup(&r).unwrap();
    assert!(matches!(c.complete_session(None), Err(Smb2Error::EncryptionUnavailable(_))));
}

#[test]
fn require_encryption_fails_clearly_on_smb2() {
    let cfg = ConnectionConfig { require_encryption: true, ..Default::default() };
    let mut c = Connection::new(cfg, &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB210);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    assert!(matches!(c.handle_negotiate(&r), Err(Smb2Error::EncryptionUnavailable(_))));
}

#[test]
fn min_dialect_is_enforced() {
    let cfg = ConnectionConfig { min_dialect: Dialect::SMB300, ..Default::default() };
    let mut c = Connection::new(cfg, &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB210);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    // 2.1 was not even offered; a server (or a NEGOTIATE rewritten in flight) choosing it is
    // reported as below the minimum, which the client maps to a Security error.
    assert_eq!(
        c.handle_negotiate(&r),
        Err(Smb2Error::DialectTooLow { server: Dialect::SMB210, minimum: Dialect::SMB300 })
    );
    // A dialect above the minimum that was not offered is still a protocol error.
    let cfg = ConnectionConfig { max_dialect: Dialect::SMB300, ..Default::default() };
    let mut c = Connection::new(cfg, &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB302);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    assert!(matches!(c.handle_negotiate(&r), Err(Smb2Error::Protocol(_))));
}

#[test]
fn encrypted_session_seals_requests_and_rejects_plaintext_and_tampering() {
    let (mut c, mut s) =
        logon(Dialect::SMB311, ConnectionConfig::default(), SESSION_FLAG_ENCRYPT_DATA);
    s.encrypt = true;
    let info = c.info().unwrap();
    assert!(info.encryption);
    assert_eq!(info.cipher, Some(Cipher::Aes128Gcm));
    let out = c.tree_connect_request("srv").unwrap();
    assert_eq!(out.bytes[..4], TRANSFORM_PROTOCOL_ID);
    s.check_request(&out);
    let mut body = Writer::new();
    body.u16(16).u8(2).u8(0).u32(0).u32(0).u32(0);
    let good = s.reply(&out, NtStatus::STATUS_SUCCESS, body.as_slice());
    let mut bad = good.clone();
    bad[80] ^= 1;
    assert!(matches!(c.receive(&bad), Err(Smb2Error::Decrypt(_))));
    s.encrypt = false;
    let plain = s.reply(&out, NtStatus::STATUS_SUCCESS, body.as_slice());
    assert!(matches!(c.receive(&plain), Err(Smb2Error::Decrypt(_))));
    let r = final_of(&mut c, &good);
    c.handle_tree_connect(&r).unwrap();
    // Nonces never repeat.
    s.encrypt = true;
    let a = c.create_pipe_request("samr").unwrap();
    let b = c.create_pipe_request("samr").unwrap();
    assert_ne!(a.bytes[20..36], b.bytes[20..36]);
}

#[test]
fn share_encrypt_flag_turns_encryption_on() {
    let (mut c, mut s) = logon(Dialect::SMB300, ConnectionConfig::default(), 0);
    tree_connect(&mut c, &mut s, SHAREFLAG_ENCRYPT_DATA);
    assert!(c.info().unwrap().encryption);
    assert_eq!(c.info().unwrap().cipher, Some(Cipher::Aes128Ccm));
}

#[test]
fn validate_negotiate_on_30() {
    for tamper in [false, true] {
        let (mut c, mut s) = logon(Dialect::SMB300, ConnectionConfig::default(), 0);
        assert_eq!(c.info().unwrap().signing_algorithm, Some(SigningAlgorithm::AesCmac));
        tree_connect(&mut c, &mut s, 0);
        assert!(c.needs_validate_negotiate());
        assert!(matches!(c.create_pipe_request("samr"), Err(Smb2Error::State(_))));
        let out = c.validate_negotiate_request().unwrap();
        s.check_request(&out);
        let mut o = Writer::new();
        o.u32(CAP_LARGE_MTU | CAP_ENCRYPTION).bytes(&[0xAB; 16]);
        o.u16(SIGNING_ENABLED | SIGNING_REQUIRED).u16(if tamper { 0x0210 } else { 0x0300 });
        let mut w = Writer::new();
        w.u16(49).u16(0).u32(FSCTL_VALIDATE_NEGOTIATE_INFO).u64(u64::MAX).u64(u64::MAX);
        w.u32(112).u32(0).u32(112).u32(24).u32(0).u32(0).bytes(o.as_slice());
        let r = final_of(&mut c, &s.reply(&out, NtStatus::STATUS_SUCCESS, w.as_slice()));
        let res = c.handle_validate_negotiate(&r);
        if tamper {
            assert!(matches!(res, Err(Smb2Error::DowngradeDetected(_))));
        } else {
            res.unwrap();
            assert!(!c.needs_validate_negotiate());
            c.create_pipe_request("samr").unwrap();
        }
    }
}

#[test]
fn smb21_uses_hmac_sha256_and_session_key() {
    let (c, _s) = logon(Dialect::SMB210, ConnectionConfig::default(), 0);
    let info = c.info().unwrap();
    assert_eq!(info.dialect.to_string(), "2.1");
    assert_eq!(info.signing_algorithm, Some(SigningAlgorithm::HmacSha256));
    assert_eq!(c.application_key().unwrap().expose(), &[0x5C; 16]);
}

#[test]
fn credit_window_is_enforced() {
    let mut c = Connection::new(ConnectionConfig::default(), &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB311);
    let out = c.negotiate_request().unwrap();
    // No second request before the first response: only one credit.
    assert!(matches!(c.session_setup_request(b"x"), Err(Smb2Error::State(_))));
    assert_eq!(c.credits(), 0);
    let mut m = s.negotiate_response(&out);
    m[14] = 0; // grant zero credits
    let r = final_of(&mut c, &m);
    c.handle_negotiate(&r).unwrap();
    assert_eq!(c.session_setup_request(b"x").unwrap_err(), Smb2Error::NoCredits);
}

#[test]
fn error_status_is_typed() {
    let mut c = Connection::new(ConnectionConfig::default(), &mut rng()).unwrap();
    let mut s = Server::new(Dialect::SMB311);
    let out = c.negotiate_request().unwrap();
    let r = final_of(&mut c, &s.negotiate_response(&out));
    c.handle_negotiate(&r).unwrap();
    let out = c.session_setup_request(b"n").unwrap();
    let mut m = Server::header(
        Command::SESSION_SETUP,
        out.message_id,
        NtStatus::STATUS_LOGON_FAILURE,
        SID,
        0,
        1,
    );
    m.extend(h("0900 0000 00000000 00"));
    let r = final_of(&mut c, &m);
    let e = c.handle_session_setup(&r).unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::STATUS_LOGON_FAILURE));
    let _ = Key16::new([0; 16]);
}

/// Split a plaintext compound chain at each NextCommand.
fn split_chain(chain: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = chain;
    loop {
        let next = Header::decode(rest).unwrap().next_command as usize;
        if next == 0 {
            out.push(rest.to_vec());
            return out;
        }
        out.push(rest[..next].to_vec());
        rest = &rest[next..];
    }
}

/// A chained response: each message padded to 8 bytes with 0xAA (Samba does not zero its
/// padding), NextCommand set, each signed over its padded bytes ([MS-SMB2] 3.3.4.1.3).
fn chained_reply(s: &Server, parts: &[(Command, u64, NtStatus, &[u8])], pad_last: bool) -> Vec<u8> {
    let keys = s.keys.as_ref().unwrap();
    let mut chain = Vec::new();
    for (i, (cmd, mid, status, body)) in parts.iter().enumerate() {
        let mut m = Server::header(*cmd, *mid, *status, SID, TID, 8);
        m.extend_from_slice(body);
        let last = i + 1 == parts.len();
        if !last || pad_last {
            while m.len() % 8 != 0 {
                m.push(0xAA);
            }
        }
        if !last {
            let n = m.len() as u32;
            m[20..24].copy_from_slice(&n.to_le_bytes());
        }
        signing::sign(&mut m, s.signing, &keys.signing).unwrap();
        chain.extend_from_slice(&m);
    }
    chain
}

/// [MS-SMB2] 3.2.4.1.4: a related chain TREE_CONNECT + CREATE + IOCTL, each message 8-byte
/// aligned and signed on its own, the later ones RELATED with TreeId 0xFFFFFFFF and the
/// all-ones FileId; the chained, padded, signed answer is taken apart and applied.
#[test]
fn open_pipe_compound_is_related_aligned_and_signed_per_message() {
    use crate::smb2::header::FLAG_RELATED_OPERATIONS;
    let (mut c, s) = logon(Dialect::SMB311, ConnectionConfig::default(), 0);
    let out = c.open_pipe_compound(Some("srv"), "samr", b"bind-pdu").unwrap();
    assert_eq!(out.requests.len(), 3);
    let msgs = split_chain(&out.bytes);
    assert_eq!(msgs.len(), 3);
    for (i, m) in msgs.iter().enumerate() {
        let h = Header::decode(m).unwrap();
        assert_eq!(h.message_id, out.requests[i].0);
        assert_eq!(h.command, out.requests[i].1);
        assert_eq!(h.session_id, SID);
        if i < 2 {
            assert_eq!(m.len() % 8, 0, "message {i} padded to 8 bytes");
            assert_eq!(h.next_command as usize, m.len());
        }
        assert!(signing::verify(m, s.signing, &s.keys.as_ref().unwrap().signing), "sig {i}");
        assert_eq!(h.flags & FLAG_RELATED_OPERATIONS != 0, i > 0, "related flag {i}");
        if i > 0 {
            assert_eq!(h.tree_id, 0xFFFF_FFFF);
        }
    }
    // The IOCTL acts on the previous request's handle.
    assert_eq!(&msgs[2][64 + 8..64 + 24], &[0xFF; 16]);
    assert!(msgs[2].ends_with(b"bind-pdu"));

    let mut tc = Writer::new();
    tc.u16(16).u8(2).u8(0).u32(0).u32(0).u32(0x1F01FF);
    let ids: Vec<u64> = out.requests.iter().map(|r| r.0).collect();
    let chain = chained_reply(
        &s,
        &[
            (Command::TREE_CONNECT, ids[0], NtStatus::STATUS_SUCCESS, tc.as_slice()),
            (Command::CREATE, ids[1], NtStatus::STATUS_SUCCESS, &create_body()),
            (Command::IOCTL, ids[2], NtStatus::STATUS_SUCCESS, &ioctl_body(b"ack")),
        ],
        false,
    );
    let got = c.receive_chain(&chain).unwrap();
    let rs: Vec<Response> = got
        .into_iter()
        .map(|g| match g {
            Received::Final(r) => r,
            Received::Interim { .. } => panic!("interim"),
        })
        .collect();
    c.handle_tree_connect(&rs[0]).unwrap();
    assert_eq!(c.handle_create(&rs[1]).unwrap(), FileId { persistent: 0x11, volatile: 0x22 });
    assert_eq!(c.handle_transceive(&rs[2]).unwrap().data, b"ack");
    assert_eq!(c.outstanding(), 0);

    // A tampered element of the chain fails its own signature.
    let out = c.teardown_compound(FileId { persistent: 0x11, volatile: 0x22 }).unwrap();
    let ids: Vec<u64> = out.requests.iter().map(|r| r.0).collect();
    let mut cb = Writer::new();
    cb.u16(60).zeros(58);
    let chain = chained_reply(
        &s,
        &[
            (Command::CLOSE, ids[0], NtStatus::STATUS_SUCCESS, cb.as_slice()),
            (Command::TREE_DISCONNECT, ids[1], NtStatus::STATUS_SUCCESS, &[4, 0, 0, 0]),
            (Command::LOGOFF, ids[2], NtStatus::STATUS_SUCCESS, &[4, 0, 0, 0]),
        ],
        true,
    );
    let mut bad = chain.clone();
    bad[64 + 10] ^= 1;
    assert!(matches!(c.receive_chain(&bad), Err(Smb2Error::BadSignature { .. })));
    let rs = c.receive_chain(&chain).unwrap();
    let rs: Vec<Response> = rs
        .into_iter()
        .map(|g| match g {
            Received::Final(r) => r,
            Received::Interim { .. } => panic!("interim"),
        })
        .collect();
    c.handle_close(&rs[0]).unwrap();
    c.handle_tree_disconnect(&rs[1]).unwrap();
    c.handle_logoff(&rs[2]).unwrap();
}

#[test]
fn compound_with_tree_connect_is_refused_where_validate_negotiate_must_follow() {
    let (mut c, _s) = logon(Dialect::SMB300, ConnectionConfig::default(), 0);
    assert!(c.validate_negotiate_pending());
    assert!(matches!(c.open_pipe_compound(Some("srv"), "samr", b"x"), Err(Smb2Error::State(_))));
}

#[test]
fn malformed_chains_are_rejected() {
    let (mut c, s) = logon(Dialect::SMB311, ConnectionConfig::default(), 0);
    let out = c.teardown_compound(FileId::default()).unwrap();
    let mut cb = Writer::new();
    cb.u16(60).zeros(58);
    let chain = chained_reply(
        &s,
        &[
            (Command::CLOSE, out.requests[0].0, NtStatus::STATUS_SUCCESS, cb.as_slice()),
            (Command::TREE_DISCONNECT, out.requests[1].0, NtStatus::STATUS_SUCCESS, &[4, 0, 0, 0]),
        ],
        false,
    );
    // NextCommand pointing past the end, or not 8-aligned.
    for next in [chain.len() as u32 + 8, 65, 8] {
        let mut bad = chain.clone();
        bad[20..24].copy_from_slice(&next.to_le_bytes());
        assert!(c.receive_chain(&bad).is_err(), "NextCommand {next}");
    }
    // Every truncation fails without panicking.
    for n in 0..chain.len() {
        let _ = c.receive_chain(&chain[..n]);
    }
}
