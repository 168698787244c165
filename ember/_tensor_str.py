"""How a Tensor prints: PyTorch's layout, digit for digit.

One format is chosen for the whole tensor from its finite non-zero values:

- integers and bools print as they are, right-aligned to the widest;
- floats that are all whole numbers print as ``1.`` (int mode), unless they span more than
  three orders of magnitude or exceed 1e8, when they go scientific;
- other floats print with ``precision`` digits after the point (``0.5000``), and go
  scientific (``1.0000e-05``) when they span more than three orders of magnitude, exceed 1e8
  or fall below 1e-4.

``set_printoptions(sci_mode=)`` overrides the choice. Above ``threshold`` elements only the
``edgeitems`` at each end of every dimension are shown, around ``...``.
"""
import math

import numpy as np

from ._dtype import _is_bf16
from ._settings import PRINT_OPTS

_PREFIX = "tensor("


class _Format:
    """The one number format of a tensor's elements, and the width they are padded to."""

    def __init__(self, values):
        opts = PRINT_OPTS
        self.precision = opts["precision"]
        self.floating = values.dtype.kind == "f"
        self.bool = values.dtype.kind == "b"
        self.int_mode, self.sci_mode, self.width = True, False, 1
        flat = values.reshape(-1)
        if not self.floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
        else:
            finite = flat[np.isfinite(flat) & (flat != 0)].astype(np.float64)
            if finite.size:  # else (zeros, inf, nan only): int mode, width 1, "0." and "inf"
                big, small = np.abs(finite).max(), np.abs(finite).min()
                self.int_mode = bool(np.all(finite == np.ceil(finite)))
                spread = big / small > 1000.0 or big > 1.0e8
                self.sci_mode = spread if self.int_mode else spread or small < 1.0e-4
                if opts["sci_mode"] is not None:
                    self.sci_mode = opts["sci_mode"]
                for v in finite.tolist():
                    self.width = max(self.width, len(self._plain(v)))
        if self.floating and opts["sci_mode"] is not None:
            self.sci_mode = opts["sci_mode"]

    def _plain(self, v):
        if self.sci_mode:
            return f"{v:.{self.precision}e}"
        if self.int_mode:
            return f"{v:.0f}" + ("" if math.isinf(v) or math.isnan(v) else ".")
        return f"{v:.{self.precision}f}"

    def __call__(self, v):
        if self.floating:
            s = f"{v:{self.width}.{self.precision}e}" if self.sci_mode else self._plain(v)
        else:
            s = str(v)
        return s.rjust(self.width)


def _summarized(a, edge):
    """The elements the printed form shows: every dimension cut to its ``edge`` ends."""
    if a.ndim == 0:
        return a
    if a.shape[0] > 2 * edge:
        parts = [a[:edge], a[-edge:]] if edge else [a[:0]]
        a = np.concatenate(parts)
    if a.ndim == 1:
        return a
    return np.stack([_summarized(x, edge) for x in a]) if len(a) else a


def _body(a, fmt, indent, summarize):
    opts = PRINT_OPTS
    edge = opts["edgeitems"]
    if a.ndim == 0:
        return fmt(a.item())
    if a.ndim == 1:
        per_line = max(1, int(math.floor((opts["linewidth"] - indent) / (fmt.width + 2))))
        if summarize and not edge:
            items = ["..."]
        elif summarize and a.shape[0] > 2 * edge:
            items = [fmt(v) for v in a[:edge].tolist()] + [" ..."] + [fmt(v) for v in a[-edge:].tolist()]
        else:
            items = [fmt(v) for v in a.tolist()]
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    if summarize and a.shape[0] > 2 * edge:
        rows = ([_body(a[i], fmt, indent + 1, summarize) for i in range(edge)] + ["..."]
                + [_body(a[i], fmt, indent + 1, summarize) for i in range(len(a) - edge, len(a))])
    else:
        rows = [_body(a[i], fmt, indent + 1, summarize) for i in range(a.shape[0])]
    return "[" + ("," + "\n" * (a.ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def _with_suffixes(text, suffixes, indent):
    out = [text]
    last = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > PRINT_OPTS["linewidth"]:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    return "".join(out) + ")"


def tensor_repr(data, suffixes):
    """``tensor(...)`` for the array ``data``, followed by ``suffixes`` (``dtype=...``,
    ``grad_fn=...``) as PyTorch places them: on the last line while they fit, else below."""
    indent = len(_PREFIX)
    if (data.dtype.kind == "f" and data.dtype.itemsize < 4) or _is_bf16(data.dtype):
        data = data.astype(np.float32)  # half precision prints through float, as in PyTorch
    if data.dtype.kind not in "biuf":  # complex: NumPy's layout (PyTorch's real/imag formats are not built)
        body = np.array2string(data, separator=", ", prefix=_PREFIX, precision=PRINT_OPTS["precision"])
    elif data.size == 0:
        body = "[]"
        if data.shape != (0,):
            suffixes = [f"size={tuple(data.shape)}"] + list(suffixes)
    else:
        if not PRINT_OPTS["edgeitems"]:
            suffixes = [f"size={tuple(data.shape)}"] + list(suffixes)
        summarize = data.size > PRINT_OPTS["threshold"]
        shown = _summarized(data, PRINT_OPTS["edgeitems"]) if summarize else data
        body = _body(data, _Format(shown), indent, summarize)
    return _with_suffixes(_PREFIX + body, suffixes, indent)
