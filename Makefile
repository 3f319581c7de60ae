# Everything runs as root on Debian 12 (the lab needs namespaces, mounts, systemd-nspawn).
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PROVISION := $(VENV)/bin/provision
# vagrant: only `vagrant validate` of vagrant/Vagrantfile in the unit tests (no VirtualBox needed).
# chromium: the report card page is rendered headless in a test (tests/unit/test_report_card_browser.py).
APT_PACKAGES := mmdebstrap systemd-container rpm createrepo-c gnupg openssh-client openssh-server sudo iproute2 python3-venv vagrant chromium
LAB_HOSTS ?= 3
INV := inventories/lab.yml
PLAYBOOK := playbooks/docker-ce.yml

.PHONY: deps venv demo test lint unit integration bench bench-peers lab-up lab-down lab-status clean

# System packages, installed only when one is missing (apt is slow).
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The package is installed (not run from the bare tree), with its dev tools.
venv: deps
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip >/dev/null
	@$(PY) -m pip install -q '.[dev]'

demo: venv
	$(PY) -m tests.lab up $(LAB_HOSTS)
	$(PY) -m tests.lab reset lab01 --profile el7
	@if [ $(LAB_HOSTS) -ge 2 ]; then $(PY) -m tests.lab reset lab02 --profile el9-podman; fi
	@echo; echo "== 0. the hosts: lab01 is CentOS 7 as it is since its end of life (its mirrors are gone), lab02 AlmaLinux 9 with podman"
	$(PROVISION) facts -i $(INV)
	@echo; echo "== 1. dry run: what would change (nothing changes)"
	-$(PROVISION) apply -i $(INV) $(PLAYBOOK) --check
	@echo; echo "== 2. apply: converge the hosts"
	$(PROVISION) apply -i $(INV) $(PLAYBOOK)
	@echo; echo "== 3. apply again: nothing to change"
	$(PROVISION) apply -i $(INV) $(PLAYBOOK)
	@echo; echo "== 4. verify: the report card (every host passes)"
	$(PROVISION) verify -i $(INV) $(PLAYBOOK) --html .lab/report.html
	@echo; echo "The lab is still up: ssh -i .lab/id_ed25519 -o UserKnownHostsFile=.lab/known_hosts student@10.66.0.11 docker run hello-world"
	@echo "Take it down with: make lab-down"

lint: venv
	$(VENV)/bin/ruff check provisioner tests bench
	$(VENV)/bin/ruff format --check provisioner tests bench
	$(VENV)/bin/mypy --strict provisioner tests bench
	$(VENV)/bin/lint-imports --no-cache

unit: venv
	$(VENV)/bin/pytest -m "not lab" -q

integration: venv
	$(VENV)/bin/pytest -m lab -q

test: lint unit integration

# Not part of `make test`: provision against the floor on loopback sshds (root), N up to
# 200 (BENCH_MAX=10 for a quick look, BENCH_MAX=500), BENCH_RUNS runs each: bench/README.md.
bench: venv
	$(PY) -m bench

# Not part of `make test` either: the same with pyinfra and ansible-core beside, pinned, in
# a venv of their own (not dependencies of the project; ansible-core 2.20+ needs Python
# 3.12). Ansible up to N = 50 by default (BENCH_ANSIBLE_MAX=200 to go on): bench/README.md.
PEERS_VENV ?= bench/.peers-venv
PEERS_PINS := pyinfra==3.10.0 ansible-core==2.19.14
bench-peers: venv
	@test -x $(PEERS_VENV)/bin/python || python3 -m venv $(PEERS_VENV)
	@$(PEERS_VENV)/bin/python -m pip install -q $(PEERS_PINS)
	$(PY) -m bench --peers $(PEERS_VENV)

lab-up: venv
	$(PY) -m tests.lab up $(LAB_HOSTS)

lab-down:
	@if [ -x $(PY) ]; then $(PY) -m tests.lab down; else python3 -m tests.lab down; fi

lab-status:
	$(PY) -m tests.lab status
