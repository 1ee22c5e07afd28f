#!/usr/bin/env bash
# Times `veche-verify audit` on a generated 1,000,000-entry mirror in a local
# directory (peak RSS with /usr/bin/time -v), against a baseline that only
# reads and hashes the same files (sha256sum over the entry bundles).
#
#   verifier/bench-audit.sh [N_ENTRIES] [DIR]
#
# The mirror is generated once and kept in DIR (default target/bench-mirror-N).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
DIR=${2:-target/bench-mirror-$N}
TIME=/usr/bin/time
[ -x "$TIME" ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 2; }

cargo build --release -p veche-verify --bin veche-verify --example gen_mirror
BIN=target/release/veche-verify
if [ ! -f "$DIR/vkey" ]; then
    rm -rf "$DIR"
    target/release/examples/gen_mirror "$DIR" "$N" > "$DIR.vkey.tmp"
    mv "$DIR.vkey.tmp" "$DIR/vkey"
fi
STATE=$(mktemp -d)
trap 'rm -rf "$STATE"' EXIT

seconds() { grep 'Elapsed (wall clock)' "$1" | sed 's/.*): //' | awk -F: '{ t = 0; for (i = 1; i <= NF; i++) t = t * 60 + $i; print t }'; }

# Warm the page cache so both runs read from memory.
find "$DIR" -type f -exec cat {} + > /dev/null

$TIME -v sh -c "find '$DIR/tile/entries' -type f -print0 | xargs -0 sha256sum > /dev/null" 2> "$STATE/base.txt"
$TIME -v "$BIN" audit --log "$DIR" --vkey "@$DIR/vkey" --state "$STATE/state.json" > "$STATE/out.txt" 2> "$STATE/audit.txt" || {
    cat "$STATE/audit.txt" >&2; exit 1; }

base=$(seconds "$STATE/base.txt")
audit=$(seconds "$STATE/audit.txt")
rss=$(awk '/Maximum resident set size/ { print $NF }' "$STATE/audit.txt")
head -n 2 "$STATE/out.txt"
awk -v n="$N" -v a="$audit" -v b="$base" -v rss="$rss" 'BEGIN {
    printf "audit:    %.2f s, %.0f entries/s, peak RSS %.1f MB\n", a, n / a, rss / 1024
    printf "baseline: %.2f s (sha256sum of every entry bundle)\n", b
    printf "ratio:    audit takes %.2fx the baseline\n", a / b
}'
