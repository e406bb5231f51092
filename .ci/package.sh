#!/usr/bin/env bash
# The published package (called by tests/run-all.sh): `cargo package` builds it from the file
# list in Cargo.toml (`include`) and compiles it on its own; this script then fails if the
# package holds anything that should not ship (fuzzing, benches, CI scripts, integration
# tests: under tests/ only the unit tests' vectors in tests/vectors) or grows past 1 MiB
# compressed.
set -euo pipefail
cd "$(dirname "$0")/.."
printf '\n==> %s\n' "cargo package (contents and size)"
list=$(cargo package --list --allow-dirty)
unexpected=$(grep -Ev '^(src/.*\.rs|examples/[a-z0-9_]+\.rs|tests/vectors/.+|README\.md|CHANGELOG\.md|SECURITY\.md|ARCHITECTURE\.md|Cargo\.(toml|toml\.orig|lock)|\.cargo_vcs_info\.json)$' <<<"$list" || true)
if [[ -n $unexpected ]]; then
    echo "files in the package that should not ship (adjust include in Cargo.toml):" >&2
    echo "$unexpected" >&2
    exit 1
fi
for required in src/lib.rs src/bin/samrpc/main.rs README.md CHANGELOG.md; do
    grep -qx "$required" <<<"$list" || { echo "the package lacks $required" >&2; exit 1; }
done
cargo package --allow-dirty --quiet
crate=$(ls -t target/package/samrpc-*.crate | head -1)
size=$(stat -c %s "$crate")
echo "$crate: $(wc -l <<<"$list") files, $((size / 1024)) KiB compressed"
(( size < 1024 * 1024 )) || { echo "the package is over 1 MiB" >&2; exit 1; }
