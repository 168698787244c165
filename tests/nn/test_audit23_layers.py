"""Audit of issue #23's layer list: one sweep of torch.nn modules and functionals that the
per-family tests cover with other arguments. Each case builds the module on both sides with
the same arguments, copies torch's state_dict into ember, and compares the float64 output
and the gradients of the input and of every parameter."""
import numpy as np
import pytest

import ember
from ember import nn
from ember.nn import functional as F

pytestmark = pytest.mark.torch

TOL = dict(rtol=1e-9, atol=1e-10)


def _check_pair(torch, e, t, *xs, train=False):
    """Same state, same inputs: same float64 outputs, input and parameter gradients."""
    t = t.double()
    t.train(train)
    e.train(train)
    sd = t.state_dict()
    if sd:
        e.load_state_dict({k: v.detach().numpy() for k, v in sd.items()})
    txs = [torch.tensor(x, requires_grad=x.dtype.kind == "f") for x in xs]
    exs = [ember.tensor(x, requires_grad=x.dtype.kind == "f") for x in xs]
    ty, ey = t(*txs), e(*exs)
    if isinstance(ty, tuple):
        ty, ey = ty[0], ey[0]
    assert tuple(ey.shape) == tuple(ty.shape)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
    g = np.random.default_rng(7).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    for tx, ex in zip(txs, exs):
        if tx.requires_grad and tx.grad is not None:
            np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **TOL)
    tp = dict(t.named_parameters())
    for name, p in e.named_parameters():
        if tp[name].grad is not None:
            np.testing.assert_allclose(p.grad.numpy(), tp[name].grad.numpy(), **TOL, err_msg=name)
    return ey, ty


@pytest.fixture(autouse=True)
def _float64():
    old = ember.get_default_dtype()
    ember.set_default_dtype(ember.float64)
    yield
    ember.set_default_dtype(old)


def _r(*shape, seed=0, positive=False):
    a = np.random.default_rng(seed).standard_normal(shape)
    return np.abs(a) + 0.1 if positive else a


MODULES = [
    # name, args, kwargs, input shapes
    ("Conv1d", (6, 4, 3), dict(groups=2, stride=2, dilation=2, padding=2, padding_mode="circular"), [(2, 6, 11)]),
    ("Conv1d", (4, 8, 5), dict(groups=4, padding="same", padding_mode="replicate"), [(2, 4, 9)]),
    ("Conv2d", (6, 6, (3, 2)), dict(groups=6, stride=(2, 1), padding=(1, 0), padding_mode="reflect"), [(1, 6, 7, 6)]),
    ("Conv3d", (4, 6, (2, 3, 2)), dict(groups=2, stride=(1, 2, 1), dilation=(2, 1, 1), padding=1), [(2, 4, 5, 6, 4)]),
    ("Conv3d", (2, 3, 3), dict(padding="same", padding_mode="zeros", bias=False), [(1, 2, 4, 4, 4)]),
    ("ConvTranspose1d", (4, 6, 4), dict(stride=3, padding=1, output_padding=2, groups=2, dilation=1), [(2, 4, 5)]),
    ("ConvTranspose2d", (3, 4, (3, 2)), dict(stride=(2, 3), padding=(1, 1), output_padding=(1, 2)), [(2, 3, 4, 3)]),
    ("ConvTranspose3d", (4, 2, 3), dict(stride=2, padding=1, groups=2, dilation=(1, 2, 1)), [(1, 4, 3, 3, 2)]),
    ("Unfold", ((2, 3),), dict(dilation=(1, 2), padding=1, stride=(2, 1)), [(2, 3, 6, 7)]),
    ("Fold", ((5, 6), (2, 3)), dict(dilation=(2, 1), padding=(1, 0), stride=(1, 2)), [(2, 12, 10)]),
    ("Upsample", (), dict(scale_factor=1.7, mode="bicubic", align_corners=False), [(1, 2, 5, 4)]),
    ("Upsample", (), dict(size=(7, 3), mode="bilinear", align_corners=True), [(2, 2, 4, 5)]),
    ("Upsample", (), dict(scale_factor=(0.6, 1.5, 2.3), mode="trilinear", recompute_scale_factor=True),
     [(1, 2, 5, 4, 3)]),
    ("Upsample", (), dict(scale_factor=2.5, mode="nearest-exact"), [(1, 2, 5)]),
    ("Upsample", (), dict(scale_factor=0.7, mode="nearest"), [(1, 2, 6, 7)]),
    ("Upsample", (), dict(size=9, mode="linear", align_corners=False), [(2, 3, 4)]),
    ("UpsamplingNearest2d", (), dict(scale_factor=3), [(1, 2, 3, 4)]),
    ("UpsamplingBilinear2d", (), dict(size=(5, 7)), [(1, 2, 3, 4)]),
    ("PixelShuffle", (2,), {}, [(2, 8, 3, 4)]),
    ("PixelUnshuffle", (3,), {}, [(1, 2, 6, 9)]),
    ("ChannelShuffle", (3,), {}, [(2, 6, 2, 3)]),
    ("ZeroPad1d", ((2, 1),), {}, [(2, 3, 4)]),
    ("ZeroPad2d", ((1, 0, 2, 3),), {}, [(2, 3, 4)]),
    ("ZeroPad3d", (1,), {}, [(1, 2, 2, 3, 2)]),
    ("ConstantPad1d", (3, 1.5), {}, [(2, 4)]),
    ("ConstantPad2d", ((0, 2, 1, 0), -2.0), {}, [(1, 2, 3, 4)]),
    ("ConstantPad3d", ((1, 0, 0, 1, 2, 0), 0.5), {}, [(2, 2, 3, 2)]),
    ("ReflectionPad1d", ((3, 2),), {}, [(2, 3, 5)]),
    ("ReflectionPad2d", ((2, 1, 0, 3),), {}, [(3, 5, 4)]),
    ("ReflectionPad3d", ((1, 2, 0, 1, 2, 1),), {}, [(1, 2, 3, 4, 3)]),
    ("ReplicationPad1d", ((4, 0),), {}, [(1, 2, 3)]),
    ("ReplicationPad2d", (3,), {}, [(1, 2, 2, 3)]),
    ("ReplicationPad3d", ((0, 2, 1, 1, 3, 0),), {}, [(2, 2, 2, 3)]),
    ("CircularPad1d", ((2, 3),), {}, [(2, 2, 4)]),
    ("CircularPad2d", ((1, 2, 2, 0),), {}, [(1, 2, 3, 4)]),
    ("CircularPad3d", ((1, 1, 0, 2, 1, 0),), {}, [(1, 2, 2, 3, 3)]),
    ("MaxPool3d", (3,), dict(stride=(2, 1, 2), padding=1, dilation=(1, 2, 1), ceil_mode=True), [(1, 2, 5, 6, 5)]),
    ("AvgPool3d", ((2, 3, 2),), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False), [(2, 2, 5, 5, 4)]),
    ("AvgPool3d", (2,), dict(divisor_override=3), [(1, 4, 4, 5)]),
    ("AdaptiveMaxPool1d", (4,), {}, [(2, 3, 7)]),
    ("AdaptiveMaxPool2d", ((3, None),), {}, [(1, 2, 7, 5)]),
    ("AdaptiveMaxPool3d", ((2, 3, 4),), {}, [(1, 2, 5, 7, 6)]),
    ("AdaptiveAvgPool1d", (3,), {}, [(2, 3, 8)]),
    ("AdaptiveAvgPool3d", ((None, 2, 3),), {}, [(2, 3, 5, 7)]),
    ("LPPool1d", (4, 2), dict(stride=1), [(2, 3, 7)]),
    ("LPPool2d", (2, (2, 3)), dict(stride=(1, 2), ceil_mode=True), [(1, 2, 5, 7)]),
    ("InstanceNorm1d", (3,), dict(affine=True), [(2, 3, 7)]),
    ("InstanceNorm2d", (3,), dict(affine=True, track_running_stats=True, momentum=0.3), [(2, 3, 4, 5)]),
    ("InstanceNorm3d", (2,), dict(eps=1e-3), [(1, 2, 3, 4, 3)]),
    ("LocalResponseNorm", (3,), dict(alpha=0.1, beta=0.6, k=1.5), [(2, 5, 3, 4)]),
    ("LocalResponseNorm", (4,), {}, [(2, 6, 3, 2, 2)]),
    ("BatchNorm3d", (3,), dict(momentum=None), [(2, 3, 2, 3, 2)]),
    ("GroupNorm", (2, 6), dict(eps=1e-4), [(2, 6, 3, 4)]),
    ("LayerNorm", ((3, 4, 5),), dict(bias=False), [(2, 3, 4, 5)]),
    ("GLU", (1,), {}, [(2, 6, 3)]),
    ("Hardsigmoid", (), {}, [(3, 20)]),
    ("Hardswish", (), {}, [(3, 20)]),
    ("LogSigmoid", (), {}, [(3, 20)]),
    ("Mish", (), {}, [(3, 20)]),
    ("PReLU", (4, 0.1), {}, [(2, 4, 5)]),
    ("SELU", (), {}, [(3, 20)]),
    ("CELU", (0.7,), {}, [(3, 20)]),
    ("Softsign", (), {}, [(3, 20)]),
    ("Softmin", (1,), {}, [(3, 7)]),
    ("Softmax2d", (), {}, [(2, 3, 4, 5)]),
    ("Threshold", (0.2, -1.0), {}, [(3, 20)]),
    ("Hardshrink", (0.3,), {}, [(3, 20)]),
    ("Softshrink", (0.4,), {}, [(3, 20)]),
    ("Tanhshrink", (), {}, [(3, 20)]),
    ("Bilinear", (3, 4, 5), {}, [(6, 3), (6, 4)]),
    ("CosineSimilarity", (2, 1e-6), {}, [(2, 3, 5), (2, 1, 5)]),
    ("PairwiseDistance", (3.0, 1e-5, True), {}, [(4, 5), (4, 5)]),
    ("Identity", (3, "unused"), dict(argument=7), [(2, 3)]),
]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("name,args,kw,shapes", MODULES, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODULES)])
def test_module_matches_torch(torch, name, args, kw, shapes, train):
    torch.manual_seed(0)
    t = getattr(torch.nn, name)(*args, **kw)
    e = getattr(nn, name)(*args, **kw)
    assert repr(e) == repr(t)
    xs = [_r(*s, seed=i) for i, s in enumerate(shapes)]
    _check_pair(torch, e, t, *xs, train=train)
    for k, v in t.state_dict().items():  # running statistics after a training step
        np.testing.assert_allclose(np.asarray(e.state_dict()[k]), v.numpy(), **TOL, err_msg=k)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_conv_transpose_output_size_in_forward(torch, nd):
    name = f"ConvTranspose{nd}d"
    t = getattr(torch.nn, name)(2, 3, 3, stride=3, padding=1, dilation=1)
    e = getattr(nn, name)(2, 3, 3, stride=3, padding=1, dilation=1)
    x = _r(1, 2, *([3] * nd))
    t = t.double()
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    for extra in (0, 1, 2):
        size = [7 + extra] * nd
        ty = t(torch.tensor(x), output_size=size)
        ey = e(ember.tensor(x), output_size=size)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
        # the full (N, C, *spatial) form is accepted too
        ey2 = e(ember.tensor(x), output_size=[1, 3] + size)
        np.testing.assert_allclose(ey2.detach().numpy(), ty.detach().numpy(), **TOL)


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("padding_mode", ["zeros", "border", "reflection"])
@pytest.mark.parametrize("align_corners", [False, True])
def test_affine_grid_grid_sample_far_outside(torch, mode, padding_mode, align_corners):
    # grid points well outside [-1, 1] (reflection folds several times)
    theta = np.array([[[2.5, 0.3, 0.4], [-0.2, 1.9, -0.7]]])
    x = _r(1, 2, 4, 5)
    tt, et = torch.tensor(theta, requires_grad=True), ember.tensor(theta, requires_grad=True)
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    tg = torch.nn.functional.affine_grid(tt, [1, 2, 6, 7], align_corners=align_corners)
    eg = F.affine_grid(et, [1, 2, 6, 7], align_corners=align_corners)
    ty = torch.nn.functional.grid_sample(tx, tg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    ey = F.grid_sample(ex, eg, mode=mode, padding_mode=padding_mode, align_corners=align_corners)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
    ty.sum().backward()
    ey.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **TOL)
    np.testing.assert_allclose(et.grad.numpy(), tt.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_max_pool_indices_then_unpool_with_output_size(torch):
    x = _r(2, 3, 5, 7, 6)
    tp = torch.nn.MaxPool3d(2, stride=2, return_indices=True)
    ep = nn.MaxPool3d(2, stride=2, return_indices=True)
    (ty, ti), (ey, ei) = tp(torch.tensor(x)), ep(ember.tensor(x))
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    tu = torch.nn.MaxUnpool3d(2, stride=2)(ty, ti, output_size=[5, 7, 6])
    eu = nn.MaxUnpool3d(2, stride=2)(ey, ei, output_size=[5, 7, 6])
    np.testing.assert_allclose(eu.numpy(), tu.numpy(), **TOL)
    x2 = _r(1, 2, 9)
    (ty, ti), (ey, ei) = (torch.nn.MaxPool1d(3, 2, return_indices=True)(torch.tensor(x2)),
                          nn.MaxPool1d(3, 2, return_indices=True)(ember.tensor(x2)))
    np.testing.assert_array_equal(ei.numpy(), ti.numpy())
    np.testing.assert_allclose(nn.MaxUnpool1d(3, 2)(ey, ei, output_size=(1, 2, 10)).numpy(),
                               torch.nn.MaxUnpool1d(3, 2)(ty, ti, output_size=(1, 2, 10)).numpy())


def test_fractional_max_pool2d_given_samples(torch):
    x = _r(2, 3, 9, 8)
    samples = np.random.default_rng(3).random((2, 3, 2))
    for kw in (dict(output_size=(4, 5)), dict(output_ratio=(0.5, 0.6))):
        t = torch.nn.FractionalMaxPool2d(3, return_indices=True, _random_samples=torch.tensor(samples), **kw)
        e = nn.FractionalMaxPool2d(3, return_indices=True, _random_samples=ember.tensor(samples), **kw)
        (ty, ti), (ey, ei) = t(torch.tensor(x)), e(ember.tensor(x))
        np.testing.assert_allclose(ey.numpy(), ty.numpy(), **TOL)
        np.testing.assert_array_equal(ei.numpy(), ti.numpy())


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, -1), (3.0, 0), (float("inf"), 1)])
def test_f_normalize(torch, p, dim):
    x = _r(3, 4, 5)
    x[0, 0] = 0.0  # a zero vector meets eps
    tx, ex = torch.tensor(x, requires_grad=True), ember.tensor(x, requires_grad=True)
    ty = torch.nn.functional.normalize(tx, p=p, dim=dim, eps=1e-3)
    ey = F.normalize(ex, p=p, dim=dim, eps=1e-3)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
    ty.sum().backward()
    ey.sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), **TOL)


def test_rrelu_eval_and_train_bounds(torch):
    x = _r(4, 50)
    e, t = nn.RReLU(0.1, 0.3), torch.nn.RReLU(0.1, 0.3)
    e.eval(), t.eval()
    np.testing.assert_allclose(e(ember.tensor(x)).numpy(), t(torch.tensor(x)).numpy(), **TOL)
    e.train()
    xe = ember.tensor(x, requires_grad=True)
    y = e(xe)
    neg = x < 0
    slope = y.detach().numpy()[neg] / x[neg]
    assert slope.min() >= 0.1 and slope.max() <= 0.3 and slope.std() > 0.01
    y.sum().backward()  # the gradient is the drawn slope
    np.testing.assert_allclose(xe.grad.numpy()[neg], slope, rtol=1e-12)


LOSSES = [
    ("TripletMarginLoss", dict(margin=0.5, p=1.0, swap=True), [(5, 4), (5, 4), (5, 4)]),
    ("CosineEmbeddingLoss", dict(margin=0.2), [(5, 4), (5, 4), "pm1"]),
    ("MarginRankingLoss", dict(margin=0.3), [(6,), (6,), "pm1_6"]),
    ("GaussianNLLLoss", dict(full=True, eps=1e-3), [(5, 3), (5, 3), "var"]),
    ("GaussianNLLLoss", {}, [(5, 3), (5, 3), "var1"]),
    ("PoissonNLLLoss", dict(log_input=False, full=True), ["pos", "count"]),
    ("PoissonNLLLoss", {}, [(5, 3), "count"]),
    ("HingeEmbeddingLoss", dict(margin=0.7), [(5, 3), "pm1_53"]),
    ("SoftMarginLoss", {}, [(5, 3), "pm1_53"]),
    ("MultiLabelSoftMarginLoss", dict(weight="w3"), [(5, 3), "01"]),
    ("MultiLabelMarginLoss", {}, [(4, 5), "mlm"]),
    ("MultiMarginLoss", dict(p=2, margin=0.8, weight="w5"), [(4, 5), "cls"]),
]


def _loss_input(torch, spec, i):
    rng = np.random.default_rng(10 + i)
    if isinstance(spec, tuple):
        a = rng.standard_normal(spec)
        return torch.tensor(a, requires_grad=True), ember.tensor(a, requires_grad=True)
    a = {"pm1": rng.choice([-1.0, 1.0], 5), "pm1_6": rng.choice([-1.0, 1.0], 6),
         "pm1_53": rng.choice([-1.0, 1.0], (5, 3)), "var": rng.random((5, 3)) * 0.01,
         "var1": rng.random((5, 1)) + 0.1, "pos": rng.random((5, 3)) + 0.1,
         "count": rng.integers(0, 5, (5, 3)).astype(float), "01": rng.integers(0, 2, (5, 3)).astype(float),
         "mlm": np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [4, 3, 2, 1, 0], [-1, 2, 3, 0, 0]]),
         "cls": np.array([0, 4, 2, 2])}[spec]
    req = a.dtype.kind == "f" and spec in ("pos", "var", "var1")
    return torch.tensor(a, requires_grad=req), ember.tensor(a, requires_grad=req)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name,kw,specs", LOSSES, ids=[f"{m[0]}-{i}" for i, m in enumerate(LOSSES)])
def test_loss_matches_torch(torch, name, kw, specs, reduction):
    w = {"w3": np.array([0.5, 2.0, 1.0]), "w5": np.array([1.0, 0.5, 2.0, 1.5, 0.3])}
    tkw = {k: torch.tensor(w[v]) if isinstance(v, str) and v in w else v for k, v in kw.items()}
    ekw = {k: ember.tensor(w[v]) if isinstance(v, str) and v in w else v for k, v in kw.items()}
    pairs = [_loss_input(torch, s, i) for i, s in enumerate(specs)]
    ty = getattr(torch.nn, name)(reduction=reduction, **tkw)(*[p[0] for p in pairs])
    ey = getattr(nn, name)(reduction=reduction, **ekw)(*[p[1] for p in pairs])
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
    g = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(g))
    ey.backward(ember.tensor(g))
    for tp, ep in pairs:
        if tp.requires_grad:
            np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), **TOL)


def test_triplet_margin_with_distance_loss(torch):
    a, p, n = (_r(5, 4, seed=i) for i in range(3))
    for tfn, efn in ((None, None),
                     (lambda x, y: 1 - torch.nn.functional.cosine_similarity(x, y),
                      lambda x, y: 1 - F.cosine_similarity(x, y))):
        ts = [torch.tensor(v, requires_grad=True) for v in (a, p, n)]
        es = [ember.tensor(v, requires_grad=True) for v in (a, p, n)]
        ty = torch.nn.TripletMarginWithDistanceLoss(distance_function=tfn, margin=2.0, swap=True)(*ts)
        ey = nn.TripletMarginWithDistanceLoss(distance_function=efn, margin=2.0, swap=True)(*es)
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
        ty.backward()
        ey.backward()
        for t, e in zip(ts, es):
            np.testing.assert_allclose(e.grad.numpy(), t.grad.numpy(), **TOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_ctc_loss_ragged_and_impossible(torch, reduction, zero_infinity):
    rng = np.random.default_rng(5)
    T, N, C = 8, 4, 5
    logits = rng.standard_normal((T, N, C))
    # batch 2 has a target too long for its input (loss inf); batch 3 has repeats
    targets = np.array([[1, 2, 2, 0, 0, 0], [3, 0, 0, 0, 0, 0], [1, 2, 3, 4, 1, 2], [4, 4, 4, 0, 0, 0]])
    in_len, tg_len = np.array([8, 5, 4, 8]), np.array([3, 1, 6, 3])
    tl = torch.tensor(logits, requires_grad=True)
    el = ember.tensor(logits, requires_grad=True)
    ty = torch.nn.CTCLoss(blank=0, reduction=reduction, zero_infinity=zero_infinity)(
        tl.log_softmax(2), torch.tensor(targets), torch.tensor(in_len), torch.tensor(tg_len))
    ey = nn.CTCLoss(blank=0, reduction=reduction, zero_infinity=zero_infinity)(
        F.log_softmax(el, 2), ember.tensor(targets), ember.tensor(in_len), ember.tensor(tg_len))
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=1e-9, atol=1e-9)
    if zero_infinity:
        ty.sum().backward()
        ey.sum().backward()
        np.testing.assert_allclose(el.grad.numpy(), tl.grad.numpy(), rtol=1e-8, atol=1e-9)


def test_ctc_loss_concatenated_targets_and_other_blank(torch):
    rng = np.random.default_rng(6)
    logp = rng.standard_normal((6, 3, 4))
    flat, tg_len, in_len = np.array([0, 1, 1, 2, 0, 1]), np.array([2, 1, 3]), np.array([6, 6, 5])
    tl = torch.tensor(logp, requires_grad=True)
    el = ember.tensor(logp, requires_grad=True)
    ty = torch.nn.functional.ctc_loss(tl.log_softmax(2), torch.tensor(flat), torch.tensor(in_len),
                                      torch.tensor(tg_len), blank=3)
    ey = F.ctc_loss(F.log_softmax(el, 2), ember.tensor(flat), ember.tensor(in_len), ember.tensor(tg_len), blank=3)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
    ty.backward()
    ey.backward()
    np.testing.assert_allclose(el.grad.numpy(), tl.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name,shape,channel_axis_dims", [
    ("Dropout1d", (4, 50, 30), 2), ("Dropout3d", (3, 40, 2, 3, 4), 2), ("FeatureAlphaDropout", (4, 60, 5, 5), 2),
])
def test_channel_dropouts_zero_whole_channels(torch, name, shape, channel_axis_dims):
    e = getattr(nn, name)(p=0.4)
    x = np.abs(_r(*shape)) + 1.0
    y = e(ember.tensor(x)).numpy()
    flat = y.reshape(shape[0] * shape[1], -1)
    const = np.all(flat == flat[:, :1], axis=1)  # a dropped channel is one value throughout
    assert 0.2 < const.mean() < 0.6
    e.eval()
    np.testing.assert_array_equal(e(ember.tensor(x)).numpy(), x)
    assert repr(e) == repr(getattr(torch.nn, name)(p=0.4))


def test_alpha_dropout_keeps_mean_and_variance():
    x = np.random.default_rng(0).standard_normal((200, 500))
    y = nn.AlphaDropout(0.3)(ember.tensor(x)).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    _, counts = np.unique(y, return_counts=True)
    assert 0.27 < counts.max() / y.size < 0.33  # the dropped units take one value


def test_parameter_list_and_dict_like_torch(torch):
    e = nn.ParameterList([nn.Parameter(ember.zeros(2)), nn.Parameter(ember.ones(3))])
    t = torch.nn.ParameterList([torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.ones(3))])
    e.append(nn.Parameter(ember.ones(1)))
    t.append(torch.nn.Parameter(torch.ones(1)))
    e.extend([nn.Parameter(ember.ones(4))])
    t.extend([torch.nn.Parameter(torch.ones(4))])
    assert [k for k, _ in e.named_parameters()] == [k for k, _ in t.named_parameters()]
    assert len(e) == len(t) == 4 and e[-1].shape == (4,)
    d = nn.ParameterDict({"b": nn.Parameter(ember.zeros(2)), "a": nn.Parameter(ember.ones(1))})
    td = torch.nn.ParameterDict({"b": torch.nn.Parameter(torch.zeros(2)), "a": torch.nn.Parameter(torch.ones(1))})
    d["c"] = nn.Parameter(ember.ones(5))
    td["c"] = torch.nn.Parameter(torch.ones(5))
    d.update({"z": nn.Parameter(ember.ones(1))})
    td.update({"z": torch.nn.Parameter(torch.ones(1))})
    assert list(d.keys()) == list(td.keys())
    assert list(d.state_dict()) == list(td.state_dict())
    assert d.pop("b").shape == (2,) and "b" not in d


def test_weight_and_spectral_norm_state_dict_and_outputs(torch):
    from ember.nn.utils import parametrizations as EP
    TP = torch.nn.utils.parametrizations
    torch.manual_seed(0)
    t = TP.spectral_norm(torch.nn.Conv2d(3, 4, 3).double(), n_power_iterations=3)
    e = EP.spectral_norm(nn.Conv2d(3, 4, 3, dtype=np.float64), n_power_iterations=3)
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x = _r(2, 3, 5, 5)
    for train in (True, True, False):
        t.train(train), e.train(train)
        np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), **TOL)
    for k, v in t.state_dict().items():  # the power iteration moved u and v the same way
        np.testing.assert_allclose(np.asarray(e.state_dict()[k]), v.numpy(), **TOL, err_msg=k)
    t = TP.weight_norm(torch.nn.Linear(4, 3).double(), dim=1)
    e = EP.weight_norm(nn.Linear(4, 3, dtype=np.float64), dim=1)
    assert list(e.state_dict()) == list(t.state_dict())
    _check_pair(torch, e, t, _r(5, 4))


@pytest.mark.parametrize("layer", ["Linear", "Conv2d", "ConvTranspose2d", "Conv1d", "Bilinear", "PReLU"])
def test_spectral_norm_steps_once_per_forward(torch, layer):
    # a layer that read its weight twice in forward ran the power iteration twice
    from ember.nn.utils import parametrizations as EP
    args, xs = {"Linear": ((4, 3), [_r(2, 4)]), "Bilinear": ((4, 3, 5), [_r(2, 4), _r(2, 3, seed=1)]),
                "PReLU": ((3,), [_r(2, 3, 4)])}.get(layer, ((3, 4, 3), [_r(2, 3, *([5] * (2 if "2d" in layer else 1)))]))
    torch.manual_seed(0)
    t = torch.nn.utils.parametrizations.spectral_norm(getattr(torch.nn, layer)(*args).double(), n_power_iterations=1)
    e = EP.spectral_norm(getattr(nn, layer)(*args), n_power_iterations=1)
    e.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    for _ in range(3):
        ey, ty = e(*map(ember.tensor, xs)), t(*map(torch.tensor, xs))
        np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), **TOL)
    for k, v in t.state_dict().items():
        np.testing.assert_allclose(np.asarray(e.state_dict()[k]), v.numpy(), **TOL, err_msg=k)


@pytest.mark.parametrize("transpose", [False, True])
def test_fuse_conv_bn_eval_matches_torch(torch, transpose):
    from ember.nn.utils import fuse_conv_bn_eval
    torch.manual_seed(0)
    conv = "ConvTranspose2d" if transpose else "Conv2d"
    tc, tb = getattr(torch.nn, conv)(3, 4, 3).double().eval(), torch.nn.BatchNorm2d(4).double().eval()
    with torch.no_grad():
        tb.running_mean.copy_(torch.randn(4)), tb.running_var.copy_(torch.rand(4) + 0.5)
        tb.weight.copy_(torch.randn(4)), tb.bias.copy_(torch.randn(4))
    ec, eb = getattr(nn, conv)(3, 4, 3).eval(), nn.BatchNorm2d(4).eval()
    ec.load_state_dict({k: v.numpy() for k, v in tc.state_dict().items()})
    eb.load_state_dict({k: v.numpy() for k, v in tb.state_dict().items()})
    tf = torch.nn.utils.fuse_conv_bn_eval(tc, tb, transpose=transpose)
    ef = fuse_conv_bn_eval(ec, eb, transpose=transpose)
    np.testing.assert_allclose(ef.weight.detach().numpy(), tf.weight.detach().numpy(), **TOL)
    np.testing.assert_allclose(ef.bias.detach().numpy(), tf.bias.detach().numpy(), **TOL)
    x = _r(1, 3, 6, 6)
    np.testing.assert_allclose(ef(ember.tensor(x)).detach().numpy(), tb(tc(torch.tensor(x))).detach().numpy(), **TOL)


def test_dirac_and_orthogonal_init(torch):
    for shape, groups in (((6, 2, 3, 3), 2), ((4, 4, 3), 1), ((3, 5, 3, 3, 3), 1)):
        e, t = ember.empty(*shape), torch.empty(*shape)
        nn.init.dirac_(e, groups=groups)
        torch.nn.init.dirac_(t, groups=groups)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    for shape in ((5, 3), (3, 5), (4, 2, 3)):
        w = nn.init.orthogonal_(ember.empty(*shape), gain=2.0).numpy().reshape(shape[0], -1)
        small = min(w.shape)
        gram = w @ w.T if w.shape[0] == small else w.T @ w
        np.testing.assert_allclose(gram, 4.0 * np.eye(small), atol=1e-5)
