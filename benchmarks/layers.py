"""Forward + backward time of single layers at MNIST and CIFAR sizes: ember beside PyTorch CPU
with the same thread count, measured in one run, rounds interleaved.

``python -m benchmarks.layers [--repeat N] [--only conv pool ...]`` prints a Markdown table
(ember ms, torch ms, ratio) per layer group and records each group in
benchmarks/results/layers_<group>.json and .md. Each time is the minimum
over ``repeat`` interleaved rounds: on a shared machine the minimum tracks the code, the
median the neighbours. A first conv layer's input needs no gradient, as in a real network.
For a one-thread comparison: ``EMBER_THREADS=1 OPENBLAS_NUM_THREADS=1 python -m benchmarks.layers``.
"""
import argparse
import os

import numpy as np

from benchmarks.common import loadavg, min_interleaved, ratio, table, threads, try_torch

# (group, label, layer constructor args, input shape, input needs grad)
CASES = [
    ("conv", "MNIST Conv2d(1, 32, 3)", ("Conv2d", (1, 32, 3), {}), (128, 1, 28, 28), False),
    ("conv", "MNIST Conv2d(32, 64, 3)", ("Conv2d", (32, 64, 3), {}), (128, 32, 13, 13), True),
    ("pool", "MNIST MaxPool2d(2)", ("MaxPool2d", (2,), {}), (128, 32, 26, 26), True),
    ("pool", "MNIST MaxPool2d(2)", ("MaxPool2d", (2,), {}), (128, 64, 11, 11), True),
    ("pool", "MNIST AvgPool2d(2)", ("AvgPool2d", (2,), {}), (128, 32, 26, 26), True),
    ("pool", "MNIST AvgPool2d(2)", ("AvgPool2d", (2,), {}), (128, 64, 11, 11), True),
    ("linear", "MNIST Linear(1600, 10)", ("Linear", (1600, 10), {}), (128, 1600), True),
    ("linear", "MNIST Linear(784, 256)", ("Linear", (784, 256), {}), (128, 784), False),
    ("conv", "CIFAR Conv2d(3, 32, 3, padding=1)", ("Conv2d", (3, 32, 3), dict(padding=1)), (64, 3, 32, 32), False),
    ("conv", "CIFAR Conv2d(32, 64, 3, padding=1)", ("Conv2d", (32, 64, 3), dict(padding=1)), (64, 32, 16, 16), True),
    ("conv", "CIFAR Conv2d(64, 128, 3, padding=1)", ("Conv2d", (64, 128, 3), dict(padding=1)), (64, 64, 8, 8), True),
    ("norm", "CIFAR BatchNorm2d(32)", ("BatchNorm2d", (32,), {}), (64, 32, 32, 32), True),
    ("norm", "CIFAR BatchNorm2d(64)", ("BatchNorm2d", (64,), {}), (64, 64, 16, 16), True),
    ("pool", "CIFAR MaxPool2d(2)", ("MaxPool2d", (2,), {}), (64, 32, 32, 32), True),
    ("pool", "CIFAR MaxPool2d(2)", ("MaxPool2d", (2,), {}), (64, 64, 16, 16), True),
    ("pool", "CIFAR AvgPool2d(2)", ("AvgPool2d", (2,), {}), (64, 32, 32, 32), True),
    # the GPT recipe's MLP activation (batch 12, context 64, 4 x 128 features): the exact form is
    # torch.nn.GELU's default, the tanh form GPT-2's
    ("activation", "GPT GELU()", ("GELU", (), {}), (12, 64, 512), True),
    ("activation", "GPT GELU(approximate='tanh')", ("GELU", (), dict(approximate="tanh")), (12, 64, 512), True),
    ("norm", "GPT LayerNorm(128)", ("LayerNorm", (128,), {}), (12, 64, 128), True),
]


def _ember_step(name, args, kw, x, g, needs_grad):
    import ember
    from ember import nn

    if not hasattr(nn, name):
        return None
    layer = getattr(nn, name)(*args, **kw)
    params = list(layer.parameters())
    xt = ember.tensor(x, requires_grad=needs_grad)

    def step():
        for p in params:
            p.grad = None
        xt.grad = None
        layer(xt).backward(g)

    return step


def _torch_step(torch, name, args, kw, x, g, needs_grad):
    layer = getattr(torch.nn, name)(*args, **kw)
    params = list(layer.parameters())
    xt = torch.tensor(x, requires_grad=needs_grad)
    gt = torch.tensor(g)

    def step():
        for p in params:
            p.grad = None
        xt.grad = None
        layer(xt).backward(gt)

    return step


def _output_shape(name, args, kw, x):
    from ember import nn

    import ember

    with ember.no_grad():
        return getattr(nn, name)(*args, **kw)(x).shape


GROUPS = ("conv", "pool", "norm", "linear", "activation")  # one record file each: layers_conv.json, ...


def run(group, repeat=15, torch=None):
    """The cases of one group: (results, Markdown)."""
    rng = np.random.default_rng(0)
    rows, results = [], []
    for g_, label, (name, args, kw), shape, needs_grad in CASES:
        if g_ != group:
            continue
        x = rng.standard_normal(shape).astype(np.float32)
        try:
            out = _output_shape(name, args, kw, x)
        except AttributeError:
            rows.append([label, str(shape), "not in ember.nn yet", "-", "-"])
            continue
        g = rng.standard_normal(out).astype(np.float32)
        fns = [_ember_step(name, args, kw, x, g, needs_grad)]
        if torch is not None:
            fns.append(_torch_step(torch, name, args, kw, x, g, needs_grad))
        times = min_interleaved(fns, repeat, warmup=2)
        e = times[0] * 1e3
        t = times[1] * 1e3 if torch is not None else None
        rows.append([label, "x".join(map(str, shape)), f"{e:.2f}", f"{t:.2f}" if t else "-", ratio(e, t) if t else "-"])
        results.append({"layer": label, "input": shape, "ember_ms": e, "torch_ms": t})
    n, cores, load = threads(), os.cpu_count() or 1, loadavg()
    note = (f"Forward + backward, float32, minimum of {repeat} interleaved rounds; {n} threads "
            f"(BLAS and torch.set_num_threads), load average {load} on {cores} cores. "
            + ("" if torch is not None else "PyTorch not installed: ember only. ")
            + "Ratio = ember / torch (below 1: ember is faster).")
    if n > 1 and load > 0.5 * cores:
        note += (" The machine was busy: with more threads than idle cores, either framework's threads "
                 "wait for each other and these timings mostly measure the neighbours.")
    md = table(f"Layers ({group}): ember vs PyTorch CPU", ["layer", "input", "ember ms", "torch ms", "ratio"], rows,
               note)
    return results, md


def main(argv=None):
    from benchmarks import record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15, help="interleaved rounds per layer (default 15)")
    ap.add_argument("--only", nargs="*", choices=GROUPS, help="layer groups to run")
    ap.add_argument("--no-save", action="store_true", help="print only, write nothing")
    record.add_out(ap)
    a = ap.parse_args(argv)
    torch = try_torch()
    for group in a.only or GROUPS:
        if a.no_save:
            print(run(group, a.repeat, torch)[1])
        else:
            record.measure(f"layers_{group}", lambda group=group: run(group, a.repeat, torch), out=a.out)


if __name__ == "__main__":
    main()
