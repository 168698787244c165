"""Downloads against a local HTTP server: fallback between mirrors, corrupt files, dropped
connections. Nothing reaches the network, and nothing corrupt may land in the cache."""
import gzip
import http.server
import threading
from pathlib import Path

import pytest

from ember.data import DownloadError, download_url
from ember.datasets import MNIST

MNIST_DIR = Path(__file__).resolve().parents[2] / "data" / "mnist"
LABELS = "t10k-labels-idx1-ubyte.gz"


class Handler(http.server.BaseHTTPRequestHandler):
    """/good/F serves F; /corrupt/F one flipped byte; /drop/F half of F, then hangs up;
    /recompressed/F the same content gzipped anew; /other/F valid gzip of other content."""

    files = {}

    def do_GET(self):
        _, kind, name = self.path.split("/", 2)
        body = self.files.get(name)
        if body is None or kind not in ("good", "corrupt", "drop", "recompressed", "other"):
            self.send_error(404)
            return
        if kind == "corrupt":
            body = bytearray(body)
            body[len(body) // 2] ^= 0x55
            body = bytes(body)
        elif kind == "recompressed":
            body = gzip.compress(gzip.decompress(body), compresslevel=1, mtime=123)
        elif kind == "other":
            body = gzip.compress(gzip.decompress(body)[:-1] + b"\x07", mtime=0)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if kind == "drop":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    Handler.files = {p.name: p.read_bytes() for p in MNIST_DIR.glob("*.gz")}
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _known(name=LABELS):
    return dict(sha256=MNIST.resources[name]["sha256"], content_sha256=MNIST.resources[name]["content_sha256"],
                content_size=MNIST.resources[name]["size"], quiet=True, timeout=10)


def test_good_mirror(server, tmp_path):
    path = download_url(LABELS, tmp_path / "c", [f"{server}/good/"], **_known())
    assert Path(path).read_bytes() == (MNIST_DIR / LABELS).read_bytes()
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == [LABELS]


def test_falls_back_past_corrupt_dropped_and_missing(server, tmp_path):
    mirrors = [f"{server}/corrupt/", f"{server}/drop/", f"{server}/nothere/", f"{server}/good"]
    path = download_url(LABELS, tmp_path, mirrors, **_known())
    assert Path(path).read_bytes() == (MNIST_DIR / LABELS).read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == [LABELS]  # no temp files left


def test_nothing_lands_when_every_mirror_is_bad(server, tmp_path):
    with pytest.raises(DownloadError) as e:
        download_url(LABELS, tmp_path, [f"{server}/corrupt/", f"{server}/drop/", f"{server}/other/"], **_known())
    msg = str(e.value)
    assert "SHA-256 mismatch" in msg and ("connection ended after" in msg or "IncompleteRead" in msg)
    assert msg.count(server) == 3
    assert list(tmp_path.iterdir()) == []


def test_recompressed_file_passes_on_its_content(server, tmp_path):
    path = download_url(LABELS, tmp_path, [f"{server}/recompressed/"], **_known())
    assert gzip.decompress(Path(path).read_bytes()) == gzip.decompress((MNIST_DIR / LABELS).read_bytes())


def test_plain_sha256_only_and_size_limit(server, tmp_path):
    with pytest.raises(DownloadError, match="SHA-256 mismatch"):
        download_url(LABELS, tmp_path, [f"{server}/recompressed/"], sha256=MNIST.resources[LABELS]["sha256"],
                     quiet=True)
    with pytest.raises(DownloadError, match="more than the 100 "):
        download_url(LABELS, tmp_path, [f"{server}/good/"], max_bytes=100, **_known())
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match="unverified"):
        download_url(LABELS, tmp_path, [f"{server}/good/"])


def test_mnist_download_true(server, tmp_path, monkeypatch):
    monkeypatch.setattr(MNIST, "mirrors", (f"{server}/drop/", f"{server}/good/"))
    ds = MNIST(root=tmp_path, train=False, download=True)
    assert len(ds) == 10000 and ds.folder == tmp_path / "mnist"
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(MNIST.resources)
    # present files are not fetched again: with no working mirror it still loads
    monkeypatch.setattr(MNIST, "mirrors", (f"{server}/nothere/",))
    assert len(MNIST(root=tmp_path, train=True, download=True)) == 60000
