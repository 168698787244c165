"""``ember.random``, as ``torch.random``: seeding and the global generator's state."""
import contextlib

from .backend import Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state

__all__ = ["Generator", "default_generator", "fork_rng", "get_rng_state", "initial_seed", "manual_seed", "seed",
           "set_rng_state"]


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, deterministic=False, device_type="cpu", _caller="fork_rng",
             _devices_kw="devices"):
    """Inside the block, draw as usual; on leaving it, the global generator's state is as it
    was on entering (``torch.random.fork_rng``)."""
    del devices, deterministic, device_type, _caller, _devices_kw
    if not enabled:
        yield
        return
    state = get_rng_state()
    try:
        yield
    finally:
        set_rng_state(state)
