"""ember.vision.models against torchvision 0.28: a torchvision state_dict loads unchanged
(same keys, same shapes, strict) and gives the same eval outputs; float64 training-mode
gradients (input and parameters) of resnet18 and mobilenet_v2; torch.save files through
ember.load; clear errors for weights= and for another architecture's state_dict."""
import numpy as np
import pytest

import ember
from ember.vision import models

pytestmark = pytest.mark.torch

# name, input side, constructor kwargs (both sides get the same)
MODELS = [
    ("resnet18", 32, {}),
    ("resnet34", 32, {}),
    ("resnet50", 32, {}),
    ("resnet101", 32, {}),
    ("wide_resnet50_2", 32, {}),
    ("resnext50_32x4d", 32, {"num_classes": 10}),
    ("vgg11", 32, {}),
    ("vgg11_bn", 32, {"init_weights": False}),
    ("vgg16", 32, {"init_weights": False}),  # the init is tested on vgg11; this saves seconds
    ("vgg16_bn", 32, {"init_weights": False, "num_classes": 10}),
    ("alexnet", 64, {}),  # needs at least 63x63
    ("squeezenet1_1", 32, {}),
    ("mobilenet_v2", 32, {}),
    ("mobilenet_v3_small", 32, {}),
    ("densenet121", 32, {}),
    ("efficientnet_b0", 32, {}),
    ("efficientnet_b1", 32, {"num_classes": 10}),
    ("efficientnet_b5", 32, {"num_classes": 10}),  # BatchNorm eps 1e-3, momentum 0.01
    ("googlenet", 32, {"aux_logits": True, "init_weights": True}),
    ("googlenet", 32, {"aux_logits": False, "transform_input": True, "num_classes": 7, "init_weights": True}),
]

TINY_VIT = dict(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)


def _randomize(torch, tv_model):
    """Give the torchvision model's buffers and zero-initialised parameters random values, so
    that loading them is tested (BatchNorm running stats, ViT's class token and head)."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, b in tv_model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))
        for name, p in tv_model.named_parameters():
            if name.startswith(("heads.", "class_token")) or (p.ndim == 1 and "bn" in name):
                p.copy_(p + 0.1 * torch.randn(p.shape, generator=g))


def _pair(torch, tv_ctor, em_ctor, **kw):
    torch.manual_seed(0)
    if not isinstance(tv_ctor, type):  # a builder function, not a class
        kw = {"weights": None, **kw}
    tv_model = tv_ctor(**kw)
    _randomize(torch, tv_model)
    em_model = em_ctor(**kw)
    return tv_model, em_model


def _load(em_model, tv_model):
    sd = tv_model.state_dict()
    assert list(em_model.state_dict()) == list(sd)  # same keys, in torchvision's order
    for k, v in em_model.state_dict().items():
        assert tuple(v.shape) == tuple(sd[k].shape), k
    em_model.load_state_dict(sd)  # strict


def _close(got, want, rtol=1e-4):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, float(np.abs(want).max())))


def _eval_compare(torch, tv_model, em_model, side, batch=2):
    tv_model.eval()
    em_model.eval()
    x = np.random.default_rng(0).standard_normal((batch, 3, side, side)).astype(np.float32)
    with torch.no_grad():
        want = tv_model(torch.from_numpy(x)).numpy()
    with ember.no_grad():
        got = em_model(ember.tensor(x)).numpy()
    _close(got, want)


@pytest.mark.parametrize("name,side,kw", MODELS, ids=[f"{m[0]}-{i}" for i, m in enumerate(MODELS)])
def test_state_dict_loads_and_eval_outputs_match(torchvision, name, side, kw):
    import torch

    tv_model, em_model = _pair(torch, getattr(torchvision.models, name), getattr(models, name), **kw)
    _load(em_model, tv_model)
    assert repr(em_model) == repr(tv_model)  # the same modules, arguments and names
    _eval_compare(torch, tv_model, em_model, side, batch=1 if name.startswith(("vgg", "alexnet")) else 2)


def test_tiny_vision_transformer(torchvision):
    import torch

    from torchvision.models.vision_transformer import VisionTransformer as TVViT

    tv_model, em_model = _pair(torch, TVViT, models.VisionTransformer, **TINY_VIT, num_classes=5)
    _load(em_model, tv_model)
    assert repr(em_model) == repr(tv_model)
    assert "encoder.layers.encoder_layer_1.self_attention.in_proj_weight" in em_model.state_dict()
    assert "encoder.layers.encoder_layer_0.mlp.3.bias" in em_model.state_dict()
    _eval_compare(torch, tv_model, em_model, 32)
    with pytest.raises(ValueError, match="Expected 32 but got 16"):
        em_model(ember.zeros(1, 3, 16, 32))


def test_vit_b_16_parameter_count(torchvision):
    m = models.vit_b_16()
    n = sum(p.numel() for p in m.parameters())
    assert n == torchvision.models.ViT_B_16_Weights.IMAGENET1K_V1.meta["num_params"] == 86567656
    assert m.seq_length == 197 and m.encoder.pos_embedding.shape == (1, 197, 768)


def test_googlenet_train_outputs(torchvision):
    import torch

    tv_model, em_model = _pair(torch, torchvision.models.googlenet, models.googlenet, init_weights=True,
                               dropout=0.0, dropout_aux=0.0)
    _load(em_model, tv_model)
    out = em_model.train()(ember.randn(2, 3, 32, 32))
    assert isinstance(out, models.GoogLeNetOutputs) and out._fields == ("logits", "aux_logits2", "aux_logits1")
    assert all(tuple(o.shape) == (2, 1000) for o in out)


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v2"])
def test_float64_train_mode_gradients(torchvision, name):
    import torch

    kw = {"num_classes": 10} | ({"dropout": 0.0} if name == "mobilenet_v2" else {})
    tv_model, em_model = _pair(torch, getattr(torchvision.models, name), getattr(models, name), **kw)
    _load(em_model, tv_model)
    tv_model.double().train()
    em_model.double().train()
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 32, 32))
    w = rng.standard_normal((2, 10))
    tx = torch.tensor(x, requires_grad=True)
    (tv_model(tx) * torch.from_numpy(w)).sum().backward()
    ex = ember.tensor(x, requires_grad=True)
    out = em_model(ex)
    assert out.dtype == ember.float64
    (out * ember.tensor(w)).sum().backward()
    _close(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-7)
    tv_params = dict(tv_model.named_parameters())
    for k, p in em_model.named_parameters():
        _close(p.grad.numpy(), tv_params[k].grad.numpy(), rtol=1e-7)
    tv_buffers = dict(tv_model.named_buffers())
    for k, b in em_model.named_buffers():  # running statistics updated the same way
        _close(b.numpy(), tv_buffers[k].numpy(), rtol=1e-7)


@pytest.fixture(scope="module")
def resnet18_pair(torchvision):
    import torch

    return _pair(torch, torchvision.models.resnet18, models.resnet18)


def test_torch_save_file_loads_through_ember_load(torchvision, resnet18_pair, tmp_path):
    import torch

    tv_model, _ = resnet18_pair
    path = tmp_path / "resnet18.pth"
    torch.save(tv_model.state_dict(), path)
    em_model = models.resnet18()
    em_model.load_state_dict(ember.load(path))
    _eval_compare(torch, tv_model, em_model, 32, batch=1)


def test_other_architecture_state_dict_is_refused(torchvision, resnet18_pair):
    tv_model, _ = resnet18_pair
    with pytest.raises(RuntimeError, match=r"missing keys: .*layer1\.2\.conv1\.weight"):
        models.resnet34().load_state_dict(tv_model.state_dict())
    with pytest.raises(RuntimeError, match=r"missing keys: features\.0\.weight.* unexpected keys: conv1\.weight"):
        models.squeezenet1_1().load_state_dict(tv_model.state_dict())
    with pytest.raises(RuntimeError, match=r"size mismatch: fc\.weight: expected shape \(10, 512\)"):
        models.resnet18(num_classes=10).load_state_dict(tv_model.state_dict())


@pytest.mark.parametrize("name", ["resnet18", "vgg11", "mobilenet_v2", "vit_b_16", "googlenet"])
def test_weights_other_than_none_are_refused(name):
    with pytest.raises(ValueError, match=r"does not download .*load a state_dict file"):
        getattr(models, name)(weights="IMAGENET1K_V1")


def test_fixed_keyword_arguments_conflict():
    with pytest.raises(ValueError, match="groups"):
        models.resnext50_32x4d(groups=4)
    assert models.resnet50(num_classes=3).fc.out_features == 3
    assert models.mobilenet_v3_small(width_mult=0.5).classifier[0].in_features == 288


def test_torchvision_initialisation_schemes():
    ember.manual_seed(0)
    m = models.resnet18(zero_init_residual=True)
    w = m.layer1[0].conv1.weight.detach().numpy()  # kaiming_normal_, fan_out, relu: std sqrt(2 / (64 * 9))
    assert abs(w.std() / np.sqrt(2 / (64 * 9)) - 1) < 0.05
    assert np.all(m.bn1.weight.detach().numpy() == 1) and np.all(m.layer1[0].bn2.weight.detach().numpy() == 0)
    mb = models.mobilenet_v2()
    assert abs(mb.classifier[1].weight.detach().numpy().std() / 0.01 - 1) < 0.05
    assert np.all(mb.classifier[1].bias.detach().numpy() == 0)
    vit = models.VisionTransformer(**TINY_VIT)
    assert np.all(vit.heads.head.weight.detach().numpy() == 0) and np.all(vit.class_token.detach().numpy() == 0)
    assert abs(vit.encoder.pos_embedding.detach().numpy().std() / 0.02 - 1) < 0.1


@pytest.mark.parametrize("name", ["efficientnet_b2", "efficientnet_b3", "efficientnet_b4",
                                  "efficientnet_b7"])
def test_efficientnet_scalings_have_torchvisions_parameters(name, torch, torchvision):
    # the larger scalings: same state_dict keys and shapes, same BatchNorm settings, same dropout
    tv = getattr(torchvision.models, name)(weights=None, num_classes=10)
    em = getattr(models, name)(num_classes=10)
    sd = tv.state_dict()
    assert list(em.state_dict()) == list(sd)
    assert all(tuple(v.shape) == tuple(sd[k].shape) for k, v in em.state_dict().items())
    tv_bn = [(m.eps, m.momentum) for m in tv.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    em_bn = [(m.eps, m.momentum) for m in em.modules() if isinstance(m, ember.nn.BatchNorm2d)]
    assert em_bn == tv_bn
    assert em.classifier[0].p == tv.classifier[0].p
