#!/usr/bin/env bash
# Repeats the side-by-side in-memory rows and reports medians, because single runs on a small shared VM spread widely (the same
# binary gives 1.6 or 2.7 µs of CPU per task from one run to the next).
#
#   bash tests/AppRuntime.Benchmarks/tools/repeat.sh 10
#       ten runs of `sidebyside --rows bd` (AppRuntime and Wolverine in memory, tracing off and on, in one process each time):
#       per run the rows' tasks/s, B/task and CPU µs/task and the two AppRuntime / Wolverine ratios, then their medians.
#   bash tests/AppRuntime.Benchmarks/tools/repeat.sh 25 /tmp/before/AppRuntime.Benchmarks
#       compares two builds of the harness: 25 rounds, each running row (b) tracing off with the given build, then with this
#       tree's build, and the medians of each (copy bin/Release/net10.0 of the commit before into /tmp/before first).
set -euo pipefail
cd "$(dirname "$0")/../../.."
runs=${1:-10}
other=${2:-}
dotnet build tests/AppRuntime.Benchmarks -c Release >/dev/null
this=tests/AppRuntime.Benchmarks/bin/Release/net10.0/AppRuntime.Benchmarks
out=$(mktemp -d /tmp/appruntime-repeat.XXXXXX)
trap 'rm -rf "$out"' EXIT

row() { # output label -> "tasks/s B/task cpu" of the row whose line contains label
  grep -- "$2" <<<"$1" | grep ' ok ' | head -1 | sed -E 's/.*ok ([0-9,]+) tasks.*alloc ([0-9,]+) B.*cpu ([0-9.]+) .*/\1 \2 \3/' | tr -d ,
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR) printf "%s [%s–%s]", a[int((NR+1)/2)], a[1], a[NR]}'; }

if [ -z "$other" ]; then
  echo "| run | AppRuntime off: tasks/s, B, µs | Wolverine off | AppRuntime on | Wolverine on | off ratio | on ratio |"
  echo "|---:|---|---|---|---|---:|---:|"
  for i in $(seq 1 "$runs"); do
    o=$("$this" sidebyside --rows bd --out "$out/run.md" 2>&1)
    read -r bt bb bc <<<"$(row "$o" 'AppRuntime in-memory, tracing off')"
    read -r dt db dc <<<"$(row "$o" 'Wolverine.*tracing off')"
    read -r nt nb nc <<<"$(row "$o" 'AppRuntime in-memory, tracing on')"
    read -r wt wb wc <<<"$(row "$o" 'Wolverine.*tracing on')"
    off=$(awk "BEGIN {printf \"%.2f\", $bt / $dt}"); on=$(awk "BEGIN {printf \"%.2f\", $nt / $wt}")
    echo "$off $on $bb $bc" >>"$out/ratios"
    echo "| $i | $bt, $bb, $bc | $dt, $db, $dc | $nt, $nb, $nc | $wt, $wb, $wc | $off | $on |"
  done
  echo
  echo "medians [range] over $runs runs: AppRuntime / Wolverine tracing off $(cut -d' ' -f1 "$out/ratios" | median)," \
    "tracing on $(cut -d' ' -f2 "$out/ratios" | median); AppRuntime tracing off B/task $(cut -d' ' -f3 "$out/ratios" | median)," \
    "CPU µs/task $(cut -d' ' -f4 "$out/ratios" | median)"
else
  [ -x "$other" ] || { echo "repeat.sh: $other is not an executable" >&2; exit 1; }
  for i in $(seq 1 "$runs"); do
    for build in other this; do
      exe=$this; [ "$build" = other ] && exe=$other
      read -r t b c <<<"$(row "$("$exe" sidebyside --rows b --tracing off --out "$out/run.md" 2>&1)" 'AppRuntime in-memory, tracing off')"
      echo "$t $b $c" >>"$out/$build"
    done
  done
  for build in other this; do
    label=$build; [ "$build" = other ] && label=$other
    echo "$label: tasks/s $(cut -d' ' -f1 "$out/$build" | median), B/task $(cut -d' ' -f2 "$out/$build" | median)," \
      "CPU µs/task $(cut -d' ' -f3 "$out/$build" | median) ($runs runs, alternated)"
  done
fi
