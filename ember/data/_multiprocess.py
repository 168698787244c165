"""The DataLoader's iterator when ``num_workers > 0``: batches loaded in worker processes.

Every batch of indices goes to one worker (round robin, at most ``prefetch_factor`` per worker
in flight); results come back in any order and are yielded in the sampler's order. The
workers end when the epoch does (or, with ``persistent_workers``, when the loader is
collected), when the loop is left early (the iterator is collected), and on an error.
"""
import itertools
import pickle
import queue
import time

from . import _worker

_CHECK_S = 1.0  # how often a waiting main process checks that its workers are alive
_JOIN_S = 1.0  # how long a shutdown waits for the workers to finish before terminating them


class MultiProcessIter:
    """Iterates one epoch (or, persistent, one epoch at a time) over batches made by worker processes.

    It holds no reference to the loader, so a loader that keeps it (persistent workers) and
    is collected takes its workers with it.
    """

    def __init__(self, *, dataset, iterable, auto_collation, collate_fn, drop_last, num_workers, prefetch_factor,
                 timeout, worker_init_fn, context, base_seed, persistent):
        self._shut = True  # until the workers exist
        self._num_workers = num_workers
        self._prefetch = prefetch_factor
        self._timeout = timeout
        self._persistent = persistent
        self._iterable = iterable
        self._result_queue = context.Queue()
        self._done = context.Event()
        self._index_queues, self._workers = [], []
        self._shut = False
        try:
            for wid in range(num_workers):
                q = context.Queue()
                q.cancel_join_thread()
                w = context.Process(
                    target=_worker.worker_loop,
                    args=(dataset, iterable, q, self._result_queue, self._done, auto_collation, collate_fn, drop_last,
                          base_seed, worker_init_fn, wid, num_workers),
                    daemon=True)
                w.start()
                self._index_queues.append(q)
                self._workers.append(w)
        except BaseException:
            self._shutdown()
            raise
        self._started = False

    @property
    def worker_pids(self):
        return [w.pid for w in self._workers]

    def start_epoch(self, indices):
        """Begin an epoch over ``indices`` (an iterator of index batches), prefetching."""
        if self._started:  # persistent workers: let every worker reset, dropping what is in flight
            for q in self._index_queues:
                q.put(_worker.RESUME)
            waiting = set(range(self._num_workers))
            while waiting:
                tag, payload = self._get()
                if tag == _worker.RESUME:
                    waiting.discard(payload)
        self._started = True
        self._indices = indices
        self._send_idx = 0  # next task number to hand out
        self._rcvd_idx = 0  # next task number to yield
        self._tasks = {}  # task number -> [worker id] while in flight, [worker id, payload] once back
        self._active = [True] * self._num_workers
        self._cycle = itertools.cycle(range(self._num_workers))
        for _ in range(self._prefetch * self._num_workers):
            self._put_task()
        return self

    def _put_task(self):
        for _ in range(self._num_workers):
            wid = next(self._cycle)
            if self._active[wid]:
                break
        else:
            return
        try:
            index = next(self._indices)
        except StopIteration:
            return
        self._index_queues[wid].put((self._send_idx, index))
        self._tasks[self._send_idx] = [wid]
        self._send_idx += 1

    def _get(self):
        """The next (task number, payload) from any worker, within the timeout."""
        start = time.monotonic()
        while True:
            wait = _CHECK_S
            if self._timeout > 0:
                wait = min(wait, self._timeout - (time.monotonic() - start))
            try:
                return self._result_queue.get(timeout=max(wait, 0))
            except queue.Empty:
                pass
            if self._timeout > 0 and time.monotonic() - start >= self._timeout:
                self._shutdown()
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")
            dead = [w for w in self._workers if not w.is_alive()]
            if dead:
                pids = ", ".join(str(w.pid) for w in dead)
                codes = ", ".join(str(w.exitcode) for w in dead)
                self._shutdown()
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code {codes})")

    def __iter__(self):
        return self

    def __next__(self):
        if self._shut:
            raise StopIteration
        while True:
            # skip the tasks of workers whose iterable ran out: they will never answer
            while self._rcvd_idx < self._send_idx:
                task = self._tasks.get(self._rcvd_idx)
                if task is not None and (len(task) == 2 or self._active[task[0]]):
                    break
                self._tasks.pop(self._rcvd_idx, None)
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown()
                raise StopIteration
            task = self._tasks[self._rcvd_idx]
            if len(task) == 2:
                del self._tasks[self._rcvd_idx]
                return self._process(task[1])
            idx, payload = self._get()
            if idx == _worker.RESUME:
                continue
            # the payload comes over a pipe from this loader's own worker processes, which
            # pickled it; no file or outside input is ever unpickled here
            data = pickle.loads(payload)
            if isinstance(data, _worker.WorkerEnded):
                self._active[data.worker_id] = False
                self._tasks.pop(idx, None)
                self._put_task()
                continue
            if idx != self._rcvd_idx:
                if idx in self._tasks:
                    self._tasks[idx].append(data)
                continue
            del self._tasks[idx]
            return self._process(data)

    def _process(self, data):
        self._rcvd_idx += 1
        if isinstance(data, _worker.ExceptionWrapper):
            self._shutdown()
            data.reraise()
        self._put_task()
        return _worker.unpack(data)

    def _shutdown(self):
        if self._shut:
            return
        self._shut = True
        try:
            self._done.set()
            for q in self._index_queues:
                try:
                    q.put(None)
                except Exception:
                    pass
            deadline = time.monotonic() + _JOIN_S  # a worker busy with a batch nobody will read is stopped
            for w in self._workers:
                w.join(timeout=max(deadline - time.monotonic(), 0))
            for w in self._workers:
                if w.is_alive():
                    w.terminate()
                    w.join(timeout=5)
            for q in self._index_queues + [self._result_queue]:
                q.cancel_join_thread()
                q.close()
        except Exception:
            pass

    close = _shutdown

    def __del__(self):
        try:
            self._shutdown()
        except Exception:
            pass
