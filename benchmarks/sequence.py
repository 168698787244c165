"""Sequence models (issue #22), ember beside PyTorch CPU in one run:

* ``gpt``: one training step of the default Tiny Shakespeare GPT recipe (4 layers, 4 heads,
  width 128, context 64, batch 12, vocabulary 65; AdamW with weight decay on the matrices,
  gradient clipping at 1.0): forward, cross-entropy, backward, clip, step.
* ``lstm``: one training step of a 2-layer ``nn.LSTM`` (input 64, hidden 256, sequence 64,
  batch 32, batch_first) with a mean-square loss and Adam.
* ``gptmemory``: the peak memory of 20 GPT steps, each framework in a fresh process, as the
  growth of the peak RSS over what the process held once its libraries and model were loaded.
* ``gptrun`` (only when named: about 10 minutes): the whole default recipe, 2,000 steps on
  Tiny Shakespeare, in both frameworks from the same start (PyTorch loads ember's initial
  state_dict) on the same batches, with the wall time and the final validation loss of each.

The PyTorch twin of the GPT is ember's own model file, ``ember/models_gpt.py``, executed with
``torch`` in ember's place: the same code, so the same modules, shapes and initialization.
Times are the best of interleaved runs of ``STEPS`` steps (see ``common.min_interleaved``).

    python -m benchmarks --only gpt lstm gptmemory
    python -m benchmarks --only gptrun       # needs tinyshakespeare/input.txt (EMBER_DATA or ../shared/data)
"""
import os
import subprocess
import sys

import numpy as np

from benchmarks.common import loadavg, min_interleaved, ratio, table, threads

STEPS = 5
GPT = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128)
GPT_BATCH = 12
LSTM = dict(input_size=64, hidden_size=256, num_layers=2, batch_first=True)
LSTM_BATCH, LSTM_SEQ = 32, 64


def torch_models():
    """ember/models_gpt.py executed with torch: a namespace holding its GPT and CharLSTM."""
    import ember.models_gpt

    with open(ember.models_gpt.__file__) as f:
        src = f.read()
    for a, b in (("from . import nn", "from torch import nn"),
                 ("from .nn import functional as F", "from torch.nn import functional as F"),
                 ("import ember", "import torch as ember")):
        assert a in src, f"ember/models_gpt.py no longer has {a!r}: update benchmarks/sequence.py"
        src = src.replace(a, b)
    ns = {"__name__": "models_gpt_on_torch"}
    exec(compile(src, "ember/models_gpt.py (on torch)", "exec"), ns)
    return ns


def _decay_groups(model, weight_decay=0.1):
    params = list(model.parameters())
    return [{"params": [p for p in params if p.ndim >= 2], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0}]


def gpt_step(lib, seed=0):
    """(step function, model) for one framework (``lib`` is ember or torch): each call trains
    one step on the next of a fixed cycle of random batches."""
    lib.manual_seed(seed)
    if lib.__name__ == "ember":
        from ember.models_gpt import GPT as Model
    else:
        Model = torch_models()["GPT"]
    model = Model(**GPT)
    model.train()
    opt = lib.optim.AdamW(_decay_groups(model), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    rng = np.random.default_rng(seed)
    data = [lib.from_numpy(rng.integers(0, GPT["vocab_size"], (GPT_BATCH, GPT["block_size"] + 1)))
            for _ in range(4)]
    state = {"k": 0}
    F = lib.nn.functional

    def step():
        d = data[state["k"] % len(data)]
        state["k"] += 1
        x, y = d[:, :-1], d[:, 1:]
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    return step, model


def lstm_step(lib, seed=0):
    lib.manual_seed(seed)
    model = lib.nn.LSTM(**LSTM)
    opt = lib.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(seed)
    x = lib.from_numpy(rng.standard_normal((LSTM_BATCH, LSTM_SEQ, LSTM["input_size"])).astype(np.float32))
    y = lib.from_numpy(rng.standard_normal((LSTM_BATCH, LSTM_SEQ, LSTM["hidden_size"])).astype(np.float32))
    F = lib.nn.functional

    def step():
        out, _ = model(x)
        loss = F.mse_loss(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    return step, model


def _steps(fn, n):
    def run():
        for _ in range(n):
            fn()
    return run


def workload(kind, quick, torch):
    """{"ember": seconds per step, "PyTorch": ...} of the ``gpt`` or ``lstm`` step."""
    import ember

    make = gpt_step if kind == "gpt" else lstm_step
    fns = {"ember": _steps(make(ember)[0], STEPS)}
    if torch is not None:
        fns["PyTorch"] = _steps(make(torch)[0], STEPS)
    best = min_interleaved(list(fns.values()), repeat=2 if quick else 5)
    return {k: t / STEPS for k, t in zip(fns, best)}


MEMORY_SCRIPT = r"""
import gc, resource, sys
sys.path.insert(0, {root!r})
from benchmarks import memory, sequence
who = sys.argv[1]
if who == "torch":
    import torch as lib
    lib.set_num_threads({threads})
else:
    import ember as lib
step, model = sequence.gpt_step(lib)
gc.collect()
reset = memory.reset_peak()
base = memory.status("VmRSS")
for _ in range({steps}):
    step()
peak = memory.status("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(peak, peak - base, int(reset))
"""


def gpt_memory(quick, with_torch):
    """{"ember": (peak MB, growth MB), "PyTorch": ...} of ``steps`` GPT steps, fresh processes."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    script = MEMORY_SCRIPT.format(root=root, threads=threads(), steps=5 if quick else 20)
    out = {}
    for who, name in (("ember", "ember"), ("torch", "PyTorch"))[:2 if with_torch else 1]:
        r = subprocess.run([sys.executable, "-c", script, who], capture_output=True, text=True, check=True)
        peak, growth, _ = r.stdout.split()
        out[name] = (float(peak), float(growth))
    return out


def _text_splits():
    """(train ids, validation ids) of Tiny Shakespeare as int64 arrays, from ember's dataset
    (``EMBER_DATA``, the usual folders, or the workplace's ../shared/data)."""
    from ember.datasets import TinyShakespeare

    root = None
    shared = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
    if not os.environ.get("EMBER_DATA") and os.path.isdir(os.path.join(shared, "tinyshakespeare")):
        root = shared
    return tuple(np.asarray(TinyShakespeare(root, train=t, block_size=GPT["block_size"]).data, np.int64)
                 for t in (True, False))


def _blocks(ids, starts):
    T = GPT["block_size"]
    idx = starts[:, None] + np.arange(T + 1)
    b = ids[idx]
    return b[:, :-1], b[:, 1:]


def gpt_recipe(lib, splits, steps, start_state=None, seed=0, eval_batches=50):
    """The default ``ember train --model gpt`` recipe in framework ``lib``: (seconds of the
    training loop, final validation loss, the initial state_dict as NumPy arrays). Batch starts
    come from NumPy generators seeded alike in both runs, so both see the same batches."""
    import time

    from ember._cli_text import lr_factor

    train_ids, val_ids = splits
    model = gpt_step(lib, seed)[1]
    if start_state is not None:
        model.load_state_dict({k: lib.from_numpy(v.copy()) for k, v in start_state.items()})
    state0 = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    opt = lib.optim.AdamW(_decay_groups(model), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
    sched = lib.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_factor(s, steps, 100))
    F = lib.nn.functional
    V, T = GPT["vocab_size"], GPT["block_size"]
    rng = np.random.default_rng(seed + 1)
    model.train()
    t0 = time.perf_counter()
    for _ in range(steps):
        x, y = _blocks(train_ids, rng.integers(0, len(train_ids) - T, GPT_BATCH))
        logits = model(lib.from_numpy(x))
        loss = F.cross_entropy(logits.reshape(-1, V), lib.from_numpy(y).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
    seconds = time.perf_counter() - t0
    model.eval()
    vrng, total = np.random.default_rng(seed + 2), 0.0
    with lib.no_grad():
        for _ in range(eval_batches):
            x, y = _blocks(val_ids, vrng.integers(0, len(val_ids) - T, GPT_BATCH))
            total += float(F.cross_entropy(model(lib.from_numpy(x)).reshape(-1, V), lib.from_numpy(y).reshape(-1)))
    return seconds, total / eval_batches, state0


STEP_TITLES = {"gpt": "GPT step (4 layers, 4 heads, width 128, context 64, batch 12; AdamW, clip)",
               "lstm": "2-layer LSTM step (input 64, hidden 256, sequence 64, batch 32; Adam)"}


def step_table(kind, quick, torch):
    """One training step of ``kind`` ("gpt" or "lstm"): (results, Markdown)."""
    res = workload(kind, quick, torch)
    t = res.get("PyTorch")
    row = [STEP_TITLES[kind], f"{res['ember'] * 1e3:.1f}", f"{t * 1e3:.1f}" if t else "-", ratio(res["ember"], t)]
    return res, table("Sequence models, one training step (ms per step, best of interleaved runs)",
                      ["workload", "ember", "PyTorch", "ember / PyTorch"], [row], f"Load average {loadavg()}.")


def memory_table(quick, torch):
    res = gpt_memory(quick, torch is not None)
    e, t = res["ember"], res.get("PyTorch")
    return res, table("GPT training, peak memory of 20 steps in a fresh process (MB; growth = peak minus the "
                      "resident size with libraries and model loaded)",
                      ["", "ember", "PyTorch", "ember / PyTorch"],
                      [["peak", f"{e[0]:.0f}", f"{t[0]:.0f}" if t else "-", ratio(e[0], t and t[0])],
                       ["growth", f"{e[1]:.0f}", f"{t[1]:.0f}" if t else "-", ratio(e[1], t and t[1])]])


def recipe_table(quick, torch):
    """The whole default recipe (opt-in: minutes)."""
    import ember

    splits, steps = _text_splits(), 200 if quick else 2000
    e_s, e_val, state0 = gpt_recipe(ember, splits, steps)
    res = {"ember": (e_s, e_val)}
    if torch is not None:
        t_s, t_val, _ = gpt_recipe(torch, splits, steps, start_state=state0)
        res["PyTorch"] = (t_s, t_val)
    t = res.get("PyTorch")
    return res, table(f"The default GPT recipe, {steps} steps on Tiny Shakespeare from the same start and batches "
                      "(training loop seconds; validation loss over 50 batches)",
                      ["", "ember", "PyTorch", "ember / PyTorch"],
                      [["seconds", f"{e_s:.0f}", f"{t[0]:.0f}" if t else "-", ratio(e_s, t and t[0])],
                       ["val loss", f"{e_val:.4f}", f"{t[1]:.4f}" if t else "-", ""]],
                      f"Load average {loadavg()}.")


# workload name -> fn(quick, torch) -> (results, Markdown); the suite records each in its own file
WORKLOADS = {"gpt": lambda quick, torch: step_table("gpt", quick, torch),
             "lstm": lambda quick, torch: step_table("lstm", quick, torch),
             "gptmemory": memory_table, "gptrun": recipe_table}
