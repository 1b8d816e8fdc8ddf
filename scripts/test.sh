#!/usr/bin/env bash
# The whole test command: set-up, the MariaDB, Redis and FerretDB test servers, then pytest.
#   scripts/test.sh [pytest args...]     (default: every test, e2e included)
# Exports TRAWL_TEST_MARIADB_URL, TRAWL_TEST_REDIS_URL and TRAWL_TEST_MONGO_URL for the tests.
# FerretDB is built from the Go module proxy on the first run (about 2 minutes). Servers this
# script started are stopped on exit; servers that were already running (a developer
# keeping them up between runs: scripts/mariadb.sh start) are left running.
# Exit status: pytest's; "no tests collected" (5) counts as a failure too.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

started=()
# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
  local server
  for server in "${started[@]}"; do
    bash "scripts/$server.sh" stop || true
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for server in mariadb redis ferretdb; do
  if ! bash "scripts/$server.sh" status >/dev/null 2>&1; then
    started+=("$server")
  fi
  bash "scripts/$server.sh" start
done

TRAWL_TEST_MARIADB_URL=$(bash scripts/mariadb.sh url)
TRAWL_TEST_REDIS_URL=$(bash scripts/redis.sh url)
TRAWL_TEST_MONGO_URL=$(bash scripts/ferretdb.sh url)
export TRAWL_TEST_MARIADB_URL TRAWL_TEST_REDIS_URL TRAWL_TEST_MONGO_URL

rc=0
.venv/bin/python -m pytest "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test.sh: pytest collected no tests: failing" >&2
fi
exit "$rc"
