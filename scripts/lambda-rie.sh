#!/usr/bin/env bash
# The AWS Lambda Runtime Interface Emulator (RIE) for the tests that run the Lambda entry
# point under the real Lambda runtime protocol (tests/e2e/test_lambda_entry.py). Built once
# from the Go module proxy into .data/bin, with GOPATH/GOCACHE under .data/go (shared with
# scripts/ferretdb.sh, one Go build at a time), so nothing outside the checkout is touched.
#
#   scripts/lambda-rie.sh [build]    build .data/bin/aws-lambda-rie if absent (or another
#                                    version), then print its path on stdout
#   scripts/lambda-rie.sh path       print the path without building
#
# Env: TRAWL_GO (the go binary; default: go on PATH, else /usr/local/go/bin/go).
#
# The RIE has no --version (any invocation starts its server), so the built version is kept
# in a stamp file beside the binary. Building takes about 25 s with an empty Go cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d  # go.mod says go 1.26.6
BUILD_TIMEOUT=900  # waiting for another process's build
BIN_DIR=$ROOT/.data/bin
RIE=$BIN_DIR/aws-lambda-rie
STAMP=$RIE.version
GO_HOME=$ROOT/.data/go

die() { printf 'lambda-rie.sh: %s\n' "$*" >&2; exit 1; }
note() { printf 'lambda-rie.sh: %s\n' "$*" >&2; }
# shellcheck source=scripts/lib-process.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib-process.sh"

binary_current() {
  [ -x "$RIE" ] && [ "$(cat "$STAMP" 2>/dev/null || true)" = "$RIE_VERSION" ]
}

build_locked() {  # runs holding the Go build lock
  binary_current && return 0  # built by whoever held the lock
  local go scratch log started=$SECONDS rc=0
  go=$(find_go) || die "Go not found (needed once, to build the Lambda RIE): install Go >=" \
    "1.26 from https://go.dev/dl, or set TRAWL_GO to its go binary"
  note "building the Lambda RIE $RIE_VERSION with $("$go" env GOVERSION) into $RIE (once)"
  scratch=$(mktemp -d "$GO_HOME/build.XXXXXX")
  log=$scratch/build.log
  # As in ferretdb.sh: everything Go writes stays under .data/go, -modcacherw lets
  # `rm -rf .data` work, no cgo (no C compiler needed). `go install module@version` builds
  # the module as published, verified by the checksum database; -s -w as its Makefile does.
  (
    export GOPATH=$GO_HOME GOMODCACHE=$GO_HOME/pkg/mod GOCACHE=$GO_HOME/cache
    export GOFLAGS="-modcacherw -buildvcs=false" GOWORK=off CGO_ENABLED=0
    export GOBIN=$scratch
    "$go" install -trimpath -ldflags "-s -w" "$RIE_MODULE/cmd/aws-lambda-rie@$RIE_VERSION"
  ) >>"$log" 2>&1 || rc=$?
  if [ "$rc" -ne 0 ] || [ ! -x "$scratch/aws-lambda-rie" ]; then
    printf -- '--- go install output ---\n' >&2
    tail -n 40 "$log" >&2
    rm -rf "$scratch"
    die "building the Lambda RIE $RIE_VERSION failed (Go >= 1.26 and the Go module proxy," \
      "$("$go" env GOPROXY), are needed)"
  fi
  mkdir -p "$BIN_DIR"
  rm -f "$STAMP"
  mv -f "$scratch/aws-lambda-rie" "$RIE"
  echo "$RIE_VERSION" >"$STAMP"
  rm -rf "$scratch"
  note "built $RIE in $((SECONDS - started))s"
}

build() {
  if ! binary_current; then
    mkdir -p "$GO_HOME"
    # The same lock file as ferretdb.sh's build: one Go build at a time on this checkout.
    LOCK_PATH=$GO_HOME/build LOCK_WAIT=$BUILD_TIMEOUT with_lock build_locked
    exec 9>&-
  fi
  echo "$RIE"
}

case ${1:-build} in
  build) build ;;
  path) echo "$RIE" ;;
  *)
    echo "usage: $0 [build|path]" >&2
    exit 2
    ;;
esac
