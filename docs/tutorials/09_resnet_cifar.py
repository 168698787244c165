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
# # A ResNet on CIFAR-10-sized data with torchvision-style transforms
#
# `ember.vision` is ember's torchvision: `transforms`, `datasets`, `models` and `utils` with
# torchvision's names, arguments and module layout, so that
# `from ember.vision import transforms, datasets, models` is the only line that differs from a
# torchvision script (and under `ember run`, `import torchvision` itself gives this package).
# This page runs the standard CIFAR-10 recipe's first steps: the augmentation pipeline, a
# `DataLoader`, a ResNet from `ember.vision.models`, a few steps of training. Then it hands the
# trained weights to torchvision's own ResNet and checks that both give the same outputs.
#
# CIFAR-10 itself (60,000 photos, 32x32, 10 classes) is not shipped with ember and the page
# must build offline, so it makes a small stand-in: 500 training and 100 test images of
# coloured shapes, written in CIFAR-10's binary layout and read by `datasets.CIFAR10` exactly
# as the real files would be. With the real data (`datasets.CIFAR10(root, download=True)`)
# every line below stays the same; only the pictures and the numbers change. The model trains
# for 30 steps of 32 images, a few seconds on a CPU: enough to see the loss fall, nowhere near
# a trained CIFAR model.

# %%
import sys
import tempfile
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import ember
import ember.nn.functional as F
from ember import optim
from ember.data import DataLoader
from ember.vision import datasets, models, transforms, utils

ember.manual_seed(0)

# %% [markdown]
# ## CIFAR-10's binary layout, with made-up images
#
# The binary version of CIFAR-10 is a folder `cifar-10-batches-bin/` of six files,
# `data_batch_1.bin` to `data_batch_5.bin` and `test_batch.bin`, plus `batches.meta.txt`
# with one class name a line. Each image is a 3,073-byte record: the label, then 1,024 red,
# 1,024 green and 1,024 blue bytes, each a 32x32 plane row by row. (ember reads this version
# only, never the pickled "python" one.)
#
# The stand-in classes are five shapes in two colours. Each image has a shape of random size
# and position on a background that darkens from right to left, so that a horizontal flip
# shows in the pictures.

# %%
classes = [f"{colour} {shape}" for colour in ("red", "blue") for shape in ("disk", "square", "triangle", "ring", "cross")]


def draw(label, rng):
    """One 32x32 RGB image (uint8, H x W x 3) of class ``label``."""
    yy, xx = np.mgrid[0:32, 0:32]
    cy, cx = rng.integers(11, 21, size=2)
    r = rng.integers(6, 10)
    dy, dx = yy - cy, xx - cx
    shape = label % 5
    if shape == 0:
        inside = dy**2 + dx**2 <= r**2
    elif shape == 1:
        inside = np.maximum(abs(dy), abs(dx)) <= r * 0.8
    elif shape == 2:
        inside = (abs(dy) <= r) & (abs(dx) <= (dy + r) / 2)
    elif shape == 3:
        inside = (dy**2 + dx**2 <= r**2) & (dy**2 + dx**2 >= (r - 3) ** 2)
    else:
        inside = ((abs(dy) <= 1.5) & (abs(dx) <= r)) | ((abs(dx) <= 1.5) & (abs(dy) <= r))
    tint = rng.uniform(0.5, 1.0, size=3)
    image = (40 + 150 * xx[..., None] / 31) * tint + rng.normal(0, 12, size=(32, 32, 3))
    colour = [220, 60, 50] if label < 5 else [50, 90, 230]
    image[inside] = np.asarray(colour) + rng.normal(0, 15, size=(int(inside.sum()), 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def write_batch(path, n, rng):
    labels = rng.integers(0, 10, size=n)
    records = [np.concatenate([[label], draw(label, rng).transpose(2, 0, 1).ravel()]) for label in labels]
    np.stack(records).astype(np.uint8).tofile(path)  # n records of 1 + 3,072 bytes


root = Path(tempfile.mkdtemp(prefix="ember-tutorial-09-"))
folder = root / "cifar-10-batches-bin"
folder.mkdir()
rng = np.random.default_rng(0)
for i in range(1, 6):
    write_batch(folder / f"data_batch_{i}.bin", 100, rng)
write_batch(folder / "test_batch.bin", 100, rng)
(folder / "batches.meta.txt").write_text("\n".join(classes) + "\n")
print(sorted(p.name for p in folder.iterdir()))

# %% [markdown]
# `datasets.CIFAR10(root, train=...)` reads the folder. As in torchvision, `data` is a uint8
# array (N, 32, 32, 3), `targets` a list of ints, and `dataset[i]` a PIL image and its label
# (passed through `transform` when one is given).

# %%
raw_train = datasets.CIFAR10(root, train=True)
print(raw_train)
print(raw_train.data.shape, raw_train.data.dtype, "| classes:", raw_train.classes[:3], "...")
image, label = raw_train[0]
print("one sample: a PIL image,", image.mode, image.size, "| label", label, raw_train.classes[label])

# %% [markdown]
# ## The transforms
#
# `Normalize` wants each channel's mean and standard deviation over the training images (the
# well-known CIFAR-10 figures are (0.4914, 0.4822, 0.4465) and (0.2470, 0.2435, 0.2616));
# here they are computed from the stand-in, the way they are computed for any new data set.

# %%
pixels = raw_train.data / 255.0
mean = tuple(round(float(m), 4) for m in pixels.mean(axis=(0, 1, 2)))
std = tuple(round(float(s), 4) for s in pixels.std(axis=(0, 1, 2)))
print("mean", mean, "std", std)

# %% [markdown]
# The training pipeline is the classic CIFAR augmentation: pad by 4 pixels and crop a random
# 32x32 window (so each image shifts by up to 4 pixels, the borders filled with black), flip
# left-right half of the time, convert the PIL image to a float tensor (C, H, W) in [0, 1], and
# normalize. The test pipeline only converts and normalizes. Each transform is an object with
# a `repr`, as in torchvision.

# %%
train_transform = transforms.Compose([
    transforms.RandomCrop(32, padding=4),
    transforms.RandomHorizontalFlip(),
    transforms.ToTensor(),
    transforms.Normalize(mean, std),
])
test_transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])
print(train_transform)

train_set = datasets.CIFAR10(root, train=True, transform=train_transform)
test_set = datasets.CIFAR10(root, train=False, transform=test_transform)
x, label = train_set[0]
print("one training sample:", tuple(x.shape), x.dtype, "label", label)

# %% [markdown]
# The same eight images, first as they are, then as three passes of the training pipeline
# see them: every pass draws a new crop and a new flip. To show a normalized tensor, undo the
# normalization (`x * std + mean`); `utils.make_grid` tiles the images into one.

# %%
mean_t, std_t = ember.tensor(mean).view(3, 1, 1), ember.tensor(std).view(3, 1, 1)
rows = [[transforms.ToTensor()(raw_train[i][0]) for i in range(8)]]
for _ in range(3):
    rows.append([train_set[i][0] * std_t + mean_t for i in range(8)])
grid = utils.make_grid([img for row in rows for img in row], nrow=8, padding=2, pad_value=1.0)

plt.figure(figsize=(8, 4.4))
plt.imshow(grid.permute(1, 2, 0).clamp(0, 1).numpy())
plt.axis("off")
plt.title("top row: the images; below: three augmented passes")
plt.show()
print("labels:", [raw_train.classes[raw_train[i][1]] for i in range(8)])

# %% [markdown]
# `datasets.FakeData` is the other way to get CIFAR-shaped data without files: random images
# (the same for the same index) and random labels, through the same transforms. It is what a
# test or a timing wants; there is nothing in it to learn.

# %%
fake = datasets.FakeData(size=100, image_size=(3, 32, 32), num_classes=10, transform=test_transform)
x, label = fake[0]
print(len(fake), "fake images; one:", tuple(x.shape), "label", label)

# %% [markdown]
# ## The model: a ResNet from torchvision's blocks
#
# `models.resnet18(num_classes=10)` is torchvision's ResNet-18: a stem (7x7 convolution with
# stride 2, BatchNorm, ReLU, 3x3 max-pool with stride 2), four stages of two `BasicBlock`s
# each (two 3x3 conv + BatchNorm layers and a shortcut; the first block of stages 2 to 4
# halves the resolution, and a 1x1 convolution brings the shortcut to the new shape), global
# average pooling and a linear layer. `resnet18` is `ResNet(BasicBlock, [2, 2, 2, 2])`; the
# same class with one block per stage, `ResNet(BasicBlock, [1, 1, 1, 1])`, is a ResNet-10 that
# torchvision builds the same way. How long one training step of 32 images takes on each:

# %%
resnet18 = models.resnet18(num_classes=10)
resnet10 = models.ResNet(models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
images, labels = ember.randn(32, 3, 32, 32), ember.randint(0, 10, (32,))
for name, net in (("resnet18", resnet18), ("ResNet-10", resnet10)):
    start = time.perf_counter()
    F.cross_entropy(net(images), labels).backward()
    seconds = time.perf_counter() - start
    print(f"{name}: {sum(p.numel() for p in net.parameters()):,} parameters, "
          f"one forward and backward pass: {seconds:.2f} s")

# %% [markdown]
# The page trains the ResNet-10, a half to a third of the time per step, so that it can take
# twice the steps in its budget (a fresh one: the timing above moved the BatchNorm statistics).
# On 32x32 images the stem leaves 8x8 feature maps; CIFAR recipes often replace it with one
# 3x3 convolution of stride 1 and drop the max-pool, which is 16 times the work on a CPU, so
# this page keeps torchvision's stem. The module names are torchvision's (`conv1`,
# `layer1.0.conv1`, `layer2.0.downsample.0`, `fc`), which is what lets the weights travel.

# %%
model = models.ResNet(models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
print(model.layer2[0])

# %% [markdown]
# ## Two epochs of training
#
# A `DataLoader` shuffles and batches the transformed samples (`drop_last=True`: 15 full
# batches of 32 an epoch); every epoch draws new crops and flips. The loop is PyTorch's, with
# Adam at its default learning rate.

# %%
loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True, generator=ember.Generator(0))
optimizer = optim.Adam(model.parameters(), lr=1e-3)

losses = []
model.train()
for epoch in range(2):
    for images, labels in loader:
        loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    print(f"epoch {epoch + 1}: mean training loss {np.mean(losses[-len(loader):]):.3f}")

# %%
plt.figure(figsize=(6, 3.5))
plt.plot(range(1, len(losses) + 1), losses, "o-")
plt.axhline(np.log(10), color="gray", ls="--", lw=1, label="log(10), a uniform guess")
plt.axvline(len(loader) + 0.5, color="gray", lw=1, label="end of epoch 1")
plt.xlabel("step")
plt.ylabel("training loss")
plt.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# Accuracy on the 100 test images, in `eval()` mode (BatchNorm then uses the running
# statistics it gathered while training, not the batch's own). Thirty steps of a 5M-parameter
# network is the very start of training; the accuracy is above chance, and the training loss
# is still falling.

# %%
model.eval()
test_images, test_labels = next(iter(DataLoader(test_set, batch_size=100)))
with ember.no_grad():
    logits = model(test_images)
accuracy = (logits.argmax(dim=1) == test_labels).float().mean().item()
print(f"test accuracy after {len(losses)} steps: {accuracy:.2f} (chance: 0.10)")

# %% [markdown]
# ## The same weights in torchvision
#
# The model's `state_dict` has torchvision's keys and shapes, so torchvision's `ResNet` of the
# same blocks takes it as it is, once each ember tensor becomes a `torch.Tensor` (`torch.from_numpy` of
# `.numpy()`). Both models in `eval()` mode then see the same test images.
#
# A note on this machine: the torchvision wheel installed next to the CPU-only PyTorch is the
# CUDA build, whose `import torchvision` stops on its missing compiled operators. The
# repository's test helper `benchmarks.common.import_torchvision` declares them so that the
# pure-Python parts (the models) load; with a matching pair of wheels, the plain
# `import torchvision` is all it takes. Without PyTorch the cell says so and skips.

# %%
repo = Path(ember.__file__).resolve().parents[1]
try:
    import torch
    import torchvision
except ImportError:
    torch = torchvision = None
except RuntimeError as error:  # torchvision's CUDA wheel beside a CPU-only torch
    print("import torchvision:", error)
    if (repo / "benchmarks" / "common.py").is_file():
        sys.path.insert(0, str(repo))
        from benchmarks.common import import_torchvision

        torchvision = import_torchvision()
    else:
        torchvision = None

if torchvision is None:
    print("PyTorch and torchvision are not installed: skipping the comparison")
else:
    tv_model = torchvision.models.ResNet(torchvision.models.resnet.BasicBlock, [1, 1, 1, 1], num_classes=10)
    state = {k: torch.from_numpy(v.numpy()) for k, v in model.state_dict().items()}
    print(tv_model.load_state_dict(state))
    tv_model.eval()
    with torch.no_grad():
        tv_logits = tv_model(torch.from_numpy(test_images.numpy())).numpy()
    diff = np.abs(tv_logits - logits.numpy()).max()
    print(f"torchvision {torchvision.__version__}: max |logit difference| = {diff:.2e} "
          f"(logits up to {np.abs(tv_logits).max():.1f}); same predictions: "
          f"{(tv_logits.argmax(1) == logits.argmax(dim=1).numpy()).all()}")

# %% [markdown]
# The difference is float32 rounding: the two libraries add up the convolutions in different
# orders. The way back works the same: `model.load_state_dict(tv_model.state_dict())` loads
# torchvision's weights into ember directly (ember reads a `torch.Tensor` as an array), which
# is how a pretrained torchvision checkpoint saved with `torch.save` becomes an ember model
# (see {doc}`Bring your PyTorch code <06_bring_your_pytorch_code>`).
#
# The full recipe on the real CIFAR-10 trains for tens of epochs of 50,000 images; that is a
# job for a GPU framework, or for a long night of ember on a CPU. What this page checked is
# that each piece (the binary reader, the transforms, the model, the weights) is torchvision's.
