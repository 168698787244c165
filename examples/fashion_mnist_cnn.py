"""Train Keras' mnist_convnet on Fashion-MNIST (clothing images) with ember's Trainer.

    python examples/fashion_mnist_cnn.py --data-dir DIR            # DIR holds fashion-mnist/
    python examples/fashion_mnist_cnn.py --data-dir DIR --recipe   # longer, with a schedule

By default, the same model and recipe as ``mnist_cnn.py`` (Keras' initialization and Adam,
batch 128, 10% held out for validation), for 15 epochs. This small network underfits
clothes (its training accuracy stays near its test accuracy), so ``--recipe`` trains it
longer and faster: all 60,000 images normalized to mean 0 and standard deviation 1, Adam at
2e-3 annealed to 0 along a cosine, per batch, over 30 epochs. The loss and accuracy curves
go to ``fashion_cnn_curves.png`` when matplotlib is installed.

Measured (seed 0): 90.36% after 15 epochs of Keras' recipe; 91.67% with --recipe.
"""
import argparse

import ember
from ember import nn, optim
from ember.data import DataLoader, FashionMNIST, random_split
from ember.models import cnn
from ember.optim.lr_scheduler import CosineAnnealingLR
from ember.train import LearningRateScheduler, Trainer

MEAN, STD = 0.2860, 0.3530  # Fashion-MNIST's training-set pixel mean and standard deviation


def normalize(x):
    return (x - MEAN) / STD


normalize.batched = True  # FashionMNIST applies it to whole batches (B, 1, 28, 28) at once


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--recipe", action="store_true", help="normalized inputs, 30 epochs of a cosine schedule")
    ap.add_argument("--epochs", type=int, default=None, help="default: 15, or 30 with --recipe")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default="fashion_cnn_curves.png")
    args = ap.parse_args()
    epochs = args.epochs or (30 if args.recipe else 15)
    ember.manual_seed(args.seed)

    transform = normalize if args.recipe else None
    full = FashionMNIST(args.data_dir, train=True, transform=transform)
    if args.recipe:
        train, val_loader = full, None
    else:
        train, val = random_split(full, [0.9, 0.1], generator=ember.Generator(args.seed))
        val_loader = DataLoader(val, batch_size=1000)
    train_loader = DataLoader(train, batch_size=128, shuffle=True)
    test_loader = DataLoader(FashionMNIST(args.data_dir, train=False, transform=transform), batch_size=1000)

    model = cnn()
    optimizer = optim.Adam(model.parameters(), lr=2e-3 if args.recipe else 1e-3, eps=1e-7)  # Keras' eps
    scheduler = None
    if args.recipe:
        cosine = CosineAnnealingLR(optimizer, T_max=epochs * len(train_loader))
        scheduler = LearningRateScheduler(cosine, interval="batch")
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), metrics=["accuracy"], scheduler=scheduler)
    history = trainer.fit(train_loader, epochs=epochs, val_loader=val_loader)
    print(f"test accuracy: {trainer.evaluate(test_loader)['accuracy']:.4f}")
    try:
        history.plot(args.plot)
        print(f"curves: {args.plot}")
    except ImportError as e:
        print(e)


if __name__ == "__main__":
    main()
