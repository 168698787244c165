"""Indexing, selection, scans and einsum at realistic sizes, forward + backward: ember beside
PyTorch CPU with the same thread count, in one run, rounds interleaved (issue #21's speed list).

    python -m benchmarks.indexing [--quick] [--repeat N]    (or python -m benchmarks --only indexing)

Each case is written once, for a library ``lib`` (ember or torch: the same API), so both run
the same lines. Prints a Markdown table (ember ms, torch ms, ratio). ``--quick`` shrinks every
size (a smoke run, not a measurement).
"""
import argparse
import os

import numpy as np

from benchmarks.common import loadavg, min_interleaved, ratio, table, threads, try_torch


def _f(lib):
    return lib.nn.functional


def embedding(lib, rng, s):
    """A (rows, 512) table read at (64, 256) ids, and its backward (the row scatter-add)."""
    w = lib.tensor(rng.standard_normal((s["vocab"], s["dim"])).astype(np.float32), requires_grad=True)
    idx = lib.tensor(rng.integers(0, s["vocab"], (s["batch"], s["seq"])))
    g = lib.tensor(rng.standard_normal((s["batch"], s["seq"], s["dim"])).astype(np.float32))

    def step():
        w.grad = None
        _f(lib).embedding(idx, w).backward(g)
    return step


def gather(lib, rng, s):
    x = lib.tensor(rng.standard_normal((s["batch"], s["vocab"])).astype(np.float32), requires_grad=True)
    idx = lib.tensor(rng.integers(0, s["vocab"], (s["batch"], s["seq"] * 4)))
    g = lib.tensor(rng.standard_normal((s["batch"], s["seq"] * 4)).astype(np.float32))

    def step():
        x.grad = None
        x.gather(1, idx).backward(g)
    return step


def scatter_add(lib, rng, s):
    base = lib.zeros(s["batch"], s["vocab"])
    src = lib.tensor(rng.standard_normal((s["batch"], s["seq"] * 4)).astype(np.float32), requires_grad=True)
    idx = lib.tensor(rng.integers(0, s["vocab"], (s["batch"], s["seq"] * 4)))
    g = lib.tensor(rng.standard_normal((s["batch"], s["vocab"])).astype(np.float32))

    def step():
        src.grad = None
        base.scatter_add(1, idx, src).backward(g)
    return step


def index_add(lib, rng, s):
    x = lib.tensor(rng.standard_normal((s["vocab"], 64)).astype(np.float32), requires_grad=True)
    n = s["batch"] * s["seq"]
    src = lib.tensor(rng.standard_normal((n, 64)).astype(np.float32), requires_grad=True)
    idx = lib.tensor(rng.integers(0, s["vocab"], n))
    g = lib.tensor(rng.standard_normal((s["vocab"], 64)).astype(np.float32))

    def step():
        x.grad = src.grad = None
        x.index_add(0, idx, src).backward(g)
    return step


def masked_fill(lib, rng, s):
    t = s["seq"]
    att = lib.tensor(rng.standard_normal((s["batch"], s["heads"], t, t)).astype(np.float32), requires_grad=True)
    bias = lib.tensor(np.tril(np.ones((t, t), np.float32)).reshape(1, 1, t, t))
    g = lib.tensor(rng.standard_normal((s["batch"], s["heads"], t, t)).astype(np.float32))

    def step():  # causal self-attention as usually written
        att.grad = None
        att.masked_fill(bias[:, :, :t, :t] == 0, float("-inf")).backward(g)
    return step


def topk(lib, rng, s):
    x = lib.tensor(rng.standard_normal((s["batch"], s["vocab"])).astype(np.float32), requires_grad=True)
    g = lib.tensor(rng.standard_normal((s["batch"], 50)).astype(np.float32))

    def step():
        x.grad = None
        x.topk(50, dim=1).values.backward(g)
    return step


def cumsum(lib, rng, s):
    x = lib.tensor(rng.standard_normal((s["batch"], s["vocab"])).astype(np.float32), requires_grad=True)
    g = lib.tensor(rng.standard_normal((s["batch"], s["vocab"])).astype(np.float32))

    def step():
        x.grad = None
        x.cumsum(dim=1).backward(g)
    return step


def einsum(lib, rng, s):
    shape = (s["batch"], s["heads"], s["seq"], 64)
    q = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    k = lib.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
    g = lib.tensor(rng.standard_normal((s["batch"], s["heads"], s["seq"], s["seq"])).astype(np.float32))

    def step():
        q.grad = k.grad = None
        lib.einsum("bhqd,bhkd->bhqk", q, k).backward(g)
    return step


FULL = dict(vocab=50_000, dim=512, batch=64, seq=256, heads=4)
QUICK = dict(vocab=2_000, dim=32, batch=4, seq=32, heads=2)
CASES = [
    ("embedding lookup + backward", "weight {vocab}x{dim}, ids ({batch}, {seq})", embedding),
    ("gather + backward", "({batch}, {vocab}) dim=1, index ({batch}, {seq4})", gather),
    ("scatter_add + backward", "into ({batch}, {vocab}) dim=1, src ({batch}, {seq4})", scatter_add),
    ("index_add + backward", "({vocab}, 64) dim=0, {n} rows", index_add),
    ("masked_fill (causal) + backward", "({batch}, {heads}, {seq}, {seq})", masked_fill),
    ("topk k=50 + backward", "({batch}, {vocab}) dim=1", topk),
    ("cumsum + backward", "({batch}, {vocab}) dim=1", cumsum),
    ("einsum bhqd,bhkd->bhqk + backward", "({batch}, {heads}, {seq}, 64) x2", einsum),
]


def run(quick=False, repeat=None):
    import ember

    torch = try_torch()
    sizes = QUICK if quick else FULL
    repeat = repeat or (1 if quick else 5)
    fmt = dict(sizes, seq4=sizes["seq"] * 4, n=sizes["batch"] * sizes["seq"])
    rows, results = [], {}
    for label, what, case in CASES:
        fns = [case(ember, np.random.default_rng(0), sizes)]
        if torch is not None:
            fns.append(case(torch, np.random.default_rng(0), sizes))
        times = min_interleaved(fns, repeat, warmup=1)
        e = times[0] * 1e3
        t = times[1] * 1e3 if torch is not None else None
        rows.append([label, what.format(**fmt), f"{e:.2f}", f"{t:.2f}" if t else "-", ratio(e, t) if t else "-"])
        results[label] = {"ember_ms": e, "torch_ms": t}
    note = (f"Forward + backward, float32, fastest of {repeat} interleaved rounds; {threads()} threads, load "
            f"average {loadavg()} on {os.cpu_count()} cores. Ratio = ember / torch (below 1: ember is faster)."
            + (" QUICK sizes: a smoke run, not a measurement." if quick else "")
            + ("" if torch is not None else " PyTorch not installed: ember only."))
    return results, table("Indexing, scans and einsum: ember vs PyTorch CPU",
                          ["op", "size", "ember ms", "torch ms", "ratio"], rows, note)


def main(argv=None):
    from benchmarks import record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, one round: a smoke run")
    ap.add_argument("--repeat", type=int, help="interleaved rounds per case (default 5; 1 with --quick)")
    ap.add_argument("--no-save", action="store_true", help="print only, write nothing")
    record.add_out(ap)
    a = ap.parse_args(argv)
    if a.no_save:
        print(run(a.quick, a.repeat)[1])
    else:
        record.measure("indexing", lambda: run(a.quick, a.repeat), out=a.out, quick=a.quick)


if __name__ == "__main__":
    main()
