"""``ember run``: unmodified PyTorch scripts, run in a subprocess with torch resolved to ember."""
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HAVE_TORCH = importlib.util.find_spec("torch") is not None


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _write(dirpath, name, code):
    path = dirpath / name
    path.write_text(textwrap.dedent(code).lstrip("\n"))
    return path


def ember_run(tmp_path, code, *args, name="script.py", launcher=("-m", "ember.run")):
    _write(tmp_path, name, code)
    return subprocess.run([sys.executable, *launcher, name, *args], cwd=tmp_path, env=_env(), capture_output=True,
                          text=True, timeout=300)


TRAIN = '''
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim.lr_scheduler
from torch import optim
from torch.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def main():
    data = np.load(sys.argv[1])
    model = Net()
    model.load_state_dict({k[2:]: torch.tensor(data[k]) for k in data.files if k.startswith("w_")})
    loader = DataLoader(TensorDataset(torch.tensor(data["x"]), torch.tensor(data["y"])), batch_size=8,
                        shuffle=False)
    if sys.argv[2] == "sgd":
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    else:
        opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(3):
        model.train()
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            print(f"loss {loss.item():.4f} {loss.item()!r}")
        sched.step()
    model.eval()
    with torch.no_grad():
        print("eval", repr(F.cross_entropy(model(torch.tensor(data["x"])), torch.tensor(data["y"])).item()))


if __name__ == "__main__":
    main()
'''


def _train_data(path):
    rng = np.random.default_rng(0)
    b1, b2 = 1 / np.sqrt(6), 1 / np.sqrt(16)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    np.savez(path, x=x, y=x[:, :3].argmax(1).astype(np.int64),  # learnable labels
             **{"w_fc1.weight": rng.uniform(-b1, b1, (16, 6)).astype(np.float32),
                "w_fc1.bias": rng.uniform(-b1, b1, 16).astype(np.float32),
                "w_fc2.weight": rng.uniform(-b2, b2, (3, 16)).astype(np.float32),
                "w_fc2.bias": rng.uniform(-b2, b2, 3).astype(np.float32)})


def _losses(stdout):
    return [float(line.split()[2]) for line in stdout.splitlines() if line.startswith("loss ")]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_training_script_runs_and_its_losses_match_real_pytorch(tmp_path, optimizer):
    _train_data(tmp_path / "data.npz")
    ours = ember_run(tmp_path, TRAIN, "data.npz", optimizer)
    assert ours.returncode == 0, ours.stderr
    lines = [line for line in ours.stdout.splitlines() if line.startswith("loss ")]
    assert len(lines) == 12  # 3 epochs of 4 batches
    assert all(re.fullmatch(r"loss \d+\.\d{4} \S+", line) for line in lines)
    a = _losses(ours.stdout)
    assert a[-1] < a[0]
    if not HAVE_TORCH:
        pytest.skip("PyTorch oracle not installed: pip install torch==2.13.0")
    real = subprocess.run([sys.executable, "script.py", "data.npz", optimizer], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)  # the same script, the same start weights, real PyTorch
    assert real.returncode == 0, real.stderr
    b = _losses(real.stdout)
    assert len(b) == 12
    np.testing.assert_allclose(a, b, rtol=1e-5)
    ev = [float(line.split()[1]) for out in (ours.stdout, real.stdout) for line in out.splitlines()
          if line.startswith("eval ")]
    np.testing.assert_allclose(ev[0], ev[1], rtol=1e-5)


NAMESPACE = '''
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint
import torch.autograd
import torch.func
from torch import nn as nn2, optim
from torch.utils.data import DataLoader

import ember
import helper

print("same", torch.nn.Linear is ember.nn.Linear, F.relu is ember.nn.functional.relu, nn is nn2,
      sys.modules["torch"] is torch, sys.modules["torch.nn"] is nn, torch.Tensor is ember.Tensor,
      optim.SGD is ember.optim.SGD, torch.utils.checkpoint.checkpoint is ember.utils.checkpoint.checkpoint,
      torch.autograd.grad is ember.autograd.grad, torch.func.grad is ember.func.grad,
      DataLoader.__module__.startswith("ember."))
print("real", "torch._C" in sys.modules,
      any(k.startswith("torch") and "site-packages" in str(getattr(m, "__file__", "")) for k, m in sys.modules.items()))
print("version", torch.__version__)
print("cuda", torch.cuda.is_available(), torch.cuda.device_count(), torch.backends.mps.is_available())
f = lambda x: x
print("passthrough", torch.compile(f) is f, torch.compile(mode="max-autotune")(f) is f, torch.jit.script(f) is f)
torch.backends.cudnn.benchmark = True
torch.backends.cuda.matmul.allow_tf32 = True
print("hasattr", hasattr(torch, "no_such_api"), getattr(torch.nn, "NoSuchLayer", None))
print("main", __name__, os.path.basename(__file__), sys.argv[1:], helper.VALUE)
'''


def test_torch_names_resolve_to_ember_and_real_torch_is_not_imported(tmp_path):
    _write(tmp_path, "helper.py", "VALUE = 'next to the script'\n")
    r = ember_run(tmp_path, NAMESPACE, "--epochs", "3", "-h", "x y")
    assert r.returncode == 0, r.stderr
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert out["same"] == " ".join(["True"] * 11)
    assert out["real"] == "False False"  # torch is installed in the test venv, yet not used
    assert out["version"] == "2.13.0+ember"
    import ember

    if not getattr(getattr(ember, "cuda", None), "is_available", lambda: False)():  # no GPU ember can use
        assert out["cuda"] == "False 0 False"
    assert out["passthrough"] == "True True True"
    assert out["hasattr"] == "False None"
    assert out["main"] == "__main__ script.py ['--epochs', '3', '-h', 'x y'] next to the script"


def test_the_ember_command_runs_a_script_with_its_arguments(tmp_path):
    code = "import sys, torch\ntorch.zeros(2)\nprint(sys.argv[1:])\n"
    r = ember_run(tmp_path, code, "--debug", "--lr", "0.1", launcher=("-m", "ember", "run"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['--debug', '--lr', '0.1']"


def run_here(tmp_path, monkeypatch, capsys, code, *args, name="script.py"):
    """``ember run`` in this process (quicker than a subprocess): (exit status, stdout, stderr)."""
    from ember.run import main

    _write(tmp_path, name, code)
    monkeypatch.chdir(tmp_path)
    rc = main([name, *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


MISSING = '''
import torch
import torch.nn as nn

model = nn.Linear(4, 4)
layer = nn.LazyLinear(8)
'''


def test_a_missing_torch_name_stops_the_script_with_one_error(tmp_path):
    r = ember_run(tmp_path, MISSING)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines()[-1] == ("ember._torch_shim.NotInEmberError: ember run: "
                                                 "torch.nn.LazyLinear is not implemented in ember "
                                                 "(used at script.py:5)")
    assert r.stderr.startswith("Traceback") and 'script.py", line 5' in r.stderr and "runpy" not in r.stderr
    assert "_torch_shim.py" not in r.stderr  # the traceback ends at the script's line


@pytest.mark.parametrize("code, api, line", [
    (MISSING, "torch.nn.LazyLinear", 5),
    ("import torch\n\nimport torch.quantization\n", "torch.quantization", 3),
    ("import torch\nfrom torch.nn.utils import prune\n", "torch.nn.utils.prune", 2),
    ("import torch\n\nfrom torch.nn import Linear, LazyLinear\n", "torch.nn.LazyLinear", 3),
    ("import torch\nx = torch.zeros(3)\ny = torch.no_such_function(x)\n", "torch.no_such_function", 3),
    ("import torch\nimport torch.nn.functional as F\n\nF.no_such_activation(torch.zeros(3))\n",
     "torch.nn.functional.no_such_activation", 4),
    ("import torch\nx = torch.zeros(3)\n\nx.no_such_method()\n", "torch.Tensor.no_such_method", 4),
    ("from torch.distributed import init_process_group\n\ninit_process_group('gloo')\n",
     "torch.distributed.init_process_group", 3),
    ("import torch.utils.benchmark\n", "torch.utils.benchmark", 1),
    ("import torchaudio\n", "torchaudio", 1),
])
def test_a_missing_torch_name_is_one_error_naming_the_api_and_the_line(tmp_path, monkeypatch, capsys, code, api,
                                                                        line):
    rc, out, err = run_here(tmp_path, monkeypatch, capsys, code)
    assert rc == 1
    assert f"ember run: {api} is not implemented in ember (used at script.py:{line})" in err
    assert "ember/run.py" not in err  # the traceback starts at the script


def test_a_missing_name_in_a_module_the_script_imports_names_that_module(tmp_path, monkeypatch, capsys):
    _write(tmp_path, "ember_run_model_a.py", "import torch.nn as nn\n\n\ndef build():\n    return nn.LazyLinear(4)\n")
    code = "import ember_run_model_a\n\nember_run_model_a.build()\n"
    try:
        rc, out, err = run_here(tmp_path, monkeypatch, capsys, code)
    finally:
        sys.modules.pop("ember_run_model_a", None)
    assert rc == 1
    assert "ember run: torch.nn.LazyLinear is not implemented in ember (used at ember_run_model_a.py:5)" in err


def test_cuda_only_calls_say_there_is_no_gpu(tmp_path, monkeypatch, capsys):
    import ember

    if getattr(getattr(ember, "cuda", None), "is_available", lambda: False)():
        pytest.skip("this machine has a GPU that ember can use")
    code = ("import torch\n\ntry:\n    torch.cuda.get_device_name(0)\nexcept RuntimeError as e:\n"
            "    print(type(e).__name__)\nprint(torch.cuda.get_device_name(0))\n")
    rc, out, err = run_here(tmp_path, monkeypatch, capsys, code)
    assert rc == 1 and 'script.py", line 7' in err
    assert out.strip() == "NoGPUError"  # ember.cuda's answer is the documented NoGPUError, a RuntimeError
    assert "needs a GPU" in err or "needs CuPy" in err
    from ember import _torch_shim

    with pytest.raises(_torch_shim.NoGPUError, match=r"torch\.cuda\.synchronize needs a GPU.*no GPU"):
        _torch_shim._STANDINS["torch.cuda"].synchronize()


def test_amp_without_a_gpu_is_disabled_as_pytorch_disables_it(tmp_path):
    code = '''
    import warnings
    import torch
    warnings.simplefilter("ignore")
    scaler = torch.cuda.amp.GradScaler(enabled=True)
    x = torch.zeros(2, requires_grad=True)
    opt = torch.optim.SGD([x], lr=1.0)
    with torch.autocast(device_type="cuda", dtype=torch.float32):
        loss = (x * 3.0).sum()
    scaler.scale(loss).backward()
    scaler.step(opt)
    scaler.update()
    print(x.tolist() if hasattr(x, "tolist") else x.numpy().tolist(), scaler.is_enabled())
    '''
    r = ember_run(tmp_path, code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[-3.0, -3.0] False"


def test_exit_status_is_the_scripts(tmp_path):
    r = ember_run(tmp_path, "import sys\nimport torch\nsys.exit(3)\n")
    assert r.returncode == 3 and r.stderr == ""


@pytest.mark.parametrize("code, rc, err", [
    ("import sys\nsys.exit(3)\n", 3, ""),
    ("import sys\nsys.exit()\n", 0, ""),
    ("import sys\nsys.exit('bad input')\n", 1, "bad input"),
    ("import torch\n\nraise ValueError('boom')\n", 1, "ValueError: boom"),
    ("print('fine')\n", 0, ""),
])
def test_exit_status_in_process(tmp_path, monkeypatch, capsys, code, rc, err):
    got_rc, out, got_err = run_here(tmp_path, monkeypatch, capsys, code)
    assert got_rc == rc
    assert err in got_err
    if "raise" in code:
        assert got_err.startswith("Traceback") and 'script.py", line 3' in got_err and "runpy" not in got_err


def test_usage_errors(tmp_path):
    r = subprocess.run([sys.executable, "-m", "ember.run", "nope.py"], cwd=tmp_path, env=_env(), capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 2 and "can't open file 'nope.py'" in r.stderr
    r = subprocess.run([sys.executable, "-m", "ember.run"], cwd=tmp_path, env=_env(), capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and "usage: ember run" in r.stderr


def test_run_module(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    _write(pkg, "__init__.py", "")
    _write(pkg, "train.py", "import sys, torch\nprint(__name__, sys.argv[1:], torch.__version__)\n")
    r = subprocess.run([sys.executable, "-m", "ember.run", "-m", "pkg.train", "a"], cwd=tmp_path, env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "__main__ ['a'] 2.13.0+ember"


def test_in_process_run_restores_a_real_torch(tmp_path, torch):
    from ember import _torch_shim
    from ember.run import run_path

    script = _write(tmp_path, "s.py", "import torch\nimport torch.nn as nn\nLINEAR = nn.Linear\nT = torch\n")
    before = dict(sys.modules)
    g = run_path(str(script))
    import ember

    assert g["LINEAR"] is ember.nn.Linear and isinstance(g["T"], _torch_shim.TorchModule)
    assert sys.modules["torch"] is torch and sys.modules["torch.nn"] is before["torch.nn"]
    assert _torch_shim._FINDER not in sys.meta_path


def test_the_missing_name_error_is_an_attribute_error_and_not_implemented():
    from ember import _torch_shim

    with _torch_shim.installed():
        import torch as shim

        with pytest.raises(AttributeError, match=r"torch\.no_such_api is not implemented in ember") as e:
            shim.no_such_api
        assert isinstance(e.value, NotImplementedError)
        with pytest.raises(ModuleNotFoundError, match=r"torch\.no_such_module is not implemented"):
            import torch.no_such_module  # noqa: F401
    assert "torch.nn" not in sys.modules or not isinstance(sys.modules["torch.nn"], _torch_shim.TorchModule)


def test_star_import_and_torchvision_is_ember_vision():
    import ember
    import ember.vision.models
    from ember import _torch_shim

    with _torch_shim.installed():
        ns = {}
        exec("from torch.nn import *\nimport torchvision\nfrom torchvision import models, transforms", ns)
        assert ns["Linear"] is ember.nn.Linear
        assert ns["models"].resnet18 is ember.vision.models.resnet18
        assert ns["transforms"].ToTensor is ember.vision.transforms.ToTensor
        with pytest.raises(NotImplementedError, match=r"torchvision\.no_such_thing is not implemented in ember"):
            ns["torchvision"].no_such_thing


def test_torch_onnx_and_distributed_sampler_are_embers(tmp_path, monkeypatch, capsys):
    # torch.onnx.export in PyTorch's order (model, args, f) and torch.utils.data.DistributedSampler
    pytest.importorskip("onnx")
    code = """
import torch
from torch.utils.data import DistributedSampler
model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU())
torch.onnx.export(model, (torch.randn(1, 3),), "m.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}}, opset_version=17)
print(list(DistributedSampler(range(6), num_replicas=2, rank=1, shuffle=False)))
"""
    rc, out, err = run_here(tmp_path, monkeypatch, capsys, code)
    assert rc == 0, err
    assert out.strip() == "[1, 3, 5]"
    assert (tmp_path / "m.onnx").stat().st_size > 0
