# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     name: python3
#     display_name: Python 3
#     language: python
# ---

# %% [markdown]
# # Write a layer and prove it
#
# Most new layers need no backward at all: write `forward` with ember's ops and autograd
# differentiates it. Sometimes you want your own backward, for speed, memory or numerical
# stability. Then you owe a proof that it is right. This page writes one op with its
# backward, wraps it in a module, and proves it three ways:
#
# 1. `gradcheck`: the backward against finite differences, in float64;
# 2. `gradgradcheck`: the backward's own gradient (for `create_graph=True`);
# 3. PyTorch as an oracle: same inputs, same numbers.
#
# Then we train with it. {doc}`01_autograd_inside` shows how `Function` and the graph walk
# work underneath.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

import ember
import ember.nn.functional as F
from ember import nn
from ember.autograd import Function, gradcheck, gradgradcheck

ember.manual_seed(0)

# %% [markdown]
# ## The op: Swish with a learnable slope
#
# Swish is `swish(x) = x * sigmoid(beta * x)`; with `beta = 1` it is SiLU, with large `beta`
# it approaches ReLU. We give each feature its own learnable `beta`, so the op has two
# inputs: `x` of shape `(N, C)` and `beta` of shape `(C,)`, broadcast over the batch.
#
# With `s = sigmoid(beta * x)` and `s' = s * (1 - s)`, the chain rule gives, for an upstream
# gradient `gy`:
#
# - `dL/dx = gy * (s + beta * x * s')`
# - `dL/dbeta = sum over the batch of gy * x**2 * s'` (summed because `beta` was broadcast
#   over `N`: the gradient must have `beta`'s shape)
#
# The `Function` follows PyTorch's protocol. `forward` saves the **inputs** `x` and `beta`;
# `backward` recomputes `s` from them with ember's ops. Written that way, the backward is
# itself differentiable, which `gradgradcheck` will confirm.

# %%
class SwishFunction(Function):
    @staticmethod
    def forward(ctx, x, beta):
        ctx.save_for_backward(x, beta)
        return x * ember.sigmoid(beta * x)

    @staticmethod
    def backward(ctx, grad_output):
        x, beta = ctx.saved_tensors
        s = ember.sigmoid(beta * x)
        ds = s * (1 - s)
        grad_x = grad_output * (s + beta * x * ds)
        grad_beta = (grad_output * x * x * ds).sum(dim=0)  # undo the broadcast over the batch
        return grad_x, grad_beta


# %% [markdown]
# ## The module
#
# The layer holds `beta` as a {py:class}`ember.nn.Parameter`, so optimizers and
# `state_dict` see it, and its `forward` is one line: the op.

# %%
class Swish(nn.Module):
    """Swish with a learnable slope per feature: ``x * sigmoid(beta * x)``.

    Shape:
        input: (N, C); output: (N, C); beta: (C,).
    """

    def __init__(self, num_features, beta=1.0):
        super().__init__()
        self.num_features = num_features
        self.beta = nn.Parameter(ember.full((num_features,), beta))

    def forward(self, x):
        return SwishFunction.apply(x, self.beta)

    def extra_repr(self):
        return f"num_features={self.num_features}"


layer = Swish(4)
print(layer)
print(dict(layer.named_parameters()))
print(layer(ember.randn(2, 4)))

# %% [markdown]
# ## Proof 1: `gradcheck`
#
# `gradcheck(fn, inputs)` nudges every element of every input that requires grad by
# `+-eps` and measures the change of the output with the central difference
# `(f(x + eps) - f(x - eps)) / (2 eps)`, projected on a random `grad_output`. It then compares
# that with what `backward` returns, element by element, and passes when
# `|analytic - numeric| <= atol + rtol * |numeric|` everywhere.
#
# We check the op directly, with both `x` and `beta` as float64 inputs that require grad.
# (To check a whole module the same way, convert it first with `layer.double()`.)

# %%
x = ember.randn(6, 4, dtype=ember.float64, requires_grad=True)
beta = ember.randn(4, dtype=ember.float64, requires_grad=True)
print("gradcheck:", gradcheck(SwishFunction.apply, (x, beta), eps=1e-6, atol=1e-5, rtol=1e-3))

# %% [markdown]
# ### Why float64, and what the tolerances mean
#
# A finite difference has two errors that pull in opposite directions:
#
# - **truncation**: the central difference is exact up to `eps**2 * f'''/6`, so it wants a
#   small `eps`;
# - **rounding**: `f(x + eps)` and `f(x - eps)` are each rounded to the dtype's precision
#   `u` (about `6e-8` for float32, `1e-16` for float64), and dividing their difference by
#   `2 eps` magnifies that to about `u * |f| / eps`, so it wants a large `eps`.
#
# The figure measures both for our op, on one element, in float32 and float64:

# %%
x0, b0 = 0.7, 1.3
xin = ember.tensor([[x0]], dtype=ember.float64, requires_grad=True)  # a batch of one, one feature
SwishFunction.apply(xin, ember.tensor([b0], dtype=ember.float64)).backward()
exact = xin.grad.item()  # the backward's derivative at x0 (grad_output is 1)

eps_values = np.logspace(-12, -1, 45)
errors = {}
for dtype in (ember.float32, ember.float64):
    def f(v):
        return SwishFunction.apply(ember.tensor([[v]], dtype=dtype), ember.tensor([b0], dtype=dtype)).item()

    errors[dtype] = [abs((f(x0 + e) - f(x0 - e)) / (2 * e) - exact) for e in eps_values]

i6 = np.argmin(np.abs(eps_values - 1e-6))
print(f"error of the finite difference at eps=1e-6: float32 {errors[ember.float32][i6]:.1e}, "
      f"float64 {errors[ember.float64][i6]:.1e}")

fig, ax = plt.subplots(figsize=(6, 3.5))
for dtype, errs in errors.items():
    ax.loglog(eps_values, np.maximum(errs, 1e-17), label=str(dtype))
ax.axvline(1e-6, color="gray", ls=":", label="gradcheck's eps")
ax.axhline(1e-5, color="gray", ls="--", label="atol")
ax.set_xlabel("eps")
ax.set_ylabel("|finite difference - backward|")
ax.legend(fontsize=8)
ax.set_title("Finite differences: rounding (left) vs truncation (right)")
plt.tight_layout()
plt.show()

# %% [markdown]
# In float64 the error at `eps = 1e-6` is around `1e-11` (printed above): the tolerance `atol=1e-5,
# rtol=1e-3` (PyTorch's defaults too) leaves a wide margin for honest rounding, while a real
# bug (a missing term, a wrong sign, a forgotten sum) is off by an amount of the order of the
# gradient itself. In float32 the error at that `eps` is several `1e-3`, above any useful
# tolerance: a check there would fail correct code or, with loose tolerances, pass wrong
# code. So check in float64, as PyTorch requires (ember's `gradcheck` even casts the inputs
# that require grad to float64 for you), and trust the same formula in float32.
#
# ## Proof 2: `gradgradcheck`
#
# `create_graph=True` asks autograd to record the backward itself, so gradients can be
# differentiated again (gradient penalties, Hessian-vector products, meta-learning). For a
# custom op that means our `backward` must be built of differentiable ops.
# `gradgradcheck` checks it: it treats the map `(x, beta, grad_output) -> (grad_x, grad_beta)`
# as a function and gradchecks **that**.

# %%
print("gradgradcheck:", gradgradcheck(SwishFunction.apply, (x, beta)))

# %% [markdown]
# It is easy to fail. A common speed-up is to save `s` in `forward` instead of recomputing it.
# The first derivative is still right, but `s` was computed under no-grad in `forward`, so
# to the second derivative it is a constant, and the terms through `ds/dx` and `ds/dbeta` go
# missing. `gradcheck` passes; `gradgradcheck` catches it:

# %%
class SwishSavingS(Function):
    @staticmethod
    def forward(ctx, x, beta):
        s = ember.sigmoid(beta * x)
        ctx.save_for_backward(x, beta, s)  # s is an intermediate, not an input or output
        return x * s

    @staticmethod
    def backward(ctx, grad_output):
        x, beta, s = ctx.saved_tensors
        ds = s * (1 - s)
        return grad_output * (s + beta * x * ds), (grad_output * x * x * ds).sum(dim=0)


print("gradcheck:", gradcheck(SwishSavingS.apply, (x, beta)))
try:
    gradgradcheck(SwishSavingS.apply, (x, beta))
except Exception as err:  # a GradcheckError, naming the input and the element
    print(f"gradgradcheck: {type(err).__name__}: {err}")

# %% [markdown]
# ## Proof 3: PyTorch as the oracle
#
# PyTorch differentiates the plain formula `x * sigmoid(beta * x)` with its own autograd. We
# give both libraries the same inputs, the same `beta` and the same upstream gradient, and
# compare the forward, both gradients, and a second-order gradient (the gradient of
# `sum(grad_x ** 2)`, which goes through our backward with `create_graph=True`), in float32
# and float64.

# %%
rng = np.random.default_rng(0)
x_np = rng.standard_normal((16, 8))
beta_np = rng.uniform(0.5, 2.0, 8)
v_np = rng.standard_normal((16, 8))  # the upstream gradient

for dtype, tdtype in [(ember.float32, torch.float32), (ember.float64, torch.float64)]:
    layer = Swish(8).to(dtype)
    with ember.no_grad():
        layer.beta.copy_(ember.tensor(beta_np, dtype=dtype))
    xe = ember.tensor(x_np, dtype=dtype, requires_grad=True)
    ye = layer(xe)
    gxe, gbe = ember.autograd.grad(ye, (xe, layer.beta), grad_outputs=ember.tensor(v_np, dtype=dtype),
                                   create_graph=True)
    (ggxe,) = ember.autograd.grad((gxe ** 2).sum(), xe)

    xt = torch.tensor(x_np, dtype=tdtype, requires_grad=True)
    bt = torch.tensor(beta_np, dtype=tdtype, requires_grad=True)
    yt = xt * torch.sigmoid(bt * xt)
    gxt, gbt = torch.autograd.grad(yt, (xt, bt), grad_outputs=torch.tensor(v_np, dtype=tdtype), create_graph=True)
    (ggxt,) = torch.autograd.grad((gxt ** 2).sum(), xt)

    def diff(e, t):
        return np.abs(e.detach().numpy().astype(np.float64) - t.detach().numpy().astype(np.float64)).max()

    print(f"{str(dtype):14s} forward {diff(ye, yt):.1e}   grad_x {diff(gxe, gxt):.1e}   "
          f"grad_beta {diff(gbe, gbt):.1e}   second order {diff(ggxe, ggxt):.1e}")

# %% [markdown]
# float64 agrees to the last digits; float32 to about `1e-7` relative, its rounding. A
# difference far above that would point at a bug that finite differences could still miss
# (for instance, the same mistake in the forward and the backward).
#
# ## Using it: a tiny training run
#
# A small MLP with two Swish layers learns `y = sin(2x) + 0.3x` on 200 points, full batch,
# 500 Adam steps (under a second). Both the weights and the slopes `beta` are trained.

# %%
ember.manual_seed(0)
X = ember.linspace(-3, 3, 200).reshape(-1, 1)
Y = ember.sin(2 * X) + 0.3 * X

model = nn.Sequential(nn.Linear(1, 32), Swish(32), nn.Linear(32, 32), Swish(32), nn.Linear(32, 1))
opt = ember.optim.Adam(model.parameters(), lr=0.003)
losses = []
for step in range(500):
    loss = F.mse_loss(model(X), Y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    losses.append(loss.item())
print(f"loss: {losses[0]:.4f} -> {losses[-1]:.2e}")
print("learned beta, first layer: min {:.2f}, max {:.2f}".format(model[1].beta.min().item(), model[1].beta.max().item()))

# %%
with ember.no_grad():
    pred = model(X)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].semilogy(losses)
axes[0].set_xlabel("step")
axes[0].set_ylabel("MSE")
axes[0].set_title("training loss", fontsize=10)
axes[1].plot(X.numpy(), Y.numpy(), color="black", lw=3, alpha=0.3, label="target")
axes[1].plot(X.numpy(), pred.numpy(), color="tab:blue", label="model")
axes[1].legend(fontsize=8)
axes[1].set_title("the fit", fontsize=10)
axes[2].hist([model[1].beta.detach().numpy(), model[3].beta.detach().numpy()], bins=12,
             label=["layer 1", "layer 2"])
axes[2].axvline(1.0, color="gray", ls=":")
axes[2].set_title("learned beta (started at 1)", fontsize=10)
axes[2].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Checklist for your own layer
#
# - Compose existing ops if you can: no backward to write, no proof to owe.
# - If you write a backward: return one gradient per input, of the input's shape (sum over
#   broadcast dimensions), and multiply by `grad_output`.
# - Save inputs or outputs with `ctx.save_for_backward`, compute with ember's ops in
#   `backward`, and the op is differentiable twice.
# - Prove it: `gradcheck` and `gradgradcheck` in float64, and PyTorch as an oracle when it
#   is installed. [The architecture guide](../architecture.md) shows how ember's own ops are
#   tested the same way.
