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
# # Autograd from the inside
#
# `loss.backward()` fills every parameter's `.grad`. This page opens that call up, in ember's
# own code: what a Tensor records, what a `Function` is, how the graph is walked, and how to
# prove that a backward is right with a gradient check. Every step is plain NumPy underneath,
# so you can read all of it.
#
# The code follows PyTorch's API, so what you learn here carries over to `torch.autograd`.
# [The architecture guide](../architecture.md) gives the same story from the point of view of
# someone adding an op.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np

import ember
from ember.autograd import Function, gradcheck
from ember.autograd import engine

ember.manual_seed(0)

# %% [markdown]
# ## A Tensor that requires grad
#
# A tensor holds a NumPy array. `requires_grad=True` marks it as a *leaf* whose gradient we
# want: ops that use it will be recorded. A leaf was made by you, not by an op, so it has no
# `grad_fn`, and its `.grad` stays `None` until a backward pass reaches it.

# %%
x = ember.tensor([0.5, -1.0, 2.0], requires_grad=True)
w = ember.tensor([1.5, 0.3, -0.8], requires_grad=True)
print(x)
print("requires_grad:", x.requires_grad, " is_leaf:", x.is_leaf, " grad_fn:", x.grad_fn, " grad:", x.grad)
print("the array inside:", type(x.detach().numpy()), x.dtype)

# %% [markdown]
# ## A tiny expression
#
# We build `y = sum(tanh(x * w) + x * w)`. Note that the product `a = x * w` is used **twice**,
# by `tanh` and by `+`: this is what makes the order of the backward pass matter, as we will
# see. Each result made by an op remembers the op in its `grad_fn`.

# %%
a = x * w
b = a.tanh()
c = b + a
y = c.sum()
print(y)
for name, t in [("a", a), ("b", b), ("c", c), ("y", y)]:
    print(f"{name}.grad_fn = {t.grad_fn}   is_leaf = {t.is_leaf}")

# %% [markdown]
# ## The graph: `grad_fn` and `next_functions`
#
# `y.grad_fn` is a node of the graph. Its `next_functions` lists, for each input of the op,
# the node that produced that input: another op, or an `AccumulateGrad` for a leaf (the place
# where the gradient is finally stored in `.grad`). Following `next_functions` from `y` visits
# the whole graph. Here is a walk with an explicit stack (a recursive walk would hit Python's
# recursion limit on a deep network), printing each node once:

# %%
names = {id(x): "x", id(w): "w"}


def label(fn):
    """A node's name; a leaf's AccumulateGrad also says which tensor it feeds."""
    if hasattr(fn, "variable"):
        return f"AccumulateGrad({names[id(fn.variable)]})"
    return fn.name()


stack, seen = [(y.grad_fn, 0)], set()
while stack:
    fn, depth = stack.pop()
    print("    " * depth + label(fn), "(seen before)" if fn in seen else "")
    if fn in seen:
        continue
    seen.add(fn)
    for child, _ in reversed(fn.next_functions):
        if child is not None:
            stack.append((child, depth + 1))

# %% [markdown]
# `MulBackward0` appears twice: one node, reached along two paths. The gradient that reaches
# `a` is the **sum** of what comes through `tanh` and what comes through `+`.
#
# ## What a node is: a `Function`
#
# Every op is a subclass of {py:class}`ember.autograd.Function`. The node of our product is
# an instance of ember's `Mul`, and this is its whole source: `forward` computes on NumPy
# arrays and saves what the backward needs; `backward` receives the gradient of the output,
# `gy`, and returns one gradient per input (the chain rule: `gy * b` for `a`, `gy * a` for `b`).
# `_unb` sums the gradient back to the input's shape when the product broadcast.

# %%
Mul = type(a.grad_fn)
print(Mul.__mro__)
print(inspect.getsource(Mul))

# %% [markdown]
# The node keeps its inputs (the tensors, so the walk can follow them) and the arrays it
# saved. `Function.apply`, in `ember/autograd/function.py`, is what runs `forward` and, when
# an input requires grad, links the output to the node as its `grad_fn`.

# %%
print("inputs are x and w:", a.grad_fn.inputs[0] is x, a.grad_fn.inputs[1] is w)
print("saved for backward:", a.grad_fn.saved_tensors)

# %% [markdown]
# ## The walk: each node after all its consumers
#
# `Tensor.backward` calls `ember.autograd.backward`, which first orders the nodes reachable
# from `y` so that **each node comes after every node that consumes its output**, then runs
# them in that order. This is Kahn's algorithm: count each node's consumers, start with the
# nodes nobody consumes, and release a node when its last consumer has run. Here is the real
# function, from `ember/autograd/engine.py` (the `else` branches handle tensors changed in
# place since they were used; ignore them on a first read):

# %%
print(inspect.getsource(engine._toposort))

# %% [markdown]
# The order it gives for our graph: `MulBackward0` comes last, after **both** `TanhBackward0`
# and `AddBackward0`, so by the time it runs, the two contributions to `a`'s gradient have
# been added up. A walk that ran each node as soon as it first reached it would run `Mul`
# along one path only, with half of its gradient.

# %%
order = engine._toposort([y.grad_fn])
print(" -> ".join(fn.name() for fn in order))

# %% [markdown]
# We can watch the walk happen. A hook registered on a tensor is called with the gradient
# when it arrives there; hooks on `c`, `b` and `a` fire in the order above, and `a`'s hook
# fires once, with the summed gradient.

# %%
for name, t in [("c", c), ("b", b), ("a", a)]:
    t.register_hook(lambda g, name=name: print(f"gradient reaches {name}: {g}"))

y.backward()
print("x.grad =", x.grad)
print("w.grad =", w.grad)

# %% [markdown]
# Check it by hand. With `a = x * w`, `dy/da = (1 - tanh(a)**2) + 1` (the two paths) and the
# product rule gives `dy/dx = w * dy/da`, `dy/dw = x * dy/da`:

# %%
xa, wa = x.detach().numpy(), w.detach().numpy()
dy_da = (1 - np.tanh(xa * wa) ** 2) + 1
print("max |x.grad - by hand| =", np.abs(x.grad.numpy() - wa * dy_da).max())
print("max |w.grad - by hand| =", np.abs(w.grad.numpy() - xa * dy_da).max())

# %% [markdown]
# ## The graph as a picture
#
# The same walk, drawn: each node placed one row below its deepest consumer, with an arrow
# from a node to each node it passes gradients to. (The graph is freed by `backward`, so we
# build the expression again.)

# %%
x.grad = w.grad = None
a = x * w
y = (a.tanh() + a).sum()

depth, edges = {y.grad_fn: 0}, []
for fn in engine._toposort([y.grad_fn]):  # consumers first, so a node's depth is final here
    for child, _ in fn.next_functions:
        if child is not None:
            edges.append((fn, child))
            depth[child] = max(depth.get(child, 0), depth[fn] + 1)

rows = {}
for fn, d in depth.items():
    rows.setdefault(d, []).append(fn)
pos = {fn: (1.4 * (i - (len(r) - 1) / 2), -d) for d, r in rows.items() for i, fn in enumerate(r)}

fig, ax = plt.subplots(figsize=(6, 4.5))
for src, dst in edges:
    skip = depth[dst] - depth[src] > 1  # an edge past a row is drawn as an arc beside it
    ax.annotate("", xy=pos[dst], xytext=pos[src],
                arrowprops=dict(arrowstyle="->", color="gray", shrinkA=12, shrinkB=12,
                                connectionstyle=f"arc3,rad={0.9 if skip else 0}"))
for fn, (px, py) in pos.items():
    leaf = hasattr(fn, "variable")
    ax.text(px, py, label(fn), ha="center", va="center", fontsize=9,
            bbox=dict(boxstyle="round", fc="#fde2c8" if leaf else "#dbe9f6", ec="gray"))
ax.set_xlim(-2, 2)
ax.set_ylim(-max(rows) - 0.6, 0.6)
ax.axis("off")
ax.set_title("y = sum(tanh(x * w) + x * w): gradients flow down")
plt.show()

# %% [markdown]
# ## Your own op: a custom `Function`
#
# To add an op, subclass `Function` with PyTorch's protocol: `forward(ctx, ...)` and
# `backward(ctx, ...)` as static methods. `ctx` is the node itself; `ctx.save_for_backward`
# keeps tensors for the backward, which reads them from `ctx.saved_tensors` (and ember checks
# that they were not changed in place in between). `backward` gets one gradient per output and
# returns one per input. Our op is the cube, `x ** 3`, whose derivative is `3 x**2`:

# %%
class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 3 * x ** 2  # the chain rule: upstream gradient times d(x**3)/dx


t = ember.tensor([0.5, -1.0, 2.0], requires_grad=True)
out = Cube.apply(t)
print(out, out.grad_fn.next_functions)
out.sum().backward()
print("t.grad =", t.grad, " expected 3 t**2 =", 3 * t.detach() ** 2)

# %% [markdown]
# ## Proving a backward: `gradcheck`
#
# A hand-written backward can be wrong in ways that still train a little. The proof is to
# compare it with **finite differences**: nudge each input element by `+-eps` and measure how
# the output moves, `(f(x + eps) - f(x - eps)) / (2 eps)`.
# `ember.autograd.gradcheck(fn, inputs)` does this for every element of every input that
# requires grad, projecting the outputs on a random direction (a random `grad_output`), and
# compares with what `backward` returns.
#
# It runs in **float64**: with `eps = 1e-6` the difference `f(x + eps) - f(x - eps)` is about
# `1e-6` of `f`, and float32 (about 7 significant digits) would leave almost no correct digits
# in it. float64 keeps about 10 correct digits, so a tolerance of `atol=1e-5, rtol=1e-3` is
# tight enough to catch real mistakes.
#
# Here is a typical mistake: a backward that forgets the chain rule and returns `3 x**2`
# without multiplying by `grad_output`.

# %%
class BadCube(Cube):  # the same forward as Cube
    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2  # wrong: grad_output is dropped


t64 = ember.randn(5, dtype=ember.float64, requires_grad=True)
print("Cube passes:", gradcheck(Cube.apply, (t64,)))
try:
    gradcheck(BadCube.apply, (t64,))
except Exception as err:  # a GradcheckError, naming the input and the element
    print(f"BadCube fails: {type(err).__name__}: {err}")

# %% [markdown]
# Notice that `BadCube` gives the right answer for `out.sum().backward()`: there
# `grad_output` is all ones, so dropping it changes nothing. That is why a gradient check uses
# a random `grad_output`. The figure shows it: with a random `r` as `grad_output`, the finite
# differences of `sum(r * x**3)` follow the correct backward, and the wrong one is off
# wherever `r` is not 1.

# %%
xs = np.linspace(-1.5, 1.5, 25)
r = np.random.default_rng(0).standard_normal(xs.shape)
eps = 1e-6
numeric = r * ((xs + eps) ** 3 - (xs - eps) ** 3) / (2 * eps)  # elementwise op: one nudge per element


def analytic(op):
    t = ember.tensor(xs, requires_grad=True)
    op.apply(t).backward(ember.tensor(r))
    return t.grad.numpy()


good, bad = analytic(Cube), analytic(BadCube)
print("max |Cube - finite differences|    =", np.abs(good - numeric).max())
print("max |BadCube - finite differences| =", np.abs(bad - numeric).max())

fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(xs, good, "-", label="Cube.backward")
ax.plot(xs, bad, "--", label="BadCube.backward")
ax.plot(xs, numeric, "o", color="black", label="finite differences", ms=4)
ax.set_xlabel("x")
ax.set_ylabel("d sum(r * x**3) / dx")
ax.legend(loc="upper center", fontsize=8)
ax.set_title("gradcheck's view: a random grad_output exposes the bug")
plt.show()

# %% [markdown]
# ## Where next
#
# - {doc}`05_write_a_layer`: a custom op wrapped in a module, checked with `gradcheck` and
#   `gradgradcheck` and compared with PyTorch.
# - [The architecture guide](../architecture.md): how ember's ops write one backward that
#   serves first and second derivatives, and where the fast kernels live.
