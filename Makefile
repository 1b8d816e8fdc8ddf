# Developer entry points; CI runs the same targets through .ci/run.
# Extra pytest arguments: make test ARGS='-k invitations -x'
VENV := .venv
BIN := $(VENV)/bin
PY_DIRS := trawl tests bench
ARGS ?=

.PHONY: setup up test test-quick lint gen check-gen schema bench bench-ingest bench-live

setup:
	bash scripts/setup.sh

up: setup
	$(BIN)/trawl up

test:
	bash scripts/test.sh $(ARGS)

test-quick:
	bash scripts/test.sh -m "not e2e" $(ARGS)

lint:
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy

gen:
	bash scripts/gen_protos.sh

check-gen:
	bash scripts/check_generated.sh

# Written through a temporary file so a failing command leaves schema.graphql untouched.
schema:
	$(BIN)/trawl schema > schema.graphql.tmp
	mv schema.graphql.tmp schema.graphql

bench:
	$(BIN)/python -m bench.gateway.run
	$(BIN)/python -m bench.gateway.nested_runs
	$(BIN)/python -m bench.runs.run
	$(BIN)/python -m bench.crawl.run

bench-live:
	$(BIN)/python -m bench.live

# The stream job end to end (MongoDB, moto, Flink); long, so not part of `make bench`.
# Extra arguments: make bench-ingest ARGS='--records 20000' or ARGS='--tune'
bench-ingest:
	$(BIN)/python -m bench.ingest $(ARGS)
