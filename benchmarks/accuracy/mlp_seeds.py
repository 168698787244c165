"""MNIST MLP 784-256-128-10, Adam 1e-3, batch 128, 5 epochs: ember and PyTorch over seeds.

    python benchmarks/accuracy/mlp_seeds.py 0 10     # seeds 0..9, one thread each framework

ember trains with its Trainer (as examples/mnist_mlp.py); PyTorch with a plain loop on the same
arrays. Prints each seed's test accuracy and the mean, sd and minimum of both.
"""
import sys

import numpy as np
import torch

import ember
from ember import nn, optim
from ember.data import MNIST, DataLoader
from ember.models import mlp
from ember.train import Trainer


def main(first, last):
    torch.set_num_threads(1)
    tr, te = MNIST(train=True), MNIST(train=False)
    xtr, ytr = torch.from_numpy(np.ascontiguousarray(tr.data)), torch.from_numpy(tr.targets)
    xte, yte = torch.from_numpy(np.ascontiguousarray(te.data)), torch.from_numpy(te.targets)
    out = {}
    for seed in range(first, last):
        ember.manual_seed(seed)
        model = mlp()
        t = Trainer(model, optim.Adam(model.parameters(), lr=1e-3), nn.CrossEntropyLoss(), metrics=["accuracy"],
                    progress=False)
        t.fit(DataLoader(tr, batch_size=128, shuffle=True), epochs=5)
        ea = t.evaluate(DataLoader(te, batch_size=1000))["accuracy"]
        torch.manual_seed(seed)
        tnn = torch.nn
        tm = tnn.Sequential(tnn.Flatten(), tnn.Linear(784, 256), tnn.ReLU(), tnn.Linear(256, 128), tnn.ReLU(),
                            tnn.Linear(128, 10))
        to = torch.optim.Adam(tm.parameters(), lr=1e-3)
        for _ in range(5):
            perm = torch.randperm(60000)
            for i in range(0, 60000, 128):
                idx = perm[i:i + 128]
                loss = tnn.functional.cross_entropy(tm(xtr[idx]), ytr[idx])
                to.zero_grad()
                loss.backward()
                to.step()
        with torch.no_grad():
            ta = (tm(xte).argmax(1) == yte).float().mean().item()
        out[seed] = (ea, ta)
        print(seed, f"ember {ea:.4f} torch {ta:.4f}", flush=True)
    e, t = (np.array([v[i] for v in out.values()]) for i in (0, 1))
    print(f"ember mean {e.mean():.4f} sd {e.std():.4f} min {e.min():.4f}; "
          f"torch mean {t.mean():.4f} sd {t.std():.4f} min {t.min():.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
