#!/bin/bash
# Instructions per call of one side, deterministic (valgrind's callgrind):
# the paired example's `only` mode at 10 and at 30 blocks of 3 x IN_FLIGHT
# calls, the difference divided by the calls between them, so start-up
# cancels out. The bench server's work for each call is included (the same
# for both sides).
#
# Usage: benches/instructions.sh PAIRED_BINARY facade|raw create|read [IN_FLIGHT]
#   e.g. cargo build --release -p klarna-customer-token-benches --example paired
#        benches/instructions.sh target/release/examples/paired facade read
set -euo pipefail
bin=$1; side=$2; op=$3; in_flight=${4:-64}
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" only "$side" "$op" "$1" "$in_flight" 2>&1 >/dev/null |
    awk '/I +refs/ {gsub(",", "", $NF); print $NF}'
}
low=$(count 10)
high=$(count 30)
echo "$side $op: $(( (high - low) / (20 * 3 * in_flight) )) instructions per call"
