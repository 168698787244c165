"""ember.vision's downloader (torchvision's ``download_url``) against hostile 127.0.0.1 servers:
a body trickled a byte at a time, a body that never ends, redirect loops and chains, and the
partial files a killed download leaves behind.

Every server here gives up on its own after a few seconds, so a regression fails instead of
hanging the suite."""
import gzip
import hashlib
import inspect
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_http import BODY, dead_pid, server  # noqa: F401  (server: the fixture)

import ember.vision.datasets as D
from ember.data import download
from ember.vision.datasets.utils import download_url, extract_archive

NAME = "data.bin"
MD5 = hashlib.md5(BODY).hexdigest()
REPO = Path(__file__).resolve().parents[2]


def test_signature_is_torchvisions():
    names = list(inspect.signature(download_url).parameters)
    assert names[:5] == ["url", "root", "filename", "md5", "max_redirect_hops"]
    assert inspect.signature(download_url).parameters["max_redirect_hops"].default == 3


# ----- a wall-clock deadline per file -----
def test_trickling_server_gives_up_at_the_deadline(server, tmp_path):
    url = f"{server}/trickle/{NAME}"
    t0 = time.monotonic()
    with pytest.raises(TimeoutError) as e:
        download_url(url, tmp_path, md5=MD5, quiet=True, deadline=1)
    assert time.monotonic() - t0 < 4
    msg = str(e.value)
    assert url in msg and "deadline of 1 s" in msg and " of 100,000 bytes" in msg, msg
    assert list(tmp_path.iterdir()) == []


def test_trickling_mnist_mirror_gives_up_by_the_environment_variable(server, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_DOWNLOAD_DEADLINE", "1")
    monkeypatch.setattr(D.MNIST, "mirrors", [f"{server}/trickle/"])
    monkeypatch.setattr(D.MNIST, "resources", [("train-images-idx3-ubyte.gz", MD5)])
    t0 = time.monotonic()
    with pytest.raises(RuntimeError, match=r"(?s)Error downloading train-images-idx3-ubyte.gz:\nTried .*"
                                           r"deadline of 1 s exceeded"):
        D.MNIST(tmp_path, download=True)
    assert time.monotonic() - t0 < 4
    assert list((tmp_path / "MNIST" / "raw").iterdir()) == []
    monkeypatch.setenv("EMBER_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ValueError, match="EMBER_DOWNLOAD_DEADLINE.*'soon'"):
        download_url(f"{server}/good/{NAME}", tmp_path, md5=MD5, quiet=True)


# ----- a size limit by default -----
def test_endless_body_stops_at_the_stated_cap(server, tmp_path, monkeypatch):
    url = f"{server}/endless/{NAME}"
    monkeypatch.setattr(download, "MAX_BYTES_DEFAULT", 1 << 20)
    with pytest.raises(RuntimeError, match=rf"{url}: the server sent more than the 1,048,576 bytes expected"):
        download_url(url, tmp_path, md5=MD5, quiet=True)
    assert list(tmp_path.iterdir()) == []
    # an explicit max_bytes wins; math.inf lifts the limit (the 8 MiB then fail the MD5 check)
    with pytest.raises(RuntimeError, match="more than the 1,000 bytes"):
        download_url(url, tmp_path, md5=MD5, quiet=True, max_bytes=1000)
    with pytest.raises(RuntimeError,
                       match=rf"^File not found or corrupted\. {url}: expected MD5 {MD5}, got [0-9a-f]{{32}}$"):
        download_url(url, tmp_path, md5=MD5, quiet=True, max_bytes=math.inf)
    assert list(tmp_path.iterdir()) == []


# ----- partial files of killed downloads -----
def test_stale_partial_files_of_dead_processes_are_removed(server, tmp_path):
    stale = tmp_path / f".{NAME}.{dead_pid()}-0a1b2c3d.part"
    live = tmp_path / f".{NAME}.{os.getpid()}-0a1b2c3d.part"
    other = tmp_path / f".other.bin.{dead_pid()}-0a1b2c3d.part"  # another file's: not ours to judge
    for p in (stale, live, other):
        p.write_bytes(b"half")
    path = download_url(f"{server}/good/{NAME}", tmp_path, md5=MD5, quiet=True)
    assert Path(path).read_bytes() == BODY
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([NAME, live.name, other.name])


def test_a_killed_download_is_cleaned_by_the_next(server, tmp_path):
    code = (f"from ember.vision.datasets.utils import download_url; "
            f"download_url({server + '/trickle/' + NAME!r}, {str(tmp_path)!r}, md5={MD5!r}, quiet=True)")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        for _ in range(200):
            parts = [q.name for q in tmp_path.iterdir()]
            if parts:
                break
            time.sleep(0.05)
        time.sleep(0.2)  # a few bytes in
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    assert len(parts) == 1 and parts[0].startswith(f".{NAME}.{p.pid}-") and parts[0].endswith(".part"), parts
    download_url(f"{server}/good/{NAME}", tmp_path, md5=MD5, quiet=True)
    assert [q.name for q in tmp_path.iterdir()] == [NAME]


def test_extracting_a_gz_cleans_its_dead_writers_temporaries(tmp_path):
    gz = tmp_path / f"{NAME}.gz"
    gz.write_bytes(gzip.compress(BODY, mtime=0))
    out = tmp_path / "out"
    out.mkdir()
    stale = out / f".{NAME}.tmp-{dead_pid()}-0a1b2c3d"
    stale.write_bytes(b"half")
    extract_archive(str(gz), str(out))
    assert [p.name for p in out.iterdir()] == [NAME]
    assert (out / NAME).read_bytes() == BODY


# ----- redirects -----
def test_redirect_loop_is_one_line_naming_the_url(server, tmp_path):
    loop, ping, pong = (f"{server}/{k}/{NAME}" for k in ("loop", "ping", "pong"))
    with pytest.raises(OSError) as e:
        download_url(loop, tmp_path, md5=MD5, quiet=True)
    msg = str(e.value)
    assert len(msg.splitlines()) == 1, msg
    assert f"redirect loop: {loop} -> {loop}" in msg and not msg.endswith("Found"), msg
    with pytest.raises(OSError) as e:
        download_url(ping, tmp_path, md5=MD5, quiet=True)
    msg = str(e.value)
    assert len(msg.splitlines()) == 1 and f"redirect loop: {ping} -> {pong} -> {ping}" in msg, msg
    assert list(tmp_path.iterdir()) == []


def test_redirect_loop_in_mnist_is_one_line_per_mirror(server, tmp_path, monkeypatch):
    monkeypatch.setattr(D.MNIST, "mirrors", [f"{server}/loop/", f"{server}/ping/"])
    monkeypatch.setattr(D.MNIST, "resources", [("train-images-idx3-ubyte.gz", MD5)])
    with pytest.raises(RuntimeError) as e:
        D.MNIST(tmp_path, download=True)
    lines = str(e.value).splitlines()
    # torchvision's layout: a title, then "Tried <mirror>, got:" and the error, for each mirror
    assert len(lines) == 5 and lines[0] == "Error downloading train-images-idx3-ubyte.gz:", lines
    assert "redirect loop" in lines[2] and "redirect loop" in lines[4], lines


def test_max_redirect_hops(server, tmp_path):
    path = download_url(f"{server}/hop3/{NAME}", tmp_path, md5=MD5, quiet=True)  # 3 hops: allowed
    assert Path(path).read_bytes() == BODY
    os.unlink(path)
    url = f"{server}/hop4/{NAME}"
    with pytest.raises(RecursionError, match=rf"^Request to {url} exceeded 3 redirects\. The last redirect "
                                             rf"points to {server}/good/{NAME}\.$"):
        download_url(url, tmp_path, md5=MD5, quiet=True)
    with pytest.raises(RecursionError, match="exceeded 0 redirects"):
        download_url(f"{server}/hop1/{NAME}", tmp_path, None, MD5, 0, quiet=True)  # torchvision's order
    assert list(tmp_path.iterdir()) == []


def test_a_zip_member_that_fails_midway_leaves_no_torn_file(tmp_path):
    # each member goes through atomic_write: a CRC failure halfway leaves no partial file
    import zipfile

    from ember.vision.datasets.utils import extract_archive

    good = tmp_path / "a.zip"
    with zipfile.ZipFile(good, "w", zipfile.ZIP_STORED) as z:
        z.writestr("ok.txt", b"fine")
        z.writestr("data.bin", BODY)
    raw = bytearray(good.read_bytes())
    at = raw.index(BODY) + len(BODY) // 2
    raw[at] ^= 0xFF  # the stored bytes no longer match the member's CRC
    bad = tmp_path / "b.zip"
    bad.write_bytes(bytes(raw))
    out = tmp_path / "out"
    with pytest.raises(zipfile.BadZipFile):
        extract_archive(bad, out)
    assert sorted(f.name for f in out.iterdir()) == ["ok.txt"]
    assert extract_archive(good, out) == str(out)
    assert (out / "data.bin").read_bytes() == BODY
