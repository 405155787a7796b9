#!/usr/bin/env bash
# "Build your own service", as a .NET team new to AppRuntime would, from this repository's packages only:
#   1. pack every package into a local folder feed (artifacts/packages), with a prerelease version unique to this run, so a NuGet
#      cache that holds AppRuntime packages of an earlier run can never serve them;
#   2. install the template from that feed and create a new service outside the repository;
#   3. build it with 0 warnings, run its tests, run it until idle (--once), publish it as native AOT with 0 warnings and run the
#      binary; the other template options (--source imap --queue redis) build and pass their tests too; a broken copy of the
#      service fails its build with the generator's diagnostics (the generator and the buildTransitive props ship in the packages).
# Restores need no network beyond the NuGet mirror: AppRuntime.* come from the local feed only (package source mapping), the
# rest from nuget.org as configured on this machine.
# Prints one PASS/FAIL line per check and ends with "N passed, N failed".
#   bash tests/template/e2e.sh              # packs (and builds) everything itself
#   APPRUNTIME_VERSION_SUFFIX=ci.1 bash tests/template/e2e.sh --no-build   # packs what `dotnet build AppRuntime.sln -c Release -p:VersionSuffix=ci.1` built
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
started=$(date +%s)
suffix=${APPRUNTIME_VERSION_SUFFIX:-ci.$(date -u +%Y%m%d%H%M%S).$$}
prefix=$(sed -n 's:.*<VersionPrefix>\(.*\)</VersionPrefix>.*:\1:p' Directory.Build.props | head -1)
version="$prefix-$suffix"
feed="$root/artifacts/packages"
work=$(mktemp -d /tmp/appruntime-new-service.XXXXXX)
logs="$root/artifacts/template-e2e"
rm -rf "$feed" "$logs" && mkdir -p "$feed" "$logs"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
passed=0
failed=0
check() { # name, status (0 = ok), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}
finish() {
  # This run's packages leave the NuGet cache again (only this run's version), and the new service's folder goes.
  for dir in "$HOME"/.nuget/packages/appruntime.*/"$version"; do [ -d "$dir" ] && rm -rf "$dir"; done
  [ "$failed" -eq 0 ] && rm -rf "$work"
  local kept=""; [ "$failed" -ne 0 ] && kept=", service in $work"
  echo "template e2e: version $version, $(( $(date +%s) - started )) s, logs in $logs$kept"
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}
warnings() { grep -E ": warning [A-Z]+[0-9]+" "$1" | sed 's/ \[.*//' | sort -u; }

# 1. Pack.
nobuild=""; [ "${1:-}" = "--no-build" ] && nobuild="--no-build"
dotnet pack AppRuntime.sln -c Release $nobuild -o "$feed" -p:VersionSuffix="$suffix" >"$logs/pack.log" 2>&1
code=$?
check "pack every package to the local feed (version $version)" "$code" "exit $code, see $logs/pack.log"
[ "$code" -eq 0 ] || finish
expected="AppRuntime.Abstractions AppRuntime.Core AppRuntime.Redis AppRuntime.Mail AppRuntime.ControlPlane AppRuntime.OpenTelemetry AppRuntime.Configuration.Database AppRuntime.Configuration.Sqlite AppRuntime.Configuration.PostgreSql AppRuntime.Testing AppRuntime.Templates"
problems=""
for id in $expected; do
  nupkg="$feed/$id.$version.nupkg"
  if [ ! -f "$nupkg" ]; then problems+=" $id: missing;"; continue; fi
  listing=$(unzip -l "$nupkg")
  nuspec=$(unzip -p "$nupkg" "$id.nuspec")
  for entry in LICENSE README.md; do grep -q " $entry\$" <<<"$listing" || problems+=" $id: no $entry;"; done
  grep -q '<license type="expression">MIT</license>' <<<"$nuspec" || problems+=" $id: no license expression;"
  grep -q '<projectUrl>' <<<"$nuspec" || problems+=" $id: no project URL;"
  grep -qE '<repository type="git" url="https://[^"]+"[^>]* commit="[0-9a-f]{40}"' <<<"$nuspec" || problems+=" $id: no repository URL and commit;"
  if [ "$id" != AppRuntime.Templates ]; then
    [ -f "$feed/$id.$version.snupkg" ] || problems+=" $id: no .snupkg;"
    grep -q 'id="AppRuntime.Generators"' <<<"$nuspec" && problems+=" $id: depends on the generator;"
  fi
done
# Listings are read whole into variables before grep looks at them: `unzip -l | grep -q` under pipefail fails at random,
# because grep -q quits at its first match and unzip, which writes each name unbuffered, then dies of SIGPIPE (108 in 500 here).
# (grep -c reads to the end, so the count below may stay a pipe.)
generators=$(for f in "$feed"/*.nupkg; do unzip -l "$f" | grep -c "AppRuntime.Generators.dll"; done | awk '{s+=$1} END {print s+0}')
abstractions=$(unzip -l "$feed/AppRuntime.Abstractions.$version.nupkg")
core_nuspec=$(unzip -p "$feed/AppRuntime.Core.$version.nupkg" AppRuntime.Core.nuspec)
grep -q " analyzers/dotnet/cs/AppRuntime.Generators.dll\$" <<<"$abstractions" || problems+=" the generator is not in AppRuntime.Abstractions under analyzers/dotnet/cs;"
[ "$generators" = 1 ] || problems+=" the generator ships $generators times;"
grep -q " buildTransitive/AppRuntime.Abstractions.props\$" <<<"$abstractions" || problems+=" no buildTransitive props;"
grep -q "id=\"AppRuntime.Abstractions\" version=\"$version\" include=\"All\"" <<<"$core_nuspec" \
  || problems+=" AppRuntime.Core's dependency on Abstractions does not carry its analyzers;"
[ -z "$problems" ]
check "each package has license, project and repository URL with commit, README, symbols; the generator ships once, in AppRuntime.Abstractions" $? "$problems"

# 2. A NuGet configuration for code outside the repository: AppRuntime.* only from the local feed.
cat >"$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="appruntime-local" value="$feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
  <packageSourceMapping>
    <packageSource key="appruntime-local"><package pattern="AppRuntime.*" /></packageSource>
    <packageSource key="nuget.org"><package pattern="*" /></packageSource>
  </packageSourceMapping>
</configuration>
XML
cli_home="$work/dotnet-home"   # the template is installed for this run only
DOTNET_CLI_HOME="$cli_home" dotnet new install "$feed/AppRuntime.Templates.$version.nupkg" >"$logs/new-install.log" 2>&1
code=$?
[ "$code" -eq 0 ] && grep -q "appruntime-service" "$logs/new-install.log" && ! grep -q "^Error" "$logs/new-install.log"
check "dotnet new install AppRuntime.Templates" $? "exit $code, see $logs/new-install.log"
(cd "$work" && DOTNET_CLI_HOME="$cli_home" dotnet new appruntime-service -n Acme.Restock) >"$logs/new.log" 2>&1
code=$?
svc="$work/Acme.Restock"
[ "$code" -eq 0 ] && [ -f "$svc/src/Acme.Restock/Acme.Restock.csproj" ] && [ -f "$svc/tests/Acme.Restock.Tests/Acme.Restock.Tests.csproj" ] \
  && grep -q "Version>$version<" "$svc/Directory.Build.props" && ! grep -rqE "Company|Service1|APPRUNTIME_VERSION|#if|#endif" "$svc" --include=*.cs --include=*.csproj --include=*.json --include=*.props
check "dotnet new appruntime-service -n Acme.Restock (outside the repository, AppRuntime $version)" $? "exit $code, see $logs/new.log"
[ -d "$svc" ] || finish

# 3. Build, test, run until idle, publish native AOT, run the binary.
(cd "$svc" && dotnet build -c Release) >"$logs/build.log" 2>&1
code=$?
found=$(warnings "$logs/build.log")
[ "$code" -eq 0 ] && [ -z "$found" ]
check "the new service builds with 0 warnings" $? "exit $code; $(echo "$found" | head -5 | tr '\n' ' ') see $logs/build.log"
(cd "$svc" && dotnet test -c Release --no-build) >"$logs/test.log" 2>&1
code=$?
tests=$(grep -E "^(Passed|Failed)! " "$logs/test.log" | tr '\n' ' ')
[ "$code" -eq 0 ] && grep -qE "^Passed! .*Passed: +[1-9]" "$logs/test.log"
check "its tests pass (AppRuntime.Testing harness): $tests" $? "exit $code, see $logs/test.log"
(cd "$svc" && timeout 120 dotnet run --project src/Acme.Restock -c Release --no-build -- --once) >"$logs/run.log" 2>&1
code=$?
[ "$code" -eq 0 ] && grep -q "Acme.Restock: handled 5 task(s)" "$logs/run.log"
check "it runs until idle (--once): $(grep -o 'handled [0-9]* task(s)' "$logs/run.log" | head -1), exit $code" $? "see $logs/run.log"
(cd "$svc" && dotnet publish src/Acme.Restock -c Release -r linux-x64 -o "$work/native") >"$logs/publish.log" 2>&1
code=$?
found=$(warnings "$logs/publish.log")
[ "$code" -eq 0 ] && [ -z "$found" ] && [ -x "$work/native/Acme.Restock" ]
check "it publishes as native AOT with 0 warnings ($(du -h "$work/native/Acme.Restock" 2>/dev/null | cut -f1))" $? "exit $code; $(echo "$found" | head -5 | tr '\n' ' ') see $logs/publish.log"
(cd "$work/native" && timeout 60 ./Acme.Restock --once) >"$logs/native.log" 2>&1
code=$?
[ "$code" -eq 0 ] && grep -q "Acme.Restock: handled 5 task(s)" "$logs/native.log"
check "the native binary runs until idle (--once), exit $code" $? "see $logs/native.log"

# 4. The other options: an IMAP source and a Redis queue.
(cd "$work" && DOTNET_CLI_HOME="$cli_home" dotnet new appruntime-service -n Acme.Mail --source imap --queue redis) >"$logs/new-imap.log" 2>&1 \
  && (cd "$work/Acme.Mail" && dotnet build -c Release && dotnet test -c Release --no-build) >"$logs/imap.log" 2>&1
code=$?
found=$(warnings "$logs/imap.log")
[ "$code" -eq 0 ] && [ -z "$found" ] && grep -q 'AppRuntime.Redis' "$work/Acme.Mail/src/Acme.Mail/Acme.Mail.csproj"
check "--source imap --queue redis builds with 0 warnings and its tests pass" $? "exit $code; $(echo "$found" | head -3 | tr '\n' ' ') see $logs/imap.log"

# 5. Mistakes are build errors in a packaged app: a handler's queue name with a typo, and a value appsettings.json gets wrong.
broken="$work/Broken"
cp -r "$svc" "$broken" && rm -rf "$broken"/src/*/bin "$broken"/src/*/obj "$broken"/tests/*/bin "$broken"/tests/*/obj
sed -i 's/\[TaskHandler("work")\]/[TaskHandler("Work")]/' "$broken/src/Acme.Restock/Handlers/WorkItemHandler.cs"
sed -i 's/"BatchSize": 5/"BatchSize": "five"/' "$broken/src/Acme.Restock/appsettings.json"
(cd "$broken" && dotnet build src/Acme.Restock -c Release) >"$logs/broken.log" 2>&1
code=$?
[ "$code" -ne 0 ] && grep -q "error APPRT0001: .*did you mean 'work'" "$logs/broken.log" && grep -q "appsettings.json.*error APPRT0033" "$logs/broken.log" \
  && [ "$(grep -oE "error [A-Z]+[0-9]+" "$logs/broken.log" | sort -u | wc -l)" -eq 2 ]
check "a broken copy fails to build with exactly APPRT0001 (did you mean 'work') and APPRT0033 (appsettings.json), no follow-on errors" $? "exit $code, see $logs/broken.log"

finish
