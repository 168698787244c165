"""ember.vision.datasets against torchvision 0.28 on the same files: the shared MNIST copy,
synthetic IDX/CIFAR/image folders, and downloads served from a local HTTP server."""
import gzip
import hashlib
import http.server
import io
import os
import shutil
import tarfile
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

import ember
from ember.data import write_idx
from ember.vision import datasets as D

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

MNIST_DIR = Path("/work/shared/data/mnist")
if not MNIST_DIR.is_dir():
    MNIST_DIR = Path(__file__).resolve().parents[2] / "data" / "mnist"


def md5(b):
    return hashlib.md5(b).hexdigest()


def assert_same_pil(a, b):
    assert a.mode == b.mode and a.size == b.size
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def write_mnist_raw(folder, prefix, n, seed, gz=False, label_high=10):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, label_high, n).astype(np.uint8)
    write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", x)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", y)
    return x, y


# ----- a local HTTP server: /<path> serves Handler.files[path], else 404 -----
class Handler(http.server.BaseHTTPRequestHandler):
    files = {}

    def do_GET(self):
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/"
    srv.shutdown()
    srv.server_close()


# ----- MNIST family -----
@pytest.fixture(scope="module")
def mnist_test_root(tmp_path_factory):
    """The shared MNIST test split, extracted into torchvision's layout."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("no MNIST copy")
    root = tmp_path_factory.mktemp("mnist")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        (raw / stem).write_bytes(gzip.decompress((MNIST_DIR / (stem + ".gz")).read_bytes()))
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"):
        (raw / stem).touch()  # torchvision checks that all four files exist; only t10k is read
    return root


def test_mnist_shared_copy_matches_torchvision(torchvision, mnist_test_root):
    e = D.MNIST(str(mnist_test_root), train=False)
    t = torchvision.datasets.MNIST(str(mnist_test_root), train=False)
    assert len(e) == len(t) == 10000
    assert isinstance(e.data, ember.Tensor) and e.data.dtype == ember.uint8 and tuple(e.data.shape) == (10000, 28, 28)
    assert e.targets.dtype == ember.int64
    np.testing.assert_array_equal(e.data.numpy(), t.data.numpy())
    np.testing.assert_array_equal(e.targets.numpy(), t.targets.numpy())
    assert e.classes == t.classes and e.class_to_idx == t.class_to_idx
    for i in (0, 1, 9999):
        (ei, ey), (ti, ty) = e[i], t[i]
        assert ei.mode == "L" and type(ey) is int and ey == ty
        assert_same_pil(ei, ti)
    assert repr(e) == repr(t)


def test_mnist_in_dataloader(mnist_test_root):
    ds = D.MNIST(mnist_test_root, train=False, transform=lambda im: np.asarray(im, np.float32)[None] / 255)
    x, y = next(iter(ember.utils.data.DataLoader(ds, batch_size=4)))
    assert tuple(x.shape) == (4, 1, 28, 28) and y.tolist() == [7, 2, 1, 0]


def test_mnist_reads_gz_as_downloaded(mnist_test_root, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(MNIST_DIR / (stem + ".gz"), raw)
    e = D.MNIST(tmp_path, train=False)
    ref = D.MNIST(mnist_test_root, train=False)
    np.testing.assert_array_equal(e.data.numpy(), ref.data.numpy())
    assert e[5][1] == ref[5][1] == 1  # test labels 7 2 1 0 4 1 ...


@pytest.mark.parametrize("cls", ["MNIST", "FashionMNIST", "KMNIST"])
def test_mnist_family_synthetic_matches_torchvision(torchvision, tmp_path, cls):
    x, y = write_mnist_raw(tmp_path / cls / "raw", "train", 7, seed=len(cls))
    write_mnist_raw(tmp_path / cls / "raw", "t10k", 1, seed=0)  # torchvision wants both splits
    calls = []
    kw = dict(transform=lambda im: (calls.append(im.mode), np.asarray(im))[1], target_transform=lambda v: v + 100)
    e = getattr(D, cls)(tmp_path, **kw)
    t = getattr(torchvision.datasets, cls)(str(tmp_path), **kw)
    assert len(e) == len(t) == 7 and e.classes == t.classes
    np.testing.assert_array_equal(e.data.numpy(), x)
    for i in range(7):
        (ea, eb), (ta, tb) = e[i], t[i]
        np.testing.assert_array_equal(ea, ta)
        assert eb == tb == int(y[i]) + 100
    assert set(calls) == {"L"}


def test_emnist_split_matches_torchvision(torchvision, tmp_path):
    write_mnist_raw(tmp_path / "EMNIST" / "raw", "emnist-letters-test", 5, seed=3, label_high=27)
    e = D.EMNIST(tmp_path, split="letters", train=False)
    t = torchvision.datasets.EMNIST(str(tmp_path), split="letters", train=False)
    assert e.classes == t.classes and len(e) == len(t) == 5
    np.testing.assert_array_equal(e.targets.numpy(), t.targets.numpy())
    assert_same_pil(e[4][0], t[4][0])
    with pytest.raises(ValueError) as ee:
        D.EMNIST(tmp_path, split="nope")
    with pytest.raises(ValueError) as te:
        torchvision.datasets.EMNIST(str(tmp_path), split="nope")
    assert str(ee.value) == str(te.value)


def test_mnist_not_found_message(torchvision, tmp_path):
    with pytest.raises(RuntimeError) as ee:
        D.MNIST(tmp_path)
    with pytest.raises(RuntimeError) as te:
        torchvision.datasets.MNIST(str(tmp_path))
    assert str(ee.value) == str(te.value) == "Dataset not found. You can use download=True to download it"


def test_mnist_bad_idx_names_file(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    write_idx(raw / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(raw / "train-labels-idx1-ubyte", np.zeros((4,), np.uint8))
    with pytest.raises(RuntimeError, match="3 images but .*train-labels-idx1-ubyte holds 4 labels"):
        D.MNIST(tmp_path)


def _synthetic_gz(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, n).astype(np.uint8)
    hdr = lambda a, magic: magic + b"".join(int(d).to_bytes(4, "big") for d in a.shape)  # noqa: E731
    return {"images": gzip.compress(hdr(x, b"\0\0\x08\x03") + x.tobytes(), mtime=0),
            "labels": gzip.compress(hdr(y, b"\0\0\x08\x01") + y.tobytes(), mtime=0)}, x, y


def test_mnist_download_from_local_server(torchvision, server, tmp_path, monkeypatch):
    files, resources = {}, []
    for split, n in (("train", 6), ("t10k", 4)):
        gz, _, _ = _synthetic_gz(n, seed=n)
        for kind in ("images", "labels"):
            name = f"{split}-{kind}-idx{3 if kind == 'images' else 1}-ubyte.gz"
            files[f"m2/{name}"] = gz[kind]
            resources.append((name, md5(gz[kind])))
    Handler.files = files
    # the first mirror has nothing (404): the second serves the files
    monkeypatch.setattr(D.MNIST, "mirrors", [server + "m1/", server + "m2/"])
    monkeypatch.setattr(D.MNIST, "resources", resources)
    e = D.MNIST(tmp_path, train=False, download=True)
    raw = tmp_path / "MNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        [n for n, _ in resources] + [n[:-3] for n, _ in resources])
    t = torchvision.datasets.MNIST(str(tmp_path), train=False)  # torchvision reads what we wrote
    np.testing.assert_array_equal(e.data.numpy(), t.data.numpy())
    assert len(D.MNIST(tmp_path, train=True, download=True)) == 6  # already there: no fetch


def test_mnist_download_bad_md5(server, tmp_path, monkeypatch):
    gz, _, _ = _synthetic_gz(2, seed=1)
    Handler.files = {"b/train-images-idx3-ubyte.gz": gz["images"]}
    monkeypatch.setattr(D.MNIST, "mirrors", [server + "b/"])
    monkeypatch.setattr(D.MNIST, "resources", [("train-images-idx3-ubyte.gz", "0" * 32)])
    with pytest.raises(RuntimeError, match=r"(?s)Error downloading train-images-idx3-ubyte.gz:\nTried .*"
                                           r"File not found or corrupted"):
        D.MNIST(tmp_path, download=True)
    assert [p.name for p in (tmp_path / "MNIST" / "raw").iterdir()] == []  # nothing corrupt left
    monkeypatch.setattr(D.MNIST, "resources", [("train-images-idx3-ubyte.gz", md5(gz["images"]))])
    monkeypatch.setattr(D.MNIST, "max_download_bytes", 100)
    with pytest.raises(RuntimeError, match="more than the 100 expected"):
        D.MNIST(tmp_path, download=True)
    assert [p.name for p in (tmp_path / "MNIST" / "raw").iterdir()] == []


def test_mnist_download_recompressed_passes_on_content_sha256(server, tmp_path, monkeypatch):
    # the shared copy is recompressed: its MD5 is not torchvision's, its content is MNIST's
    if not (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip("no MNIST copy")
    Handler.files = {"r/t10k-labels-idx1-ubyte.gz": (MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes()}
    monkeypatch.setattr(D.MNIST, "mirrors", [server + "r/"])
    monkeypatch.setattr(D.MNIST, "resources", [r for r in D.MNIST.resources if r[0].startswith("t10k-labels")])
    _DownloadOnly(tmp_path).download()
    assert (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").stat().st_size == 10008


class _DownloadOnly(D.MNIST):
    def __init__(self, root):  # a MNIST whose files are not read: only download() is called
        self.root, self.train = str(root), False

    @property
    def raw_folder(self):
        return os.path.join(self.root, "MNIST", "raw")


def test_emnist_download_zip(server, tmp_path, monkeypatch):
    gz, x, y = _synthetic_gz(3, seed=9)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("gzip/emnist-digits-test-images-idx3-ubyte.gz", gz["images"])
        z.writestr("gzip/emnist-digits-test-labels-idx1-ubyte.gz", gz["labels"])
        z.writestr("gzip/readme.txt", b"hi")
    Handler.files = {"gzip.zip": buf.getvalue()}
    monkeypatch.setattr(D.EMNIST, "url", server + "gzip.zip")
    monkeypatch.setattr(D.EMNIST, "md5", md5(buf.getvalue()))
    e = D.EMNIST(tmp_path, split="digits", train=False, download=True)
    np.testing.assert_array_equal(e.data.numpy(), x)
    np.testing.assert_array_equal(e.targets.numpy(), y)


# ----- CIFAR (binary version) -----
def write_cifar(folder, name, n, seed, label_bytes):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, [20, 100][:label_bytes] if label_bytes == 2 else 10, (n, label_bytes)).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(np.concatenate([labels, pixels], 1).tobytes())
    return labels, pixels.reshape(n, 3, 32, 32).transpose(0, 2, 3, 1)


CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def make_cifar10(root, counts=(3, 2, 1, 2, 2), test=4):
    folder = root / "cifar-10-batches-bin"
    train = [write_cifar(folder, f"data_batch_{i + 1}.bin", n, i, 1) for i, n in enumerate(counts)]
    tst = write_cifar(folder, "test_batch.bin", test, 99, 1)
    (folder / "batches.meta.txt").write_text("\n".join(CIFAR10_NAMES) + "\n\n")
    return train, tst


def test_cifar10_binary(tmp_path):
    train, (tl, tx) = make_cifar10(tmp_path)
    e = D.CIFAR10(tmp_path)
    assert len(e) == 10 and isinstance(e.data, np.ndarray) and e.data.dtype == np.uint8
    assert e.data.shape == (10, 32, 32, 3)
    np.testing.assert_array_equal(e.data, np.concatenate([x for _, x in train]))
    assert e.targets == [int(v) for l_, _ in train for v in l_[:, 0]] and type(e.targets[0]) is int
    assert e.classes == CIFAR10_NAMES and e.class_to_idx["truck"] == 9
    img, lab = e[9]
    assert img.mode == "RGB" and img.size == (32, 32)
    assert_same_pil(img, Image.fromarray(train[4][1][1]))  # what torchvision's __getitem__ does
    t = D.CIFAR10(tmp_path, train=False, target_transform=str)
    assert len(t) == 4 and t[3][1] == str(int(tl[3, 0]))
    assert "Split: Test" in repr(t)


def test_cifar100_binary_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    labels, x = write_cifar(folder, "train.bin", 5, 1, 2)
    write_cifar(folder, "test.bin", 2, 2, 2)
    (folder / "fine_label_names.txt").write_text("\n".join(f"fine{i}" for i in range(100)) + "\n")
    (folder / "coarse_label_names.txt").write_text("\n".join(f"coarse{i}" for i in range(20)) + "\n")
    e = D.CIFAR100(tmp_path)
    assert e.targets == labels[:, 1].tolist() and e.coarse_targets == labels[:, 0].tolist()
    assert len(e.classes) == 100 and e.classes[3] == "fine3" and e.coarse_classes[19] == "coarse19"
    np.testing.assert_array_equal(e.data, x)


def test_cifar_wrong_record_size(tmp_path):
    make_cifar10(tmp_path)
    bad = tmp_path / "cifar-10-batches-bin" / "data_batch_3.bin"
    bad.write_bytes(bad.read_bytes()[:-1])
    with pytest.raises(RuntimeError, match=r"data_batch_3.bin: 3,072 bytes is not a whole number of 3,073-byte"):
        D.CIFAR10(tmp_path)


def test_cifar_not_found_message(torchvision, tmp_path):
    with pytest.raises(RuntimeError) as ee:
        D.CIFAR10(tmp_path)
    with pytest.raises(RuntimeError) as te:
        torchvision.datasets.CIFAR10(str(tmp_path))
    assert str(ee.value) == str(te.value)
    folder = tmp_path / "cifar-100-binary"
    write_cifar(folder, "train.bin", 1, 1, 2)
    write_cifar(folder, "test.bin", 1, 1, 2)
    with pytest.raises(RuntimeError, match="Dataset metadata file not found or corrupted"):
        D.CIFAR100(tmp_path)


def _tar_gz(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_cifar10_download_archive(server, tmp_path, monkeypatch):
    src = tmp_path / "src"
    make_cifar10(src, counts=(1, 1, 1, 1, 2), test=1)
    archive = _tar_gz({f"cifar-10-batches-bin/{p.name}": p.read_bytes()
                       for p in sorted((src / "cifar-10-batches-bin").iterdir())})
    Handler.files = {"cifar-10-binary.tar.gz": archive}
    monkeypatch.setattr(D.CIFAR10, "url", server + "cifar-10-binary.tar.gz")
    monkeypatch.setattr(D.CIFAR10, "tgz_md5", md5(archive))
    root = tmp_path / "root"
    e = D.CIFAR10(root, download=True)
    np.testing.assert_array_equal(e.data, D.CIFAR10(src).data)
    assert (root / "cifar-10-binary.tar.gz").is_file()
    monkeypatch.setattr(D.CIFAR10, "tgz_md5", "0" * 32)
    with pytest.raises(RuntimeError, match="File not found or corrupted."):
        D.CIFAR10(tmp_path / "other", download=True)


def test_cifar_download_rejects_path_traversal(server, tmp_path, monkeypatch):
    archive = _tar_gz({"../evil.txt": b"x"})
    Handler.files = {"evil.tar.gz": archive}
    monkeypatch.setattr(D.CIFAR10, "url", server + "evil.tar.gz")
    monkeypatch.setattr(D.CIFAR10, "filename", "evil.tar.gz")
    monkeypatch.setattr(D.CIFAR10, "tgz_md5", md5(archive))
    with pytest.raises(tarfile.TarError):
        D.CIFAR10(tmp_path / "root", download=True)
    assert not (tmp_path / "evil.txt").exists()


def test_cifar_no_pickle():
    src = Path(D.__file__).parent
    for p in src.glob("*.py"):
        assert "pickle" not in p.read_text().replace("pickled", ""), p


# ----- ImageFolder / DatasetFolder -----
@pytest.fixture
def image_tree(tmp_path):
    rng = np.random.default_rng(0)
    for cls, names in {"dog": ["b.png", "a.PNG", "sub/c.bmp"], "cat": ["x.png", "notes.txt"], "ant": ["z.jpg"]}.items():
        for n in names:
            p = tmp_path / cls / n
            p.parent.mkdir(parents=True, exist_ok=True)
            if n.endswith(".txt"):
                p.write_text("not an image")
            else:
                mode = "L" if n.startswith("a") else "RGB"
                arr = rng.integers(0, 256, (5, 4) if mode == "L" else (5, 4, 3), dtype=np.uint8)
                Image.fromarray(arr).save(p, quality=95) if n.endswith(".jpg") else Image.fromarray(arr).save(p)
    return tmp_path


def test_imagefolder_matches_torchvision(torchvision, image_tree):
    e = D.ImageFolder(str(image_tree))
    t = torchvision.datasets.ImageFolder(str(image_tree))
    assert e.classes == t.classes == ["ant", "cat", "dog"]
    assert e.class_to_idx == t.class_to_idx
    assert e.samples == t.samples and e.imgs == t.imgs and e.targets == t.targets
    assert len(e) == len(t) == 5
    for i in range(len(e)):
        (ei, ey), (ti, ty) = e[i], t[i]
        assert ey == ty
        assert_same_pil(ei, ti)
    assert repr(e) == repr(t)


def test_datasetfolder_options_match_torchvision(torchvision, image_tree):
    def loader(p):
        return os.path.basename(p)

    for kw in (dict(extensions=(".txt",), allow_empty=True), dict(is_valid_file=lambda p: "b" in os.path.basename(p),
                                                                  allow_empty=True)):
        e = D.DatasetFolder(str(image_tree), loader, **kw)
        t = torchvision.datasets.DatasetFolder(str(image_tree), loader, **kw)
        assert e.samples == t.samples and e.targets == t.targets and [e[i] for i in range(len(e))] == \
            [t[i] for i in range(len(t))]
    assert D.DatasetFolder.make_dataset(str(image_tree), {"dog": 0}, extensions=".bmp") == \
        torchvision.datasets.DatasetFolder.make_dataset(str(image_tree), {"dog": 0}, extensions=".bmp")
    assert D.folder.find_classes(str(image_tree)) == torchvision.datasets.folder.find_classes(str(image_tree))
    bad_calls = [
        lambda m: m.DatasetFolder(str(image_tree), loader, extensions=(".txt",)),  # empty classes
        lambda m: m.DatasetFolder(str(image_tree), loader),  # neither extensions nor is_valid_file
        lambda m: m.DatasetFolder.make_dataset(str(image_tree), {}, extensions=".png"),
        lambda m: m.ImageFolder(str(image_tree / "ant")),  # no class folders
    ]
    for call in bad_calls:
        with pytest.raises(Exception) as ee:
            call(D)
        with pytest.raises(Exception) as te:
            call(torchvision.datasets)
        assert type(ee.value) is type(te.value) and str(ee.value) == str(te.value)


def test_imagefolder_corrupt_image_names_file(image_tree):
    bad = image_tree / "cat" / "y.png"
    bad.write_bytes(b"\x89PNG garbage")
    ds = D.ImageFolder(image_tree)
    i = [p for p, _ in ds.samples].index(str(bad))
    with pytest.raises(OSError, match="y.png"):
        ds[i]


# ----- FakeData -----
def test_fakedata(torchvision):
    ember.manual_seed(7)
    before = ember.rand(3)
    ember.manual_seed(7)
    ds = D.FakeData(size=4, image_size=(3, 6, 5), num_classes=3, random_offset=2)
    a, b = ds[1], ds[1]
    assert_same_pil(a[0], b[0]) and a[1] == b[1]
    assert not np.array_equal(np.asarray(ds[0][0]), np.asarray(a[0]))
    np.testing.assert_array_equal(ember.rand(3).numpy(), before.numpy())  # the caller's stream untouched
    t = torchvision.datasets.FakeData(size=4, image_size=(3, 6, 5), num_classes=3)
    assert a[0].mode == t[1][0].mode == "RGB" and a[0].size == t[1][0].size == (5, 6)
    assert len(ds) == len(t) == 4 and type(a[1]) is int and 0 <= a[1] < 3
    g = D.FakeData(size=2, image_size=(1, 4, 4))
    assert g[0][0].mode == torchvision.datasets.FakeData(size=2, image_size=(1, 4, 4))[0][0].mode == "L"
    with pytest.raises(IndexError, match="FakeData index out of range"):
        ds[4]
    assert sorted({D.FakeData(50, (1, 1, 1), num_classes=4)[i][1] for i in range(50)}) == [0, 1, 2, 3]


def test_fakedata_conversion_matches_topilimage(torchvision):
    import torch

    x = torch.randn(3, 4, 4) * 3
    ref = torchvision.transforms.ToPILImage()(x)
    assert_same_pil(D.fakedata._to_pil(x.numpy()), ref)


def test_ember_datasets_names_the_torchvision_only_datasets():
    """``ember.datasets`` keeps its own MNIST readers (ember's folder layout) and re-exports the
    datasets that only ``ember.vision.datasets`` has, as the same classes."""
    import ember.datasets as short
    import ember.vision.datasets as vision

    for name in ("CIFAR10", "CIFAR100", "EMNIST", "KMNIST", "DatasetFolder", "FakeData", "ImageFolder"):
        assert getattr(short, name) is getattr(vision, name) and name in short.__all__
    assert short.MNIST is not vision.MNIST  # ember's layout, DIR/mnist/*.gz
