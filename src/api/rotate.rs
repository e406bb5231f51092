//! Bulk password rotation (issue 6, goal 4): reset many accounts to fresh random passwords
//! that satisfy the domain policy, over a few reused connections.
//!
//! One connection reads the domain password policy (and, for [`RotateUsers::All`], the user
//! list); then `jobs` connections (that first one included) each open the account domain once
//! and reset their share of the users with `SamrSetInformationUser2` level 31 (AES), reusing
//! the server and domain handles: per user one batched name lookup share, `SamrOpenUser`,
//! the set, `SamrCloseHandle`. A failure for one user is reported for that user and the run
//! goes on.
//!
//! [`rotate_journaled`] hands every password to the caller *before* the reset that sets it
//! is sent (a write-ahead record) and lets the caller stop the run; a lost connection is
//! replaced (bounded retries with backoff) and the account in flight is retried once with the
//! same password, so that a run survives a cut connection and every account ends rotated,
//! failed (its old password still in force) or outcome-unknown (with its recorded password).
//!
//! ```no_run
//! # async fn demo() -> Result<(), samrpc::Error> {
//! use samrpc::api::rotate::{RotateRequest, RotateUsers, rotate};
//! use samrpc::{Credentials, Password};
//!
//! let admin = Credentials::password("Administrator", None, Password::from("…"));
//! let users = RotateUsers::List(vec!["alice".into(), "bob".into()]);
//! let req = RotateRequest::new("dc.example.com", admin, users).with_jobs(4).with_length(20);
//! let summary = rotate(req, |r, _done, _total| {
//!     // Store r.password somewhere safe *now*: it is set on the server.
//!     println!("{} {}", r.user, r.result.is_ok());
//! })
//! .await?;
//! println!("{} of {} rotated", summary.ok, summary.total);
//! # Ok(()) }
//! ```

use super::{
    DomainHandles, ResetPassword, close_handle, enumerate_users, open_account_domain, open_user,
    query_domain, refused, set_password, unicode,
};
use crate::client::SamrClient;
use crate::config::{ClientConfig, Credentials};
use crate::error::{Error, ErrorKind, Operation};
use crate::rng::{OsRandom, SecureRandom, SecureRandomExt};
use crate::samr::{
    Call, DomainInfo, SamrLookupNamesInDomain, SamrSetInformationUser2, access, consts,
};
use crate::secret::Password;
use crate::status::NtStatus;
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};

/// Which accounts to rotate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RotateUsers {
    /// These account names (bare sAMAccountNames).
    List(Vec<String>),
    /// Every normal user account of the domain (USER_NORMAL_ACCOUNT), except `krbtgt`,
    /// `Guest` and the administrator account the rotation logs on with.
    All,
}

/// A bulk rotation. Build it with [`RotateRequest::new`] and the chainable `with_…` methods.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RotateRequest {
    /// Server host name or address.
    pub host: String,
    /// The administrator's credentials (needs the reset right on every account).
    pub admin: Credentials,
    /// The accounts.
    pub users: RotateUsers,
    /// Connections used in parallel (at least 1; never more than there are users).
    pub jobs: usize,
    /// Wanted password length; the domain's minimum length wins when it is longer.
    pub length: usize,
    /// Connection settings (`allow_rc4` is honoured as for a single reset).
    pub config: ClientConfig,
    /// Accounts to leave out (case-insensitive), e.g. the ones a previous, interrupted run
    /// already rotated.
    pub skip: Vec<String>,
    /// How many times a failed connection is replaced, with exponential backoff from 250 ms
    /// (default [`Self::DEFAULT_RECONNECTS`]); 0 never reconnects.
    pub reconnects: u32,
}

impl RotateRequest {
    /// The default number of connections ([`RotateRequest::jobs`]).
    pub const DEFAULT_JOBS: usize = 4;
    /// The default wanted password length ([`RotateRequest::length`]).
    pub const DEFAULT_LENGTH: usize = 20;
    /// The default number of reconnection attempts ([`RotateRequest::reconnects`]).
    pub const DEFAULT_RECONNECTS: u32 = 5;

    /// Rotate `users` on `host` as `admin`: [`Self::DEFAULT_JOBS`] connections,
    /// [`Self::DEFAULT_LENGTH`]-character passwords, [`ClientConfig::default`].
    pub fn new(host: impl Into<String>, admin: Credentials, users: RotateUsers) -> Self {
        Self {
            host: host.into(),
            admin,
            users,
            jobs: Self::DEFAULT_JOBS,
            length: Self::DEFAULT_LENGTH,
            config: ClientConfig::default(),
            skip: Vec::new(),
            reconnects: Self::DEFAULT_RECONNECTS,
        }
    }

    /// Leave these accounts out (case-insensitive).
    pub fn with_skip(mut self, skip: Vec<String>) -> Self {
        self.skip = skip;
        self
    }

    /// How many times a failed connection is replaced (default [`Self::DEFAULT_RECONNECTS`]).
    pub fn with_reconnects(mut self, reconnects: u32) -> Self {
        self.reconnects = reconnects;
        self
    }

    /// Connections used in parallel (at least 1; never more than there are users).
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs;
        self
    }

    /// Wanted password length; the domain's minimum length wins when it is longer.
    pub fn with_length(mut self, length: usize) -> Self {
        self.length = length;
        self
    }

    /// Connection settings (default [`ClientConfig::default`]).
    pub fn with_config(mut self, config: ClientConfig) -> Self {
        self.config = config;
        self
    }
}

/// What happened to one account.
#[derive(Debug)]
pub struct Rotated {
    /// The account name.
    pub user: String,
    /// `Ok(())` once the server accepted the new password; the error otherwise.
    pub result: Result<(), Error>,
    /// The new password: set when the server accepted it, and also when the outcome is
    /// unknown (the connection was lost after the request was sent: it may be in force).
    pub password: Option<Password>,
}

impl Rotated {
    fn failed(user: String, error: Error) -> Self {
        Self { user, result: Err(error), password: None }
    }

    /// The server's status for this account: STATUS_SUCCESS, or the failure's status when
    /// the server gave one.
    pub fn status(&self) -> Option<NtStatus> {
        match &self.result {
            Ok(_) => Some(NtStatus::STATUS_SUCCESS),
            Err(e) => e.status(),
        }
    }
}

/// The totals of a rotation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotateSummary {
    /// Accounts attempted.
    pub total: usize,
    /// Accounts rotated.
    pub ok: usize,
    /// Accounts whose outcome is unknown (a reset may have been sent, and could not be
    /// settled after the connection failed): their password was reported with them.
    pub unknown: usize,
    /// The password length used.
    pub length: usize,
    /// Whether the policy required complexity.
    pub complexity: bool,
    /// SMB2 request flights over all connections (setup and teardown included).
    pub flights: u32,
    /// Connections replaced after a failure.
    pub reconnects: u32,
    /// The caller stopped the run (its callback returned [`ControlFlow::Break`]).
    pub stopped: bool,
}

/// The policy a generated password must satisfy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PasswordRules {
    /// Exact length in characters.
    pub length: usize,
    /// Require all four character classes (upper, lower, digit, symbol) — more than the
    /// Windows rule's three of four — and never the account name.
    pub complexity: bool,
}

const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#%+-.:=?@^_~*";

/// The longest password generated (SAMR's password buffers hold 256 UTF-16 units).
pub const MAX_LENGTH: usize = 256;

/// A uniformly random index below `n` (`n > 0`).
fn below(rng: &mut dyn SecureRandom, n: usize) -> usize {
    rng.u64_in(0, n.saturating_sub(1) as u64) as usize
}

/// Generate a random password for `account` following `rules`: every character drawn
/// uniformly from the unambiguous alphabet, one of each class placed first when complexity
/// is required, then shuffled; never containing the account name (case-insensitive, names
/// of 3+ characters, as the Windows complexity rule checks).
pub fn generate_password(
    account: &str,
    rules: PasswordRules,
    rng: &mut dyn SecureRandom,
) -> Password {
    let length = rules.length.clamp(4, MAX_LENGTH);
    let all: Vec<u8> = [UPPER, LOWER, DIGITS, SYMBOLS].concat();
    let name = account.to_lowercase();
    loop {
        let mut chars = zeroize::Zeroizing::new(Vec::with_capacity(length));
        if rules.complexity {
            for class in [UPPER, LOWER, DIGITS, SYMBOLS] {
                chars.push(class[below(rng, class.len())]);
            }
        }
        while chars.len() < length {
            chars.push(all[below(rng, all.len())]);
        }
        // Fisher–Yates.
        for i in (1..chars.len()).rev() {
            let j = below(rng, i + 1);
            chars.swap(i, j);
        }
        // Sized once (the alphabet is ASCII: one byte per character), so no reallocation
        // leaves a copy behind; the rejected candidates are wiped on drop.
        let mut text = String::with_capacity(length);
        text.extend(chars.iter().map(|&b| char::from(b)));
        let password = Password::new(text);
        if name.chars().count() >= 3 && contains_ignore_case(password.expose(), &name) {
            continue;
        }
        return password;
    }
}

/// Whether `hay` contains `needle` ignoring case (per-character lowercase mappings, like
/// Windows' character-by-character comparison; no context rules such as a final sigma),
/// without allocating: `hay.to_lowercase()` would leave an unwiped copy of a password on the heap.
fn contains_ignore_case(hay: &str, needle: &str) -> bool {
    hay.char_indices().any(|(i, _)| {
        let mut h = hay[i..].chars().flat_map(char::to_lowercase);
        needle.chars().flat_map(char::to_lowercase).all(|n| h.next() == Some(n))
    })
}

/// Read the rules from the domain policy: length = max(`wanted`, MinPasswordLength),
/// complexity from DOMAIN_PASSWORD_COMPLEX.
async fn read_rules(
    client: &mut SamrClient,
    h: &DomainHandles,
    wanted: usize,
) -> Result<PasswordRules, Error> {
    let op = Operation::Call(crate::samr::SamrQueryInformationDomain2::NAME);
    let DomainInfo::Password(p) =
        query_domain(client, h, consts::DOMAIN_PASSWORD_INFORMATION).await?
    else {
        return Err(Error::new(ErrorKind::Protocol, op, "the server answered another level"));
    };
    Ok(PasswordRules {
        length: wanted.max(usize::from(p.min_password_length)).clamp(4, MAX_LENGTH),
        complexity: p.password_properties & 0x01 != 0,
    })
}

/// Every normal account of the domain but krbtgt, Guest and `admin`.
async fn all_users(
    client: &mut SamrClient,
    h: &DomainHandles,
    admin: Option<&str>,
) -> Result<Vec<String>, Error> {
    let mut names: Vec<String> = enumerate_users(client, h, consts::USER_NORMAL_ACCOUNT)
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    names.retain(|n| {
        !n.eq_ignore_ascii_case("krbtgt")
            && !n.eq_ignore_ascii_case("Guest")
            && !admin.is_some_and(|a| n.eq_ignore_ascii_case(a))
    });
    Ok(names)
}

/// The largest batch of names looked up in one SamrLookupNamesInDomain.
const LOOKUP_BATCH: usize = 32;

/// Look up a batch of names; `Ok(rid)` per name or that name's error.
async fn lookup_batch(
    client: &mut SamrClient,
    h: &DomainHandles,
    names: &[String],
) -> Result<Vec<Result<u32, Error>>, Error> {
    let op = Operation::Call(SamrLookupNamesInDomain::NAME);
    let mut wire = Vec::with_capacity(names.len());
    for n in names {
        wire.push(unicode(op, n)?);
    }
    let r = client.call(&SamrLookupNamesInDomain { domain_handle: h.domain, names: wire }).await?;
    if r.status == NtStatus::STATUS_NONE_MAPPED {
        return Ok(names.iter().map(|n| Err(unknown(op, n, &h.name))).collect());
    }
    if r.status != NtStatus::STATUS_SOME_NOT_MAPPED {
        refused(op, r.status)?;
    }
    let rids = r.relative_ids.as_slice();
    let uses = r.uses.as_slice();
    if rids.len() != names.len() || uses.len() != names.len() {
        return Err(Error::new(ErrorKind::Protocol, op, "the lookup answered another count"));
    }
    Ok(names
        .iter()
        .zip(rids.iter().zip(uses))
        .map(|(n, (&rid, &use_))| {
            // SidTypeUser = 1; unmapped names come back as SidTypeUnknown (8).
            if use_ == 1 { Ok(rid) } else { Err(unknown(op, n, &h.name)) }
        })
        .collect())
}

fn unknown(op: Operation, user: &str, domain: &str) -> Error {
    Error::refused(op, NtStatus::STATUS_NONE_MAPPED)
        .with_hint(format!("There is no user account named \"{user}\" in the domain {domain}."))
}

/// What a rotation tells its caller, in order: for every reset it is about to send, first a
/// [`RotateEvent::Pending`] (the write-ahead record), then for every account one
/// [`RotateEvent::Done`].
#[derive(Debug)]
#[non_exhaustive]
pub enum RotateEvent<'a> {
    /// `password` is about to be sent for `user`. Record it durably before returning
    /// [`ControlFlow::Continue`]: the reset is sent only then. [`ControlFlow::Break`] stops
    /// the run: this reset is not sent, no further account is taken, and the accounts left
    /// end as not attempted. An account may see several `Pending` events (a new password
    /// after the server found one against its policy); the last one before `Done` counts.
    Pending {
        /// The account name.
        user: &'a str,
        /// The password about to be set.
        password: &'a Password,
    },
    /// The account's final outcome (`done` of `total` accounts reported so far).
    /// [`ControlFlow::Break`] stops the run as for `Pending`.
    Done {
        /// The outcome.
        result: &'a Rotated,
        /// Accounts reported so far, this one included.
        done: usize,
        /// Accounts in the run.
        total: usize,
    },
}

/// How one account's attempt on a connection ended.
enum Attempt {
    /// A final outcome.
    Done(Rotated),
    /// The connection failed; `password` is set when a reset with it may have been sent.
    Lost { user: String, password: Option<Password>, error: Error },
    /// The caller stopped the run before this account's reset was sent.
    Stopped(String),
}

/// A failure that leaves the connection unusable (anything but a server's refusal or fault).
fn breaks_connection(e: &Error) -> bool {
    !matches!(e.kind(), ErrorKind::ServerRefused | ErrorKind::RpcFault)
}

/// A failure worth a reconnection: the network, a timeout, a lost answer. Integrity and
/// policy failures (a response failing its signature, a downgrade, no encryption) are not:
/// the next connection would meet the same path.
fn reconnectable(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout | ErrorKind::OutcomeUnknown)
}

/// Messages from the connections to the task that calls the caller back.
enum Msg {
    Pending { user: String, password: Password, ack: tokio::sync::oneshot::Sender<bool> },
    Done(Rotated),
}

/// What every connection shares.
struct Ctx {
    host: String,
    admin: Credentials,
    config: ClientConfig,
    rules: PasswordRules,
    base: ResetPassword,
    work: Work,
    jobs: usize,
    reconnects: u32,
    stop: std::sync::atomic::AtomicBool,
    reconnected: std::sync::atomic::AtomicU32,
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Hand the write-ahead record to the caller and wait until it is stored; `false` stops.
    async fn pending(
        &self,
        tx: &tokio::sync::mpsc::UnboundedSender<Msg>,
        user: &str,
        password: &Password,
    ) -> bool {
        if self.stopped() {
            return false;
        }
        let (ack, answer) = tokio::sync::oneshot::channel();
        let msg = Msg::Pending { user: user.to_owned(), password: password.clone(), ack };
        if tx.send(msg).is_err() {
            return false;
        }
        answer.await.unwrap_or(false) && !self.stopped()
    }

    /// Connect and open the account domain, retrying up to `reconnects` times with an
    /// exponential backoff (250 ms, 500 ms, … capped at 8 s) while the failure is one a new
    /// connection may cure.
    async fn connect(&self, retry: bool) -> Option<Conn> {
        let attempts = if retry { self.reconnects.saturating_add(1) } else { 1 };
        for i in 0..attempts {
            if i > 0 {
                let ms = 250u64.saturating_mul(1 << (i - 1).min(5)).min(8000);
                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            }
            if self.stopped() {
                return None;
            }
            let e = match SamrClient::connect(&self.host, &self.admin, &self.config).await {
                Ok(mut client) => {
                    match open_account_domain(&mut client, access::DOMAIN_LOOKUP).await {
                        Ok(h) => return Some(Conn { client, h }),
                        Err(e) => {
                            client.close().await;
                            e
                        }
                    }
                }
                Err(e) => e,
            };
            crate::log_debug!(error = %e, attempt = i + 1, "rotate connection attempt failed");
            if !reconnectable(&e) {
                return None;
            }
        }
        None
    }
}

/// A connection with the account domain open.
struct Conn {
    client: SamrClient,
    h: DomainHandles,
}

/// Reset one account (RID known) to a fresh password, retrying with another password when
/// the server finds it against the policy (e.g. it contains part of the full name). Each
/// password goes to the caller ([`RotateEvent::Pending`]) before it is sent.
async fn rotate_one(
    conn: &mut Conn,
    ctx: &Ctx,
    tx: &tokio::sync::mpsc::UnboundedSender<Msg>,
    rid: u32,
    user: String,
) -> Attempt {
    let op = Operation::Call(SamrSetInformationUser2::NAME);
    let Some(key) = conn.client.application_key().cloned() else {
        let e = Error::new(ErrorKind::Security, op, "a reset needs an authenticated session");
        return Attempt::Done(Rotated::failed(user, e));
    };
    let uh =
        match open_user(&mut conn.client, &conn.h, rid, access::USER_FORCE_PASSWORD_CHANGE).await {
            Ok(uh) => uh,
            Err(e) if breaks_connection(&e) => {
                return Attempt::Lost { user, password: None, error: e };
            }
            Err(e) => return Attempt::Done(Rotated::failed(user, e)),
        };
    let mut last = Error::new(ErrorKind::Protocol, op, "no attempt made");
    for _attempt in 0..3 {
        let new = generate_password(&user, ctx.rules, &mut OsRandom);
        if !ctx.pending(tx, &user, &new).await {
            close_handle(&mut conn.client, uh).await;
            return Attempt::Stopped(user);
        }
        let req = ResetPassword { user: user.clone(), new: new.clone(), ..ctx.base.clone() };
        match set_password(&mut conn.client, &uh, &key, &req).await {
            Ok((_method, status)) => match refused(op, status) {
                Ok(()) => {
                    close_handle(&mut conn.client, uh).await;
                    return Attempt::Done(Rotated { user, result: Ok(()), password: Some(new) });
                }
                Err(e) => {
                    let restriction = e.status() == Some(NtStatus::STATUS_PASSWORD_RESTRICTION);
                    last = e;
                    if !restriction {
                        break;
                    }
                }
            },
            Err(e) if breaks_connection(&e) => {
                return Attempt::Lost { user, password: Some(new), error: e };
            }
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    close_handle(&mut conn.client, uh).await;
    Attempt::Done(Rotated::failed(user, last))
}

/// After a reconnection: set `password` (already recorded) again for `user`. A reset to the
/// same value is idempotent, so this settles an outcome the lost connection left open.
async fn retry_same(
    conn: &mut Conn,
    rid: u32,
    user: String,
    password: Password,
    base: &ResetPassword,
) -> Attempt {
    let op = Operation::Call(SamrSetInformationUser2::NAME);
    let Some(key) = conn.client.application_key().cloned() else {
        let e = Error::new(ErrorKind::Security, op, "a reset needs an authenticated session");
        return Attempt::Lost { user, password: Some(password), error: e };
    };
    let uh =
        match open_user(&mut conn.client, &conn.h, rid, access::USER_FORCE_PASSWORD_CHANGE).await {
            Ok(uh) => uh,
            Err(e) => return Attempt::Lost { user, password: Some(password), error: e },
        };
    let req = ResetPassword { user: user.clone(), new: password.clone(), ..base.clone() };
    let r = set_password(&mut conn.client, &uh, &key, &req).await;
    match r {
        Ok((_method, status)) if status.is_success() => {
            close_handle(&mut conn.client, uh).await;
            Attempt::Done(Rotated { user, result: Ok(()), password: Some(password) })
        }
        Ok((_method, status)) => {
            close_handle(&mut conn.client, uh).await;
            // The first attempt may have gone through before this refusal.
            let e = Error::new(
                ErrorKind::OutcomeUnknown,
                op,
                format!(
                    "the connection was lost after the reset was sent, and setting the same \
                     password again was refused ({}): the password may or may not have changed",
                    status.symbol()
                ),
            );
            Attempt::Lost { user, password: Some(password), error: e }
        }
        Err(e) => Attempt::Lost { user, password: Some(password), error: e },
    }
}

/// The error an account ends with when a reset may have been sent and could not be settled.
fn unsettled(e: Error) -> Error {
    if e.outcome_unknown() {
        return e;
    }
    Error::new(
        ErrorKind::OutcomeUnknown,
        e.operation(),
        format!(
            "the reset may have been sent before the connection failed ({}): the password \
             may or may not have changed",
            e.message()
        ),
    )
    .with_hint("Log in with the recorded password to find out.")
}

/// Shared work: the queue of names.
struct Work {
    queue: Mutex<VecDeque<String>>,
}

impl Work {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<String>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take(&self, n: usize) -> Vec<String> {
        let mut q = self.lock();
        let k = n.min(q.len());
        q.drain(..k).collect()
    }

    /// A fair batch: at most [`LOOKUP_BATCH`], and no more than a `jobs`-th of what is left.
    fn batch(&self, jobs: usize) -> Vec<String> {
        let mut q = self.lock();
        let k = q.len().div_ceil(jobs.max(1)).clamp(1, LOOKUP_BATCH).min(q.len());
        q.drain(..k).collect()
    }

    /// Give names back (in front, in their order) for another connection to take.
    fn give_back(&self, names: impl DoubleEndedIterator<Item = String>) {
        let mut q = self.lock();
        for n in names.rev() {
            q.push_front(n);
        }
    }
}

/// One connection's loop: take batches of names until none are left, reconnecting (bounded,
/// with backoff) when the connection fails. Every name taken is reported exactly once, or
/// given back to the queue when this connection gives up.
async fn worker(
    first: Option<Conn>,
    ctx: Arc<Ctx>,
    tx: tokio::sync::mpsc::UnboundedSender<Msg>,
) -> u32 {
    let mut flights = 0u32;
    let mut conn = match first {
        Some(c) => c,
        None => match ctx.connect(false).await {
            Some(c) => c,
            None => return 0,
        },
    };
    // Replace a failed connection; `None` when no new one could be made.
    async fn replace(ctx: &Ctx, old: Conn, flights: &mut u32) -> Option<Conn> {
        *flights = flights.saturating_add(old.client.flights());
        drop(old);
        let new = ctx.connect(true).await;
        if new.is_some() {
            ctx.reconnected.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
        new
    }
    'batches: loop {
        if ctx.stopped() {
            break;
        }
        let mut todo: VecDeque<String> = ctx.work.batch(ctx.jobs).into();
        if todo.is_empty() {
            break;
        }
        let batch: Vec<String> = todo.iter().cloned().collect();
        let rids = loop {
            match lookup_batch(&mut conn.client, &conn.h, &batch).await {
                Ok(r) => break r,
                Err(e) if reconnectable(&e) => match replace(&ctx, conn, &mut flights).await {
                    Some(c) => conn = c,
                    None => {
                        ctx.work.give_back(todo.into_iter());
                        return flights;
                    }
                },
                Err(e) if e.kind() == ErrorKind::ServerRefused => {
                    for user in todo {
                        let _ = tx.send(Msg::Done(Rotated::failed(user, e.clone())));
                    }
                    continue 'batches;
                }
                Err(_e) => {
                    crate::log_debug!(error = %_e, "rotate connection unusable");
                    ctx.work.give_back(todo.into_iter());
                    return flights.saturating_add(conn.client.flights());
                }
            }
        };
        let mut rids = rids.into_iter();
        while let Some(user) = todo.pop_front() {
            let Some(rid) = rids.next() else { break };
            let rid = match rid {
                Ok(rid) => rid,
                Err(e) => {
                    let _ = tx.send(Msg::Done(Rotated::failed(user, e)));
                    continue;
                }
            };
            if ctx.stopped() {
                todo.push_front(user);
                ctx.work.give_back(todo.into_iter());
                break 'batches;
            }
            let mut attempt = rotate_one(&mut conn, &ctx, &tx, rid, user).await;
            let mut retried = false;
            loop {
                match attempt {
                    Attempt::Done(r) => {
                        let _ = tx.send(Msg::Done(r));
                        break;
                    }
                    Attempt::Stopped(user) => {
                        todo.push_front(user);
                        ctx.work.give_back(todo.into_iter());
                        break 'batches;
                    }
                    Attempt::Lost { user, password, error } => {
                        let give_up = |user: String, password: Option<Password>, error: Error| {
                            let r = match password {
                                Some(p) => Rotated {
                                    user,
                                    result: Err(unsettled(error)),
                                    password: Some(p),
                                },
                                None => Rotated::failed(user, error),
                            };
                            let _ = tx.send(Msg::Done(r));
                        };
                        if retried || !reconnectable(&error) {
                            if password.is_none() && !retried {
                                // Nothing was sent: another connection may take it.
                                todo.push_front(user);
                            } else {
                                give_up(user, password, error);
                            }
                            ctx.work.give_back(todo.into_iter());
                            return flights.saturating_add(conn.client.flights());
                        }
                        crate::log_debug!(error = %error, "rotate connection lost; reconnecting");
                        match replace(&ctx, conn, &mut flights).await {
                            Some(c) => conn = c,
                            None => {
                                if password.is_some() {
                                    give_up(user, password, error);
                                } else {
                                    todo.push_front(user);
                                }
                                ctx.work.give_back(todo.into_iter());
                                return flights;
                            }
                        }
                        retried = true;
                        attempt = match password {
                            Some(p) => retry_same(&mut conn, rid, user, p, &ctx.base).await,
                            None => rotate_one(&mut conn, &ctx, &tx, rid, user).await,
                        };
                    }
                }
            }
        }
    }
    // Handles die with the session: no SamrCloseHandle round trips for them.
    flights.saturating_add(conn.client.close_counted().await.unwrap_or(0))
}

/// Rotate the passwords of `req.users`; `on_result(result, done, total)` sees each account as
/// soon as it is done (persist the password there: it is already set on the server). Fails
/// as a whole only when nothing can start (the first connection, the policy, the user list).
///
/// This form cannot record a password before it is set, nor stop the run: prefer
/// [`rotate_journaled`], which can.
pub async fn rotate(
    req: RotateRequest,
    mut on_result: impl FnMut(&Rotated, usize, usize),
) -> Result<RotateSummary, Error> {
    rotate_journaled(req, |ev| {
        if let RotateEvent::Done { result, done, total } = ev {
            on_result(result, done, total);
        }
        ControlFlow::Continue(())
    })
    .await
}

/// Rotate the passwords of `req.users` with a write-ahead journal: `on_event` sees each
/// password ([`RotateEvent::Pending`]) before the reset that sets it is sent, and each
/// account's outcome ([`RotateEvent::Done`]). Returning [`ControlFlow::Break`] from either
/// stops the run: no reset is sent after that (the ones already on the wire finish and are
/// reported), and the accounts not yet taken are reported as not attempted.
///
/// When a connection fails (network, timeout, lost answer), it is replaced (up to
/// [`RotateRequest::reconnects`] attempts with backoff) and the run goes on. The account that
/// was in flight is retried once with the same password; only when that cannot be done does
/// it end as [`ErrorKind::OutcomeUnknown`] with its password. Every account is reported by
/// exactly one `Done`.
///
/// Fails as a whole only when nothing can start (the first connection, the policy, the user
/// list).
pub async fn rotate_journaled(
    req: RotateRequest,
    mut on_event: impl FnMut(RotateEvent<'_>) -> ControlFlow<()>,
) -> Result<RotateSummary, Error> {
    let mut req = req;
    req.config = super::smb_only(&req.config, "a rotation (which resets passwords)")?;
    let mut first = SamrClient::connect(&req.host, &req.admin, &req.config).await?;
    let h = open_account_domain(
        &mut first,
        access::DOMAIN_LOOKUP
            | access::DOMAIN_READ_PASSWORD_PARAMETERS
            | if req.users == RotateUsers::All { access::DOMAIN_LIST_ACCOUNTS } else { 0 },
    )
    .await?;
    let rules = read_rules(&mut first, &h, req.length).await?;
    // The administrator's own account is never rotated; with a ticket cache, that is the
    // cache's principal.
    let cached = match &req.admin {
        Credentials::TicketCache => crate::client::ticket_cache_user(&req.host, &req.config),
        _ => None,
    };
    let admin_name = match &req.admin {
        Credentials::User { user, .. } => Some(user.as_str()),
        _ => cached.as_deref(),
    };
    let mut users = match &req.users {
        RotateUsers::List(v) => v.clone(),
        RotateUsers::All => all_users(&mut first, &h, admin_name).await?,
    };
    if !req.skip.is_empty() {
        let skip: std::collections::HashSet<String> =
            req.skip.iter().map(|s| s.to_lowercase()).collect();
        users.retain(|u| !skip.contains(&u.to_lowercase()));
    }
    let total = users.len();
    let base = ResetPassword::new(&req.host, String::new(), req.admin.clone(), Password::from(""))
        .with_config(req.config.clone());
    let jobs = req.jobs.clamp(1, total.max(1));
    let ctx = Arc::new(Ctx {
        host: req.host.clone(),
        admin: req.admin.clone(),
        config: req.config.clone(),
        rules,
        base,
        work: Work { queue: Mutex::new(users.into_iter().collect()) },
        jobs,
        reconnects: req.reconnects,
        stop: std::sync::atomic::AtomicBool::new(false),
        reconnected: std::sync::atomic::AtomicU32::new(0),
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut handles = Vec::with_capacity(jobs);
    handles.push(tokio::spawn(worker(Some(Conn { client: first, h }), ctx.clone(), tx.clone())));
    for _ in 1..jobs {
        handles.push(tokio::spawn(worker(None, ctx.clone(), tx.clone())));
    }
    drop(tx);
    let mut ok = 0;
    let mut seen = 0;
    let mut unknown = 0;
    let stop = |ctx: &Ctx| ctx.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    while let Some(msg) = rx.recv().await {
        match msg {
            Msg::Pending { user, password, ack } => {
                let go = !ctx.stopped()
                    && on_event(RotateEvent::Pending { user: &user, password: &password })
                        .is_continue();
                if !go {
                    stop(&ctx);
                }
                let _ = ack.send(go);
            }
            Msg::Done(r) => {
                seen += 1;
                match &r.result {
                    Ok(()) => ok += 1,
                    Err(e) if e.outcome_unknown() => unknown += 1,
                    Err(_) => {}
                }
                if on_event(RotateEvent::Done { result: &r, done: seen, total }).is_break() {
                    stop(&ctx);
                }
            }
        }
    }
    let mut flights = 0u32;
    for h in handles {
        flights = flights.saturating_add(h.await.unwrap_or(0));
    }
    // Names nobody took: the run was stopped, or every connection failed before them.
    let stopped = ctx.stopped();
    for user in ctx.work.take(usize::MAX) {
        seen += 1;
        let e = if stopped {
            Error::new(
                ErrorKind::InvalidInput,
                Operation::Call(SamrSetInformationUser2::NAME),
                "not attempted: the run was stopped",
            )
        } else {
            Error::new(ErrorKind::Network, Operation::Bind, "not attempted: no connection was left")
        };
        let _ =
            on_event(RotateEvent::Done { result: &Rotated::failed(user, e), done: seen, total });
    }
    debug_assert_eq!(seen, total);
    Ok(RotateSummary {
        total,
        ok,
        unknown,
        length: rules.length,
        complexity: rules.complexity,
        flights,
        reconnects: ctx.reconnected.load(std::sync::atomic::Ordering::SeqCst),
        stopped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes(p: &str) -> [bool; 4] {
        let b = p.as_bytes();
        [UPPER, LOWER, DIGITS, SYMBOLS].map(|c| b.iter().any(|x| c.contains(x)))
    }

    /// The non-allocating comparison agrees with `to_lowercase().contains()` (which the
    /// generator used to run on every password, leaving copies on the heap).
    #[test]
    fn contains_ignore_case_agrees_with_lowercase_contains() {
        let hays = ["Xalice9", "xALICE", "al1ce", "aLiCe", "", "ÄLICE-älice", "İstanbul", "abcABC"];
        let needles = ["alice", "älice", "i̇st", "abc", "bca", "cab", "ali", "x"];
        for h in hays {
            for n in needles {
                let n = n.to_lowercase();
                assert_eq!(
                    contains_ignore_case(h, &n),
                    h.to_lowercase().contains(&n),
                    "{h:?} {n:?}"
                );
            }
        }
    }

    #[test]
    fn generated_passwords_follow_the_rules() {
        let mut rng = OsRandom;
        for len in [4, 7, 14, 20, 64, 300] {
            for _ in 0..50 {
                let p = generate_password(
                    "alice",
                    PasswordRules { length: len, complexity: true },
                    &mut rng,
                );
                assert_eq!(p.expose().len(), len.clamp(4, MAX_LENGTH));
                assert_eq!(classes(p.expose()), [true; 4], "{len}");
                assert!(!p.expose().to_lowercase().contains("alice"));
            }
        }
        let p = generate_password("x", PasswordRules { length: 2, complexity: false }, &mut rng);
        assert_eq!(p.expose().len(), 4, "at least 4 characters");
    }

    #[test]
    fn the_account_name_is_never_contained() {
        // A name made of one alphabet character: with a 4-char password the generator has to
        // retry often, and must never return a password containing it.
        let mut rng = OsRandom;
        for _ in 0..200 {
            let p =
                generate_password("aaa", PasswordRules { length: 4, complexity: false }, &mut rng);
            assert!(!p.expose().to_lowercase().contains("aaa"));
        }
    }

    #[test]
    fn passwords_differ() {
        let mut rng = OsRandom;
        let r = PasswordRules { length: 16, complexity: true };
        let a = generate_password("u", r, &mut rng);
        let b = generate_password("u", r, &mut rng);
        assert_ne!(a.expose(), b.expose());
    }
}
