#!/usr/bin/env bash
# End-to-end figures through the real binary: bulk import of N generated teachers (client
# and server on this machine) and the reform transition of one county.
# Usage: benches/cli_bench.sh [ROWS]   (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
rows=${1:-1000000}
bin=target/release/teacher-registry
cargo build --release --locked --quiet
work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
port=$((20000 + RANDOM % 20000))
"$bin" generate --count "$rows" --seed 1 > "$work/teachers.csv"
RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" & server=$!
for _ in $(seq 100); do "$bin" stats --server "http://127.0.0.1:$port" >/dev/null 2>&1 && break; sleep 0.1; done

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
start=$(date +%s.%N)
"$bin" import "$work/teachers.csv" --server "http://127.0.0.1:$port" 2>/dev/null | tail -1
end=$(date +%s.%N)
echo "import: $rows rows in $(echo "$end - $start" | bc) s wall"
echo "server peak RSS after import: $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$server/status)"
echo "data directory: $(du -sm "$work/data" | cut -f1) MB; CSV: $(du -sm "$work/teachers.csv" | cut -f1) MB"

county=350702
"$bin" stats --server "http://127.0.0.1:$port" --county $county | sed -n 2p
start=$(date +%s.%N)
"$bin" transition --server "http://127.0.0.1:$port" --county $county \
  --effective-date 2016-09-01 --approval-document "bench" | tail -8
end=$(date +%s.%N)
echo "transition of county $county: $(echo "$end - $start" | bc) s wall"
