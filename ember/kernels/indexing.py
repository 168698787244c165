"""Fast paths beneath the indexing, sorting and scan ops, on arrays only.

Each function does what a line of the reference ops does, rearranged for speed, and is called
only when ``ember.kernels.enabled()``; tests/core/test_indexing_speed_paths.py checks each one
against its reference on random inputs (repeats, ties, negative dims). Justified by
``python -m benchmarks.indexing`` (index_add, scatter_add, topk and cumsum rows).
"""
import numpy as np

SCAN_BLOCK = 16  # elements per block of the blocked scan: one (16, 16) GEMM per block row
GEMM_BLOCKS = 1024  # blocks per GEMM call: OpenBLAS runs a GEMM this small on one thread, which
# keeps its threads' spin-waits (slow when the cores are shared) out of the scan


def add_rows_into(out, index, rows):
    """``out[index[j]] += rows[j]`` in place for every j, repeated indices adding up (what
    ``np.add.at(out, index, rows)`` does; ``index`` is a 1-D int array into out's first axis).

    The rows are sorted by index (stable); the k-th occurrences of every index are added in one
    fancy ``+=`` per k (no index twice in one), while that is many rows; the rows left over (the
    frequent indices) go to ``np.add.at``. The reference (index_add's flat positions) is
    3-4x slower at (50000, 64) with 16384 rows."""
    if index.size == 0:
        return out
    order = stable_argsort_ints(index)
    s = index[order]
    first = np.empty(s.size, bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    if starts.size == s.size:  # no repeats: one fancy add
        _add_rows(out, index, rows)
        return out
    rank = np.arange(s.size) - np.repeat(starts, np.diff(np.append(starts, s.size)))  # occurrence number
    k = 0
    while True:
        sel = np.flatnonzero(rank == k)
        if sel.size == 0:
            return out
        if k and sel.size * 8 < s.size:
            break
        _add_rows(out, s[sel], np.take(rows, order[sel], axis=0))
        k += 1
    rest = np.flatnonzero(rank >= k)
    np.add.at(out, s[rest], np.take(rows, order[rest], axis=0))
    return out


def _add_rows(out, ids, rows):
    """``out[ids] += rows`` for distinct ``ids``. C-contiguous rows move as single items (a
    void dtype the size of a row): NumPy's fancy get and set then copy whole rows, ~1.4x faster
    than element by element."""
    n = out.shape[0]
    width = out[0].nbytes if n else 0
    if not (out.flags.c_contiguous and width and rows.dtype == out.dtype):
        out[ids] += rows
        return
    void = np.dtype((np.void, width))
    whole = out.reshape(n, -1).view(void).reshape(n)
    got = np.take(whole, ids).view(out.dtype).reshape(rows.shape)
    got += rows
    whole[ids] = got.reshape(ids.size, -1).view(void).reshape(ids.size)


def stable_argsort_ints(index):
    """``np.argsort(index, kind="stable")`` for a 1-D array of non-negative ints: one
    ``np.sort`` of index * size + position (NumPy's vectorised sort; ~4x faster than the stable
    argsort at 16384 entries); the argsort where that product could overflow."""
    n = index.size
    if n == 0 or index.dtype.kind not in "iu" or index.min() < 0 or int(index.max()) >= (1 << 62) // max(n, 1):
        return np.argsort(index, kind="stable")
    key = index.astype(np.int64) * n + np.arange(n)
    return np.sort(key) % n


def cumsum_last(x, reverse=False):
    """``np.cumsum(x, axis=-1)`` (``reverse``: the sum from each element to the end of its
    row, cumsum's gradient) for a C-contiguous float32/float64 ``x``, or None where this does
    not apply (then the caller runs the reference).

    The rows are cut into blocks of ``SCAN_BLOCK``; each block's prefix sums are one GEMM with
    a triangular matrix of ones, then each block adds the total of the blocks before it (a
    cumsum over the block totals); a tail shorter than a block takes np.cumsum. A few rows at
    a time, so that the second pass finds them in cache. NumPy's cumsum adds one element after
    the other (~4.5 ns an element here); this is ~2x faster at (64, 50000) and more accurate
    (shorter chains of additions). A non-finite block total (an inf or NaN in the row, or an
    overflow) returns None: the GEMM would make inf * 0 = NaN where the running sum has inf."""
    B = SCAN_BLOCK
    n = x.shape[-1] if x.ndim else 0
    if x.dtype not in (np.float32, np.float64) or not x.flags.c_contiguous or n < 2 * B:
        return None
    r = x.size // n
    x2 = x.reshape(r, n)
    out = np.empty((r, n), x.dtype)
    ones = np.ones((B, B), x.dtype)
    tri_t = np.ascontiguousarray((np.tril(ones) if reverse else np.triu(ones)).T)  # y[i] = sum_j x[j] tri[j, i]
    step = max(1, (1 << 18) // n)  # rows per pass: ~1 MiB of float32
    with np.errstate(all="ignore"):
        for s in range(0, r, step):
            if not _scan_rows(x2[s:s + step], out[s:s + step], tri_t, reverse):
                return None
    return out.reshape(x.shape)


def _scan_rows(x, out, tri_t, reverse):
    """``cumsum_last`` on the 2-D rows ``x`` into ``out``; False on a non-finite total."""
    B = tri_t.shape[0]
    r, n = x.shape
    m = n // B
    mb = m * B
    yb = out[:, :mb].reshape(r, m, B)  # a view: each row's blocks are contiguous
    if mb == n:  # out.T = tri.T @ x.T: BLAS runs this shape faster than x @ tri
        xs, ys = x.reshape(r * m, B), out.reshape(r * m, B)
        for i in range(0, r * m, GEMM_BLOCKS):
            np.matmul(tri_t, xs[i:i + GEMM_BLOCKS].T, out=ys[i:i + GEMM_BLOCKS].T)
    else:
        for i in range(r):
            xs, ys = x[i, :mb].reshape(m, B), yb[i]
            for j in range(0, m, GEMM_BLOCKS):
                np.matmul(tri_t, xs[j:j + GEMM_BLOCKS].T, out=ys[j:j + GEMM_BLOCKS].T)
    if not reverse:
        run = np.cumsum(yb[:, :, -1], axis=1)  # the total up to the end of each block
        if not np.isfinite(run[:, -1]).all():
            return False
        yb[:, 1:, :] += run[:, :-1, None]
        if mb < n:
            out[:, mb:] = np.cumsum(x[:, mb:], axis=1) + run[:, -1:]
        return True
    carry = np.zeros((r, m), x.dtype)  # the total of the blocks after each, and of the tail
    if mb < n:
        t = np.cumsum(x[:, :mb - 1:-1], axis=1)[:, ::-1]  # the tail's own reversed sums
        out[:, mb:] = t
        carry += t[:, :1]
    run = np.cumsum(yb[:, ::-1, 0], axis=1)[:, ::-1]  # the total from each block to the end
    if not np.isfinite(run[:, 0]).all():
        return False
    carry[:, :-1] += run[:, 1:]
    yb += carry[:, :, None]
    return True


def topk_bound(r, k, largest):
    """For each row of the 2-D ``r``, a value at most its k-th largest element (``largest=
    False``: at least its k-th smallest), as an (rows, 1) array; None when a row holds NaN
    (NaN sorts as the largest) or the rows are too short.

    The rows are cut into 4k blocks; the k-th largest block maximum bounds the k-th largest
    element (k blocks reach it, each through an element of its own). One max pass and a
    partition of (rows, 4k) values, instead of ``np.partition`` of whole rows (~4x slower at
    (64, 50000), k=50); ``topk_indices`` then sorts only the elements past the bound."""
    rows, n = r.shape
    nb = 4 * k
    size = n // nb
    if k < 1 or size < 8:
        return None
    main = r[:, :nb * size].reshape(rows, nb, size)
    red = np.max if largest else np.min
    bm = red(main, axis=2)
    if nb * size < n:
        bm = np.concatenate([bm, red(r[:, nb * size:], axis=1, keepdims=True)], axis=1)
    if bm.dtype.kind == "f" and np.isnan(bm).any():
        return None
    p = bm.shape[1] - k if largest else k - 1
    return np.partition(bm, p, axis=1)[:, p:p + 1]
