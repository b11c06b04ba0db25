#!/usr/bin/env bash
# CPU instructions per request of each server, counted by callgrind: the server
# runs alone in its process (a current-thread runtime, plus the W3C log's writer
# threads for the full stacks) under valgrind; a client in another process sends
# the benches' browser-like GET over keep-alive connections. Each server is run
# twice, with W and W+N requests, and the difference is divided by N, so start-up
# and warm-up cancel out. Independent of the machine's load.
#
#   bash benches/server_cost.sh [N] [kinds...]    # default 4000; every kind
#
# Kinds: hyper, axum, server (the bare handler), full-hyper, full-axum,
# full-server (W3C log to a file -> error pages -> request filtering).
# E2E_CONNECTIONS (default 8) connections; each round sends one request on each.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-4000}"
shift || true
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(hyper axum server full-hyper full-axum full-server)
warm=800
bin=$(cargo bench --features server,axum --bench e2e --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*e2e[^"]*\)".*/\1/p' | tail -1)
[ -x "$bin" ] || { echo "could not build the e2e bench" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Total instructions of a server process that answered $2 requests.
count() {
  local kind=$1 requests=$2
  mkfifo "$out/stdin"
  E2E_SERVE=$kind valgrind --tool=callgrind --separate-threads=yes \
    --callgrind-out-file="$out/cg" "$bin" <"$out/stdin" >"$out/addr" 2>/dev/null &
  local pid=$!
  exec 3>"$out/stdin"
  while [ ! -s "$out/addr" ]; do sleep 0.2; done
  E2E_CLIENT=$(head -1 "$out/addr") E2E_N=$requests "$bin" >/dev/null
  exec 3>&-
  wait "$pid"
  local total=0
  for f in "$out"/cg-*; do
    total=$((total + $(sed -n 's/^summary: //p' "$f")))
  done
  # Thread 1: the runtime (accept, connections, the service); the others: log writers.
  result="$total $(sed -n 's/^summary: //p' "$out"/cg-01)"
  rm -f "$out"/cg-* "$out/addr" "$out/stdin"
}

printf '| server | Ir/request, whole process | Ir/request, runtime thread |\n|---|---:|---:|\n'
for kind in "${kinds[@]}"; do
  count "$kind" "$warm"
  read -r a a1 <<<"$result"
  count "$kind" $((warm + n))
  read -r b b1 <<<"$result"
  printf '| %s | %d | %d |\n' "$kind" $(((b - a) / n)) $(((b1 - a1) / n))
done
