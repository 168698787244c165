"""Autograd per-op overhead on tiny tensors: 1,000 chained ``x = x * b + c`` on 16 elements,
forward and backward, ember beside PyTorch CPU in one run.

The two libraries take turns round by round and each keeps its fastest round: on a shared
machine the minimum tracks the code, the median the neighbours.

    python -m benchmarks.autograd_overhead [--out DIR]    (or python -m benchmarks --only overhead)
"""
import time

from benchmarks.common import table, try_torch

N_OPS = 1000  # chained a*b + c steps: 2,000 recorded ops


def _round(randn):
    """(forward, backward) seconds for one chain of 2 * N_OPS ops."""
    a = randn(16, requires_grad=True)
    b = randn(16) * 0.01 + 1  # near 1: no overflow over 1,000 steps
    c = randn(16) * 0.01
    t0 = time.perf_counter()
    x = a
    for _ in range(N_OPS):
        x = x * b + c
    s = x.sum()
    t1 = time.perf_counter()
    s.backward()
    return t1 - t0, time.perf_counter() - t1


def run(repeat=40):
    import ember

    torch = try_torch()
    libs = {"ember": ember.randn} if torch is None else {"ember": ember.randn, "torch": torch.randn}
    best = {name: [float("inf"), float("inf")] for name in libs}
    for _ in range(repeat + 1):  # the first round warms up
        for name, randn in libs.items():
            f, b = _round(randn)
            best[name] = [min(best[name][0], f), min(best[name][1], b)]
    us = {name: [t / (2 * N_OPS) * 1e6 for t in v] for name, v in best.items()}
    results = {name: {"forward_us_per_op": v[0], "backward_us_per_op": v[1]} for name, v in us.items()}
    rows = []
    for i, label in enumerate(["forward, us/op", "backward, us/op"]):
        e = us["ember"][i]
        if torch is None:
            rows.append([label, f"{e:.2f}", "-", "-"])
        else:
            t = us["torch"][i]
            rows.append([label, f"{e:.2f}", f"{t:.2f}", f"{e / t:.2f}x"])
    md = table(
        f"Autograd per-op overhead ({N_OPS} x `x * b + c` on 16 floats, fastest of {repeat} rounds)",
        ["", "ember", "PyTorch", "ember / PyTorch"],
        rows,
        "" if torch is not None else "PyTorch not installed: ember only.",
    )
    return results, md


def main(argv=None):
    import argparse

    from benchmarks import record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    record.add_out(ap)
    a = ap.parse_args(argv)
    record.measure("overhead", run, out=a.out)  # the suite's "overhead" workload, the same file


if __name__ == "__main__":
    main()
