# shellcheck shell=bash
# Shared by scripts/mariadb.sh, redis.sh and ferretdb.sh (sourced, not run).
# Needs: note(), server_pid(), TIMEOUT (seconds).

# Sends SIGTERM to the running server, waits up to TIMEOUT seconds, then SIGKILLs it.
# Returns 1 when no server was running.
terminate_server() {
  local pid waited=0
  if ! pid=$(server_pid); then
    note "not running"
    return 1
  fi
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((TIMEOUT * 5)) ]; then
      note "pid $pid ignored SIGTERM for ${TIMEOUT}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
}

# Runs "$@" holding an exclusive lock on "$LOCK_PATH.lock" (one start/stop at a time per data
# directory, e.g. two test runs starting at once). Needs: die(), LOCK_PATH, and LOCK_WAIT
# (seconds; defaults to TIMEOUT).
with_lock() {
  mkdir -p "$(dirname "$LOCK_PATH")"
  exec 9>"$LOCK_PATH.lock"
  flock -w "${LOCK_WAIT:-$TIMEOUT}" 9 || die "timed out waiting for $LOCK_PATH.lock"
  "$@"
}

# The `status` subcommand: exit 0 and where it runs, or exit 1. Needs: server_pid(), PORTFILE.
print_status() {
  local pid
  if pid=$(server_pid); then
    echo "running on 127.0.0.1:$(cat "$PORTFILE" 2>/dev/null || echo "?") (pid $pid)"
  else
    echo "not running"
    exit 1
  fi
}

# The go binary for the builds from the Go module proxy (FerretDB, the Lambda RIE): TRAWL_GO,
# else go on PATH, else the official tarball's /usr/local/go/bin/go; fails when there is none.
find_go() {
  if [ -n "${TRAWL_GO:-}" ]; then
    [ -x "$TRAWL_GO" ] || return 1
    echo "$TRAWL_GO"
  elif command -v go >/dev/null 2>&1; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  else
    return 1
  fi
}
