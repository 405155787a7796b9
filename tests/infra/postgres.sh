#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server for the AppRuntime.Configuration.PostgreSql tests.
#
#   bash tests/infra/postgres.sh start    # initdb into a temp dir (first time), pg_ctl start, creates database
#                                         # 'appruntime', waits until pg_isready answers, prints the connection string.
#                                         # Idempotent: a server already running from the same dir is reused.
#   bash tests/infra/postgres.sh stop     # pg_ctl stop (fast), then removes nothing: the next start reuses the dir
#   bash tests/infra/postgres.sh status   # prints the connection string and exits 0 when the server answers
#
# initdb and postgres refuse to run as root: both run as the 'postgres' user the Debian package creates
# (runuser -u postgres -- ...). Authentication is 'trust' on 127.0.0.1 only: this server is for local tests.
#
# Environment:
#   APPRUNTIME_POSTGRES_PORT  port (default 55432)
#   APPRUNTIME_POSTGRES_DIR   data dir parent (default ${TMPDIR:-/tmp}/appruntime-postgres-<port>)
# Tests read APPRUNTIME_POSTGRES (default "Host=127.0.0.1;Port=55432;Username=postgres;Database=appruntime").
set -euo pipefail

PORT="${APPRUNTIME_POSTGRES_PORT:-55432}"
DIR="${APPRUNTIME_POSTGRES_DIR:-${TMPDIR:-/tmp}/appruntime-postgres-${PORT}}"
DATA="$DIR/data"
SOCKETS="$DIR/sockets"
LOGFILE="$DIR/postgres.log"
DATABASE=appruntime
CONNECTION="Host=127.0.0.1;Port=${PORT};Username=postgres;Database=${DATABASE}"
READY_DEADLINE_SECONDS=30

log() { echo "postgres.sh: $*" >&2; }

pg_bin() {
  # The newest installed major version's binaries (Debian keeps them out of PATH).
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

install_if_missing() {
  if pg_bin >/dev/null && command -v pg_isready >/dev/null 2>&1 && id postgres >/dev/null 2>&1; then
    return 0
  fi
  log "installing Debian package postgresql"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends postgresql >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends postgresql >/dev/null
  fi
  # Where an init system runs, the package starts its own cluster on 5432; ours is separate.
}

as_postgres() { runuser -u postgres -- "$@"; }

ready() { pg_isready -h 127.0.0.1 -p "$PORT" -q >/dev/null 2>&1; }

running_here() { [ -f "$DATA/postmaster.pid" ] && as_postgres "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; }

wait_ready() {
  local deadline=$((SECONDS + READY_DEADLINE_SECONDS))
  until ready; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "PostgreSQL did not become ready on 127.0.0.1:$PORT within ${READY_DEADLINE_SECONDS}s; log: $LOGFILE"
      tail -n 30 "$LOGFILE" >&2 2>/dev/null || true
      exit 1
    fi
    sleep 0.1
  done
}

init_cluster() {
  mkdir -p "$DIR" "$SOCKETS"
  chown postgres:postgres "$DIR" "$SOCKETS"
  chmod 700 "$DIR"
  if [ ! -f "$DATA/PG_VERSION" ]; then
    rm -rf "$DATA"
    as_postgres "$BIN/initdb" -D "$DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  fi
}

start_server() {
  as_postgres "$BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t "$READY_DEADLINE_SECONDS" \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $SOCKETS -c fsync=off -c max_connections=200" start >/dev/null
  wait_ready
  if [ "$(psql_cmd -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" != "1" ]; then
    psql_cmd -d postgres -c "CREATE DATABASE $DATABASE" >/dev/null
  fi
}

psql_cmd() { as_postgres psql -h 127.0.0.1 -p "$PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

cmd="${1:-start}"
case "$cmd" in
  start)
    install_if_missing
    BIN="$(pg_bin)"
    if [ -d "$DATA" ] && running_here && ready; then
      echo "$CONNECTION"
      exit 0
    fi
    if ready; then
      log "port $PORT already answers but the server was not started from $DATA; stop that server first"
      exit 1
    fi
    init_cluster
    start_server
    echo "$CONNECTION"
    ;;
  stop)
    if BIN="$(pg_bin)" && [ -d "$DATA" ] && running_here; then
      as_postgres "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >/dev/null
    fi
    ;;
  status)
    if ready; then
      echo "$CONNECTION"
      exit 0
    fi
    log "not running on 127.0.0.1:$PORT"
    exit 1
    ;;
  *)
    echo "usage: bash tests/infra/postgres.sh start|stop|status" >&2
    exit 2
    ;;
esac
