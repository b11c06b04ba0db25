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
# shellcheck source=support/callgrind.sh
. benches/support/callgrind.sh
callgrind_table "$bin" "$n" case "app alone" "StaticFiles, app route" \
  "StaticFiles (negative cache), app route" "full stack" "IisSite, app route"
