#!/usr/bin/env bash
# Instructions per request of an IisSite whose application answers (a path naming
# no file or folder), next to the application alone, counted by callgrind:
# independent of machine load.
#
#   bash benches/callgrind_site.sh [requests]        # default 20000 per case
#   SITE_BENCH=path/to/site-binary bash benches/callgrind_site.sh   # a binary built before
#
# "request thread": the measured loop on the calling thread (the layers, the
# static files' decision, the handler, the body). "other threads": everything the
# other threads did in the whole run (the log writers, tokio's blocking pool when a
# design asks the file system on it), divided by the requests of the run (warm-up
# included).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-20000}"
bin=${SITE_BENCH:-}
[ -n "$bin" ] || bin=$(cargo bench --features site --bench site --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*\/site-[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the site bench" >&2; exit 1; }
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

printf '| case | request thread (Ir/request) | other threads (Ir/request) |\n|---|---:|---:|\n'
for case in "app alone" "StaticFiles, app route" "StaticFiles (negative cache), app route" "full stack" "IisSite, app route"; do
  valgrind --tool=callgrind --separate-threads=yes --toggle-collect='*measured_requests*' \
    --callgrind-out-file="$out/req" "$bin" --only "$case" "$n" >/dev/null 2>&1
  valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$out/all" "$bin" --only "$case" "$n" >/dev/null 2>&1
  req=$(sum_threads "$out/req" 1)
  other=$(sum_threads "$out/all" 2)
  printf '| %s | %d | %d |\n' "$case" $((req / n)) $((other / (n + 1000)))
  rm -f "$out"/*
done
