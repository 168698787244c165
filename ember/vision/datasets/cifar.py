"""CIFAR-10 and CIFAR-100 from their BINARY archives (never the pickled "python" version).

``cifar-10-binary.tar.gz`` holds ``cifar-10-batches-bin/data_batch_{1..5}.bin``,
``test_batch.bin`` and ``batches.meta.txt``: each record is one label byte then 3,072 pixel
bytes (1,024 red, 1,024 green, 1,024 blue, rows of 32). ``cifar-100-binary.tar.gz`` holds
``cifar-100-binary/train.bin``, ``test.bin``, ``coarse_label_names.txt`` and
``fine_label_names.txt``: records of a coarse label byte, a fine label byte, then the 3,072
pixels; the fine labels are the targets (as torchvision's CIFAR100).

Files already extracted under ``root`` are read as found, any number of records, once their size
is checked to be a whole number of records. ``download=True`` fetches the archive, checks the
MD5 the CIFAR authors publish on https://www.cs.toronto.edu/~kriz/cifar.html, and extracts it
with ``tarfile``'s ``filter='data'``.
"""
import os

import numpy as np

from .utils import check_integrity, download_and_extract_archive, pil_image
from .vision import VisionDataset

__all__ = ["CIFAR10", "CIFAR100", "read_cifar_binary"]

_PIXELS = 3 * 32 * 32


def read_cifar_binary(path, label_bytes=1):
    """Read a CIFAR binary batch file: (images uint8 (N, 32, 32, 3), labels uint8 (N, label_bytes)).

    Raises RuntimeError naming the file, its size and the record size when the size is not a
    whole number of records.
    """
    record = label_bytes + _PIXELS
    size = os.path.getsize(path)
    if size % record:
        raise RuntimeError(
            f"{path}: {size:,} bytes is not a whole number of {record:,}-byte CIFAR records "
            f"({label_bytes} label byte{'s' if label_bytes > 1 else ''} + {_PIXELS:,} pixel bytes); "
            "the file is truncated or not a CIFAR binary batch"
        )
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size != size:
        raise RuntimeError(f"{path}: file changed size while being read")
    raw = raw.reshape(-1, record)
    images = np.ascontiguousarray(raw[:, label_bytes:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
    return images, raw[:, :label_bytes].copy()


def _read_names(path):
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


class CIFAR10(VisionDataset):
    """CIFAR-10 (torchvision.datasets.CIFAR10), read from the binary version.

    Args:
        root: folder holding ``cifar-10-batches-bin/`` (or where the archive is downloaded).
        train: the five training batches, or the test batch.
        transform: applied to the PIL image (RGB, 32x32).
        target_transform: applied to the int label.
        download: fetch and extract ``cifar-10-binary.tar.gz`` if the files are missing.

    Attributes:
        data: uint8 ndarray (N, 32, 32, 3); targets: list of int; classes: the label names.
    """

    base_folder = "cifar-10-batches-bin"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
    filename = "cifar-10-binary.tar.gz"
    tgz_md5 = "c32a1d4ab5d03f1284b67883e8d87530"  # published on cifar.html (binary version)
    train_list = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                  "data_batch_5.bin"]
    test_list = ["test_batch.bin"]
    meta = {"filename": "batches.meta.txt"}
    label_bytes = 1
    target_column = 0
    max_download_bytes = 256 << 20  # the archives are about 162 MiB (170,052,171 bytes for CIFAR-10)

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError("Dataset not found or corrupted. You can use download=True to download it")
        data, labels = [], []
        for name in (self.train_list if self.train else self.test_list):
            images, lab = read_cifar_binary(os.path.join(self.root, self.base_folder, name), self.label_bytes)
            data.append(images)
            labels.append(lab)
        self.data = np.concatenate(data) if len(data) > 1 else data[0]
        self._labels = np.concatenate(labels)
        self.targets = self._labels[:, self.target_column].tolist()
        self._load_meta()

    def _load_meta(self):
        path = os.path.join(self.root, self.base_folder, self.meta["filename"])
        if not check_integrity(path):
            raise RuntimeError("Dataset metadata file not found or corrupted. You can use download=True to download it")
        self.classes = _read_names(path)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    def __getitem__(self, index):
        img, target = self.data[index], self.targets[index]
        img = pil_image(img)
        img, target = self._transformed(img, target)
        return img, target

    def __len__(self):
        return len(self.data)

    def _check_integrity(self):
        return all(check_integrity(os.path.join(self.root, self.base_folder, f))
                   for f in self.train_list + self.test_list)

    def download(self):
        if self._check_integrity():
            return
        download_and_extract_archive(self.url, self.root, filename=self.filename, md5=self.tgz_md5,
                                     max_bytes=self.max_download_bytes)

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class CIFAR100(CIFAR10):
    """CIFAR-100 (torchvision.datasets.CIFAR100), binary version; targets are the fine labels
    and ``classes`` the fine label names (``coarse_targets``/``coarse_classes`` hold the others)."""

    base_folder = "cifar-100-binary"
    url = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
    filename = "cifar-100-binary.tar.gz"
    tgz_md5 = "03b5dce01913d631647c71ecec9e9cb8"  # published on cifar.html (binary version)
    train_list = ["train.bin"]
    test_list = ["test.bin"]
    meta = {"filename": "fine_label_names.txt", "coarse_filename": "coarse_label_names.txt"}
    label_bytes = 2
    target_column = 1

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, train=train, transform=transform, target_transform=target_transform,
                         download=download)
        self.coarse_targets = self._labels[:, 0].tolist()
        coarse = os.path.join(self.root, self.base_folder, self.meta["coarse_filename"])
        self.coarse_classes = _read_names(coarse) if os.path.isfile(coarse) else None
