//! `samrpc completions SHELL` and `samrpc man`: shell completions (`clap_complete`) and roff
//! manual pages (`clap_mangen`) generated from the same clap definition the parser uses, so
//! they cannot fall out of step with the commands and options.

use clap::{Args, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const COMPLETIONS_LONG: &str = "\
Print a completion script for SHELL on standard output, generated from samrpc's own command
definitions.

  bash:        samrpc completions bash > ~/.local/share/bash-completion/completions/samrpc
  zsh:         samrpc completions zsh > ~/.zfunc/_samrpc   (with fpath+=~/.zfunc before compinit)
  fish:        samrpc completions fish > ~/.config/fish/completions/samrpc.fish
  PowerShell:  samrpc completions powershell >> $PROFILE
  elvish:      samrpc completions elvish >> ~/.config/elvish/rc.elv";

pub(crate) const MAN_LONG: &str = "\
Print the samrpc(1) manual page (roff) on standard output, generated from samrpc's own command
definitions; with --dir, write samrpc.1 and one page per subcommand (samrpc-passwd.1, ...)
into DIR instead.

  samrpc man | man -l -
  samrpc man --dir /usr/local/share/man/man1";

/// The shells `samrpc completions` knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Shell {
    /// GNU bash
    Bash,
    /// Z shell
    Zsh,
    /// fish
    Fish,
    /// PowerShell (Windows PowerShell and pwsh)
    Powershell,
    /// Elvish
    Elvish,
}

impl Shell {
    fn generator(self) -> clap_complete::Shell {
        match self {
            Self::Bash => clap_complete::Shell::Bash,
            Self::Zsh => clap_complete::Shell::Zsh,
            Self::Fish => clap_complete::Shell::Fish,
            Self::Powershell => clap_complete::Shell::PowerShell,
            Self::Elvish => clap_complete::Shell::Elvish,
        }
    }
}

/// `samrpc completions`.
#[derive(Clone, Args)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: Shell,
}

/// `samrpc man`.
#[derive(Clone, Args)]
pub(crate) struct ManArgs {
    /// Write samrpc.1 and samrpc-SUBCOMMAND.1 into DIR (created if missing) instead of
    /// printing samrpc.1
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// The completion script for `shell`, from `cmd` (the CLI's clap definition).
pub(crate) fn completion_script(shell: Shell, mut cmd: clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell.generator(), &mut cmd, "samrpc", &mut out);
    out
}

/// The samrpc(1) page, from `cmd` (the CLI's clap definition).
pub(crate) fn man_page(cmd: clap::Command) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut out)?;
    Ok(out)
}

fn emit(bytes: &[u8]) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        // A closed pipe (`samrpc man | head`) is not worth a message.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            ExitCode::from(3)
        }
    }
}

/// Run `samrpc completions`.
pub(crate) fn completions(a: &CompletionsArgs, cmd: clap::Command) -> ExitCode {
    emit(&completion_script(a.shell, cmd))
}

/// Run `samrpc man`.
pub(crate) fn man(a: &ManArgs, cmd: clap::Command) -> ExitCode {
    let result = match &a.dir {
        None => man_page(cmd).map(|page| emit(&page)),
        Some(dir) => std::fs::create_dir_all(dir)
            .and_then(|()| clap_mangen::generate_to(cmd, dir))
            .map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: cannot write the manual page: {e}");
        ExitCode::from(3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand of the real definition, by name.
    fn subcommands() -> Vec<String> {
        crate::Cli::command().get_subcommands().map(|c| c.get_name().to_owned()).collect()
    }

    #[test]
    fn the_definition_has_the_commands_we_document() {
        let names = subcommands();
        for n in ["passwd", "reset", "policy", "users", "rotate", "doctor", "completions", "man"] {
            assert!(names.iter().any(|s| s == n), "{n} missing from {names:?}");
        }
    }

    #[test]
    fn every_completion_script_names_every_subcommand() {
        for shell in Shell::value_variants() {
            let script =
                String::from_utf8(completion_script(*shell, crate::Cli::command())).unwrap();
            assert!(script.len() > 500, "{shell:?}: {script}");
            for name in subcommands() {
                assert!(script.contains(&name), "{shell:?} completion lacks {name}:\n{script}");
            }
            // Options of a subcommand are completed too.
            assert!(script.contains("iterations"), "{shell:?}: no --iterations");
            assert!(script.contains("must-change"), "{shell:?}: no --must-change");
        }
    }

    #[test]
    fn the_man_page_is_roff_and_names_every_subcommand() {
        let page = String::from_utf8(man_page(crate::Cli::command()).unwrap()).unwrap();
        assert!(page.starts_with(".ie \\n(.g .ds Aq"), "not roff: {}", &page[..80]);
        assert!(page.contains(".TH samrpc 1"), "{page}");
        assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"), "{page}");
        for name in subcommands() {
            assert!(page.contains(&name), "the man page lacks {name}:\n{page}");
        }
    }

    #[test]
    fn man_dir_writes_one_page_per_subcommand() {
        let dir = std::env::temp_dir().join(format!("samrpc-man-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let code = man(&ManArgs { dir: Some(dir.clone()) }, crate::Cli::command());
        assert_eq!(code, ExitCode::SUCCESS);
        assert!(dir.join("samrpc.1").is_file());
        for name in subcommands() {
            let page = std::fs::read_to_string(dir.join(format!("samrpc-{name}.1"))).unwrap();
            assert!(page.contains(&format!(".TH samrpc-{name} 1")), "{page}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
