#!/usr/bin/env bash
# Starts a throw-away redis-server for the AppRuntime.Redis tests and benchmarks.
#
#   bash tests/infra/redis.sh start     # clean data dir, AOF on, prints the endpoint (idempotent)
#   bash tests/infra/redis.sh stop      # stops it (SHUTDOWN, then SIGKILL after a deadline)
#   bash tests/infra/redis.sh restart [--hard]
#                                       # keeps the data dir: the AOF is replayed on start.
#                                       # --hard kills the server with SIGKILL instead of SHUTDOWN (a crash).
#   bash tests/infra/redis.sh status    # prints the endpoint and exits 0 when it answers PING
#
# Environment:
#   APPRUNTIME_REDIS_PORT   port (default 6390)
#   APPRUNTIME_REDIS_DIR    data dir (default ${TMPDIR:-/tmp}/appruntime-redis-<port>)
#   APPRUNTIME_REDIS_FSYNC  appendfsync policy: always (default) | everysec | no
# Tests read APPRUNTIME_REDIS (default 127.0.0.1:6390).
set -euo pipefail

PORT="${APPRUNTIME_REDIS_PORT:-6390}"
DIR="${APPRUNTIME_REDIS_DIR:-${TMPDIR:-/tmp}/appruntime-redis-${PORT}}"
FSYNC="${APPRUNTIME_REDIS_FSYNC:-always}"
PIDFILE="$DIR/redis.pid"
LOGFILE="$DIR/redis.log"
DATA="$DIR/data"
ENDPOINT="127.0.0.1:${PORT}"
READY_DEADLINE_SECONDS=10

log() { echo "redis.sh: $*" >&2; }

install_if_missing() {
  if command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1; then
    return 0
  fi
  log "installing Debian package redis-server"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends redis-server redis-tools >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends redis-server redis-tools >/dev/null
  fi
  # The package starts a system instance on 6379 where an init system runs; ours is separate.
}

cli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

answers_ping() { [ "$(cli ping 2>/dev/null || true)" = "PONG" ]; }

server_pid() {
  if [ -f "$PIDFILE" ]; then
    local pid
    pid="$(cat "$PIDFILE" 2>/dev/null || true)"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "$pid"
      return 0
    fi
  fi
  return 1
}

wait_ready() {
  local deadline=$((SECONDS + READY_DEADLINE_SECONDS))
  until answers_ping; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      log "redis-server did not answer PING on $ENDPOINT within ${READY_DEADLINE_SECONDS}s; log: $LOGFILE"
      tail -n 20 "$LOGFILE" >&2 2>/dev/null || true
      exit 1
    fi
    # Loading a large AOF can take a moment: PING answers LOADING until done.
    sleep 0.05
  done
}

launch() {
  mkdir -p "$DATA"
  redis-server \
    --bind 127.0.0.1 --port "$PORT" --protected-mode no \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$LOGFILE" \
    --dir "$DATA" --save '' \
    --appendonly yes --appendfsync "$FSYNC" --appenddirname appendonlydir \
    --maxclients 1000
  wait_ready
  echo "$FSYNC" >"$DIR/fsync"
}

stop_server() {
  local hard="${1:-}" pid
  if ! pid="$(server_pid)"; then
    if answers_ping; then
      log "something else answers on $ENDPOINT (no pidfile in $DIR); not stopping it"
      exit 1
    fi
    return 0
  fi
  if [ "$hard" = "--hard" ]; then
    kill -9 "$pid"
  else
    cli shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
  fi
  local deadline=$((SECONDS + 10))
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      kill -9 "$pid" 2>/dev/null || true
    fi
    sleep 0.05
  done
  rm -f "$PIDFILE"
}

cmd="${1:-start}"
case "$cmd" in
  start)
    install_if_missing
    if server_pid >/dev/null && answers_ping; then
      echo "$ENDPOINT"
      exit 0
    fi
    if answers_ping; then
      log "port $PORT already answers but was not started from $DIR; stop that server first"
      exit 1
    fi
    # A clean dir: redis-server loads an existing dump.rdb/AOF even with --save ''.
    rm -rf "$DIR"
    mkdir -p "$DIR"
    launch
    echo "$ENDPOINT"
    ;;
  stop)
    stop_server
    ;;
  restart)
    install_if_missing
    if [ -f "$DIR/fsync" ]; then FSYNC="${APPRUNTIME_REDIS_FSYNC:-$(cat "$DIR/fsync")}"; fi
    stop_server "${2:-}"
    launch
    echo "$ENDPOINT"
    ;;
  status)
    if answers_ping; then
      echo "$ENDPOINT"
      exit 0
    fi
    log "not running on $ENDPOINT"
    exit 1
    ;;
  *)
    echo "usage: bash tests/infra/redis.sh start|stop|restart [--hard]|status" >&2
    exit 2
    ;;
esac
