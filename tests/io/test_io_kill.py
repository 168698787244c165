"""A writer killed with SIGKILL at random moments of repeated saves leaves a file that loads.

A child process saves a 32 MB state dict to one path over and over, alternating two contents
(every array and the step counter differ between them); the parent kills it at a random moment,
then loads the file and checks that it is exactly one of the two, consistent throughout.
"""
import contextlib
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import ember

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL is POSIX")

N_ARRAYS, SIZE = 8, 1 << 20  # 8 float32 arrays of 4 MiB each

# One helper process (started once, single-threaded, so fork is safe) forks a writer per trial;
# the test kills the writer, the helper reaps it. Forking skips Python's startup each time.
HELPER = f"""
import os, sys, time
import numpy as np
import ember
path = sys.argv[1]
base = [np.arange({SIZE}, dtype=np.float32) * (i + 1) for i in range({N_ARRAYS})]
states = [{{"model": {{f"layer{{i}}.weight": b + step for i, b in enumerate(base)}},
            "optimizer": {{"step": step, "param_groups": [{{"lr": 0.1, "params": list(range({N_ARRAYS}))}}]}}}}
          for step in (1, 2)]
ember.save(states[0], path)
for line in sys.stdin:
    pid = os.fork()
    if pid == 0:  # the writer: save until killed (or, should the test die, for 60 s at most)
        k, end = int(line), time.monotonic() + 60
        while time.monotonic() < end:
            ember.save(states[k % 2], path)
            k += 1
        os._exit(0)
    print(pid, flush=True)
    os.waitpid(pid, 0)
    print("reaped", flush=True)
"""


def check_consistent(obj, base):
    step = obj["optimizer"]["step"]
    assert step in (1, 2)
    assert obj["optimizer"]["param_groups"] == [{"lr": 0.1, "params": list(range(N_ARRAYS))}]
    model = obj["model"]
    assert list(model) == [f"layer{i}.weight" for i in range(N_ARRAYS)]
    for i, w in enumerate(model.values()):
        # every array belongs to the same save as the step counter
        assert w.dtype == np.float32 and np.array_equal(w, base[i] + step), f"layer{i} is torn"


@pytest.mark.parametrize("ext", [".npz", ".safetensors"])
def test_kill_9_during_repeated_saves(tmp_path, ext, kills=12):
    path = tmp_path / f"ckpt{ext}"
    rng = np.random.default_rng(0)
    base = [np.arange(SIZE, dtype=np.float32) * (i + 1) for i in range(N_ARRAYS)]
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    helper = subprocess.Popen([sys.executable, "-c", HELPER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env, text=True)
    temps_seen, writer = 0, None
    try:
        for trial in range(kills):
            helper.stdin.write(f"{trial}\n")
            helper.stdin.flush()
            writer = int(helper.stdout.readline())
            if trial % 2:  # any moment of its loop
                time.sleep(rng.uniform(0.0, 0.4))
            else:  # surely inside a write: soon after this writer's temporary file appears
                deadline = time.monotonic() + 30
                while not any(f".tmp-{writer}-" in p.name for p in tmp_path.iterdir()):
                    assert time.monotonic() < deadline, "the writer never started a save"
                    time.sleep(0.001)
                time.sleep(rng.uniform(0.0, 0.02))
            os.kill(writer, signal.SIGKILL)
            assert helper.stdout.readline() == "reaped\n"
            killed, writer = writer, None
            temps = [p.name for p in tmp_path.iterdir() if p != path]
            for name in temps:  # leftovers of the killed writer, named so that they can be ignored
                assert re.fullmatch(re.escape(f".{path.name}.tmp-") + r"\d+-[0-9a-f]{8}", name), name
            temps_seen += any(f".tmp-{killed}-" in name for name in temps)
            check_consistent(ember.load(path), base)
    finally:
        if writer is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(writer, signal.SIGKILL)
        helper.kill()
        helper.communicate()
    # half the kills wait for a temporary file, so some must have landed inside a save
    assert temps_seen > 0, "no kill interrupted a save: the test proved nothing"
    ember.save({"done": np.ones(1)}, path)  # the next save removes dead writers' temporary files
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
