#!/usr/bin/env bash
# Runs the JIT build and the native AOT build of the Mail Order Bot through the same end-to-end scenarios and checks
# that both succeed with identical results:
#   1. the bundled demo inbox with --once (Folder source, SQLite store);
#   2. IMAP IDLE against Dovecot with the Redis queue backend, with --once;
#   3. IMAP IDLE with mail trickling in while the bot runs: every email must end \Seen;
#   4. the webhook test app's native binary through the webhook process tests (signature vectors, replay, kill -9 on Redis);
#   5. the Payment Notifier's native binary through its process tests (--demo; two instances, Redis, PostgreSQL, SMTP).
# Needs: bash tests/aot/publish.sh (run first if the builds are missing), and Dovecot, Redis, PostgreSQL and aiosmtpd from tests/infra.
# Prints one line per check and ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
out="$root/artifacts/aot"
work=$(mktemp -d /tmp/appruntime-aot-e2e.XXXXXX)
passed=0
failed=0
check() { # name, condition result (0 = ok), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "PASS $1"; else failed=$((failed + 1)); echo "FAIL $1: $3"; fi
}

[ -x "$out/native/MailOrderBot" ] && [ -f "$out/jit/MailOrderBot.dll" ] && [ -x "$out/compat/AppRuntime.AotCompatibility.TestApp" ] \
  && [ -x "$out/webhooks/AppRuntime.Webhooks.TestApp" ] && [ -x "$out/payment-notifier/PaymentNotifier" ] \
  || bash tests/aot/publish.sh || { echo "0 passed, 1 failed"; exit 1; }

# 0. The compatibility app (every src/ assembly rooted) runs natively.
compat_out=$(timeout 60 "$out/compat/AppRuntime.AotCompatibility.TestApp" 2>&1)
grep -q "handled 3 of 3" <<<"$compat_out"
check "AOT compatibility app runs natively" $? "$(echo "$compat_out" | tail -3 | tr '\n' ' ')"
grep -q "scheduled 2 of 2" <<<"$compat_out"
check "AOT compatibility app: a scheduled source (Cronos, Europe/Berlin) fires natively" $? "$(echo "$compat_out" | tail -3 | tr '\n' ' ')"

run_bot() { # flavour, log, args...
  local flavour=$1 log=$2; shift 2
  if [ "$flavour" = native ]; then
    (cd "$out/native" && timeout 180 ./MailOrderBot --once "$@") >"$log" 2>&1
  else
    (cd "$out/jit" && timeout 180 dotnet MailOrderBot.dll --once "$@") >"$log" 2>&1
  fi
}
summary() { grep -E "^  (this run|store):" "$1" | sed -E 's/ \(.*\)$//'; }

# 1. Demo inbox, --once.
for flavour in jit native; do
  rm -rf "$work/$flavour-inbox" && cp -r samples/MailOrderBot/demo-inbox "$work/$flavour-inbox"
  run_bot "$flavour" "$work/$flavour-demo.log" --MailOrderBot:Folder:Path="$work/$flavour-inbox" --MailOrderBot:Store:Path="$work/$flavour-demo.db"
  code=$?
  check "demo inbox --once ($flavour) exits 0" "$code" "exit $code, see $work/$flavour-demo.log"
done
summary "$work/jit-demo.log" >"$work/jit-demo.summary"
summary "$work/native-demo.log" >"$work/native-demo.summary"
echo "  jit:    $(tr '\n' ' ' <"$work/jit-demo.summary")"
echo "  native: $(tr '\n' ' ' <"$work/native-demo.summary")"
grep -qE "this run: [1-9][0-9]* accepted" "$work/jit-demo.summary" && cmp -s "$work/jit-demo.summary" "$work/native-demo.summary"
check "demo inbox: native AOT results equal the JIT results" $? "$(diff "$work/jit-demo.summary" "$work/native-demo.summary" | tr '\n' ' ')"

# 2. IMAP IDLE against Dovecot, Redis queue backend.
dovecot_dir="${APPRUNTIME_DOVECOT_DIR:-/tmp/appruntime-dovecot}"
imap_port="${APPRUNTIME_IMAP_PORT:-10143}"
redis="${APPRUNTIME_REDIS:-127.0.0.1:6390}"
for flavour in jit native; do
  user=user4; [ "$flavour" = native ] && user=user5
  rm -rf "$dovecot_dir/mail/$user"
  appended=0
  for eml in samples/MailOrderBot/demo-inbox/*.eml; do
    [ -s "$eml" ] || continue
    curl -s --max-time 20 -T "$eml" "imap://$user:secret@127.0.0.1:$imap_port/INBOX" && appended=$((appended + 1))
  done
  # curl APPENDs with \Seen; the bot takes unseen mail only.
  curl -s --max-time 20 "imap://$user:secret@127.0.0.1:$imap_port/INBOX" -X 'STORE 1:* -FLAGS (\Seen)' >/dev/null
  run_bot "$flavour" "$work/$flavour-imap.log" \
    --MailOrderBot:Source:Mode=ImapIdle --MailOrderBot:Imap:Host=127.0.0.1 --MailOrderBot:Imap:Port="$imap_port" \
    --MailOrderBot:Imap:Username="$user" --MailOrderBot:Imap:Password=secret \
    --MailOrderBot:Store:Path="$work/$flavour-imap.db" \
    --AppRuntime:Queues:orders:Backend=Redis --AppRuntime:Redis:Configuration="$redis" \
    --AppRuntime:Redis:KeyPrefix="aot-e2e-$flavour-$$"
  code=$?
  check "IMAP IDLE + Redis --once ($flavour, $appended emails appended) exits 0" "$code" "exit $code, see $work/$flavour-imap.log"
done
summary "$work/jit-imap.log" | sed -E 's/(this run|store): */\1: /' >"$work/jit-imap.summary"
summary "$work/native-imap.log" | sed -E 's/(this run|store): */\1: /' >"$work/native-imap.summary"
echo "  jit:    $(tr '\n' ' ' <"$work/jit-imap.summary")"
echo "  native: $(tr '\n' ' ' <"$work/native-imap.summary")"
grep -qE "this run: [1-9][0-9]* accepted" "$work/jit-imap.summary" && cmp -s "$work/jit-imap.summary" "$work/native-imap.summary"
check "IMAP IDLE + Redis: native AOT results equal the JIT results" $? "$(diff "$work/jit-imap.summary" "$work/native-imap.summary" | tr '\n' ' ')"

# 3. Trickle: mail that arrives while the bot runs (IMAP IDLE, in-memory queue). Every email must end \Seen, as this
#    script's own IMAP session sees it, within 10 s of the last one arriving.
imap_append() { # user, file: a plain APPEND with no flags (curl's APPEND would set \Seen)
  local size
  size=$(stat -c %s "$2")
  exec 3<>"/dev/tcp/127.0.0.1/$imap_port"
  { printf 'a LOGIN %s secret\r\nb APPEND INBOX {%d+}\r\n' "$1" "$size"; cat "$2"; printf '\r\nc LOGOUT\r\n'; } >&3
  timeout 10 cat <&3 >/dev/null
  exec 3<&-
}
imap_count() { # user, search criteria: how many messages match
  curl -s --max-time 10 "imap://$1:secret@127.0.0.1:$imap_port/INBOX" -X "SEARCH $2" | tr -d '\r' | sed -E 's/^\* SEARCH ?//' | wc -w
}
for flavour in jit native; do
  user=user4; [ "$flavour" = native ] && user=user5
  rm -rf "$dovecot_dir/mail/$user"
  curl -s --max-time 10 "imap://$user:secret@127.0.0.1:$imap_port/INBOX" -X 'NOOP' >/dev/null # creates the empty INBOX
  log="$work/$flavour-trickle.log"
  if [ "$flavour" = native ]; then
    (cd "$out/native" && exec ./MailOrderBot --AppRuntime:ControlPlane:Urls=http://127.0.0.1:0 \
      --MailOrderBot:Source:Mode=ImapIdle --MailOrderBot:Imap:Host=127.0.0.1 --MailOrderBot:Imap:Port="$imap_port" \
      --MailOrderBot:Imap:Username="$user" --MailOrderBot:Imap:Password=secret --MailOrderBot:Store:Path="$work/$flavour-trickle.db") >"$log" 2>&1 &
  else
    (cd "$out/jit" && exec dotnet MailOrderBot.dll --AppRuntime:ControlPlane:Urls=http://127.0.0.1:0 \
      --MailOrderBot:Source:Mode=ImapIdle --MailOrderBot:Imap:Host=127.0.0.1 --MailOrderBot:Imap:Port="$imap_port" \
      --MailOrderBot:Imap:Username="$user" --MailOrderBot:Imap:Password=secret --MailOrderBot:Store:Path="$work/$flavour-trickle.db") >"$log" 2>&1 &
  fi
  bot=$!
  for _ in $(seq 1 300); do grep -q "connected to 127.0.0.1" "$log" && break; sleep 0.1; done
  RANDOM=13 # the same pacing every run
  for i in $(seq 1 20); do
    printf 'From: Ann Buyer <ann@example.com>\r\nTo: orders@example.com\r\nSubject: Order %s\r\nMessage-ID: <trickle-%s-%s@aot>\r\n\r\nSKU-1001 x %s\r\nName: Ann Buyer\r\n' \
      "$i" "$i" "$flavour" "$((i % 3 + 1))" >"$work/trickle-$i.eml"
    imap_append "$user" "$work/trickle-$i.eml"
    sleep "0.$((RANDOM % 8 + 2))"
  done
  seen=0
  for _ in $(seq 1 50); do
    seen=$(imap_count "$user" SEEN)
    [ "$seen" -eq 20 ] && break
    sleep 0.2
  done
  unseen=$(curl -s --max-time 10 "imap://$user:secret@127.0.0.1:$imap_port/INBOX" -X 'SEARCH UNSEEN' | tr -d '\r')
  kill -TERM "$bot" 2>/dev/null
  wait "$bot"
  code=$?
  [ "$seen" -eq 20 ]
  check "trickle ($flavour): 20 emails arriving while the bot runs all end \\Seen" $? "$seen of 20 \\Seen ($unseen), see $log"
  check "trickle ($flavour): SIGTERM stops the bot with exit 0" "$code" "exit $code, see $log"
done

# 4 and 5. Process tests of a test project, run again with an environment variable pointing them at a native binary.
native_process_tests() { # label, variable, binary, test project, filter, check text
  if [ -x "$3" ]; then
    env "$2=$3" timeout 600 dotnet test "$4" -c Release --no-build --filter "$5" >"$work/$1-native.log" 2>&1
    local code=$?
    local summary
    summary=$(grep -E "^(Passed|Failed)! +- Failed:" "$work/$1-native.log" | tail -1)
    echo "  $1 native: ${summary:-no test summary}"
    check "$6" "$code" "exit $code, see $work/$1-native.log"
  else
    check "$1 (native AOT) was published" 1 "$3 is missing: run tests/aot/publish.sh"
  fi
}
# 4. The webhook test app's native binary passes the same signature, replay and kill -9 tests as its JIT build (which
#    tests/AppRuntime.Webhooks.Tests runs in the normal test pass).
native_process_tests webhooks APPRUNTIME_WEBHOOKS_APP "$out/webhooks/AppRuntime.Webhooks.TestApp" tests/AppRuntime.Webhooks.Tests \
  "FullyQualifiedName~AppProcessTests|FullyQualifiedName~KillTests" "webhook test app (native AOT): signature, replay and kill -9 process tests pass"
# 5. The Payment Notifier's native binary passes the sample's process tests: --demo, and the end-to-end flow (500 signed events over
#    HTTP on two instances sharing Redis and PostgreSQL, notices to a real SMTP server, the digest on a schedule).
native_process_tests payment-notifier APPRUNTIME_PAYMENTNOTIFIER_APP "$out/payment-notifier/PaymentNotifier" tests/PaymentNotifier.Tests \
  "Category=Process" "Payment Notifier (native AOT): the demo and the two-instance end-to-end flow pass"

echo "aot e2e logs: $work"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
