# Two commands do everything on a fresh machine:  make train  and  make test
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup train test bench clean

$(STAMP): pyproject.toml Makefile
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# The PyTorch CPU oracle first, pinned: this version is a local file; others pull GBs of CUDA.
	$(PY) -m pip install -q torch==2.13.0
	# torchvision, the oracle of ember.vision, pinned beside it (its pure-Python parts only: see tests/conftest.py)
	$(PY) -m pip install -q torchvision==0.28.0
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# The main job: train the MLP on MNIST (shipped in data/), evaluate on the test set.
train: $(STAMP)
	OPENBLAS_THREAD_TIMEOUT=4 $(VENV)/bin/ember train --dataset mnist --model mlp --epochs 5 --out runs/mnist-mlp --overwrite

test: $(STAMP)
	$(PY) -m pytest -q -n 2 tests
	# the same core and layer tests on the reference ops alone (every fast kernel off)
	EMBER_KERNELS=0 $(PY) -m pytest -q -n 2 tests/core tests/nn

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
