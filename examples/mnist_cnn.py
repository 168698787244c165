"""Train Keras' mnist_convnet on MNIST with ember's Trainer, following Keras' recipe.

    python examples/mnist_cnn.py               # 5 epochs
    python examples/mnist_cnn.py --epochs 15   # Keras' recipe in full (Keras reports 99.22%)

The model (``ember.models.cnn``): Conv2d(1, 32, 3), ReLU, MaxPool2d(2), Conv2d(32, 64, 3),
ReLU, MaxPool2d(2), Flatten, Dropout(0.5), Linear(1600, 10). As in Keras' example: pixels
scaled to [0, 1], Adam with its defaults, batch 128, 10% of the training set held out for
validation.
"""
import argparse

import ember
from ember import nn, optim
from ember.data import MNIST, DataLoader, random_split
from ember.models import cnn
from ember.train import Trainer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    ember.manual_seed(args.seed)

    full = MNIST(args.data_dir, train=True)  # images (1, 28, 28) in [0, 1]
    train, val = random_split(full, [0.9, 0.1], generator=ember.Generator(args.seed))
    train_loader = DataLoader(train, batch_size=128, shuffle=True)
    val_loader = DataLoader(val, batch_size=1000)
    test_loader = DataLoader(MNIST(args.data_dir, train=False), batch_size=1000)

    model = cnn()
    trainer = Trainer(model, optim.Adam(model.parameters()), nn.CrossEntropyLoss(), metrics=["accuracy"])
    trainer.fit(train_loader, epochs=args.epochs, val_loader=val_loader)
    print(f"test accuracy: {trainer.evaluate(test_loader)['accuracy']:.4f}")


if __name__ == "__main__":
    main()
