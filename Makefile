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

# `make lab [PORT=8888] [IP=127.0.0.1] [BROWSER=0|1]`: JupyterLab on notebooks/, URL printed.
# The notebooks start a seeded simulator themselves unless SMPPKIT_SMSC points at a real SMSC.
# As root (containers, CI) it adds --allow-root; without a display it opens no browser.
# .venv/bin comes first on the lab's PATH, so `!smppkit ...` works in a notebook.
PORT    ?= 8888
IP      ?= 127.0.0.1
BROWSER ?= $(if $(DISPLAY)$(WAYLAND_DISPLAY)$(filter Darwin,$(shell uname -s)),1,0)

lab: $(STAMP)
	@token=$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(16))'); \
	root=; [ "$$(id -u)" = 0 ] && root=--allow-root; \
	browser=--no-browser; [ "$(BROWSER)" = 1 ] && browser=; \
	echo "JupyterLab: http://$(IP):$(PORT)/lab?token=$$token  (Ctrl-C stops it)"; \
	PATH="$(abspath $(BIN)):$$PATH" exec $(BIN)/jupyter lab --notebook-dir=notebooks \
	    --ip=$(IP) --port=$(PORT) --ServerApp.port_retries=0 \
	    --IdentityProvider.token=$$token $$root $$browser

# The unit and integration tests report branch coverage of smppkit (not the notebooks).
test: $(STAMP)
	$(BIN)/ruff check smppkit tests benchmarks
	$(BIN)/mypy
	$(BIN)/python -m pytest tests -q --cov=smppkit --cov-branch --cov-report=term
	$(BIN)/python -m pytest -q -p no:cacheprovider --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

unit: $(STAMP)
	$(BIN)/python -m pytest tests -q

notebooks: $(STAMP)
	$(BIN)/python -m pytest -q --nbval notebooks --nbval-sanitize-with notebooks/nbval_sanitize.cfg

bench: $(STAMP)
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check smppkit tests benchmarks
	$(BIN)/mypy

sim: $(STAMP)
	$(BIN)/smppkit sim

data: $(STAMP)
	$(BIN)/python -m smppkit.notebook.datasets regenerate

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
