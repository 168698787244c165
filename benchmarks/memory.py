"""Peak memory of one training epoch, each contender in a fresh process.

The data set is loaded first; on Linux the process's peak RSS is then reset (``5`` written to
``/proc/self/clear_refs``), so the peak counts the resident data and libraries plus what
training itself allocates, and the growth counts training alone. Where the reset is not
available the peak is the process's lifetime peak (``ru_maxrss``), data loading included.

    python -m benchmarks.memory [--quick] [--out DIR]    (or python -m benchmarks --only memory)
"""
import gc
import os
import subprocess
import sys

SCRIPT = r"""
import gc, resource, sys
sys.path.insert(0, {root!r})
from benchmarks import memory, suite
kind, who = sys.argv[1], sys.argv[2]
x, y = suite.mnist({n})
if who == "torch":
    import torch
    torch.set_num_threads({threads})
gc.collect()
reset = memory.reset_peak()
base = memory.status("VmRSS")
if who == "ember":
    suite.ember_epoch(suite.ember_mlp() if kind == "mlp" else suite.ember_cnn(), x, y)
elif who == "numpy":
    m = suite.ref.MLP() if kind == "mlp" else suite.ref.CNN()
    suite.numpy_epoch(m, x.reshape(len(x), -1) if kind == "mlp" else x, y)
else:
    suite.torch_epoch(torch, suite.torch_model(torch, kind), x, y)
peak = memory.status("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(peak, peak - base, int(reset))
"""


def status(field):
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def reset_peak():
    """Reset this process's peak RSS (Linux 4.0+); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(kind, who, n, threads):
    """(peak MB, growth MB, whether the peak was reset after loading) of one epoch, or None."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = SCRIPT.format(root=root, n=n, threads=threads)
    r = subprocess.run([sys.executable, "-c", code, kind, who], capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stderr[-2000:], file=sys.stderr)
        return None
    peak, growth, reset = r.stdout.split()[-3:]
    return {"peak_mb": float(peak), "training_mb": float(growth), "reset_after_load": bool(int(reset))}


def run(quick=False, with_torch=True, threads=1):
    out = {}
    for kind, n in (("mlp", 10000 if quick else 60000), ("cnn", 2560)):
        whos = ("ember", "numpy") + (("torch",) if with_torch else ())
        out[kind] = {who: measure(kind, who, n, threads) for who in whos}
        gc.collect()
    return out


def markdown(res):
    from benchmarks.common import ratio, table

    rows = []
    for kind, row in res.items():
        e, n_, t = row.get("ember"), row.get("numpy"), row.get("torch")

        def fmt(d):
            return f"{d['peak_mb']:.0f} (+{d['training_mb']:.0f})" if d else "-"

        rows.append([kind, fmt(e), fmt(n_), fmt(t), ratio(e and e["peak_mb"], n_ and n_["peak_mb"]),
                     ratio(e and max(e["training_mb"], 1), n_ and max(n_["training_mb"], 1))])
    reset = all(d["reset_after_load"] for row in res.values() for d in row.values() if d)
    note = ("Peak RSS during the epoch, data set and libraries included (in brackets: growth over the RSS "
            "before training). " + ("" if reset else "Peak not reset after loading: data loading included. ")
            + "PyTorch's peak includes its ~300 MB of libraries.")
    return table("Peak memory (RSS) while training one epoch / slice (MB)",
                 ["model", "ember", "NumPy", "PyTorch", "ember / NumPy peak", "ember / NumPy growth"], rows, note)


def main(argv=None):
    import argparse

    from benchmarks import record
    from benchmarks.common import threads as _threads
    from benchmarks.common import try_torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 10,000-sample MLP epoch")
    record.add_out(ap)
    a = ap.parse_args(argv)

    def fn():
        res = run(a.quick, with_torch=try_torch() is not None, threads=_threads())
        return res, markdown(res)

    record.measure("memory", fn, out=a.out, quick=a.quick)  # the suite's "memory" workload, the same file


if __name__ == "__main__":
    main()
