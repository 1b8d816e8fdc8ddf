# shellcheck shell=bash
# Shared by scripts/mariadb.sh and scripts/redis.sh (sourced, not run).
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
