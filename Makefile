# The two commands in README.md:
#   make book   set everything up (venv, Python and npm packages) and build the site
#   make test   run every test, including the slow ones (book build, browser, grading)
# and, for learners and publishers (README, "Live, locally", "Binder / Colab", "Publishing"):
#   make lab        JupyterLab on this repository, chapters open as notebooks
#   make notebooks  regenerate the Colab copies notebooks/*.ipynb from book/*.md
#   make publish    the build for GitHub Pages: refuses the placeholder repository URL
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: book test test-fast setup exercises benchmarks clean lab notebooks publish

book: setup
	@if [ -f _build/.built ] && [ -n "$$(find lrcourse -name '*.py' -newer _build/.built)" ]; then \
	  echo "lrcourse changed since the last build: clearing the execution cache"; rm -rf _build/.jupyter_cache; fi
	$(BIN)/jupyter-book build . -W -n --builder html
	@touch _build/.built
	@echo "Built: open _build/html/index.html"

test: setup $(VENV)/.installed-scale $(VENV)/.installed-oracles
	$(BIN)/pytest -m "slow or not slow"

test-fast: setup $(VENV)/.installed-oracles
	$(BIN)/pytest -m "not slow"

setup: $(STAMP) node_modules/.package-lock.json

$(STAMP): requirements.txt pyproject.toml tools/install_requirements.py
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/python tools/install_requirements.py --quiet -r requirements.txt
	@touch $(STAMP)

# The scale-out extras (Ray Tune) are tested but not needed to build the book.
$(VENV)/.installed-scale: requirements-scale.txt $(STAMP)
	$(BIN)/pip install --quiet -r requirements-scale.txt
	@touch $@

# The mup package, an oracle for tests/test_mup.py, without its torchvision dependency.
$(VENV)/.installed-oracles: requirements-oracles.txt $(STAMP)
	$(BIN)/pip install --quiet --no-deps -r requirements-oracles.txt
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

# JupyterLab from the venv with this repository's settings (.jupyter/): Markdown chapters open
# as notebooks (labconfig/default_setting_overrides.json). Its settings, workspaces, runtime
# files and IPython profile stay under .jupyter/ (git-ignored), not in your HOME.
LAB_ARGS ?=
lab: setup
	JUPYTER_CONFIG_DIR="$(CURDIR)/.jupyter" JUPYTER_DATA_DIR="$(CURDIR)/.jupyter/data" \
	IPYTHONDIR="$(CURDIR)/.jupyter/ipython" \
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

# The Colab copies of the chapters (notebooks/NN-name.ipynb, generated from book/*.md; they
# install lrcourse from repository.url of _config.yml). --check: exit 1 if one is out of date.
notebooks: setup
	$(BIN)/python -m lrcourse.launch notebooks

# What the Pages workflow runs: the book, refusing to publish with the placeholder repository URL.
publish: setup
	$(BIN)/python -m lrcourse.launch check-repository
	$(BIN)/python -m lrcourse.launch notebooks --check
	LRCOURSE_PUBLISH=1 $(MAKE) book
