"""Keras' own mnist_convnet example (keras.io/examples/vision/mnist_convnet), unchanged except
that it reads MNIST from ember's shipped files and takes a seed: the reference that the
15-epoch target (>= 99.2%, "Keras reports 99.22%") comes from, run here to see how its
accuracy spreads over seeds. Keras 3 on its PyTorch backend, one thread; Keras is not an
ember dependency:

    pip install keras torch==2.13.0
    KERAS_BACKEND=torch python benchmarks/accuracy/keras_cnn_keras.py SEED [EPOCHS]
"""
import os
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

import keras  # noqa: E402
from keras import layers  # noqa: E402

from ember.datasets import MNIST  # noqa: E402


def main(seed, epochs=15):
    if keras.backend.backend() == "torch":
        import torch
        torch.set_num_threads(1)
    keras.utils.set_random_seed(seed)
    tr, te = MNIST(train=True), MNIST(train=False)
    # the example's preprocessing: [0, 1] floats, channels last, one-hot labels
    x_train, x_test = tr.data.transpose(0, 2, 3, 1), te.data.transpose(0, 2, 3, 1)
    y_train, y_test = keras.utils.to_categorical(tr.targets, 10), keras.utils.to_categorical(te.targets, 10)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=2)
    loss, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"keras {keras.__version__} ({keras.backend.backend()}), seed {seed}, {epochs} epochs: "
          f"test accuracy {acc:.4f}")


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 15)
