#!/usr/bin/env bash
# GetTeacher while a bulk import runs, through the release binary.
#
# Usage: benches/reads_during_import.sh BIN LOAD_EXE BASE.csv MORE.csv
#   BIN       a `teacher-registry` binary (compare two builds by running this once with each)
#   LOAD_EXE  the load benchmark's executable (`cargo bench --bench load --no-run` prints it)
#   BASE.csv  teachers imported first (the ids GetTeacher asks for)
#   MORE.csv  teachers imported while GetTeacher runs
#
# Starts `serve` on a fresh data directory, imports BASE, starts `load get --seconds 12`
# (it learns the registry's ids, then gets for 12 s, then health checks for 12 s), and 5 s
# later imports MORE, so the import covers roughly the second half of the get phase. Prints
# the get rate and latency and the import's own rate.
set -euo pipefail
bin=$1; load=$2; base=$3; more=$4
dir=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
url=http://127.0.0.1:$port
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$dir/data" > "$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
"$load" wait --server "$url" > /dev/null
"$bin" import "$base" --server "$url" > /dev/null
started=$(date +%s.%N)
"$load" get --server "$url" --count 1 --seconds 12 > "$dir/load.out" 2>&1 &
reads=$!
sleep 5
import_from=$(date +%s.%N)
"$bin" import "$more" --server "$url" > "$dir/import.out" 2>&1 &
import=$!
wait $reads
wait $import
ended=$(date +%s.%N)
echo "load $(cut -d' ' -f1-3 /proc/loadavg); import from $(echo "$import_from - $started" | bc) s to $(echo "$ended - $started" | bc) s"
grep -E '^get  ' -A1 "$dir/load.out"
tail -1 "$dir/import.out"
