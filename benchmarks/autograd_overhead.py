"""Autograd per-op overhead on tiny tensors: 1,000 chained ``x = x * b + c`` on 16 elements,
forward and backward, ember beside PyTorch CPU in one run.

    python -m benchmarks.autograd_overhead
"""
import numpy as np

from benchmarks.common import table, timeit, try_torch

N_OPS = 1000  # chained a*b + c steps: 2,000 recorded ops


def _chain(lib, randn, requires_grad):
    a = randn(16, requires_grad=requires_grad)
    b = randn(16) * 0.01 + 1  # near 1: no overflow over 1,000 steps
    c = randn(16) * 0.01
    return a, b, c


def _measure(lib, randn, repeat):
    def fwd():
        a, b, c = state
        x = a
        for _ in range(N_OPS):
            x = x * b + c
        return x.sum()

    state = _chain(lib, randn, True)
    t_fwd = timeit(fwd, repeat=repeat)

    def fwd_bwd():
        fwd().backward()

    t_both = timeit(fwd_bwd, repeat=repeat)
    n = 2 * N_OPS
    return t_fwd / n * 1e6, (t_both - t_fwd) / n * 1e6


def run(repeat=15):
    import ember

    rows, results = [], {}
    e_f, e_b = _measure(ember, ember.randn, repeat)
    results["ember"] = {"forward_us_per_op": e_f, "backward_us_per_op": e_b}
    torch = try_torch()
    if torch is not None:
        t_f, t_b = _measure(torch, torch.randn, repeat)
        results["torch"] = {"forward_us_per_op": t_f, "backward_us_per_op": t_b}
        rows.append(["forward, us/op", f"{e_f:.2f}", f"{t_f:.2f}", f"{e_f / t_f:.2f}x"])
        rows.append(["backward, us/op", f"{e_b:.2f}", f"{t_b:.2f}", f"{e_b / t_b:.2f}x"])
        note = ""
    else:
        rows.append(["forward, us/op", f"{e_f:.2f}", "-", "-"])
        rows.append(["backward, us/op", f"{e_b:.2f}", "-", "-"])
        note = "PyTorch not installed: ember only."
    md = table(
        f"Autograd per-op overhead ({N_OPS} x `x * b + c` on 16 floats)",
        ["", "ember", "PyTorch", "ember / PyTorch"],
        rows,
        note,
    )
    return results, md


if __name__ == "__main__":
    from benchmarks.common import save

    res, md = run()
    print(md)
    save("autograd_overhead", res, md)
