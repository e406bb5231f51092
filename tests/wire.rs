//! What samrpc puts on the wire, seen by Wireshark's dissectors (`dumpcap` captures the
//! loopback traffic of one change, `tshark` reads it back): the change is opnum 73 and the
//! reset opnum 58; on signing servers every message after the session setup is signed; on
//! the encrypted server everything after it travels in SMB3 transform headers; and neither
//! the old nor the new password appears in the capture in any encoding, not even over an
//! anonymous (unsigned) session.
#![cfg(feature = "tokio")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
use common::*;

use samrpc::api::{ChangeSession, change_password, reset_password};
use std::path::PathBuf;
use std::process::Command;

#[path = "support/capture.rs"]
mod capture;

/// A capture of one server's SMB traffic.
struct Capture;

impl Capture {
    fn start(server: Server, tag: &str) -> capture::Capture {
        capture::Capture::start(&format!("host {} and tcp port 445", server.ip), tag, SETUP)
    }
}

/// One SMB2 PDU as tshark sees it.
#[derive(Debug)]
struct Pdu {
    stream: String,
    protocol_id: String,
    cmd: Option<u16>,
    response: bool,
    signed: bool,
    status: Option<u32>,
    signature: String,
    user: String,
    opnum: Option<u16>,
}

/// Every SMB2 message of the capture, one `Pdu` each: a compound frame yields one per chained
/// message (tshark prints a field's occurrences comma-separated), so each message of a chain
/// is checked on its own. Direction comes from the TCP port, which stays visible when the
/// message is encrypted.
fn tshark(file: &PathBuf) -> Vec<Pdu> {
    let o = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-Y", "smb2", "-T", "fields", "-E", "separator=/t", "-E", "occurrence=a"])
        .args(["-e", "tcp.stream", "-e", "smb2.protocol_id", "-e", "smb2.cmd"])
        .args(["-e", "tcp.srcport", "-e", "smb2.flags.signature", "-e", "smb2.nt_status"])
        .args(["-e", "smb2.signature", "-e", "ntlmssp.auth.username", "-e", "dcerpc.opnum"])
        .output()
        .expect("run tshark");
    assert!(o.status.success(), "tshark: {}", String::from_utf8_lossy(&o.stderr));
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() {
            None
        } else if let Some(h) = s.strip_prefix("0x") {
            Some(u64::from_str_radix(h, 16).unwrap())
        } else {
            Some(s.parse().unwrap())
        }
    };
    let mut out = Vec::new();
    for l in String::from_utf8_lossy(&o.stdout).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        let all = |i: usize| -> Vec<&str> {
            let v = f.get(i).copied().unwrap_or("");
            if v.is_empty() { Vec::new() } else { v.split(',').collect() }
        };
        fn at<'a>(v: &[&'a str], k: usize) -> &'a str {
            v.get(k).copied().unwrap_or("")
        }
        let (ids, cmds, signed, statuses, sigs) = (all(1), all(2), all(4), all(5), all(6));
        let from_server = at(&all(3), 0) == "445";
        let (user, opnum) = (at(&all(7), 0).to_owned(), num(at(&all(8), 0)));
        for k in 0..ids.len().max(1) {
            out.push(Pdu {
                stream: at(&all(0), 0).to_owned(),
                protocol_id: at(&ids, k).to_owned(),
                cmd: num(at(&cmds, k)).map(|v| u16::try_from(v).unwrap()),
                response: from_server,
                signed: at(&signed, k) == "1" || at(&signed, k) == "True",
                status: num(at(&statuses, k)).map(|v| u32::try_from(v).unwrap()),
                signature: at(&sigs, k).to_owned(),
                user: user.clone(),
                opnum: opnum.map(|v| u16::try_from(v).unwrap()),
            });
        }
    }
    out
}

/// The PDUs of the TCP connection(s) in which `user` authenticated (others may talk to the
/// same server meanwhile), or of every connection when `user` is `None`.
fn of_user<'a>(pdus: &'a [Pdu], user: &str) -> Vec<&'a Pdu> {
    let streams: Vec<&str> =
        pdus.iter().filter(|p| p.user == user).map(|p| p.stream.as_str()).collect();
    assert!(!streams.is_empty(), "no session setup as {user} captured: {pdus:#?}");
    pdus.iter().filter(|p| streams.contains(&p.stream.as_str())).collect()
}

const TRANSFORM: &str = "0xfd534d42";
const PLAIN: &str = "0xfe534d42";
const NEGOTIATE: u16 = 0;
const SESSION_SETUP: u16 = 1;
const STATUS_PENDING: u32 = 0x103;

/// Every plaintext SMB2 message other than NEGOTIATE and SESSION_SETUP is signed (interim
/// STATUS_PENDING responses are unsigned by design, [MS-SMB2] 3.3.4.2).
fn assert_all_signed(pdus: &[&Pdu]) {
    let mut checked = 0;
    let mut responses = 0;
    for p in pdus {
        if p.protocol_id != PLAIN || matches!(p.cmd, Some(NEGOTIATE | SESSION_SETUP)) {
            continue;
        }
        if p.response && p.status == Some(STATUS_PENDING) {
            continue;
        }
        assert!(p.signed, "unsigned message: {p:?}");
        assert!(p.signature.chars().any(|c| c != '0'), "zero signature: {p:?}");
        checked += 1;
        responses += usize::from(p.response);
    }
    // At least the change flow's seven requests (TREE_CONNECT, CREATE and the bind IOCTL in
    // one compound, the call, then CLOSE, TREE_DISCONNECT and LOGOFF in one compound) and the
    // four answers the client waits for.
    assert!(checked >= 11, "too few messages checked ({checked}): {pdus:#?}");
    assert!(responses >= 4, "too few responses checked ({responses}): {pdus:#?}");
}

/// Whether `text` appears in the capture as UTF-8 or UTF-16LE.
fn appears(file: &PathBuf, text: &str) -> bool {
    let bytes = std::fs::read(file).unwrap();
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    [text.as_bytes().to_vec(), utf16]
        .iter()
        .any(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_slice()))
}

/// Neither password appears in the capture as UTF-8 or UTF-16LE (and, as a control that the
/// search works, `visible` — the account name, sent in the clear by NTLM and SAMR — does).
fn assert_no_password(file: &PathBuf, passwords: &[&str], visible: &str) {
    assert!(appears(file, visible), "control: {visible} not found in {}", file.display());
    for pw in passwords {
        assert!(!appears(file, pw), "a password appears in the clear in {}", file.display());
    }
}

const OLD: &str = "Wire-Old-1!";
const NEW: &str = "Wire-New-2!";

#[test]
fn a_signed_change_is_opnum_73_and_every_message_is_signed() {
    require_servers();
    for server in [DC, S2, S4, S5] {
        let user = unique_user("ws");
        add_user(server, &user, OLD, false);
        let cap = Capture::start(server, &user);
        let o = block_on(change_password(change_request(server, &user, OLD, NEW)));
        let file = cap.stop();
        o.unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
        let pdus = tshark(&file);
        let mine = of_user(&pdus, &user);
        assert_all_signed(&mine);
        assert!(mine.iter().any(|p| p.opnum == Some(73) && !p.response), "no opnum 73: {mine:#?}");
        assert!(!mine.iter().any(|p| p.opnum == Some(55)), "legacy opnum 55 on the wire");
        assert_no_password(&file, &[OLD, NEW], &user);
        let _ = std::fs::remove_file(&file);
        assert_login_ok(server, &user, NEW);
    }
}

#[test]
fn on_the_encrypted_server_everything_after_session_setup_is_encrypted() {
    require_servers();
    let user = unique_user("we");
    add_user(S3, &user, OLD, false);
    let cap = Capture::start(S3, &user);
    let o = block_on(change_password(change_request(S3, &user, OLD, NEW)));
    let file = cap.stop();
    o.unwrap();
    let pdus = tshark(&file);
    let mine = of_user(&pdus, &user);
    let plain_after_setup = mine
        .iter()
        .filter(|p| p.protocol_id == PLAIN && !matches!(p.cmd, Some(NEGOTIATE | SESSION_SETUP)))
        .count();
    assert_eq!(plain_after_setup, 0, "plaintext messages after session setup: {mine:#?}");
    // One TRANSFORM per flight: the three request flights after session setup ([TREE_CONNECT
    // + CREATE + bind], the call, [CLOSE + TREE_DISCONNECT + LOGOFF]) and the two answers
    // the client waits for.
    let encrypted: Vec<_> = mine.iter().filter(|p| p.protocol_id == TRANSFORM).collect();
    let answers = encrypted.iter().filter(|p| p.response).count();
    assert!(encrypted.len() >= 5, "only {} encrypted messages: {mine:#?}", encrypted.len());
    assert!(answers >= 2, "only {answers} encrypted answers: {mine:#?}");
    assert_no_password(&file, &[OLD, NEW], &user);
    let _ = std::fs::remove_file(&file);
    assert_login_ok(S3, &user, NEW);
}

#[test]
fn an_anonymous_change_shows_no_password_on_the_wire() {
    require_servers();
    for server in [DC, S2] {
        let user = unique_user("wa");
        add_user(server, &user, OLD, false);
        let cap = Capture::start(server, &user);
        let mut req = change_request(server, &user, OLD, NEW);
        req.session = ChangeSession::Anonymous;
        let o = block_on(change_password(req));
        let file = cap.stop();
        o.unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
        // The session is anonymous and unsigned; the SAMR payload is readable, so the method
        // can be seen, but neither password can.
        let pdus = tshark(&file);
        assert!(
            pdus.iter().any(|p| p.opnum == Some(73) && !p.response && !p.signed),
            "no unsigned opnum 73: {pdus:#?}"
        );
        assert_no_password(&file, &[OLD, NEW], &user);
        let _ = std::fs::remove_file(&file);
        assert_login_ok(server, &user, NEW);
    }
}

#[test]
fn a_reset_is_opnum_58_signed_and_shows_no_password() {
    require_servers();
    for server in [DC, S4] {
        let user = unique_user("wr");
        add_user(server, &user, OLD, false);
        let cap = Capture::start(server, &user);
        let o = block_on(reset_password(samrpc::api::ResetPassword::new(
            server.ip.to_owned(),
            user.clone(),
            admin_credentials(server),
            samrpc::Password::from(NEW),
        )));
        let file = cap.stop();
        o.unwrap_or_else(|e| panic!("{}: {e:?}", server.ip));
        let pdus = tshark(&file);
        let mine = of_user(&pdus, "Administrator");
        assert_all_signed(&mine);
        assert!(mine.iter().any(|p| p.opnum == Some(58) && !p.response), "no opnum 58: {mine:#?}");
        assert_no_password(&file, &[NEW, &admin_password()], &user);
        let _ = std::fs::remove_file(&file);
        assert_login_ok(server, &user, NEW);
    }
}
