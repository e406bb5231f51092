//! `samrpc`: change and reset Windows / Active Directory passwords over SMB (MS-SAMR) from the
//! command line.
//!
//! Secrets never come from the command line: environment variables, lines of standard input
//! or a prompt without echo (see `secrets`). Exit codes: 0 done, 1 the server refused, 2 usage
//! error, 3 network or protocol failure, 4 outcome unknown.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

mod harden;
mod output;
mod prompt;
mod rotate;
mod secrets;
mod shell;

use clap::{ArgAction, Args, Parser, Subcommand};
use output::Report;
use samrpc::api::{
    self, AccountKind, ChangePassword, ChangeSession, DoctorRequest, ListUsersRequest, Method,
    PolicyRequest, ResetPassword, SessionKind,
};
use samrpc::session::Dialect;
use samrpc::{AuthMethod, ClientConfig, Credentials, Error, Transport};
use secrets::{ENV_ADMIN_PASSWORD, ENV_PASSWORD, SecretReader, usage};
use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::time::Duration;
use zeroize::Zeroizing;

const EXIT_CODES: &str = "\
Exit codes: 0 done; 1 the server refused (NTSTATUS failure or RPC fault); 2 usage error;
3 network or protocol failure; 4 outcome unknown (the connection was lost after the change
or reset was sent: log in with the new password to find out).

Secrets are never taken from the command line: environment variables (SAMRPC_*), else one
per line on standard input when it is not a terminal, else prompts without echo.";

pub(crate) const DPAPI_WARNING: &str = "A reset is not a change: Windows protects the user's DPAPI secrets \
(saved credentials, EFS-encrypted files, certificate private keys) with keys derived from the \
password. A change re-protects them; a reset cannot, so they may become unreadable for good. \
Prefer `samrpc passwd` whenever the old password is known.";

const PASSWD_LONG: &str = "\
Change USER's password on HOST with the current password (or its NT hash).

Uses SamrUnicodeChangePasswordUser4 (opnum 73: AES-256 + HMAC-SHA512, keyed by PBKDF2 over
the old NT hash), the only remote change method current Windows domain controllers accept.

Expired passwords: samrpc first logs on as USER with the current secret. When the server
answers STATUS_PASSWORD_EXPIRED or STATUS_PASSWORD_MUST_CHANGE (it refuses the logon until
the password is changed), samrpc retries the change automatically over an anonymous session,
which the change call does not need a logon for. --anonymous uses an anonymous session from
the start (servers with DOMAIN_PASSWORD_NO_ANON_CHANGE refuse that).

Secrets: SAMRPC_OLD_PASSWORD and SAMRPC_NEW_PASSWORD if set (or SAMRPC_OLD_NT_HASH for the
current one); otherwise, when standard input is not a terminal, the current and the new
password as its first two lines (with --old-nt-hash: only the new one; exactly one trailing
\\n or \\r\\n is stripped, nothing else); otherwise prompts without echo (the new password
twice). Secrets taken from the environment are fine for tests but visible to other processes
of the same user; prefer standard input.";

const RESET_LONG: &str = "\
Set USER's password on HOST as an administrator, without knowing the current one.

Uses SamrSetInformationUser2 with the AES password levels (keyed by the SMB session), logged
on as the -U account, which needs the reset-password right on USER. --must-change expires the
new password so the user must change it at the next logon.

WARNING: a reset is not a change. Windows protects the user's DPAPI secrets (saved
credentials, EFS-encrypted files, certificate private keys) with keys derived from the
password. A change re-protects them; a reset cannot, so they may become unreadable for good.
Prefer `samrpc passwd` whenever the old password is known.

Secrets: SAMRPC_ADMIN_PASSWORD and SAMRPC_NEW_PASSWORD if set; otherwise, when standard input
is not a terminal, the administrator's and the new password as its first two lines; otherwise
prompts without echo (the new password twice).";

const POLICY_LONG: &str = "\
Read HOST's domain password and lockout policy (minimum length, complexity, history, ages,
lockout) and, with --user, that user's password state.

Without -U the policy is read over an anonymous session (the same as --anonymous); servers
that refuse anonymous SAMR access need -U. The -U account's password comes from
SAMRPC_PASSWORD, else the first line of standard input, else a prompt without echo.";

const USERS_LONG: &str = "\
List the user accounts of HOST's account domain (name, RID, account-control flags).

The -U account's password comes from SAMRPC_PASSWORD, else the first line of standard input,
else a prompt without echo.";

const DOCTOR_LONG: &str = "\
Walk the path to a password change one step at a time (TCP connection, SMB negotiation,
session, IPC$, \\PIPE\\samr, SAMR bind and calls) and print a checklist: ✓ for a step that
passed, ✗ with what was found and what to do for one that failed.

Exit code: 0 when every step passed, 1 when any step failed (network failures included: the
checklist says which). With -U the steps run authenticated; the password comes from
SAMRPC_PASSWORD, else the first line of standard input, else a prompt without echo.";

/// Change and reset Windows / Active Directory passwords over SMB (MS-SAMR).
#[derive(Parser)]
#[command(name = "samrpc", version, after_help = EXIT_CODES, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: TopLevel,
}

/// The jobs, and the shell-integration commands that do not talk to a server.
#[derive(Subcommand)]
// Parsed once at start-up; boxing the jobs would buy nothing.
#[allow(clippy::large_enum_variant)]
enum TopLevel {
    #[command(flatten)]
    Job(Command),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    #[command(long_about = shell::COMPLETIONS_LONG)]
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), or write one per subcommand with --dir
    #[command(long_about = shell::MAN_LONG)]
    Man(shell::ManArgs),
}

#[derive(Subcommand)]
enum Command {
    /// Change a password with the current password (or its NT hash)
    #[command(long_about = PASSWD_LONG, after_help = EXIT_CODES, override_usage = "samrpc passwd <HOST> <USER> [-d DOMAIN] [--anonymous | --no-anonymous] [--old-nt-hash HEX|-] [--allow-rc4] [--iterations N] [--transport smb|tcp|auto] [-k | --auth MODE] [--kdc HOST[:PORT]] [--realm REALM] [--address ADDR] [--port P] [--epm-port P] [--timeout SECS] [--json] [-v]")]
    Passwd(PasswdArgs),
    /// Reset a password as an administrator (can make the user's DPAPI secrets unreadable;
    /// prefer passwd)
    #[command(long_about = RESET_LONG, after_help = EXIT_CODES, override_usage = "samrpc reset <HOST> <USER> -U [DOMAIN\\]ADMIN [--must-change] [--allow-rc4] [--transport smb|tcp|auto] [-k | --auth MODE] [--kdc HOST[:PORT]] [--realm REALM] [--address ADDR] [--port P] [--epm-port P] [--timeout SECS] [--json] [-v]")]
    Reset(ResetArgs),
    /// Show the domain password policy (and a user's password state)
    #[command(long_about = POLICY_LONG, after_help = EXIT_CODES, override_usage = "samrpc policy <HOST> [-U [DOMAIN\\]NAME | --anonymous] [--user USER] [--transport smb|tcp|auto] [-k | --auth MODE] [--kdc HOST[:PORT]] [--realm REALM] [--address ADDR] [--port P] [--epm-port P] [--timeout SECS] [--json] [-v]")]
    Policy(PolicyArgs),
    /// List the domain's user accounts
    #[command(long_about = USERS_LONG, after_help = EXIT_CODES, override_usage = "samrpc users <HOST> -U [DOMAIN\\]NAME [--kind normal|computer|trust|all] [--transport smb|tcp|auto] [-k | --auth MODE] [--kdc HOST[:PORT]] [--realm REALM] [--address ADDR] [--port P] [--epm-port P] [--timeout SECS] [--json] [-v]")]
    Users(UsersArgs),
    /// Reset many accounts to random passwords that satisfy the policy (results in a 0600 file)
    #[command(long_about = rotate::ROTATE_LONG, override_usage = "samrpc rotate <HOST> -U [DOMAIN\\]ADMIN (--users FILE | --all) [--jobs N] [--length L] --out FILE [--resume FILE] [--transport smb|tcp|auto] [-k | --auth MODE] [--kdc HOST[:PORT]] [--realm REALM] [--address ADDR] [--port P] [--epm-port P] [--timeout SECS] [--json] [-v]")]
    Rotate(rotate::RotateArgs),
    /// Check each step on the way to a password change and say what to fix
    #[command(long_about = DOCTOR_LONG, override_usage = "samrpc doctor <HOST> [-U [DOMAIN\\]NAME] [--user USER] [--transport smb|tcp|auto] [-k | --auth MODE] [--kdc HOST[:PORT]] [--realm REALM] [--address ADDR] [--port P] [--epm-port P] [--timeout SECS] [--json] [-v]")]
    Doctor(DoctorArgs),
}

/// Options every command takes.
#[derive(Clone, Args)]
pub(crate) struct Common {
    /// TCP port of the SMB server
    #[arg(long, value_name = "P", default_value_t = 445,
          value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// TCP port of the endpoint mapper, for --transport tcp or auto (default 135)
    #[arg(long, value_name = "P", default_value_t = 135,
          value_parser = clap::value_parser!(u16).range(1..))]
    epm_port: u16,
    /// Seconds allowed for connecting and for each request (default: 10 to connect, 30 per
    /// request)
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: Option<u64>,
    /// How to reach SAMR: smb (named pipe over SMB, TCP 445; the default), tcp (DCE/RPC over
    /// TCP: endpoint mapper on 135, then a dynamic port; sealed at the RPC level; no resets,
    /// no expired-password changes) or auto (SMB, falling back to TCP when port 445 is
    /// unreachable; computer accounts ending in `$` try TCP first)
    #[arg(long, value_name = "smb|tcp|auto", default_value = "smb", value_parser = parse_transport)]
    transport: Transport,
    /// Refuse SMB dialects below this one: 2.0.2, 2.1 (the default), 3.0, 3.0.2 or 3.1.1.
    /// 3.0 rules out SMB 2.x, whose negotiation a man in the middle can rewrite unnoticed
    #[arg(long, value_name = "VERSION", value_parser = parse_dialect)]
    min_smb: Option<Dialect>,
    /// Encrypt the SMB session even when the server does not ask for it (SMB 3.x only;
    /// refuses servers, sessions and negotiations that cannot encrypt)
    #[arg(long)]
    require_encryption: bool,
    /// Print exactly one JSON object on standard output
    #[arg(long)]
    json: bool,
    /// More logs on standard error: -v debug, -vv trace (RUST_LOG also works; default:
    /// warnings only). Secrets are never logged
    #[arg(short, long, action = ArgAction::Count)]
    verbose: u8,
    /// Authenticate with Kerberos (short for --auth kerberos)
    #[arg(short = 'k', long, conflicts_with = "auth")]
    kerberos: bool,
    /// Authentication: ntlm (default), kerberos, or negotiate (NTLM, then Kerberos when the
    /// account may not use NTLM)
    #[arg(long, value_name = "MODE", value_parser = ["ntlm", "kerberos", "negotiate"])]
    auth: Option<String>,
    /// The KDC as HOST[:PORT] (default: krb5.conf, else DNS SRV _kerberos._tcp.REALM, else HOST
    /// on port 88)
    #[arg(long, value_name = "HOST[:PORT]")]
    kdc: Option<String>,
    /// The Kerberos realm (default: from NAME@REALM, else krb5.conf default_realm, else
    /// HOST's DNS suffix upper-cased)
    #[arg(long, value_name = "REALM")]
    realm: Option<String>,
    /// Connect to ADDR but keep HOST as the server's name (Kerberos SPN cifs/HOST over SMB,
    /// host/HOST over TCP; tree path): Kerberos needs a name, the network may need an address
    #[arg(long, value_name = "ADDR")]
    address: Option<String>,
}

impl Common {
    /// The authentication mode chosen.
    pub(crate) fn auth_method(&self) -> AuthMethod {
        if self.kerberos {
            return AuthMethod::Kerberos;
        }
        self.auth.as_deref().and_then(AuthMethod::parse).unwrap_or(AuthMethod::Ntlm)
    }
}

#[derive(Args)]
struct PasswdArgs {
    /// Server host name or address (a domain controller for a domain account)
    #[arg(value_name = "HOST")]
    host: String,
    /// The account whose password changes (bare name; DOMAIN\NAME and NAME@DOMAIN also work)
    #[arg(value_name = "USER")]
    user: String,
    /// The account's NetBIOS domain (the computer name for a local account). Default: the
    /// one the server announces. A wrong domain fails the logon even with the right password
    #[arg(short = 'd', long, value_name = "DOMAIN")]
    domain: Option<String>,
    /// Use an anonymous session from the start instead of logging on as USER
    #[arg(long, conflicts_with = "no_anonymous")]
    anonymous: bool,
    /// Never fall back to an anonymous session (the server's "password must change" answer
    /// is unauthenticated and could be forged to force that downgrade). An expired password
    /// then fails, or is changed through kpasswd with -k
    #[arg(long)]
    no_anonymous: bool,
    /// Prove the current password with its NT hash (32 hex digits) instead. A hash given here
    /// is visible to other local users (/proc, ps): prefer SAMRPC_OLD_NT_HASH, or `-` to read
    /// it from standard input (first line) or a prompt
    #[arg(long, value_name = "HEX")]
    old_nt_hash: Option<String>,
    /// Legacy opt-in: when the server lacks SamrUnicodeChangePasswordUser4 (Windows without
    /// the July 2021 updates, old Samba), fall back to SamrUnicodeChangePasswordUser2, which
    /// protects the new password only with RC4. Off by default
    #[arg(long)]
    allow_rc4: bool,
    /// PBKDF2 iterations for SamrUnicodeChangePasswordUser4, 5000..=1000000. Default: a fresh
    /// random count chosen for each change (the count used is reported as `iterations` in the
    /// --json output). Higher counts cost the server CPU time
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(5000..=1_000_000))]
    iterations: Option<u64>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct ResetArgs {
    /// Server host name or address (a domain controller for a domain account)
    #[arg(value_name = "HOST")]
    host: String,
    /// The account to reset (bare name)
    #[arg(value_name = "USER")]
    user: String,
    /// The administrator to log on as: NAME, DOMAIN\NAME or NAME@DOMAIN
    #[arg(short = 'U', long = "account", value_name = "[DOMAIN\\]ADMIN", required = true)]
    admin: String,
    /// Expire the new password: the user must change it at the next logon
    #[arg(long)]
    must_change: bool,
    /// Legacy opt-in: allow the RC4 password levels (SamrSetInformationUser2 levels 25/23) when
    /// the server lacks the AES ones. Off by default
    #[arg(long)]
    allow_rc4: bool,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct PolicyArgs {
    /// Server host name or address
    #[arg(value_name = "HOST")]
    host: String,
    /// The account to log on as: NAME, DOMAIN\NAME or NAME@DOMAIN
    #[arg(
        short = 'U',
        long = "account",
        value_name = "[DOMAIN\\]NAME",
        conflicts_with = "anonymous"
    )]
    account: Option<String>,
    /// Read the policy over an anonymous session (the default without -U)
    #[arg(long)]
    anonymous: bool,
    /// Also show this user's password state (last set, must change, flags, bad logons)
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    #[command(flatten)]
    common: Common,
}

#[derive(Args)]
struct UsersArgs {
    /// Server host name or address
    #[arg(value_name = "HOST")]
    host: String,
    /// The account to log on as: NAME, DOMAIN\NAME or NAME@DOMAIN
    #[arg(short = 'U', long = "account", value_name = "[DOMAIN\\]NAME", required = true)]
    account: String,
    /// Which accounts: normal (as `rpcclient enumdomusers` lists), computer, trust or all
    #[arg(long, value_enum, default_value_t = KindArg::All)]
    kind: KindArg,
    #[command(flatten)]
    common: Common,
}

/// `users --kind`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
enum KindArg {
    /// Normal user accounts.
    Normal,
    /// Computer (workstation and server trust) accounts.
    Computer,
    /// Interdomain trust accounts.
    Trust,
    /// Every account.
    All,
}

impl From<KindArg> for AccountKind {
    fn from(k: KindArg) -> Self {
        match k {
            KindArg::Normal => Self::Normal,
            KindArg::Computer => Self::Computer,
            KindArg::Trust => Self::Trust,
            KindArg::All => Self::All,
        }
    }
}

#[derive(Args)]
struct DoctorArgs {
    /// Server host name or address
    #[arg(value_name = "HOST")]
    host: String,
    /// The account to log on as: NAME, DOMAIN\NAME or NAME@DOMAIN (default: anonymous)
    #[arg(short = 'U', long = "account", value_name = "[DOMAIN\\]NAME")]
    account: Option<String>,
    /// The account whose password is to change (checks that it exists and may change it)
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    #[command(flatten)]
    common: Common,
}

impl Command {
    fn common(&self) -> &Common {
        match self {
            Self::Passwd(a) => &a.common,
            Self::Reset(a) => &a.common,
            Self::Rotate(a) => &a.common,
            Self::Policy(a) => &a.common,
            Self::Users(a) => &a.common,
            Self::Doctor(a) => &a.common,
        }
    }
}

/// `--min-smb`: a dialect by its usual name.
fn parse_dialect(s: &str) -> Result<Dialect, String> {
    Dialect::ALL
        .into_iter()
        .find(|d| d.to_string() == s)
        .ok_or_else(|| format!("expected one of 2.0.2, 2.1, 3.0, 3.0.2, 3.1.1 (got {s:?})"))
}

/// The connection settings from the common options.
pub(crate) fn config(common: &Common, allow_rc4: bool) -> ClientConfig {
    let mut c = ClientConfig::default()
        .with_port(common.port)
        .with_epm_port(common.epm_port)
        .with_allow_rc4(allow_rc4)
        .with_auth(common.auth_method())
        .with_kdc(common.kdc.clone())
        .with_realm(common.realm.clone())
        .with_address(common.address.clone())
        .with_transport(common.transport);
    if let Some(secs) = common.timeout {
        c = c.with_timeout(Duration::from_secs(secs));
    }
    if let Some(d) = common.min_smb {
        c = c.with_min_dialect(d);
    }
    c = c.with_require_encryption(common.require_encryption);
    c
}

/// `smb`, `tcp` or `auto`.
fn parse_transport(s: &str) -> Result<Transport, String> {
    match s.to_ascii_lowercase().as_str() {
        "smb" | "np" | "ncacn_np" => Ok(Transport::Smb),
        "tcp" | "ncacn_ip_tcp" => Ok(Transport::Tcp),
        "auto" => Ok(Transport::Auto),
        _ => Err(format!("unknown transport `{s}` (expected smb, tcp or auto)")),
    }
}

/// `NAME`, `DOMAIN\NAME` or `NAME@DOMAIN` → (name, domain); an empty name is a usage error.
pub(crate) fn parse_account(s: &str, option: &str) -> Result<(String, Option<String>), Error> {
    let (name, domain) = Credentials::split_account(s);
    if name.is_empty() {
        return Err(usage(format!("{option}: the account name is empty")));
    }
    Ok((name, domain))
}

/// `DOMAIN\NAME` or `NAME`.
pub(crate) fn account_display(name: &str, domain: Option<&str>) -> String {
    match domain {
        Some(d) => format!("{d}\\{name}"),
        None => name.to_owned(),
    }
}

/// Whether the method is one of the legacy RC4 ones.
fn is_rc4(m: Method) -> bool {
    matches!(m, Method::ChangeUser2 | Method::SetInternal4New | Method::SetInternal4)
}

fn warn_rc4(m: Method) {
    if is_rc4(m) {
        eprintln!(
            "warning: the server lacks the AES method, so the legacy RC4 method {} was used \
             (--allow-rc4); ask for the server to be updated.",
            m.name()
        );
    }
}

/// Record `err` in `rep` with the fallback hint for its kind.
pub(crate) fn fail(rep: &mut Report, err: Error, headline: Option<String>, port: u16) {
    let hint = output::fallback_hint(&err, &rep.server, port);
    // Flag-level advice the library cannot give.
    let extra = match err.hint() {
        Some(h) if h.contains("not an address") => {
            Some(" Give the DNS name as HOST and the address with --address ADDR.")
        }
        Some(_)
            if matches!(
                err.status(),
                Some(
                    samrpc::NtStatus::STATUS_ACCOUNT_RESTRICTION
                        | samrpc::NtStatus::STATUS_NTLM_BLOCKED
                )
            ) =>
        {
            Some(" Retry with -k (Kerberos), or --auth negotiate.")
        }
        _ => None,
    };
    match extra {
        Some(x) => {
            let h = format!("{}{x}", err.hint().unwrap_or_default());
            rep.fail(err.with_hint(h), headline, hint);
        }
        None => rep.fail(err, headline, hint),
    }
}

async fn passwd(mut a: PasswdArgs, secrets: &mut SecretReader<'_>) -> Report {
    // Take the hash out of the parsed arguments (no copy is left there) into a zeroizing
    // buffer. (The process's argv itself cannot be wiped: hence the warning.)
    let hash_arg = a.old_nt_hash.take().map(Zeroizing::new);
    let mut rep = Report::new("passwd", &a.host);
    let (user, user_domain) = Credentials::split_account(&a.user);
    rep.user = Some(user.clone());
    let port = a.common.port;
    let headline = |e: &Error| {
        Some(if e.outcome_unknown() {
            format!("The password for {user} on {} may or may not have changed.", a.host)
        } else {
            format!("Password for {user} on {} was not changed.", a.host)
        })
    };
    match passwd_inner(&a, &user, user_domain, hash_arg, secrets, &mut rep).await {
        Ok(()) => {}
        Err(e) => {
            let h = headline(&e);
            fail(&mut rep, e, h, port);
        }
    }
    rep
}

async fn passwd_inner(
    a: &PasswdArgs,
    user: &str,
    user_domain: Option<String>,
    hash_arg: Option<Zeroizing<String>>,
    secrets: &mut SecretReader<'_>,
    rep: &mut Report,
) -> Result<(), Error> {
    if user.is_empty() {
        return Err(usage("USER is empty"));
    }
    let domain = match (a.domain.clone(), user_domain) {
        (Some(d), Some(u)) if !d.eq_ignore_ascii_case(&u) => {
            return Err(usage(format!(
                "USER names the domain {u} but -d names {d}; give the domain once"
            )));
        }
        (d, u) => d.or(u),
    };
    if !a.anonymous {
        rep.account = Some(account_display(user, domain.as_deref()));
    }
    let old = secrets.old_secret(hash_arg, user)?;
    let new = secrets.new_password(user)?;
    let mut req = ChangePassword::new(&a.host, user, old, new)
        .with_session(if a.anonymous {
            ChangeSession::Anonymous
        } else if a.no_anonymous {
            ChangeSession::AuthenticatedOnly
        } else {
            ChangeSession::Auto
        })
        .with_config(config(&a.common, a.allow_rc4));
    req.domain = domain;
    req.iterations = a.iterations;
    tracing::debug!(host = %req.host, user = %req.user, port = req.config.port, "changing password");
    let outcome = api::change_password(req).await?;
    warn_rc4(outcome.method);
    rep.outcome(&outcome);
    rep.lines.push(format!(
        "Password for {user} on {} changed ({})",
        a.host,
        output::describe_outcome(&outcome)
    ));
    Ok(())
}

async fn reset(a: ResetArgs, secrets: &mut SecretReader<'_>) -> Report {
    eprintln!("warning: {DPAPI_WARNING}");
    let mut rep = Report::new("reset", &a.host);
    // The target is looked up in the server's account domain: only its bare name counts.
    let (user, _) = Credentials::split_account(&a.user);
    rep.user = Some(user.clone());
    if let Err(e) = reset_inner(&a, &user, secrets, &mut rep).await {
        let h = Some(if e.outcome_unknown() {
            format!("The password for {user} on {} may or may not have been reset.", a.host)
        } else {
            format!("Password for {user} on {} was not reset.", a.host)
        });
        fail(&mut rep, e, h, a.common.port);
    }
    rep
}

async fn reset_inner(
    a: &ResetArgs,
    user: &str,
    secrets: &mut SecretReader<'_>,
    rep: &mut Report,
) -> Result<(), Error> {
    if user.is_empty() {
        return Err(usage("USER is empty"));
    }
    let (admin, admin_domain) = parse_account(&a.admin, "-U")?;
    let shown = account_display(&admin, admin_domain.as_deref());
    rep.account = Some(shown.clone());
    let cfg = config(&a.common, a.allow_rc4);
    let admin = account_credentials(
        &a.host,
        admin,
        admin_domain,
        &shown,
        ENV_ADMIN_PASSWORD,
        &cfg,
        secrets,
    )?;
    let new = secrets.new_password(user)?;
    let req = ResetPassword::new(&a.host, user, admin, new)
        .with_must_change(a.must_change)
        .with_config(cfg);
    tracing::debug!(host = %req.host, user = %req.user, port = req.config.port, "resetting password");
    let outcome = api::reset_password(req).await?;
    warn_rc4(outcome.method);
    rep.outcome(&outcome);
    rep.extra.insert("must_change".into(), serde_json::json!(a.must_change));
    rep.lines.push(format!(
        "Password for {user} on {} reset ({}){}",
        a.host,
        output::describe_outcome(&outcome),
        if a.must_change { "; it must be changed at the next logon" } else { "" }
    ));
    Ok(())
}

/// The credentials of an account: under Kerberos, the ticket cache when it holds a valid
/// ticket (no password asked); otherwise the password from the environment, standard input or
/// a prompt.
pub(crate) fn account_credentials(
    host: &str,
    name: String,
    domain: Option<String>,
    shown: &str,
    env: &str,
    cfg: &ClientConfig,
    secrets: &mut SecretReader<'_>,
) -> Result<Credentials, Error> {
    if cfg.auth == AuthMethod::Kerberos
        && samrpc::client::ticket_cache_usable(host, domain.as_deref(), cfg)
    {
        tracing::debug!("using the Kerberos ticket cache: no password needed");
        return Ok(Credentials::TicketCache);
    }
    let pw = secrets.account_password(env, shown)?;
    Ok(Credentials::password(name, domain, pw))
}

/// The credentials for `-U` (password read through `secrets`, or the ticket cache under
/// Kerberos), or anonymous.
fn credentials(
    host: &str,
    cfg: &ClientConfig,
    account: Option<&str>,
    secrets: &mut SecretReader<'_>,
    rep: &mut Report,
) -> Result<Credentials, Error> {
    match account {
        Some(acc) => {
            let (name, domain) = parse_account(acc, "-U")?;
            let shown = account_display(&name, domain.as_deref());
            rep.account = Some(shown.clone());
            rep.session = Some(SessionKind::Authenticated.name());
            account_credentials(host, name, domain, &shown, ENV_PASSWORD, cfg, secrets)
        }
        None => {
            rep.session = Some(SessionKind::Anonymous.name());
            Ok(Credentials::Anonymous)
        }
    }
}

async fn policy(a: PolicyArgs, secrets: &mut SecretReader<'_>) -> Report {
    let mut rep = Report::new("policy", &a.host);
    rep.user = a.user.clone();
    if let Err(e) = policy_inner(&a, secrets, &mut rep).await {
        let h = Some(format!("Could not read the password policy of {}.", a.host));
        fail(&mut rep, e, h, a.common.port);
    }
    rep
}

async fn policy_inner(
    a: &PolicyArgs,
    secrets: &mut SecretReader<'_>,
    rep: &mut Report,
) -> Result<(), Error> {
    let cfg = config(&a.common, false);
    let creds = credentials(&a.host, &cfg, a.account.as_deref(), secrets, rep)?;
    let mut req = PolicyRequest::new(&a.host, creds).with_config(cfg);
    req.user = a.user.as_deref().map(|u| Credentials::split_account(u).0);
    let report = api::password_policy(req).await?;
    rep.status = Some(samrpc::NtStatus::STATUS_SUCCESS.symbol());
    rep.session_summary(&report.session);
    rep.extra.insert("domain".into(), serde_json::json!(report.domain));
    rep.extra.insert("policy".into(), output::policy_json(&report.policy));
    rep.extra.insert(
        "user_state".into(),
        report.user.as_ref().map_or(serde_json::Value::Null, output::user_state_json),
    );
    rep.lines.push(format!(
        "Password policy of {} on {} ({}):",
        report.domain,
        a.host,
        output::describe_session(&report.session)
    ));
    rep.lines.extend(output::policy_lines(&report.policy));
    rep.lines.push(format!("  in short: {}", report.policy.describe()));
    if let Some(u) = &report.user {
        rep.lines.extend(output::user_state_lines(u));
    }
    Ok(())
}

async fn users(a: UsersArgs, secrets: &mut SecretReader<'_>) -> Report {
    let mut rep = Report::new("users", &a.host);
    if let Err(e) = users_inner(&a, secrets, &mut rep).await {
        let h = Some(format!("Could not list the users of {}.", a.host));
        fail(&mut rep, e, h, a.common.port);
    }
    rep
}

async fn users_inner(
    a: &UsersArgs,
    secrets: &mut SecretReader<'_>,
    rep: &mut Report,
) -> Result<(), Error> {
    let cfg = config(&a.common, false);
    let creds = credentials(&a.host, &cfg, Some(&a.account), secrets, rep)?;
    let req = ListUsersRequest::new(&a.host, creds).with_config(cfg).with_kind(a.kind.into());
    let kerberos = req.config.auth == AuthMethod::Kerberos;
    let list = api::list_users(req).await?;
    rep.status = Some(samrpc::NtStatus::STATUS_SUCCESS.symbol());
    rep.extra.insert("auth".into(), serde_json::json!(if kerberos { "kerberos" } else { "ntlm" }));
    rep.extra.insert("kind".into(), serde_json::json!(format!("{:?}", a.kind).to_lowercase()));
    rep.extra.insert("users".into(), output::users_json(&list));
    rep.lines.push(format!("{} users on {}:", list.len(), a.host));
    rep.lines.extend(output::users_lines(&list));
    Ok(())
}

async fn doctor(a: DoctorArgs, secrets: &mut SecretReader<'_>) -> Report {
    let mut rep = Report::new("doctor", &a.host);
    rep.user = a.user.clone();
    let cfg = config(&a.common, false);
    let creds = match a.account.as_deref() {
        Some(acc) => match credentials(&a.host, &cfg, Some(acc), secrets, &mut rep) {
            Ok(c) => Some(c),
            Err(e) => {
                fail(&mut rep, e, None, a.common.port);
                return rep;
            }
        },
        None => {
            rep.session = Some(SessionKind::Anonymous.name());
            None
        }
    };
    let mut req = DoctorRequest::new(&a.host).with_config(cfg);
    if let Some(creds) = creds {
        req = req.with_credentials(creds);
    }
    req.user = a.user.as_deref().map(|u| Credentials::split_account(u).0);
    let report = api::doctor(req).await;
    let steps = &report.steps;
    let all_ok = report.all_ok();
    rep.ok = all_ok;
    rep.exit = if all_ok { 0 } else { 1 };
    rep.extra.insert("steps".into(), output::steps_json(steps));
    rep.extra.insert("verdicts".into(), output::verdicts_json(&report));
    // Which protocol sequence the checks reached SAMR over, if they got that far.
    let reached = |name: &str| steps.iter().any(|s| s.ok && s.name == name);
    let transport = if reached("endpoint mapper") {
        Some("ncacn_ip_tcp")
    } else if reached("\\PIPE\\samr") {
        Some("ncacn_np")
    } else {
        None
    };
    rep.extra.insert("transport".into(), serde_json::json!(transport));
    rep.lines.push(format!("Checking the path to a password change on {}:", a.host));
    if steps.is_empty() {
        rep.lines.push("✗ no checks were run (this build cannot run them)".to_owned());
    }
    rep.lines.extend(output::steps_lines(steps));
    rep.lines.extend(output::verdict_lines(&report));
    rep.lines.push(if all_ok {
        "All checks passed.".to_owned()
    } else {
        "Some checks failed; see the hints above.".to_owned()
    });
    rep
}

async fn run(command: Command, secrets: &mut SecretReader<'_>) -> Report {
    match command {
        Command::Passwd(a) => passwd(a, secrets).await,
        Command::Reset(a) => reset(a, secrets).await,
        Command::Rotate(a) => rotate::rotate(a, secrets).await,
        Command::Policy(a) => policy(a, secrets).await,
        Command::Users(a) => users(a, secrets).await,
        Command::Doctor(a) => doctor(a, secrets).await,
    }
}

/// Logs on standard error: `-v` debug, `-vv` trace, else `RUST_LOG`, else warnings only.
fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match verbose {
        0 => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        1 => EnvFilter::new("samrpc=debug,warn"),
        _ => EnvFilter::new("samrpc=trace,debug"),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn main() -> ExitCode {
    // Before anything holds a secret: no core dumps, no same-user reads of our memory.
    let hardening_warnings = harden::harden_process();
    // Usage errors exit with 2 (clap's default); --help and --version with 0.
    let cli = Cli::parse();
    let command = match cli.command {
        TopLevel::Job(command) => command,
        TopLevel::Completions(a) => {
            return shell::completions(&a, <Cli as clap::CommandFactory>::command());
        }
        TopLevel::Man(a) => return shell::man(&a, <Cli as clap::CommandFactory>::command()),
    };
    let common = command.common().clone();
    init_logging(common.verbose);
    for w in hardening_warnings {
        eprintln!("{w}");
    }

    let env = |name: &str| std::env::var_os(name);
    let interactive = std::io::stdin().is_terminal();
    // Unbuffered: only the bytes of the lines we read ever leave the kernel (see secrets.rs).
    let mut stdin = if interactive {
        None
    } else {
        match secrets::unbuffered_stdin() {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let stdin_reader: Option<&mut dyn Read> = stdin.as_deref_mut().map(|r| r as &mut dyn Read);
    let mut prompt = |p: &str| prompt::prompt_password(p);
    let mut warn = |w: &str| eprintln!("{w}");
    let mut secrets = SecretReader::new(&env, stdin_reader, &mut prompt, &mut warn);

    // The blocking pool's only job here is the PBKDF2 derivation: its thread ends when the
    // derivation does, instead of idling until the process exits (which then has one thread
    // fewer to wake and reap on a busy machine).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_keep_alive(Duration::ZERO)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    let report = runtime.block_on(run(command, &mut secrets));
    // Do not wait for work that no longer matters (e.g. a key derivation started alongside a
    // connection that failed): the answer is known.
    runtime.shutdown_background();
    report.print(common.json);
    ExitCode::from(u8::try_from(report.exit).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("samrpc").chain(args.iter().copied()))
    }

    #[test]
    fn command_surface() {
        assert!(parse(&["passwd", "h", "bob"]).is_ok());
        assert!(
            parse(&[
                "passwd",
                "h",
                "bob",
                "-d",
                "SAMR",
                "--anonymous",
                "--old-nt-hash",
                "-",
                "--allow-rc4",
                "--iterations",
                "5000",
                "--port",
                "4445",
                "--timeout",
                "5",
                "--json",
                "-vv"
            ])
            .is_ok()
        );
        assert!(parse(&["reset", "h", "bob", "-U", "SAMR\\admin", "--must-change"]).is_ok());
        assert!(parse(&["policy", "h", "-U", "admin@SAMR", "--user", "bob", "--json"]).is_ok());
        assert!(parse(&["policy", "h", "--anonymous"]).is_ok());
        assert!(parse(&["users", "h", "-U", "admin"]).is_ok());
        assert!(parse(&["doctor", "h", "-U", "admin", "--user", "bob", "--port", "1"]).is_ok());
        assert!(parse(&["doctor", "h"]).is_ok());
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["passwd", "h"][..],
            &["reset", "h", "bob"],
            &["users", "h"],
            &["policy", "h", "-U", "a", "--anonymous"],
            &["passwd", "h", "bob", "--iterations", "4999"],
            &["passwd", "h", "bob", "--iterations", "1000001"],
            &["passwd", "h", "bob", "--password", "x"],
            &["passwd", "h", "bob", "--port", "0"],
            &["frobnicate"],
        ] {
            let Err(e) = parse(args) else { panic!("{args:?} parsed") };
            assert_eq!(e.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn help_texts_say_what_matters() {
        let mut cmd = Cli::command();
        let reset = cmd.find_subcommand_mut("reset").unwrap().render_long_help().to_string();
        assert!(reset.contains("DPAPI"));
        let mut cmd = Cli::command();
        let passwd = cmd.find_subcommand_mut("passwd").unwrap().render_long_help().to_string();
        assert!(passwd.contains("anonymous session"));
        assert!(passwd.contains("--iterations"));
        assert!(passwd.contains("Legacy opt-in"));
    }

    #[test]
    fn config_from_options() {
        let common = Common {
            port: 4445,
            epm_port: 1135,
            timeout: Some(7),
            transport: Transport::Auto,
            min_smb: None,
            require_encryption: false,
            json: false,
            verbose: 0,
            kerberos: false,
            auth: None,
            kdc: None,
            realm: None,
            address: None,
        };
        let c = config(&common, true);
        assert_eq!(c.auth, AuthMethod::Ntlm);
        assert_eq!(c.min_dialect, ClientConfig::default().min_dialect);
        assert!(!c.require_encryption);
        assert_eq!(c.port, 4445);
        assert_eq!(c.epm_port, 1135);
        assert_eq!(c.transport, Transport::Auto);
        assert_eq!(c.connect_timeout, Duration::from_secs(7));
        assert_eq!(c.request_timeout, Duration::from_secs(7));
        assert!(c.allow_rc4);
        assert!(c.require_signing);
        let c =
            config(&Common { timeout: None, transport: Transport::Smb, ..common.clone() }, false);
        assert_eq!(c.transport, Transport::Smb);
        assert_eq!(c.connect_timeout, ClientConfig::default().connect_timeout);
        assert!(!c.allow_rc4);
        let strict = Common { min_smb: Some(Dialect::Smb300), require_encryption: true, ..common };
        let c = config(&strict, false);
        assert_eq!(c.min_dialect, Dialect::Smb300);
        assert!(c.require_encryption);
    }

    #[test]
    fn min_smb_and_require_encryption_on_every_command() {
        for cmd in [
            &["passwd", "h", "bob"][..],
            &["reset", "h", "bob", "-U", "a"],
            &["policy", "h"],
            &["users", "h", "-U", "a"],
            &["doctor", "h"],
            &["rotate", "h", "-U", "a", "--all", "--out", "f"],
        ] {
            for (v, d) in [
                ("2.0.2", Dialect::Smb202),
                ("2.1", Dialect::Smb210),
                ("3.0", Dialect::Smb300),
                ("3.0.2", Dialect::Smb302),
                ("3.1.1", Dialect::Smb311),
            ] {
                let args: Vec<&str> =
                    cmd.iter().copied().chain(["--min-smb", v, "--require-encryption"]).collect();
                let cli = parse(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
                let TopLevel::Job(command) = cli.command else { panic!("{args:?}: not a job") };
                let c = command.common();
                assert_eq!((c.min_smb, c.require_encryption), (Some(d), true), "{args:?}");
            }
            for bad in ["2", "3", "3.1", "2.0", "smb3", ""] {
                let args: Vec<&str> = cmd.iter().copied().chain(["--min-smb", bad]).collect();
                assert_eq!(parse(&args).err().map(|e| e.exit_code()), Some(2), "{args:?}");
            }
        }
    }

    /// The Kerberos options of the CLI contract map onto the library's settings.
    #[test]
    fn kerberos_options() {
        for (args, auth) in [
            (&["users", "h", "-U", "a", "-k"][..], AuthMethod::Kerberos),
            (&["users", "h", "-U", "a", "--kerberos"][..], AuthMethod::Kerberos),
            (&["users", "h", "-U", "a", "--auth", "negotiate"][..], AuthMethod::Negotiate),
            (&["users", "h", "-U", "a", "--auth", "ntlm"][..], AuthMethod::Ntlm),
            (&["users", "h", "-U", "a"][..], AuthMethod::Ntlm),
        ] {
            let cli = parse(args).unwrap();
            let TopLevel::Job(command) = cli.command else { panic!("{args:?}: not a job") };
            assert_eq!(command.common().auth_method(), auth, "{args:?}");
        }
        assert!(parse(&["users", "h", "-U", "a", "-k", "--auth", "ntlm"]).is_err());
        assert!(parse(&["users", "h", "-U", "a", "--auth", "basic"]).is_err());
        let cli = parse(&[
            "passwd",
            "dc1.samr.test",
            "bob",
            "-k",
            "--kdc",
            "kdc1:88",
            "--realm",
            "SAMR.TEST",
            "--address",
            "127.0.0.1",
            "--no-anonymous",
        ])
        .unwrap();
        let TopLevel::Job(command) = cli.command else { panic!("not a job") };
        let c = config(command.common(), false);
        assert_eq!(c.kdc.as_deref(), Some("kdc1:88"));
        assert_eq!(c.realm.as_deref(), Some("SAMR.TEST"));
        assert_eq!(c.address.as_deref(), Some("127.0.0.1"));
        for cmd in [
            "passwd h u",
            "reset h u -U a",
            "policy h",
            "users h -U a",
            "doctor h",
            "rotate h -U a --all --out f",
        ] {
            let mut v: Vec<&str> = cmd.split(' ').collect();
            v.extend(["-k", "--kdc", "k", "--realm", "R", "--address", "a"]);
            assert!(parse(&v).is_ok(), "{cmd}");
        }
        assert!(parse(&["passwd", "h", "u", "--anonymous", "--no-anonymous"]).is_err());
    }

    #[test]
    fn transports_parse() {
        assert_eq!(parse_transport("smb"), Ok(Transport::Smb));
        assert_eq!(parse_transport("TCP"), Ok(Transport::Tcp));
        assert_eq!(parse_transport("ncacn_ip_tcp"), Ok(Transport::Tcp));
        assert_eq!(parse_transport("auto"), Ok(Transport::Auto));
        assert!(parse_transport("udp").is_err());
    }

    #[test]
    fn accounts() {
        assert_eq!(
            parse_account("SAMR\\admin", "-U").unwrap(),
            ("admin".into(), Some("SAMR".into()))
        );
        assert_eq!(
            parse_account("admin@samr.test", "-U").unwrap(),
            ("admin".into(), Some("samr.test".into()))
        );
        assert_eq!(parse_account("SAMR\\", "-U").unwrap_err().exit_code(), 2);
        assert_eq!(account_display("a", Some("D")), "D\\a");
        assert_eq!(account_display("a", None), "a");
    }
}
