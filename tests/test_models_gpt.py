"""The zoo's GPT: causality, weight tying, generation, and logits and gradients against a
PyTorch twin loaded from the same state_dict."""
import math

import numpy as np
import pytest

import ember
from ember._cli_text import lr_factor
from ember.models import build_model, model_config
from ember.nn import functional as F


def _tiny():
    return build_model(model_config("gpt", vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))


def test_position_t_sees_only_positions_up_to_t():
    m = _tiny()
    x = ember.randint(0, 11, (2, 8))
    y = x.clone()
    y[:, 5] = (y[:, 5] + 1) % 11
    a, b = m(x).detach().numpy(), m(y).detach().numpy()
    assert np.allclose(a[:, :5], b[:, :5]) and not np.allclose(a[:, 5:], b[:, 5:])


def test_tied_head_state_dict_and_errors():
    m = _tiny()
    assert m.head.weight is m.tok_emb.weight
    assert len(list(m.parameters())) == len({id(p) for p in m.parameters()})
    sd = m.state_dict()
    assert "head.weight" in sd and not any(k.endswith("mask") for k in sd)  # the causal mask is not saved
    with pytest.raises(ValueError, match="longer than block_size 8"):
        m(ember.zeros(1, 9, dtype=ember.int64))
    with pytest.raises(ValueError, match="divisible"):
        build_model(model_config("gpt", n_embd=10, n_head=4))


def test_generate_extends_past_the_context():
    m = _tiny()
    x = ember.tensor([[1, 2, 3]])
    out = m.generate(x, 12, top_k=3, generator=ember.Generator(0))
    assert tuple(out.shape) == (1, 15) and out[0, :3].tolist() == [1, 2, 3]
    assert out.tolist() == m.generate(x, 12, top_k=3, generator=ember.Generator(0)).tolist()
    assert m.generate(x, 5, temperature=0).tolist() == m.generate(x, 5, top_k=1).tolist()
    assert m.training


def test_lr_schedule():
    assert lr_factor(0, 2000, 100) == pytest.approx(1 / 101)
    assert lr_factor(99, 2000, 100) == pytest.approx(100 / 101)
    assert lr_factor(100, 2000, 100) == pytest.approx(1.0)
    assert lr_factor(1999, 2000, 100) == pytest.approx(0.1)


def test_against_a_pytorch_twin(torch):
    tnn = torch.nn

    class Block(tnn.Module):
        def __init__(self, c, nh):
            super().__init__()
            self.nh = nh
            self.ln_1, self.ln_2 = tnn.LayerNorm(c, bias=False), tnn.LayerNorm(c, bias=False)
            self.attn = tnn.Module()
            self.attn.qkv, self.attn.proj = tnn.Linear(c, 3 * c, bias=False), tnn.Linear(c, c, bias=False)
            self.mlp = tnn.Module()
            self.mlp.fc, self.mlp.proj = tnn.Linear(c, 4 * c, bias=False), tnn.Linear(4 * c, c, bias=False)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (t.view(B, T, self.nh, C // self.nh).transpose(1, 2)
                       for t in self.attn.qkv(self.ln_1(x)).split(C, dim=2))
            y = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.attn.proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp.proj(torch.nn.functional.gelu(self.mlp.fc(self.ln_2(x)), approximate="tanh"))

    class TGPT(tnn.Module):
        def __init__(self):
            super().__init__()
            self.tok_emb, self.pos_emb = tnn.Embedding(11, 16), tnn.Embedding(8, 16)
            self.blocks = tnn.ModuleList([Block(16, 2) for _ in range(2)])
            self.ln_f, self.head = tnn.LayerNorm(16, bias=False), tnn.Linear(16, 11, bias=False)
            self.head.weight = self.tok_emb.weight

        def forward(self, idx):
            x = self.tok_emb(idx) + self.pos_emb(torch.arange(idx.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln_f(x))

    m, t = _tiny(), TGPT().double()
    t.load_state_dict({k: torch.tensor(np.asarray(getattr(v, "_data", v)), dtype=torch.float64) for k, v in m.state_dict().items()})
    x = np.random.default_rng(0).integers(0, 11, (3, 8))
    loss = F.cross_entropy(m(ember.tensor(x)).reshape(-1, 11), ember.tensor(x).reshape(-1))
    tl = torch.nn.functional.cross_entropy(t(torch.tensor(x)).reshape(-1, 11), torch.tensor(x).reshape(-1))
    loss.backward()
    tl.backward()
    assert math.isclose(loss.item(), tl.item(), rel_tol=1e-5)
    tgrads = dict(t.named_parameters())
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tgrads[name].grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)
