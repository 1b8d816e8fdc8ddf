#!/usr/bin/env bash
# A private Redis server for the tests: loopback only, no persistence, pid file and log
# under .data/test-redis.
#
#   scripts/redis.sh start    start and wait until it answers PING (already running -> ok)
#   scripts/redis.sh stop     shut it down (not running -> ok)
#   scripts/redis.sh status   exit 0 when running, 1 otherwise
#   scripts/redis.sh url      print the redis:// URL
#
# Env: TRAWL_TEST_REDIS_PORT (6380), TRAWL_TEST_REDIS_DIR (.data/test-redis, -PORT appended off the default port),
#      TRAWL_TEST_REDIS_TIMEOUT (seconds to wait for start/stop, 30).
# The binaries come from the Debian package redis-server (scripts/setup.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

PORT=${TRAWL_TEST_REDIS_PORT:-6380}
# A run on another port gets its own data dir, so two test runs side by side never share one.
DEFAULT_DIR=$ROOT/.data/test-redis
[ "$PORT" = 6380 ] || DEFAULT_DIR=$DEFAULT_DIR-$PORT
DIR=${TRAWL_TEST_REDIS_DIR:-$DEFAULT_DIR}
TIMEOUT=${TRAWL_TEST_REDIS_TIMEOUT:-30}

case $DIR in /*) ;; *) DIR=$ROOT/$DIR ;; esac
PIDFILE=$DIR/redis.pid
LOGFILE=$DIR/redis.log
PORTFILE=$DIR/trawl-port

die() { printf 'redis.sh: %s\n' "$*" >&2; exit 1; }
note() { printf 'redis.sh: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib-process.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-process.sh"

find_bin() {
  local name=$1
  if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
  if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return 0; fi
  return 1
}

server_pid() {  # prints the pid of our running redis-server, or fails
  local pid comm
  [ -s "$PIDFILE" ] || return 1
  pid=$(tr -dc '0-9' <"$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  case $comm in redis-server*) ;; *) return 1 ;; esac  # a recycled pid is not ours
  echo "$pid"
}

show_log() {
  if [ -s "$LOGFILE" ]; then
    printf -- '--- last lines of %s ---\n' "$LOGFILE" >&2
    tail -n 20 "$LOGFILE" >&2
  fi
}

ping() {
  [ "$("$CLI" -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" = "PONG" ]
}

start() {
  local pid running_port waited=0
  SERVER=$(find_bin redis-server) || die "redis-server not found: run scripts/setup.sh"
  CLI=$(find_bin redis-cli) || die "redis-cli not found: run scripts/setup.sh"
  if pid=$(server_pid); then
    running_port=$(cat "$PORTFILE" 2>/dev/null || echo "?")
    [ "$running_port" = "$PORT" ] \
      || die "already running (pid $pid) on port $running_port, not $PORT: stop it first"
    ping || die "pid $pid is running but does not answer on port $PORT; see $LOGFILE"
    note "already running on 127.0.0.1:$PORT (pid $pid)"
    return 0
  fi
  mkdir -p "$DIR"
  rm -f "$PIDFILE"
  : >"$LOGFILE"
  echo "$PORT" >"$PORTFILE"
  "$SERVER" --port "$PORT" --bind 127.0.0.1 --protected-mode yes \
    --save '' --appendonly no --dir "$DIR" \
    --daemonize yes --pidfile "$PIDFILE" --logfile "$LOGFILE" \
    </dev/null >/dev/null 2>&1 9>&- || { show_log; die "redis-server failed to start"; }
  # Daemonised: the pid file appears once it forked; ready when it answers on our port
  # (and the answering process is ours, not another server holding the port).
  until server_pid >/dev/null && ping; do
    if [ "$waited" -ge 10 ] && ! server_pid >/dev/null; then  # 2s without a live pid
      show_log
      die "redis-server exited during start-up (port $PORT taken?)"
    fi
    if [ "$waited" -ge $((TIMEOUT * 5)) ]; then
      show_log
      die "redis-server not ready after ${TIMEOUT}s"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  note "running on 127.0.0.1:$PORT (pid $(server_pid))"
}

stop() {
  terminate_server || return 0
  rm -f "$PORTFILE" "$PIDFILE"
  note "stopped"
}

LOCK_PATH=$DIR

case ${1:-} in
  start) with_lock start ;;
  stop) with_lock stop ;;
  status) print_status ;;
  url) echo "redis://127.0.0.1:${PORT}/0" ;;
  *)
    echo "usage: $0 start|stop|status|url" >&2
    exit 2
    ;;
esac
