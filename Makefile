# Two commands do everything on a fresh machine:  make train  and  make test
VENV       ?= .venv
PY         := $(VENV)/bin/python
RUN_STAMP  := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test

.PHONY: setup train test bench dist clean

# What the main job needs: ember and its runtime extras (progress bars, safetensors, the curves plot).
$(RUN_STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[run]'
	touch $(RUN_STAMP)

# What the tests add: the PyTorch CPU oracle, pinned (this version is a local file; others pull GBs of CUDA),
# torchvision beside it (its pure-Python parts only: see tests/conftest.py), onnxruntime, mpi4py, pytest.
$(TEST_STAMP): $(RUN_STAMP)
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q torchvision==0.28.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(TEST_STAMP)

setup: $(TEST_STAMP)

# The main job: train the MLP on MNIST (shipped in data/), evaluate on the test set.
train: $(RUN_STAMP)
	$(VENV)/bin/ember train --dataset mnist --model mlp --epochs 5 --out runs/mnist-mlp --overwrite

test: $(TEST_STAMP)
	$(PY) -m pytest -q -n 2 tests
	# the same core and layer tests on the reference ops alone (every fast kernel off)
	EMBER_KERNELS=0 $(PY) -m pytest -q -n 2 tests/core tests/nn

bench: $(TEST_STAMP)
	$(PY) -m benchmarks

# A wheel and an sdist in dist/ (the sdist carries data/mnist, so its install runs the demo offline).
dist: $(RUN_STAMP)
	$(PY) -m pip install -q build
	$(PY) -m build --outdir dist .

# --- A begin ---
# The documentation site, strict (any warning, broken link or failing tutorial fails it), into site/.
# The tutorials import torch, onnxruntime and mpi4py, so it builds on the test install.
DOCS_STAMP := $(VENV)/.installed-docs
.PHONY: docs

$(DOCS_STAMP): $(TEST_STAMP)
	$(PY) -m pip install -q -e '.[docs]'
	touch $(DOCS_STAMP)

docs: $(DOCS_STAMP)
	rm -rf site build/doctrees docs/api/generated jupyter_execute  # from scratch: incremental builds hide warnings
	$(PY) -m sphinx -b html -W --keep-going -n -q -j auto \
	    -d build/doctrees docs site
# --- A end ---

clean:
	rm -rf $(VENV) runs site dist .pytest_cache
