#!/usr/bin/env bash
# Makes the SMTP server of the tests available: Debian's python3-aiosmtpd, driven by tests/infra/smtp-server.py.
#
#   bash tests/infra/smtp.sh start    # installs python3-aiosmtpd when missing, then a self-check: starts smtp-server.py on a
#                                     # free port in a temp dir, sends one message with smtplib, checks it was stored, stops it.
#                                     # Idempotent.
#   bash tests/infra/smtp.sh stop     # nothing to stop (exits 0)
#   bash tests/infra/smtp.sh status   # exits 0 when aiosmtpd can be imported
#
# There is no shared long-running server: each test starts its own smtp-server.py (tests/Shared/SmtpTestServer.cs) on port 0,
# with its own directory (port, reply, attempts.log, messages/; see the top of smtp-server.py).
# Debian's package is installed for Debian's /usr/bin/python3; when another python3 comes first on PATH (pyenv, a venv),
# smtp-server.py re-executes itself with /usr/bin/python3.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVER="$HERE/smtp-server.py"
READY_DEADLINE_SECONDS=20

log() { echo "smtp.sh: $*" >&2; }

# The first python3 that can import aiosmtpd: the one on PATH, else Debian's.
aiosmtpd_python() {
  local candidate
  for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import aiosmtpd' >/dev/null 2>&1; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

install_if_missing() {
  if aiosmtpd_python >/dev/null; then
    return 0
  fi
  log "installing Debian package python3-aiosmtpd"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends python3-aiosmtpd >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends python3-aiosmtpd >/dev/null
  fi
  if ! aiosmtpd_python >/dev/null; then
    log "python3-aiosmtpd is installed but neither python3 ($(command -v python3 || echo none)) nor /usr/bin/python3 imports aiosmtpd"
    exit 1
  fi
}

# Starts smtp-server.py on port 0 in a temp dir, sends one message, checks that messages/000001.eml appeared, stops it.
self_check() {
  local py dir pid deadline port
  py="$(aiosmtpd_python)"
  dir="$(mktemp -d "${TMPDIR:-/tmp}/appruntime-smtp-check.XXXXXX")"
  # python3 from PATH, as in the usage line of smtp-server.py (it re-executes itself with /usr/bin/python3 when needed).
  python3 "$SERVER" --dir "$dir" --host 127.0.0.1 --port 0 >"$dir/server.log" 2>&1 &
  pid=$!
  # shellcheck disable=SC2064  # expand now: the trap must stop this server and remove this dir
  trap "kill $pid 2>/dev/null || true; rm -rf '$dir'" EXIT

  deadline=$((SECONDS + READY_DEADLINE_SECONDS))
  until [ -s "$dir/port" ]; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      log "smtp-server.py did not write $dir/port within ${READY_DEADLINE_SECONDS}s (or exited); its output:"
      cat "$dir/server.log" >&2 || true
      exit 1
    fi
    sleep 0.05
  done
  port="$(cat "$dir/port")"

  if ! "$py" - "$port" >"$dir/client.log" 2>&1 <<'PY'
import smtplib, sys
message = b"From: check@example.com\r\nTo: check@example.com\r\nSubject: smtp.sh self-check\r\nMessage-ID: <smtp-sh-check@example.com>\r\n\r\nhello\r\n"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10) as smtp:
    smtp.sendmail("check@example.com", ["check@example.com"], message)
PY
  then
    log "sending a message to smtp-server.py on 127.0.0.1:$port failed:"
    cat "$dir/client.log" "$dir/server.log" >&2 || true
    exit 1
  fi
  if [ ! -s "$dir/messages/000001.eml" ] || [ ! -s "$dir/messages/000001.json" ]; then
    log "smtp-server.py accepted the message but did not store $dir/messages/000001.eml; its output:"
    cat "$dir/server.log" >&2 || true
    exit 1
  fi

  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  trap - EXIT
  rm -rf "$dir"
  echo "smtp.sh: aiosmtpd ready (python3 -m aiosmtpd $("$py" -m aiosmtpd --version 2>&1 | awk '{print $NF}'))"
}

cmd="${1:-start}"
case "$cmd" in
  start)
    install_if_missing
    self_check
    ;;
  stop)
    log "nothing to stop: tests start and stop their own smtp-server.py"
    ;;
  status)
    if py="$(aiosmtpd_python)"; then
      echo "smtp.sh: aiosmtpd available ($py)"
      exit 0
    fi
    log "aiosmtpd is not installed; run: bash tests/infra/smtp.sh start"
    exit 1
    ;;
  *)
    echo "usage: bash tests/infra/smtp.sh start|stop|status" >&2
    exit 2
    ;;
esac
