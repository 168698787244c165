"""``CyclicLR``, public through ``ember.optim.lr_scheduler``."""
import math

from .lr_scheduler import LRScheduler, _is_function, _per_group
from .optimizer import Optimizer

__all__ = ["CyclicLR"]


class CyclicLR(LRScheduler):
    """Cycle the rate between ``base_lr`` and ``max_lr`` (Smith, 2017), as ``torch.optim.lr_scheduler.CyclicLR``.

    Each cycle rises for ``step_size_up`` steps and falls for ``step_size_down``; the
    amplitude ``max_lr - base_lr`` is scaled by ``scale_fn`` of the cycle number (or of the
    step, with ``scale_mode='iterations'``). Momentum (or Adam's beta1) cycles the other way,
    from ``max_momentum`` at the start of a cycle to ``base_momentum`` at its peak. Step it
    once per batch.

    Args:
        optimizer: the optimizer.
        base_lr: the lower rate, or one per group (it replaces each group's ``lr``).
        max_lr: the upper rate, or one per group.
        step_size_up: steps in the rising half of a cycle (default 2000).
        step_size_down: steps in the falling half (default: ``step_size_up``).
        mode: "triangular" (no scaling), "triangular2" (halved each cycle) or "exp_range"
            (``gamma ** step``); ignored when ``scale_fn`` is given.
        gamma: the base of "exp_range" (default 1.0).
        scale_fn: a custom scaling ``f(x)`` with values in [0, 1].
        scale_mode: "cycle" or "iterations": what ``scale_fn`` is called with.
        cycle_momentum: cycle momentum / beta1 inversely to the rate (default True).
        base_momentum, max_momentum: its bounds (default 0.8, 0.9), or one per group.
        last_epoch: the index of the last batch; see :class:`LRScheduler`.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        self.optimizer = optimizer
        base_lrs = _per_group("CyclicLR", "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _per_group("CyclicLR", "max_lr", optimizer, max_lr)
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        if not step_size_up + step_size_down > 0:
            raise ValueError(f"CyclicLR: step_size_up + step_size_down must be > 0, got {step_size_up} and "
                             f"{step_size_down}")
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _per_group("CyclicLR", "base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("CyclicLR", "max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m_max, m_base, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m_max, *group["betas"][1:])
                    else:
                        group["momentum"] = m_max
                    group["max_momentum"] = m_max
                    group["base_momentum"] = m_base
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        # the built-in modes fix what the scale is a function of, as in PyTorch
        if self._scale_fn_custom is None:
            self.scale_mode = "iterations" if self.mode == "exp_range" else "cycle"

    def scale_fn(self, x):
        """The amplitude's scale at ``x`` (the cycle number, or the step for 'iterations')."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma**x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        at = cycle if self.scale_mode == "cycle" else self.last_epoch
        lrs = [base + (top - base) * scale_factor * self.scale_fn(at) for base, top in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            for group, m_base, m_max in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                momentum = m_max - (m_max - m_base) * scale_factor * self.scale_fn(at)
                if self.use_beta1:
                    group["betas"] = (momentum, *group["betas"][1:])
                else:
                    group["momentum"] = momentum
        return lrs

    def state_dict(self):
        """As the base class; a custom ``scale_fn`` is kept only as a callable object's attributes (as PyTorch)."""
        fn = self.__dict__.pop("_scale_fn_custom")
        try:
            out = super().state_dict()
        finally:
            self._scale_fn_custom = fn
        out["_scale_fn_custom"] = None if fn is None or _is_function(fn) else dict(vars(fn))
        return out

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()
