#!/usr/bin/env bash
# The CLI on every platform (called by tests/run-all.sh; the test servers must be up):
#
#   .ci/platforms.sh            both parts below
#   .ci/platforms.sh cross      cargo clippy (all targets, feature cli, warnings denied) for
#                               Windows (x86_64-pc-windows-gnu) and macOS (aarch64-apple-darwin):
#                               type-checks without those platforms' linkers
#   .ci/platforms.sh static     build the static Linux binary (x86_64-unknown-linux-musl,
#                               release profile), prove it has no dynamic dependencies, and
#                               change a fresh user's password on the AD DC (127.0.0.1) with it;
#                               Samba's rpcclient then proves the new password logs in and
#                               the old one no longer does
#
# Installs the rustup targets it needs. The static binary needs no C toolchain for musl (no
# C code without the `asm` feature); it is left at
# target/x86_64-unknown-linux-musl/release/samrpc.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n==> %s\n' "$*"; }

add_target() {
    rustup target list --installed | grep -qx "$1" || rustup target add "$1"
}

cross() {
    for target in x86_64-pc-windows-gnu aarch64-apple-darwin; do
        step "cargo clippy --target $target --features cli --all-targets (warnings denied)"
        add_target "$target"
        cargo clippy --target "$target" --features cli --all-targets -- -D warnings
    done
}

static_binary() {
    local target=x86_64-unknown-linux-musl
    step "static Linux binary: cargo build --release --target $target --features cli"
    add_target "$target"
    cargo build --release --target "$target" --features cli --bin samrpc
    local bin=target/$target/release/samrpc
    # Statically linked: the ELF has no program interpreter, so ldd finds nothing to load.
    local ldd_out
    ldd_out=$(ldd "$bin" 2>&1 || true)
    if ! grep -Eq 'not a dynamic executable|statically linked' <<<"$ldd_out"; then
        echo "$bin is not static: $ldd_out" >&2
        exit 1
    fi
    echo "$bin: static ($(du -h "$bin" | cut -f1)), $ldd_out"

    step "static Linux binary: samrpc passwd on the AD DC, proven with rpcclient"
    bash tests/samba/samba.sh status >/dev/null || {
        echo "the Samba test servers are not running; start them with 'bash tests/samba/samba.sh up'" >&2
        exit 1
    }
    local user="musl$$$(date +%s | tail -c 5)" old='Old-Musl-Static-1!' new='New-Musl-Static-2!'
    bash tests/samba/samba.sh add-user 127.0.0.1 "$user" "$old" >/dev/null
    local out
    # The secrets on standard input, one per line (never argv or the environment).
    out=$(printf '%s\n%s\n' "$old" "$new" |
        env -u RUST_LOG "$bin" passwd 127.0.0.1 "$user" -d SAMR --iterations 5000 --json)
    echo "$out"
    grep -q '"ok":true' <<<"$out" || { echo "the static binary did not change the password" >&2; exit 1; }
    rpcclient -U "SAMR\\$user%$new" 127.0.0.1 -c getusername | grep -q "Account Name: $user" || {
        echo "$user cannot log in with the new password" >&2
        exit 1
    }
    if rpcclient -U "SAMR\\$user%$old" 127.0.0.1 -c getusername >/dev/null 2>&1; then
        echo "$user still logs in with the old password" >&2
        exit 1
    fi
    echo "static binary changed $user's password on the DC; the new one logs in, the old one does not"
}

case ${1:-all} in
    cross) cross ;;
    static) static_binary ;;
    all) cross; static_binary ;;
    *) sed -n '2,16p' "$0" >&2; exit 2 ;;
esac
