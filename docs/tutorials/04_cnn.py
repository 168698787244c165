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
# # A CNN
#
# A convolutional network slides small filters over the image instead of connecting every
# pixel to every unit. This page takes the layer apart first: a convolution is a copy of every
# window of the input into the rows of a matrix (*im2col*) followed by one matrix product,
# and max pooling keeps the largest value of each window and sends the gradient back to it
# alone. Then it trains a small CNN on MNIST and looks inside: the filters of the first layer,
# the feature maps of one digit, and a confusion matrix of the test slice.
#
# The training uses a 5,000-image slice for 3 epochs so that the page builds in seconds;
# the full run is quoted at the end.

# %%
import matplotlib.pyplot as plt
import numpy as np

import ember
import ember.nn.functional as F
from ember import nn, optim

ember.manual_seed(0)

# %% [markdown]
# ## Convolution as im2col and one matrix product
#
# Take a tiny input, one image with 2 channels of 4x4 pixels (the numbers 0 to 31, so the
# copies are easy to follow), and 3 filters, each 2 channels of 3x3 weights. Without padding
# and with stride 1 the output has (4 - 3 + 1) x (4 - 3 + 1) = 2x2 pixels per filter.

# %%
x = np.arange(2 * 4 * 4, dtype=np.float32).reshape(1, 2, 4, 4)  # (N, C, H, W)
w = np.random.default_rng(0).standard_normal((3, 2, 3, 3)).astype(np.float32)  # (O, C, kh, kw)

n, c, h, wd = x.shape
o, _, kh, kw = w.shape
oh, ow = h - kh + 1, wd - kw + 1
print("output size:", oh, "x", ow)

# %% [markdown]
# im2col: for each output pixel, cut out the window of the input that the filter covers there
# (all channels, 2 x 3 x 3 = 18 numbers) and lay it out as one row. Four output pixels give a
# 4 x 18 matrix. Each input pixel appears in every window that covers it, so the matrix is
# larger than the input: that copy is the price of turning the convolution into a single
# matrix product, the operation that BLAS runs fastest.

# %%
rows = []
for i in range(oh):
    for j in range(ow):
        rows.append(x[0, :, i:i + kh, j:j + kw].reshape(-1))  # (C * kh * kw,)
cols = np.stack(rows)  # (OH * OW, C * kh * kw)
print(cols.shape)
print(cols.astype(int))

# %% [markdown]
# Each filter, flattened in the same (channel, row, column) order, is a vector of 18 weights;
# the output value of a filter at a pixel is the dot product of that pixel's row with it. So all
# outputs of all filters are one product, `cols @ W.T`, with `W` the filters as a 3 x 18
# matrix. The result has one row per output pixel and one column per filter; reshaped to
# (N, O, OH, OW) it is what `F.conv2d` computes (up to float32 rounding: the two add up the
# 18 products in different orders).

# %%
y_gemm = cols @ w.reshape(o, -1).T  # (OH * OW, O)
y_gemm = y_gemm.T.reshape(n, o, oh, ow)  # (N, O, OH, OW)

y_ember = F.conv2d(ember.tensor(x), ember.tensor(w))
print("F.conv2d output shape:", tuple(y_ember.shape))
print("max |im2col GEMM - F.conv2d|:", np.abs(y_gemm - y_ember.numpy()).max())

# %% [markdown]
# ember has the same matrix under PyTorch's name: `F.unfold` returns it transposed, one column
# per output pixel, (N, C kh kw, OH OW). Its adjoint, `F.fold`, adds every column back onto
# the window it came from. That is the backward of im2col: the gradient of an input pixel is
# the sum over every window that saw it. Folding the unfolded columns of an image of ones
# counts those windows: the corners are in one window, the centre in four.

# %%
unfolded = F.unfold(ember.tensor(x), kernel_size=3)
print("F.unfold:", tuple(unfolded.shape))
print("equals our columns, transposed:", np.array_equal(unfolded.numpy()[0].T, cols))
print(F.fold(F.unfold(ember.ones(1, 1, 4, 4), kernel_size=3), output_size=(4, 4), kernel_size=3))

# %% [markdown]
# This is how ember computes a convolution. The readable reference is `conv_reference` in
# `ember/ops/conv.py`: `Unfold` (im2col) and `Fold` (col2im) are each other's gradient, and
# one batched matmul multiplies the weights by the columns, all of it differentiable again for
# higher-order gradients. Beneath it, `Conv2dFunction` in `ember/kernels/conv.py` computes the
# same numbers faster (for ungrouped convolutions the columns are channels-last, so that the
# GEMM's result *is* the output; the backward is written by hand). And `winograd_pays`, in the
# same file, sends some 3x3 convolutions to `ember/kernels/winograd.py`, Winograd's F(2x2, 3x3)
# with 2.25x fewer multiplies: stride 1, no dilation, no groups, a layer large enough for the
# multiplies saved to outweigh its transforms (in a training step at least 64 input and output
# channels and 2x2 output tiles x channels in x channels out >= 2**24; in inference, where the
# im2col kernel needs no stored columns, three times that), tiles that cover the output with
# little waste, and a batch of at least one sample per thread. Every kernel is tested against the reference;
# `EMBER_KERNELS=0` in the environment (or `with ember.kernels.disabled():` in code) runs the
# references alone (`EMBER_WINOGRAD=0` turns off Winograd alone). The CNN below has 5x5
# filters, so it runs the GEMM kernel.
#
# A 3x3 layer with 64 channels at 32x32 and a batch of 16 is one that `winograd_pays` takes
# for a training step; its output agrees with the reference's to float32 rounding:

# %%
from ember.kernels.conv import winograd_pays

xb = ember.randn(16, 64, 34, 34)
wb = (ember.randn(64, 64, 3, 3) * 0.1).requires_grad_()  # a weight to train: a backward follows
no_padding = ((0, 0), (0, 0))
print("winograd_pays:", winograd_pays(tuple(xb.shape), tuple(wb.shape), (1, 1), no_padding, (1, 1), 1))
fast = F.conv2d(xb, wb)
with ember.kernels.disabled():
    reference = F.conv2d(xb, wb)
print("max |kernel - reference|:", (fast - reference).abs().max().item())

# %% [markdown]
# ## Max pooling
#
# `F.max_pool2d(x, kernel_size=2)` splits each channel into 2x2 windows and keeps the largest
# value of each, halving the height and the width. The network keeps whether a feature is
# present in a region and forgets a shift of a pixel or so. `return_indices=True` also gives
# where each maximum was, as an index into the flattened 4x4 input.

# %%
a = ember.tensor([[[[1.0, 5, 2, 0],
                    [3, 4, 8, 1],
                    [0, 2, 1, 3],
                    [7, 1, 2, 6]]]], requires_grad=True)
pooled, where = F.max_pool2d(a, kernel_size=2, return_indices=True)
print(pooled)
print(where)

# %% [markdown]
# The backward sends each output's gradient to the one input that won its window, and zero to
# the other three: they did not affect the output. Give the four outputs the gradients 10,
# 20, 30 and 40 and see where they land. (ember's reference, in `ember/ops/pool.py`, picks
# each window's winner with NumPy and then gathers the input there with a differentiable
# indexing op, so this routing is the gradient of the gather. Without `return_indices`, 2-D
# pooling runs the faster kernels of `ember/kernels/pool.py`, tested against it.)

# %%
(pooled * ember.tensor([[[[10.0, 20], [30, 40]]]])).sum().backward()
print(a.grad)

# %% [markdown]
# ## A small CNN on MNIST
#
# The data: the first 5,000 training images and the first 1,000 test images, standardized
# with the training set's mean and standard deviation, in a `TensorDataset`.

# %%
from ember.data import DataLoader, TensorDataset
from ember.datasets import MNIST
from ember.train import Trainer

mnist_train, mnist_test = MNIST(train=True), MNIST(train=False)
mean, std = 0.1307, 0.3081
train_set = TensorDataset(ember.tensor((mnist_train.data[:5000] - mean) / std),
                          ember.tensor(mnist_train.targets[:5000]))
test_set = TensorDataset(ember.tensor((mnist_test.data[:1000] - mean) / std),
                         ember.tensor(mnist_test.targets[:1000]))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True)
test_loader = DataLoader(test_set, batch_size=500)

# %% [markdown]
# The model: 16 filters of 5x5 (28x28 -> 24x24), ReLU, 2x2 max pooling (-> 12x12), then 32
# filters of 5x5 over those 16 channels (-> 8x8), ReLU, pooling (-> 4x4), and one linear layer
# from the 32 x 4 x 4 = 512 features to the 10 classes. It has about 18,000 weights, a
# thirteenth of the MLP's 235,000 in {doc}`the MLP tutorial <03_mlp_mnist>`: a filter is
# shared by every position of the image.

# %%
ember.manual_seed(0)
model = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=5), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(32 * 4 * 4, 10),
)
print(model)
print(sum(p.numel() for p in model.parameters()), "parameters")
filters_before = model[0].weight.detach().numpy().copy()

# %% [markdown]
# Training is the Trainer of the MLP tutorial: Adam at a learning rate of 2e-3, batches of 64,
# 3 epochs.

# %%
trainer = Trainer(model, optim.Adam(model.parameters(), lr=2e-3), nn.CrossEntropyLoss(), metrics=["accuracy"])
trainer.fit(train_loader, epochs=3)
print("test slice:", trainer.evaluate(test_loader))

# %% [markdown]
# ## What the first layer learns
#
# The 16 filters of the first layer, 5x5 weights each: before training (random), after, and
# the change between the two (light is positive, dark negative, each image scaled on its own).
# In 3 short epochs the filters have moved only part of the way from their random start: Adam
# moves a weight by about the learning rate per step at most, and there were 237 steps. The
# change is what training has added, and it is smooth and oriented: a light band beside a dark
# one responds to a change of brightness across it, an edge or the side of a stroke. Longer
# training lets that structure take over the noise of the start.

# %%
filters_after = model[0].weight.detach().numpy()
rows = [("before", filters_before), ("after", filters_after), ("change", filters_after - filters_before)]
fig, axes = plt.subplots(3, 16, figsize=(12, 2.6), layout="constrained")
for row, (name, filters) in enumerate(rows):
    for k, ax in enumerate(axes[row]):
        ax.imshow(filters[k, 0], cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(name)
plt.show()
print("mean |change| / mean |initial weight|:",
      round(float(np.abs(filters_after - filters_before).mean() / np.abs(filters_before).mean()), 3))

# %% [markdown]
# ## The feature maps of one digit
#
# An `nn.Sequential` can be sliced like a list: `model[:2]` is the first convolution and its
# ReLU, `model[:5]` goes on through the pooling to the second convolution and its ReLU. Their
# outputs for one test digit are its feature maps: where each filter found its pattern. The
# first layer's maps still look like the digit, each picking out some of its edges; the second
# layer's 8x8 maps are coarser and more abstract.

# %%
images, labels = next(iter(test_loader))
batch, label = images[:1], labels[0].item()  # the first test digit, as a batch of one
model.eval()
with ember.no_grad():
    maps1 = model[:2](batch)[0].numpy()  # (16, 24, 24)
    maps2 = model[:5](batch)[0].numpy()  # (32, 8, 8)

fig, axes = plt.subplots(3, 16, figsize=(12, 2.8), layout="constrained")
for ax in axes.flat:
    ax.axis("off")
axes[0, 0].imshow(batch[0, 0].numpy(), cmap="gray")
axes[0, 0].set_title(f"digit {label}", fontsize=8)
for k in range(16):
    axes[1, k].imshow(maps1[k], cmap="viridis")
    axes[2, k].imshow(maps2[k], cmap="viridis")
axes[1, 0].set_title("layer 1", fontsize=8, loc="left")
axes[2, 0].set_title("layer 2 (first 16 of 32)", fontsize=8, loc="left")
plt.show()

# %% [markdown]
# ## Where it goes wrong: the confusion matrix
#
# Row *i*, column *j* counts the test digits of class *i* that the model called *j*: the
# diagonal is right, everything else is a mistake. `trainer.predict` returns the logits of the
# whole loader as one NumPy array.

# %%
predicted = trainer.predict(test_loader).argmax(axis=1)
labels = mnist_test.targets[:1000]
confusion = np.zeros((10, 10), dtype=int)
np.add.at(confusion, (labels, predicted), 1)

fig, ax = plt.subplots(figsize=(4.6, 4.2), layout="constrained")
ax.imshow(confusion, cmap="Blues")
for i in range(10):
    for j in range(10):
        if confusion[i, j]:
            ax.text(j, i, confusion[i, j], ha="center", va="center", fontsize=7,
                    color="white" if confusion[i, j] > confusion.max() / 2 else "black")
ax.set(xlabel="predicted", ylabel="true", xticks=range(10), yticks=range(10))
plt.show()

off = confusion * (1 - np.eye(10, dtype=int))
i, j = np.unravel_index(off.argmax(), off.shape)
print("accuracy:", np.trace(confusion) / confusion.sum())
print(f"most frequent mistake: {off[i, j]} times a {i} called {j}")
print("per-class accuracy:", np.round(confusion.diagonal() / confusion.sum(axis=1), 3))

# %% [markdown]
# On 5,000 images and 3 epochs this CNN reaches about 96% on the test slice, where the MLP of
# the previous tutorial, with thirteen times the weights, reached about 91% on the same
# slices. The full-size CNN of `ember train --dataset mnist --model cnn` (Keras'
# `mnist_convnet`: two 3x3 convolutions of 32 and 64 filters, Dropout) reaches 98.98% on the
# test set after 5 epochs on all 60,000 images, and `examples/mnist_cnn.py --recipe` (random
# shifts and a cosine schedule over 15 epochs) 99.21%.
