# xenops.xen: one entry point for setup, tests and the demo.
#   make test   everything CI runs (lint, sanity, unit, lab smoke test on real Xen)
#   make unit   unit tests only
#   make lint   ansible-lint (production profile) and ansible-test sanity
#   make demo   boot the lab and run the main playbook against it
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
COLLECTIONS := $(CURDIR)/.tmp/collections
COLL_LINK := $(COLLECTIONS)/ansible_collections/xenops/xen
SANITY_ROOT := $(CURDIR)/.tmp/sanity
SANITY_COPY := $(SANITY_ROOT)/ansible_collections/xenops/xen
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PYTHONPATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)

.PHONY: test unit lint ansible-lint sanity lab-test demo venv collection clean

test: lint unit lab-test

venv: $(VENV)/.stamp

$(VENV)/.stamp: tests/requirements.txt tests/scripts/bootstrap-host.sh
	tests/scripts/bootstrap-host.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r tests/requirements.txt
	touch $@

collection:
	mkdir -p $(dir $(COLL_LINK))
	ln -sfn ../../../.. $(COLL_LINK)

unit: venv collection
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

ansible-lint: venv collection
	$(BIN)/ansible-lint --profile production

sanity: venv
	pipv=$$($(BIN)/python -c 'import re,ansible_test,os; print(re.search(r"pip=.([0-9.]+)", open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal/python_requirements.py")).read()).group(1))') && \
	  mkdir -p ~/.ansible/test/cache && cp tests/scripts/get_pip_offline.py ~/.ansible/test/cache/get_pip_$${pipv//./_}.py
	rm -rf $(SANITY_ROOT) && mkdir -p $(SANITY_COPY)
	git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf - | tar -xf - -C $(SANITY_COPY)
	cd $(SANITY_COPY) && git init -q && git add -A && \
	  $(BIN)/ansible-test sanity --color no --python 3.11 --requirements

lint: ansible-lint sanity

lab-test: venv collection
	$(BIN)/python -m pytest -v -p no:cacheprovider tests/lab

demo: venv collection
	hypervisor/lab up
	hypervisor/lab inventory .tmp/lab-inventory.yml
	$(BIN)/ansible-playbook -i .tmp/lab-inventory.yml playbooks/site.yml

clean:
	rm -rf .tmp
