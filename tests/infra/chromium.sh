#!/usr/bin/env bash
# Installs headless-capable Chromium from Debian for the control-plane dashboard browser test.
#
#   bash tests/infra/chromium.sh start    # installs the Debian package `chromium` if missing (idempotent), prints its path
#   bash tests/infra/chromium.sh status   # prints the path and version; exits 1 when it is not installed
#
# There is no server to keep running: the test launches its own headless Chromium (--headless --no-sandbox
# --disable-gpu --disable-background-networking ...) with a throw-away profile and drives it over the DevTools protocol.
# Tests read APPRUNTIME_CHROMIUM (default /usr/bin/chromium).
set -euo pipefail

BIN="${APPRUNTIME_CHROMIUM:-/usr/bin/chromium}"

log() { echo "chromium.sh: $*" >&2; }

install_if_missing() {
  if [ -x "$BIN" ]; then
    return 0
  fi
  log "installing Debian package chromium"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core >/dev/null
  fi
  if [ ! -x "$BIN" ]; then
    log "the chromium package installed but $BIN does not exist"
    exit 1
  fi
}

cmd="${1:-start}"
case "$cmd" in
  start|install)
    install_if_missing
    echo "$BIN"
    ;;
  status)
    if [ -x "$BIN" ]; then
      echo "$BIN"
      "$BIN" --version 2>/dev/null || true
      exit 0
    fi
    log "not installed at $BIN (run: bash tests/infra/chromium.sh start)"
    exit 1
    ;;
  stop)
    # Nothing runs between tests: every test starts and ends its own browser.
    ;;
  *)
    echo "usage: bash tests/infra/chromium.sh start|status|stop" >&2
    exit 2
    ;;
esac
