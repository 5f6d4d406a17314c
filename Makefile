# Two commands for a newcomer: `make run` starts everything, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MODEL_DIR ?= models/tiny-random-gpt2
LOCKED := requirements/dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(LOCKED) | cksum | cut -d' ' -f1)

.PHONY: help install lock model redis redis-server-installed test-tools k8s-tools testbed cluster worker api run test lint clean

help:
	@echo "make run     Redis (unless one answers at REDIS_URL), one worker and the api on :8000"
	@echo "make test    lint, type-check and the whole test suite (starts its own Redis)"
	@echo "make redis | make worker | make api    one part each, for separate terminals"
	@echo "make lock    refresh uv.lock and requirements/ after a change to pyproject.toml (UPGRADE=redis moves one)"
	@echo "make model   build the offline tiny model into $(MODEL_DIR)"
	@echo "make testbed a local kube-apiserver + etcd to try the Helm chart (no pods run)"
	@echo "make cluster a local one-node Kubernetes cluster with the chart installed from this checkout (root)"

# Exactly the locked versions, each checked against its hash; then the project itself, with the locked
# setuptools (no build isolation, which would fetch whatever setuptools is newest).
$(STAMP): $(LOCKED)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCKED)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# uv.lock and requirements/*.txt from pyproject.toml; `make lock UPGRADE=redis` moves one dependency to its
# newest allowed version, `make lock UPGRADE=all` every one.
lock: | $(STAMP)
	scripts/lock.sh $(if $(filter all,$(UPGRADE)),--upgrade,$(if $(UPGRADE),--upgrade-package $(UPGRADE)))

.env:
	cp .env.example .env
	@echo "created .env from .env.example (edit it to change keys, model or ports)"

$(MODEL_DIR)/config.json: | $(STAMP)
	$(BIN)/python -m workers.model_builder --out $(MODEL_DIR)

model: $(MODEL_DIR)/config.json

redis-server-installed:
	@scripts/ensure_redis.sh

test-tools:
	@scripts/ensure_test_tools.sh
	@scripts/ensure_cluster_tools.sh
	@scripts/ensure_k8s_tools.sh >/dev/null

# helm, the Kubernetes components, etcd and CoreDNS built from their Go modules (about 6 minutes once, then cached).
k8s-tools:
	@scripts/ensure_k8s_tools.sh

# A Kubernetes control plane on loopback to try the chart by hand; prints its KUBECONFIG.
testbed: install k8s-tools
	$(BIN)/python -m tests.k8s.testbed

# A one-node cluster (containerd, kubelet, kube-proxy, CoreDNS) with the chart installed from images built
# from this checkout; prints the api's address and key. Ctrl-C removes it and puts the host back.
cluster: install
	@scripts/ensure_cluster_tools.sh
	@scripts/ensure_k8s_tools.sh >/dev/null
	$(BIN)/python -m tests.cluster.cluster

redis: install redis-server-installed .env
	$(BIN)/python scripts/dev.py redis

worker: install model .env
	$(BIN)/python -m workers

api: install .env
	$(BIN)/gunicorn -c api/gunicorn_conf.py api.wsgi:app

run: install redis-server-installed model .env
	$(BIN)/python scripts/dev.py run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: install redis-server-installed test-tools lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) models .redis-data logs .pytest_cache .mypy_cache .ruff_cache .schemathesis .hypothesis *.egg-info tests/js/node_modules
