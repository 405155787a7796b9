#!/usr/bin/env bash
# The whole test suite on a fresh machine, in one command:
#   bash tests/run-all.sh
# It installs the Debian packages the tests need, starts the real servers the integration tests talk to
# (redis-server, Dovecot and PostgreSQL on 127.0.0.1; Chromium for the dashboard test; aiosmtpd for the SMTP tests), builds the solution, runs every test project and ends with a line
# "N passed, N failed". Extra arguments go to `dotnet test` (for example --filter "Category!=Integration").
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out="$root/artifacts/test-results"
rm -rf "$out" && mkdir -p "$out"

bash tests/infra/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }
for server in tests/infra/redis.sh tests/infra/dovecot.sh tests/infra/postgres.sh tests/infra/chromium.sh tests/infra/smtp.sh; do
  if [ -f "$server" ]; then
    bash "$server" start || { echo "could not start $server"; echo "0 passed, 1 failed"; exit 1; }
  fi
done

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# One prerelease version per run (0.1.0-ci.<time>.<pid>): the packages tests/template/e2e.sh packs from this build can never be
# confused with packages of an earlier run still in a NuGet cache.
export APPRUNTIME_VERSION_SUFFIX="${APPRUNTIME_VERSION_SUFFIX:-ci.$(date -u +%Y%m%d%H%M%S).$$}"
dotnet build AppRuntime.sln -c Release -p:VersionSuffix="$APPRUNTIME_VERSION_SUFFIX" >"$out/build.log" 2>&1
build_status=$?
grep -E ": (warning|error) " "$out/build.log" | sed 's/ \[.*//' | sort -u | head -50
grep -E "Warning\(s\)|Error\(s\)|Time Elapsed" "$out/build.log" | tail -3
if [ "$build_status" -ne 0 ]; then
  echo "build failed (see $out/build.log)"
  echo "0 passed, 1 failed"
  exit 1
fi

dotnet test AppRuntime.sln -c Release --no-build --logger "trx" --results-directory "$out" "$@" 2>&1 | tee "$out/test.log"
status=${PIPESTATUS[0]}

# Sum the per-assembly summaries ("Passed!  - Failed: 0, Passed: 96, Skipped: 0, Total: 96").
read -r passed failed skipped < <(grep -E "^(Passed|Failed)! +- Failed:" "$out/test.log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
assemblies=$(grep -cE "^(Passed|Failed)! +- Failed:" "$out/test.log" || true)

# Native AOT end to end: publish the Mail Order Bot as JIT and as native AOT (0 warnings), run both through the
# same scenarios and compare (tests/aot/e2e.sh). Its checks count like tests.
if [ "${APPRUNTIME_SKIP_AOT:-0}" != "1" ]; then
  bash tests/aot/publish.sh 2>&1 | tail -5 && bash tests/aot/e2e.sh 2>&1 | tee "$out/aot-e2e.log"
  aot_line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$out/aot-e2e.log" | tail -1)
  if [ -z "$aot_line" ]; then
    aot_line="0 passed, 1 failed"
    echo "aot: publish or e2e did not complete (see $root/artifacts/aot/*.log)"
  fi
  passed=$((passed + ${aot_line%% passed*}))
  aot_failed=${aot_line#*passed, }
  failed=$((failed + ${aot_failed%% failed*}))
fi
# Build your own service (tests/template/e2e.sh): pack this build to a local feed, install the template, create a service outside the
# repository, build it with 0 warnings, run its tests, run it until idle, publish it as native AOT and run the binary. Its checks count
# like tests.
if [ "${APPRUNTIME_SKIP_TEMPLATE:-0}" != "1" ]; then
  bash tests/template/e2e.sh --no-build 2>&1 | tee "$out/template-e2e.log"
  template_line=$(grep -E "^[0-9]+ passed, [0-9]+ failed$" "$out/template-e2e.log" | tail -1)
  if [ -z "$template_line" ]; then
    template_line="0 passed, 1 failed"
    echo "template: e2e did not complete (see $root/artifacts/template-e2e/)"
  fi
  passed=$((passed + ${template_line%% passed*}))
  template_failed=${template_line#*passed, }
  failed=$((failed + ${template_failed%% failed*}))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1   # a test host crashed or a project did not run: never report green
fi
if [ "$skipped" -ne 0 ]; then
  echo "skipped tests are not allowed in CI ($skipped skipped)"
  failed=$((failed + skipped))
fi
echo "test assemblies: $assemblies, skipped: $skipped"
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
