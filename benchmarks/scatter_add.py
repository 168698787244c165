"""The embedding backward's row scatter-add, five ways: ``out[idx[j]] += g[j]`` for a
(rows, dim) float32 ``out``, int64 ``idx`` of shape (64, 256) and ``g`` (64 * 256, dim).

    python -m benchmarks.scatter_add [--repeat N] [--rows R] [--dims 512 64]

Prints a Markdown table of milliseconds per call (the fastest of ``repeat``), each method's
largest difference from a float64 reference, and which method ``ember`` uses
(``ember.ops._util.index_add_rows``). The one-hot product is timed once (it is slow).
"""
import argparse
import time

import numpy as np

from benchmarks.common import table


def add_at(out, idx, g):
    np.add.at(out, idx, g)
    return out


def bincount_columns(out, idx, g):
    n = out.shape[0]
    for d in range(out.shape[1]):
        out[:, d] += np.bincount(idx, weights=g[:, d], minlength=n).astype(out.dtype)
    return out


def sort_reduceat(out, idx, g):
    order = np.argsort(idx, kind="stable")
    s = idx[order]
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    out[s[starts]] += np.add.reduceat(g[order], starts, axis=0)
    return out


def onehot_matmul(out, idx, g, block=2048):
    """The product of a (unique rows, n) 0/1 matrix with g, in blocks of unique rows (plain
    NumPy: a dense one-hot per block; BLAS does the sums)."""
    u, inv = np.unique(idx, return_inverse=True)
    for lo in range(0, len(u), block):
        hi = min(lo + block, len(u))
        onehot = (inv[None, :] == np.arange(lo, hi)[:, None]).astype(g.dtype)
        out[u[lo:hi]] += onehot @ g
    return out


def add_at_unique(out, idx, g):
    u, inv = np.unique(idx, return_inverse=True)
    part = np.zeros((len(u), out.shape[1]), out.dtype)
    np.add.at(part, inv, g)
    out[u] += part
    return out


def ember_rows(out, idx, g):
    from ember.ops._util import index_add_rows

    return index_add_rows(idx, g, out.shape[0])  # a new array: ember's own zeros, filled


METHODS = [("np.add.at", add_at, None), ("np.bincount per column", bincount_columns, None),
           ("sort + np.add.reduceat", sort_reduceat, None), ("one-hot matrix product (blocks)", onehot_matmul, 1),
           ("np.add.at on unique-ified index", add_at_unique, None),
           ("ember index_add_rows (sort, k-th occurrences, reduceat)", ember_rows, None)]


def _ids(rng, kind, rows, shape):
    if kind == "uniform":
        return rng.integers(0, rows, shape).reshape(-1)
    return np.minimum(rng.zipf(1.1, shape), rows).reshape(-1) - 1  # text-like: a few ids very often


def run(rows=50_000, dims=(512, 64), idx_shape=(64, 256), repeat=3, kinds=("uniform", "zipf")):
    rng = np.random.default_rng(0)
    out_rows, results = [], []
    for kind, dim in [(k, d) for k in kinds for d in dims]:
        idx = _ids(rng, kind, rows, idx_shape)
        g = rng.standard_normal((idx.size, dim)).astype(np.float32)
        exact = np.zeros((rows, dim))
        np.add.at(exact, idx, g.astype(np.float64))
        for name, fn, rep in METHODS:
            best = float("inf")
            for _ in range(rep or repeat):
                out = np.zeros((rows, dim), np.float32)
                t0 = time.perf_counter()
                out = fn(out, idx, g)
                best = min(best, time.perf_counter() - t0)
            err = float(np.abs(out - exact).max())
            out_rows.append([f"{rows}x{dim}", kind, name, f"{best * 1e3:.1f}", f"{err:.1e}", out.dtype])
            results.append({"weight": (rows, dim), "ids": kind, "method": name, "ms": best * 1e3, "max_abs_err": err})
    note = (f"float32 weight, int64 indices of shape {idx_shape}, uniform or Zipf(1.1) (a few ids very often), "
            f"fastest of {repeat} "
            "(the one-hot product: one call); the zeros of the output are allocated outside the timing. "
            "Error: largest difference from a float64 np.add.at.")
    return table("Row scatter-add (the embedding backward)", ["weight", "ids", "method", "ms", "max abs err", "dtype"],
                 out_rows, note), results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--dims", type=int, nargs="*", default=[512, 64])
    ap.add_argument("--ids", nargs="*", default=["uniform", "zipf"], choices=["uniform", "zipf"])
    a = ap.parse_args(argv)
    md, _ = run(a.rows, tuple(a.dims), repeat=a.repeat, kinds=tuple(a.ids))
    print(md)


if __name__ == "__main__":
    main()
