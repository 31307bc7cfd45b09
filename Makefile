# Two entry points for a new user: `make demo` and `make test`.
# Both create or refresh .venv themselves. Python 3.11 or 3.12: mediapipe 0.10.14 (the offline
# BlazePose detector) has no wheel for 3.13 or later.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-installed-stamp
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
SUPPORTED_PYTHONS := 3.11 3.12

.PHONY: venv demo test bench clean

$(STAMP): pyproject.toml
	$(if $(filter $(SUPPORTED_PYTHONS),$(PYTHON_VERSION)),,$(error mvmocap needs Python 3.11 or 3.12 (mediapipe 0.10.14 has no wheel for others); $(PYTHON) is $(or $(PYTHON_VERSION),missing): install python3.12 and run make PYTHON=python3.12))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: on these machines 2.13.0 is a local CPU wheel; an
	# unpinned torch would pull several GB of CUDA packages.
	$(PY) -m pip install --quiet "torch==2.13.0" || $(PY) -m pip install --quiet torch
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# The test extras add pytest, hypothesis, pytest-xdist, anny (the body builder's test, ~0.5 GB),
# imageio-ffmpeg (H.264 overlays) and rerun-sdk (recordings), so that CI runs every test:
# users who only run the tool never install them.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test,build-open,video,view]"
	touch $(TEST_STAMP)

venv: $(STAMP)

demo: $(STAMP)
	bash examples/demo.sh

test: $(TEST_STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile

bench: $(STAMP)
	$(PY) benchmarks/triangulation.py

clean:
	rm -rf $(VENV) .pytest_cache
