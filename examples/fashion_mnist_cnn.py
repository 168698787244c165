"""Train Keras' mnist_convnet on Fashion-MNIST (clothing images) with ember's Trainer.

    python examples/fashion_mnist_cnn.py --data-dir DIR   # DIR holds fashion-mnist/ (see ember.datasets)

The same model and recipe as ``mnist_cnn.py`` (Adam, batch 128, 10% held out for
validation), 15 epochs by default; the curves go to ``fashion_cnn_curves.png`` when
matplotlib is installed. Fashion-MNIST is harder than the digits: expect about 91-92%.
"""
import argparse

import ember
from ember import nn, optim
from ember.data import DataLoader, FashionMNIST, random_split
from ember.models import cnn
from ember.train import Trainer


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default="fashion_cnn_curves.png")
    args = ap.parse_args()
    ember.manual_seed(args.seed)

    full = FashionMNIST(args.data_dir, train=True)
    train, val = random_split(full, [0.9, 0.1], generator=ember.Generator(args.seed))
    train_loader = DataLoader(train, batch_size=128, shuffle=True)
    val_loader = DataLoader(val, batch_size=1000)
    test_loader = DataLoader(FashionMNIST(args.data_dir, train=False), batch_size=1000)

    model = cnn()
    trainer = Trainer(model, optim.Adam(model.parameters()), nn.CrossEntropyLoss(), metrics=["accuracy"])
    history = trainer.fit(train_loader, epochs=args.epochs, val_loader=val_loader)
    test = trainer.evaluate(test_loader)
    print(f"test accuracy: {test['accuracy']:.4f}")
    try:
        history.plot(args.plot)
        print(f"curves: {args.plot}")
    except ImportError as e:
        print(e)


if __name__ == "__main__":
    main()
