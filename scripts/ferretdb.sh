#!/usr/bin/env bash
# A private FerretDB server (MongoDB wire protocol) for the tests: SQLite backend, loopback
# only, telemetry off, no debug HTTP listener; data, state, pid file and log under
# .data/test-ferretdb. The binary is built once from the Go module proxy into .data/bin,
# with GOPATH/GOCACHE under .data/go, so nothing outside the checkout is touched.
#
#   scripts/ferretdb.sh build    build .data/bin/ferretdb if absent (or another version)
#   scripts/ferretdb.sh start    build if needed, start, wait until a pymongo ping answers
#                                (already running -> ok)
#   scripts/ferretdb.sh stop     shut it down (not running -> ok)
#   scripts/ferretdb.sh status   exit 0 when running, 1 otherwise
#   scripts/ferretdb.sh url      print the mongodb:// URI
#
# Env: TRAWL_TEST_FERRETDB_PORT (27018), TRAWL_TEST_FERRETDB_DIR (.data/test-ferretdb, -PORT appended off the default port),
#      TRAWL_TEST_FERRETDB_TIMEOUT (seconds to wait for start/stop, 30),
#      TRAWL_GO (the go binary; default: go on PATH, else /usr/local/go/bin/go).
#
# Why not plain `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2`: the module
# zip lacks the generated build/version/version.txt, so that binary panics at start-up
# ("Invalid build/version/version.txt file content", FerretDB issue #2982). We build the same
# module version, verified by the checksum database, from a writable copy with that file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2  # needs Go >= 1.24 to build
PORT=${TRAWL_TEST_FERRETDB_PORT:-27018}
# A run on another port gets its own data dir, so two test runs side by side never share one.
DEFAULT_DIR=$ROOT/.data/test-ferretdb
[ "$PORT" = 27018 ] || DEFAULT_DIR=$DEFAULT_DIR-$PORT
DIR=${TRAWL_TEST_FERRETDB_DIR:-$DEFAULT_DIR}
TIMEOUT=${TRAWL_TEST_FERRETDB_TIMEOUT:-30}
BUILD_TIMEOUT=900  # waiting for another process's build
BIN_DIR=$ROOT/.data/bin
FERRETDB=$BIN_DIR/ferretdb
GO_HOME=$ROOT/.data/go
PYTHON=$ROOT/.venv/bin/python

case $DIR in /*) ;; *) DIR=$ROOT/$DIR ;; esac
PIDFILE=$DIR/ferretdb.pid
LOGFILE=$DIR/ferretdb.log
PORTFILE=$DIR/trawl-port
SQLITE_DIR=$DIR/sqlite

die() { printf 'ferretdb.sh: %s\n' "$*" >&2; exit 1; }
note() { printf 'ferretdb.sh: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib-process.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-process.sh"

server_pid() {  # prints the pid of our running ferretdb, or fails
  local pid comm
  [ -s "$PIDFILE" ] || return 1
  pid=$(tr -dc '0-9' <"$PIDFILE")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  comm=$(cat "/proc/$pid/comm" 2>/dev/null || true)
  [ "$comm" = ferretdb ] || return 1  # a recycled pid (or the launcher before its exec)
  echo "$pid"
}

show_log() {
  if [ -s "$LOGFILE" ]; then
    printf -- '--- last lines of %s ---\n' "$LOGFILE" >&2
    tail -n 20 "$LOGFILE" >&2
  fi
}

port_open() {  # something accepts TCP connections on 127.0.0.1:PORT
  (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null
}

mongo_ping() {  # the MongoDB `ping` command answers on PORT
  "$PYTHON" - "$PORT" <<'PY' >/dev/null 2>&1
import sys

from pymongo import MongoClient

client = MongoClient(f"mongodb://127.0.0.1:{sys.argv[1]}/", serverSelectionTimeoutMS=5000)
try:
    client.admin.command("ping")
finally:
    client.close()
PY
}

# Whether BINARY reports our version. Its output is read whole before grep sees it: with
# pipefail, `ferretdb --version | grep -q` fails at random when grep exits at the first line
# and ferretdb then dies of SIGPIPE writing the rest (a fresh CI build failed that way).
reports_version() {
  local output
  output=$("$1" --version 2>/dev/null) || return 1
  grep -qx "version: $FERRETDB_VERSION" <<<"$output"
}

binary_current() {
  [ -x "$FERRETDB" ] && reports_version "$FERRETDB"
}

build() {
  binary_current && return 0
  mkdir -p "$GO_HOME" "$BIN_DIR"
  # One build at a time, whichever data directory asked for it.
  exec 8>"$GO_HOME/build.lock"
  flock -w "$BUILD_TIMEOUT" 8 || die "timed out waiting for $GO_HOME/build.lock"
  if binary_current; then  # built by whoever held the lock
    exec 8>&-
    return 0
  fi
  local go scratch log src started=$SECONDS rc=0
  go=$(find_go) || die "Go not found (needed once, to build FerretDB $FERRETDB_VERSION): \
install Go >= 1.24 from https://go.dev/dl, or set TRAWL_GO to its go binary"
  note "building FerretDB $FERRETDB_VERSION with $("$go" env GOVERSION) into $FERRETDB" \
    "(once; about 2 minutes)"
  scratch=$(mktemp -d "$GO_HOME/build.XXXXXX")
  log=$scratch/build.log
  # Everything Go writes stays under .data/go; -modcacherw lets `rm -rf .data` work;
  # no VCS stamping (the copy sits inside this repository's work tree); no cgo (the SQLite
  # driver is pure Go, and a C compiler is then not needed).
  export GOPATH=$GO_HOME GOMODCACHE=$GO_HOME/pkg/mod GOCACHE=$GO_HOME/cache
  export GOFLAGS="-modcacherw -buildvcs=false" GOWORK=off CGO_ENABLED=0
  {
    src=$("$go" mod download -json "$FERRETDB_MODULE@$FERRETDB_VERSION" 2>>"$log" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') \
      && [ -n "$src" ] && [ -d "$src" ] \
      && cp -R "$src" "$scratch/src" && chmod -R u+w "$scratch/src" \
      && printf '%s\n' "$FERRETDB_VERSION" >"$scratch/src/build/version/version.txt" \
      && (cd "$scratch/src" && "$go" build -trimpath -o "$scratch/ferretdb" ./cmd/ferretdb) \
      && reports_version "$scratch/ferretdb" \
      && mv -f "$scratch/ferretdb" "$FERRETDB"
  } >>"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    printf -- '--- go build output ---\n' >&2
    tail -n 40 "$log" >&2
    rm -rf "$scratch"
    die "building FerretDB $FERRETDB_VERSION failed (Go >= 1.24 and the Go module proxy," \
      "$("$go" env GOPROXY), are needed)"
  fi
  rm -rf "$scratch"
  exec 8>&-
  note "built $FERRETDB in $((SECONDS - started))s"
}

start() {
  local pid running_port waited=0
  if pid=$(server_pid); then
    running_port=$(cat "$PORTFILE" 2>/dev/null || echo "?")
    [ "$running_port" = "$PORT" ] \
      || die "already running (pid $pid) on port $running_port, not $PORT: stop it first"
    mongo_ping || die "pid $pid is running but does not answer on port $PORT; see $LOGFILE"
    note "already running on 127.0.0.1:$PORT (pid $pid)"
    return 0
  fi
  [ -x "$PYTHON" ] || die "$PYTHON not found: run scripts/setup.sh"
  build
  port_open && die "127.0.0.1:$PORT is already taken by another process;" \
    "set TRAWL_TEST_FERRETDB_PORT to a free port"
  mkdir -p "$SQLITE_DIR"
  rm -f "$PIDFILE"
  : >"$LOGFILE"
  echo "$PORT" >"$PORTFILE"
  # setsid: a Ctrl-C in the terminal that started it must not reach the server. The shell
  # writes its own pid and then becomes ferretdb, so the pid file holds the server's pid.
  # shellcheck disable=SC2016  # $$ and $1 expand in the inner shell
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' ferretdb-launcher "$PIDFILE" \
    "$FERRETDB" --handler=sqlite --sqlite-url="file:$SQLITE_DIR/" --state-dir="$DIR" \
    --listen-addr="127.0.0.1:$PORT" --debug-addr=- --telemetry=disable \
    --log-level=error --log-format=text \
    </dev/null >>"$LOGFILE" 2>&1 9>&- &
  until server_pid >/dev/null && port_open; do
    if [ "$waited" -ge 10 ] && ! server_pid >/dev/null; then  # 2s without a live server
      show_log
      die "ferretdb exited during start-up"
    fi
    if [ "$waited" -ge $((TIMEOUT * 5)) ]; then
      show_log
      die "ferretdb not listening on 127.0.0.1:$PORT after ${TIMEOUT}s"
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  if ! mongo_ping || ! server_pid >/dev/null; then
    show_log
    die "ferretdb listens on 127.0.0.1:$PORT but does not answer a MongoDB ping"
  fi
  note "running on 127.0.0.1:$PORT (pid $(server_pid), data $SQLITE_DIR)"
}

stop() {
  terminate_server || return 0
  rm -f "$PORTFILE" "$PIDFILE"
  note "stopped"
}

LOCK_PATH=$DIR
LOCK_WAIT=$((TIMEOUT + BUILD_TIMEOUT))

case ${1:-} in
  build) build ;;
  start) with_lock start ;;
  stop) with_lock stop ;;
  status) print_status ;;
  url) echo "mongodb://127.0.0.1:${PORT}/" ;;
  *)
    echo "usage: $0 build|start|stop|status|url" >&2
    exit 2
    ;;
esac
