"""A 127.0.0.1 HTTP server with hostile routes, for the download tests of ember.data and
ember.vision. Every route gives up on its own after ``GIVE_UP_S``, so a regression fails
instead of hanging the suite.

Routes (F is the file name asked for): /good/F: ``BODY`` (gzipped when F ends in .gz);
/trickle/F: announces 100 kB, sends a byte every 20 ms; /slowheaders/F: trickles its header
lines; /endless/F: no length, 64 KiB chunks without end; /loop/F: redirects to itself;
/ping/F -> /pong/F -> /ping/F; /hop<n>/F -> /hop<n-1>/F -> ... -> /good/F (n redirects).
"""
import contextlib
import gzip
import http.server
import subprocess
import sys
import threading
import time

import pytest

BODY = b"ember " * 2000
GZ = gzip.compress(BODY, mtime=0)
GIVE_UP_S = 8  # how long any hostile route keeps going before it hangs up


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_GET(self):
        _, kind, name = self.path.split("/", 2)
        stop = time.monotonic() + GIVE_UP_S
        try:
            if kind == "good":
                body = GZ if name.endswith(".gz") else BODY
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif kind == "trickle":
                self.send_response(200)
                self.send_header("Content-Length", "100000")
                self.end_headers()
                while time.monotonic() < stop:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            elif kind == "slowheaders":
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
                while time.monotonic() < stop:
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.02)
            elif kind == "endless":
                self.send_response(200)
                self.end_headers()
                chunk = b"\0" * (1 << 16)
                for _ in range(128):  # 8 MiB, then it hangs up
                    self.wfile.write(chunk)
            elif kind in ("loop", "ping", "pong") or kind.startswith("hop"):
                if kind.startswith("hop"):
                    n = int(kind[3:])
                    to = f"hop{n - 1}" if n > 1 else "good"
                else:
                    to = {"loop": "loop", "ping": "pong", "pong": "ping"}[kind]
                self.send_response(302)
                self.send_header("Location", f"/{to}/{name}")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)
        except OSError:  # the client gave up: what these tests want
            pass

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve():
    """The server on a free port, as its base URL."""
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.fixture(scope="module")
def server():
    """The hostile server's base URL, for a test module (import this fixture by name)."""
    with serve() as url:
        yield url


def dead_pid():
    """The pid of a process that has exited."""
    p = subprocess.Popen([sys.executable, "-c", ""])
    p.wait()
    return p.pid
