"""Vision workloads (issue #23), ember beside PyTorch CPU in one run:

* ``resnet18``: ResNet-18 (``ember.vision.models.resnet18`` against torchvision's, holding the
  same weights) inference at batch 16, 224x224, and a training step (forward, cross-entropy,
  backward, SGD with momentum) at batch 32, 64x64.
* ``upsampling``: ``nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)`` and bilinear
  ``F.interpolate(scale_factor=2)`` forward+backward on (16, 64, 32, 32).

Times are the best of interleaved runs (``common.min_interleaved``).

    python -m benchmarks --only resnet18 upsampling
"""
import numpy as np

from benchmarks.common import import_torchvision, loadavg, min_interleaved, ratio, table


def _resnets(torch):
    """(ember ResNet-18, torchvision's with the same weights or None)."""
    import ember
    from ember.vision import models

    ember.manual_seed(0)
    em = models.resnet18()
    tv = import_torchvision() if torch is not None else None
    if tv is None:
        return em, None
    tm = tv.models.resnet18()
    tm.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in em.state_dict().items()})
    return em, tm


def _inference(lib, model, x):
    model.eval()

    def f():
        with lib.no_grad():
            model(x)
    return f


def _train_step(lib, model, x, y):
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    F = lib.nn.functional

    def f():
        model.train()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return f


def workload_resnet18(quick, torch):
    import ember

    r = np.random.default_rng(0)
    xi = r.standard_normal((16, 3, 224, 224)).astype(np.float32)
    xt = r.standard_normal((32, 3, 64, 64)).astype(np.float32)
    yt = r.integers(0, 1000, 32)
    em, tm = _resnets(torch)
    rows, res = [], {}
    for name, fe, ft in (
        ("inference, batch 16, 224x224", lambda: _inference(ember, em, ember.from_numpy(xi)),
         lambda: _inference(torch, tm, torch.from_numpy(xi))),
        ("training step, batch 32, 64x64", lambda: _train_step(ember, em, ember.from_numpy(xt), ember.from_numpy(yt)),
         lambda: _train_step(torch, tm, torch.from_numpy(xt), torch.from_numpy(yt))),
    ):
        fns = [fe()] + ([ft()] if tm is not None else [])
        best = min_interleaved(fns, repeat=2 if quick else 5)
        res[name] = {"ember": best[0], "PyTorch": best[1] if tm is not None else None}
        t = res[name]["PyTorch"]
        rows.append([name, f"{best[0] * 1e3:.0f}", f"{t * 1e3:.0f}" if t else "-", ratio(best[0], t)])
    return res, table("ResNet-18 (ms per call, best of interleaved runs)", ["workload", "ember", "PyTorch",
                                                                          "ember / PyTorch"], rows,
                      f"Load average {loadavg()}.")


def workload_upsampling(quick, torch):
    import ember

    x = np.random.default_rng(1).standard_normal((16, 64, 32, 32)).astype(np.float32)

    def make(lib):
        lib.manual_seed(0)
        conv = lib.nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
        xt = lib.from_numpy(x.copy()).requires_grad_()
        F = lib.nn.functional

        def deconv():
            conv(xt).sum().backward()

        def bilinear():
            F.interpolate(xt, scale_factor=2, mode="bilinear", align_corners=False).sum().backward()
        return deconv, bilinear

    e = make(ember)
    t = make(torch) if torch is not None else None
    rows, res = [], {}
    for k, name in enumerate(("ConvTranspose2d(64, 32, 4, stride=2, padding=1)", "bilinear interpolate x2")):
        fns = [e[k]] + ([t[k]] if t else [])
        best = min_interleaved(fns, repeat=2 if quick else 5)
        res[name] = {"ember": best[0], "PyTorch": best[1] if t else None}
        tt = res[name]["PyTorch"]
        rows.append([name, f"{best[0] * 1e3:.1f}", f"{tt * 1e3:.1f}" if tt else "-", ratio(best[0], tt)])
    return res, table("Upsampling layers on (16, 64, 32, 32), forward+backward (ms per call)",
                      ["layer", "ember", "PyTorch", "ember / PyTorch"], rows, f"Load average {loadavg()}.")


# workload name -> fn(quick, torch) -> (results, Markdown); the suite records each in its own file
WORKLOADS = {"resnet18": workload_resnet18, "upsampling": workload_upsampling}
