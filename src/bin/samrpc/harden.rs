//! Process hardening, done first thing at start-up (issue 15, item 5): secrets must not end
//! up in a core dump, and other processes of the same user must not read this one's memory
//! or environment.
//!
//! * Linux (and Android): `prctl(PR_SET_DUMPABLE, 0)`. A non-dumpable process dumps no core,
//!   and its `/proc/PID/{mem,environ,maps,…}` become owned by root and refuse
//!   `PTRACE_MODE_READ` callers without CAP_SYS_PTRACE, so another process of the same
//!   (non-root) user can neither attach a debugger nor read `/proc/PID/environ` or
//!   `/proc/PID/mem` (`tests/cli_memory.rs` shows both). `/proc/PID/cmdline` stays readable.
//! * Every Unix: `RLIMIT_CORE` 0 (soft and hard), so no core file even where the dumpable flag
//!   does not exist or a core pattern ignores it.
//! * Elsewhere (Windows): nothing here; Windows Error Reporting dumps are a system setting.
//!
//! Everything goes through `rustix`'s safe wrappers: the crate forbids `unsafe`.

/// Apply the hardening; returns a warning for each measure that could not be applied (the
/// run continues: refusing to run would not protect anything already in memory).
pub(crate) fn harden_process() -> Vec<String> {
    #[allow(unused_mut)]
    let mut warnings = Vec::new();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Err(e) =
        rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
    {
        warnings.push(format!("warning: cannot make the process non-dumpable: {e}"));
    }
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, setrlimit};
        let none = Rlimit { current: Some(0), maximum: Some(0) };
        if let Err(e) = setrlimit(Resource::Core, none) {
            warnings.push(format!("warning: cannot disable core dumps (RLIMIT_CORE): {e}"));
        }
    }
    warnings
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn core_limit_is_zero_and_the_process_is_not_dumpable() {
        // The unit-test process is hardened in place: harmless, it is about to exit.
        assert!(harden_process().is_empty());
        let l = rustix::process::getrlimit(rustix::process::Resource::Core);
        assert_eq!((l.current, l.maximum), (Some(0), Some(0)));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        assert_eq!(
            rustix::process::dumpable_behavior().unwrap(),
            rustix::process::DumpableBehavior::NotDumpable
        );
    }
}
