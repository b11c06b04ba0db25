#!/usr/bin/env bash
# Instructions per request on the success path, per stack, counted by callgrind:
# independent of machine load, so before/after comparisons hold on a busy machine.
#
#   bash benches/callgrind.sh [requests]        # default 20000 per stack
#
# "request thread": instructions of the measured loop on the calling thread (the
# layers, the handler, the body, the request's drop). "other threads": everything
# the background writers did in the whole run, divided by the requests of the run
# (warm-up included), i.e. formatting and writing one log line. `--fair-sched=yes`:
# with valgrind's default lock the log writer can starve until its queue fills,
# and the bench (which expects every call to answer at once) stops.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
bin=$(cargo bench --bench per_request --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*per_request[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the per_request bench" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

sum_threads() { # file prefix, first thread to count
  local total=0
  for f in "$1"-*; do
    local t=${f##*-}
    [ "$((10#$t))" -ge "$2" ] || continue
    total=$((total + $(sed -n 's/^summary: //p' "$f")))
  done
  echo "$total"
}

printf '| stack | request thread (Ir/request) | other threads (Ir/request) |\n|---|---:|---:|\n'
for stack in "bare" "error pages" "w3c log" "full stack" "TraceLayer + fmt"; do
  valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes --toggle-collect='*measured_requests*' \
    --callgrind-out-file="$out/req" "$bin" --only "$stack" "$n" >/dev/null 2>&1
  valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes \
    --callgrind-out-file="$out/all" "$bin" --only "$stack" "$n" >/dev/null 2>&1
  req=$(sum_threads "$out/req" 1)
  # Thread 1 is the caller; the other threads are the two log writers.
  other=$(sum_threads "$out/all" 2)
  printf '| %s | %d | %d |\n' "$stack" $((req / n)) $((other / (n + 1000)))
  rm -f "$out"/*
done
