"""The bench record: one current file per workload, ``benchmarks/results/<workload>.json`` and
``.md``, overwritten by each run and stamped with what was measured and where.

The stamp: the commit (``git rev-parse HEAD``, and whether tracked files had uncommitted
changes), the date (UTC), the machine (CPU model, cores, OS, Python, NumPy and its BLAS,
PyTorch) and its load: the 1-minute load average before and after the workload, and the share
of the machine's CPU time that other processes used while it ran (``/proc/stat``'s busy time
minus this process's own, over wall time x cores). History lives in git, not in copies.
"""
import datetime
import functools
import json
import os
import platform
import re
import resource
import shlex
import subprocess
import sys
import time

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNKNOWN_COMMIT = "unknown (before the stamp)"
NAME = re.compile(r"^[a-z0-9_]+$")  # a workload's name: its files are <name>.json and <name>.md


@functools.lru_cache(maxsize=None)
def commit():
    """(HEAD's sha, whether tracked files differ from it), ignoring the record itself (a run
    rewrites it as it goes); ("unknown (no git)", False) outside a checkout. Read once, when the
    first workload starts: a commit made during a long run is not what it measures."""
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":(exclude)benchmarks/results"], cwd=ROOT, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown (no git)", False
    return sha.stdout.strip(), bool(dirty.stdout.strip())


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _os_name():
    try:
        with open("/etc/os-release") as f:
            pretty = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line).get("PRETTY_NAME", "")
        pretty = pretty.strip('"')
    except OSError:
        pretty = ""
    kernel = f"{platform.system()} {platform.release()}"
    return f"{pretty}, {kernel}" if pretty else kernel


def _blas():
    import numpy as np

    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict form
        return "unknown"


def _torch_version():
    """PyTorch's version from its metadata: the stamp does not import it."""
    from importlib import metadata

    try:
        return metadata.version("torch")
    except metadata.PackageNotFoundError:
        return "not installed"


def machine():
    import numpy as np

    from benchmarks.common import threads

    return {"cpu": _cpu_model(), "cores": os.cpu_count(), "os": _os_name(), "python": platform.python_version(),
            "numpy": np.__version__, "blas": _blas(), "torch": _torch_version(), "threads": threads()}


def _loadavg():
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def _busy_seconds():
    """(busy, stolen) CPU seconds of the whole machine so far, from /proc/stat; None elsewhere."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq) / tick, steal / tick


def _own_seconds():
    """CPU seconds of this process and the children it has waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class Load:
    """Measures the machine's load around a workload: ``with Load() as load: ...``, then
    ``load.stamp`` is {loadavg_before, loadavg_after, others_cpu_share, steal_share, seconds}."""

    def __enter__(self):
        commit()  # the code this process loaded, before anyone commits during the run
        self.date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.before, self.busy0, self.own0, self.t0 = _loadavg(), _busy_seconds(), _own_seconds(), time.monotonic()
        return self

    def __exit__(self, *exc):
        wall = time.monotonic() - self.t0
        busy1, own = _busy_seconds(), _own_seconds() - self.own0
        others = steal = None
        if self.busy0 is not None and busy1 is not None and wall > 0:
            capacity = wall * (os.cpu_count() or 1)
            others = round(max(0.0, busy1[0] - self.busy0[0] - own) / capacity, 3)
            steal = round(max(0.0, busy1[1] - self.busy0[1]) / capacity, 3)
        self.stamp = {"date": self.date, "loadavg_before": self.before, "loadavg_after": _loadavg(),
                      "others_cpu_share": others, "steal_share": steal, "seconds": round(wall, 1)}
        return False


def command():
    """The command line that ran, as a reader would type it (``python -m benchmarks --only mlp``)."""
    argv = getattr(sys, "orig_argv", sys.argv)[1:]
    return " ".join(["python"] + [shlex.quote(a) for a in argv])


def stamp(load, quick=False, cmd=None):
    """The stamp of a workload measured under ``Load`` (its ``.stamp``)."""
    sha, dirty = commit()
    load = dict(load)
    return {"commit": sha, "dirty": dirty, "date": load.pop("date"), "machine": machine(), "load": load,
            "command": cmd or command(), "quick": bool(quick)}


def stamp_line(s):
    """One line a reader can check: commit, date, machine, load."""
    c = s["commit"]
    c = (c[:12] if re.fullmatch(r"[0-9a-f]{40}", c) else c) + (" (dirty)" if s.get("dirty") else "")
    m = s["machine"]
    parts = [f"commit {c}", s["date"],
             f"{m['cpu']}, {m['cores']} cores, {m['threads']} threads, {m['os']}, Python {m['python']}, "
             f"NumPy {m['numpy']} ({m['blas']}), torch {m['torch']}"]
    ld = s["load"]
    load = ", ".join(f"{ld[k]} {when}" for k, when in (("loadavg_before", "before"), ("loadavg_after", "after"))
                     if ld.get(k) is not None)
    load = f"load average {load}" if load else "load unknown"
    if ld.get("others_cpu_share") is not None:
        load += f", other processes {100 * ld['others_cpu_share']:.0f}% of the CPU time"
    parts.append(load)
    if s.get("quick"):
        parts.append("QUICK (a smoke run, not a measurement)")
    if s.get("converted_from"):
        parts.append(f"converted from {s['converted_from']}")
    return "; ".join(parts)


def write(workload, results, markdown, stamp_, out=None):
    """Write <out>/<workload>.json and .md (out: benchmarks/results/ by default), replacing
    what a previous run left there. Returns the JSON file's path."""
    if not NAME.match(workload):
        raise ValueError(f"workload name {workload!r}: expected lower-case letters, digits and _")
    out = out or RESULTS
    os.makedirs(out, exist_ok=True)
    payload = {"workload": workload, "stamp": stamp_, "results": results}
    md = f"# {workload}\n\n{stamp_line(stamp_)}\n\n`{stamp_['command']}`\n\n{markdown.strip()}\n"
    path = os.path.join(out, workload + ".json")
    for name, text in ((path, json.dumps(payload, indent=1, default=float) + "\n"),
                       (os.path.join(out, workload + ".md"), md)):
        with open(name + ".tmp", "w") as f:
            f.write(text)
        os.replace(name + ".tmp", name)
    return path


def add_out(parser):
    """The --out DIR option every benchmark script takes."""
    parser.add_argument("--out", metavar="DIR", help="write <workload>.json/.md into DIR instead of the record, "
                        "benchmarks/results/ (for before/after experiments)")


def measure(workload, fn, out=None, quick=False, cmd=None, echo=True):
    """Run ``fn() -> (results, markdown)`` under a load meter, print its Markdown and write its
    files. Returns the results."""
    with Load() as load:
        results, md = fn()
    if echo:
        print(md, flush=True)
    write(workload, results, md, stamp(load.stamp, quick, cmd), out)
    return results


def read(folder=None):
    """{workload: payload} of every record file in ``folder`` (benchmarks/results/ by default)."""
    folder = folder or RESULTS
    out = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".json"):
            with open(os.path.join(folder, name)) as f:
                out[name[:-5]] = json.load(f)
    return out
