"""MNIST and Fashion-MNIST, found on disk (or downloaded and verified) and held as arrays.

Where the files are looked for, with ``root=None``, in order:

1. ``$EMBER_DATA/<name>/`` if the variable is set,
2. ``~/.cache/ember/<name>/``,
3. the repository's own ``data/<name>/`` (a checkout carries MNIST there, so it runs offline),
4. for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist/`` (Debian's ``dataset-fashion-mnist``).

``<name>`` is ``mnist`` or ``fashion-mnist``. A folder holds the IDX files under their usual
names, gzip-compressed (``.gz``) or not. With ``root`` given, only ``root/<name>/`` and ``root``
itself are searched. ``download=True`` writes to ``root/<name>/``, else to the first of
``$EMBER_DATA/<name>/`` and ``~/.cache/ember/<name>/``.
"""
import os
from pathlib import Path

import numpy as np

from ..io import SerializationError
from .dataset import Dataset, _index_array
from .download import download_url
from .idx import read_idx

__all__ = ["MNIST", "FashionMNIST", "DatasetNotFoundError"]

_REPO = Path(__file__).resolve().parents[2]


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are in none of the folders searched; the message says how to get them."""


class DataFolders:
    """Where a dataset's files are looked for and downloaded to: ``cls.name`` is its folder's
    name, ``cls.system_folders`` extra places searched last."""

    system_folders = ()

    @classmethod
    def search_folders(cls, root=None):
        """The folders searched for the files, in order."""
        if root is not None:
            return [Path(root) / cls.name, Path(root)]
        folders = []
        if os.environ.get("EMBER_DATA"):
            folders.append(Path(os.environ["EMBER_DATA"]) / cls.name)
        folders.append(Path.home() / ".cache" / "ember" / cls.name)
        if (_REPO / "pyproject.toml").is_file():  # a checkout of the repository, not an installed copy
            folders.append(_REPO / "data" / cls.name)
        folders.extend(Path(p) for p in cls.system_folders)
        return folders

    @classmethod
    def download_folder(cls, root=None):
        """Where ``download`` writes: ``root/<name>``, ``$EMBER_DATA/<name>`` or ``~/.cache/ember/<name>``."""
        if root is not None:
            return Path(root) / cls.name
        if os.environ.get("EMBER_DATA"):
            return Path(os.environ["EMBER_DATA"]) / cls.name
        return Path.home() / ".cache" / "ember" / cls.name


class MNIST(DataFolders, Dataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 10 classes.

    Args:
        root: folder holding the files (or a ``mnist/`` folder with them); None searches
            ``$EMBER_DATA``, ``~/.cache/ember`` and the repository's ``data/`` (see module doc).
        train: the training split (True) or the test split.
        download: fetch the files from the public mirrors if they are not found; each file
            is verified by SHA-256 before it is written (atomically).
        transform: applied to each image, a float32 ndarray (1, 28, 28). If the transform has
            an attribute ``batched = True``, the DataLoader instead calls it once per batch
            with an ndarray (B, 1, 28, 28), which is much faster.
        target_transform: applied to each label (an int), or to a batch of labels (int64
            ndarray (B,)) if it has ``batched = True``.

    Attributes:
        data: float32 ndarray (N, 1, 28, 28), values in [0, 1].
        targets: int64 ndarray (N,), values in 0..9.
        classes: the class names.

    ``dataset[i]`` is ``(image, label)``: a float32 ndarray (1, 28, 28) and an int.
    """

    name = "mnist"
    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
    # the SHA-256 of the .gz files we know of, and of their decompressed content (mirrors that
    # recompress the files still pass on the content hash); size = decompressed bytes
    resources = {
        "train-images-idx3-ubyte.gz": dict(
            sha256=("0b367032e93c5d0cea0925647cfdb18614af8ee15f83e6f2fc2ad904a6835971",),
            content_sha256="ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db", size=47040016),
        "train-labels-idx1-ubyte.gz": dict(
            sha256=("1787548bbe0bff1ec2ecdc0ef292b02df999e2d1a6002d27500982c652b17203",),
            content_sha256="65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5", size=60008),
        "t10k-images-idx3-ubyte.gz": dict(
            sha256=("1a1a05eab793c14bb050b398624a11b0ffd1a2953baed553b1b9bd079e2a20be",),
            content_sha256="0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7", size=7840016),
        "t10k-labels-idx1-ubyte.gz": dict(
            sha256=("b91679a0acfe4ba0e50a2437a903084cba1f5f92592b016a25a7dfd00455798b",),
            content_sha256="ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2", size=10008),
    }
    system_folders = ()
    install_hint = ""
    classes = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
               "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"]

    def __init__(self, root=None, train=True, download=False, transform=None, target_transform=None):
        for arg, f in (("transform", transform), ("target_transform", target_transform)):
            if f is not None and not callable(f):
                raise TypeError(f"{type(self).__name__}: {arg} must be callable, got {type(f).__name__}")
        self.root = root
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        folders = self.search_folders(root)
        self.folder = self._find(folders)
        if self.folder is None and download:
            self.folder = type(self).download(root)
        if self.folder is None:
            raise DatasetNotFoundError(self._not_found_message(folders))
        images_file, labels_file = (self._file(self.folder, f) for f in self._split_files())
        images, labels = read_idx(images_file), read_idx(labels_file)
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
            raise SerializationError(
                f"{images_file}: expected uint8 images (N, 28, 28), got {images.dtype} {tuple(images.shape)}"
            )
        if labels.dtype != np.uint8 or labels.shape != images.shape[:1]:
            raise SerializationError(
                f"{labels_file}: expected {images.shape[0]} uint8 labels to match the images, "
                f"got {labels.dtype} {tuple(labels.shape)}"
            )
        # one pass: uint8 -> float32 / 255, as torchvision's ToTensor computes it
        self.data = np.true_divide(images.reshape(-1, 1, 28, 28), np.float32(255), dtype=np.float32)
        self.targets = labels.astype(np.int64)

    # ----- the dataset -----
    def __len__(self):
        return len(self.targets)

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def __getitems__(self, indices):
        t, tt = self.transform, self.target_transform
        if (t is not None and not getattr(t, "batched", False)) or \
                (tt is not None and not getattr(tt, "batched", False)):
            return [self[int(i)] for i in _index_array(indices, len(self))]  # per-sample transforms
        x, y = self.data[indices], self.targets[indices]
        return (x if t is None else t(x)), (y if tt is None else tt(y))

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.folder}", f"    Split: {'Train' if self.train else 'Test'}"]
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        return "\n".join(lines)

    @property
    def class_to_idx(self):
        return {c: i for i, c in enumerate(self.classes)}

    # ----- finding and fetching the files -----
    def _split_files(self):
        prefix = "train" if self.train else "t10k"
        return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"

    @staticmethod
    def _file(folder, stem):
        """The path of ``stem`` (or ``stem.gz``) in ``folder``, or None."""
        for name in (stem + ".gz", stem):
            p = Path(folder) / name
            if p.is_file():
                return p
        return None

    def _find(self, folders):
        for folder in folders:
            if all(self._file(folder, stem) for stem in self._split_files()):
                return Path(folder)
        return None

    @classmethod
    def download(cls, root=None, mirrors=None, quiet=False):
        """Fetch the four files (both splits) into ``download_folder(root)``; skip those present.

        Args:
            root: as for the constructor.
            mirrors: base URLs to try in order (default: ``cls.mirrors``).
            quiet: do not print the URLs fetched.

        Returns:
            the folder.

        Raises:
            ember.data.download.DownloadError: a file that no mirror served intact.
        """
        folder = cls.download_folder(root)
        for filename, known in cls.resources.items():
            if (folder / filename).is_file():
                continue
            download_url(filename, folder, list(mirrors or cls.mirrors), sha256=known["sha256"],
                      content_sha256=known["content_sha256"], content_size=known["size"],
                      max_bytes=known["size"] + (1 << 20), quiet=quiet)
        return folder

    def _not_found_message(self, folders):
        split = "train" if self.train else "test"
        stems = " and ".join(f"{s}[.gz]" for s in self._split_files())
        looked = "\n".join(f"  {f}" for f in folders)
        dest = self.download_folder(self.root)
        how = [f"  - pass download=True (fetches from {self.mirrors[0]} into {dest}, verified by SHA-256),",
               "  - or copy the files into one of the folders above,",
               f"  - or set $EMBER_DATA to a folder holding {self.name}/ with the files"]
        if self.install_hint:
            how.append(f"  - or {self.install_hint}")
        return (f"{type(self).__name__} ({split} split) not found: ember looked for {stems} in\n{looked}\n"
                "To get it:\n" + "\n".join(how))


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grayscale clothing images, MNIST's layout and sizes.

    Same arguments and attributes as ``MNIST``. Also found where Debian's
    ``dataset-fashion-mnist`` package installs it, ``/usr/share/datasets/fashion-mnist/``.
    """

    name = "fashion-mnist"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    # the .gz hashes are those of Debian's recompressed files; upstream's pass on content
    resources = {
        "train-images-idx3-ubyte.gz": dict(
            sha256=("b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",),
            content_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888", size=47040016),
        "train-labels-idx1-ubyte.gz": dict(
            sha256=("0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",),
            content_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9", size=60008),
        "t10k-images-idx3-ubyte.gz": dict(
            sha256=("cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",),
            content_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b", size=7840016),
        "t10k-labels-idx1-ubyte.gz": dict(
            sha256=("8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",),
            content_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34", size=10008),
    }
    system_folders = ("/usr/share/datasets/fashion-mnist",)
    install_hint = "on Debian/Ubuntu: sudo apt install dataset-fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
