#!/usr/bin/env bash
# Issue 9: the registry's speed and size against its limits, at several sizes, through the
# release binary in its own process (so its memory can be read from /proc) and the load
# benchmark's --server mode. For each N: generate N teachers, import them into a fresh data
# directory, stop the server; then restart `serve` on that directory and measure cold start
# (RUNS times, with the data files in the OS page cache and again with them evicted), GetTeacher
# against health Check, ListTeachers by county (RUNS runs each), the server's VmRSS and
# VmHWM, and the data directory's size against an export of the same registry as JSON Lines.
#
# Usage: benches/scale.sh [N ...]           (default: 10000 100000 1000000)
# Environment: RUNS (3), SECONDS_PER_PHASE (10), CACHE_MB (128, the server default: sled's cache), WORK (a new
# temporary directory; data directories are deleted at the end unless KEEP=1).
#
# The binaries are built once and copied aside (with their sha256 printed), and the load
# benchmark is run as the executable `cargo bench --bench load --no-run` builds: the same
# program as `cargo bench --bench load -- ...`, without cargo rebuilding it half-way through
# because someone edited src/ meanwhile.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
runs=${RUNS:-3}
seconds=${SECONDS_PER_PHASE:-10}
cache_mb=${CACHE_MB:-128}
work=${WORK:-$(mktemp -d /tmp/scale.XXXXXX)}
mkdir -p "$work"

cargo build --release --locked --quiet
load_exe=$(cargo bench --locked --bench load --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\)).*/\1/p' | tail -1)
[ -x "$load_exe" ] || { echo "cannot find the load benchmark executable" >&2; exit 1; }
cp target/release/teacher-registry "$work/teacher-registry"
cp "$load_exe" "$work/load"
bin=$work/teacher-registry
load=$work/load

server=
stop_server() {
  if [ -n "$server" ] && kill -0 "$server" 2>/dev/null; then
    kill -TERM "$server"
    wait "$server" 2>/dev/null || true
  fi
  server=
}
cleanup() {
  stop_server
  [ "${KEEP:-0}" = 1 ] || rm -rf "$work"/data-* "$work"/*.csv "$work"/*.jsonl "$work/teacher-registry" "$work/load"
}
trap cleanup EXIT

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
log() { echo "## $* (load $(loadavg))"; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
mib() { awk -v k="$1" 'BEGIN {printf "%.0f", k/1024}'; }
vm() { awk -v f="$1:" '$1 == f {print $2}' "/proc/$2/status"; }  # kB

# Starts `serve` on a data directory in the background; sets $server and $url.
start_server() {
  local dir=$1
  port=$((20000 + RANDOM % 20000))
  url=http://127.0.0.1:$port
  RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$dir" \
    --cache-mb "$cache_mb" --disk-reserve-mb 0 2>>"$work/server.log" &
  server=$!
}

# Evicts a directory's files from the OS page cache (only those files; nothing else).
evict() {
  python3 - "$1" <<'EOF'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for name in files:
        fd = os.open(os.path.join(root, name), os.O_RDONLY)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
EOF
}

echo "machine: nproc $(nproc), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo), Linux $(uname -r), load $(loadavg)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ' + uncommitted changes in src/')"
echo "teacher-registry sha256 $(sha256sum "$bin" | cut -c1-16), load bench sha256 $(sha256sum "$load" | cut -c1-16)"
echo "work: $work on $(df -hT "$work" | awk 'NR==2 {print $2", "$5" free"}'); sled cache $cache_mb MB; $runs runs, $seconds s phases"

summary=()
for n in "${sizes[@]}"; do
  dir=$work/data-$n
  rm -rf "$dir"
  out=$work/out-$n
  mkdir -p "$out"
  : >"$out/cold-first"
  : >"$out/cold-warm"
  : >"$out/cold-evicted"

  log "N=$n: generate and import"
  "$bin" generate --count "$n" --seed 1 >"$work/teachers-$n.csv"
  start_server "$dir"
  "$load" wait --server "$url" | grep '^wait'
  start=$(date +%s.%N)
  "$bin" import "$work/teachers-$n.csv" --server "$url" 2>/dev/null | tail -1
  end=$(date +%s.%N)
  echo "import: $n rows in $(echo "$end - $start" | bc) s; server VmHWM $(mib "$(vm VmHWM "$server")") MiB"
  stop_server
  echo "data directory after import: $(du -sb "$dir" | cut -f1) bytes"

  # Cold start: spawn `serve` on the existing directory, time until health says SERVING.
  for cache in warm evicted; do
    for r in $(seq "$runs"); do
      [ "$cache" = evicted ] && evict "$dir"
      t0=$(date +%s%N)
      start_server "$dir"
      line=$("$load" wait --server "$url" --since-unix-ns "$t0" --timeout 120 | grep '^wait')
      echo "cold start ($cache page cache) $r: $line; VmRSS $(mib "$(vm VmRSS "$server")") MiB; load $(loadavg)"
      # The first start after the import replays the log written since the server started
      # (sled 0.34 snapshots only when it opens): it is reported on its own.
      kind=$cache
      [ "$cache" = warm ] && [ "$r" = 1 ] && kind=first
      echo "$line" | sed -n 's/.*SERVING after \([0-9.]*\) s.*/\1/p' >>"$out/cold-$kind"
      if [ "$r" != "$runs" ] || [ "$cache" != evicted ]; then stop_server; fi
    done
  done

  # Reads, on the server started last.
  log "N=$n: reads, server pid $server"
  for r in $(seq "$runs"); do
    "$load" get --server "$url" --server-pid "$server" --seconds "$seconds" | tee "$out/get-$r"
    "$load" list --server "$url" --server-pid "$server" --seconds "$seconds" | tee "$out/list-$r"
  done
  rss=$(vm VmRSS "$server")
  hwm=$(vm VmHWM "$server")
  echo "server after reads: VmRSS $(mib "$rss") MiB, VmHWM $(mib "$hwm") MiB"

  log "N=$n: export"
  "$bin" export "$work/export-$n.jsonl" --server "$url" 2>/dev/null
  stop_server
  dir_bytes=$(du -sb "$dir" | cut -f1)
  jsonl_bytes=$(stat -c %s "$work/export-$n.jsonl")
  csv_bytes=$(stat -c %s "$work/teachers-$n.csv")
  echo "sizes: data directory $dir_bytes bytes, JSON Lines $jsonl_bytes bytes, CSV $csv_bytes bytes"
  ls -l "$dir"

  for f in get list; do
    cat "$out"/$f-* >"$out/$f-all"
  done
  field() { awk -v p="$1" '$1 == p && /ok,/ {print $(NF-1)}' "$out/$2-all" | median; }
  quant() { awk -v p="$1" '$1 == p && /ok,/ {getline; print $'"$3"'}' "$out/$2-all" | median; }
  get_rate=$(field get get)
  health_rate=$(field health get)
  ratio=$(awk '/^ratio/ {print $3}' "$out/get-all" | median)
  get_p99=$(quant get get 9)
  health_p99=$(quant health get 9)
  list_rate=$(field list list)
  list_p99=$(quant list list 9)
  peak_reads=$(grep -h 'VmRSS at most' "$out"/get-all "$out"/list-all | awk '{print $6}' | sort -g | tail -1)
  cold_first=$(cat "$out/cold-first")
  cold_warm=$(median <"$out/cold-warm")
  cold_evicted=$(median <"$out/cold-evicted")
  row="| $n | $get_rate | $health_rate | $ratio | $get_p99 | $health_p99 | $list_rate | $list_p99 | $cold_first | $cold_warm | $cold_evicted | $peak_reads | $(mib "$hwm") | $dir_bytes | $jsonl_bytes | $(awk -v d="$dir_bytes" -v j="$jsonl_bytes" 'BEGIN {printf "%.2f", d/j}') |"
  echo "$row"
  summary+=("$row")
  [ "${KEEP:-0}" = 1 ] || rm -rf "$dir" "$work/teachers-$n.csv" "$work/export-$n.jsonl"
done

echo
echo "Medians of $runs runs (sled cache $cache_mb MB); rates per second, latencies ms, cold start s, memory MiB, sizes bytes"
echo "| N | gets/s | checks/s | get/health | get p99 | health p99 | list pages/s | list p99 | first start after import | cold start (cached) | cold start (evicted) | VmRSS max during reads | VmHWM | data dir | JSON Lines | dir/JSONL |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
echo "load at end: $(loadavg)"
