"""Character-level text data: ``CharTokenizer`` and the ``TinyShakespeare`` dataset.

``TinyShakespeare`` is the 1.1 MB ``input.txt`` of karpathy/char-rnn (public-domain plays), the
data set of the small character-level GPT experiments. Its conventions are theirs: the
vocabulary is the sorted set of the file's characters (65), the first 90% of the characters
are the training split and the last 10% the validation split.

Where ``input.txt`` is looked for, with ``root=None``, in order: ``$EMBER_DATA/tinyshakespeare/``,
``~/.cache/ember/tinyshakespeare/``, the repository's ``data/tinyshakespeare/``. With ``root``
given: ``root/tinyshakespeare/`` then ``root`` itself. ``download=True`` fetches the file from
its raw GitHub URL, verified by SHA-256, as MNIST's files are.
"""
from pathlib import Path

import numpy as np

from .dataset import Dataset, _index_array
from .datasets import DataFolders, DatasetNotFoundError
from .download import download_url

__all__ = ["CharTokenizer", "TinyShakespeare"]


class CharTokenizer:
    """Characters to integer ids and back: id ``i`` is ``vocab[i]``.

    Args:
        vocab: the characters, in id order (a string or an iterable of one-character strings).

    ``CharTokenizer.from_text(text)`` builds the usual vocabulary, the sorted set of the text's
    characters. ``encode`` refuses a character outside the vocabulary, naming it.
    """

    def __init__(self, vocab):
        chars = list(vocab)
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad:
            raise TypeError(f"CharTokenizer: the vocabulary holds single characters, got {bad[0]!r}")
        if len(set(chars)) != len(chars):
            dup = next(c for c in chars if chars.count(c) > 1)
            raise ValueError(f"CharTokenizer: the character {dup!r} is in the vocabulary twice")
        if not chars:
            raise ValueError("CharTokenizer: the vocabulary is empty")
        self.vocab = "".join(chars)
        self.stoi = {c: i for i, c in enumerate(chars)}
        self.itos = dict(enumerate(chars))
        # a byte -> id table: encoding a 1 MB ASCII text is then one NumPy pass
        self._table = None
        if all(ord(c) < 256 for c in chars):
            self._table = np.full(256, -1, np.int64)
            self._table[[ord(c) for c in chars]] = np.arange(len(chars))

    @classmethod
    def from_text(cls, text):
        """The tokenizer whose vocabulary is the sorted set of ``text``'s characters."""
        return cls(sorted(set(text)))

    @property
    def vocab_size(self):
        return len(self.vocab)

    def __len__(self):
        return len(self.vocab)

    def encode(self, text):
        """The ids of ``text``'s characters, a list of ints.

        Raises:
            ValueError: a character outside the vocabulary (named, with its position).
        """
        return self.encode_array(text).tolist()

    def encode_array(self, text):
        """``encode`` as an int64 ndarray (fast for long texts)."""
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode: expected a str, got {type(text).__name__}")
        if self._table is not None and text.isascii():
            ids = self._table[np.frombuffer(text.encode("ascii"), np.uint8)]
            if ids.size and ids.min() < 0:
                self._unknown(text, int(np.argmax(ids < 0)))
            return ids
        ids = np.empty(len(text), np.int64)
        for i, c in enumerate(text):
            if c not in self.stoi:
                self._unknown(text, i)
            ids[i] = self.stoi[c]
        return ids

    def _unknown(self, text, i):
        raise ValueError(f"character {text[i]!r} (at position {i}) is not in the vocabulary of "
                         f"{len(self.vocab)} characters {self.vocab!r}")

    def decode(self, ids):
        """The text of ``ids`` (a list of ints, an int ndarray or a 1-D integer Tensor)."""
        ids = np.asarray(getattr(ids, "_data", ids))
        if ids.ndim != 1 or (ids.size and ids.dtype.kind not in "iu"):
            raise TypeError(f"CharTokenizer.decode: expected a 1-D sequence of integer ids, got "
                            f"{ids.dtype} of shape {tuple(ids.shape)}")
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.vocab)):
            bad = int(ids[(ids < 0) | (ids >= len(self.vocab))][0])
            raise ValueError(f"CharTokenizer.decode: id {bad} is outside the vocabulary (0..{len(self.vocab) - 1})")
        return "".join(self.vocab[i] for i in ids.tolist())

    def __repr__(self):
        return f"CharTokenizer(vocab_size={len(self.vocab)})"


class TinyShakespeare(DataFolders, Dataset):
    """Tiny Shakespeare, character by character: 1,003,854 training and 111,540 validation characters.

    Args:
        root: folder holding ``input.txt`` (or a ``tinyshakespeare/`` folder with it); None
            searches ``$EMBER_DATA``, ``~/.cache/ember`` and the repository's ``data/``.
        train: the training split (the first 90% of the characters) or the validation split.
        block_size: the length of each example's context.
        download: fetch ``input.txt`` if it is not found (verified by SHA-256, written atomically).

    Attributes:
        text: the split's characters, a str.
        data: their ids, int64 ndarray (N,).
        tokenizer: the ``CharTokenizer`` of the whole file (both splits share it).
        vocab: the vocabulary, a str of ``vocab_size`` characters in id order.

    ``dataset[i]`` is ``(x, y)``, two int64 ndarrays (block_size,): the i-th block of the split
    (non-overlapping, in order) and the same block shifted by one character, the targets.
    ``get_batch(batch_size, generator=...)`` draws blocks that start anywhere instead, the way
    character-level language models are trained.
    """

    name = "tinyshakespeare"
    filename = "input.txt"
    mirrors = (
        "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/",
    )
    sha256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
    size = 1115394
    train_fraction = 0.9

    def __init__(self, root=None, train=True, block_size=64, download=False):
        if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)) or block_size < 1:
            raise ValueError(f"{type(self).__name__}: block_size must be a positive int, got {block_size!r}")
        self.root = root
        self.train = bool(train)
        self.block_size = int(block_size)
        folders = self.search_folders(root)
        self.folder = self._find(folders)
        if self.folder is None and download:
            self.folder = type(self).download(root)
        if self.folder is None:
            raise DatasetNotFoundError(self._not_found_message(folders))
        path = self.folder / self.filename
        try:
            full = path.read_bytes().decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{path}: not UTF-8 text ({e})") from None
        self.tokenizer = CharTokenizer.from_text(full)
        n = int(len(full) * self.train_fraction)
        self.text = full[:n] if self.train else full[n:]
        if len(self.text) < self.block_size + 1:
            raise ValueError(f"{path}: the {'train' if self.train else 'validation'} split has {len(self.text)} "
                             f"characters, fewer than block_size + 1 = {self.block_size + 1}")
        self.data = self.tokenizer.encode_array(self.text)

    @property
    def vocab(self):
        return self.tokenizer.vocab

    @property
    def vocab_size(self):
        return len(self.tokenizer)

    # ----- the dataset -----
    def __len__(self):
        return (len(self.data) - 1) // self.block_size

    def __getitem__(self, index):
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} blocks")
        start = (index % n) * self.block_size
        chunk = self.data[start:start + self.block_size + 1]
        return chunk[:-1], chunk[1:]

    def __getitems__(self, indices):
        starts = _index_array(indices, len(self)) * self.block_size
        return self._blocks(starts)

    def _blocks(self, starts):
        idx = starts[:, None] + np.arange(self.block_size + 1)
        chunks = self.data[idx]
        return chunks[:, :-1], chunks[:, 1:]

    def get_batch(self, batch_size, generator=None):
        """``batch_size`` blocks starting at random characters: ``(x, y)``, int64 Tensors (B, T).

        ``generator`` (an ``ember.Generator``) makes the draws reproducible; None uses the
        global one (``ember.manual_seed``)."""
        from .. import backend
        from .._tensor_base import from_op

        starts = backend.rng(generator).integers(0, len(self.data) - self.block_size, size=int(batch_size))
        x, y = self._blocks(starts.astype(np.int64))
        return from_op(np.ascontiguousarray(x), None), from_op(np.ascontiguousarray(y), None)

    def __repr__(self):
        return "\n".join([f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                          f"    Characters: {len(self.data):,}, vocabulary: {self.vocab_size}",
                          f"    Block size: {self.block_size}", f"    Root location: {self.folder}",
                          f"    Split: {'Train' if self.train else 'Validation'}"])

    # ----- finding and fetching the file -----
    def _find(self, folders):
        for folder in folders:
            if (Path(folder) / self.filename).is_file():
                return Path(folder)
        return None

    @classmethod
    def download(cls, root=None, mirrors=None, quiet=False):
        """Fetch ``input.txt`` into ``download_folder(root)`` unless it is there; return the folder.

        Raises:
            ember.data.download.DownloadError: no mirror served the file intact.
        """
        folder = cls.download_folder(root)
        if not (folder / cls.filename).is_file():
            download_url(cls.filename, folder, list(mirrors or cls.mirrors), sha256=(cls.sha256,),
                         max_bytes=cls.size + (1 << 16), quiet=quiet)
        return folder

    def _not_found_message(self, folders):
        looked = "\n".join(f"  {f}" for f in folders)
        return (f"{type(self).__name__} not found: ember looked for {self.filename} in\n{looked}\n"
                f"To get it:\n  - pass download=True (fetches {self.mirrors[0]}{self.filename} into "
                f"{self.download_folder(self.root)}, verified by SHA-256),\n"
                "  - or copy the file into one of the folders above")
