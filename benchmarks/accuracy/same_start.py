"""Run one unmodified PyTorch script twice, under PyTorch and under ``ember run``, from the same
start, and compare the losses the two report.

    python -m benchmarks.accuracy.same_start [--losses N] [--rtol R] script.py [ARGS...]

The PyTorch run records, and the ember run replays:

- every value drawn by the public random functions (``torch.randn``, ``rand``, ``randint``,
  ``randperm``, ``normal``, ``multinomial``, ``bernoulli``, ``*_like``), call by call per
  function, so data drawn with them (a GPT's batch offsets, a tutorial's random weights) is
  the same; Python's ``random`` is seeded alike on both sides;
- the order of every ``RandomSampler`` / ``SubsetRandomSampler`` epoch (a shuffling
  DataLoader);
- the parameters of the first optimizer, as they are when it is created, or else those of
  the first module called (the layers' initial weights, which the two libraries draw
  differently).

It then compares the scalars ``backward()`` was called on (the training losses, at full
precision) and, as a second view, the numbers the script printed. ``F.dropout`` (and so
``nn.Dropout``) draws its mask with ``torch.rand`` on PyTorch's side and replays it on
ember's; other draws made inside layers (dropout inside ``scaled_dot_product_attention``)
are not replayed: run such scripts with that off. ``--stop-after N`` ends the script on
both sides after its N-th ``backward()``. Needs PyTorch installed (it is the reference);
PyTorch's run uses one thread.
"""
import argparse
import os
import random
import re
import runpy
import subprocess
import sys
import tempfile

import numpy as np

DRAWS = ("randn", "rand", "randint", "randperm", "normal", "multinomial", "bernoulli", "poisson",
         "randn_like", "rand_like", "randint_like")
SAMPLERS = ("RandomSampler", "SubsetRandomSampler")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


class Record:
    """What one run saw: draws per function, sampler epochs, start parameters, losses."""

    def __init__(self):
        self.draws, self.orders, self.params, self.losses, self.masks = {}, [], None, [], []

    def save(self, path):
        arrays = {f"draw/{name}/{k}": a for name, seq in self.draws.items() for k, a in enumerate(seq)}
        arrays.update({f"order/{k}": np.asarray(o, np.int64) for k, o in enumerate(self.orders)})
        arrays.update({f"param/{k}": p for k, p in enumerate(self.params or [])})
        arrays.update({f"mask/{k}": m for k, m in enumerate(self.masks)})
        arrays["losses"] = np.asarray(self.losses, np.float64)
        np.savez(path, **arrays)

    @classmethod
    def load(cls, path):
        r, params, masks = cls(), {}, {}
        with np.load(path) as z:
            for key in z.files:
                kind, _, rest = key.partition("/")
                if kind == "draw":
                    name, k = rest.rsplit("/", 1)
                    r.draws.setdefault(name, {})[int(k)] = z[key]
                elif kind == "order":
                    r.orders.append((int(rest), z[key]))
                elif kind == "param":
                    params[int(rest)] = z[key]
                elif kind == "mask":
                    masks[int(rest)] = z[key]
            r.losses = list(z["losses"])
        r.draws = {n: [d[k] for k in sorted(d)] for n, d in r.draws.items()}
        r.orders = [o for _, o in sorted(r.orders, key=lambda t: t[0])]
        r.params = [params[k] for k in sorted(params)] if params else None
        r.masks = [masks[k] for k in sorted(masks)]
        return r


def _instrument(lib, data, optim, tensor_cls, to_numpy, record, replay, stop_after=None):
    """Patch ``lib``'s random functions, samplers, optimizer and ``backward``; ``replay`` is
    the PyTorch run's Record (ember's side) or None (PyTorch's side, which records)."""
    for name in DRAWS:
        orig = getattr(lib, name, None)
        if orig is None:
            continue

        def draw(*args, _orig=orig, _name=name, **kwargs):
            out = _orig(*args, **kwargs)
            if replay is None:
                record.draws.setdefault(_name, []).append(to_numpy(out).copy())
                return out
            seq, k = replay.draws.get(_name, []), len(record.draws.setdefault(_name, []))
            if k >= len(seq):
                raise RuntimeError(f"same_start: ember called {_name} more often than PyTorch ({len(seq)} times)")
            want = seq[k]
            if tuple(out.shape) != want.shape:
                raise RuntimeError(f"same_start: call {k} of {_name}: PyTorch drew shape {want.shape}, "
                                   f"ember shape {tuple(out.shape)}")
            out._data[...] = want
            record.draws[_name].append(want)
            return out

        setattr(lib, name, draw)
    for name in SAMPLERS:
        cls = getattr(data, name)
        orig_iter = cls.__iter__

        def it(self, _orig=orig_iter):
            # recorded and replayed as consumed: a RandomSampler(num_samples=10**10) is endless
            order = []
            record.orders.append(order)
            if replay is None:
                for i in _orig(self):
                    order.append(i)
                    yield i
                return
            k = len(record.orders) - 1
            if k >= len(replay.orders):
                raise RuntimeError(f"same_start: ember ran more shuffled epochs than PyTorch ({len(replay.orders)})")
            for i in replay.orders[k].tolist():
                order.append(i)
                yield i
            if len(self) > len(order):
                raise RuntimeError(f"same_start: ember drew more than PyTorch's {len(order)} samples in epoch {k}")

        cls.__iter__ = it
        if hasattr(cls, "indices"):  # ember's DataLoader asks its sampler for the epoch's array
            cls.indices = lambda self, _it=it: np.fromiter(_it(self), np.int64)
    orig_init = optim.Optimizer.__init__

    def init(self, params, defaults):
        orig_init(self, params, defaults)
        if record.params is None:
            ps = [p for g in self.param_groups for p in g["params"]]
            if replay is not None and replay.params is not None:
                for p, a in zip(ps, replay.params, strict=True):
                    p._data[...] = a
            record.params = [to_numpy(p).copy() for p in ps]

    optim.Optimizer.__init__ = init
    module_cls, depth = lib.nn.Module, []
    orig_call = module_cls.__call__

    def call(self, *args, **kwargs):
        if not depth and record.params is None:  # a first forward before any optimizer
            ps = list(self.parameters())
            if replay is not None and replay.params is not None:
                for p, a in zip(ps, replay.params, strict=True):
                    p._data[...] = a
            record.params = [to_numpy(p).copy() for p in ps]
        depth.append(1)
        try:
            return orig_call(self, *args, **kwargs)
        finally:
            depth.pop()

    module_cls.__call__ = call
    orig_backward = tensor_cls.backward

    inside = []

    def backward(self, *args, **kwargs):
        if inside:  # PyTorch's backward may come back through Tensor.backward: count it once
            return orig_backward(self, *args, **kwargs)
        if self.numel() == 1:
            record.losses.append(float(to_numpy(self).reshape(())))
        inside.append(1)
        try:
            out = orig_backward(self, *args, **kwargs)
        finally:
            inside.pop()
        if stop_after is not None and len(record.losses) >= stop_after:
            raise SystemExit(0)  # enough losses: end the script here, on both sides alike
        return out

    tensor_cls.backward = backward


def _dropout_torch(torch, record, rand):
    """F.dropout for PyTorch's side: the mask drawn with torch.rand, kept for the replay."""
    F = torch.nn.functional

    def dropout(input, p=0.5, training=True, inplace=False):
        if not training or p == 0:
            return input
        keep = rand(input.shape) >= p
        record.masks.append(keep.numpy())
        return input * (keep.to(input.dtype) * (1.0 / (1.0 - p)))

    F.dropout = dropout


def _dropout_ember(ember, record, replay):
    """F.dropout for ember's side: PyTorch's masks, one per call, in order."""
    import ember.nn.dropout as mod

    def dropout(input, p=0.5, training=True, inplace=False, generator=None):
        if not training or p == 0:
            return input
        k = len(record.masks)
        if k >= len(replay.masks):
            raise RuntimeError(f"same_start: ember made more dropout calls than PyTorch ({len(replay.masks)})")
        keep = replay.masks[k]
        if keep.shape != tuple(input.shape):
            raise RuntimeError(f"same_start: dropout call {k}: PyTorch's input had shape {keep.shape}, "
                               f"ember's {tuple(input.shape)}")
        record.masks.append(keep)
        dt = input.detach().numpy().dtype
        return input * ember.from_numpy(keep.astype(dt) * dt.type(1.0 / (1.0 - p)))

    ember.nn.functional.dropout = mod.dropout = dropout


def _side(which, out, script, args, stop_after=None):
    record, replay = Record(), None
    random.seed(0)  # Python's own random module (a script's random.randint) the same on both sides
    sys.argv = [script] + list(args)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    try:
        if which == "torch":
            import torch
            import torch.utils.data

            from benchmarks.common import import_torchvision

            import_torchvision()  # a script's `import torchvision` works on this machine's wheel (or None)
            torch.set_num_threads(1)
            rand = torch.rand
            _instrument(torch, torch.utils.data, torch.optim, torch.Tensor,
                        lambda t: t.detach().numpy(), record, None, stop_after)
            _dropout_torch(torch, record, rand)
            runpy.run_path(script, run_name="__main__")
        else:
            import ember
            import ember.data
            import ember.optim
            import ember.run

            replay = Record.load(out.replace(".ember.", ".torch."))
            _instrument(ember, ember.data, ember.optim, ember.Tensor,
                        lambda t: t.detach().numpy(), record, replay, stop_after)
            _dropout_ember(ember, record, replay)
            ember.run.run_path(script, args)
    finally:
        record.save(out)


def compare(script, args, losses=5, rtol=1e-5, timeout=600, stop_after=None):
    """Run both sides; returns a dict with both loss lists, both printed-number lists, the
    worst relative difference of the first ``losses`` losses and whether it is within rtol."""
    with tempfile.TemporaryDirectory() as tmp:
        runs = {}
        for which in ("torch", "ember"):
            out = os.path.join(tmp, f"rec.{which}.npz")
            cmd = [sys.executable, "-m", "benchmarks.accuracy.same_start", "--side", which, out,
                   str(stop_after or 0), script, *args]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                               cwd=os.path.dirname(os.path.abspath(script)) or ".",
                               env={**os.environ, "PYTHONPATH": _ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")})
            runs[which] = (p, Record.load(out) if os.path.exists(out) else Record())
    (pt, rt), (pe, re_) = runs["torch"], runs["ember"]
    n = min(losses, len(rt.losses), len(re_.losses))
    a, b = np.asarray(rt.losses[:n]), np.asarray(re_.losses[:n])
    worst = float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30))) if n else float("nan")
    return {"torch_rc": pt.returncode, "ember_rc": pe.returncode, "torch_losses": rt.losses,
            "ember_losses": re_.losses, "compared": n, "max_rel": worst, "ok": bool(n) and worst <= rtol,
            "torch_printed": [float(x) for x in _NUMBER.findall(pt.stdout)],
            "ember_printed": [float(x) for x in _NUMBER.findall(pe.stdout)],
            "torch_stderr": pt.stderr[-2000:], "ember_stderr": pe.stderr[-2000:]}


_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--side"]:
        _side(argv[1], argv[2], argv[4], argv[5:], int(argv[3]) or None)
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--losses", type=int, default=5, help="how many first losses to compare")
    ap.add_argument("--rtol", type=float, default=1e-5)
    ap.add_argument("--stop-after", type=int, default=None, metavar="N",
                    help="end the script (on both sides) after its N-th backward()")
    ap.add_argument("script")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    ns = ap.parse_args(argv)
    r = compare(os.path.abspath(ns.script), ns.args, ns.losses, ns.rtol, stop_after=ns.stop_after)
    print(f"{ns.script}: PyTorch rc {r['torch_rc']}, ember rc {r['ember_rc']}; "
          f"{len(r['torch_losses'])} / {len(r['ember_losses'])} backward() calls")
    for k in range(r["compared"]):
        t, e = r["torch_losses"][k], r["ember_losses"][k]
        print(f"  loss {k}: torch {t:.9g}  ember {e:.9g}  rel {abs(t - e) / max(abs(t), 1e-30):.1e}")
    tp, ep = r["torch_printed"], r["ember_printed"]
    m = min(len(tp), len(ep))
    if m:
        a, b = np.asarray(tp[:m]), np.asarray(ep[:m])
        rel = np.abs(a - b) / np.maximum(np.abs(a), 1e-30)
        print(f"printed numbers: {len(tp)} / {len(ep)}; the first {m} differ by at most {rel.max():.2e} relative "
              f"(as printed, so to the printed precision)")
    print(f"first {r['compared']} losses: max relative difference {r['max_rel']:.2e} "
          f"({'within' if r['ok'] else 'NOT within'} {ns.rtol:g})")
    if r["ember_rc"] != 0:
        print("ember's stderr:\n" + r["ember_stderr"])
    return 0 if r["ok"] and r["ember_rc"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
