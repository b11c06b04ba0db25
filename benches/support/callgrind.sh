# Shared by benches/callgrind.sh and benches/callgrind_site.sh (sourced, not run).
#
# callgrind_table BIN N HEADER CASE...: one row per case, the instructions per
# request of the measured loop on the calling thread ("request thread") and of
# everything the other threads did in the whole run, divided by the requests of
# the run, warm-up (1000) included ("other threads"). `--fair-sched=yes`: with
# valgrind's default lock a log writer can starve until its queue fills, and the
# bench (which expects every call to answer at once) stops.

sum_threads() { # file prefix, first thread to count
  local total=0
  for f in "$1"-*; do
    local t=${f##*-}
    [ "$((10#$t))" -ge "$2" ] || continue
    total=$((total + $(sed -n 's/^summary: //p' "$f")))
  done
  echo "$total"
}

callgrind_table() {
  local bin=$1 n=$2 header=$3
  shift 3
  local out
  out=$(mktemp -d)
  printf '| %s | request thread (Ir/request) | other threads (Ir/request) |\n|---|---:|---:|\n' "$header"
  for case in "$@"; do
    valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes --toggle-collect='*measured_requests*' \
      --callgrind-out-file="$out/req" "$bin" --only "$case" "$n" >/dev/null 2>&1
    valgrind --tool=callgrind --fair-sched=yes --separate-threads=yes \
      --callgrind-out-file="$out/all" "$bin" --only "$case" "$n" >/dev/null 2>&1
    # Thread 1 is the caller.
    local req other
    req=$(sum_threads "$out/req" 1)
    other=$(sum_threads "$out/all" 2)
    printf '| %s | %d | %d |\n' "$case" $((req / n)) $((other / (n + 1000)))
    rm -f "$out"/*
  done
  rm -rf "$out"
}
