//! The sans-IO SMB2/3 client connection state machine ([MS-SMB2] 3.2; protocol notes 5.2–5.10).
//!
//! [`Connection`] builds request messages (signed or sealed as the session requires) and
//! checks response messages (decrypt, signature, message id, credits). It never touches a
//! socket: the caller frames [`Outgoing::bytes`] with [`super::framing`], sends them, and feeds
//! every received message to [`Connection::receive`]. A request's final response comes back
//! as [`Received::Final`], which the caller passes to the matching `handle_*` method.
//!
//! Phases: `negotiate_request` → `handle_negotiate` → (`session_setup_request` →
//! `handle_session_setup`)* → `complete_session` → `tree_connect_request` →
//! `handle_tree_connect` → [`validate_negotiate_request` → `handle_validate_negotiate` on 3.0 /
//! 3.0.2] → `create_pipe_request` → `handle_create` → pipe I/O → close / tree disconnect /
//! logoff. Calling a method in the wrong phase is a [`Smb2Error::State`] error.

use super::create::FileId;
use super::header::Header;
use super::ioctl::{FSCTL_PIPE_TRANSCEIVE, FSCTL_VALIDATE_NEGOTIATE_INFO, ValidateNegotiateInfo};
use super::keys::{PreauthHash, SessionKeys, default_signing, derive_session_keys};
use super::negotiate::{
    CAP_DFS, CAP_ENCRYPTION, CAP_LARGE_MTU, HASH_SHA512, NegotiateRequest, NegotiateResponse,
    SIGNING_ENABLED, SIGNING_REQUIRED,
};
use super::session_setup::{
    SESSION_FLAG_ENCRYPT_DATA, SESSION_FLAG_IS_GUEST, SESSION_FLAG_IS_NULL, SessionSetupRequest,
    SessionSetupResponse,
};
use super::transform::{TRANSFORM_PROTOCOL_ID, TransformError};
use super::tree_connect::{SHAREFLAG_ENCRYPT_DATA, TreeConnectResponse};
use super::{
    Cipher, Command, Dialect, HEADER_LEN, Result, SigningAlgorithm, Smb2Error, close, create,
    error, ioctl, logoff, read, signing, transform, tree_connect, write,
};
use crate::rng::{SecureRandom, SecureRandomExt};
use crate::secret::SessionKey;
use crate::status::NtStatus;
use crate::wire::Writer;
use std::collections::HashMap;

/// Client policy for one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionConfig {
    /// The lowest dialect accepted.
    pub min_dialect: Dialect,
    /// The highest dialect offered.
    pub max_dialect: Dialect,
    /// Require signing on authenticated sessions (anonymous sessions cannot sign).
    pub require_signing: bool,
    /// Require encryption (fails clearly if the server cannot encrypt).
    pub require_encryption: bool,
    /// Whether the caller asked for an anonymous (null) session.
    pub anonymous: bool,
    /// The largest pipe output we ask for in one IOCTL/READ (at least 16 bytes are asked).
    pub max_pipe_read: u32,
    /// Credits asked for in each request (the window we try to keep).
    pub credit_target: u16,
    /// The 3.1.1 ciphers offered, in preference order (default: all four, AES-256-GCM first).
    /// Empty: no ENCRYPTION_CAPABILITIES context (and no encryption on 3.1.1).
    pub ciphers: Vec<Cipher>,
    /// The 3.1.1 signing algorithms offered, in preference order (default: AES-GMAC,
    /// AES-CMAC, HMAC-SHA256). Empty: no SIGNING_CAPABILITIES context (AES-CMAC).
    pub signing_algorithms: Vec<SigningAlgorithm>,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            min_dialect: Dialect::SMB210,
            max_dialect: Dialect::SMB311,
            require_signing: true,
            require_encryption: false,
            anonymous: false,
            max_pipe_read: 65536,
            credit_target: 64,
            ciphers: Cipher::PREFERENCE.to_vec(),
            signing_algorithms: vec![
                SigningAlgorithm::AesGmac,
                SigningAlgorithm::AesCmac,
                SigningAlgorithm::HmacSha256,
            ],
        }
    }
}

/// A request ready to send: frame `bytes` and write them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The MessageId the response will carry.
    pub message_id: u64,
    /// The command.
    pub command: Command,
    /// The SMB2 message (or TRANSFORM_HEADER message when sealed), without the TCP frame header.
    pub bytes: Vec<u8>,
}

/// A checked response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    /// The decoded header.
    pub header: Header,
    /// The whole plaintext SMB2 message (header included).
    pub message: Vec<u8>,
    /// Whether it arrived encrypted.
    pub encrypted: bool,
}

/// What [`Connection::receive`] made of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Received {
    /// An interim STATUS_PENDING response: keep waiting for the final one with this id.
    Interim {
        /// The MessageId still outstanding.
        message_id: u64,
    },
    /// The final response to an outstanding request.
    Final(Response),
}

/// One step of session setup as seen by the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetupStep {
    /// STATUS_MORE_PROCESSING_REQUIRED: feed `token` to the authenticator and send its answer.
    More {
        /// The server's security token.
        token: Vec<u8>,
    },
    /// STATUS_SUCCESS: feed `token` (if any) to the authenticator, then call
    /// [`Connection::complete_session`] with the session key.
    Success {
        /// The server's last security token.
        token: Vec<u8>,
    },
}

/// Pipe data from an IOCTL transceive or a READ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PipeData {
    /// The bytes returned.
    pub data: Vec<u8>,
    /// STATUS_BUFFER_OVERFLOW: more of the same message remains; issue READ.
    pub more: bool,
}

/// What was negotiated and how the session is protected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The dialect in use.
    pub dialect: Dialect,
    /// Whether messages are signed.
    pub signing: bool,
    /// The signing algorithm (when signing).
    pub signing_algorithm: Option<SigningAlgorithm>,
    /// Whether messages are encrypted.
    pub encryption: bool,
    /// The cipher (when encrypting).
    pub cipher: Option<Cipher>,
    /// Whether the session is anonymous.
    pub anonymous: bool,
    /// The server's MaxTransactSize.
    pub max_transact_size: u32,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Phase {
    Start,
    Negotiating,
    Negotiated,
    SessionSetup,
    SessionDone,
    Established,
    Closed,
}

struct Negotiated {
    dialect: Dialect,
    security_mode: u16,
    capabilities: u32,
    server_guid: [u8; 16],
    max_transact_size: u32,
    max_read_size: u32,
    max_write_size: u32,
    cipher: Option<Cipher>,
    signing_algorithm: SigningAlgorithm,
}

/// The SMB2/3 client connection state (one session, one tree, one pipe).
pub struct Connection {
    cfg: ConnectionConfig,
    phase: Phase,
    next_message_id: u64,
    credits: u64,
    outstanding: HashMap<u64, Command>,
    /// Credits granted by interim responses that could not be verified (unsigned, not
    /// encrypted), per MessageId: added only when that request's final response passes its
    /// checks, and never more than `credit_target`.
    held_credits: HashMap<u64, u16>,
    request: NegotiateRequest,
    negotiated: Option<Negotiated>,
    preauth: PreauthHash,
    session_preauth: Option<PreauthHash>,
    session_id: u64,
    session_flags: u16,
    pending_final: Option<Vec<u8>>,
    keys: Option<SessionKeys>,
    anonymous_session: bool,
    signing_on: bool,
    encrypt_on: bool,
    tree_id: u32,
    tree_connected: bool,
    validated: bool,
    nonce_salt: [u8; 4],
    nonce_counter: u64,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("phase", &self.phase)
            .field("next_message_id", &self.next_message_id)
            .field("credits", &self.credits)
            .field("session_id", &self.session_id)
            .field("tree_id", &self.tree_id)
            .field("signing_on", &self.signing_on)
            .field("encrypt_on", &self.encrypt_on)
            .finish_non_exhaustive()
    }
}

/// A status that is a success for the purpose of a given command.
fn ok_status(status: NtStatus) -> bool {
    status == NtStatus::STATUS_SUCCESS
}

/// Turn a non-success final response into a typed status error (after checking the error
/// body decodes).
fn status_error(resp: &Response) -> Smb2Error {
    // The body is informational; a malformed one is still reported as the server's status.
    let _ = error::ErrorResponse::decode(&resp.message);
    Smb2Error::Status { command: resp.header.command, status: resp.header.status }
}

impl Connection {
    /// A fresh connection. Randomness: ClientGuid, preauth salt, nonce salt.
    pub fn new(cfg: ConnectionConfig, rng: &mut dyn SecureRandom) -> Result<Self> {
        if cfg.min_dialect > cfg.max_dialect {
            return Err(Smb2Error::State("min_dialect is above max_dialect"));
        }
        let dialects: Vec<Dialect> = Dialect::ALL
            .iter()
            .copied()
            .filter(|d| *d >= cfg.min_dialect && *d <= cfg.max_dialect)
            .collect();
        if dialects.is_empty() {
            return Err(Smb2Error::State("no dialect between min_dialect and max_dialect"));
        }
        let offers_3 = dialects.iter().any(|d| d.is_smb3());
        let security_mode =
            if cfg.require_signing { SIGNING_ENABLED | SIGNING_REQUIRED } else { SIGNING_ENABLED };
        let mut capabilities = CAP_DFS | CAP_LARGE_MTU;
        if offers_3 {
            capabilities |= CAP_ENCRYPTION;
        }
        let request = NegotiateRequest {
            dialects,
            security_mode,
            capabilities,
            client_guid: rng.array(),
            preauth_salt: rng.array(),
            ciphers: cfg.ciphers.clone(),
            signing_algorithms: cfg.signing_algorithms.clone(),
        };
        Ok(Self {
            cfg,
            phase: Phase::Start,
            next_message_id: 0,
            credits: 1,
            outstanding: HashMap::new(),
            held_credits: HashMap::new(),
            request,
            negotiated: None,
            preauth: PreauthHash::default(),
            session_preauth: None,
            session_id: 0,
            session_flags: 0,
            pending_final: None,
            keys: None,
            anonymous_session: false,
            signing_on: false,
            encrypt_on: false,
            tree_id: 0,
            tree_connected: false,
            validated: false,
            nonce_salt: rng.array(),
            nonce_counter: 0,
        })
    }

    fn expect_phase(&self, p: Phase, what: &'static str) -> Result<()> {
        if self.phase == p { Ok(()) } else { Err(Smb2Error::State(what)) }
    }

    fn neg(&self) -> Result<&Negotiated> {
        self.negotiated.as_ref().ok_or(Smb2Error::State("not negotiated"))
    }

    /// Credits currently available (the send window).
    pub fn credits(&self) -> u64 {
        self.credits
    }

    /// The number of requests awaiting a final response.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// The session's ApplicationKey (None for anonymous sessions or before session setup).
    pub fn application_key(&self) -> Option<&SessionKey> {
        self.keys.as_ref().map(|k| &k.application)
    }

    /// What was negotiated (after `complete_session`).
    pub fn info(&self) -> Option<SessionInfo> {
        let n = self.negotiated.as_ref()?;
        Some(SessionInfo {
            dialect: n.dialect,
            signing: self.signing_on && !self.encrypt_on,
            signing_algorithm: if self.signing_on && !self.encrypt_on {
                Some(n.signing_algorithm)
            } else {
                None
            },
            encryption: self.encrypt_on,
            cipher: if self.encrypt_on { n.cipher } else { None },
            anonymous: self.anonymous_session,
            max_transact_size: n.max_transact_size,
        })
    }

    /// The largest frame (message) we accept from the server: the negotiated maximum
    /// transact/read size plus headroom for headers, or 64 KiB + headers before negotiate.
    pub fn max_frame_len(&self) -> usize {
        let base = match &self.negotiated {
            Some(n) => {
                n.max_transact_size.max(n.max_read_size).min(self.cfg.max_pipe_read.max(65536))
            }
            None => 65536,
        };
        base as usize + 1024
    }

    fn charge_for(&self, payload: usize) -> u16 {
        let large_mtu = self
            .negotiated
            .as_ref()
            .map(|n| n.dialect >= Dialect::SMB210 && n.capabilities & CAP_LARGE_MTU != 0)
            .unwrap_or(false);
        if large_mtu { (payload.div_ceil(65536)).clamp(1, 255) as u16 } else { 1 }
    }

    /// Build (and sign or seal) a request.
    fn request(
        &mut self,
        command: Command,
        body: &[u8],
        tree_id: u32,
        expected_response: usize,
        force_sign: bool,
    ) -> Result<Outgoing> {
        let charge = self.charge_for(body.len().max(expected_response));
        if self.credits < u64::from(charge) {
            return Err(Smb2Error::NoCredits);
        }
        let message_id = self.next_message_id;
        let mut h = Header::request(command, message_id, self.session_id, tree_id);
        let is_202 = self.negotiated.as_ref().map(|n| n.dialect == Dialect::SMB202).unwrap_or(true);
        h.credit_charge = if is_202 && command != Command::NEGOTIATE { 0 } else { charge };
        if command == Command::NEGOTIATE {
            h.credit_charge = 0;
        }
        let after = self.credits - u64::from(charge);
        let want = u64::from(self.cfg.credit_target).saturating_sub(after).max(u64::from(charge));
        h.credits = want.min(u64::from(u16::MAX)) as u16;
        let mut w = Writer::with_capacity(HEADER_LEN + body.len());
        h.encode(&mut w);
        w.bytes(body);
        let mut msg = w.into_vec();
        let bytes = if self.encrypt_on {
            self.seal(&msg)?
        } else {
            if let (Some(keys), Some(n)) = (&self.keys, &self.negotiated) {
                if self.signing_on || force_sign {
                    signing::sign(&mut msg, n.signing_algorithm, &keys.signing)
                        .ok_or(Smb2Error::Protocol("cannot sign the request"))?;
                }
            }
            msg
        };
        self.next_message_id = message_id
            .checked_add(u64::from(charge))
            .ok_or(Smb2Error::Protocol("message ids exhausted"))?;
        self.credits = after;
        self.outstanding.insert(message_id, command);
        Ok(Outgoing { message_id, command, bytes })
    }

    fn seal(&mut self, plain: &[u8]) -> Result<Vec<u8>> {
        let n = self.neg()?;
        let cipher = n.cipher.ok_or(Smb2Error::EncryptionUnavailable("no cipher negotiated"))?;
        let key = self
            .keys
            .as_ref()
            .and_then(|k| k.encryption.as_ref())
            .ok_or(Smb2Error::EncryptionUnavailable("no encryption key"))?;
        // Nonce: a 64-bit counter (never reused, never wraps) then a per-connection random salt.
        self.nonce_counter = self
            .nonce_counter
            .checked_add(1)
            .ok_or(Smb2Error::Protocol("encryption nonces exhausted"))?;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&self.nonce_counter.to_le_bytes());
        nonce[8..12].copy_from_slice(&self.nonce_salt);
        transform::seal(cipher, key, nonce, self.session_id, plain)
            .map_err(|_| Smb2Error::Protocol("encryption failed"))
    }

    fn open(&self, msg: &[u8]) -> Result<Vec<u8>> {
        let n = self.neg()?;
        let cipher = n.cipher.ok_or(Smb2Error::Decrypt("encrypted message but no cipher"))?;
        let key = self
            .keys
            .as_ref()
            .and_then(|k| k.decryption.as_ref())
            .ok_or(Smb2Error::Decrypt("encrypted message but no decryption key"))?;
        let (th, plain) = transform::open(cipher, key, msg).map_err(|e| match e {
            TransformError::Auth => Smb2Error::Decrypt("authentication tag mismatch"),
            TransformError::Key => Smb2Error::Decrypt("key does not fit the cipher"),
            TransformError::Malformed(w) => Smb2Error::Decrypt(w),
        })?;
        if th.session_id != self.session_id {
            return Err(Smb2Error::Decrypt("SessionId does not match"));
        }
        Ok(plain)
    }

    /// Check one received message (TCP frame payload): decrypt if needed, verify the header,
    /// the message id, credits and the signature.
    pub fn receive(&mut self, msg: &[u8]) -> Result<Received> {
        let (message, encrypted) = if msg.starts_with(&TRANSFORM_PROTOCOL_ID) {
            (self.open(msg)?, true)
        } else {
            (msg.to_vec(), false)
        };
        let header = Header::decode(&message)?;
        if header.next_command != 0 {
            return Err(Smb2Error::Protocol("compound responses are not expected"));
        }
        self.receive_one(message, encrypted)
    }

    /// Check one plaintext message (a whole message, or one element of a chain including
    /// its padding, which the signature covers).
    ///
    /// Interim (STATUS_PENDING) responses go through the same encryption and SessionId checks
    /// as final ones *before* they are accepted. [MS-SMB2] 3.3.4.1.1 has the server leave
    /// interims unsigned (and 3.2.5.1.3 has the client skip their signature), so on a signed
    /// but unencrypted session an interim cannot be verified: it is accepted as "keep
    /// waiting", but its credit grant is held until the final response to the same request
    /// passes its checks, capped at the window we ask for. An interim that fails a check is an
    /// integrity failure like a forged final response (the connection ends).
    fn receive_one(&mut self, message: Vec<u8>, encrypted: bool) -> Result<Received> {
        let header = Header::decode(&message)?;
        if !header.is_response() {
            return Err(Smb2Error::Protocol("received a request, not a response"));
        }
        let Some(&command) = self.outstanding.get(&header.message_id) else {
            return Err(Smb2Error::UnknownMessageId(header.message_id));
        };
        if command != header.command {
            return Err(Smb2Error::Protocol("response command does not match the request"));
        }
        if self.encrypt_on && !encrypted {
            return Err(Smb2Error::Decrypt("unencrypted response on an encrypted session"));
        }
        // Every response after session setup must carry our SessionId (a zeroed SessionId
        // must not dodge the checks below); SESSION_SETUP responses are checked in
        // `handle_session_setup`, NEGOTIATE has no session.
        let session_bound = command != Command::SESSION_SETUP && command != Command::NEGOTIATE;
        if session_bound && self.session_id != 0 && header.session_id != self.session_id {
            return Err(Smb2Error::Protocol("response for another session"));
        }
        // Signature: NEGOTIATE is never signed; SESSION_SETUP responses are checked in
        // `complete_session`. Everything else on a session with keys is verified.
        let mut verified = encrypted;
        if !encrypted && session_bound {
            if let (Some(keys), Some(n)) = (&self.keys, &self.negotiated) {
                if header.is_signed() {
                    if !signing::verify(&message, n.signing_algorithm, &keys.signing) {
                        return Err(Smb2Error::BadSignature { command });
                    }
                    verified = true;
                } else if self.signing_on && !header.is_interim() {
                    return Err(Smb2Error::Unsigned { command });
                }
            }
        }
        if header.is_interim() {
            if verified {
                self.credits = self.credits.saturating_add(u64::from(header.credits));
            } else {
                let held = header.credits.min(self.cfg.credit_target);
                let slot = self.held_credits.entry(header.message_id).or_insert(0);
                *slot = (*slot).max(held);
            }
            return Ok(Received::Interim { message_id: header.message_id });
        }
        self.outstanding.remove(&header.message_id);
        let held = self.held_credits.remove(&header.message_id).unwrap_or(0);
        self.credits =
            self.credits.saturating_add(u64::from(header.credits)).saturating_add(u64::from(held));
        Ok(Received::Final(Response { header, message, encrypted }))
    }

    fn check_final(&self, resp: &Response, command: Command) -> Result<()> {
        if resp.header.command != command {
            return Err(Smb2Error::Protocol("response for a different command"));
        }
        Ok(())
    }

    // ---- NEGOTIATE ----

    /// The NEGOTIATE request (MessageId 0).
    pub fn negotiate_request(&mut self) -> Result<Outgoing> {
        self.expect_phase(Phase::Start, "negotiate_request after negotiation started")?;
        let body = self.request.encode_body();
        let out = self.request(Command::NEGOTIATE, &body, 0, 0, false)?;
        self.preauth.update(&out.bytes);
        self.phase = Phase::Negotiating;
        Ok(out)
    }

    /// Process the NEGOTIATE response; returns the server's security token (may be empty).
    pub fn handle_negotiate(&mut self, resp: &Response) -> Result<Vec<u8>> {
        self.expect_phase(Phase::Negotiating, "handle_negotiate out of order")?;
        self.check_final(resp, Command::NEGOTIATE)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        let r = NegotiateResponse::decode(&resp.message)?;
        // Below the minimum first: a dialect we did not offer because of the minimum is what
        // a NEGOTIATE rewritten in flight (or an old server) produces, and says so.
        if r.dialect < self.cfg.min_dialect {
            return Err(Smb2Error::DialectTooLow {
                server: r.dialect,
                minimum: self.cfg.min_dialect,
            });
        }
        if !self.request.dialects.contains(&r.dialect) {
            return Err(Smb2Error::Protocol("the server chose a dialect we did not offer"));
        }
        let mut cipher = None;
        let mut signing_algorithm = default_signing(r.dialect);
        if r.dialect == Dialect::SMB311 {
            if r.preauth_hash_algorithm != Some(HASH_SHA512) {
                return Err(Smb2Error::Protocol(
                    "3.1.1 without a SHA-512 preauth integrity context",
                ));
            }
            self.preauth.update(&resp.message);
            match r.cipher {
                None | Some(0) => {}
                Some(id) => {
                    let c = Cipher::from_id(id)
                        .ok_or(Smb2Error::Protocol("unknown cipher selected"))?;
                    if !self.request.ciphers.contains(&c) {
                        return Err(Smb2Error::Protocol(
                            "the server chose a cipher we did not offer",
                        ));
                    }
                    cipher = Some(c);
                }
            }
            if let Some(id) = r.signing_algorithm {
                let a = SigningAlgorithm::from_id(id)
                    .ok_or(Smb2Error::Protocol("unknown signing algorithm selected"))?;
                if !self.request.signing_algorithms.contains(&a) {
                    return Err(Smb2Error::Protocol(
                        "the server chose a signing algorithm we did not offer",
                    ));
                }
                signing_algorithm = a;
            }
        } else if r.dialect.is_smb3() && r.capabilities & CAP_ENCRYPTION != 0 {
            cipher = Some(Cipher::Aes128Ccm);
        }
        if self.cfg.require_encryption {
            if !r.dialect.is_smb3() {
                return Err(Smb2Error::EncryptionUnavailable(
                    "the server negotiated SMB 2.x, which has no encryption",
                ));
            }
            if cipher.is_none() {
                return Err(Smb2Error::EncryptionUnavailable("the server offers no common cipher"));
            }
        }
        self.negotiated = Some(Negotiated {
            dialect: r.dialect,
            security_mode: r.security_mode,
            capabilities: r.capabilities,
            server_guid: r.server_guid,
            max_transact_size: r.max_transact_size,
            max_read_size: r.max_read_size,
            max_write_size: r.max_write_size,
            cipher,
            signing_algorithm,
        });
        self.phase = Phase::Negotiated;
        Ok(r.security_buffer)
    }

    // ---- SESSION_SETUP ----

    /// A SESSION_SETUP request carrying `token`.
    pub fn session_setup_request(&mut self, token: &[u8]) -> Result<Outgoing> {
        if self.phase != Phase::Negotiated && self.phase != Phase::SessionSetup {
            return Err(Smb2Error::State("session_setup_request out of order"));
        }
        let n = self.neg()?;
        let security_mode =
            if self.cfg.require_signing { SIGNING_REQUIRED as u8 } else { SIGNING_ENABLED as u8 };
        let is_311 = n.dialect == Dialect::SMB311;
        let body =
            SessionSetupRequest { security_mode, capabilities: CAP_DFS, token }.encode_body();
        let out = self.request(Command::SESSION_SETUP, &body, 0, 0, false)?;
        if is_311 {
            let h = self.session_preauth.get_or_insert_with(|| self.preauth.clone());
            h.update(&out.bytes);
        }
        self.phase = Phase::SessionSetup;
        Ok(out)
    }

    /// Process a SESSION_SETUP response.
    pub fn handle_session_setup(&mut self, resp: &Response) -> Result<SetupStep> {
        self.expect_phase(Phase::SessionSetup, "handle_session_setup out of order")?;
        self.check_final(resp, Command::SESSION_SETUP)?;
        let status = resp.header.status;
        if status == NtStatus::STATUS_MORE_PROCESSING_REQUIRED {
            if self.session_id == 0 {
                if resp.header.session_id == 0 {
                    return Err(Smb2Error::Protocol("SESSION_SETUP gave no SessionId"));
                }
                self.session_id = resp.header.session_id;
            } else if resp.header.session_id != self.session_id {
                return Err(Smb2Error::Protocol("SESSION_SETUP SessionId changed"));
            }
            let r = SessionSetupResponse::decode(&resp.message)?;
            if let Some(h) = self.session_preauth.as_mut() {
                h.update(&resp.message);
            }
            return Ok(SetupStep::More { token: r.token });
        }
        if !ok_status(status) {
            return Err(status_error(resp));
        }
        if resp.header.session_id == 0
            || (self.session_id != 0 && resp.header.session_id != self.session_id)
        {
            return Err(Smb2Error::Protocol("SESSION_SETUP SessionId mismatch"));
        }
        self.session_id = resp.header.session_id;
        let r = SessionSetupResponse::decode(&resp.message)?;
        self.session_flags = r.session_flags;
        if r.session_flags & SESSION_FLAG_IS_GUEST != 0 && !self.cfg.anonymous {
            return Err(Smb2Error::Guest);
        }
        if r.session_flags & SESSION_FLAG_IS_NULL != 0 && !self.cfg.anonymous {
            return Err(Smb2Error::UnexpectedNullSession);
        }
        // The final response is not part of the preauth hash; it is verified once the
        // authenticator has produced the session key.
        self.pending_final = Some(resp.message.clone());
        self.phase = Phase::SessionDone;
        Ok(SetupStep::Success { token: r.token })
    }

    /// Finish session setup with the authenticator's session key (`None` for anonymous):
    /// derive keys, verify the final SESSION_SETUP response signature, and decide signing and
    /// encryption.
    pub fn complete_session(&mut self, session_key: Option<SessionKey>) -> Result<()> {
        self.expect_phase(Phase::SessionDone, "complete_session before session setup finished")?;
        let final_msg =
            self.pending_final.take().ok_or(Smb2Error::State("no final SESSION_SETUP response"))?;
        let n = self.neg()?;
        let dialect = n.dialect;
        let alg = n.signing_algorithm;
        let server_requires_signing = n.security_mode & SIGNING_REQUIRED != 0;
        let cipher = n.cipher;
        let null = self.session_flags & (SESSION_FLAG_IS_NULL | SESSION_FLAG_IS_GUEST) != 0;
        let anonymous = self.cfg.anonymous || null || session_key.is_none();
        let server_wants_encryption = self.session_flags & SESSION_FLAG_ENCRYPT_DATA != 0;
        let header = Header::decode(&final_msg)?;
        match session_key {
            Some(sk) if !null => {
                let keys = derive_session_keys(&sk, dialect, self.session_preauth.as_ref(), cipher);
                if header.is_signed() {
                    if !signing::verify(&final_msg, alg, &keys.signing) {
                        return Err(if dialect == Dialect::SMB311 {
                            Smb2Error::DowngradeDetected(
                                "the final SESSION_SETUP signature does not match the preauth hash",
                            )
                        } else {
                            Smb2Error::BadSignature { command: Command::SESSION_SETUP }
                        });
                    }
                } else if dialect == Dialect::SMB311
                    || ((self.cfg.require_signing || server_requires_signing) && dialect.is_smb3())
                {
                    return Err(Smb2Error::Unsigned { command: Command::SESSION_SETUP });
                }
                self.signing_on = self.cfg.require_signing || server_requires_signing;
                self.keys = Some(keys);
                if server_wants_encryption || self.cfg.require_encryption {
                    if cipher.is_none() || !dialect.is_smb3() {
                        return Err(if server_wants_encryption {
                            Smb2Error::EncryptionRequired("no cipher was negotiated")
                        } else {
                            Smb2Error::EncryptionUnavailable("no cipher was negotiated")
                        });
                    }
                    self.encrypt_on = true;
                }
            }
            _ => {
                if !self.cfg.anonymous {
                    return Err(Smb2Error::SigningRequired(
                        "the authenticator produced no session key for a non-anonymous logon",
                    ));
                }
                if server_wants_encryption {
                    return Err(Smb2Error::EncryptionRequired("anonymous sessions cannot encrypt"));
                }
                if self.cfg.require_encryption {
                    return Err(Smb2Error::EncryptionUnavailable(
                        "anonymous sessions cannot encrypt",
                    ));
                }
                self.signing_on = false;
            }
        }
        self.anonymous_session = anonymous;
        self.session_preauth = None;
        self.phase = Phase::Established;
        Ok(())
    }

    // ---- TREE_CONNECT ----

    /// TREE_CONNECT to `\\server\IPC$`. On 3.1.1 the request is signed whenever keys exist.
    pub fn tree_connect_request(&mut self, server: &str) -> Result<Outgoing> {
        self.expect_phase(Phase::Established, "tree_connect_request before session setup")?;
        if self.tree_connected {
            return Err(Smb2Error::State("already tree-connected"));
        }
        let body = tree_connect::encode_body(&format!(r"\\{server}\IPC$"));
        let force = self.neg()?.dialect == Dialect::SMB311;
        self.request(Command::TREE_CONNECT, &body, 0, 0, force)
    }

    /// Process the TREE_CONNECT response.
    pub fn handle_tree_connect(&mut self, resp: &Response) -> Result<TreeConnectResponse> {
        self.check_final(resp, Command::TREE_CONNECT)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        let r = TreeConnectResponse::decode(&resp.message)?;
        self.tree_id = resp.header.tree_id;
        self.tree_connected = true;
        if r.share_flags & SHAREFLAG_ENCRYPT_DATA != 0 && !self.encrypt_on {
            let can = self.keys.as_ref().is_some_and(|k| k.encryption.is_some());
            if !can {
                return Err(Smb2Error::EncryptionRequired("the IPC$ share requires encryption"));
            }
            self.encrypt_on = true;
        }
        Ok(r)
    }

    /// Whether VALIDATE_NEGOTIATE_INFO must be sent now (3.0 / 3.0.2, authenticated session,
    /// after the first tree connect, not yet validated).
    pub fn needs_validate_negotiate(&self) -> bool {
        let Some(n) = &self.negotiated else { return false };
        (n.dialect == Dialect::SMB300 || n.dialect == Dialect::SMB302)
            && self.tree_connected
            && !self.validated
            && !self.anonymous_session
            && self.keys.is_some()
    }

    /// The signed FSCTL_VALIDATE_NEGOTIATE_INFO request.
    pub fn validate_negotiate_request(&mut self) -> Result<Outgoing> {
        if !self.needs_validate_negotiate() {
            return Err(Smb2Error::State("VALIDATE_NEGOTIATE_INFO is not applicable"));
        }
        let input = ioctl::encode_validate_negotiate_input(
            self.request.capabilities,
            &self.request.client_guid,
            self.request.security_mode,
            &self.request.dialects,
        );
        let body =
            ioctl::encode_body(FSCTL_VALIDATE_NEGOTIATE_INFO, create::FileId::ANY, &input, 24);
        self.request(Command::IOCTL, &body, self.tree_id, 24, true)
    }

    /// Check the VALIDATE_NEGOTIATE_INFO response against the NEGOTIATE response.
    pub fn handle_validate_negotiate(&mut self, resp: &Response) -> Result<()> {
        self.check_final(resp, Command::IOCTL)?;
        if !resp.encrypted && !resp.header.is_signed() {
            return Err(Smb2Error::DowngradeDetected(
                "VALIDATE_NEGOTIATE_INFO response is unsigned",
            ));
        }
        if !ok_status(resp.header.status) {
            return Err(Smb2Error::DowngradeDetected("the server failed VALIDATE_NEGOTIATE_INFO"));
        }
        let r = ioctl::IoctlResponse::decode(&resp.message)?;
        let v = ValidateNegotiateInfo::decode(&r.output)?;
        let n = self.neg()?;
        if v.dialect != n.dialect
            || v.security_mode != n.security_mode
            || v.capabilities != n.capabilities
            || v.server_guid != n.server_guid
        {
            return Err(Smb2Error::DowngradeDetected(
                "VALIDATE_NEGOTIATE_INFO does not match NEGOTIATE",
            ));
        }
        self.validated = true;
        Ok(())
    }

    // ---- CREATE / pipe I/O / CLOSE ----

    /// CREATE opening the named pipe `name` (e.g. `samr`).
    pub fn create_pipe_request(&mut self, name: &str) -> Result<Outgoing> {
        self.tree_ready()?;
        let body = create::encode_pipe_open_body(name);
        self.request(Command::CREATE, &body, self.tree_id, 0, false)
    }

    fn tree_ready(&self) -> Result<()> {
        self.expect_phase(Phase::Established, "pipe operation before session setup")?;
        if !self.tree_connected {
            return Err(Smb2Error::State("not tree-connected"));
        }
        if self.needs_validate_negotiate() {
            return Err(Smb2Error::State("VALIDATE_NEGOTIATE_INFO must run first"));
        }
        Ok(())
    }

    /// Process the CREATE response; returns the pipe handle.
    pub fn handle_create(&mut self, resp: &Response) -> Result<FileId> {
        self.check_final(resp, Command::CREATE)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        Ok(create::CreateResponse::decode(&resp.message)?.file_id)
    }

    fn pipe_read_len(&self) -> u32 {
        let n = self.negotiated.as_ref();
        let server = n.map(|n| n.max_transact_size.min(n.max_read_size)).unwrap_or(65536);
        self.cfg.max_pipe_read.min(server).max(16)
    }

    /// FSCTL_PIPE_TRANSCEIVE: write `pdu` and read the answer in one IOCTL.
    pub fn transceive_request(&mut self, file_id: FileId, pdu: &[u8]) -> Result<Outgoing> {
        self.tree_ready()?;
        let max = self.pipe_read_len();
        let body = ioctl::encode_body(FSCTL_PIPE_TRANSCEIVE, file_id, pdu, max);
        self.request(Command::IOCTL, &body, self.tree_id, max as usize, false)
    }

    /// Process a transceive IOCTL response.
    pub fn handle_transceive(&mut self, resp: &Response) -> Result<PipeData> {
        self.check_final(resp, Command::IOCTL)?;
        let more = resp.header.status == NtStatus::STATUS_BUFFER_OVERFLOW;
        if !more && !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        let r = ioctl::IoctlResponse::decode(&resp.message)?;
        if r.ctl_code != FSCTL_PIPE_TRANSCEIVE {
            return Err(Smb2Error::Protocol("IOCTL response for another control code"));
        }
        Ok(PipeData { data: r.output, more })
    }

    /// READ from the pipe (continuation after STATUS_BUFFER_OVERFLOW, or the read half of
    /// WRITE/READ).
    pub fn read_request(&mut self, file_id: FileId) -> Result<Outgoing> {
        self.tree_ready()?;
        let max = self.pipe_read_len();
        let body = read::encode_body(file_id, max);
        self.request(Command::READ, &body, self.tree_id, max as usize, false)
    }

    /// Process a READ response.
    pub fn handle_read(&mut self, resp: &Response) -> Result<PipeData> {
        self.check_final(resp, Command::READ)?;
        let more = resp.header.status == NtStatus::STATUS_BUFFER_OVERFLOW;
        if !more && !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        Ok(PipeData { data: read::ReadResponse::decode(&resp.message)?.data, more })
    }

    /// The largest single WRITE the server accepts.
    pub fn max_write(&self) -> usize {
        self.negotiated.as_ref().map(|n| n.max_write_size as usize).unwrap_or(65536).min(65536)
    }

    /// WRITE `data` to the pipe.
    pub fn write_request(&mut self, file_id: FileId, data: &[u8]) -> Result<Outgoing> {
        self.tree_ready()?;
        if data.len() > self.max_write().max(1) {
            return Err(Smb2Error::State("WRITE larger than the server's MaxWriteSize"));
        }
        let body = write::encode_body(file_id, data);
        self.request(Command::WRITE, &body, self.tree_id, 0, false)
    }

    /// Process a WRITE response; returns the count written.
    pub fn handle_write(&mut self, resp: &Response) -> Result<u32> {
        self.check_final(resp, Command::WRITE)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        Ok(write::decode_response(&resp.message)?)
    }

    /// CLOSE the pipe handle.
    pub fn close_request(&mut self, file_id: FileId) -> Result<Outgoing> {
        self.expect_phase(Phase::Established, "close before session setup")?;
        let body = close::encode_body(file_id);
        self.request(Command::CLOSE, &body, self.tree_id, 0, false)
    }

    /// Process the CLOSE response.
    pub fn handle_close(&mut self, resp: &Response) -> Result<()> {
        self.check_final(resp, Command::CLOSE)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        close::decode_response(&resp.message)?;
        Ok(())
    }

    /// TREE_DISCONNECT.
    pub fn tree_disconnect_request(&mut self) -> Result<Outgoing> {
        self.expect_phase(Phase::Established, "tree disconnect before session setup")?;
        let body = logoff::encode_body();
        self.request(Command::TREE_DISCONNECT, &body, self.tree_id, 0, false)
    }

    /// Process the TREE_DISCONNECT response.
    pub fn handle_tree_disconnect(&mut self, resp: &Response) -> Result<()> {
        self.check_final(resp, Command::TREE_DISCONNECT)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        logoff::decode_response(&resp.message)?;
        self.tree_connected = false;
        Ok(())
    }

    /// LOGOFF.
    pub fn logoff_request(&mut self) -> Result<Outgoing> {
        self.expect_phase(Phase::Established, "logoff before session setup")?;
        let body = logoff::encode_body();
        self.request(Command::LOGOFF, &body, 0, 0, false)
    }

    /// Process the LOGOFF response.
    pub fn handle_logoff(&mut self, resp: &Response) -> Result<()> {
        self.check_final(resp, Command::LOGOFF)?;
        if !ok_status(resp.header.status) {
            return Err(status_error(resp));
        }
        logoff::decode_response(&resp.message)?;
        self.phase = Phase::Closed;
        Ok(())
    }
}

mod compound;
pub use compound::OutgoingCompound;

#[cfg(test)]
mod tests;
