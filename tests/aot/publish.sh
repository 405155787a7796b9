#!/usr/bin/env bash
# Publishes the Mail Order Bot twice for linux-x64: a JIT build and a native AOT build.
#   bash tests/aot/publish.sh   # -> artifacts/aot/jit/MailOrderBot.dll, artifacts/aot/native/MailOrderBot, artifacts/aot/compat/, artifacts/aot/webhooks/,
#                                 artifacts/aot/payment-notifier/
# The native publish must give 0 warnings (IL2xxx/IL3xxx trim and AOT analysis included): any warning fails this script.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=artifacts/aot
mkdir -p "$out"
command -v clang >/dev/null 2>&1 && [ -e /usr/include/zlib.h ] || bash tests/infra/setup.sh

dotnet publish samples/MailOrderBot -c Release -r linux-x64 -p:PublishAot=false --self-contained false -o "$out/jit" >"$out/publish-jit.log" 2>&1 \
  || { tail -30 "$out/publish-jit.log"; echo "publish.sh: JIT publish failed" >&2; exit 1; }
dotnet publish samples/MailOrderBot -c Release -r linux-x64 -o "$out/native" >"$out/publish-native.log" 2>&1 \
  || { grep -E "error|warning" "$out/publish-native.log" | sort -u | head -30; echo "publish.sh: native AOT publish failed" >&2; exit 1; }
# The compatibility app roots every src/ assembly, so the AOT compiler analyses all of their code, used or not.
dotnet publish tests/AppRuntime.AotCompatibility.TestApp -c Release -o "$out/compat" >"$out/publish-compat.log" 2>&1 \
  || { grep -E "error|warning" "$out/publish-compat.log" | sort -u | head -30; echo "publish.sh: AOT compatibility app publish failed" >&2; exit 1; }
# The webhook test app (generator-composed webhook sources): its native binary runs the webhook process tests in tests/aot/e2e.sh.
dotnet publish tests/AppRuntime.Webhooks.TestApp -c Release -r linux-x64 -o "$out/webhooks" >"$out/publish-webhooks.log" 2>&1 \
  || { grep -E "error|warning" "$out/publish-webhooks.log" | sort -u | head -30; echo "publish.sh: webhook test app native AOT publish failed" >&2; exit 1; }
# The Payment Notifier (webhooks, chained queues, SMTP, a schedule): its native binary runs the sample's process tests in tests/aot/e2e.sh.
dotnet publish samples/PaymentNotifier -c Release -r linux-x64 -o "$out/payment-notifier" >"$out/publish-payment-notifier.log" 2>&1 \
  || { grep -E "error|warning" "$out/publish-payment-notifier.log" | sort -u | head -30; echo "publish.sh: Payment Notifier native AOT publish failed" >&2; exit 1; }
for log in "$out/publish-native.log" "$out/publish-compat.log" "$out/publish-webhooks.log" "$out/publish-payment-notifier.log"; do
  if grep -qE ": warning [A-Z]+[0-9]+" "$log"; then
    grep -E ": warning [A-Z]+[0-9]+" "$log" | sed 's/ \[.*//' | sort -u >&2
    echo "publish.sh: a native AOT publish gave warnings ($log)" >&2
    exit 1
  fi
  # The AOT compiler replaces a method it cannot compile (a generic cycle, invalid IL) by one that always throws, and says so only
  # as a message, not as a warning: such a binary starts and fails at run time.
  if grep -q "will always throw" "$log"; then
    grep "will always throw" "$log" | sort -u >&2
    echo "publish.sh: the AOT compiler replaced methods by throwing stubs ($log)" >&2
    exit 1
  fi
done
echo "publish.sh: JIT build in $out/jit, native AOT binaries $out/native/MailOrderBot, $out/compat, $out/webhooks and $out/payment-notifier (0 warnings)"
