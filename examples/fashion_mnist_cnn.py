"""Train Keras' mnist_convnet on Fashion-MNIST (clothing images) with ember's Trainer.

    python examples/fashion_mnist_cnn.py --data-dir DIR            # DIR holds fashion-mnist/
    python examples/fashion_mnist_cnn.py --data-dir DIR --recipe   # + augmentation, cosine schedule

By default, the same model and recipe as ``mnist_cnn.py`` (Keras' initialization and Adam,
batch 128, 10% held out for validation), for 15 epochs. ``--recipe`` trains on all 60,000
images, mirrors a random half of each batch left to right and shifts every image by up to
2 pixels, and anneals the learning rate from 1e-3 to 0 along a cosine, per batch. The loss
and accuracy curves go to ``fashion_cnn_curves.png`` when matplotlib is installed.
"""
import argparse

import numpy as np

import ember
from ember import nn, optim
from ember.data import DataLoader, FashionMNIST, random_split
from ember.models import cnn
from ember.optim.lr_scheduler import CosineAnnealingLR
from ember.train import LearningRateScheduler, Trainer
from mnist_mlp import RandomShift


class FlipAndShift:
    """Mirror a random half of a batch (B, C, H, W) left to right, then shift every image."""

    batched = True  # FashionMNIST applies it to whole batches at once

    def __init__(self, pixels=2):
        self.shift = RandomShift(pixels)

    def __call__(self, x):
        flip = ember.backend.rng().random(len(x)) < 0.5
        return self.shift(np.where(flip[:, None, None, None], x[..., ::-1], x))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", action="store_true", help="flips, shifts and a cosine schedule")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default="fashion_cnn_curves.png")
    args = ap.parse_args()
    ember.manual_seed(args.seed)

    full = FashionMNIST(args.data_dir, train=True, transform=FlipAndShift(2) if args.recipe else None)
    if args.recipe:
        train, val_loader = full, None
    else:
        train, val = random_split(full, [0.9, 0.1], generator=ember.Generator(args.seed))
        val_loader = DataLoader(val, batch_size=1000)
    train_loader = DataLoader(train, batch_size=128, shuffle=True)
    test_loader = DataLoader(FashionMNIST(args.data_dir, train=False), batch_size=1000)

    model = cnn()
    optimizer = optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # Keras' Adam defaults
    scheduler = None
    if args.recipe:
        cosine = CosineAnnealingLR(optimizer, T_max=args.epochs * len(train_loader))
        scheduler = LearningRateScheduler(cosine, interval="batch")
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), metrics=["accuracy"], scheduler=scheduler)
    history = trainer.fit(train_loader, epochs=args.epochs, val_loader=val_loader)
    print(f"test accuracy: {trainer.evaluate(test_loader)['accuracy']:.4f}")
    try:
        history.plot(args.plot)
        print(f"curves: {args.plot}")
    except ImportError as e:
        print(e)


if __name__ == "__main__":
    main()
