//! Sans-IO Kerberos exchanges: AS (initial ticket), TGS (service ticket), AP (mutual
//! authentication to a server) and kpasswd (RFC 3244 password change).
//!
//! Every function takes the current time and a random source as arguments and returns the
//! bytes to send and typed results; the tokio shell moves bytes to and from the KDC. Key
//! usages ([RFC 4120] 7.5.1): 1 PA-ENC-TIMESTAMP, 3 AS-REP enc-part, 6/7 TGS-REQ checksum /
//! authenticator, 8 or 9 TGS-REP enc-part (both accepted), 11 AP-REQ authenticator, 12 AP-REP
//! enc-part, 13 KRB-PRIV enc-part.
//!
//! Messages here carry no TCP record mark; the shell adds and strips it.

use super::asn1::{KerberosTime, KrbTimestamp};
use super::crypto::{Etype, KerberosKey};
use super::error::{KerberosError, code};
use super::gss;
use super::kpasswd::{self, KpasswdReply, KpasswdResult};
use super::messages::{
    ApRep, ApReq, Authenticator, Checksum, EncApRepPart, EncKdcRepPart, EncKrbPrivPart,
    EncryptedData, EtypeInfo2Entry, HostAddress, KdcRep, KdcReq, KdcReqBody, KrbError, KrbPriv,
    PaData, PrincipalName, RawKey, Ticket, ap_options, kdc_options, msg_type, pa_type,
};
use crate::auth::der::app;
use crate::rng::SecureRandom;
use crate::secret::{NtHash, Password, SecretBytes};

/// Key usage numbers ([RFC 4120] 7.5.1).
pub mod usage {
    /// AS-REQ PA-ENC-TIMESTAMP.
    pub const PA_ENC_TIMESTAMP: u32 = 1;
    /// AS-REP enc-part.
    pub const AS_REP_ENC_PART: u32 = 3;
    /// TGS-REQ PA-TGS-REQ authenticator checksum (over the req-body).
    pub const TGS_REQ_CKSUM: u32 = 6;
    /// TGS-REQ PA-TGS-REQ authenticator.
    pub const TGS_REQ_AUTHENTICATOR: u32 = 7;
    /// TGS-REP enc-part with the session key.
    pub const TGS_REP_SESSION_KEY: u32 = 8;
    /// TGS-REP enc-part with the authenticator subkey.
    pub const TGS_REP_SUBKEY: u32 = 9;
    /// AP-REQ authenticator.
    pub const AP_REQ_AUTHENTICATOR: u32 = 11;
    /// AP-REP enc-part.
    pub const AP_REP_ENC_PART: u32 = 12;
    /// KRB-PRIV enc-part.
    pub const KRB_PRIV_ENC_PART: u32 = 13;
}

/// The client's long-term secret.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum ClientSecret {
    /// A password: keys come from string-to-key with the KDC's salt (AES 256/128 only).
    Password(Password),
    /// An NT hash: the RC4-HMAC key (etype 23 only; the caller's explicit choice).
    NtHash(NtHash),
    /// A raw AES key (16 bytes → etype 17, 32 bytes → etype 18).
    Key(KerberosKey),
}

impl ClientSecret {
    /// An AES key from its bytes: 16 → aes128, 32 → aes256.
    pub fn aes_key(bytes: &[u8]) -> Result<Self, KerberosError> {
        let etype = match bytes.len() {
            16 => Etype::Aes128CtsHmacSha196,
            32 => Etype::Aes256CtsHmacSha196,
            _ => return Err(KerberosError::Credentials("an AES key must be 16 or 32 bytes")),
        };
        Ok(Self::Key(KerberosKey::new(etype, bytes)?))
    }

    /// The etypes to offer in an AS-REQ, in preference order.
    fn etypes(&self) -> Vec<Etype> {
        match self {
            Self::Password(_) => vec![Etype::Aes256CtsHmacSha196, Etype::Aes128CtsHmacSha196],
            Self::NtHash(_) => vec![Etype::Rc4Hmac],
            Self::Key(k) => vec![k.etype()],
        }
    }
}

/// A Kerberos client identity: user, realm and secret.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    /// The user name as typed (the KDC may canonicalize it).
    pub user: String,
    /// The realm as typed (upper-cased before use).
    pub realm: String,
    /// The long-term secret.
    pub secret: ClientSecret,
}

/// A ticket with its session key: what an AS or TGS exchange yields, and what a ticket cache
/// holds.
#[derive(Clone, Debug)]
pub struct Credential {
    /// The client's realm (as the KDC returned it).
    pub crealm: String,
    /// The client's name (as the KDC returned it).
    pub cname: PrincipalName,
    /// The ticket.
    pub ticket: Ticket,
    /// The ticket's session key.
    pub session_key: KerberosKey,
    /// TicketFlags.
    pub flags: u32,
    /// When the ticket expires.
    pub endtime: KerberosTime,
    /// When the ticket starts being valid.
    pub starttime: Option<KerberosTime>,
    /// The service realm.
    pub srealm: String,
    /// The service name.
    pub sname: PrincipalName,
}

impl Credential {
    /// Whether the ticket is valid at `now` (with 60 s of margin before its end).
    pub fn is_valid_at(&self, now: KerberosTime) -> bool {
        self.endtime.0 > now.0.saturating_add(60)
            && self.starttime.is_none_or(|s| s.0 <= now.0.saturating_add(300))
    }
}

/// A nonce / sequence number below 2^31 (Windows encodes UInt32 as signed; staying positive
/// keeps every KDC happy).
fn nonce31(rng: &mut dyn SecureRandom) -> u32 {
    let mut b = [0u8; 4];
    rng.fill(&mut b);
    u32::from_be_bytes(b) & 0x7fff_ffff
}

fn key_from_raw(raw: &RawKey) -> Result<KerberosKey, KerberosError> {
    Ok(KerberosKey::from_number(raw.keytype, raw.value.expose())?)
}

fn raw_from_key(k: &KerberosKey) -> RawKey {
    RawKey { keytype: k.etype().number(), value: SecretBytes::new(k.expose().to_vec()) }
}

fn enc(key: &KerberosKey, usage: u32, plain: &[u8], rng: &mut dyn SecureRandom) -> EncryptedData {
    EncryptedData {
        etype: key.etype().number(),
        kvno: None,
        cipher: key.encrypt(usage, plain, rng),
    }
}

/// Decode a KDC answer that is either the expected reply or a KRB-ERROR.
enum KdcAnswer {
    Rep(KdcRep),
    Error(KrbError),
}

fn decode_kdc_answer(buf: &[u8], expected: u8) -> Result<KdcAnswer, KerberosError> {
    match buf.first() {
        Some(&t) if t == app(msg_type::KRB_ERROR) => Ok(KdcAnswer::Error(KrbError::decode(buf)?)),
        Some(&t) if t == app(expected) => Ok(KdcAnswer::Rep(KdcRep::decode(buf, expected)?)),
        _ => Err(KerberosError::Protocol("unexpected message type from the KDC")),
    }
}

/// Decode a plain KDC reply as it arrives (AS-REP, TGS-REP or KRB-ERROR), for fuzzing.
pub fn decode_kdc_reply(buf: &[u8]) -> Result<(), KerberosError> {
    match buf.first() {
        Some(&t) if t == app(msg_type::TGS_REP) => {
            KdcRep::decode(buf, msg_type::TGS_REP)?;
        }
        _ => match decode_kdc_answer(buf, msg_type::AS_REP)? {
            KdcAnswer::Rep(_) | KdcAnswer::Error(_) => {}
        },
    }
    Ok(())
}

/// What to do after feeding a KDC answer to an exchange.
#[derive(Debug)]
#[must_use]
pub enum AsStep {
    /// Send this AS-REQ to the same KDC and feed the answer back.
    Send(Vec<u8>),
    /// The exchange succeeded.
    Done(Box<Credential>),
}

/// An AS exchange ([RFC 4120] 3.1) for a password, NT hash or AES key.
///
/// With a password, the first AS-REQ already carries PA-ENC-TIMESTAMP encrypted with the key
/// from the default salt (realm + user name) — one round trip when the guess is right. On
/// PREAUTH_REQUIRED or PREAUTH_FAILED whose ETYPE-INFO2 names another salt, etype or
/// s2kparams, it retries once with those. On KRB_AP_ERR_SKEW it retries once with the KDC's
/// time. Canonicalize is requested and the realm and name the KDC returns are adopted.
///
/// String-to-key (PBKDF2) runs inside [`AsExchange::start`] and [`AsExchange::on_reply`]:
/// the async shell must call them off the executor.
pub struct AsExchange {
    creds: ClientCredentials,
    realm: String,
    service: PrincipalName,
    nonce: u32,
    /// The key the pre-authentication used, with the salt/params it came from.
    key: KerberosKey,
    salt: Vec<u8>,
    s2kparams: Option<Vec<u8>>,
    salt_retried: bool,
    skew_retried: bool,
    /// Seconds to add to the local clock (set after a SKEW error).
    clock_offset: i64,
    round_trips: u32,
}

impl core::fmt::Debug for AsExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AsExchange")
            .field("user", &self.creds.user)
            .field("realm", &self.realm)
            .field("service", &self.service.to_string())
            .field("etype", &self.key.etype())
            .finish_non_exhaustive()
    }
}

impl AsExchange {
    /// Start an AS exchange for a TGT (`service` = `None`: `krbtgt/REALM`) or for a specific
    /// service (`kadmin/changepw`, which must be obtained through the AS for an expired
    /// password). Returns the exchange and the first AS-REQ.
    pub fn start(
        creds: ClientCredentials,
        service: Option<PrincipalName>,
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> Result<(Self, Vec<u8>), KerberosError> {
        if creds.user.is_empty() || creds.realm.is_empty() {
            return Err(KerberosError::Credentials("the user name and realm must not be empty"));
        }
        let realm = creds.realm.to_uppercase();
        let service = service.unwrap_or_else(|| PrincipalName::service("krbtgt", &realm));
        let salt = format!("{realm}{}", creds.user).into_bytes();
        let key = match &creds.secret {
            ClientSecret::Password(p) => {
                KerberosKey::from_password(Etype::Aes256CtsHmacSha196, p, &salt, None)?
            }
            ClientSecret::NtHash(h) => KerberosKey::from_nt_hash(h),
            ClientSecret::Key(k) => k.clone(),
        };
        let mut x = Self {
            creds,
            realm,
            service,
            nonce: nonce31(rng),
            key,
            salt,
            s2kparams: None,
            salt_retried: false,
            skew_retried: false,
            clock_offset: 0,
            round_trips: 1,
        };
        let req = x.request(rng, now);
        Ok((x, req))
    }

    /// The seconds added to the local clock after a SKEW retry (0 if none).
    pub fn clock_offset(&self) -> i64 {
        self.clock_offset
    }

    /// How many AS-REQs were sent so far.
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    fn request(&mut self, rng: &mut dyn SecureRandom, now: KrbTimestamp) -> Vec<u8> {
        let now = KrbTimestamp {
            time: KerberosTime(now.time.0.saturating_add(self.clock_offset)),
            usec: now.usec,
        };
        let ts = super::messages::encode_pa_enc_ts(now);
        let padata = vec![
            PaData::enc_timestamp(enc(&self.key, usage::PA_ENC_TIMESTAMP, &ts, rng)),
            PaData::pac_request(true),
        ];
        let body = KdcReqBody {
            options: kdc_options::FORWARDABLE
                | kdc_options::RENEWABLE
                | kdc_options::CANONICALIZE
                | kdc_options::RENEWABLE_OK,
            cname: Some(PrincipalName::user(&self.creds.user)),
            realm: self.realm.clone(),
            sname: Some(self.service.clone()),
            till: KerberosTime::FAR_FUTURE,
            rtime: Some(KerberosTime::FAR_FUTURE),
            nonce: self.nonce,
            etypes: self.creds.secret.etypes().iter().map(|e| e.number()).collect(),
        };
        KdcReq { msg_type: msg_type::AS_REQ, padata, body }.encode()
    }

    /// Feed the KDC's answer.
    pub fn on_reply(
        &mut self,
        reply: &[u8],
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> Result<AsStep, KerberosError> {
        match decode_kdc_answer(reply, msg_type::AS_REP)? {
            KdcAnswer::Rep(rep) => self.finish(rep).map(|c| AsStep::Done(Box::new(c))),
            KdcAnswer::Error(e) => self.on_error(&e, rng, now),
        }
    }

    fn on_error(
        &mut self,
        e: &KrbError,
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> Result<AsStep, KerberosError> {
        match e.error_code {
            code::SKEW if !self.skew_retried => {
                self.skew_retried = true;
                self.clock_offset = e.stime.time.0 - now.time.0;
                self.nonce = nonce31(rng);
                self.round_trips += 1;
                Ok(AsStep::Send(self.request(rng, now)))
            }
            code::PREAUTH_REQUIRED | code::PREAUTH_FAILED if !self.salt_retried => {
                if self.adopt_etype_info(&e.etype_info2())? {
                    self.salt_retried = true;
                    self.nonce = nonce31(rng);
                    self.round_trips += 1;
                    Ok(AsStep::Send(self.request(rng, now)))
                } else {
                    Err(KerberosError::from_krb_error(e))
                }
            }
            _ => Err(KerberosError::from_krb_error(e)),
        }
    }

    /// Switch to the etype/salt/s2kparams the KDC announced, if they differ from what the
    /// last request used. Returns whether anything changed.
    fn adopt_etype_info(&mut self, info: &[EtypeInfo2Entry]) -> Result<bool, KerberosError> {
        let offered = self.creds.secret.etypes();
        let Some((etype, entry)) = info.iter().find_map(|i| {
            Etype::from_number(i.etype).filter(|e| offered.contains(e)).map(|e| (e, i))
        }) else {
            return Ok(false);
        };
        let salt = entry.salt.clone().unwrap_or_else(|| self.default_salt());
        match &self.creds.secret {
            ClientSecret::Password(p) => {
                if etype == self.key.etype()
                    && salt == self.salt
                    && entry.s2kparams == self.s2kparams
                {
                    return Ok(false);
                }
                self.key = KerberosKey::from_password(etype, p, &salt, entry.s2kparams.as_deref())?;
                self.salt = salt;
                self.s2kparams = entry.s2kparams.clone();
                Ok(true)
            }
            // The key is fixed: the salt cannot change it.
            ClientSecret::NtHash(_) | ClientSecret::Key(_) => Ok(false),
        }
    }

    fn default_salt(&self) -> Vec<u8> {
        format!("{}{}", self.realm, self.creds.user).into_bytes()
    }

    fn finish(&mut self, rep: KdcRep) -> Result<Credential, KerberosError> {
        // The AS-REP may say which salt it used (PA-ETYPE-INFO2 in its padata): if our key
        // does not match it, derive the right one before decrypting.
        if rep.enc_part.etype != self.key.etype().number() {
            let info: Vec<EtypeInfo2Entry> = rep
                .padata
                .iter()
                .filter(|p| p.padata_type == pa_type::ETYPE_INFO2)
                .find_map(|p| EtypeInfo2Entry::decode_list(&p.value).ok())
                .unwrap_or_default();
            let wanted: Vec<EtypeInfo2Entry> =
                info.into_iter().filter(|i| i.etype == rep.enc_part.etype).collect();
            if wanted.is_empty() || !self.adopt_etype_info(&wanted)? {
                return Err(KerberosError::Protocol("the AS-REP uses an etype we did not offer"));
            }
        }
        let plain = self
            .key
            .decrypt(usage::AS_REP_ENC_PART, &rep.enc_part.cipher)
            .map_err(|_| KerberosError::WrongPassword)?;
        let part = EncKdcRepPart::decode(&plain)?;
        check_kdc_rep_part(&part, self.nonce, &self.service)?;
        credential(rep, part)
    }
}

/// The credential a verified KDC reply yields.
fn credential(rep: KdcRep, part: EncKdcRepPart) -> Result<Credential, KerberosError> {
    Ok(Credential {
        crealm: rep.crealm,
        cname: rep.cname,
        ticket: rep.ticket,
        session_key: key_from_raw(&part.key)?,
        flags: part.flags,
        endtime: part.endtime,
        starttime: part.starttime,
        srealm: part.srealm,
        sname: part.sname,
    })
}

fn check_kdc_rep_part(
    part: &EncKdcRepPart,
    nonce: u32,
    service: &PrincipalName,
) -> Result<(), KerberosError> {
    if part.nonce != nonce {
        return Err(KerberosError::Protocol("the KDC reply's nonce does not match the request"));
    }
    // Canonicalization may change the case of the names: compare case-insensitively.
    let same = part.sname.components.len() == service.components.len()
        && part
            .sname
            .components
            .iter()
            .zip(&service.components)
            .all(|(a, b)| a.eq_ignore_ascii_case(b));
    if !same {
        return Err(KerberosError::Protocol("the KDC issued a ticket for another service"));
    }
    Ok(())
}

/// A pending TGS exchange ([RFC 4120] 3.3).
#[derive(Debug)]
pub struct TgsExchange {
    nonce: u32,
    session_key: KerberosKey,
    /// The authenticator subkey, if one was sent (ours never do; MIT's do).
    subkey: Option<KerberosKey>,
    service: PrincipalName,
}

impl TgsExchange {
    /// Build a TGS-REQ for `service` in `realm` with `tgt`. The authenticator (usage 7)
    /// carries a checksum of the req-body (usage 6) and no subkey.
    pub fn start(
        tgt: &Credential,
        service: PrincipalName,
        realm: &str,
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> Result<(Self, Vec<u8>), KerberosError> {
        let nonce = nonce31(rng);
        let mut etypes =
            vec![Etype::Aes256CtsHmacSha196.number(), Etype::Aes128CtsHmacSha196.number()];
        if tgt.session_key.etype() == Etype::Rc4Hmac {
            etypes.push(Etype::Rc4Hmac.number()); // the caller chose RC4 by handing an NT hash
        }
        let body = KdcReqBody {
            // Only canonicalize: asking for forwardable/renewable fails with BADOPTION when the
            // TGT lacks them (MIT kinit's default TGT, Protected Users), and SMB needs neither.
            options: kdc_options::CANONICALIZE,
            cname: None,
            realm: realm.to_uppercase(),
            sname: Some(service.clone()),
            till: KerberosTime::FAR_FUTURE,
            rtime: None,
            nonce,
            etypes,
        }
        .encode();
        let key = &tgt.session_key;
        let cksum = Checksum {
            cksumtype: key.etype().checksum_type(),
            checksum: key.checksum(usage::TGS_REQ_CKSUM, &body),
        };
        let auth = Authenticator {
            crealm: tgt.crealm.clone(),
            cname: tgt.cname.clone(),
            cksum: Some(cksum),
            ctime: now,
            subkey: None,
            seq_number: None,
        };
        let ap = ApReq {
            options: 0,
            ticket: tgt.ticket.clone(),
            authenticator: enc(key, usage::TGS_REQ_AUTHENTICATOR, &auth.encode(), rng),
        };
        let pa = PaData { padata_type: pa_type::TGS_REQ, value: ap.encode() };
        let req = KdcReq::encode_with_body(msg_type::TGS_REQ, &[pa], &body);
        Ok((Self { nonce, session_key: key.clone(), subkey: None, service }, req))
    }

    /// Feed the KDC's answer: the service ticket, or the typed KRB-ERROR.
    pub fn on_reply(&self, reply: &[u8]) -> Result<Credential, KerberosError> {
        let rep = match decode_kdc_answer(reply, msg_type::TGS_REP)? {
            KdcAnswer::Rep(r) => r,
            KdcAnswer::Error(e) => return Err(KerberosError::from_krb_error(&e)),
        };
        // RFC 4120 5.4.2: usage 9 with the authenticator subkey if there was one, else
        // usage 8 with the session key; some KDCs use usage 9 with the session key.
        let c = &rep.enc_part.cipher;
        let plain = match &self.subkey {
            Some(sk) => sk.decrypt(usage::TGS_REP_SUBKEY, c),
            None => self
                .session_key
                .decrypt(usage::TGS_REP_SESSION_KEY, c)
                .or_else(|_| self.session_key.decrypt(usage::TGS_REP_SUBKEY, c)),
        }?;
        let part = EncKdcRepPart::decode(&plain)?;
        check_kdc_rep_part(&part, self.nonce, &self.service)?;
        credential(rep, part)
    }
}

/// A pending AP exchange: what is needed to verify the server's AP-REP.
pub struct ApExchange {
    ctime: KrbTimestamp,
    session_key: KerberosKey,
    subkey: KerberosKey,
    seq: u32,
}

/// What a verified AP-REP established: the context key and each side's first sequence
/// number (for per-message tokens, [`super::wrap`]).
#[derive(Debug)]
pub struct ApContext {
    /// The context key: the acceptor's subkey if the AP-REP carried one, else ours.
    pub key: KerberosKey,
    /// Whether `key` is the acceptor's subkey.
    pub acceptor_subkey: bool,
    /// The sequence number our authenticator announced.
    pub initiator_seq: u32,
    /// The AP-REP's sequence number (0 if it had none).
    pub acceptor_seq: u32,
    /// The AP-REP's ctime (the DCE-style third leg echoes it).
    ctime: KrbTimestamp,
}

impl core::fmt::Debug for ApExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ApExchange").field("ctime", &self.ctime).finish_non_exhaustive()
    }
}

impl ApExchange {
    /// Build an AP-REQ with `cred` (mutual authentication required). The authenticator
    /// (usage 11) carries a fresh subkey of the ticket's session-key etype, a random
    /// sequence number and, when `gss_flags` is given, the GSS 0x8003 checksum.
    pub fn start(
        cred: &Credential,
        gss_flags: Option<u32>,
        seq_number: Option<u32>,
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> (Self, Vec<u8>) {
        let subkey = KerberosKey::random(cred.session_key.etype(), rng);
        let seq = seq_number.unwrap_or_else(|| nonce31(rng));
        let auth = Authenticator {
            crealm: cred.crealm.clone(),
            cname: cred.cname.clone(),
            cksum: gss_flags.map(|f| Checksum {
                cksumtype: gss::GSS_CHECKSUM_TYPE,
                checksum: gss::checksum_8003(f),
            }),
            ctime: now,
            subkey: Some(raw_from_key(&subkey)),
            seq_number: Some(seq),
        };
        let ap = ApReq {
            options: ap_options::MUTUAL_REQUIRED,
            ticket: cred.ticket.clone(),
            authenticator: enc(&cred.session_key, usage::AP_REQ_AUTHENTICATOR, &auth.encode(), rng),
        };
        (Self { ctime: now, session_key: cred.session_key.clone(), subkey, seq }, ap.encode())
    }

    /// [`ApExchange::verify`], keeping what per-message protection needs besides the context
    /// key: whether it is the acceptor's subkey, and both sequence numbers.
    pub fn verify_context(&self, ap_rep: &[u8]) -> Result<ApContext, KerberosError> {
        let rep = ApRep::decode(ap_rep)?;
        let plain = self.session_key.decrypt(usage::AP_REP_ENC_PART, &rep.enc_part.cipher)?;
        let part = EncApRepPart::decode(&plain)?;
        if part.ctime != self.ctime {
            return Err(KerberosError::Protocol("the AP-REP does not answer our authenticator"));
        }
        let (key, acceptor_subkey) = match &part.subkey {
            Some(k) => (key_from_raw(k)?, true),
            None => (self.subkey.clone(), false),
        };
        Ok(ApContext {
            key,
            acceptor_subkey,
            initiator_seq: self.seq,
            acceptor_seq: part.seq_number.unwrap_or(0),
            ctime: part.ctime,
        })
    }

    /// The initiator's own AP-REP that ends a DCE-style exchange ([MS-KILE] 3.4.5.1): built
    /// "exactly as the server would", encrypted with the ticket session key (usage 12), with
    /// the server's ctime and sequence number and no subkey.
    ///
    /// [MS-KILE]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-kile/
    pub fn dce_reply(&self, ctx: &ApContext, rng: &mut dyn SecureRandom) -> Vec<u8> {
        let part =
            EncApRepPart { ctime: ctx.ctime, subkey: None, seq_number: Some(ctx.acceptor_seq) };
        ApRep { enc_part: enc(&self.session_key, usage::AP_REP_ENC_PART, &part.encode(), rng) }
            .encode()
    }

    /// Verify the server's AP-REP: decrypt it (usage 12) with the ticket session key, check
    /// that ctime/cusec are ours, and return the context key: the AP-REP's subkey if it has
    /// one, else the authenticator's subkey. Nothing is returned unless this verifies.
    pub fn verify(&self, ap_rep: &[u8]) -> Result<KerberosKey, KerberosError> {
        self.verify_context(ap_rep).map(|c| c.key)
    }

    /// The authenticator's subkey.
    pub fn subkey(&self) -> &KerberosKey {
        &self.subkey
    }
}

/// Decode an AP-REP (plain function for fuzzing).
pub fn decode_ap_rep(buf: &[u8]) -> Result<(), KerberosError> {
    ApRep::decode(buf)?;
    Ok(())
}

/// Decode a KRB-ERROR (plain function for fuzzing).
pub fn decode_krb_error(buf: &[u8]) -> Result<KerberosError, KerberosError> {
    Ok(KerberosError::from_krb_error(&KrbError::decode(buf)?))
}

/// A pending kpasswd exchange ([RFC 3244]).
pub struct KpasswdExchange {
    ap: ApExchange,
}

impl core::fmt::Debug for KpasswdExchange {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KpasswdExchange").finish_non_exhaustive()
    }
}

impl KpasswdExchange {
    /// Build a kpasswd change request for the owner of `cred` (a `kadmin/changepw` ticket):
    /// AP-REQ (mutual required, fresh subkey) + KRB-PRIV (usage 13, in the subkey) carrying
    /// the new password. `version` is [`kpasswd::VERSION_CHANGE`] (user-data = the password)
    /// or [`kpasswd::VERSION_SET_CHANGE`] (ChangePasswdData without a target). `s_address` is
    /// this host's address on the connection to the kpasswd server.
    pub fn start(
        cred: &Credential,
        new_password: &Password,
        version: u16,
        s_address: HostAddress,
        rng: &mut dyn SecureRandom,
        now: KrbTimestamp,
    ) -> Result<(Self, Vec<u8>), KerberosError> {
        let seq = nonce31(rng);
        let (ap, ap_req) = ApExchange::start(cred, None, Some(seq), rng, now);
        let user_data = if version == kpasswd::VERSION_SET_CHANGE {
            SecretBytes::new(
                kpasswd::change_passwd_data(new_password.expose().as_bytes(), None).to_vec(),
            )
        } else {
            SecretBytes::new(new_password.expose().as_bytes().to_vec())
        };
        let part = EncKrbPrivPart {
            user_data,
            timestamp: Some(now),
            seq_number: Some(seq),
            s_address: Some(s_address),
            r_address: None,
        };
        let priv_ =
            KrbPriv { enc_part: enc(ap.subkey(), usage::KRB_PRIV_ENC_PART, &part.encode(), rng) };
        let req = kpasswd::encode_request(version, &ap_req, &priv_.encode())
            .map_err(KerberosError::Malformed)?;
        Ok((Self { ap }, req))
    }

    /// Feed the server's reply: the result (success or the server's refusal with its
    /// message), after verifying the AP-REP; or the typed KRB-ERROR.
    pub fn on_reply(&self, reply: &[u8]) -> Result<KpasswdResult, KerberosError> {
        match kpasswd::decode_reply(reply)? {
            KpasswdReply::Error(e) => {
                let e = KrbError::decode(e)?;
                // RFC 3244: a KRB-ERROR's e-data may hold a result code and string.
                if let Some(d) = e.e_data.as_deref() {
                    if let Ok(r) = KpasswdResult::decode(d) {
                        if r.code != kpasswd::ResultCode::Success && d.len() >= 2 && d[0] == 0 {
                            return Ok(r);
                        }
                    }
                }
                Err(KerberosError::from_krb_error(&e))
            }
            KpasswdReply::Priv { ap_rep, krb_priv } => {
                let key = self.ap.verify(ap_rep)?;
                let p = KrbPriv::decode(krb_priv)?;
                let plain =
                    key.decrypt(usage::KRB_PRIV_ENC_PART, &p.enc_part.cipher).or_else(|_| {
                        self.ap.subkey().decrypt(usage::KRB_PRIV_ENC_PART, &p.enc_part.cipher)
                    })?;
                let part = EncKrbPrivPart::decode(&plain)?;
                Ok(KpasswdResult::decode(part.user_data.expose())?)
            }
        }
    }
}

/// Decode a kpasswd reply's framing and messages (plain function for fuzzing).
pub fn decode_kpasswd_reply(buf: &[u8]) -> Result<(), KerberosError> {
    match kpasswd::decode_reply(buf)? {
        KpasswdReply::Error(e) => {
            KrbError::decode(e)?;
        }
        KpasswdReply::Priv { ap_rep, krb_priv } => {
            ApRep::decode(ap_rep)?;
            KrbPriv::decode(krb_priv)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
