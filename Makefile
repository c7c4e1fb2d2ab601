# The two commands in README.md:
#   make book   set everything up (venv, Python and npm packages) and build the site
#   make test   run every test, including the slow ones (book build, browser, grading)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast setup exercises benchmarks clean

book: setup
	@if [ -f _build/.built ] && [ -n "$$(find lrcourse -name '*.py' -newer _build/.built)" ]; then \
	  echo "lrcourse changed since the last build: clearing the execution cache"; rm -rf _build/.jupyter_cache; fi
	$(BIN)/jupyter-book build . -W -n --builder html
	@touch _build/.built
	@echo "Built: open _build/html/index.html"

test: setup $(VENV)/.installed-scale
	$(BIN)/pytest -m "slow or not slow"

test-fast: setup
	$(BIN)/pytest -m "not slow"

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	@touch $(STAMP)

# The scale-out extras (Ray Tune) are tested but not needed to build the book.
$(VENV)/.installed-scale: requirements-scale.txt $(STAMP)
	$(BIN)/pip install --quiet -r requirements-scale.txt
	@touch $@

# Pinned build assets for kernel-free widgets; without npm the site falls back to CDN scripts.
node_modules/.package-lock.json: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund; \
	else echo "npm not found: the built pages will load the widget JavaScript from a CDN"; fi

# Regenerate the student notebooks from the exercise masters (instructors; see exercises/README.md).
exercises: setup
	$(BIN)/python -m lrcourse.grading.generate

benchmarks: setup
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf _build
