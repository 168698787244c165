"""MNIST, Fashion-MNIST, KMNIST and EMNIST in torchvision's layout: ``root/<Class>/raw/``.

The IDX files are read from ``root/<Class>/raw/`` as ``train-images-idx3-ubyte`` (extracted,
torchvision's layout) or ``train-images-idx3-ubyte.gz`` (as downloaded); ``download=True``
fetches the ``.gz`` files from the dataset's mirrors, checks torchvision's published MD5s (and,
for MNIST and Fashion-MNIST, the SHA-256s ember knows of the content, so recompressed mirrors
still pass), and extracts them next to themselves as torchvision does.

``dataset[i]`` is ``(PIL image of mode 'L', int)`` (a uint8 ndarray (28, 28) without Pillow);
``.data`` is a uint8 Tensor (N, 28, 28) and ``.targets`` an int64 Tensor (N,).
"""
import os
import string
import zipfile
from urllib.error import URLError

import numpy as np

from ...data import datasets as _ember_datasets
from ...data.download import _check_content
from ...data.idx import read_idx
from .utils import (
    _atomic_write_from, _gunzip_chunks, _safe_member_name, download_url, extract_archive,
    pil_image, verify_str_arg,
)
from .vision import VisionDataset

__all__ = ["MNIST", "FashionMNIST", "KMNIST", "EMNIST", "read_image_file", "read_label_file"]


def _from_numpy(a):
    import ember
    return ember.from_numpy(np.ascontiguousarray(a))


def _numpy(t):
    return t.numpy() if hasattr(t, "numpy") else np.asarray(t)


def read_label_file(path):
    """The labels of an IDX file (raw or gzip) as an int64 Tensor (N,)."""
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 1:
        raise RuntimeError(f"{path}: expected a 1-D uint8 IDX label file, got {x.dtype} {tuple(x.shape)}")
    return _from_numpy(x.astype(np.int64))


def read_image_file(path):
    """The images of an IDX file (raw or gzip) as a uint8 Tensor (N, H, W)."""
    x = read_idx(path)
    if x.dtype != np.uint8 or x.ndim != 3:
        raise RuntimeError(f"{path}: expected a 3-D uint8 IDX image file, got {x.dtype} {tuple(x.shape)}")
    return _from_numpy(x)


class MNIST(VisionDataset):
    """The MNIST digits (torchvision.datasets.MNIST).

    Args:
        root: folder holding ``MNIST/raw/`` (created by ``download=True``).
        train: the training split (``train-*``) or the test split (``t10k-*``).
        transform: applied to the PIL image.
        target_transform: applied to the int label.
        download: fetch the files if they are not in ``root/MNIST/raw``.
    """

    mirrors = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    ]
    # SHA-256s of the decompressed content, when ember knows them (ember.datasets.MNIST):
    # a mirror's file whose MD5 differs (recompressed) is still accepted if its content matches
    _content_sha256 = _ember_datasets.MNIST.resources
    training_file = "training.pt"
    test_file = "test.pt"
    max_download_bytes = 64 << 20  # per file; the largest, train-images, is about 9.5 MiB gzipped
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        super().__init__(root, transform=transform, target_transform=target_transform)
        self.train = train
        if download:
            self.download()
        if not self._check_exists():
            raise RuntimeError("Dataset not found. You can use download=True to download it")
        self.data, self.targets = self._load_data()

    # ----- files -----
    @property
    def raw_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "raw")

    @property
    def processed_folder(self):
        return os.path.join(self.root, self.__class__.__name__, "processed")

    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return [os.path.join(self.raw_folder, f"{prefix}-images-idx3-ubyte"),
                os.path.join(self.raw_folder, f"{prefix}-labels-idx1-ubyte")]

    @staticmethod
    def _found(path):
        """``path`` (extracted) or ``path.gz``, whichever is a file, else None."""
        for p in (path, path + ".gz"):
            if os.path.isfile(p):
                return p
        return None

    def _check_exists(self):
        return all(self._found(p) for p in self._split_files())

    def _load_data(self):
        images_file, labels_file = (self._found(p) for p in self._split_files())
        data, targets = read_image_file(images_file), read_label_file(labels_file)
        if data.shape[0] != targets.shape[0]:
            raise RuntimeError(f"{images_file} holds {data.shape[0]} images but {labels_file} "
                               f"holds {targets.shape[0]} labels")
        return data, targets

    def _verified(self, filename, md5):
        """Download ``filename`` into raw_folder: torchvision's MD5, or (for MNIST and
        Fashion-MNIST) the SHA-256 ember knows of the decompressed content."""
        known = self._content_sha256.get(filename) if isinstance(self._content_sha256, dict) else None

        def content_ok(path):
            try:
                _check_content(path, filename, known["content_sha256"], known["size"])
                return True
            except OSError:
                return False

        errors = []
        for mirror in self.mirrors:
            url = f"{mirror}{filename}"
            try:
                return download_url(url, self.raw_folder, filename, md5, accept=content_ok if known else None,
                                    max_bytes=self.max_download_bytes)
            except (RuntimeError, URLError, OSError) as e:
                errors.append(e)
        s = f"Error downloading {filename}:\n"
        for mirror, err in zip(self.mirrors, errors):
            s += f"Tried {mirror}, got:\n{str(err)}\n"
        raise RuntimeError(s)

    def download(self):
        """Fetch and extract the four files into ``raw_folder``; nothing to do if present."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        for filename, md5 in self.resources:
            stem = os.path.join(self.raw_folder, os.path.splitext(filename)[0])
            if os.path.isfile(stem):
                continue
            path = self._verified(filename, md5)
            extract_archive(path, self.raw_folder)

    # ----- the dataset -----
    def __getitem__(self, index):
        img, target = _numpy(self.data)[index], int(_numpy(self.targets)[index])
        img = pil_image(img)
        img, target = self._transformed(img, target)
        return img, target

    def __len__(self):
        return len(self.data)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    def extra_repr(self):
        return f"Split: {'Train' if self.train is True else 'Test'}"


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (torchvision.datasets.FashionMNIST): ``root/FashionMNIST/raw/``."""

    mirrors = ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    ]
    _content_sha256 = _ember_datasets.FashionMNIST.resources
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
               "Ankle boot"]


class KMNIST(MNIST):
    """Kuzushiji-MNIST (torchvision.datasets.KMNIST): ``root/KMNIST/raw/``."""

    mirrors = ["http://codh.rois.ac.jp/kmnist/dataset/kmnist/"]
    resources = [
        ("train-images-idx3-ubyte.gz", "bdb82020997e1d708af4cf47b453dcf7"),
        ("train-labels-idx1-ubyte.gz", "e144d726b3acfaa3e44228e80efcd344"),
        ("t10k-images-idx3-ubyte.gz", "5c965bf0a639b31b8f53240b1b52f4d7"),
        ("t10k-labels-idx1-ubyte.gz", "7320c461ea6c1c855c0b718fb2a4b134"),
    ]
    _content_sha256 = None
    classes = ["o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"]


class EMNIST(MNIST):
    """EMNIST (torchvision.datasets.EMNIST): ``root/EMNIST/raw/emnist-<split>-<train|test>-*``.

    The arguments other than ``split`` are MNIST's (by keyword). The images are stored as NIST
    publishes them (transposed), as torchvision returns them.

    Args:
        split: ``byclass``, ``bymerge``, ``balanced``, ``letters``, ``digits`` or ``mnist``.
    """

    url = "https://biometrics.nist.gov/cs_links/EMNIST/gzip.zip"
    md5 = "58c8d27c78d21e728a6bc7b3cc06412e"
    max_download_bytes = 1 << 30  # gzip.zip is about 536 MiB
    splits = ("byclass", "bymerge", "balanced", "letters", "digits", "mnist")
    _merged_classes = {"c", "i", "j", "k", "l", "m", "o", "p", "s", "u", "v", "w", "x", "y", "z"}
    _all_classes = set(string.digits + string.ascii_letters)
    classes_split_dict = {
        "byclass": sorted(_all_classes),
        "bymerge": sorted(_all_classes - _merged_classes),
        "balanced": sorted(_all_classes - _merged_classes),
        "letters": ["N/A"] + list(string.ascii_lowercase),
        "digits": list(string.digits),
        "mnist": list(string.digits),
    }

    def __init__(self, root, split, **kwargs):
        self.split = verify_str_arg(split, "split", self.splits)
        self.training_file = f"training_{split}.pt"
        self.test_file = f"test_{split}.pt"
        super().__init__(root, **kwargs)
        self.classes = self.classes_split_dict[self.split]

    @property
    def _file_prefix(self):
        return f"emnist-{self.split}-{'train' if self.train else 'test'}"

    @property
    def images_file(self):
        return os.path.join(self.raw_folder, f"{self._file_prefix}-images-idx3-ubyte")

    @property
    def labels_file(self):
        return os.path.join(self.raw_folder, f"{self._file_prefix}-labels-idx1-ubyte")

    def _split_files(self):
        return [self.images_file, self.labels_file]

    def download(self):
        """Fetch NIST's ``gzip.zip`` (MD5-checked) and extract its ``gzip/*.gz`` into raw_folder."""
        if self._check_exists():
            return
        os.makedirs(self.raw_folder, exist_ok=True)
        archive = download_url(self.url, self.raw_folder, md5=self.md5, max_bytes=self.max_download_bytes)
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = _safe_member_name(info.filename, archive)
                if info.is_dir() or not name.endswith(".gz"):
                    continue
                dest = os.path.join(self.raw_folder, os.path.basename(name)[:-3])
                with z.open(info) as f:
                    _atomic_write_from(_gunzip_chunks(f, f"{archive}:{info.filename}"), dest)

