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
# # From the seed libraries to ember
#
# ember grew out of two small NumPy libraries: **DL-From-Scratch** (`Layer`, `Network` with
# `forward` and `grad(y, x)`) and **neural-nets-in-numpy** (`denseLayer`, `nNet` with
# `forwardPass`, `backprop` and `nEpochs`). Their APIs live on in `ember.compat`, so code
# written for them runs by changing one import, but the gradients now come from ember's
# autograd instead of hand-written backprop.
#
# This page puts each seed model beside the same model written with `ember.nn` (PyTorch's
# API), copies the weights across, and shows that both compute the same numbers: outputs,
# gradients, and a whole training run. [The migration guide](../migration.md) has the
# call-by-call tables.

# %%
import matplotlib.pyplot as plt
import numpy as np

import ember
import ember.nn.functional as F
from ember import nn, optim
from ember.compat.dl_from_scratch import Layer, Network
from ember.compat.neural_nets_in_numpy import denseLayer, nNet
from ember.utils.data import DataLoader, TensorDataset

ember.manual_seed(0)

# %% [markdown]
# ## A small slice of MNIST
#
# We take 2,000 training images and 1,000 test images, flattened to 784 pixels, so the page
# builds in seconds. `ember.datasets.MNIST` finds the files in the repository's `data/`
# folder. The seeds work in float64 (NumPy's default), so we do too.

# %%
train = ember.datasets.MNIST(train=True)
test = ember.datasets.MNIST(train=False)
X = train.data[:2000].reshape(2000, 784).astype(np.float64)  # rows are samples
labels = train.targets[:2000]
X_test = test.data[:1000].reshape(1000, 784).astype(np.float64)
labels_test = test.targets[:1000]
print(X.shape, labels[:10])

# %% [markdown]
# Two layout rules connect the seeds to `ember.nn`:
#
# - **Samples.** The seeds take a batch as *columns*, shape `(784, N)`; `ember.nn` takes
#   *rows*, shape `(N, 784)`. So the seed's `x` is `X.T`, and targets are one-hot columns
#   `Y` of shape `(10, N)` where `ember.nn` uses class indices.
# - **Weights.** {py:class}`ember.nn.Linear` stores `weight` as `(out, in)` and `bias` as
#   `(out,)`. DL-From-Scratch's `W` is `(in, out)` (so `weight = W.T`);
#   neural-nets-in-numpy's `linear` is already `(out, in)`. Both seeds' biases are columns
#   `(out, 1)`, so `bias = b[:, 0]`.

# %%
def one_hot_columns(k):
    """Class indices (N,) -> the seeds' one-hot targets, columns (10, N)."""
    return np.eye(10)[k].T


x, Y = X[:64].T, one_hot_columns(labels[:64])  # a batch of 64, the seeds' way
print("seed batch:", x.shape, Y.shape, "  ember.nn batch:", X[:64].shape, labels[:64].shape)

# %% [markdown]
# ## DL-From-Scratch: `Layer` and `Network`
#
# The seed's README builds a network from a list of layers, `Layer(input_dim, output_dim,
# activation)`, e.g. `Layer(500, 300, 'relu')`. For MNIST we use 784 -> 64 -> 10, with a
# softmax at the end.

# %%
net = Network([Layer(784, 64, 'relu'), Layer(64, 10, 'softmax')])
print([(l.W.shape, l.b.shape, l.activation) for l in net.layers])

# %% [markdown]
# The same model in `ember.nn`: the softmax is not a layer, it is folded into
# `nn.CrossEntropyLoss`, which takes logits (more accurate, and what PyTorch does). We copy
# the seed's weights in, transposing `W` and flattening `b`.

# %%
model = nn.Sequential(
    nn.Linear(784, 64, dtype=ember.float64),
    nn.ReLU(),
    nn.Linear(64, 10, dtype=ember.float64),
)
for layer, linear in zip(net.layers, [model[0], model[2]]):
    linear.load_state_dict({"weight": ember.tensor(layer.W.T), "bias": ember.tensor(layer.b[:, 0])})
print(model)

# %% [markdown]
# **Forward.** `net.forward(x)` returns probabilities as columns `(10, N)`; the core model
# returns logits as rows, so we apply the softmax and transpose to compare.

# %%
probs_seed = net.forward(x)
probs_core = F.softmax(model(ember.tensor(X[:64])), dim=1)
print("max |forward difference| =", np.abs(probs_seed - probs_core.detach().numpy().T).max())

# %% [markdown]
# **Gradients.** `net.grad(y, x)` returns one `(dC_dW, dC_db)` pair per layer, the gradient
# of the seed's cost (mean cross-entropy over the columns). In `ember.nn` that is
# `loss.backward()` on `nn.CrossEntropyLoss`, after which each parameter holds its `.grad`.

# %%
grads_seed = net.grad(Y, x)

loss_fn = nn.CrossEntropyLoss()
loss = loss_fn(model(ember.tensor(X[:64])), ember.tensor(labels[:64]))
loss.backward()
print(f"cost: seed {net.cost(Y, x):.12f}   ember.nn {loss.item():.12f}")
for i, ((dW, db), linear) in enumerate(zip(grads_seed, [model[0], model[2]])):
    print(f"layer {i}: max |dC_dW - weight.grad.T| = {np.abs(dW - linear.weight.grad.numpy().T).max():.2e}, "
          f"max |dC_db - bias.grad| = {np.abs(db[:, 0] - linear.bias.grad.numpy()).max():.2e}")

# %% [markdown]
# ## neural-nets-in-numpy: `denseLayer` and `nNet`
#
# This seed trains by stochastic gradient descent, one `(x, y)` pair of columns at a time:
# `backprop(data, loss, learning_rate)` takes one step per pair, `'mse'` or `'cel'`
# (cross-entropy, with a softmax last layer), and `nEpochs(data, loss, learning_rate, n)`
# repeats it `n` times. `forwardPass(v, False)` returns the final output only.

# %%
ember.manual_seed(0)
nnet = nNet([denseLayer(784, 32, 'relu'), denseLayer(32, 10, 'softmax')])
data = [(X[i:i + 1].T, one_hot_columns(labels[i:i + 1])) for i in range(200)]  # 200 pairs of columns
print(len(data), "pairs; x", data[0][0].shape, " y", data[0][1].shape)


# %% [markdown]
# A helper builds the `ember.nn` twin of an `nNet` (here `linear` has the same layout as
# `weight`, so there is no transpose). We use it once per comparison so that both start from
# the same weights.

# %%
def core_twin(nnet):
    """nn.Sequential with the nNet's weights: Linear(784, 32), ReLU, Linear(32, 10)."""
    twin = nn.Sequential(nn.Linear(784, 32, dtype=ember.float64), nn.ReLU(),
                         nn.Linear(32, 10, dtype=ember.float64))
    for layer, linear in zip(nnet.layersList, [twin[0], twin[2]]):
        linear.load_state_dict({"weight": ember.tensor(layer.linear), "bias": ember.tensor(layer.bias[:, 0])})
    return twin


twin = core_twin(nnet)
v = data[0][0]
out_seed = nnet.forwardPass(v, False)
out_core = F.softmax(twin(ember.tensor(v.T)), dim=1)
print("max |forwardPass difference| =", np.abs(out_seed - out_core.detach().numpy().T).max())

# %% [markdown]
# **`backprop` is per-pair SGD.** In `ember.nn` it is the ordinary PyTorch loop with a batch
# of one. For `'cel'` the loss is cross-entropy on the logits; for `'mse'` it is the mean
# squared error of the softmax *probabilities* (the seed compares its last layer's output with
# the target):

# %%
def core_loss(name, logits, y):
    """The ember.nn loss for the seed's loss `name`; y is the one-hot target as a row (1, 10)."""
    if name == "cel":
        return F.cross_entropy(logits, y.argmax(dim=1))
    return F.mse_loss(F.softmax(logits, dim=1), y)


# %% [markdown]
# For each loss we copy `nnet` (so both runs start from its weights), train the copy for two
# epochs with `nEpochs` and its twin with the loop, and compare every weight.

# %%
for name in ["cel", "mse"]:
    seed_net = nNet([denseLayer(l.linear.copy(), l.bias.copy(), l.activation) for l in nnet.layersList])
    twin = core_twin(seed_net)

    seed_net.nEpochs(data, name, 0.05, 2)

    opt = optim.SGD(twin.parameters(), lr=0.05)
    for epoch in range(2):
        for v, y in data:
            opt.zero_grad()
            core_loss(name, twin(ember.tensor(v.T)), ember.tensor(y.T)).backward()
            opt.step()

    moved = max(np.abs(new.linear - old.linear).max() for new, old in zip(seed_net.layersList, nnet.layersList))
    diff = max(np.abs(layer.linear - linear.weight.detach().numpy()).max()
               for layer, linear in zip(seed_net.layersList, [twin[0], twin[2]]))
    print(f"'{name}': the weights moved by up to {moved:.2e}; seed vs ember.nn differ by {diff:.2e}")

# %% [markdown]
# ## Training both ways
#
# Now a short training run on the 2,000 images, the DL-From-Scratch way and the `ember.nn`
# way, from the same starting weights: mini-batches of 50, plain SGD with learning rate 0.1,
# three epochs. The seed's README updates the parameters by hand with the gradients from
# `net.grad`:

# %%
ember.manual_seed(1)
net = Network([Layer(784, 64, 'relu'), Layer(64, 10, 'softmax')])
model = nn.Sequential(nn.Linear(784, 64, dtype=ember.float64), nn.ReLU(), nn.Linear(64, 10, dtype=ember.float64))
for layer, linear in zip(net.layers, [model[0], model[2]]):
    linear.load_state_dict({"weight": ember.tensor(layer.W.T), "bias": ember.tensor(layer.b[:, 0])})

lr, batch, epochs = 0.1, 50, 3
seed_losses = []
for epoch in range(epochs):
    for s in range(0, len(X), batch):
        xb, yb = X[s:s + batch].T, one_hot_columns(labels[s:s + batch])
        seed_losses.append(net.cost(yb, xb))
        for (dC_dW, dC_db), l in zip(net.grad(yb, xb), net.layers):
            l.W -= lr * dC_dW
            l.b -= lr * dC_db
print(f"seed: {len(seed_losses)} steps, loss {seed_losses[0]:.3f} -> {seed_losses[-1]:.3f}")

# %% [markdown]
# The `ember.nn` way is the PyTorch training loop: a `DataLoader` over a `TensorDataset`
# (in order, to take the same batches), an optimizer, `zero_grad`, `backward`, `step`.

# %%
loader = DataLoader(TensorDataset(ember.tensor(X), ember.tensor(labels)), batch_size=batch, shuffle=False)
opt = optim.SGD(model.parameters(), lr=lr)
core_losses = []
for epoch in range(epochs):
    for xb, kb in loader:
        loss = loss_fn(model(xb), kb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        core_losses.append(loss.item())
print(f"ember.nn: {len(core_losses)} steps, loss {core_losses[0]:.3f} -> {core_losses[-1]:.3f}")
print("max |loss difference| over the run =", np.abs(np.array(seed_losses) - np.array(core_losses)).max())

# %% [markdown]
# Both reach the same accuracy on the 1,000 test images (with all 60,000 images and more
# epochs, {doc}`03_mlp_mnist` goes much further). The seed's `forward` gives probabilities as columns; the core
# model's `argmax` over the logits picks the same class.

# %%
acc_seed = (net.forward(X_test.T).argmax(axis=0) == labels_test).mean()
with ember.no_grad():
    acc_core = (model(ember.tensor(X_test)).argmax(dim=1).numpy() == labels_test).mean()
print(f"test accuracy: seed {acc_seed:.3f}, ember.nn {acc_core:.3f}")

fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
axes[0].plot(seed_losses, color="tab:orange")
axes[0].set_title("DL-From-Scratch: Network.grad + manual update", fontsize=10)
axes[1].plot(core_losses, color="tab:blue")
axes[1].set_title("ember.nn: CrossEntropyLoss + optim.SGD", fontsize=10)
for ax in axes:
    ax.set_xlabel("step (batch of 50)")
axes[0].set_ylabel("training loss")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Both are modules
#
# The compat networks are `ember.nn.Module`s underneath, with the seeds' names for their
# parameters, so `parameters()`, `state_dict()` and `ember.save` work on them as well; the
# core model's keys are PyTorch's.

# %%
print(list(net.state_dict().keys()))
print(list(model.state_dict().keys()))

# %% [markdown]
# ## Where next
#
# - [The migration guide](../migration.md): every seed call and its `ember.nn` equivalent,
#   including `Network.fit` and its optimizers.
# - {doc}`01_autograd_inside`: what `loss.backward()` does, in ember's own code.
