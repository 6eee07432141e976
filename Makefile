# The two set-up commands: `make lab` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: lab test unit notebooks bench lint sim data clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

# The notebooks start a seeded simulator themselves unless SMPPKIT_SMSC points at a real SMSC.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ip=127.0.0.1

test: $(STAMP)
	$(BIN)/ruff check smppkit tests benchmarks
	$(BIN)/python -m pytest tests -q
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check smppkit tests benchmarks

sim: $(STAMP)
	$(BIN)/smppkit sim

data: $(STAMP)
	$(BIN)/python -m smppkit.notebook.datasets regenerate

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
