#!/usr/bin/env bash
# Installs the Debian packages the test suite and the native AOT build need, on a clean Debian machine.
# Idempotent: packages already present are not touched, and `apt-get update` only runs when something is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
[ -x /usr/sbin/dovecot ] || need+=(dovecot-imapd)
command -v clang >/dev/null 2>&1 || need+=(clang)
[ -e /usr/include/zlib.h ] || need+=(zlib1g-dev)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v unzip >/dev/null 2>&1 || need+=(unzip)   # tests/template/e2e.sh looks inside the packages
/usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || need+=(python3-aiosmtpd)   # Debian's python3: a pyenv python3 on PATH cannot see it

if [ "${#need[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
echo "setup.sh: system packages ready" >&2
