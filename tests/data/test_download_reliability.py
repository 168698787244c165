"""Downloads against hostile 127.0.0.1 servers: a body trickled a byte at a time, a body that
never ends, a redirect loop, and the partial files a killed download leaves behind.

Every server here gives up on its own after a few seconds, so a regression fails instead of
hanging the suite."""
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hostile_http import BODY, GZ, dead_pid, server  # noqa: F401  (server: the fixture)

import ember.cli
from ember.data import DownloadError, download, download_url
from ember.datasets import MNIST

NAME = "data.bin"
SHA = hashlib.sha256(BODY).hexdigest()
REPO = Path(__file__).resolve().parents[2]


# ----- a wall-clock deadline per file -----
def test_trickling_body_gives_up_at_the_deadline(server, tmp_path):
    t0 = time.monotonic()
    with pytest.raises(DownloadError) as e:
        download_url(NAME, tmp_path, [f"{server}/trickle/"], sha256=(SHA,), quiet=True, deadline=1)
    assert time.monotonic() - t0 < 4
    msg = str(e.value)
    assert f"{server}/trickle/{NAME}" in msg and "deadline of 1 s" in msg
    assert " of 100,000 bytes" in msg  # what had arrived, of what was announced
    assert list(tmp_path.iterdir()) == []


def test_trickling_mirror_falls_back_to_the_next(server, tmp_path):
    path = download_url(NAME, tmp_path, [f"{server}/trickle/", f"{server}/good/"], sha256=(SHA,), quiet=True,
                        deadline=1)
    assert Path(path).read_bytes() == BODY
    assert [p.name for p in tmp_path.iterdir()] == [NAME]


def test_trickling_headers_and_the_environment_variable(server, tmp_path, monkeypatch):
    monkeypatch.setenv("EMBER_DOWNLOAD_DEADLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match="deadline of 1 s"):
        download_url(NAME, tmp_path, [f"{server}/slowheaders/"], sha256=(SHA,), quiet=True)
    assert time.monotonic() - t0 < 4
    monkeypatch.setenv("EMBER_DOWNLOAD_DEADLINE", "soon")
    with pytest.raises(ValueError, match="EMBER_DOWNLOAD_DEADLINE.*'soon'"):
        download_url(NAME, tmp_path, [f"{server}/good/"], sha256=(SHA,), quiet=True)
    with pytest.raises(ValueError, match="deadline"):
        download_url(NAME, tmp_path, [f"{server}/good/"], sha256=(SHA,), quiet=True, deadline=0)


def test_default_deadline_follows_the_expected_size():
    assert download._default_deadline(1000) == 60
    assert download._default_deadline(50_000_000) == 1000  # 50 kB/s


# ----- a size limit by default -----
def test_endless_body_stops_at_the_expected_size(server, tmp_path):
    gz = NAME + ".gz"
    with pytest.raises(DownloadError) as e:
        download_url(gz, tmp_path, [f"{server}/endless/"], content_sha256=SHA, content_size=len(BODY), quiet=True)
    limit = download._expected_max_bytes(len(BODY))
    assert len(BODY) < limit < 2 * len(BODY)
    assert f"{server}/endless/{gz}: " in str(e.value) and f"more than the {limit:,} bytes" in str(e.value)
    assert list(tmp_path.iterdir()) == []
    # the same limit lets the real file through
    assert Path(download_url(gz, tmp_path, [f"{server}/good/"], content_sha256=SHA, content_size=len(BODY),
                             quiet=True)).read_bytes() == GZ


def test_endless_body_stops_at_the_stated_cap(server, tmp_path, monkeypatch):
    assert download.MAX_BYTES_DEFAULT == 1 << 30
    monkeypatch.setattr(download, "MAX_BYTES_DEFAULT", 1 << 20)
    with pytest.raises(DownloadError, match=r"endless/data.bin: .*more than the 1,048,576 bytes"):
        download_url(NAME, tmp_path, [f"{server}/endless/"], sha256=(SHA,), quiet=True)
    assert list(tmp_path.iterdir()) == []


# ----- partial files of killed downloads -----
def test_stale_partial_files_of_dead_processes_are_removed(server, tmp_path):
    stale = tmp_path / f".{NAME}.{dead_pid()}-0a1b2c3d.part"
    live = tmp_path / f".{NAME}.{os.getpid()}-0a1b2c3d.part"
    stale.write_bytes(b"half")
    live.write_bytes(b"half")
    download_url(NAME, tmp_path, [f"{server}/good/"], sha256=(SHA,), quiet=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([NAME, live.name])


def test_a_killed_download_is_cleaned_by_the_next(server, tmp_path):
    code = (f"from ember.data import download_url; download_url({NAME!r}, {str(tmp_path)!r}, "
            f"[{server + '/trickle/'!r}], sha256=({SHA!r},), quiet=True, deadline=30)")
    p = subprocess.Popen([sys.executable, "-c", code], cwd=REPO)
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
    assert len(parts) == 1 and parts[0].startswith(f".{NAME}.{p.pid}-") and parts[0].endswith(".part")
    download_url(NAME, tmp_path, [f"{server}/good/"], sha256=(SHA,), quiet=True)
    assert [q.name for q in tmp_path.iterdir()] == [NAME]


# ----- redirect loops -----
def test_redirect_loop_is_one_line_naming_the_url(server, tmp_path):
    loop, ping = f"{server}/loop/{NAME}", f"{server}/ping/{NAME}"
    with pytest.raises(DownloadError) as e:
        download_url(NAME, tmp_path, [f"{server}/loop/"], sha256=(SHA,), quiet=True)
    msg = str(e.value)
    assert len(msg.splitlines()) == 1, msg
    assert loop in msg and f"redirect loop: {loop} -> {loop}" in msg and not msg.endswith("Found")
    with pytest.raises(DownloadError) as e:
        download_url(NAME, tmp_path, [f"{server}/loop/", f"{server}/ping/"], sha256=(SHA,), quiet=True)
    lines = str(e.value).splitlines()
    assert len(lines) == 3, lines
    assert lines[2].startswith(f"  {ping}: ") and f"{ping} -> {server}/pong/{NAME} -> {ping}" in lines[2]
    assert list(tmp_path.iterdir()) == []


def test_cli_download_error_is_one_line(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(MNIST, "mirrors", (f"{server}/loop/",))
    rc = ember.cli.main(["train", "--download", "--data-dir", str(tmp_path), "--out", str(tmp_path / "run"),
                         "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1
    errors = [line for line in err.splitlines() if not line.startswith("ember: downloading ")]
    assert len(errors) == 1 and errors[0].startswith("ember: error: ") and "redirect loop" in errors[0], err
    assert f"{server}/loop/train-images-idx3-ubyte.gz" in errors[0]
