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
# full-server (W3C log to a file -> error pages -> request filtering); nginx and
# nginx-log (Debian's nginx, one process, `return 200` with the same body, the
# access log off or `combined` to a file with `buffer=64k`), when installed.
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

nginx_bin=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)

# nginx in the foreground, one process, on 127.0.0.1:$2 (access log off unless $1).
nginx_conf() {
  local log="access_log off;"
  [ "$1" = nginx-log ] && log="access_log $out/access.log combined buffer=64k;"
  cat <<CONF
daemon off; master_process off; worker_processes 1;
pid $out/nginx.pid; error_log $out/error.log;
events { worker_connections 1024; }
http {
  $log
  keepalive_requests 1000000;
  client_body_temp_path $out/body; proxy_temp_path $out/proxy;
  server { listen 127.0.0.1:$2;
    location / { default_type text/plain; return 200 "Hello, world!\n"; } }
}
CONF
}

# Total instructions of nginx answering $2 requests.
count_nginx() {
  local kind=$1 requests=$2 port=$((20000 + RANDOM % 20000))
  nginx_conf "$kind" "$port" >"$out/nginx.conf"
  valgrind --tool=callgrind --callgrind-out-file="$out/cg" "$nginx_bin" -p "$out" \
    -c "$out/nginx.conf" 2>/dev/null &
  local pid=$!
  until E2E_CLIENT=127.0.0.1:$port E2E_N=1 E2E_CONNECTIONS=1 "$bin" 2>/dev/null; do sleep 0.3; done
  E2E_CLIENT=127.0.0.1:$port E2E_N=$requests "$bin" >/dev/null
  kill -TERM "$pid"
  wait "$pid" || true
  result="$(sed -n 's/^summary: //p' "$out/cg") $(sed -n 's/^summary: //p' "$out/cg")"
  rm -f "$out"/cg* "$out/access.log"
}

# Total instructions of a server process that answered $2 requests.
count() {
  local kind=$1 requests=$2
  case $kind in nginx*)
    [ -n "$nginx_bin" ] || { echo "nginx not installed: $kind skipped" >&2; result="0 0"; return; }
    count_nginx "$kind" "$((requests - 1))"; return;;
  esac
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
