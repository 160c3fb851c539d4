# mgmeta: two commands do all setup on a fresh machine.
#   make report   builds the report from the executed notebooks (the main job)
#   make test     runs the whole test suite
# Each creates .venv and installs what it needs when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.mgmeta-installed

.PHONY: report test reference benchmark clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebooks,dask,dev]'
	touch $(STAMP)

report: $(STAMP)
	$(BIN)/python -m mgmeta.report

test: $(STAMP)
	$(BIN)/python -m pytest

# Regenerate the R metafor reference JSON (needs Rscript with metafor, metadat, jsonlite).
reference:
	cd tests/reference && for f in *.R; do Rscript "$$f" || exit 1; done

benchmark: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build report
