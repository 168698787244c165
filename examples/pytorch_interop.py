"""Move a CNN's weights from PyTorch to ember and back through .safetensors, no pickle involved.

    python examples/pytorch_interop.py        (needs torch and safetensors)

1. PyTorch builds a small CNN and updates its BatchNorm statistics; ``safetensors.torch.save_file``
   writes its ``state_dict()``.
2. ember loads the file with ``ember.load`` into the same architecture written with ``ember.nn``,
   and gives the same outputs.
3. ember changes the weights (a few training-mode passes move the BatchNorm statistics) and
   saves with ``ember.save``; PyTorch reads that file with ``safetensors.torch.load_file``.
"""
import os
import sys
import tempfile

import numpy as np

import ember


def ember_cnn():
    nn = ember.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 14 * 14, 10))


def torch_cnn(torch):
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 14 * 14, 10))


def main():
    try:
        import torch
        from safetensors.torch import load_file, save_file
    except ImportError as e:
        sys.exit(f"this example needs PyTorch and safetensors ({e}): pip install torch safetensors")

    with tempfile.TemporaryDirectory(prefix="ember-interop-") as folder:
        run(torch, save_file, load_file, folder)


def run(torch, save_file, load_file, folder):
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)

    # 1. PyTorch -> .safetensors
    torch.manual_seed(0)
    tm = torch_cnn(torch)
    with torch.no_grad():
        for _ in range(5):
            tm(torch.randn(32, 1, 28, 28) + 0.5)  # training mode: running statistics move
    tm.eval()
    torch_file = os.path.join(folder, "from_torch.safetensors")
    save_file(tm.state_dict(), torch_file)

    # 2. .safetensors -> ember: same names, same layouts
    em = ember_cnn()
    em.load_state_dict(ember.load(torch_file))
    em.eval()
    with torch.no_grad():
        diff = np.abs(em(x).data - tm(torch.from_numpy(x)).numpy()).max()
    print(f"PyTorch -> ember: {len(tm.state_dict())} tensors, max |output difference| = {diff:.2e}")
    assert diff < 1e-5

    # 3. ember -> .safetensors -> PyTorch
    em.train()
    for _ in range(5):
        em(np.random.default_rng(1).standard_normal((32, 1, 28, 28)).astype(np.float32) - 0.5)
    em.eval()
    ember_file = os.path.join(folder, "from_ember.safetensors")
    ember.save(em.state_dict(), ember_file)
    tm2 = torch_cnn(torch)
    tm2.load_state_dict(load_file(ember_file))
    tm2.eval()
    with torch.no_grad():
        diff = np.abs(em(x).data - tm2(torch.from_numpy(x)).numpy()).max()
    print(f"ember -> PyTorch: max |output difference| = {diff:.2e}")
    assert diff < 1e-5


if __name__ == "__main__":
    main()
