#!/usr/bin/env bash
# CI: fails when regenerating the gRPC stubs or the GraphQL schema changes anything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/gen_protos.sh >/dev/null
.venv/bin/trawl schema > schema.graphql
if ! git diff --exit-code --stat -- trawl/grpc_services/gen schema.graphql; then
  echo "generated files drifted: run 'make gen schema' and commit the result" >&2
  exit 1
fi
untracked=$(git ls-files --others --exclude-standard -- trawl/grpc_services/gen)
if [ -n "$untracked" ]; then
  echo "generated files not committed: $untracked" >&2
  exit 1
fi
echo "generated files are up to date"
