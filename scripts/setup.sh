#!/usr/bin/env bash
# Idempotent set-up for development and CI:
#   - the Debian packages the test servers need (mariadb-server, redis-server), installed
#     only when their binaries are absent; services are never started by the install;
#   - .venv (python3) with `pip install -c constraints.txt -e .[dev]`, skipped when a stamp
#     inside .venv matches the sha256 of constraints.txt + pyproject.toml.
# Silent when there is nothing to do; one line per action; full output only on failure.
# Env: PYTHON (python3), TRAWL_SKIP_APT=1 to never touch apt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.trawl-deps.sha256
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

note() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

run_quiet() {  # runs "$@" with its output captured, shown only when it fails
  local log rc=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    note "failed (exit $rc): $*"
    return "$rc"
  fi
  rm -f "$log"
}

have() {  # a binary on PATH or in /usr/sbin (not on every user's PATH)
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]
}

# -- Debian packages -------------------------------------------------------------------
SUDO=()
POLICY_GUARD=""
cleanup() {
  if [ -n "$POLICY_GUARD" ]; then "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d || true; fi
}
trap cleanup EXIT

apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to apt-get install $*"
    SUDO=(sudo)
  fi
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install $* by hand"
  # Installing mariadb-server/redis-server would start the system services (no systemd
  # here: through invoke-rc.d). A policy-rc.d answering 101 forbids that; ours is removed
  # afterwards, an existing one is left alone.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    POLICY_GUARD=1
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
  fi
  note "apt-get install $*"
  run_quiet "${SUDO[@]}" apt-get update -q
  run_quiet "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends -o Dpkg::Options::=--force-confdef \
    -o Dpkg::Options::=--force-confold "$@"
  cleanup
  POLICY_GUARD=""
}

packages=()
have mariadbd || have mysqld || packages+=(mariadb-server)
have mariadb-install-db || have mysql_install_db || packages+=(mariadb-server)
have mariadb-admin || have mysqladmin || packages+=(mariadb-client)
have mariadb || have mysql || packages+=(mariadb-client)
have redis-server || packages+=(redis-server)
have redis-cli || packages+=(redis-tools)
have flock || packages+=(util-linux)
# Debian's python3 lacks venv/ensurepip until python3-venv is installed.
if [ ! -x "$VENV/bin/python" ] && [ "$(command -v "$PYTHON" || true)" = /usr/bin/python3 ] \
    && ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  if [ "${TRAWL_SKIP_APT:-}" = 1 ]; then
    note "TRAWL_SKIP_APT=1: not installing ${packages[*]}"
  else
    mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)
    apt_install "${packages[@]}"
  fi
fi

# -- Python virtualenv -----------------------------------------------------------------
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
if [ -e "$VENV" ] && ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
  note "$VENV is broken (its interpreter does not run): recreating it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  note "creating $VENV with $("$PYTHON" --version 2>&1)"
  run_quiet "$PYTHON" -m venv "$VENV"
fi

want=$(cat constraints.txt pyproject.toml | sha256sum | cut -d' ' -f1)
have_stamp=$(cat "$STAMP" 2>/dev/null || true)
if [ "$want" != "$have_stamp" ] || [ ! -x "$VENV/bin/trawl" ]; then
  note "installing Python dependencies into $VENV (constraints.txt)"
  rm -f "$STAMP"
  run_quiet "$VENV/bin/python" -m pip install -c constraints.txt -e '.[dev]'
  echo "$want" >"$STAMP"
fi
