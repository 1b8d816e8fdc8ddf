#!/usr/bin/env bash
# Regenerates trawl/grpc_services/gen from proto/ with the pinned grpcio-tools.
# protoc writes imports after the proto path (trawl.accounts.v1); we place the output under
# trawl/grpc_services/gen and rewrite those imports, so code imports stay plain.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mapfile -t protos < <(cd proto && find trawl -name '*.proto' | sort)
(cd proto && "$OLDPWD/$PY" -m grpc_tools.protoc -I . --python_out="$out" --pyi_out="$out" \
  --grpc_python_out="$out" "${protos[@]}")
gen=trawl/grpc_services/gen
rm -rf "$gen"
mkdir -p "$gen"
cp -r "$out/trawl/." "$gen/"
find "$gen" -type d -exec sh -c 'touch "$1/__init__.py"' _ {} \;
find "$gen" -name '*.py' -o -name '*.pyi' | while read -r f; do
  sed -i -E 's/^from trawl\.([a-z_]+)\.v1 import/from trawl.grpc_services.gen.\1.v1 import/' "$f"
done
echo "generated $(find "$gen" -name '*_pb2*.py' | wc -l) modules in $gen"
