#!/usr/bin/env bash
# Instructions per request on the success path, per stack, counted by callgrind:
# independent of machine load, so before/after comparisons hold on a busy machine.
#
#   bash benches/callgrind.sh [requests]        # default 20000 per stack
#
# "request thread": instructions of the measured loop on the calling thread (the
# layers, the handler, the body, the request's drop). "other threads": everything
# the background writers did in the whole run, divided by the requests of the run
# (warm-up included), i.e. formatting and writing one log line. The counting is
# in benches/support/callgrind.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
bin=$(cargo bench --bench per_request --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*per_request[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the per_request bench" >&2; exit 1; }
# shellcheck source=support/callgrind.sh
. benches/support/callgrind.sh
callgrind_table "$bin" "$n" stack "bare" "error pages" "w3c log" "full stack" "TraceLayer + fmt"
