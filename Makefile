# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test install install-dev chromium bench clean docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

install: $(STAMP)

install-dev: $(DEVSTAMP)

demo: $(STAMP)
	$(BIN)/datong demo

# Debian's Chromium for the console tests, and a TrueType CJK font for licence PDFs; installed
# only when missing.
CJK_FONT ?= /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
chromium:
	@if [ ! -x $(CHROMIUM) ] || [ ! -f $(CJK_FONT) ]; then \
	  echo "installing Debian's chromium and CJK fonts for the console tests and licence PDFs"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk fonts-wqy-microhei >/dev/null; \
	fi

test: $(DEVSTAMP) chromium
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

# Every benchmark prints JSON; the PostgreSQL runs use BENCH_PG. About 20 minutes on the dev machine.
BENCH_PG ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
bench: $(DEVSTAMP)
	@command -v wrk >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python benchmarks/codes_vectorised.py
	$(BIN)/python benchmarks/ingest.py 1000000
	$(BIN)/python benchmarks/ingest.py 1000000 --postgres $(BENCH_PG)
	$(BIN)/python benchmarks/audit_chain.py 500000
	$(BIN)/python benchmarks/audit_chain.py 300000 --postgres $(BENCH_PG)
	$(BIN)/python benchmarks/share_lookup.py 8
	$(BIN)/python benchmarks/share_lookup.py 8 --postgres $(BENCH_PG)
	$(BIN)/python benchmarks/hostile_input.py 300000
	$(BIN)/python benchmarks/licences.py 100000
	$(BIN)/python benchmarks/services.py

clean:
	rm -rf $(VENV) var .pytest_cache

# Regenerate the CLI reference (a test fails when it is out of date).
docs: $(DEVSTAMP)
	$(BIN)/typer datong.cli utils docs --name datong --title "datong command reference" --output docs/cli.md
