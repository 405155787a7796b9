#!/usr/bin/env bash
# Where a webhook request's CPU goes: one server (the benchmark app, JIT), one wrk run, and the CPU time the server and the
# redis-server on 6397 used over it, per request (from /proc; 1 tick = 10 ms), with the machine's idle time.
#
#   bash tests/AppRuntime.Webhooks.Benchmark/cpu.sh <InMemory|Redis> [duration=15s] [connections=64]
#   AppRuntime__Redis__Prefetch=64 bash tests/AppRuntime.Webhooks.Benchmark/cpu.sh Redis     # settings go in the environment
#   PERF=1 ... : also `perf record -g` of the server for 10 s into artifacts/benchmarks/webhooks/perf.data
#
# Needs the request script of bench.sh (artifacts/benchmarks/webhooks/request.lua: run bench.sh once) and its redis-server.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend=${1:?InMemory or Redis}
duration=${2:-15s}
connections=${3:-64}
out=artifacts/benchmarks/webhooks
lua=$out/request.lua
[ -f "$lua" ] || { echo "cpu.sh: $lua is missing: run tests/AppRuntime.Webhooks.Benchmark/bench.sh once" >&2; exit 1; }
dll=tests/AppRuntime.Webhooks.Benchmark/bin/Release/net10.0/AppRuntime.Webhooks.Benchmark.dll
[ -f "$dll" ] || dotnet build tests/AppRuntime.Webhooks.Benchmark -c Release >/dev/null
port=5610
prefix="webhook-cpu-$(date +%s%N)"
DOTNET_PerfMapEnabled=${PERF:+1} DOTNET_EnableWriteXorExecute=${PERF:+0} \
  dotnet "$dll" webhook --port $port --backend "$backend" --redis 127.0.0.1:6397 --prefix "$prefix" >"$out/cpu.server.log" 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q "^ready" "$out/cpu.server.log" && break; sleep 0.1; done
redis=$(pgrep -f "redis-server.*:6397" | head -1 || true)
ticks() { [ -n "$1" ] && awk '{print $14 + $15}' "/proc/$1/stat" || echo 0; }
idle() { awk '/^cpu / {print $5 + $6}' /proc/stat; }
wrk -t2 -c"$connections" -d5s -s "$lua" "http://127.0.0.1:$port/hooks/bench" -- "warm-$prefix" >/dev/null
s0=$(ticks $server); r0=$(ticks "$redis"); i0=$(idle)
if [ -n "${PERF:-}" ]; then
  perf record -e cpu-clock -F 499 -g -p $server -o "$out/perf.data" -- sleep 10 >/dev/null 2>&1 &
fi
wrk -t2 -c"$connections" -d"$duration" --latency -s "$lua" "http://127.0.0.1:$port/hooks/bench" -- "run-$prefix" >"$out/cpu.wrk.txt" 2>&1
s1=$(ticks $server); r1=$(ticks "$redis"); i1=$(idle)
wait_perf=$(jobs -p | grep -v "^$server$" || true); [ -z "$wait_perf" ] || wait $wait_perf 2>/dev/null || true
kill -TERM $server; wait $server || true
trap - EXIT
requests=$(awk '/requests in/ {print $1}' "$out/cpu.wrk.txt")
awk -v b="$backend" -v rps="$(awk '/^Requests\/sec:/ {print $2}' "$out/cpu.wrk.txt")" -v n="$requests" \
    -v s=$((s1 - s0)) -v r=$((r1 - r0)) -v i=$((i1 - i0)) \
    -v p50="$(awk '$1 == "50%" {print $2}' "$out/cpu.wrk.txt")" -v p99="$(awk '$1 == "99%" {print $2}' "$out/cpu.wrk.txt")" \
    'BEGIN { printf "%s: %s requests/s, p50 %s, p99 %s; CPU per request: server %.1f µs, redis-server %.1f µs; machine idle %.1f s\n", b, rps, p50, p99, s * 10000 / n, r * 10000 / n, i / 100 }'
grep "Non-2xx" "$out/cpu.wrk.txt" || true
if [ "$backend" = Redis ]; then
  redis-cli -p 6397 --scan --pattern "$prefix*" | xargs -r -n 1000 redis-cli -p 6397 del >/dev/null
fi
