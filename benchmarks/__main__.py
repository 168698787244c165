"""``python -m benchmarks [--quick] [--only mlp cnn ...]``: the whole suite, see suite.py."""
from benchmarks.suite import main

main()
