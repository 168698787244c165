"""The named tuples some ops return, as ``torch.return_types``: ``x.max(dim)`` gives
``max(values=..., indices=...)``, indexable and unpackable as a plain tuple."""
import collections

__all__ = ["max", "min", "aminmax", "cummax", "cummin", "median", "nanmedian", "mode", "kthvalue", "sort",
           "topk", "histogram", "frexp", "slogdet", "qr", "svd", "linalg_eigh"]


def _make(name, fields):
    base = collections.namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"ember.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__, "__module__": __name__})
    return cls


max = _make("max", ["values", "indices"])
min = _make("min", ["values", "indices"])
cummax = _make("cummax", ["values", "indices"])
cummin = _make("cummin", ["values", "indices"])
median = _make("median", ["values", "indices"])
nanmedian = _make("nanmedian", ["values", "indices"])
mode = _make("mode", ["values", "indices"])
kthvalue = _make("kthvalue", ["values", "indices"])
sort = _make("sort", ["values", "indices"])
topk = _make("topk", ["values", "indices"])
histogram = _make("histogram", ["hist", "bin_edges"])
aminmax = _make("aminmax", ["min", "max"])
frexp = _make("frexp", ["mantissa", "exponent"])
slogdet = _make("slogdet", ["sign", "logabsdet"])
qr = _make("qr", ["Q", "R"])
svd = _make("svd", ["U", "S", "V"])
linalg_eigh = _make("linalg_eigh", ["eigenvalues", "eigenvectors"])
# ----- linalg-decomp -----
linalg_qr = _make("linalg_qr", ["Q", "R"])
linalg_svd = _make("linalg_svd", ["U", "S", "Vh"])
__all__ += ["linalg_qr", "linalg_svd"]
# ----- end linalg-decomp -----
# ----- linalg-solve -----
linalg_slogdet = _make("linalg_slogdet", ["sign", "logabsdet"])
linalg_inv_ex = _make("linalg_inv_ex", ["inverse", "info"])
linalg_solve_ex = _make("linalg_solve_ex", ["result", "info"])
linalg_cholesky_ex = _make("linalg_cholesky_ex", ["L", "info"])
linalg_lstsq = _make("linalg_lstsq", ["solution", "residuals", "rank", "singular_values"])
__all__ += ["linalg_slogdet", "linalg_inv_ex", "linalg_solve_ex", "linalg_cholesky_ex", "linalg_lstsq"]
# ----- end linalg-solve -----
