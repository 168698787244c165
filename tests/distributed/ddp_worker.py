"""Trains a small MLP for one epoch, data-parallel when started under mpirun, and writes the
final parameters (rank 0). Used by test_mpi.py; also a readable example of the pieces.

    python ddp_worker.py OUT.npz GLOBAL_BATCH [fail]
"""
import sys

import numpy as np

import ember
import ember.distributed as dist
from ember import nn


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(20, 32)
        self.fc2 = nn.Linear(32, 5)

    def forward(self, x):
        return self.fc2(self.fc1(x).relu())


def main_trainer(out, global_batch):
    """The same epoch through Trainer(distributed=True) and a DataLoader over the shard."""
    from ember.data import DataLoader, TensorDataset
    from ember.train import Trainer

    rank, world = dist.init()
    ember.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.standard_normal((512, 20)).astype(np.float32)
    y = r.integers(0, 5, 512)
    model = MLP()
    sampler = dist.DistributedSampler(len(x), shuffle=True, seed=1)
    loader = DataLoader(TensorDataset(x, y), batch_size=global_batch // world, sampler=sampler)
    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                      metrics=["accuracy"], progress=False, distributed=world > 1)
    trainer.fit(loader, epochs=2)
    trainer.save_checkpoint(out + ".ckpt.npz")  # rank 0 only
    if dist.is_main_process():
        np.savez(out, **{k: v for k, v in model.state_dict().items()})


def main(out, global_batch, fail=False):
    rank, world = dist.init()
    ember.manual_seed(0)
    r = np.random.default_rng(0)
    x = r.standard_normal((512, 20)).astype(np.float32)
    y = r.integers(0, 5, 512)
    model = dist.DistributedDataParallel(MLP())
    sampler = dist.DistributedSampler(len(x), shuffle=True, seed=1)
    sampler.set_epoch(0)
    idx = sampler.indices()
    local = global_batch // world
    for step in range(len(idx) // local):
        if fail and rank == 1 and step == 2:
            raise RuntimeError("rank 1 fails on purpose")
        b = idx[step * local : (step + 1) * local]
        z = model(x[b])
        loss = (ember.logsumexp(z, axis=1) - z[np.arange(len(b)), y[b]]).mean()
        model.zero_grad()
        loss.backward()
        model.allreduce_gradients()
        with ember.no_grad():
            for p in model.parameters():
                p.data -= 0.1 * p.grad
    if dist.is_main_process():
        np.savez(out, **{k: v for k, v in model.state_dict().items()})


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[3] == "trainer":
        main_trainer(sys.argv[1], int(sys.argv[2]))
    else:
        main(sys.argv[1], int(sys.argv[2]), fail=len(sys.argv) > 3)
