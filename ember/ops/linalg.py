"""Matrix and vector products: mm, bmm, mv, dot, inner, outer, the add* family, einsum,
tensordot, kron, cross, block_diag, chain_matmul. Triangles and diagonals are in
``linalg_diag.py``; cdist and the distances of ``nn.functional`` in ``linalg_distance.py``.

``Einsum`` is the one new primitive: its gradient for each operand is another einsum of the
output gradient and the other operands (constant ``eye``/``ones`` operands put back repeated
and summed-out subscripts), so every order of gradient is an einsum again. The rest are
compositions of matmul, einsum and the elementwise ops.
"""
import string

import numpy as np

from ..autograd import Function
from .._tensor_base import TensorBase, from_op
from . import elementwise as _ew
from . import movement as _mv
from ._util import as_tensor, write_out  # noqa: F401 (write_out: ember.linalg imports it from here)
from .matmul import matmul
from .. import kernels


def _dt(t):
    return {"float32": "float", "float64": "double", "int64": "long", "int32": "int", "float16": "half",
            "bool": "bool"}.get(t._data.dtype.name, t._data.dtype.name)


def _Dt(t):
    return _dt(t).capitalize()


def _same_dtype(a, b, msg, name=_dt):
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(msg.format(name(a), name(b)))


def _pair(a, b):
    a = as_tensor(a)
    return a, as_tensor(b, a)


def _shape(t):
    return "x".join(str(n) for n in t._data.shape)


def mm(input, mat2, *, out=None):
    """The matrix product of two 2-D tensors."""
    a, b = _pair(input, mat2)
    if a._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape(a)} and {_shape(b)})")
    _same_dtype(a, b, "expected m1 and m2 to have the same dtype, but got: {} != {}")
    return write_out(matmul(a, b), out, "mm", exact=True)


def bmm(input, mat2, *, out=None):
    """Batched matrix product of (b, n, m) and (b, m, p) tensors (no broadcasting)."""
    a, b = _pair(input, mat2)
    if a._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    want = [a._data.shape[0], a._data.shape[2]]
    if list(b._data.shape[:2]) != want:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: {want} "
                           f"but got: {list(b._data.shape[:2])}.")
    _same_dtype(a, b, "expected scalar type {} but found {}", _Dt)
    return write_out(matmul(a, b), out, "bmm", exact=True)


def mv(input, vec, *, out=None):
    """Matrix @ vector."""
    a, v = _pair(input, vec)
    if a._data.ndim != 2 or v._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a._data.ndim}, {v._data.ndim}")
    if a._data.shape[1] != v._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a._data.shape[0]}), mat ({_shape(a)}), "
                           f"vec ({v._data.shape[0]})")
    _same_dtype(a, v, "expected scalar type {} but found {}", _Dt)
    return write_out(matmul(a, v), out, "mv", exact=True)


def _vectors(a, b, name):
    a, b = _pair(a, b)
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D tensors")
    if a._data.shape != b._data.shape:
        n, m = a._data.shape[0], b._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number "
                           f"of elements, but got {n} and {m} elements respectively")
    _same_dtype(a, b, name + " : expected both vectors to have same dtype, but found {} and {}", _Dt)
    return a, b


def dot(input, tensor, *, out=None):
    """The dot product of two 1-D tensors of the same length."""
    a, b = _vectors(input, tensor, "dot")
    return write_out(matmul(a, b), out, "dot", exact=True)


def vdot(input, other, *, out=None):
    """``dot`` with the first vector conjugated (the same as dot on real tensors)."""
    a, b = _vectors(input, other, "vdot")
    if a._data.dtype.kind == "c":  # (ember has no complex autograd: the conjugate is a constant)
        a = from_op(np.conj(a._data), None)
    return write_out(matmul(a, b), out, "vdot", exact=True)


def inner(input, other, *, out=None):
    """The sum of products over the last dimension of both (a scalar operand multiplies)."""
    a, b = _pair(input, other)
    if a._data.ndim == 0 or b._data.ndim == 0:
        return write_out(a * b, out, "inner", exact=True, composite=True)
    if a._data.shape[-1] != b._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(a._data.shape)} and {list(b._data.shape)}")
    return write_out(tensordot(a, b, ([-1], [-1])), out, "inner", exact=True, composite=True)


def outer(input, vec2, *, out=None):
    """The outer product of two 1-D tensors: ``input[i] * vec2[j]``."""
    a, b = _pair(input, vec2)
    for t, name in ((a, "self"), (b, "vec2")):
        if t._data.ndim != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t._data.ndim}-D")
    return write_out(_mv.reshape(a, (-1, 1)) * _mv.reshape(b, (1, -1)), out, "outer")


ger = outer


def _scaled(t, s):
    return t if s == 1 else t * s


def _add_scaled(input, prod, beta, alpha, name, out):
    """beta * input + alpha * prod, input broadcast to prod's shape (ignored when beta is 0)."""
    inp = as_tensor(input, prod)
    try:
        fits = tuple(np.broadcast_shapes(inp._data.shape, prod._data.shape)) == prod._data.shape
    except ValueError:
        fits = False
    if not fits:
        raise RuntimeError(f"The expanded size of the tensor ({prod._data.shape[-1]}) must match the existing size "
                           f"({inp._data.shape[-1]}) at non-singleton dimension {prod._data.ndim - 1}.  Target sizes: "
                           f"{list(prod._data.shape)}.  Tensor sizes: {list(inp._data.shape)}")
    if name == "addr" and inp._data.dtype != prod._data.dtype:  # addr promotes, the others refuse
        dt = np.promote_types(inp._data.dtype, prod._data.dtype)
        inp, prod = (t if t._data.dtype == dt else _ew.cast(t, dt) for t in (inp, prod))
    if inp._data.dtype != prod._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_Dt(inp)} and {_Dt(prod)}")
    y = _scaled(prod, alpha)
    if beta != 0:
        y = _scaled(inp, beta) + y
    elif inp.requires_grad:  # input ignored (its NaNs too), but its gradient is zeros, as PyTorch's
        y = y + _ew.where(np.zeros(inp._data.shape, bool), inp, from_op(np.zeros((), y._data.dtype), None))
    if y._data.dtype != prod._data.dtype:
        y = _ew.cast(y, prod._data.dtype)
    return write_out(y, out, name, exact=name != "addr")


def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat1 @ mat2)``."""
    return _add_scaled(input, mm(mat1, mat2), beta, alpha, "addmm", out)


def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * (mat @ vec)``."""
    return _add_scaled(input, mv(mat, vec), beta, alpha, "addmv", out)


def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * outer(vec1, vec2)``."""
    return _add_scaled(input, outer(vec1, vec2), beta, alpha, "addr", out)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha, "baddbmm", out)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """``beta * input + alpha * sum_b(batch1[b] @ batch2[b])``."""
    bmm(batch1, batch2)  # the shape checks
    p = einsum("bij,bjk->ik", batch1, batch2)
    return _add_scaled(input, p, beta, alpha, "addbmm", out)


def chain_matmul(*matrices, out=None):
    """The product of 2-D matrices, left to right (``torch.linalg.multi_dot`` for 2-D)."""
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    y = as_tensor(matrices[0])
    if y._data.ndim != 2:
        raise RuntimeError(f"Tensor dimension is {y._data.ndim}, expected 2 instead.")
    for m in matrices[1:]:
        y = mm(y, m)
    return write_out(y, out, "chain_matmul", exact=True)


# ----- einsum -----
class Einsum(Function):
    """``np.einsum`` on operands whose subscripts are explicit (no ellipsis, no broadcasting)."""

    dual = True

    def forward(self, *arrays, terms, output):
        self.terms, self.output = terms, output
        self.save_for_backward(*arrays)
        return _einsum_arrays(terms, output, arrays)

    def backward(self, gy):
        ops = self.saved_tensors
        graph = isinstance(gy, TensorBase)
        grads = []
        for i, term in enumerate(self.terms):
            if not self.needs_grad(i):
                grads.append(None)
                continue
            terms = [self.output] + [t for j, t in enumerate(self.terms) if j != i]
            args = [gy] + [o for j, o in enumerate(ops) if j != i]
            seen = set("".join(terms))
            free = [c for c in _LETTERS if c not in seen and c not in term]
            target = ""
            shape = _array(ops[i]).shape
            for c, n in zip(term, shape):
                if c in target:  # a repeated subscript: the gradient lies on the diagonal
                    f = free.pop()
                    terms.append(c + f)
                    args.append(np.eye(n, dtype=_array(gy).dtype))
                    target += f
                    continue
                if c not in seen:  # summed out in this operand alone: the gradient is constant along it
                    terms.append(c)
                    args.append(np.ones(n, dtype=_array(gy).dtype))
                    seen.add(c)
                target += c
            if graph:
                args = [a if isinstance(a, TensorBase) else from_op(a, None) for a in args]
                grads.append(Einsum.apply(*args, terms=tuple(terms), output=target))
            else:
                grads.append(_einsum_arrays(terms, target, args))
        return tuple(grads)


_LETTERS = string.ascii_letters


def _array(x):
    return x._data if isinstance(x, TensorBase) else x


def _einsum_arrays(terms, output, arrays):
    eq = ",".join(terms) + "->" + output
    if len(arrays) == 1:
        r = np.einsum(eq, arrays[0])
        return r.copy() if np.shares_memory(r, arrays[0]) else r
    if len(arrays) == 2 and kernels.enabled():
        r = _einsum_matmul(terms, output, arrays)
        if r is not None:
            return r
    return np.einsum(eq, *arrays, optimize=True)  # tensordot (BLAS) where the contraction is a GEMM


def _einsum_matmul(terms, output, arrays):
    """Two operands whose contraction is a batched GEMM, as ``np.matmul`` (np.einsum's own
    optimizer leaves batched products such as 'bhqd,bhkd->bhqk' to its slow loops). Letters
    are batch (in both and the output), contracted (in both, not the output), or free (in one
    and the output); a subscript repeated in a term, or summed in one operand alone, is left
    to np.einsum (None)."""
    (ta, tb), (a, b) = terms, arrays
    if len(set(ta)) != len(ta) or len(set(tb)) != len(tb) or len(set(output)) != len(output):
        return None
    if any(c not in tb and c not in output for c in ta) or any(c not in ta and c not in output for c in tb):
        return None
    batch = [c for c in output if c in ta and c in tb]
    con = [c for c in ta if c in tb and c not in output]
    left = [c for c in ta if c not in tb]
    right = [c for c in tb if c not in ta]
    if not con and not (left and right):  # an elementwise product: no GEMM in it
        return None
    size = dict(zip(ta, a.shape))
    size.update(zip(tb, b.shape))
    n = lambda cs: int(np.prod([size[c] for c in cs], dtype=np.int64))  # noqa: E731
    bs = [size[c] for c in batch]
    # transposed views (matmul hands a transposed matrix to BLAS as is); a reshape (a copy,
    # for a transposed view) only where several letters must merge into one matrix side
    A = a.transpose([ta.index(c) for c in batch + left + con])
    B = b.transpose([tb.index(c) for c in batch + con + right])
    if len(left) != 1 or len(con) != 1:
        A = A.reshape(bs + [n(left), n(con)])
    if len(con) != 1 or len(right) != 1:
        B = B.reshape(bs + [n(con), n(right)])
    y = np.matmul(A, B).reshape(bs + [size[c] for c in left + right])
    order = batch + left + right
    y = y.transpose([order.index(c) for c in output])
    return y if y.flags.c_contiguous else y.copy()


def _sublists(args):
    """The equation and operands of einsum's sublist form (integers 0-51 name the dims, ``...`` an ellipsis)."""
    def term(sub):
        return "".join("..." if x is Ellipsis else _LETTERS[x] for x in sub)

    ops, terms = list(args[0::2]), [term(s) for s in args[1::2]]
    n = len(ops) if len(args) % 2 == 0 else len(ops) - 1
    eq = ",".join(terms[:n])
    if len(args) % 2 == 1:  # the output sublist
        eq += "->" + term(args[-1])
        ops = ops[:n]
    return eq, tuple(ops)


def einsum(equation, *operands):
    """Einstein summation: ``einsum("ij,jk->ik", a, b)``, with ``...``, implicit outputs
    (letters seen once, sorted) and size-1 broadcasting; operands as varargs or one list."""
    if not isinstance(equation, str):  # the sublist form: einsum(a, [0, 1], b, [1, 2], [0, 2])
        equation, operands = _sublists((equation,) + operands)
    elif len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ops = [as_tensor(o) for o in operands]
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) > len(ops):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
    if len(terms) < len(ops):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    for t in ops[1:]:
        _same_dtype(ops[0], t, "expected scalar type {} but found {}", _Dt)
    for c in eq:
        if c not in _LETTERS and c not in ".,->":
            raise RuntimeError(f"einsum(): invalid subscript given at index {eq.index(c)} in the equation string, "
                               "subscripts must be in [a-zA-Z]")
    used = set(c for c in eq if c in _LETTERS)
    spare = [c for c in _LETTERS if c not in used]
    ells = []
    for i, (t, o) in enumerate(zip(terms, ops)):
        n = len(t.replace("...", ""))
        if "..." in t:
            if o._data.ndim < n:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is more than the number "
                                   f"of dimensions ({o._data.ndim}) for operand {i}")
            ells.append(o._data.ndim - n)
        elif n != o._data.ndim:
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does not match the number "
                               f"of dimensions ({o._data.ndim}) for operand {i} and no ellipsis was given")
        else:
            ells.append(0)
    E = max(ells, default=0)
    ell = "".join(spare[:E])
    terms = [t.replace("...", ell[E - e:]) for t, e in zip(terms, ells)]
    if arrow:
        output = rhs.replace("...", ell)
        for c in output:
            if output.count(c) > 1:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
    else:
        counts = "".join(terms)
        output = ell + "".join(sorted(c for c in set(counts) if c not in ell and counts.count(c) == 1))
    sizes = {}
    for i, (t, o) in enumerate(zip(terms, ops)):
        mine = {}
        for c, n in zip(t, o._data.shape):
            if c in mine and mine[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the sizes don't match, "
                                   f"{n} != {mine[c]}")
            mine[c] = n
            if c in sizes and n != sizes[c] and n != 1 and sizes[c] != 1:
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} which does not broadcast "
                                   f"with previously seen size {sizes[c]}")
            sizes[c] = max(n, sizes.get(c, n)) if n != 1 else sizes.get(c, 1)
    for c in output:
        if c not in sizes:
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    # a size-1 dimension broadcast against a longer one: squeeze it out of that operand
    for i, (t, o) in enumerate(zip(terms, ops)):
        keep = [k for k, (c, n) in enumerate(zip(t, o._data.shape)) if not (n == 1 and sizes[c] != 1)]
        if len(keep) != len(t):
            ops[i] = _mv.reshape(o, tuple(o._data.shape[k] for k in keep))
            terms[i] = "".join(t[k] for k in keep)
    return Einsum.apply(*ops, terms=tuple(terms), output=output)


def tensordot(a, b, dims=2, out=None):
    """Sum of products over the last ``dims`` dims of a and the first of b, or over the dims
    listed in ``dims = (dims_a, dims_b)``."""
    a, b = _pair(a, b)
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, TensorBase):
        dims = dims._data.tolist()
    if isinstance(dims, (int, np.integer)):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    if len(da) != len(db):
        raise RuntimeError(f"both dimension lists should have same length, but got {len(da)} and {len(db)}")
    la, lb = list(_LETTERS[:na]), list(_LETTERS[na:na + nb])
    for i, j in zip(da, db):
        i0, j0 = i, j
        i, j = i % na, j % nb
        if a._data.shape[i] != b._data.shape[j]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a._data.shape[i]} in dim "
                               f"{i0} and second has size {b._data.shape[j]} in dim {j0}")
        lb[j] = la[i]
    con = set(la[i % na] for i in da)
    output = "".join(c for c in la if c not in con) + "".join(c for c in lb if c not in con)
    _same_dtype(a, b, "both inputs should have same dtype")
    y = Einsum.apply(a, b, terms=("".join(la), "".join(lb)), output=output)
    return write_out(y, out, "tensordot", exact=True, composite=True)


def kron(input, other, *, out=None):
    """The Kronecker product: blocks ``input[i] * other``."""
    a, b = _pair(input, other)
    n = max(a._data.ndim, b._data.ndim)
    sa = (1,) * (n - a._data.ndim) + a._data.shape
    sb = (1,) * (n - b._data.ndim) + b._data.shape
    a2 = _mv.reshape(a, tuple(x for s in sa for x in (s, 1)))
    b2 = _mv.reshape(b, tuple(x for s in sb for x in (1, s)))
    return write_out(_mv.reshape(a2 * b2, tuple(x * y for x, y in zip(sa, sb))), out, "kron")


def _component(t, dim, k):
    idx = [slice(None)] * t._data.ndim
    idx[dim] = k
    return _mv.getitem(t, tuple(idx))


def _cross(a, b, dim, name):
    _same_dtype(a, b, "expected scalar type {} but found {}", _Dt)
    if a._data.ndim != b._data.ndim:
        raise RuntimeError(f"{name}: inputs must have the same number of dimensions.")
    if a._data.shape[dim] != 3 or b._data.shape[dim] != 3:
        raise RuntimeError(f"{name}: inputs dimension {dim} must have length 3. Got {a._data.shape[dim]} and "
                           f"{b._data.shape[dim]}")
    shape = tuple(np.broadcast_shapes(a._data.shape, b._data.shape))
    if a._data.shape != shape:
        a = _mv.broadcast_to(a, shape)
    if b._data.shape != shape:
        b = _mv.broadcast_to(b, shape)
    d = dim % len(shape)
    a0, a1, a2 = (_component(a, d, k) for k in range(3))
    b0, b1, b2 = (_component(b, d, k) for k in range(3))
    return _mv.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=d)


def cross(input, other, dim=None, *, out=None):
    """The 3-D cross product along ``dim`` (default: the first dim of length 3)."""
    a, b = _pair(input, other)
    if dim is None:
        dim = next((i for i, n in enumerate(np.broadcast_shapes(a._data.shape, b._data.shape)) if n == 3), -1)
    return write_out(_cross(a, b, dim, "linalg.cross"), out, "cross", exact=True)


def linalg_cross(input, other, *, dim=-1, out=None):
    """``torch.linalg.cross``: the 3-D cross product along ``dim`` (default the last)."""
    a, b = _pair(input, other)
    return write_out(_cross(a, b, dim, "linalg.cross"), out, "linalg_cross", exact=True)


def block_diag(*tensors):
    """The tensors (0-, 1- or 2-D) as the diagonal blocks of one matrix."""
    ts = [as_tensor(t) for t in tensors]
    for i, t in enumerate(ts):
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} has "
                               f"{t._data.ndim} dimensions")
    if not ts:
        return from_op(np.zeros((1, 0), np.float32), None)
    floats = [t._data.dtype for t in ts if t._data.dtype.kind in "fc"]
    dt = np.result_type(*(floats or [t._data.dtype for t in ts]))  # PyTorch's promotion: a float wins
    ts = [_mv.reshape(t, (1, 1) if t._data.ndim == 0 else (1, -1) if t._data.ndim == 1 else t._data.shape) for t in ts]
    ts = [t if t._data.dtype == dt else _ew.cast(t, dt) for t in ts]
    width = sum(t._data.shape[1] for t in ts)
    rows, left = [], 0
    for t in ts:
        r, c = t._data.shape
        rows.append(_mv.pad(t, ((0, 0), (left, width - left - c))))
        left += c
    return _mv.concatenate(rows, axis=0)


from .linalg_distance import cdist  # noqa: E402,F401  (ember.cdist's home is the distances file)
