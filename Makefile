# The two commands of the README: `make demo` (set up, start the stack, run the main job)
# and `make test` (set up, lint, type-check, check contracts, run every test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo lint deploy-tools image test bench chaos up down clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/trawl up
	$(BIN)/trawl demo

lint: setup
	$(BIN)/ruff check shared services trawl tests bench deploy
	$(BIN)/ruff format --check shared services trawl tests bench deploy
	$(BIN)/mypy --strict shared services trawl
	$(BIN)/trawl schemas check

# helm, kubeconform and promtool for tests/deploy, built once per version into .trawl/tools/.
deploy-tools:
	deploy/tools/install.sh

# The container image, built with podman and checked (deploy/image/build.sh).
image:
	deploy/image/build.sh

test: lint deploy-tools image
	$(BIN)/pytest -q

bench: setup
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench.outbox_throughput
	$(BIN)/python -m bench.crawl_vs_scrapy
	$(BIN)/python -m bench.extract_index
	$(BIN)/python -m bench.vector_search
	$(BIN)/python -m bench.search_at_scale
	$(BIN)/python -m bench.reindex_live
	$(BIN)/python -m bench.near_duplicates
	$(BIN)/python -m bench.images
	$(BIN)/python -m bench.export

# The whole system under faults on a stack of its own (tests/chaos): prints a table, fails if a line is off.
chaos: setup
	$(BIN)/python -m tests.chaos

up: setup
	$(BIN)/trawl up

down: setup
	$(BIN)/trawl down

clean: down
	rm -rf .trawl
