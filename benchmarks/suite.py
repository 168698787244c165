"""The benchmark suite: ember beside PyTorch CPU (same thread count) and beside hand-written
NumPy, as ratios measured in one run. ``python -m benchmarks`` runs it all, prints one Markdown
table per workload and records each in benchmarks/results/<workload>.json and .md.

Workloads: (1) MNIST MLP epoch (the mean of a 5-epoch run), manual loop and Trainer; (2) the
Keras mnist_convnet CNN on a 10k-sample slice, and its step in steady state (``cnnsteps``);
(3) a CIFAR-sized conv net, forward+backward per batch of 64; (4) inference throughput at batch
1000; (5) autograd per-op overhead; (6) peak memory while training (benchmarks/memory.py);
(7) the GEMM limit and the MLP epoch as a fraction of it; (8) the GPT and LSTM training steps
and the GPT's peak memory (benchmarks/sequence.py); (9) ResNet-18 inference and training, transposed
convolution and bilinear upsampling (benchmarks/vision.py).

Training epochs run in interleaved rounds (every contender once per round) and keep each
one's best: on a shared 2-core machine the minimum tracks the code, the median the
neighbours. ``--threads 1`` gives every framework one thread, the comparison a busy machine
disturbs least.
"""
import gc
import time

import numpy as np

from benchmarks import reference_numpy as ref
from benchmarks.common import (
    loadavg, min_interleaved, ratio, set_blas_threads, settle, table, threads, try_torch,
)

BATCH = 128


def _runs(quick):
    """How many interleaved runs the per-step workloads (cnnsteps, cifar) keep the best of."""
    return 3 if quick else 10


def mnist(n=None):
    from ember.datasets import MNIST

    ds = MNIST(train=True)
    x = np.ascontiguousarray(ds.data[:n], np.float32)
    y = np.asarray(ds.targets[:n], np.int64)
    return x, y


# ----- model builders (same shapes in every framework) -----
# ember's models go through nn.utils.fuse, the one explicit line a user adds for speed (it keeps
# the Parameters and state_dict keys; nn.Sequential itself is a plain loop); the Trainer fuses
# by default.


def ember_mlp():
    from ember import nn

    return nn.utils.fuse(nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                                       nn.Linear(128, 10)))


def ember_cnn():
    from ember import nn

    return nn.utils.fuse(nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.5), nn.Linear(1600, 10),
    ))


def ember_cifar():
    from ember import nn

    layers = []
    cin = 3
    for cout in (32, 64, 128):
        layers += [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2)]
        cin = cout
    return nn.utils.fuse(nn.Sequential(*layers, nn.Flatten(), nn.Linear(128 * 16, 10)))


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


def _timed(epoch, epochs):
    """Seconds of each of ``epochs`` calls of ``epoch()``."""
    seconds = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        epoch()
        seconds.append(time.perf_counter() - t0)
    return seconds


def train(model, opt, loss_fn, batches):
    """The hand-written training loop, the same for ember and PyTorch."""
    for xb, yb in batches:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()


def ember_epoch(model, x, y, trainer=False, seed=0, epochs=1):
    """Seconds of each of ``epochs`` epochs, training ``model`` from where it is."""
    import ember
    from ember import nn, optim
    from ember.data import DataLoader, TensorDataset
    from ember.train import Callback, Trainer

    ember.manual_seed(seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    if trainer:
        seconds = []

        class Clock(Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.t0 = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                seconds.append(time.perf_counter() - self.t0)

        Trainer(model, opt, loss_fn, callbacks=[Clock()], progress=False).fit(loader, epochs=epochs)
        return seconds
    model.train()

    return _timed(lambda: train(model, opt, loss_fn, loader), epochs)


def torch_epoch(torch, model, x, y, seed=0, epochs=1):
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def epoch():
        perm = torch.randperm(len(xt))
        train(model, opt, loss_fn, ((xt[idx], yt[idx]) for idx in perm.split(BATCH)))

    return _timed(epoch, epochs)


def numpy_epoch(model, x, y, seed=0, epochs=1):
    rng = np.random.default_rng(seed)

    def epoch():
        perm = rng.permutation(len(x))
        for i in range(0, len(x), BATCH):
            idx = perm[i : i + BATCH]
            model.train_step(x[idx], y[idx])

    return _timed(epoch, epochs)


def rounds_min(contenders, rounds):
    """Seconds per epoch of each contender: the mean epoch of its fastest run, from ``rounds``
    rounds in which every contender runs once in turn, so that a busy spell of the neighbours
    hits them all alike. Each contender returns the seconds of each epoch of its run.
    Returns ({name: best mean epoch}, {name: [every round's mean epoch]},
    {name: [the best round's epochs]}, load average at the end)."""
    runs = {k: [] for k in contenders}
    for _ in range(rounds):
        for k, fn in contenders.items():
            gc.collect()
            settle()
            runs[k].append(fn())
    means = {k: [sum(r) / len(r) for r in v] for k, v in runs.items()}
    best = {k: min(range(rounds), key=means[k].__getitem__) for k in runs}
    return ({k: means[k][best[k]] for k in runs}, means, {k: runs[k][best[k]] for k in runs}, loadavg())


def workload_mlp(quick, torch, rounds, epochs=5):
    """The MLP trained for ``epochs`` epochs from a fresh model (1 with --quick), as in the
    accuracy target: its mean epoch counts. A first epoch alone would hide a cost that grows
    during training: float32 subnormals in Adam's moments (benchmarks/reference_numpy.py)."""
    n = 10000 if quick else None
    epochs = 1 if quick else epochs
    x, y = mnist(n)
    contenders = {
        "ember manual loop": lambda: ember_epoch(ember_mlp(), x, y, epochs=epochs),
        "ember Trainer": lambda: ember_epoch(ember_mlp(), x, y, trainer=True, epochs=epochs),
        "hand-written NumPy": lambda: numpy_epoch(ref.MLP(), x.reshape(len(x), -1), y, epochs=epochs),
    }
    if torch is not None:
        contenders["PyTorch"] = lambda: torch_epoch(torch, torch_model(torch, "mlp"), x, y, epochs=epochs)
    res, times, per_epoch, load = rounds_min(contenders, rounds)
    title = (f"MNIST MLP 784-256-128-10, Adam, batch {BATCH}, {len(x)} samples: seconds per epoch, "
             f"the mean of a {epochs}-epoch run from a fresh model")
    return res, times, per_epoch, load, title


def workload_cnn(quick, torch, rounds):
    x, y = mnist(2560 if quick else 10000)
    contenders = {
        "ember manual loop": lambda: ember_epoch(ember_cnn(), x, y),
        "ember Trainer": lambda: ember_epoch(ember_cnn(), x, y, trainer=True),
        "hand-written NumPy": lambda: numpy_epoch(ref.CNN(), x, y),
    }
    if torch is not None:
        contenders["PyTorch"] = lambda: torch_epoch(torch, torch_model(torch, "cnn"), x, y)
    res, times, per_epoch, load = rounds_min(contenders, rounds)
    title = f"Keras mnist_convnet CNN, Adam, batch {BATCH}, {len(x)}-sample slice (seconds)"
    return res, times, per_epoch, load, title


def workload_cnn_steps(quick, torch, steps=10):
    """The CNN's training step in steady state: seconds per step, from the best of interleaved
    runs of ``steps`` steps on models already warmed up. A run lasts ~0.5 s where an epoch
    slice lasts ~5 s, so on a busy host more of them fall in quiet spells: this is the same
    work as the CNN workload, measured with less noise."""
    import ember
    from ember import nn, optim

    x, y = mnist(steps * BATCH)
    batches = [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]
    ember.manual_seed(0)
    em = ember_cnn()
    opt_e = optim.Adam(em.parameters(), lr=1e-3)
    npm = ref.CNN()
    fns = {
        "ember manual loop": lambda: train(em, opt_e, nn.CrossEntropyLoss(), batches),
        "hand-written NumPy": lambda: [npm.train_step(xb, yb) for xb, yb in batches],
    }
    if torch is not None:
        tm = torch_model(torch, "cnn")
        opt_t = torch.optim.Adam(tm.parameters(), lr=1e-3)
        tb = [(torch.from_numpy(xb), torch.from_numpy(yb)) for xb, yb in batches]
        fns["PyTorch"] = lambda: train(tm, opt_t, torch.nn.CrossEntropyLoss(), tb)
    best = min_interleaved(list(fns.values()), repeat=_runs(quick))
    title = (f"Keras mnist_convnet CNN, one training step in steady state (seconds per step, best of "
             f"interleaved runs of {steps} steps)")
    return {k: t / steps for k, t in zip(fns, best)}, title


def workload_cifar(quick, torch):
    from ember.nn import functional as F

    r = np.random.default_rng(0)
    x = r.standard_normal((64, 3, 32, 32)).astype(np.float32)
    y = r.integers(0, 10, 64)
    m = ember_cifar()

    def step_e():
        m.zero_grad()
        F.cross_entropy(m(x), y).backward()

    fns = {"ember": step_e}
    if torch is not None:
        tm = torch_model(torch, "cifar")
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def step_t():
            tm.zero_grad()
            torch.nn.functional.cross_entropy(tm(xt), yt).backward()

        fns["PyTorch"] = step_t
    best = min_interleaved(list(fns.values()), repeat=_runs(quick))
    title = ("CIFAR-sized conv net (Conv 3x3 32-64-128 + BatchNorm + ReLU + max-pool), forward+backward, "
             "batch 64 (seconds per batch)")
    return dict(zip(fns, best)), title


def workload_inference(quick, torch):
    import ember

    x, _ = mnist(1000)
    out = {}
    for kind, em, nm in (("mlp", ember_mlp, ref.MLP), ("cnn", ember_cnn, ref.CNN)):
        m = em().eval()
        npm = nm()
        xin = x.reshape(1000, -1) if kind == "mlp" else x

        def fe(m=m):
            with ember.no_grad():
                m(x)

        fns = {"ember": fe, "hand-written NumPy": lambda npm=npm, xin=xin: npm.forward(xin)}
        if torch is not None:
            tm = torch_model(torch, kind).eval()
            xt = torch.from_numpy(x)

            def ft(tm=tm):
                with torch.no_grad():
                    tm(xt)

            fns["PyTorch"] = ft
        best = min_interleaved(list(fns.values()), repeat=5 if quick else 15)
        out[kind] = {k: 1000 / t for k, t in zip(fns, best)}
    return out, "Inference throughput, batch 1000 (samples per second, best of interleaved rounds; higher is better)"


def workload_gemm(quick, mlp_seconds, n_samples):
    """GEMM GFLOP/s at the MLP's shapes at 1 thread and at the suite's count, a large sgemm for
    the machine's reachable peak, and the epoch's GEMM-only time as a fraction of ember's."""
    r = np.random.default_rng(0)
    shapes = []  # (m, k, n) for forward, grad-input and grad-weight of each layer
    for i, o in ((784, 256), (256, 128), (128, 10)):
        shapes += [(BATCH, i, o), (BATCH, o, i), (o, BATCH, i)]
    shapes.append((2048, 2048, 2048))
    counts = sorted({1, threads()})
    can_set = set_blas_threads(threads())
    counts = counts if can_set else [threads()]
    rows = []
    for m, k, n in shapes:
        a = r.standard_normal((m, k)).astype(np.float32)
        b = r.standard_normal((k, n)).astype(np.float32)
        number = max(1, int(4e8 // (2 * m * k * n)))
        row = {"shape": f"({m}x{k}) @ ({k}x{n})", "flops": 2.0 * m * k * n}

        def f():
            for _ in range(number):
                a @ b

        for _ in range(1 if quick else 3):  # alternate the thread counts, keep each one's best
            for c in counts:
                if can_set:
                    set_blas_threads(c)
                row[c] = min(row.get(c, float("inf")), min_interleaved([f], repeat=3)[0] / number)
        rows.append(row)
    if can_set:
        set_blas_threads(threads())
    steps = -(-n_samples // BATCH)
    ideal = {c: steps * sum(row[c] for row in rows[:-1]) for c in counts}
    return {"gemm": rows, "threads": counts, "ideal_epoch_seconds": ideal, "ember_epoch_seconds": mlp_seconds,
            "loadavg": loadavg()}


def _seconds_table(title, res, times, load, order, per_epoch=None, rounds=None):
    base_t = res.get("PyTorch")
    base_n = res.get("hand-written NumPy")
    epochs = len(next(iter(per_epoch.values()))) if per_epoch else 1
    rows = []
    for k in order:
        if k in res:
            v = res[k]
            spread = f"{min(times[k]):.3f}-{max(times[k]):.3f}" if times and len(times[k]) > 1 else "-"
            row = [k, f"{v:.3f}", spread, ratio(v, base_t) if base_t else "-", ratio(v, base_n) if base_n else "-"]
            if epochs > 1:
                row.append(" / ".join(f"{e:.2f}" for e in per_epoch[k]))
            rows.append(row)
    if times is None:  # min_interleaved's best call of each
        note = f"Best of {rounds} interleaved runs; load average {load} at the end."
    else:
        note = (f"Best of {len(next(iter(times.values())))} interleaved rounds (all rounds' range beside it); "
                f"load average {load} at the end.")
    if "ember Trainer" in res and "ember manual loop" in res:
        note += f" Trainer / manual loop: {res['ember Trainer'] / res['ember manual loop']:.2f}x."
    if not base_t:
        note += " PyTorch not installed: no PyTorch column."
    header = ["", "seconds", "range", "vs PyTorch", "vs NumPy"]
    if epochs > 1:
        header.append("each epoch of the best run")
    return table(title, header, rows, note)


def _gemm_table(res):
    counts = res["threads"]
    head = ["GEMM"] + [f"GFLOP/s, {c} thread{'s' * (c > 1)}" for c in counts]
    rows = [[r["shape"]] + [f"{r['flops'] / r[c] / 1e9:.0f}" for c in counts] for r in res["gemm"]]
    ideal, e = res["ideal_epoch_seconds"], res["ember_epoch_seconds"]
    rows.append(["MLP epoch, GEMMs only (s); ember's manual loop: "
                 f"{e:.3f} s"] + [f"{ideal[c]:.3f} ({100 * ideal[c] / e:.0f}%)" for c in counts])
    note = (f"Best of alternating rounds; load average {res['loadavg']}. The last row is the epoch's GEMM time "
            "alone at each thread count, as a share of ember's epoch. On a busy 2-core machine a 2-thread "
            "GEMM waits for its descheduled second thread: compare the two columns.")
    return table("The physical limit: float32 GEMM at the MLP's shapes, and a large sgemm", head, rows, note)


WORKLOADS = ("mlp cnn cnnsteps cifar inference overhead memory gemm indexing gpt lstm gptmemory gptrun resnet18 "
             "upsampling").split()
OPT_IN = {"gptrun"}  # minutes: runs only when named
ORDER = ["ember manual loop", "ember Trainer", "PyTorch", "hand-written NumPy", "ember"]


def _training(workload, quick, torch, rounds):
    res, times, per_epoch, load, title = workload(quick, torch, rounds)
    return ({"best": res, "times": times, "epochs": per_epoch, "loadavg": load},
            _seconds_table(title, res, times, load, ORDER, per_epoch))


def _steps(workload, quick, torch):
    res, title = workload(quick, torch)
    return res, _seconds_table(title, res, None, loadavg(), ORDER, rounds=_runs(quick))


def _inference(quick, torch):
    res, title = workload_inference(quick, torch)
    rows = []
    for kind, row in res.items():
        t = row.get("PyTorch")
        rows.append([kind, f"{row['ember']:.0f}", f"{t:.0f}" if t else "-", f"{row['hand-written NumPy']:.0f}",
                     f"{row['ember'] / t:.2f}x" if t else "-", f"{row['ember'] / row['hand-written NumPy']:.2f}x"])
    return res, table(title, ["model", "ember", "PyTorch", "NumPy", "ember / PyTorch", "ember / NumPy"], rows,
                      f"Load average {loadavg()}.")


def _memory(quick, torch):
    from benchmarks import memory

    res = memory.run(quick, torch is not None, threads())
    return res, memory.markdown(res)


def _overhead():
    from benchmarks import autograd_overhead

    return autograd_overhead.run()


def _gemm(quick, mlp_seconds):
    res = workload_gemm(quick, mlp_seconds, 10000 if quick else 60000)
    return res, _gemm_table(res)


def _indexing(quick, torch):
    from benchmarks import indexing

    return indexing.run(quick)


def run(quick=False, only=None, rounds=None, out=None):
    """Run the workloads named in ``only`` (all but the opt-in ones when None), each recorded in
    its own file under ``out`` as soon as it ends (see benchmarks/record.py). Returns
    {workload: results}."""
    from benchmarks import record, sequence, vision

    torch = try_torch()
    rounds = rounds or (1 if quick else 3)
    names = [w for w in WORKLOADS if (w in only if only is not None else w not in OPT_IN)]
    fns = {
        "mlp": lambda: _training(workload_mlp, quick, torch, rounds),
        "cnn": lambda: _training(workload_cnn, quick, torch, rounds),
        "cnnsteps": lambda: _steps(workload_cnn_steps, quick, torch),
        "cifar": lambda: _steps(workload_cifar, quick, torch),
        "inference": lambda: _inference(quick, torch),
        "overhead": _overhead,
        "memory": lambda: _memory(quick, torch),
        "indexing": lambda: _indexing(quick, torch),
        **{k: (lambda f=f: f(quick, torch)) for k, f in {**sequence.WORKLOADS, **vision.WORKLOADS}.items()},
    }
    done = {}
    for name in names:
        if name == "gemm":
            if "mlp" not in done:
                print("gemm: skipped, it needs the mlp workload in the same run (--only mlp gemm)")
                continue
            fn = lambda: _gemm(quick, done["mlp"]["best"]["ember manual loop"])  # noqa: E731
        else:
            fn = fns[name]
        done[name] = record.measure(name, fn, out=out, quick=quick)
        gc.collect()
    return done


def main(argv=None):
    import argparse
    import os

    from benchmarks import record

    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller slices, one round: a smoke run")
    p.add_argument("--only", nargs="*", choices=WORKLOADS, metavar="WORKLOAD",
                   help=f"the workloads to run (default: all but {', '.join(sorted(OPT_IN))}): {' '.join(WORKLOADS)}")
    p.add_argument("--rounds", type=int, help="interleaved rounds per training workload (default 3; 1 with --quick)")
    p.add_argument("--threads", type=int, help="threads for BLAS and PyTorch (default: the cores); "
                   "1 gives relative comparisons that a busy machine disturbs least")
    p.add_argument("--out", metavar="DIR", help="write <workload>.json/.md into DIR instead of the record, "
                   "benchmarks/results/ (for before/after experiments)")
    p.add_argument("--name", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.name is not None:
        p.error(f"--name is gone: benchmarks/results/ keeps one file per workload, overwritten by each run. "
                f"For an experiment, write its files elsewhere: --out /tmp/{a.name}")
    out = a.out or record.RESULTS
    run(a.quick, set(a.only) if a.only is not None else None, a.rounds, out)
    print(f"Written to {os.path.relpath(out)}/<workload>.json and .md")


if __name__ == "__main__":
    main()
