#!/usr/bin/env bash
# Measures the clean release build of klarna-customer-token (default
# features) and of the baseline crate in benches/build-baseline, interleaved,
# RUNS times each (default 3). Prints each run's seconds and crate count.
# Usage: benches/build-cost.sh [RUNS]
set -euo pipefail
runs="${1:-3}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git -C "$root" archive HEAD | tar -x -C "$(mkdir -p "$work/crate" && echo "$work/crate")"
cp -r "$root/benches/build-baseline" "$work/baseline"
cp "$root/Cargo.lock" "$work/crate/Cargo.lock"
measure() { # name dir
    local dir="$2"
    rm -rf "$dir/target"
    local start end crates
    start=$(date +%s.%N)
    crates=$(cd "$dir" && cargo build --release 2>&1 | grep -c '^ *Compiling ')
    end=$(date +%s.%N)
    printf '%-10s %7.1f s %4d crates\n' "$1" "$(echo "$end - $start" | bc)" "$crates"
}
(cd "$work/baseline" && cargo generate-lockfile -q 2>/dev/null || true)
for i in $(seq 1 "$runs"); do
    measure crate "$work/crate"
    measure baseline "$work/baseline"
done
