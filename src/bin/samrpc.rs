//! The `samrpc` command-line tool (placeholder until the CLI issue lands).

fn main() {
    eprintln!(
        "usage: samrpc <passwd|reset|policy|users|doctor> ...\n\
         (the command-line tool is not built yet; see README.md)"
    );
    std::process::exit(2);
}
