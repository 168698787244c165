"""Views share their base's version counter (PyTorch's rule): an in-place change through the
view or the base is seen by both, and by the backward of an op that saved either."""
import numpy as np
import pytest

import ember

VIEWS = [
    ("reshape", lambda t: t.reshape(12)),
    ("view", lambda t: t.view(4, 3)),
    ("flatten", lambda t: t.flatten()),
    ("T", lambda t: t.T),
    ("permute", lambda t: t.permute(1, 0)),
    ("transpose", lambda t: t.transpose(0, 1)),
    ("swapaxes", lambda t: t.swapaxes(0, 1)),
    ("unsqueeze", lambda t: t.unsqueeze(0)),
    ("squeeze", lambda t: t.unsqueeze(1).squeeze(1)),
    ("expand", lambda t: t.expand(2, 3, 4)),
    ("broadcast_to", lambda t: ember.broadcast_to(t, (2, 3, 4))),
    ("slice", lambda t: t[1:, ::2]),
    ("int", lambda t: t[1]),
    ("int_int", lambda t: t[1, 2]),
    ("split", lambda t: t.split(2, dim=1)[1]),
    ("chunk", lambda t: t.chunk(2, dim=0)[0]),
]


@pytest.mark.parametrize("case", VIEWS, ids=[c[0] for c in VIEWS])
def test_views_share_the_version_counter(case, torch):
    name, fn = case
    x = ember.randn(3, 4)
    v = fn(x)
    assert np.shares_memory(v.numpy(), x.numpy())
    v0, x0 = v._version, x._version
    x.add_(1)
    assert (v._version - v0, x._version - x0) == (1, 1)
    if v.numpy().flags.writeable:
        v.mul_(2)
        assert (v._version - v0, x._version - x0) == (2, 2)
    # and PyTorch's tensors agree
    tx = torch.randn(3, 4)
    tv = fn(tx) if name != "broadcast_to" else tx.broadcast_to((2, 3, 4))
    t0 = tv._version
    tx.add_(1)
    assert tv._version - t0 == 1


@pytest.mark.parametrize("fn", [lambda t: t[[0, 2]], lambda t: t[t > 0], lambda t: t.T.reshape(12)],
                         ids=["fancy", "bool", "reshape_copy"])
def test_copies_do_not_share_it(fn):
    x = ember.randn(3, 4)
    c = fn(x)
    assert not np.shares_memory(c.numpy(), x.numpy())
    c0 = c._version
    x.add_(1)
    assert c._version == c0


def test_changing_a_view_of_a_saved_output_stops_backward(torch):
    # exp keeps its output for backward; changing it through a view must refuse, as in PyTorch
    for lib in (ember, torch):
        x = lib.ones(3, 4, requires_grad=True) if lib is torch else ember.ones(3, 4, requires_grad=True)
        y = x.exp()
        with lib.no_grad():
            y.view(12).mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()
