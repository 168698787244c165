"""Train the classic MNIST MLP (784-256-128-10, ReLU) with ember's Trainer.

    python examples/mnist_mlp.py            # Adam 1e-3, batch 128, 5 epochs
    python examples/mnist_mlp.py --recipe   # the same model, trained longer and better

The recipe keeps the model and the batch size and adds three things:
  1. augmentation: every training image is shifted by up to 2 pixels in x and y, a new
     random shift each time it is seen, so the MLP cannot memorise pixel positions;
  2. AdamW (decoupled weight decay 1e-4) instead of Adam;
  3. a one-cycle learning rate, warming up to 3e-3 and annealing to ~0, stepped per batch,
     over 30 epochs.

Measured after 5 epochs over seeds 0-9: 97.68% on average (sd 0.18, lowest 97.39%); PyTorch
on the same setup and seeds: 97.75% (sd 0.08). 99.00% with --recipe (seed 0).
"""
import argparse

import numpy as np

import ember
from ember import nn, optim
from ember.data import MNIST, DataLoader
from ember.models import mlp
from ember.optim.lr_scheduler import OneCycleLR
from ember.train import LearningRateScheduler, Trainer


class RandomShift:
    """Shift each image of a batch (B, C, H, W) by up to ``pixels`` in x and y; zeros fill in."""

    batched = True  # MNIST applies it to whole batches at once

    def __init__(self, pixels=2):
        self.pixels = pixels

    def __call__(self, x):
        p, n = self.pixels, len(x)
        padded = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        windows = np.lib.stride_tricks.sliding_window_view(padded, x.shape[2:], axis=(2, 3))  # (B, C, 2p+1, 2p+1, H, W)
        dy, dx = ember.backend.rng().integers(0, 2 * p + 1, size=(2, n))  # ember's generator: seeded, checkpointed
        return windows[np.arange(n), :, dy, dx]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", action="store_true", help="augmentation, AdamW and a one-cycle schedule")
    ap.add_argument("--epochs", type=int, default=None, help="default: 5, or 30 with --recipe")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    epochs = args.epochs or (30 if args.recipe else 5)
    ember.manual_seed(args.seed)

    train = MNIST(args.data_dir, train=True, transform=RandomShift(2) if args.recipe else None)  # pixels in [0, 1]
    train_loader = DataLoader(train, batch_size=128, shuffle=True)
    test_loader = DataLoader(MNIST(args.data_dir, train=False), batch_size=1000)

    model = mlp()  # Flatten, Linear(784, 256), ReLU, Linear(256, 128), ReLU, Linear(128, 10)
    if args.recipe:
        optimizer = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        one_cycle = OneCycleLR(optimizer, max_lr=3e-3, epochs=epochs, steps_per_epoch=len(train_loader))
        scheduler = LearningRateScheduler(one_cycle, interval="batch")
    else:
        optimizer, scheduler = optim.Adam(model.parameters(), lr=1e-3), None
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), metrics=["accuracy"], scheduler=scheduler)
    trainer.fit(train_loader, epochs=epochs)
    print(f"test accuracy: {trainer.evaluate(test_loader)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
