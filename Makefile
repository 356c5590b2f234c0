# Two commands set up a fresh machine: `make run` starts the suite, `make test` passes the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# Debian packages the tests drive as real peers: logger (util-linux), rsyslog, chrony, curl, ss
# (iproute2); chromium and its WebDriver open the report and the live page as a reader would;
# podman and its helpers run the image and the compose file (tests/test_containers.py, .ci/run).
DEBIAN_PACKAGES := bsdutils rsyslog chrony curl iproute2 chromium chromium-driver \
	podman runc catatonit podman-compose mmdebstrap golang-github-containernetworking-plugin-dnsname

.PHONY: run test lint unit bench clean debian-packages lock

$(BIN)/edge-bridge: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-deps: $(BIN)/edge-bridge
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

## run: the whole suite in one process on local defaults (syslog 5514, NTP 10123, config 8080)
run: $(BIN)/edge-bridge
	$(BIN)/edge-bridge all

## debian-packages: the real third-party peers the integration tests talk to
debian-packages:
	@missing=""; \
	for tool in logger rsyslogd chronyd curl ss chromium chromedriver \
	    podman runc catatonit podman-compose mmdebstrap; do \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; \
	done; \
	[ -x /usr/lib/cni/dnsname ] || missing="$$missing dnsname"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages for:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $(DEBIAN_PACKAGES); \
	fi

## lock: pin the image's dependencies, with hashes, from pyproject.toml (the Dockerfile reads it)
lock: $(VENV)/.test-deps
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
	  --output-file requirements.lock

lint: $(VENV)/.test-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## test: install what the tests need, lint, type-check, run the whole suite
test: debian-packages $(VENV)/.test-deps lint
	$(BIN)/pytest -n 2 -q

## bench: the benchmarks against the anchors (rsyslog, chrony, a bare aiohttp handler)
bench: $(VENV)/.test-deps debian-packages
	$(BIN)/python bench/syslog_udp.py
	$(BIN)/python bench/syslog_parse.py
	$(BIN)/python bench/ntp.py
	$(BIN)/python bench/config_upload.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
