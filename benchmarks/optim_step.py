"""One optimizer step on a ~1M-parameter MLP's parameters (784-1024-256-10): ember beside
PyTorch CPU with foreach=False, its default and foreach=True, same thread count, one run.

``python -m benchmarks.optim_step [--quick] [--out DIR]`` prints Markdown tables and records them in
benchmarks/results/optim_step.json and .md. The second table shows the float32 subnormal trap: Adam's moments for
weights that stop getting gradient decay into subnormals, where arithmetic is ~30x slower;
ember flushes them (see ember/optim/optimizer.py), PyTorch's CPU kernels are not slowed.
"""
import argparse

import numpy as np

from benchmarks.common import ratio, table, threads, timeit, try_torch

SHAPES = [(1024, 784), (1024,), (256, 1024), (256,), (10, 256), (10,)]
CONFIGS = [
    ("SGD momentum=0.9", "SGD", dict(lr=0.01, momentum=0.9)),
    ("Adam", "Adam", dict(lr=1e-3)),
    ("AdamW", "AdamW", dict(lr=1e-3, weight_decay=1e-2)),
]


def _data(seed=0):
    rng = np.random.default_rng(seed)
    values = [rng.standard_normal(s).astype(np.float32) * 0.05 for s in SHAPES]
    grads = [rng.standard_normal(s).astype(np.float32) * 1e-2 for s in SHAPES]
    return values, grads


def ember_step(cls_name, kw, values, grads):
    import ember
    import ember.optim as optim
    from ember.nn import Parameter

    params = [Parameter(v.copy()) for v in values]
    for p, g in zip(params, grads):
        p.grad = ember.from_numpy(g)
    opt = getattr(optim, cls_name)(params, **kw)
    return opt.step, opt


def torch_step(torch, cls_name, kw, values, grads, foreach):
    params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    opt = getattr(torch.optim, cls_name)(params, **kw, foreach=foreach)
    return opt.step


def step_table(torch, repeat, nthreads):
    if torch is not None:
        torch.set_num_threads(nthreads)
    values, grads = _data()
    n = sum(v.size for v in values)
    rows, results = [], {}
    for label, cls_name, kw in CONFIGS:
        step, _ = ember_step(cls_name, kw, values, grads)
        e = timeit(step, repeat=repeat, warmup=3)
        t = {}
        if torch is not None:
            for name, fe in (("foreach=False", False), ("default", None), ("foreach=True", True)):
                t[name] = timeit(torch_step(torch, cls_name, kw, values, grads, fe), repeat=repeat, warmup=3)
        results[label] = {"ember": e, **{f"torch {k}": v for k, v in t.items()}}
        ms = lambda s: f"{s * 1e3:.2f}" if s else "-"  # noqa: E731
        rows.append([label, ms(e), ms(t.get("foreach=False")), ms(t.get("default")), ms(t.get("foreach=True")),
                     ratio(e, t.get("foreach=False")), ratio(e, t.get("default"))])
    md = table(f"One optimizer step, {n:,} float32 parameters ({len(SHAPES)} tensors), ms (median of {repeat})",
               ["optimizer", "ember", "torch foreach=False", "torch default", "torch foreach=True",
                "ember / torch foreach=False", "ember / torch default"], rows,
               note=f"PyTorch on {nthreads} thread(s); ember's elementwise passes run on one. On CPU, PyTorch's "
                    "default is its for-loop implementation (foreach is a CUDA default).")
    return md, results


def subnormal_table(torch, steps):
    """Adam after half the weights stop getting gradient for ``steps`` steps (PyTorch on 1 thread)."""
    import ember
    import ember.optim.optimizer as om

    if torch is not None:
        torch.set_num_threads(1)
    values, grads = _data(1)
    grads = [g.copy() for g in grads]
    for g in grads:
        g.reshape(-1)[: g.size // 2] = 0.0  # dead inputs / dead units: no gradient at all
    first = [np.random.default_rng(2).standard_normal(g.shape).astype(np.float32) for g in grads]
    rows, results = [], {}
    variants = [("ember (flush every %d steps)" % om.FLUSH_EVERY, om.FLUSH_EVERY), ("ember, flushing off", 10**12)]
    for label, every in variants:
        saved = om.FLUSH_EVERY
        om.FLUSH_EVERY = every
        try:
            step, opt = ember_step("Adam", dict(lr=1e-3), values, first)
            step()  # give every moment a nonzero start
            for p, g in zip([p for grp in opt.param_groups for p in grp["params"]], grads):
                p.grad = ember.from_numpy(g)
            for _ in range(steps):
                step()
            m = np.asarray(opt.state[opt.param_groups[0]["params"][0]]["exp_avg"])
            sub = int(np.count_nonzero((m != 0) & (np.abs(m) < np.finfo(np.float32).tiny)))
            rows.append([label, f"{timeit(step, repeat=21, warmup=1) * 1e3:.2f}", f"{sub:,}"])
            results[label] = rows[-1][1]
        finally:
            om.FLUSH_EVERY = saved
    if torch is not None:
        params = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
        for p, g in zip(params, first):
            p.grad = torch.from_numpy(g)
        opt = torch.optim.Adam(params, lr=1e-3, foreach=False)
        opt.step()
        for p, g in zip(params, grads):
            p.grad = torch.from_numpy(g)
        for _ in range(steps):
            opt.step()
        m = opt.state[params[0]]["exp_avg"].numpy()
        sub = int(np.count_nonzero((m != 0) & (np.abs(m) < np.finfo(np.float32).tiny)))
        ms = timeit(opt.step, repeat=21, warmup=1) * 1e3
        rows.append(["torch foreach=False, 1 thread", f"{ms:.2f}", f"{sub:,}"])
        results["torch foreach=False, 1 thread"] = rows[-1][1]
    md = table(f"Adam step after {steps} steps with half the gradients zero, ms (median of 21)",
               ["run", "ms per step", "subnormal entries in the first layer's m"], rows)
    return md, results


def tables(quick):
    """The step tables (and the subnormal one unless quick): (results, Markdown)."""
    torch = try_torch()
    repeat = 15 if quick else 51
    md, results = step_table(torch, repeat, threads())
    out = {f"step, torch on {threads()} threads": results}
    if threads() > 1 and torch is not None:  # a busy neighbour can stall 2-thread PyTorch: show 1 thread too
        md1, results1 = step_table(torch, repeat, 1)
        md += "\n" + md1
        out["step, torch on 1 thread"] = results1
    if not quick:
        md2, results2 = subnormal_table(torch, steps=900)
        md += "\n" + md2
        out["subnormal"] = results2
    return out, md


def main(argv=None):
    from benchmarks import record

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, skip the subnormal table")
    record.add_out(ap)
    args = ap.parse_args(argv)
    record.measure("optim_step", lambda: tables(args.quick), out=args.out, quick=args.quick)


if __name__ == "__main__":
    main()
