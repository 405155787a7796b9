#!/usr/bin/env bash
# Issue #22, goal 3: the native AOT Mail Order Bot's start-up against a bare generic host built the same way, measured in one run.
#   bash tests/aot/startup-vs-bare.sh [runs]    # default 15 runs per row; prints a Markdown table (median [min-max])
#   APPRUNTIME_STARTUP_COMPARE=/path/to/other/MailOrderBot bash tests/aot/startup-vs-bare.sh 25
#       adds row (2') for another build of the bot (say, one of the commit before a change), taking turns with the others: on this
#       VM single runs spread by a factor of two, so a change is judged only against a build measured in the same run.
# Rows, all native AOT binaries for linux-x64:
#   (1) bare host (tests/aot/BareHost): Host.CreateApplicationBuilder, one hosted service that handles one channel message and
#       stops the host; process start -> exit;
#   (2) the bot with --once on an empty inbox (Folder source, SQLite store, no control plane): start -> exit after its summary;
#   (3) the bot as a service, start -> ready (the "AppRuntime started" line) with the control plane on an ephemeral port.
# Wall time is bash's EPOCHREALTIME around the process (no extra fork; the same fork/exec overhead for every row); peak RSS is the kernel's high-water
# mark (GNU time's %M for (1) and (2), VmHWM at ready for (3)). The rows take turns, so a change of load touches all alike.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-15}
out=artifacts/aot
[ -x "$out/native/MailOrderBot" ] || bash tests/aot/publish.sh
command -v clang >/dev/null 2>&1 && [ -e /usr/include/zlib.h ] || bash tests/infra/setup.sh
dotnet publish tests/aot/BareHost -c Release -r linux-x64 -o "$out/bare" >"$out/publish-bare.log" 2>&1 \
  || { grep -E "error|warning" "$out/publish-bare.log" | sort -u | head -20; echo "startup-vs-bare.sh: bare host publish failed" >&2; exit 1; }
work=$(mktemp -d /tmp/appruntime-startup-bare.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/inbox" "$work/cwd"
out=$(pwd)/$out
# Every process starts in an empty directory: a generic host's content root is the working directory, and its configuration
# watches that directory for appsettings changes (a big tree, such as a repository with bin/ and obj/, costs the bare host
# 70 ms to 2 s more on this machine). The bot sets its content root to its own directory.
cd "$work/cwd"

us() { # EPOCHREALTIME start end -> microseconds (bash's clock: no fork, unlike date)
  echo $(( ${2/./} - ${1/./} ))
}

run_exit() { # label command... -> appends "ms peak_kb" to $work/label.times
  local label=$1; shift
  local start end
  start=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/$label.rss" "$@" >"$work/$label.log" 2>&1 \
    || { echo "startup-vs-bare.sh: $label failed:" >&2; tail -20 "$work/$label.log" >&2; exit 1; }
  end=$EPOCHREALTIME
  echo "$(us "$start" "$end") $(tail -1 "$work/$label.rss")" >>"$work/$label.times"
}

run_ready() { # label -> appends "ms peak_kb"
  local label=$1 log="$work/$1.log" start now pid hwm
  : >"$log"
  start=$EPOCHREALTIME
  "$out/native/MailOrderBot" --MailOrderBot:Folder:Path="$work/inbox" --MailOrderBot:Store:Path="$work/ready.db" \
    --AppRuntime:ControlPlane:Urls=http://127.0.0.1:0 >"$log" 2>&1 &
  pid=$!
  # Polled without forking (a read of the log per 1 ms), so the figure carries about 1 ms of resolution.
  for _ in $(seq 1 15000); do
    [[ $(<"$log") == *"AppRuntime started"* ]] && break
    sleep 0.001
  done
  now=$EPOCHREALTIME
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  grep -q "AppRuntime started" "$log" || { echo "startup-vs-bare.sh: the bot never became ready; log:" >&2; tail -20 "$log" >&2; exit 1; }
  echo "$(us "$start" "$now") $hwm" >>"$work/$label.times"
}

compare=${APPRUNTIME_STARTUP_COMPARE:-}
[ -z "$compare" ] || [ -x "$compare" ] || { echo "startup-vs-bare.sh: APPRUNTIME_STARTUP_COMPARE=$compare is not an executable" >&2; exit 1; }
bare() { run_exit bare "$out/bare/BareHost"; }
once() { run_exit once "$out/native/MailOrderBot" --once --MailOrderBot:Folder:Path="$work/inbox" --MailOrderBot:Store:Path="$work/once.db"; }
other() { [ -z "$compare" ] || run_exit other "$compare" --once --MailOrderBot:Folder:Path="$work/inbox" --MailOrderBot:Store:Path="$work/other.db"; }

bare; once; other; run_ready ready       # warm the file cache; not counted
: >"$work/bare.times"; : >"$work/once.times"; : >"$work/other.times"; : >"$work/ready.times"
for _ in $(seq 1 "$runs"); do bare; once; other; run_ready ready; done
rows="bare once ready"; [ -z "$compare" ] || rows="bare once other ready"

stats() { # file column -> "median min max"
  cut -d' ' -f"$2" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}'
}
ms() { awk "BEGIN {printf \"%.1f\", $1/1000}"; }
mib() { awk "BEGIN {printf \"%.1f\", $1/1024}"; }
read -r bare_t bare_tmin bare_tmax <<<"$(stats "$work/bare.times" 1)"
read -r bare_m _ _ <<<"$(stats "$work/bare.times" 2)"
printf '| row (native AOT, median of %s [min–max]) | wall time | × bare host | peak RSS | × bare host |\n|---|---:|---:|---:|---:|\n' "$runs"
for row in $rows; do
  read -r t tmin tmax <<<"$(stats "$work/$row.times" 1)"
  read -r m mmin mmax <<<"$(stats "$work/$row.times" 2)"
  case $row in
    bare) label="(1) bare generic host, one channel message, start → exit" ;;
    once) label="(2) Mail Order Bot \`--once\`, empty inbox, start → exit" ;;
    other) label="(2') the same, $compare" ;;
    ready) label="(3) Mail Order Bot, start → ready, control plane on" ;;
  esac
  printf '| %s | %s ms [%s–%s] | %s | %s MiB [%s–%s] | %s |\n' "$label" "$(ms "$t")" "$(ms "$tmin")" "$(ms "$tmax")" \
    "$(awk "BEGIN {printf \"%.2f\", $t/$bare_t}")" "$(mib "$m")" "$(mib "$mmin")" "$(mib "$mmax")" "$(awk "BEGIN {printf \"%.2f\", $m/$bare_m}")"
done
echo
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sizes: bare host $(mib $(( $(stat -c %s "$out/bare/BareHost") / 1024 ))) MiB, bot $(mib $(( $(stat -c %s "$out/native/MailOrderBot") / 1024 ))) MiB"
