"""The benchmark suite: ember beside PyTorch CPU (same thread count) and beside hand-written
NumPy, as ratios measured in one run. ``python -m benchmarks`` runs it all, prints one Markdown
table per workload and saves JSON + Markdown under benchmarks/results/.

Workloads: (1) MNIST MLP epoch, manual loop and Trainer; (2) the Keras mnist_convnet CNN on a
10k-sample slice; (3) a CIFAR-sized conv net, forward+backward per batch of 64; (4) inference
throughput at batch 1000; (5) autograd per-op overhead; (6) peak memory while training;
(7) the GEMM limit and the MLP epoch as a fraction of it.
"""
import gc
import json
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks import reference_numpy as ref
from benchmarks.common import ratio, table, threads, timeit, try_torch

BATCH = 128


def mnist(n=None):
    from ember.datasets import MNIST

    ds = MNIST(train=True)
    x = np.ascontiguousarray(ds.data[:n], np.float32)
    y = np.asarray(ds.targets[:n], np.int64)
    return x, y


# ----- model builders (same shapes in every framework) -----


def ember_mlp():
    from ember import nn

    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def ember_cnn():
    from ember import nn

    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    )


def ember_cifar():
    from ember import nn

    layers = []
    cin = 3
    for cout in (32, 64, 128):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
        cin = cout
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 16, 10))


def torch_model(torch, kind):
    nn = torch.nn
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
        )
    layers, cin = [], 3
    for cout in (32, 64, 128):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
        cin = cout
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 16, 10))


# ----- training epochs -----


def ember_epoch(model, x, y, trainer=False, seed=0):
    import ember
    from ember import nn, optim
    from ember.data import DataLoader, TensorDataset

    ember.manual_seed(seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    if trainer:
        from ember.train import Trainer

        Trainer(model, opt, loss_fn, progress=False).fit(loader, epochs=1)
    else:
        model.train()
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
    return time.perf_counter() - t0


def torch_epoch(torch, model, x, y, seed=0):
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    perm = torch.randperm(len(xt))
    for i in range(0, len(xt), BATCH):
        idx = perm[i : i + BATCH]
        loss = loss_fn(model(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def numpy_epoch(model, x, y, seed=0):
    perm = np.random.default_rng(seed).permutation(len(x))
    t0 = time.perf_counter()
    for i in range(0, len(x), BATCH):
        idx = perm[i : i + BATCH]
        model.train_step(x[idx], y[idx])
    return time.perf_counter() - t0


def best_of(fn, repeat):
    """The fastest of ``repeat`` runs: epochs are long, so the minimum filters out neighbours."""
    return min(fn() for _ in range(repeat))


def workload_mlp(quick, torch):
    n = 10000 if quick else None
    x, y = mnist(n)
    rep = 1 if quick else 2
    res = {
        "ember manual loop": best_of(lambda: ember_epoch(ember_mlp(), x, y), rep),
        "ember Trainer": best_of(lambda: ember_epoch(ember_mlp(), x, y, trainer=True), rep),
        "hand-written NumPy": best_of(lambda: numpy_epoch(ref.MLP(), x.reshape(len(x), -1), y), rep),
    }
    if torch is not None:
        res["PyTorch"] = best_of(lambda: torch_epoch(torch, torch_model(torch, "mlp"), x, y), rep)
    return res, f"MNIST MLP 784-256-128-10, Adam, batch {BATCH}, {len(x)} samples (seconds per epoch)"


def workload_cnn(quick, torch):
    x, y = mnist(2560 if quick else 10000)
    res = {
        "ember manual loop": ember_epoch(ember_cnn(), x, y),
        "ember Trainer": ember_epoch(ember_cnn(), x, y, trainer=True),
        "hand-written NumPy": numpy_epoch(ref.CNN(), x, y),
    }
    if torch is not None:
        res["PyTorch"] = torch_epoch(torch, torch_model(torch, "cnn"), x, y)
    return res, f"Keras mnist_convnet CNN, Adam, batch {BATCH}, {len(x)}-sample slice (seconds)"


def workload_cifar(quick, torch):
    import ember
    from ember.nn import functional as F

    r = np.random.default_rng(0)
    x = r.standard_normal((64, 3, 32, 32)).astype(np.float32)
    y = r.integers(0, 10, 64)
    m = ember_cifar()

    def step_e():
        m.zero_grad()
        F.cross_entropy(m(x), y).backward()

    res = {"ember": timeit(step_e, repeat=3 if quick else 7)}
    if torch is not None:
        tm = torch_model(torch, "cifar")
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def step_t():
            tm.zero_grad()
            torch.nn.functional.cross_entropy(tm(xt), yt).backward()

        res["PyTorch"] = timeit(step_t, repeat=3 if quick else 7)
    del ember
    return res, "CIFAR-sized conv net (Conv 3x3 32-64-128 + BatchNorm + ReLU + max-pool), forward+backward, batch 64 (seconds per batch)"


def workload_inference(quick, torch):
    import ember

    x, _ = mnist(1000)
    out = {}
    for kind, em, nm in (("mlp", ember_mlp, ref.MLP), ("cnn", ember_cnn, ref.CNN)):
        m = em().eval()

        def fe():
            with ember.no_grad():
                m(x)

        row = {"ember": 1000 / timeit(fe, repeat=5)}
        npm = nm()
        xin = x.reshape(1000, -1) if kind == "mlp" else x
        row["hand-written NumPy"] = 1000 / timeit(lambda: npm.forward(xin), repeat=5)
        if torch is not None:
            tm = torch_model(torch, kind).eval()
            xt = torch.from_numpy(x)

            def ft():
                with torch.no_grad():
                    tm(xt)

            row["PyTorch"] = 1000 / timeit(ft, repeat=5)
        out[kind] = row
    return out, "Inference throughput, batch 1000 (samples per second; higher is better)"


def workload_gemm(quick, mlp_seconds, n_samples):
    """GEMM GFLOP/s at the MLP's shapes, and the epoch's ideal time from them."""
    r = np.random.default_rng(0)
    shapes = []  # (m, k, n) for forward, grad-input and grad-weight of each layer
    for i, o in ((784, 256), (256, 128), (128, 10)):
        shapes += [(BATCH, i, o), (BATCH, o, i), (o, BATCH, i)]
    total_flops, total_time = 0.0, 0.0
    rows = []
    for m, k, n in shapes:
        a = r.standard_normal((m, k)).astype(np.float32)
        b = r.standard_normal((k, n)).astype(np.float32)
        t = timeit(lambda: a @ b, repeat=5, number=50)
        flops = 2.0 * m * k * n
        rows.append({"shape": f"({m}x{k}) @ ({k}x{n})", "gflops": flops / t / 1e9, "us": t * 1e6})
        total_flops += flops
        total_time += t
    steps = -(-n_samples // BATCH)
    ideal = total_time * steps
    return {"gemm": rows, "ideal_epoch_seconds": ideal, "ember_epoch_seconds": mlp_seconds,
            "fraction_of_ideal": ideal / mlp_seconds if mlp_seconds else None}


MEMORY_SCRIPT = r"""
import resource, sys, numpy as np
sys.path.insert(0, {root!r})
from benchmarks import suite
kind, who = sys.argv[1], sys.argv[2]
x, y = suite.mnist({n})
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if who == "ember":
    suite.ember_epoch(suite.ember_mlp() if kind == "mlp" else suite.ember_cnn(), x, y)
elif who == "numpy":
    m = suite.ref.MLP() if kind == "mlp" else suite.ref.CNN()
    suite.numpy_epoch(m, x.reshape(len(x), -1) if kind == "mlp" else x, y)
else:
    import torch
    torch.set_num_threads({threads})
    suite.torch_epoch(torch, suite.torch_model(torch, kind), x, y)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak / 1024, (peak - base) / 1024)
"""


def workload_memory(quick, torch):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = {}
    for kind, n in (("mlp", 10000 if quick else 60000), ("cnn", 2560)):
        row = {}
        for who in ("ember", "numpy") + (("torch",) if torch is not None else ()):
            code = MEMORY_SCRIPT.format(root=root, n=n, threads=threads())
            r = subprocess.run([sys.executable, "-c", code, kind, who], capture_output=True, text=True)
            if r.returncode != 0:
                row[who] = None
                print(r.stderr[-2000:], file=sys.stderr)
                continue
            peak, growth = map(float, r.stdout.split()[-2:])
            row[who] = {"peak_mb": peak, "training_mb": growth}
        out[kind] = row
    return out, "Peak memory (RSS) while training one epoch / slice (MB)"


def _seconds_table(title, res, order):
    base_t = res.get("PyTorch")
    base_n = res.get("hand-written NumPy")
    rows = []
    for k in order:
        if k in res:
            v = res[k]
            rows.append([k, f"{v:.3f}", ratio(v, base_t) if base_t else "-", ratio(v, base_n) if base_n else "-"])
    note = "" if base_t else "PyTorch not installed: no PyTorch column."
    return table(title, ["", "seconds", "vs PyTorch", "vs NumPy"], rows, note)


def run(quick=False, only=None):
    torch = try_torch()
    results, md = {}, []
    want = lambda name: only is None or name in only  # noqa: E731
    order = ["ember manual loop", "ember Trainer", "PyTorch", "hand-written NumPy", "ember"]
    if want("mlp"):
        res, title = workload_mlp(quick, torch)
        results["mlp"] = res
        md.append(_seconds_table(title, res, order))
        gc.collect()
    if want("cnn"):
        res, title = workload_cnn(quick, torch)
        results["cnn"] = res
        md.append(_seconds_table(title, res, order))
        gc.collect()
    if want("cifar"):
        res, title = workload_cifar(quick, torch)
        results["cifar"] = res
        md.append(_seconds_table(title, res, order))
    if want("inference"):
        res, title = workload_inference(quick, torch)
        results["inference"] = res
        rows = []
        for kind, row in res.items():
            t = row.get("PyTorch")
            rows.append([kind, f"{row['ember']:.0f}", f"{t:.0f}" if t else "-", f"{row['hand-written NumPy']:.0f}",
                         f"{row['ember'] / t:.2f}x" if t else "-"])
        md.append(table(title, ["model", "ember", "PyTorch", "NumPy", "ember / PyTorch"], rows))
    if want("overhead"):
        from benchmarks import autograd_overhead

        res, m = autograd_overhead.run()
        results["overhead"] = res
        md.append(m)
    if want("memory"):
        res, title = workload_memory(quick, torch)
        results["memory"] = res
        rows = []
        for kind, row in res.items():
            e, n_, t = row.get("ember"), row.get("numpy"), row.get("torch")
            fmt = lambda d: f"{d['peak_mb']:.0f}" if d else "-"  # noqa: E731
            rows.append([kind, fmt(e), fmt(n_), fmt(t), ratio(e and e["peak_mb"], n_ and n_["peak_mb"])])
        md.append(table(title, ["model", "ember", "NumPy", "PyTorch", "ember / NumPy"], rows))
    if want("gemm") and "mlp" in results:
        n = 10000 if quick else 60000
        res = workload_gemm(quick, results["mlp"]["ember manual loop"], n)
        results["gemm"] = res
        rows = [[r["shape"], f"{r['gflops']:.0f}", f"{r['us']:.0f}"] for r in res["gemm"]]
        rows.append(["MLP epoch: ideal (GEMM only) / ember", f"{res['ideal_epoch_seconds']:.3f} s / {res['ember_epoch_seconds']:.3f} s",
                     f"{100 * res['fraction_of_ideal']:.0f}% of ideal"])
        md.append(table("The physical limit: float32 GEMM at the MLP's shapes", ["GEMM", "GFLOP/s", "us"], rows))
    return results, "\n".join(md)


def main(argv=None):
    import argparse

    from benchmarks.common import machine, save

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller slices: a smoke run in about a minute")
    p.add_argument("--only", nargs="*", help="mlp cnn cifar inference overhead memory gemm")
    p.add_argument("--name", default="suite", help="results file prefix")
    a = p.parse_args(argv)
    info = machine()
    header = (f"Machine: {info['cores']} cores, {info['threads']} threads for every framework, NumPy {info['numpy']}, "
              f"load average {info['loadavg_1min']} at the start ({info['date']}).\n")
    results, md = run(a.quick, set(a.only) if a.only else None)
    md = header + "\n" + md
    print(md)
    save(a.name, results, md)


if __name__ == "__main__":
    main()
