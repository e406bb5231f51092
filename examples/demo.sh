#!/usr/bin/env bash
# The main job, end to end, on this machine: bring up the local test AD DC (installing Samba
# if needed), create a demo user, change its password with `samrpc passwd` (AES,
# SamrUnicodeChangePasswordUser4), prove the new password logs in and the old one does not,
# then reset it with `samrpc reset` as the domain Administrator and prove that too.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
if ! command -v cargo >/dev/null 2>&1 && [[ -f $HOME/.cargo/env ]]; then . "$HOME/.cargo/env"; fi

say "bringing up the local test servers (tests/samba/samba.sh up)"
bash tests/samba/samba.sh up >/dev/null
state=${SAMRPC_SAMBA_DIR:-/tmp/samrpc-samba}

say "building samrpc"
cargo build --quiet --release --features cli
samrpc=target/release/samrpc

user=demo$RANDOM
old='Demo-Old-Pass-1!'
new='Demo-New-Pass-2!'
reset='Demo-Reset-Pass-3!'

say "creating user SAMR\\$user on the AD DC (127.0.0.1)"
bash tests/samba/samba.sh add-user dc "$user" "$old"

say "samrpc passwd 127.0.0.1 $user   (old and new password on stdin)"
printf '%s\n%s\n' "$old" "$new" | "$samrpc" passwd 127.0.0.1 "$user"

say "proving the new password logs in (rpcclient getusername)"
bash tests/samba/samba.sh check-login dc "$user" "$new"
if bash tests/samba/samba.sh check-login dc "$user" "$old" >/dev/null 2>&1; then
    echo "the old password still works: the change did not happen" >&2; exit 1
fi
echo "the old password is rejected"

say "samrpc reset 127.0.0.1 $user -U 'SAMR\\Administrator'   (admin and new password on stdin)"
printf '%s\n%s\n' "$(cat "$state/admin-password")" "$reset" | "$samrpc" reset 127.0.0.1 "$user" -U 'SAMR\Administrator'

say "proving the reset password logs in"
bash tests/samba/samba.sh check-login dc "$user" "$reset"

say "done: changed with SamrUnicodeChangePasswordUser4 and reset with SamrSetInformationUser2 level 31, both proven by logging in"
