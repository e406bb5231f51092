//! Bulk password rotation (issue 6, goal 4): reset many accounts to fresh random passwords
//! that satisfy the domain policy, over a few reused connections.
//!
//! One connection reads the domain password policy (and, for [`RotateUsers::All`], the user
//! list); then `jobs` connections (that first one included) each open the account domain once
//! and reset their share of the users with `SamrSetInformationUser2` level 31 (AES), reusing
//! the server and domain handles: per user one batched name lookup share, `SamrOpenUser`,
//! the set, `SamrCloseHandle`. A failure for one user is reported for that user and the run
//! goes on; a lost connection fails the users it still had.
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
}

impl RotateRequest {
    /// The default number of connections ([`RotateRequest::jobs`]).
    pub const DEFAULT_JOBS: usize = 4;
    /// The default wanted password length ([`RotateRequest::length`]).
    pub const DEFAULT_LENGTH: usize = 20;

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
        }
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
    /// The password length used.
    pub length: usize,
    /// Whether the policy required complexity.
    pub complexity: bool,
    /// SMB2 request flights over all connections (setup and teardown included).
    pub flights: u32,
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

/// Reset one account (RID known) to a fresh password, retrying with another password when
/// the server finds it against the policy (e.g. it contains part of the full name).
async fn rotate_one(
    client: &mut SamrClient,
    h: &DomainHandles,
    rid: u32,
    user: String,
    rules: PasswordRules,
    base: &ResetPassword,
) -> Rotated {
    let op = Operation::Call(SamrSetInformationUser2::NAME);
    let Some(key) = client.application_key().cloned() else {
        let e = Error::new(ErrorKind::Security, op, "a reset needs an authenticated session");
        return Rotated::failed(user, e);
    };
    let uh = match open_user(client, h, rid, access::USER_FORCE_PASSWORD_CHANGE).await {
        Ok(uh) => uh,
        Err(e) => return Rotated::failed(user, e),
    };
    let mut out = Rotated::failed(user, Error::new(ErrorKind::Protocol, op, "no attempt made"));
    for _attempt in 0..3 {
        let new = generate_password(&out.user, rules, &mut OsRandom);
        let req = ResetPassword { user: out.user.clone(), new: new.clone(), ..base.clone() };
        let (result, password) = match set_password(client, &uh, &key, &req).await {
            Ok((_method, status)) => match refused(op, status) {
                Ok(()) => (Ok(()), Some(new)),
                Err(e) => (Err(e), None),
            },
            Err(e) if e.outcome_unknown() => (Err(e), Some(new)),
            Err(e) => (Err(e), None),
        };
        out.result = result;
        out.password = password;
        let restriction = matches!(&out.result,
            Err(e) if e.status() == Some(NtStatus::STATUS_PASSWORD_RESTRICTION));
        if !restriction {
            break;
        }
    }
    if out.password.is_none() || out.result.is_ok() {
        close_handle(client, uh).await;
    }
    out
}

/// Shared work: the queue of names, and where results go.
struct Work {
    queue: Mutex<VecDeque<String>>,
}

impl Work {
    fn take(&self, n: usize) -> Vec<String> {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let k = n.min(q.len());
        q.drain(..k).collect()
    }

    /// A fair batch: at most [`LOOKUP_BATCH`], and no more than a `jobs`-th of what is left.
    fn batch(&self, jobs: usize) -> Vec<String> {
        let left = self.queue.lock().unwrap_or_else(|e| e.into_inner()).len();
        self.take(left.div_ceil(jobs.max(1)).clamp(1, LOOKUP_BATCH))
    }
}

/// One connection's loop: open the domain once, then take batches of names until none are
/// left. Every name taken is reported exactly once.
async fn worker(
    mut client: SamrClient,
    domain: Option<DomainHandles>,
    work: Arc<Work>,
    jobs: usize,
    rules: PasswordRules,
    base: ResetPassword,
    tx: tokio::sync::mpsc::UnboundedSender<Rotated>,
) -> u32 {
    let h = match domain {
        Some(h) => h,
        None => match open_account_domain(&mut client, access::DOMAIN_LOOKUP).await {
            Ok(h) => h,
            Err(_e) => {
                // This connection can do nothing: leave the names to the others (if none is
                // left, `rotate` fails them at the end).
                crate::log_debug!(error = %_e, "rotate worker could not open the domain");
                return client.close_counted().await.unwrap_or(0);
            }
        },
    };
    loop {
        let batch = work.batch(jobs);
        if batch.is_empty() {
            break;
        }
        let rids = match lookup_batch(&mut client, &h, &batch).await {
            Ok(r) => r,
            Err(e) => {
                for user in batch {
                    let _ = tx.send(Rotated::failed(user, e.clone()));
                }
                if e.kind() == ErrorKind::ServerRefused {
                    continue;
                }
                break;
            }
        };
        let mut broken = None;
        for (user, rid) in batch.into_iter().zip(rids) {
            if let Some(e) = &broken {
                let _ = tx.send(Rotated::failed(user, Error::clone(e)));
                continue;
            }
            let r = match rid {
                Ok(rid) => rotate_one(&mut client, &h, rid, user, rules, &base).await,
                Err(e) => Rotated::failed(user, e),
            };
            if let Err(e) = &r.result {
                if e.kind() != ErrorKind::ServerRefused && e.kind() != ErrorKind::RpcFault {
                    broken = Some(e.clone());
                }
            }
            let _ = tx.send(r);
        }
        if broken.is_some() {
            // The connection is unusable: fail whatever is left rather than lose it.
            for user in work.take(usize::MAX) {
                let _ = tx.send(Rotated::failed(
                    user,
                    Error::new(
                        ErrorKind::Network,
                        Operation::Call(SamrSetInformationUser2::NAME),
                        "not attempted: the connection failed earlier",
                    ),
                ));
            }
            break;
        }
    }
    // Handles die with the session: no SamrCloseHandle round trips for them.
    client.close_counted().await.unwrap_or(0)
}

/// Rotate the passwords of `req.users`; `on_result(result, done, total)` sees each account as
/// soon as it is done (persist the password there: it is already set on the server). Fails as a whole only when
/// nothing can start (the first connection, the policy, the user list).
pub async fn rotate(
    req: RotateRequest,
    mut on_result: impl FnMut(&Rotated, usize, usize),
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
    let users = match &req.users {
        RotateUsers::List(v) => v.clone(),
        RotateUsers::All => all_users(&mut first, &h, admin_name).await?,
    };
    let total = users.len();
    let work = Arc::new(Work { queue: Mutex::new(users.into_iter().collect()) });
    let base = ResetPassword::new(&req.host, String::new(), req.admin.clone(), Password::from(""))
        .with_config(req.config.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let jobs = req.jobs.clamp(1, total.max(1));
    let mut handles = Vec::with_capacity(jobs);
    handles.push(tokio::spawn(worker(
        first,
        Some(h),
        work.clone(),
        jobs,
        rules,
        base.clone(),
        tx.clone(),
    )));
    for _ in 1..jobs {
        let (work, base, tx, host, admin, config) = (
            work.clone(),
            base.clone(),
            tx.clone(),
            req.host.clone(),
            req.admin.clone(),
            req.config.clone(),
        );
        handles.push(tokio::spawn(async move {
            match SamrClient::connect(&host, &admin, &config).await {
                Ok(client) => worker(client, None, work, jobs, rules, base, tx).await,
                Err(_e) => {
                    // The other connections take the names.
                    crate::log_debug!(error = %_e, "an extra rotate connection failed");
                    0
                }
            }
        }));
    }
    drop(tx);
    let mut ok = 0;
    let mut seen = 0;
    while let Some(r) = rx.recv().await {
        seen += 1;
        if r.result.is_ok() {
            ok += 1;
        }
        on_result(&r, seen, total);
    }
    let mut flights = 0u32;
    for h in handles {
        flights = flights.saturating_add(h.await.unwrap_or(0));
    }
    // Names nobody took (every connection failed before taking them).
    for user in work.take(usize::MAX) {
        seen += 1;
        let e = Error::new(
            ErrorKind::Network,
            Operation::Bind,
            "not attempted: no connection was left",
        );
        on_result(&Rotated::failed(user, e), seen, total);
    }
    debug_assert_eq!(seen, total);
    Ok(RotateSummary { total, ok, length: rules.length, complexity: rules.complexity, flights })
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
