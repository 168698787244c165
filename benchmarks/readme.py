"""README's performance table, generated from the bench record (benchmarks/results/).

    python -m benchmarks.readme            # rewrite the block in README.md
    python -m benchmarks.readme --check    # exit 1 if README.md's block differs from the record
    python -m benchmarks.readme --print    # print the block

The block sits between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``: a few headline
rows (ember, PyTorch, their ratio) and, for each group of rows measured together, the stamp:
commit, date, machine and load. tests/test_bench_record.py checks that README.md's block is
what this module makes of the committed files, so the two cannot drift.
"""
import argparse
import json
import os
import sys

from benchmarks import record

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
README = os.path.join(record.ROOT, "README.md")
REPRODUCE = "make bench && .venv/bin/python -m benchmarks.readme"


def _pair(d, ember="ember", torch="PyTorch"):
    return d.get(ember), d.get(torch)


def _per_batch(d):  # samples per second at batch 1000 -> seconds per batch
    return tuple(1000 / v if v else None for v in _pair(d))


def _overhead(d):
    e, t = d.get("ember"), d.get("torch")
    total = lambda x: x["forward_us_per_op"] + x["backward_us_per_op"]  # noqa: E731
    return total(e) / 1e6, (total(t) / 1e6 if t else None)


# (workload, row label, results -> (ember seconds, PyTorch seconds or None), unit shown)
ROWS = [
    ("mlp", "MLP 784-256-128-10 on MNIST, one training epoch", lambda r: _pair(r["best"], "ember manual loop"), "s"),
    ("cnn", "Keras mnist_convnet CNN, training on a 10,000-image slice",
     lambda r: _pair(r["best"], "ember manual loop"), "s"),
    ("cnnsteps", "the same CNN, one training step (batch 128)", lambda r: _pair(r, "ember manual loop"), "ms"),
    ("cifar", "CIFAR-sized conv net, forward + backward (batch 64)", _pair, "ms"),
    ("inference", "MLP inference, batch 1000", lambda r: _per_batch(r["mlp"]), "ms"),
    ("inference", "CNN inference, batch 1000", lambda r: _per_batch(r["cnn"]), "ms"),
    ("overhead", "autograd overhead per op, forward + backward", _overhead, "us"),
    ("resnet18", "ResNet-18 inference, batch 16, 224x224", lambda r: _pair(r["inference, batch 16, 224x224"]), "ms"),
    ("resnet18", "ResNet-18 training step, batch 32, 64x64",
     lambda r: _pair(r["training step, batch 32, 64x64"]), "ms"),
    ("gpt", "GPT (4 layers, width 128) training step, batch 12", _pair, "ms"),
    ("lstm", "2-layer LSTM (hidden 256) training step, batch 32", _pair, "ms"),
]
SCALE = {"s": 1.0, "ms": 1e3, "us": 1e6}


def _fmt(seconds, unit):
    if seconds is None:
        return "-"
    v = seconds * SCALE[unit]
    return f"{v:#.3g} {unit}" if v < 100 else f"{v:.0f} {unit}"


def _group_key(s):
    return json.dumps([s["commit"], s.get("dirty"), s["machine"], s.get("converted_from")], sort_keys=True)


def _group_line(stamps):
    """The stamp of rows measured together: one commit and machine, the span of dates and loads."""
    s = stamps[0]
    c = s["commit"]
    c = (c[:12] if len(c) == 40 else c) + (" (dirty)" if s.get("dirty") else "")
    dates = sorted(x["date"] for x in stamps)
    date = dates[0] if dates[0] == dates[-1] else f"{dates[0]} to {dates[-1]}"
    m = s["machine"]
    loads = [v for x in stamps for v in (x["load"]["loadavg_before"], x["load"]["loadavg_after"]) if v is not None]
    load = f"load average {min(loads)}-{max(loads)}" if loads else "load unknown"
    others = [x["load"].get("others_cpu_share") for x in stamps]
    if all(v is not None for v in others):
        load += f", other processes at most {100 * max(others):.0f}% of the CPU time"
    line = (f"commit {c}, {date}; {m['cpu']}, {m['cores']} cores, {m['threads']} threads, {m['os']}, "
            f"Python {m['python']}, NumPy {m['numpy']} ({m['blas']}), torch {m['torch']}; {load}")
    if any(x.get("quick") for x in stamps):
        line += "; QUICK runs (smoke, not measurements)"
    if s.get("converted_from"):
        line += f"; converted from {s['converted_from']}"
    return line


def block(folder=None):
    """The Markdown between the markers, from the record files in ``folder``."""
    files = record.read(folder)
    groups, rows = {}, []
    for workload, label, extract, unit in ROWS:
        if workload not in files:
            continue
        payload = files[workload]
        e, t = extract(payload["results"])
        key = _group_key(payload["stamp"])
        if key not in groups:
            groups[key] = []
        if payload["stamp"] not in groups[key]:
            groups[key].append(payload["stamp"])
        n = list(groups).index(key) + 1
        ratio = f"{e / t:.2f}x" if e and t else "-"
        rows.append(f"| {label} | {_fmt(e, unit)} | {_fmt(t, unit)} | {ratio} | [{n}] |")
    if not rows:
        return "No benchmark record yet: run `make bench`.\n"
    out = ["| workload | ember | PyTorch | ember / PyTorch | stamp |", "|---|---:|---:|---:|---|", *rows, ""]
    for i, stamps in enumerate(groups.values(), 1):  # one paragraph each
        out += [f"[{i}] {_group_line(stamps)}", ""]
    out += [f"Reproduce: `{REPRODUCE}` (each workload alone: `.venv/bin/python -m benchmarks --only mlp`). "
            "Every workload's full table and stamp: [benchmarks/results/](benchmarks/results/)."]
    return "\n".join(out) + "\n"


def splice(text, new_block):
    """``text`` with the block between the markers replaced by ``new_block``."""
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    return text[: i + len(BEGIN)] + "\n" + new_block + text[j:]


def current(text):
    """The block as it stands in ``text``."""
    i, j = text.find(BEGIN), text.find(END)
    if i < 0 or j < i:
        raise ValueError(f"README has no {BEGIN} ... {END} block")
    return text[i + len(BEGIN):j].removeprefix("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readme", default=README, help="the file to rewrite (default: the checkout's README.md)")
    ap.add_argument("--results", default=None, help="the record folder (default: benchmarks/results/)")
    what = ap.add_mutually_exclusive_group()
    what.add_argument("--check", action="store_true", help="exit 1 if the README's block differs")
    what.add_argument("--print", action="store_true", help="print the block, change nothing")
    a = ap.parse_args(argv)
    new = block(a.results)
    if a.print:
        print(new, end="")
        return 0
    with open(a.readme) as f:
        text = f.read()
    if a.check:
        same = current(text) == new
        print(f"{a.readme}: {'up to date' if same else 'differs from the record: run python -m benchmarks.readme'}")
        return 0 if same else 1
    with open(a.readme, "w") as f:
        f.write(splice(text, new))
    print(f"{a.readme}: performance block rewritten from {a.results or 'benchmarks/results/'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
