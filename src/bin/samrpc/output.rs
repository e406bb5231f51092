//! What a run prints: one JSON object (`--json`) or lines for people, built from one
//! [`Report`]. Results go to standard output; errors, hints and warnings to standard error.

use samrpc::api::{
    DoctorReport, DoctorStep, Outcome, PasswordPolicy, SessionSummary, UserEntry, UserState,
    Verdict,
};
use samrpc::session::RpcTransportKind;
use samrpc::{Advice, Error, ErrorKind};
use serde_json::{Map, Value, json};
use std::io::Write;

/// Everything one run reports.
#[derive(Debug)]
pub(crate) struct Report {
    /// `passwd`, `reset`, `policy`, `users` or `doctor`.
    pub(crate) operation: &'static str,
    /// The HOST argument.
    pub(crate) server: String,
    /// The account the operation is about (passwd/reset USER, policy/doctor --user).
    pub(crate) user: Option<String>,
    /// Who authenticates (`DOMAIN\NAME`), if anyone.
    pub(crate) account: Option<String>,
    /// Whether it succeeded.
    pub(crate) ok: bool,
    /// The SAMR method that did the work.
    pub(crate) method: Option<&'static str>,
    /// The NTSTATUS symbol.
    pub(crate) status: Option<String>,
    /// `authenticated` or `anonymous`.
    pub(crate) session: Option<&'static str>,
    /// What the SMB session negotiated, when known.
    pub(crate) summary: Option<SessionSummary>,
    /// PBKDF2 iterations used.
    pub(crate) iterations: Option<u64>,
    /// Operation-specific JSON fields (`policy`, `users`, `steps`, …).
    pub(crate) extra: Map<String, Value>,
    /// Lines for standard output (human mode).
    pub(crate) lines: Vec<String>,
    /// The failure, with the line that says what did not happen and the hint to show.
    pub(crate) failure: Option<Failure>,
    /// The exit code.
    pub(crate) exit: i32,
}

/// A failed run.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The error.
    pub(crate) error: Error,
    /// What did not happen ("Password for bob on dc1 was not changed."), if worth saying.
    pub(crate) headline: Option<String>,
    /// The hint shown: the error's own, or a generic one for its kind.
    pub(crate) hint: Option<String>,
}

impl Report {
    /// An empty, successful report.
    pub(crate) fn new(operation: &'static str, server: &str) -> Self {
        Self {
            operation,
            server: server.to_owned(),
            user: None,
            account: None,
            ok: true,
            method: None,
            status: None,
            session: None,
            summary: None,
            iterations: None,
            extra: Map::new(),
            lines: Vec::new(),
            failure: None,
            exit: 0,
        }
    }

    /// Record a successful change or reset.
    pub(crate) fn outcome(&mut self, outcome: &Outcome) {
        self.method = Some(outcome.method.name());
        self.status = Some(outcome.status.symbol());
        self.iterations = outcome.iterations;
        self.session_summary(&outcome.session);
    }

    /// Record the session a result came over.
    pub(crate) fn session_summary(&mut self, s: &SessionSummary) {
        self.session = Some(s.kind.name());
        self.summary = Some(s.clone());
    }

    /// Record a failure. `fallback_hint` is used when the error carries no hint; the
    /// flag-level advice for the error's [`Advice`] follows the hint.
    pub(crate) fn fail(
        &mut self,
        error: Error,
        headline: Option<String>,
        fallback_hint: Option<String>,
    ) {
        self.ok = false;
        self.exit = error.exit_code();
        if let Some(s) = error.status() {
            self.status = Some(s.symbol());
        }
        let mut parts: Vec<String> =
            error.hint().map(str::to_owned).or(fallback_hint).into_iter().collect();
        parts.extend(
            error.advice().iter().filter_map(|a| cli_advice(a, self.operation, &self.server)),
        );
        let hint = if parts.is_empty() { None } else { Some(parts.join(" ")) };
        self.failure = Some(Failure { error, headline, hint });
    }

    /// The one JSON object for `--json`.
    pub(crate) fn to_json(&self) -> Value {
        let mut o = Map::new();
        o.insert("ok".into(), json!(self.ok));
        o.insert("operation".into(), json!(self.operation));
        o.insert("server".into(), json!(self.server));
        o.insert("user".into(), json!(self.user));
        o.insert("account".into(), json!(self.account));
        o.insert("method".into(), json!(self.method));
        o.insert("status".into(), json!(self.status));
        o.insert("session".into(), json!(self.session));
        o.insert(
            "auth".into(),
            json!(
                self.summary
                    .as_ref()
                    .map(|s| s.auth)
                    .or(self.session.filter(|s| *s == "anonymous"))
            ),
        );
        // A kpasswd change (RFC 3244, to the KDC) uses neither SAMR transport.
        let samr = self.method != Some("kpasswd");
        o.insert(
            "transport".into(),
            json!(self.summary.as_ref().filter(|_| samr).map(|s| s.transport.name())),
        );
        o.insert(
            "dialect".into(),
            json!(self.summary.as_ref().and_then(|s| s.dialect).map(|d| d.to_string())),
        );
        o.insert("signing".into(), json!(self.summary.as_ref().map(|s| s.signing)));
        o.insert("encryption".into(), json!(self.summary.as_ref().map(|s| s.encryption)));
        if let Some(n) = self.iterations {
            o.insert("iterations".into(), json!(n));
        }
        for (k, v) in &self.extra {
            o.insert(k.clone(), v.clone());
        }
        if let Some(f) = &self.failure {
            let e = &f.error;
            let mut err = Map::new();
            err.insert("kind".into(), json!(e.kind_name()));
            err.insert("message".into(), json!(e.message()));
            err.insert("hint".into(), json!(f.hint));
            err.insert(
                "advice".into(),
                Value::Array(e.advice().iter().map(|a| json!(advice_name(a))).collect()),
            );
            if let Some(r) = e.password_rules() {
                err.insert(
                    "password_rules".into(),
                    json!({
                        "min_length": r.min_length,
                        "complexity": r.complexity(),
                        "properties": r.properties,
                        "property_names": property_names(r.properties),
                    }),
                );
            }
            for a in e.advice() {
                if let Advice::LockoutDuration(d) = a {
                    err.insert("lockout_duration_secs".into(), json!(d));
                }
            }
            err.insert("operation".into(), json!(e.operation().to_string()));
            if let Some(s) = e.status() {
                err.insert("status".into(), json!(s.symbol()));
            }
            if let Some(fault) = e.rpc_fault() {
                err.insert("fault".into(), json!(fault.symbol()));
            }
            o.insert("error".into(), Value::Object(err));
        }
        Value::Object(o)
    }

    /// Print the report: JSON on standard output, or lines for people (results on standard
    /// output, the failure and its hint on standard error).
    pub(crate) fn print(&self, json: bool) {
        if json {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", self.to_json());
            let _ = out.flush();
            return;
        }
        {
            let mut out = std::io::stdout().lock();
            for l in &self.lines {
                let _ = writeln!(out, "{l}");
            }
            let _ = out.flush();
        }
        if let Some(f) = &self.failure {
            let mut err = std::io::stderr().lock();
            match &f.headline {
                Some(h) => {
                    let _ = writeln!(err, "error: {h}");
                    let _ = writeln!(err, "  {}", f.error.message());
                }
                None => {
                    let _ = writeln!(err, "error: {}", f.error.message());
                }
            }
            if let Some(h) = &f.hint {
                let _ = writeln!(err, "hint: {h}");
            }
        }
    }
}

/// The stable JSON name of a piece of advice (`error.advice`).
pub(crate) fn advice_name(a: &Advice) -> &'static str {
    match a {
        Advice::GiveDomain => "give_domain",
        Advice::Authenticate => "authenticate",
        Advice::AllowRc4 => "allow_rc4",
        Advice::ChangeAnonymously => "change_anonymously",
        Advice::ReadPolicy => "read_policy",
        Advice::PasswordRules(_) => "password_rules",
        Advice::LockoutDuration(_) => "lockout_duration",
        Advice::CheckPort(_) => "check_port",
        Advice::RaiseTimeout => "raise_timeout",
        Advice::Diagnose => "diagnose",
        Advice::VerifyNewPassword => "verify_new_password",
        Advice::UseKerberos => "use_kerberos",
        Advice::UseTcpTransport => "use_tcp_transport",
        _ => "other",
    }
}

/// The library's [`Advice`] in this command line's terms (its flags and subcommands), for the
/// `operation` being run; `None` where the library's hint already says all there is (data such
/// as the password rules) or where this command line has no option for it yet.
pub(crate) fn cli_advice(a: &Advice, operation: &str, host: &str) -> Option<String> {
    // The subcommands with --allow-rc4.
    let changes = matches!(operation, "passwd" | "reset");
    Some(match a {
        Advice::GiveDomain if operation == "passwd" => "Give the domain with -d DOMAIN (or USER as DOMAIN\\USER).".to_owned(),
        Advice::GiveDomain => "Give the domain in -U DOMAIN\\NAME.".to_owned(),
        Advice::Authenticate if operation == "passwd" => "Leave out --anonymous so that samrpc logs on as the user.".to_owned(),
        Advice::Authenticate => "Give credentials with -U [DOMAIN\\]NAME.".to_owned(),
        Advice::AllowRc4 if changes => "--allow-rc4 allows the legacy RC4 method (weaker: prefer updating the server).".to_owned(),
        Advice::ChangeAnonymously if operation == "passwd" => "samrpc passwd retries over an anonymous session by itself when the logon says the password must change; --anonymous uses one from the start.".to_owned(),
        Advice::ChangeAnonymously => format!("Change the password with `samrpc passwd {host} USER` (it retries over an anonymous session by itself)."),
        Advice::ReadPolicy if operation != "policy" => format!("`samrpc policy {host}` shows the rules."),
        Advice::CheckPort(p) => format!("If the server listens elsewhere, give the port with --port (this run used {p})."),
        Advice::RaiseTimeout => "Allow more time with --timeout SECS.".to_owned(),
        Advice::Diagnose if operation != "doctor" => format!("`samrpc doctor {host}` checks each step."),
        Advice::VerifyNewPassword => format!(
            "To find out, log on with the new password, for example `samrpc policy {host} -U DOMAIN\\USER` or `rpcclient -U 'DOMAIN\\USER' {host} -c getusername`."
        ),
        // Data the library's hint already states, and advice this command line has no option
        // for yet (Kerberos, the TCP transport): the hint alone speaks.
        _ => return None,
    })
}

/// A hint for errors that carry none, by kind.
pub(crate) fn fallback_hint(error: &Error, host: &str, port: u16) -> Option<String> {
    match error.kind() {
        ErrorKind::Network => Some(format!(
            "Check that {host} is reachable on TCP port {port} (SMB) and that no firewall blocks \
             it; `samrpc doctor {host}` checks each step."
        )),
        ErrorKind::Timeout => Some(format!(
            "{host}:{port} did not answer in time; check the network path, or allow more time \
             with --timeout SECS."
        )),
        ErrorKind::OutcomeUnknown => Some(
            "The request was sent but the answer was lost: the password may or may not have \
             changed. Log in with the new password to find out before retrying."
                .to_owned(),
        ),
        _ => None,
    }
}

/// "SamrUnicodeChangePasswordUser4, anonymous session, SMB 3.1.1, signed".
pub(crate) fn describe_outcome(o: &Outcome) -> String {
    format!("{}, {}", o.method.name(), describe_session(&o.session))
}

/// "anonymous session, SMB 3.1.1, signed".
pub(crate) fn describe_session(s: &SessionSummary) -> String {
    let mut parts = vec![if s.auth == "kerberos" {
        format!("{} session (Kerberos)", s.kind.name())
    } else {
        format!("{} session", s.kind.name())
    }];
    if let Some(d) = s.dialect {
        parts.push(format!("SMB {d}"));
    }
    if s.transport == RpcTransportKind::Tcp {
        parts.push("ncacn_ip_tcp".to_owned());
    }
    if s.signing {
        parts.push("signed".to_owned());
    }
    if s.encryption {
        parts.push("encrypted".to_owned());
    }
    if !s.signing && !s.encryption {
        parts.push("unsigned".to_owned());
    }
    parts.join(", ")
}

/// [MS-SAMR] 2.2.1.12 USER_ACCOUNT codes.
const UAC_NAMES: &[(u32, &str)] = &[
    (0x0000_0001, "ACCOUNT_DISABLED"),
    (0x0000_0002, "HOME_DIRECTORY_REQUIRED"),
    (0x0000_0004, "PASSWORD_NOT_REQUIRED"),
    (0x0000_0008, "TEMP_DUPLICATE_ACCOUNT"),
    (0x0000_0010, "NORMAL_ACCOUNT"),
    (0x0000_0020, "MNS_LOGON_ACCOUNT"),
    (0x0000_0040, "INTERDOMAIN_TRUST_ACCOUNT"),
    (0x0000_0080, "WORKSTATION_TRUST_ACCOUNT"),
    (0x0000_0100, "SERVER_TRUST_ACCOUNT"),
    (0x0000_0200, "DONT_EXPIRE_PASSWORD"),
    (0x0000_0400, "ACCOUNT_AUTO_LOCKED"),
    (0x0000_0800, "ENCRYPTED_TEXT_PASSWORD_ALLOWED"),
    (0x0000_1000, "SMARTCARD_REQUIRED"),
    (0x0000_2000, "TRUSTED_FOR_DELEGATION"),
    (0x0000_4000, "NOT_DELEGATED"),
    (0x0000_8000, "USE_DES_KEY_ONLY"),
    (0x0001_0000, "DONT_REQUIRE_PREAUTH"),
    (0x0002_0000, "PASSWORD_EXPIRED"),
    (0x0004_0000, "TRUSTED_TO_AUTHENTICATE_FOR_DELEGATION"),
    (0x0008_0000, "NO_AUTH_DATA_REQUIRED"),
    (0x0010_0000, "PARTIAL_SECRETS_ACCOUNT"),
    (0x0020_0000, "USE_AES_KEYS"),
];

/// PasswordProperties bits (protocol-notes section 3).
const PROPERTY_NAMES: &[(u32, &str)] = &[
    (0x01, "DOMAIN_PASSWORD_COMPLEX"),
    (0x02, "DOMAIN_PASSWORD_NO_ANON_CHANGE"),
    (0x04, "DOMAIN_PASSWORD_NO_CLEAR_CHANGE"),
    (0x08, "DOMAIN_LOCKOUT_ADMINS"),
    (0x10, "DOMAIN_PASSWORD_STORE_CLEARTEXT"),
    (0x20, "DOMAIN_REFUSE_PASSWORD_CHANGE"),
];

fn flag_names(bits: u32, table: &[(u32, &'static str)]) -> Vec<String> {
    let mut names: Vec<String> =
        table.iter().filter(|(b, _)| bits & b != 0).map(|(_, n)| (*n).to_owned()).collect();
    let known = table.iter().fold(0u32, |acc, (b, _)| acc | b);
    if bits & !known != 0 {
        names.push(format!("0x{:08X}", bits & !known));
    }
    names
}

/// The names of the user-account-control bits set in `uac`.
pub(crate) fn uac_names(uac: u32) -> Vec<String> {
    flag_names(uac, UAC_NAMES)
}

/// The names of the PasswordProperties bits set in `props`.
pub(crate) fn property_names(props: u32) -> Vec<String> {
    flag_names(props, PROPERTY_NAMES)
}

/// Seconds between 1601-01-01 and 1970-01-01.
const FILETIME_UNIX_OFFSET_SECS: u64 = 11_644_473_600;

/// A FILETIME as `YYYY-MM-DDTHH:MM:SSZ`; `None` for 0 (never) and for the "never" maximum.
pub(crate) fn filetime_iso(ft: u64) -> Option<String> {
    if ft == 0 || ft >= i64::MAX as u64 {
        return None;
    }
    let secs = ft / 10_000_000;
    let unix = secs.checked_sub(FILETIME_UNIX_OFFSET_SECS)?;
    let days = unix / 86_400;
    let rem = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    ))
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (the well-known era-based conversion; all values non-negative here).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// A duration for people: "42 d", "1 h 30 min", "0 s".
pub(crate) fn human_duration(secs: u64) -> String {
    if secs == 0 {
        return "0 s".to_owned();
    }
    let mut parts = Vec::new();
    let (d, h, m, s) = (secs / 86_400, (secs % 86_400) / 3600, (secs % 3600) / 60, secs % 60);
    if d > 0 {
        parts.push(format!("{d} d"));
    }
    if h > 0 {
        parts.push(format!("{h} h"));
    }
    if m > 0 {
        parts.push(format!("{m} min"));
    }
    if s > 0 {
        parts.push(format!("{s} s"));
    }
    parts.join(" ")
}

/// The `policy` JSON object.
pub(crate) fn policy_json(p: &PasswordPolicy) -> Value {
    json!({
        "min_length": p.min_length,
        "history_length": p.history_length,
        "complexity": p.complexity(),
        "properties": p.properties,
        "property_names": property_names(p.properties),
        "min_age_secs": p.min_age_secs,
        "max_age_secs": p.max_age_secs,
        "lockout_threshold": p.lockout_threshold,
        "lockout_duration_secs": p.lockout_duration_secs,
        "lockout_window_secs": p.lockout_window_secs,
    })
}

/// The policy for people.
pub(crate) fn policy_lines(p: &PasswordPolicy) -> Vec<String> {
    let mut v = vec![
        format!("  minimum length:     {}", p.min_length),
        format!(
            "  complexity:         {}",
            if p.complexity() { "required" } else { "not required" }
        ),
        format!("  history:            {} passwords", p.history_length),
        format!(
            "  minimum age:        {}",
            if p.min_age_secs == 0 { "none".to_owned() } else { human_duration(p.min_age_secs) }
        ),
        format!(
            "  maximum age:        {}",
            p.max_age_secs.map_or_else(|| "never expires".to_owned(), human_duration)
        ),
        format!(
            "  lockout threshold:  {}",
            if p.lockout_threshold == 0 {
                "never locks out".to_owned()
            } else {
                format!("{} failed logons", p.lockout_threshold)
            }
        ),
    ];
    if p.lockout_threshold != 0 {
        v.push(format!(
            "  lockout duration:   {}",
            p.lockout_duration_secs
                .map_or_else(|| "until an administrator unlocks".to_owned(), human_duration)
        ));
        v.push(format!("  lockout window:     {}", human_duration(p.lockout_window_secs)));
    }
    let names = property_names(p.properties);
    v.push(format!(
        "  properties:         0x{:08X}{}",
        p.properties,
        if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) }
    ));
    if p.no_anonymous_change() {
        v.push("  note: anonymous password changes are refused (expired passwords cannot be changed remotely)".to_owned());
    }
    if p.refuse_password_change() {
        v.push("  note: password changes are refused by policy".to_owned());
    }
    v
}

/// The `user_state` JSON object.
pub(crate) fn user_state_json(u: &UserState) -> Value {
    json!({
        "name": u.name,
        "rid": u.rid,
        "password_last_set": filetime_iso(u.password_last_set),
        "password_last_set_filetime": u.password_last_set,
        "password_must_change": filetime_iso(u.password_must_change),
        "password_must_change_filetime": u.password_must_change,
        "account_control": u.account_control,
        "account_control_names": uac_names(u.account_control),
        "bad_password_count": u.bad_password_count,
    })
}

/// A user's state for people.
pub(crate) fn user_state_lines(u: &UserState) -> Vec<String> {
    let names = uac_names(u.account_control);
    vec![
        format!("User {} (RID {}):", u.name, u.rid),
        format!(
            "  password last set:    {}",
            filetime_iso(u.password_last_set)
                .unwrap_or_else(|| "never (must change at next logon)".to_owned())
        ),
        format!(
            "  password must change: {}",
            filetime_iso(u.password_must_change).unwrap_or_else(|| "never".to_owned())
        ),
        format!("  account control:      0x{:08X} ({})", u.account_control, names.join(", ")),
        format!("  bad password count:   {}", u.bad_password_count),
    ]
}

/// The `users` JSON array.
pub(crate) fn users_json(users: &[UserEntry]) -> Value {
    Value::Array(
        users
            .iter()
            .map(|u| {
                json!({
                    "name": u.name,
                    "rid": u.rid,
                    "account_control": u.account_control,
                    "account_control_names": uac_names(u.account_control),
                })
            })
            .collect(),
    )
}

/// The users as a table.
pub(crate) fn users_lines(users: &[UserEntry]) -> Vec<String> {
    let width = users.iter().map(|u| u.name.chars().count()).max().unwrap_or(4).max(4);
    let mut v = vec![format!("{:<width$}  {:>8}  FLAGS", "NAME", "RID")];
    for u in users {
        v.push(format!(
            "{:<width$}  {:>8}  {}",
            u.name,
            u.rid,
            uac_names(u.account_control).join(",")
        ));
    }
    v
}

/// The `steps` JSON array.
pub(crate) fn steps_json(steps: &[DoctorStep]) -> Value {
    Value::Array(
        steps
            .iter()
            .map(|s| json!({ "name": s.name, "ok": s.ok, "found": s.found, "hint": s.hint }))
            .collect(),
    )
}

/// The `verdicts` JSON object: `{"passwd": {"possible": true|false|null, "reason": …}, "reset": …}`.
pub(crate) fn verdicts_json(r: &DoctorReport) -> Value {
    let v = |v: &Verdict| json!({ "possible": v.possible, "reason": v.reason });
    json!({ "passwd": v(&r.passwd), "reset": v(&r.reset) })
}

/// The verdicts for people: `passwd: possible (…)`, `reset: not checked (…)`.
pub(crate) fn verdict_lines(r: &DoctorReport) -> Vec<String> {
    let line = |name: &str, v: &Verdict| {
        let word = match v.possible {
            Some(true) => "possible",
            Some(false) => "not possible",
            None => "not checked",
        };
        format!("{name}: {word} ({})", v.reason)
    };
    vec![line("passwd", &r.passwd), line("reset", &r.reset)]
}

/// The doctor's checklist: `✓ name: found`, `✗ name: found` and its hint.
pub(crate) fn steps_lines(steps: &[DoctorStep]) -> Vec<String> {
    let mut v = Vec::new();
    for s in steps {
        v.push(format!("{} {}: {}", if s.ok { "✓" } else { "✗" }, s.name, s.found));
        if !s.ok {
            if let Some(h) = &s.hint {
                v.push(format!("    hint: {h}"));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use samrpc::api::{Method, SessionKind};
    use samrpc::{NtStatus, Operation};

    fn summary(kind: SessionKind, signing: bool, encryption: bool) -> SessionSummary {
        SessionSummary::new(kind, samrpc::session::Dialect::Smb311, signing, encryption)
    }

    #[test]
    fn outcome_line_matches_the_contract() {
        let o = Outcome::new(
            Method::ChangeUser4,
            NtStatus::STATUS_SUCCESS,
            summary(SessionKind::Anonymous, true, false),
            Some(23533),
        );
        assert_eq!(
            describe_outcome(&o),
            "SamrUnicodeChangePasswordUser4, anonymous session, SMB 3.1.1, signed"
        );
        assert_eq!(
            describe_session(&summary(SessionKind::Authenticated, true, true)),
            "authenticated session, SMB 3.1.1, signed, encrypted"
        );
        assert_eq!(
            describe_session(&summary(SessionKind::Anonymous, false, false)),
            "anonymous session, SMB 3.1.1, unsigned"
        );
    }

    #[test]
    fn json_on_success_has_the_contract_fields() {
        let mut r = Report::new("passwd", "dc1");
        r.user = Some("bob".into());
        r.outcome(&Outcome::new(
            Method::ChangeUser4,
            NtStatus::STATUS_SUCCESS,
            summary(SessionKind::Anonymous, false, true),
            Some(23533),
        ));
        let v = r.to_json();
        assert_eq!(v["ok"], true);
        assert_eq!(v["operation"], "passwd");
        assert_eq!(v["server"], "dc1");
        assert_eq!(v["user"], "bob");
        assert_eq!(v["method"], "SamrUnicodeChangePasswordUser4");
        assert_eq!(v["status"], "STATUS_SUCCESS");
        assert_eq!(v["session"], "anonymous");
        assert_eq!(v["dialect"], "3.1.1");
        assert_eq!(v["signing"], false);
        assert_eq!(v["encryption"], true);
        assert_eq!(v["iterations"], 23533);
        assert!(v.get("error").is_none());
    }

    #[test]
    fn json_on_failure_carries_kind_message_hint_and_status() {
        let mut r = Report::new("passwd", "dc1");
        let e = Error::refused(
            Operation::Call("SamrUnicodeChangePasswordUser4"),
            NtStatus::STATUS_WRONG_PASSWORD,
        );
        r.fail(e, Some("Password for bob on dc1 was not changed.".into()), None);
        assert_eq!(r.exit, 1);
        let v = r.to_json();
        assert_eq!(v["ok"], false);
        assert_eq!(v["status"], "STATUS_WRONG_PASSWORD");
        assert_eq!(v["error"]["kind"], "wrong_password");
        assert_eq!(v["error"]["status"], "STATUS_WRONG_PASSWORD");
        assert!(v["error"]["message"].as_str().unwrap().contains("STATUS_WRONG_PASSWORD"));
        assert!(v["error"]["hint"].as_str().unwrap().contains("account"));
        assert!(v.get("iterations").is_none());
        for k in ["method", "session", "dialect", "signing", "encryption"] {
            assert!(v.get(k).is_some(), "{k}");
        }
    }

    #[test]
    fn transport_in_json_and_description() {
        let mut r = Report::new("policy", "h");
        r.session_summary(&summary(SessionKind::Authenticated, true, true));
        assert_eq!(r.to_json()["transport"], "ncacn_np");
        let tcp = SessionSummary::new(SessionKind::Authenticated, None, true, true)
            .with_transport(RpcTransportKind::Tcp);
        r.session_summary(&tcp);
        assert_eq!(r.to_json()["transport"], "ncacn_ip_tcp");
        assert_eq!(
            describe_session(&tcp),
            "authenticated session, ncacn_ip_tcp, signed, encrypted"
        );
        // A kpasswd change went to the KDC: no SAMR transport to name.
        r.method = Some("kpasswd");
        assert_eq!(r.to_json()["transport"], serde_json::Value::Null);
    }

    #[test]
    fn wrong_password_at_the_logon_is_json_kind_wrong_password_with_flag_advice() {
        let mut r = Report::new("passwd", "dc1");
        let e = Error::refused(Operation::SessionSetup, NtStatus::STATUS_LOGON_FAILURE)
            .with_credentials_used(samrpc::CredentialsUsed::TargetAccount);
        r.fail(e, None, None);
        let v = r.to_json();
        assert_eq!(v["error"]["kind"], "wrong_password");
        assert_eq!(v["error"]["status"], "STATUS_LOGON_FAILURE");
        assert_eq!(v["error"]["advice"][0], "give_domain");
        let hint = v["error"]["hint"].as_str().unwrap();
        assert!(hint.contains("-d DOMAIN"), "{hint}");
        assert!(hint.contains("computer name"), "{hint}");
        // reset names the domain in -U instead.
        let mut r = Report::new("reset", "dc1");
        r.fail(Error::refused(Operation::SessionSetup, NtStatus::STATUS_LOGON_FAILURE), None, None);
        let v = r.to_json();
        assert_eq!(
            v["error"]["kind"], "server_refused",
            "an admin's failed logon is not the target's"
        );
        assert!(v["error"]["hint"].as_str().unwrap().contains("-U DOMAIN\\NAME"), "{v}");
    }

    #[test]
    fn structured_advice_becomes_flags_and_json_fields() {
        let e = Error::refused(
            Operation::Call("SamrUnicodeChangePasswordUser4"),
            NtStatus::STATUS_PASSWORD_RESTRICTION,
        )
        .with_advice(Advice::PasswordRules(samrpc::PasswordRules::new(7, 1)));
        let mut r = Report::new("passwd", "dc1");
        r.fail(e, None, None);
        let v = r.to_json();
        assert_eq!(v["error"]["password_rules"]["min_length"], 7);
        assert_eq!(v["error"]["password_rules"]["complexity"], true);
        assert!(v["error"]["hint"].as_str().unwrap().contains("`samrpc policy dc1`"), "{v}");
        // Each flag-level sentence, per subcommand.
        assert!(cli_advice(&Advice::AllowRc4, "reset", "h").unwrap().contains("--allow-rc4"));
        assert!(cli_advice(&Advice::AllowRc4, "policy", "h").is_none());
        assert!(
            cli_advice(&Advice::AllowRc4, "rotate", "h").is_none(),
            "rotate has no --allow-rc4"
        );
        assert!(cli_advice(&Advice::ReadPolicy, "policy", "h").is_none());
        assert!(
            cli_advice(&Advice::CheckPort(1445), "users", "h")
                .unwrap()
                .contains("--port (this run used 1445)")
        );
        assert!(cli_advice(&Advice::RaiseTimeout, "users", "h").unwrap().contains("--timeout"));
        assert!(
            cli_advice(&Advice::ChangeAnonymously, "passwd", "h").unwrap().contains("--anonymous")
        );
        assert!(cli_advice(&Advice::Authenticate, "policy", "h").unwrap().contains("-U"));
        assert!(
            cli_advice(&Advice::VerifyNewPassword, "passwd", "h").unwrap().contains("rpcclient")
        );
        let mut r = Report::new("passwd", "dc1");
        r.fail(
            Error::refused(Operation::SessionSetup, NtStatus::STATUS_ACCOUNT_LOCKED_OUT)
                .with_advice(Advice::LockoutDuration(Some(1800))),
            None,
            None,
        );
        assert_eq!(r.to_json()["error"]["lockout_duration_secs"], 1800);
    }

    #[test]
    fn fallback_hints_by_kind() {
        let e = Error::new(ErrorKind::OutcomeUnknown, Operation::Close, "lost");
        assert!(fallback_hint(&e, "h", 445).unwrap().contains("may or may not"));
        let e = Error::new(ErrorKind::Network, Operation::Connect, "refused");
        assert!(fallback_hint(&e, "h", 1).unwrap().contains("port 1"));
        let mut r = Report::new("reset", "h");
        r.fail(e, None, Some("generic".into()));
        assert_eq!(r.exit, 3);
        assert_eq!(r.to_json()["error"]["hint"], "generic");
    }

    #[test]
    fn filetimes() {
        // 2021-07-13T00:00:00Z = unix 1626134400 → FILETIME (1626134400 + 11644473600) * 10^7.
        let ft = (1_626_134_400u64 + FILETIME_UNIX_OFFSET_SECS) * 10_000_000;
        assert_eq!(filetime_iso(ft).as_deref(), Some("2021-07-13T00:00:00Z"));
        // 1970-01-01 and 2000-02-29T12:34:56Z (leap day).
        assert_eq!(
            filetime_iso(FILETIME_UNIX_OFFSET_SECS * 10_000_000).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        let ft = (951_827_696u64 + FILETIME_UNIX_OFFSET_SECS) * 10_000_000;
        assert_eq!(filetime_iso(ft).as_deref(), Some("2000-02-29T12:34:56Z"));
        assert_eq!(filetime_iso(0), None);
        assert_eq!(filetime_iso(i64::MAX as u64), None);
        assert_eq!(filetime_iso(u64::MAX), None);
        assert_eq!(filetime_iso(1), None);
    }

    #[test]
    fn flags_and_durations() {
        assert_eq!(uac_names(0x210), vec!["NORMAL_ACCOUNT", "DONT_EXPIRE_PASSWORD"]);
        assert_eq!(
            uac_names(0x8000_0001),
            vec!["ACCOUNT_DISABLED".to_owned(), "0x80000000".to_owned()]
        );
        assert_eq!(
            property_names(0x21),
            vec!["DOMAIN_PASSWORD_COMPLEX", "DOMAIN_REFUSE_PASSWORD_CHANGE"]
        );
        assert_eq!(human_duration(0), "0 s");
        assert_eq!(human_duration(42 * 86_400), "42 d");
        assert_eq!(human_duration(5400), "1 h 30 min");
    }

    #[test]
    fn doctor_checklist() {
        let steps = vec![
            DoctorStep::new("TCP 445", true, "connected", None),
            DoctorStep::new("SAMR bind", false, "access denied", Some("ask an admin".into())),
        ];
        assert_eq!(
            steps_lines(&steps),
            vec!["✓ TCP 445: connected", "✗ SAMR bind: access denied", "    hint: ask an admin"]
        );
        let v = steps_json(&steps);
        assert_eq!(v[1]["ok"], false);
        assert_eq!(v[1]["hint"], "ask an admin");
        assert_eq!(v[0]["hint"], Value::Null);
    }
}
