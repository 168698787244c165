"""``python -m benchmarks.coverage [--missing] [--category NAME] [--json FILE]``: how much of
PyTorch's public API ember has, per category.

Needs PyTorch installed (the list of names comes from it; without it the script says so and
exits 0). The rule for "public": a name with no leading underscore (so operator dunders like
``Tensor.__add__`` are not counted), found on the PyTorch object of the category, and

* torch functions: ``dir(torch)`` entries that are callable, not classes and not modules,
  with a docstring (PyTorch documents its public functions; the undocumented entries of
  ``torch`` are internal kernels such as ``fbgemm_*``), not from ``typing``, and not
  TorchScript's compiler hooks (``fork``, ``wait``, ``parse_ir``, ...);
* Tensor methods: callable attributes of ``torch.Tensor`` with a docstring; Tensor attributes:
  its documented non-callable attributes (``shape``, ``grad``, ``T``...);
* torch.nn modules: ``torch.nn`` classes that subclass ``torch.nn.Module``;
* torch.nn.functional and torch.nn.init: documented functions of those modules defined in
  torch itself (not re-exported helpers such as ``handle_torch_function``), deprecated
  aliases (``init.uniform``, ``F.upsample``: "deprecated in favor of ...") left out;
* torch.optim: ``Optimizer`` subclasses; torch.optim.lr_scheduler: the classes defined there;
* torch.utils.data: its ``__all__`` less the DataPipes (``torch.utils.data.datapipes``,
  deprecated).

ember has a name when the ember counterpart (``ember``, ``ember.Tensor``, ``ember.nn``, ...;
``ember.utils.data``, else ``ember.data``) has an attribute of that name that is not a module.
"""
import argparse
import importlib
import inspect
import json
import sys
import types

CATEGORIES = ("torch functions", "Tensor methods", "Tensor attributes", "torch.nn modules", "torch.nn.functional",
              "torch.nn.init", "torch.optim", "torch.optim.lr_scheduler", "torch.utils.data")

_NOT_API_MODULES = ("typing", "torch.overrides", "torch._jit_internal", "torch._C._overrides",
                    "torch.utils.data.datapipes")
_TORCHSCRIPT_HOOKS = {"fork", "wait", "parse_ir", "parse_schema", "parse_type_comment", "import_ir_module",
                      "import_ir_module_from_buffer", "merge_type_from_type_comment", "unify_type_list"}


def _documented(obj):
    doc = getattr(obj, "__doc__", None)
    return isinstance(doc, str) and doc.strip() != ""


def _deprecated(obj):
    doc = " ".join((getattr(obj, "__doc__", "") or "").lower().split())
    return any(s in doc for s in ("deprecated in favor", "is now deprecated", "function is deprecated"))


def _function(obj):
    return callable(obj) and not isinstance(obj, (type, types.ModuleType))


def _from_torch(obj):
    mod = getattr(obj, "__module__", None) or ""
    return (mod != "torch._C" and not mod.startswith(_NOT_API_MODULES)
            and (mod == "" or mod.startswith("torch")))


def _names(torch, category):
    """PyTorch's public names in ``category``, sorted (the rule is in the module docstring)."""
    def public(ns):
        for n in dir(ns):
            if n.startswith("_"):
                continue
            try:
                yield n, getattr(ns, n)
            except Exception:  # a lazy attribute that cannot load here
                continue

    if category == "torch functions":
        out = [n for n, o in public(torch) if _function(o) and _documented(o) and _from_torch(o)
               and n not in _TORCHSCRIPT_HOOKS]
    elif category == "Tensor methods":
        out = [n for n, o in public(torch.Tensor) if callable(o) and _documented(o)]
    elif category == "Tensor attributes":
        out = [n for n in dir(torch.Tensor) if not n.startswith("_")
               and not callable(getattr(torch.Tensor, n, None))
               and _documented(inspect.getattr_static(torch.Tensor, n, None))]
    elif category == "torch.nn modules":
        out = [n for n, o in public(torch.nn) if isinstance(o, type) and issubclass(o, torch.nn.Module)]
    elif category in ("torch.nn.functional", "torch.nn.init"):
        ns = importlib.import_module(category)
        out = [n for n, o in public(ns) if _function(o) and _documented(o) and _from_torch(o) and not _deprecated(o)]
    elif category == "torch.optim":
        out = [n for n, o in public(torch.optim) if isinstance(o, type) and issubclass(o, torch.optim.Optimizer)]
    elif category == "torch.optim.lr_scheduler":
        ns = torch.optim.lr_scheduler
        out = [n for n, o in public(ns) if isinstance(o, type) and o.__module__ == ns.__name__]
    elif category == "torch.utils.data":
        import torch.utils.data as tud

        out = [n for n in tud.__all__ if not n.startswith("_") and _from_torch(getattr(tud, n))]
    else:
        raise ValueError(f"unknown category {category!r}; one of {', '.join(CATEGORIES)}")
    return sorted(set(out))


def _ember_namespace(category):
    import ember

    if category == "torch functions":
        return ember
    if category in ("Tensor methods", "Tensor attributes"):
        return ember.Tensor
    if category == "torch.utils.data":
        try:
            return importlib.import_module("ember.utils.data")
        except ImportError:
            return importlib.import_module("ember.data")
    name = {"torch.nn modules": "ember.nn"}.get(category, "ember" + category[len("torch"):])
    return importlib.import_module(name)


def _has(ns, name):
    try:
        value = getattr(ns, name)
    except Exception:  # AttributeError, or a lazy import that fails
        return False
    return not isinstance(value, types.ModuleType)


def coverage(categories=CATEGORIES):
    """{category: {"torch": [names], "ember": [names ember has], "missing": [names]}}."""
    import torch

    out = {}
    for cat in categories:
        names = _names(torch, cat)
        ns = _ember_namespace(cat)
        have = [n for n in names if _has(ns, n)]
        out[cat] = {"torch": names, "ember": have, "missing": [n for n in names if n not in set(have)]}
    return out


def _wrap(names, width=100, indent="    "):
    lines, line = [], indent
    for n in names:
        if len(line) + len(n) + 1 > width and line.strip():
            lines.append(line.rstrip())
            line = indent
        line += n + " "
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.coverage", description=__doc__.split("\n\n")[0])
    p.add_argument("--missing", action="store_true", help="list the names ember lacks, per category")
    p.add_argument("--category", action="append", choices=CATEGORIES, help="only this category (repeatable)")
    p.add_argument("--json", metavar="FILE", help="also write the figures and names as JSON")
    args = p.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("coverage: skipped, PyTorch is not installed (pip install torch==2.13.0)", file=sys.stderr)
        return 0
    import ember

    cats = tuple(args.category) if args.category else CATEGORIES
    result = coverage(cats)
    print(f"ember {ember.__version__} against PyTorch {torch.__version__}: public names ember has")
    print(f"{'category':<28}{'ember':>7}{'torch':>7}{'%':>7}")
    tot_e = tot_t = 0
    for cat, r in result.items():
        e, t = len(r["ember"]), len(r["torch"])
        tot_e, tot_t = tot_e + e, tot_t + t
        print(f"{cat:<28}{e:>7}{t:>7}{100 * e / max(t, 1):>6.1f}%")
    print(f"{'total':<28}{tot_e:>7}{tot_t:>7}{100 * tot_e / max(tot_t, 1):>6.1f}%")
    if args.missing:
        for cat, r in result.items():
            print(f"\nmissing from {cat} ({len(r['missing'])}):")
            print(_wrap(r["missing"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch": torch.__version__, "ember": ember.__version__, "categories": result}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
