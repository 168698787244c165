"""Tensors print as PyTorch's do, character for character (dtype names aside)."""
import numpy as np
import pytest

import ember

_rng = np.random.default_rng(0)
CASES = {
    "halves": np.array([0.5, -1.0, 2.0]), "whole": np.array([1.0, 2.0, 3.0]), "scalar": np.array(3.14159),
    "scalar_whole": np.array(2.0), "scalar_int": np.array(5), "tiny": np.array([1e-5, 1.0]),
    "huge": np.array([1e9, 1.0]), "huge_whole": np.array([1e8, 2e8]), "zeros": np.zeros(2),
    "zero_inf": np.array([0.0, np.inf]), "nan": np.array([np.nan, 1.5]),
    "nonfinite": np.array([1.0, np.inf, -np.inf, np.nan]), "negzero": np.array([-0.0, 1.0]),
    "ints": np.arange(12).reshape(3, 4), "bools": np.array([True, False]), "cube": _rng.standard_normal((3, 4, 5)),
    "summarized": _rng.standard_normal(2000), "square": _rng.standard_normal((40, 40)),
    "empty2d": np.zeros((0, 3)), "empty": np.zeros(0), "wrapping": _rng.standard_normal((2, 30)),
    "wide_range": np.array([123456.7, 1.2]), "whole_thousands": (_rng.standard_normal((5, 5)) * 1000).round(),
    "int_summarized": np.arange(2000).reshape(40, 50), "4d": _rng.standard_normal((2, 3, 4, 5)),
    "int32": np.arange(3, dtype=np.int32), "uint8": np.arange(3, dtype=np.uint8),
    "half": np.array([0.1, 2.5], dtype=np.float16),
}


def _pair(torch, a):
    dtypes = [np.float32, np.float64] if a.dtype.kind == "f" and a.dtype != np.float16 else [a.dtype]
    for dt in dtypes:
        b = a.astype(dt)
        yield repr(torch.tensor(b)).replace("torch.", "ember."), repr(ember.tensor(b))


@pytest.mark.parametrize("name", sorted(CASES))
def test_repr_matches_pytorch(name, torch):
    for expected, got in _pair(torch, CASES[name]):
        assert got == expected


@pytest.mark.parametrize("opts", [dict(precision=2), dict(sci_mode=True), dict(sci_mode=False),
                                  dict(threshold=10, edgeitems=2), dict(linewidth=40), dict(profile="short"),
                                  dict(edgeitems=0, threshold=5)])
def test_repr_under_print_options_matches_pytorch(opts, torch):
    try:
        torch.set_printoptions(**opts)
        ember.set_printoptions(**opts)
        for name in ("halves", "tiny", "square", "wrapping", "ints", "nonfinite"):
            for expected, got in _pair(torch, CASES[name]):
                assert got == expected, (name, opts)
    finally:
        torch.set_printoptions(profile="default")
        ember.set_printoptions(profile="default")


def test_suffixes_match_pytorch(torch):
    x, y = torch.tensor([1.0, 2.0], requires_grad=True), ember.tensor([1.0, 2.0], requires_grad=True)
    assert repr(y) == repr(x)
    assert repr(y * 2) == repr(x * 2)
    long_t = torch.arange(20.0, dtype=torch.float64, requires_grad=True).reshape(4, 5) * 3.5
    long_e = ember.arange(20.0, dtype=ember.float64, requires_grad=True).reshape(4, 5) * 3.5
    assert repr(long_e) == repr(long_t).replace("torch.", "ember.")
    assert repr(ember.nn.Parameter(ember.ones(2))) == repr(torch.nn.Parameter(torch.ones(2)))


def test_bfloat16_prints_as_pytorch(torch):
    pytest.importorskip("ml_dtypes")
    t = torch.tensor([1.0, 2.5, -3.0], dtype=torch.bfloat16)
    assert repr(ember.tensor([1.0, 2.5, -3.0], dtype=ember.bfloat16)) == repr(t).replace("torch.", "ember.")
