#!/usr/bin/env bash
# Start-up figures of the Mail Order Bot, native AOT vs JIT: time from process start to ready (the runtime's
# "AppRuntime started" log line, written once queues, pools and sources run), RSS at that moment, and size on disk.
#   bash tests/aot/startup.sh [runs]     # default 7 runs each; prints a Markdown table (medians)
# The bot runs its Folder source on an empty inbox with the control plane on an ephemeral port.
# Time is measured with date +%s%N around a 2 ms poll of the log, so figures carry about 2 ms of resolution.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-7}
out=artifacts/aot
[ -x "$out/native/MailOrderBot" ] && [ -f "$out/jit/MailOrderBot.dll" ] || bash tests/aot/publish.sh
work=$(mktemp -d /tmp/appruntime-startup.XXXXXX)
mkdir -p "$work/inbox"

measure() { # flavour -> prints "ms rss_kb"
  local flavour=$1 log="$work/$1.log" pid start now
  : >"$log"
  start=$(date +%s%N)
  if [ "$flavour" = native ]; then
    "$out/native/MailOrderBot" --MailOrderBot:Folder:Path="$work/inbox" --MailOrderBot:Store:Path="$work/$flavour.db" \
      --AppRuntime:ControlPlane:Urls=http://127.0.0.1:0 >"$log" 2>&1 &
  else
    dotnet "$out/jit/MailOrderBot.dll" --MailOrderBot:Folder:Path="$work/inbox" --MailOrderBot:Store:Path="$work/$flavour.db" \
      --AppRuntime:ControlPlane:Urls=http://127.0.0.1:0 >"$log" 2>&1 &
  fi
  pid=$!
  for i in $(seq 1 15000); do
    grep -q "AppRuntime started" "$log" && break
    sleep 0.002
  done
  now=$(date +%s%N)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  grep -q "AppRuntime started" "$log" || { echo "startup.sh: $flavour never became ready; log: $log" >&2; exit 1; }
  echo "$(( (now - start) / 1000000 )) $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for flavour in jit native; do
  measure "$flavour" >/dev/null # warm the file cache once
  : >"$work/$flavour.times"
  for _ in $(seq 1 "$runs"); do measure "$flavour" >>"$work/$flavour.times"; done
done

size_native=$(stat -c %s "$out/native/MailOrderBot")
size_jit=$(du -sb "$out/jit" | cut -f1)
printf '| build | start to ready (median of %s) | RSS at ready | size on disk |\n|---|---:|---:|---:|\n' "$runs"
for flavour in jit native; do
  ms=$(cut -d' ' -f1 "$work/$flavour.times" | median)
  rss=$(cut -d' ' -f2 "$work/$flavour.times" | median)
  size=$size_jit; label="JIT (framework-dependent, publish folder)"
  [ "$flavour" = native ] && { size=$size_native; label="native AOT (single binary)"; }
  printf '| %s | %s ms | %s MiB | %s MiB |\n' "$label" "$ms" "$(awk "BEGIN {printf \"%.1f\", $rss/1024}")" "$(awk "BEGIN {printf \"%.1f\", $size/1048576}")"
done
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
rm -rf "$work"
