# Simpul — the two commands of README.md, and what they need.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test install install-test translations extract lint bench clean

run: install
	$(PY) run.py

test: install-test
	bash scripts/system-packages.sh
	$(PY) -m pytest $(PYTEST_ARGS)

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations

$(VENV)/.installed: requirements.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --disable-pip-version-check -q -r requirements-test.txt
	touch $(VENV)/.installed $@

# Compile the Indonesian catalogues (FAB's, WTForms' and Simpul's own).
translations: $(VENV)/.installed
	$(VENV)/bin/pybabel compile   -d app/i18n/fab -l id
	$(VENV)/bin/pybabel compile   -d app/i18n/wtforms -D wtforms -l id
	$(VENV)/bin/pybabel compile   -d app/i18n/simpul -l id

# Re-extract Simpul's own strings after changing code (then translate the new ones).
extract: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F app/i18n/babel-simpul.cfg -k N_ -k _ -k gettext -k lazy_gettext -o app/i18n/simpul/messages.pot app
	$(VENV)/bin/pybabel update -i app/i18n/simpul/messages.pot -d app/i18n/simpul -l id --ignore-obsolete

lint: install-test
	$(VENV)/bin/ruff check app tests bench run.py config.py

# Every benchmark at full size (BENCH_ARGS=--small: each in seconds, as tests/test_bench.py runs them).
bench: install-test
	for script in bench/*.py; do $(PY) $$script $(BENCH_ARGS) || exit 1; done

clean:
	rm -rf $(VENV) instance
