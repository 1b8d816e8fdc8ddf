#!/usr/bin/env bash
# A private MariaDB server for the tests: loopback only, its own datadir (.data/test-mariadb),
# socket, pid file and error log inside that datadir, and a user trawl/trawl with every
# privilege (CREATE/DROP DATABASE included) on *.*.
#
#   scripts/mariadb.sh start    initialise the datadir if needed, start, wait until ready
#                               (already running -> ok)
#   scripts/mariadb.sh stop     shut it down (not running -> ok)
#   scripts/mariadb.sh status   exit 0 when running, 1 otherwise
#   scripts/mariadb.sh url      print the SQLAlchemy URL, without a database name
#
# Env: TRAWL_TEST_MARIADB_PORT (3307), TRAWL_TEST_MARIADB_DIR (.data/test-mariadb, -PORT appended off the default port),
#      TRAWL_TEST_MARIADB_TIMEOUT (seconds to wait for start/stop, 120).
# The binaries come from the Debian packages mariadb-server/mariadb-client (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

PORT=${TRAWL_TEST_MARIADB_PORT:-3307}
# A run on another port gets its own data dir, so two test runs side by side never share one.
DEFAULT_DIR=$ROOT/.data/test-mariadb
[ "$PORT" = 3307 ] || DEFAULT_DIR=$DEFAULT_DIR-$PORT
DATADIR=${TRAWL_TEST_MARIADB_DIR:-$DEFAULT_DIR}
TIMEOUT=${TRAWL_TEST_MARIADB_TIMEOUT:-120}
USER_NAME=trawl
USER_PASSWORD=trawl
RUN_AS=$(id -un)  # root on CI: mariadbd refuses to run as root without --user=root

case $DATADIR in /*) ;; *) DATADIR=$ROOT/$DATADIR ;; esac
PIDFILE=$DATADIR/mariadbd.pid
ERRLOG=$DATADIR/mariadbd.err
PORTFILE=$DATADIR/trawl-port
SOCKET=$DATADIR/mariadbd.sock
# A Unix socket path is limited to 107 bytes; deep checkouts fall back to /tmp.
if [ "${#SOCKET}" -gt 100 ]; then
  SOCKET=/tmp/trawl-mariadb-$(printf '%s' "$DATADIR" | sha256sum | cut -c1-16).sock
fi

die() { printf 'mariadb.sh: %s\n' "$*" >&2; exit 1; }
note() { printf 'mariadb.sh: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib-process.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-process.sh"

find_bin() {  # /usr/sbin is not on every PATH
  local name
  for name in "$@"; do
    if command -v "$name" >/dev/null 2>&1; then command -v "$name"; return 0; fi
    if [ -x "/usr/sbin/$name" ]; then echo "/usr/sbin/$name"; return 0; fi
  done
  return 1
}

server_pid() {  # prints the pid of our running mariadbd, or fails
  local pid comm
  [ -s "$PIDFILE" ] || return 1
  pid=$(tr -dc '0-9' <"$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  case $comm in mariadbd | mysqld) ;; *) return 1 ;; esac  # a recycled pid is not ours
  echo "$pid"
}

admin() {  # mariadb-admin as root over the private socket
  "$ADMIN" --no-defaults --protocol=socket --socket="$SOCKET" --user=root \
    --connect-timeout=2 "$@"
}

show_log() {
  if [ -s "$ERRLOG" ]; then
    printf -- '--- last lines of %s ---\n' "$ERRLOG" >&2
    tail -n 30 "$ERRLOG" >&2
  fi
}

resolve_bins() {
  MARIADBD=$(find_bin mariadbd mysqld) || die "mariadbd not found: run scripts/setup.sh"
  INSTALL_DB=$(find_bin mariadb-install-db mysql_install_db) \
    || die "mariadb-install-db not found: run scripts/setup.sh"
  ADMIN=$(find_bin mariadb-admin mysqladmin) || die "mariadb-admin not found: run scripts/setup.sh"
  CLIENT=$(find_bin mariadb mysql) || die "mariadb client not found: run scripts/setup.sh"
}

init_datadir() {
  # Initialise into a scratch directory and rename it into place, so an interrupted
  # initialisation never leaves a half-made datadir that later starts would trust.
  [ -d "$DATADIR/mysql" ] && return 0
  [ -e "$DATADIR" ] && [ -n "$(ls -A "$DATADIR" 2>/dev/null)" ] \
    && die "$DATADIR exists but holds no initialised datadir; remove it and retry"
  local scratch
  scratch=$(dirname "$DATADIR")/.$(basename "$DATADIR").init.$$
  rm -rf "$scratch"
  mkdir -p "$scratch"
  note "initialising $DATADIR (first start only)"
  if ! "$INSTALL_DB" --no-defaults --auth-root-authentication-method=normal --user="$RUN_AS" \
      --skip-test-db --datadir="$scratch" >"$scratch.log" 2>&1; then
    cat "$scratch.log" >&2
    rm -rf "$scratch" "$scratch.log"
    die "mariadb-install-db failed"
  fi
  rm -f "$scratch.log"
  rmdir "$DATADIR" 2>/dev/null || true
  mv "$scratch" "$DATADIR"
}

provision_user() {
  # Idempotent: runs on every start. The anonymous accounts mariadb-install-db may create
  # would otherwise shadow trawl@% for local connections.
  local host
  host=$(hostname 2>/dev/null || echo localhost)
  "$CLIENT" --no-defaults --protocol=socket --socket="$SOCKET" --user=root --batch <<SQL
DROP USER IF EXISTS ''@'localhost';
DROP USER IF EXISTS ''@'${host}';
CREATE USER IF NOT EXISTS '${USER_NAME}'@'%' IDENTIFIED BY '${USER_PASSWORD}';
CREATE USER IF NOT EXISTS '${USER_NAME}'@'localhost' IDENTIFIED BY '${USER_PASSWORD}';
GRANT ALL PRIVILEGES ON *.* TO '${USER_NAME}'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '${USER_NAME}'@'localhost' WITH GRANT OPTION;
SQL
}

start() {
  local pid running_port
  resolve_bins
  if pid=$(server_pid); then
    running_port=$(cat "$PORTFILE" 2>/dev/null || echo "?")
    [ "$running_port" = "$PORT" ] \
      || die "already running (pid $pid) on port $running_port, not $PORT: stop it first"
    admin ping >/dev/null 2>&1 || die "pid $pid is running but does not answer; see $ERRLOG"
    note "already running on 127.0.0.1:$PORT (pid $pid)"
    return 0
  fi
  mkdir -p "$(dirname "$DATADIR")"
  init_datadir
  rm -f "$PIDFILE"
  echo "$PORT" >"$PORTFILE"
  # setsid: a Ctrl-C in the terminal that started it must not reach the server.
  # Settings favour speed over durability: this server holds throwaway test data.
  setsid "$MARIADBD" --no-defaults --user="$RUN_AS" \
    --datadir="$DATADIR" --socket="$SOCKET" --pid-file="$PIDFILE" --log-error="$ERRLOG" \
    --port="$PORT" --bind-address=127.0.0.1 --skip-name-resolve \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --default-time-zone=+00:00 --max-connections=500 \
    --skip-log-bin --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 \
    --innodb-doublewrite=0 --skip-innodb-adaptive-hash-index \
    </dev/null >/dev/null 2>&1 9>&- &
  local launcher=$! waited=0
  until admin ping >/dev/null 2>&1; do
    if ! kill -0 "$launcher" 2>/dev/null && ! server_pid >/dev/null; then
      show_log
      die "mariadbd exited during start-up (port $PORT taken?)"
    fi
    if [ "$waited" -ge $((TIMEOUT * 5)) ]; then
      show_log
      die "mariadbd not ready after ${TIMEOUT}s"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  if ! provision_user; then
    show_log
    die "could not create the ${USER_NAME} user"
  fi
  # The TCP port answers as the test user: the URL that `url` prints works.
  "$ADMIN" --no-defaults --protocol=tcp --host=127.0.0.1 --port="$PORT" --user="$USER_NAME" \
    --password="$USER_PASSWORD" --connect-timeout=5 ping >/dev/null \
    || die "the server does not answer on 127.0.0.1:$PORT as ${USER_NAME}"
  note "running on 127.0.0.1:$PORT (pid $(server_pid || echo '?'), datadir $DATADIR)"
}

stop() {
  terminate_server || return 0
  rm -f "$PORTFILE"
  note "stopped"
}

LOCK_PATH=$DATADIR

case ${1:-} in
  start) with_lock start ;;
  stop) with_lock stop ;;
  status) print_status ;;
  url) echo "mysql+asyncmy://${USER_NAME}:${USER_PASSWORD}@127.0.0.1:${PORT}/" ;;
  *)
    echo "usage: $0 start|stop|status|url" >&2
    exit 2
    ;;
esac
