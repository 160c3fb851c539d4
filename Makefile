# mgmeta: two commands do all setup on a fresh machine.
#   make report   builds the report from the executed notebooks (the main job)
#   make test     runs the whole test suite (the notebooks included, and the rendered
#                 report opened in headless Chromium)
#   make gallery  (for developers) draws every plot type from the plot tests into build/gallery/
# Each creates .venv and installs what it needs when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mgmeta-installed
# Per-cell timeout (seconds) of the notebooks executed by `make report`.
TIMEOUT ?= 300

.PHONY: report gallery test reference benchmark notebooks browser clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,dask,dev]'
	touch $(STAMP)

# Execute every notebook from scratch (explicit cell timeout, stop at the first error)
# and render the static site into report/ (open report/index.html).
report: $(STAMP)
	$(BIN)/python -m mgmeta.report --timeout $(TIMEOUT)

# The plot tests draw every plot type from real fits (BCG vaccine and other test data), check what
# they show, and write their PNGs to build/gallery/: a developer artefact, not part of the report.
gallery: $(STAMP)
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/test_plots_forest.py tests/test_plots_funnel.py \
	  tests/test_plots_diagnostics.py tests/test_plots_rob.py tests/test_plots_images.py

# The browser test of the rendered report needs Debian's chromium; install it when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium not found: installing Debian's chromium package"; \
	  if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y chromium; }

test: $(STAMP) browser
	$(BIN)/python -m pytest

# Rewrite the paired .ipynb files from the reviewed py:percent sources (no outputs).
notebooks: $(STAMP)
	$(BIN)/jupytext --to ipynb notebooks/[0-9][0-9]_*.py

# Regenerate the R metafor reference JSON (needs Rscript with metafor, metadat, jsonlite).
reference:
	cd tests/reference && for f in *.R; do Rscript "$$f" || exit 1; done

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/plots.py

clean:
	rm -rf $(VENV) build report
