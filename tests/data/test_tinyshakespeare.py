"""Tiny Shakespeare and the character tokenizer: the shared copy, small files written here, and
the download against a local HTTP server (nothing reaches the network)."""
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.data import DataLoader, DownloadError
from ember.datasets import CharTokenizer, DatasetNotFoundError, TinyShakespeare

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data" / "tinyshakespeare"
needs_shared = pytest.mark.skipif(not (SHARED / "input.txt").is_file(),
                                  reason="no shared Tiny Shakespeare copy on this machine")
VOCAB = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _write(folder, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "input.txt").write_bytes(text.encode("utf-8"))
    return folder


# ----- the shared copy -----
@needs_shared
def test_the_shared_copy_splits_as_the_experiments_do():
    train = TinyShakespeare(root=SHARED.parent, train=True)
    val = TinyShakespeare(root=SHARED, train=False)  # the folder itself works too
    assert train.folder == val.folder == SHARED
    assert train.vocab == val.vocab == VOCAB and train.vocab_size == 65
    assert (len(train.data), len(val.data)) == (1003854, 111540)
    assert train.text.startswith("First Citizen:\n")
    assert train.data.dtype == np.int64 and train.tokenizer.decode(train.data[:14]) == "First Citizen:"
    full = (SHARED / "input.txt").read_text()
    assert train.text + val.text == full
    assert len(train) == (1003854 - 1) // 64


@needs_shared
def test_blocks_and_batches_on_the_shared_copy():
    ds = TinyShakespeare(root=SHARED.parent, train=False, block_size=64)
    x, y = ds[3]
    assert x.shape == y.shape == (64,)
    assert np.array_equal(x, ds.data[192:256]) and np.array_equal(y, ds.data[193:257])
    xb, yb = ds.get_batch(12, generator=ember.Generator(5))
    assert tuple(xb.shape) == (12, 64) and xb.dtype == ember.int64
    assert np.array_equal(xb.numpy()[:, 1:], yb.numpy()[:, :-1])  # y is x shifted by one


# ----- small files -----
def test_split_vocab_and_blocks_of_a_small_file(tmp_path):
    text = "abcdefghij" * 9 + "XYZ\n!?.,;:"  # X, Y, Z ... are in the last 10% only
    _write(tmp_path / "tinyshakespeare", text)
    train = TinyShakespeare(root=tmp_path, train=True, block_size=4)
    val = TinyShakespeare(root=tmp_path, train=False, block_size=4)
    assert train.vocab == val.vocab == "".join(sorted(set(text)))  # the whole file's, sorted
    assert train.text == text[:90] and val.text == text[90:]
    assert len(train) == (90 - 1) // 4 == 22
    x, y = train[-1]  # the last full block
    assert train.tokenizer.decode(x) == text[84:88] and train.tokenizer.decode(y) == text[85:89]
    with pytest.raises(IndexError, match="index 22 is out of range for 22 blocks"):
        train[22]
    xs, ys = train.__getitems__([0, 5])
    assert np.array_equal(xs[1], train[5][0]) and np.array_equal(ys[0], train[0][1])
    xb, yb = next(iter(DataLoader(train, batch_size=8)))
    assert tuple(xb.shape) == (8, 4) and np.array_equal(xb.numpy()[2], train[2][0])


def test_get_batch_is_reproducible_and_covers_the_split(tmp_path):
    _write(tmp_path, "".join(chr(ord("a") + i % 26) for i in range(1000)))
    ds = TinyShakespeare(root=tmp_path, block_size=8)  # root holding input.txt directly
    a = ds.get_batch(64, generator=ember.Generator(1))
    b = ds.get_batch(64, generator=ember.Generator(1))
    c = ds.get_batch(64, generator=ember.Generator(2))
    assert np.array_equal(a[0].numpy(), b[0].numpy()) and not np.array_equal(a[0].numpy(), c[0].numpy())
    ember.manual_seed(3)
    d = ds.get_batch(64)  # the global generator
    ember.manual_seed(3)
    assert np.array_equal(d[1].numpy(), ds.get_batch(64)[1].numpy())
    starts = np.concatenate([ds.get_batch(500, generator=ember.Generator(s))[0].numpy()[:, 0] for s in range(4)])
    assert starts.min() == 0 and starts.max() == 25  # every letter starts some block
    x, y = a[0].numpy(), a[1].numpy()
    assert np.all((y - x) % 26 == 1)  # y is the next character of x, everywhere


@pytest.mark.parametrize("block_size", [0, -1, 2.5, True, "64"])
def test_bad_block_size(tmp_path, block_size):
    _write(tmp_path, "hello world\n" * 20)
    with pytest.raises(ValueError, match="block_size must be a positive int"):
        TinyShakespeare(root=tmp_path, block_size=block_size)


def test_a_split_shorter_than_a_block(tmp_path):
    _write(tmp_path, "hello world\n" * 5)  # 60 characters: a validation split of 6
    with pytest.raises(ValueError, match="validation split has 6 characters, fewer than block_size"):
        TinyShakespeare(root=tmp_path, train=False, block_size=8)


def test_not_found_says_where_it_looked(tmp_path):
    with pytest.raises(DatasetNotFoundError) as e:
        TinyShakespeare(root=tmp_path)
    msg = str(e.value)
    assert f"{tmp_path}/tinyshakespeare" in msg and "download=True" in msg and "input.txt" in msg
    assert TinyShakespeare.search_folders(tmp_path) == [tmp_path / "tinyshakespeare", tmp_path]


# ----- the tokenizer -----
def test_tokenizer_round_trip_and_unknown_characters():
    tok = CharTokenizer.from_text("hello, world")
    assert tok.vocab == " ,dehlorw" and len(tok) == tok.vocab_size == 9
    ids = tok.encode("hold")
    assert ids == [4, 6, 5, 2] and tok.decode(ids) == "hold"
    assert tok.decode(np.array(ids)) == tok.decode(ember.tensor(ids)) == "hold"
    assert tok.encode("") == [] and tok.decode([]) == ""
    with pytest.raises(ValueError, match=r"character 'Z' \(at position 2\) is not in the vocabulary of 9"):
        tok.encode("heZ")
    with pytest.raises(ValueError, match="character 'é'"):
        tok.encode("hé")
    with pytest.raises(ValueError, match=r"id 9 is outside the vocabulary \(0..8\)"):
        tok.decode([1, 9])
    with pytest.raises(TypeError, match="expected a str"):
        tok.encode(b"hello")


def test_tokenizer_beyond_ascii_and_bad_vocabularies():
    tok = CharTokenizer("éa€\n")  # the order given is the id order
    assert tok.encode("a€é\n") == [1, 2, 0, 3] and tok.decode([2, 0]) == "€é"
    assert tok.encode_array("aa").dtype == np.int64
    with pytest.raises(ValueError, match="'a' is in the vocabulary twice"):
        CharTokenizer("aba")
    with pytest.raises(TypeError, match="single characters"):
        CharTokenizer(["ab", "c"])
    with pytest.raises(ValueError, match="empty"):
        CharTokenizer("")


# ----- download, against a local server -----
class Handler(http.server.BaseHTTPRequestHandler):
    """/good/F serves F; /corrupt/F one flipped byte; /drop/F half of F, then hangs up."""

    files = {}

    def do_GET(self):
        _, kind, name = self.path.split("/", 2)
        body = self.files.get(name)
        if body is None or kind not in ("good", "corrupt", "drop"):
            self.send_error(404)
            return
        if kind == "corrupt":
            body = bytearray(body)
            body[len(body) // 2] ^= 0x01
            body = bytes(body)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if kind == "drop" else body)

    def log_message(self, *args):
        pass


SMALL = ("First Citizen:\nBefore we proceed any further, hear me speak.\n\n" * 40).encode()


@pytest.fixture
def server(monkeypatch):
    """A local mirror serving a small input.txt, which TinyShakespeare is told to expect."""
    real = (SHARED / "input.txt").read_bytes() if (SHARED / "input.txt").is_file() else None
    Handler.files = {"input.txt": SMALL}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    monkeypatch.setattr(TinyShakespeare, "sha256", hashlib.sha256(SMALL).hexdigest())
    monkeypatch.setattr(TinyShakespeare, "size", len(SMALL))
    yield f"http://127.0.0.1:{srv.server_address[1]}", real
    srv.shutdown()
    srv.server_close()


def test_download_true_falls_back_past_bad_mirrors(server, tmp_path, monkeypatch):
    url, _ = server
    monkeypatch.setattr(TinyShakespeare, "mirrors", (f"{url}/corrupt/", f"{url}/drop/", f"{url}/nothere/",
                                                     f"{url}/good/"))
    ds = TinyShakespeare(root=tmp_path, download=True, block_size=8)
    assert ds.folder == tmp_path / "tinyshakespeare" and ds.text.startswith("First Citizen:")
    assert [p.name for p in ds.folder.iterdir()] == ["input.txt"]  # no temp files left
    assert (ds.folder / "input.txt").read_bytes() == SMALL
    monkeypatch.setattr(TinyShakespeare, "mirrors", (f"{url}/nothere/",))
    assert TinyShakespeare(root=tmp_path, download=True, train=False).vocab == ds.vocab  # not fetched again


def test_nothing_lands_when_every_mirror_is_bad(server, tmp_path):
    url, _ = server
    with pytest.raises(DownloadError) as e:
        TinyShakespeare.download(tmp_path, mirrors=[f"{url}/corrupt/", f"{url}/drop/"], quiet=True)
    assert "SHA-256 mismatch" in str(e.value) and str(e.value).count(url) == 2
    assert list((tmp_path / "tinyshakespeare").iterdir()) == []


def test_the_real_file_verifies_against_the_published_hash(server, tmp_path, monkeypatch):
    url, real = server
    if real is None:
        pytest.skip("no shared Tiny Shakespeare copy on this machine")
    monkeypatch.undo()  # the class's own sha256 and size
    assert hashlib.sha256(real).hexdigest() == TinyShakespeare.sha256 and len(real) == TinyShakespeare.size
    assert TinyShakespeare.sha256 in (SHARED / "SHA256SUMS").read_text()
    Handler.files = {"input.txt": real}
    folder = TinyShakespeare.download(tmp_path, mirrors=[f"{url}/corrupt/", f"{url}/good/"], quiet=True)
    assert (folder / "input.txt").read_bytes() == real
    assert TinyShakespeare.mirrors[0].startswith("https://raw.githubusercontent.com/karpathy/char-rnn/")
