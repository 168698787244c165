"""PyTorch on Keras' mnist_convnet recipe, the setting of ``examples/mnist_cnn.py``, to compare
ember's accuracy with: Glorot-uniform kernels and zero biases, Adam(1e-3, eps=1e-7), batch 128,
the first 54k images for training (Keras' validation_split=0.1 holds out the last 6k), one
thread.

    python benchmarks/accuracy/keras_cnn_torch.py SEED EPOCHS
    python examples/mnist_cnn.py --seed SEED --epochs EPOCHS      # ember, the same recipe
"""
import sys

import numpy as np
import torch

from ember.datasets import MNIST


def main(seed, epochs):
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    tr, te = MNIST(train=True), MNIST(train=False)
    x, y = torch.from_numpy(np.ascontiguousarray(tr.data)), torch.from_numpy(tr.targets)
    train_idx = torch.arange(54000)
    xte, yte = torch.from_numpy(np.ascontiguousarray(te.data)), torch.from_numpy(te.targets)
    nn = torch.nn
    m = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                      nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10))
    for mod in m:
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(mod.weight)
            nn.init.zeros_(mod.bias)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7)
    for _ in range(epochs):
        m.train()
        order = train_idx[torch.randperm(len(train_idx))]
        for i in range(0, len(order), 128):
            idx = order[i:i + 128]
            loss = nn.functional.cross_entropy(m(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    m.eval()
    with torch.no_grad():
        acc = (m(xte).argmax(1) == yte).float().mean().item()
    print(f"torch, Keras recipe, seed {seed}, {epochs} epochs: test accuracy {acc:.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
