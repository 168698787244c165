"""Datasets, samplers and the DataLoader (``torch.utils.data``; also ``ember.utils.data``);
MNIST and Fashion-MNIST; the IDX file format."""
from ._worker import WorkerInfo, get_worker_info
from .collate import default_collate, default_convert
from .dataloader import DataLoader
from .dataset import (
    ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset, random_split,
)
from .datasets import MNIST, DatasetNotFoundError, FashionMNIST
from .download import DownloadError, download_url
from .idx import read_idx, write_idx
from .sampler import (
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler, WeightedRandomSampler,
)

__all__ = [
    "Dataset", "IterableDataset", "TensorDataset", "Subset", "ConcatDataset", "ChainDataset", "StackDataset",
    "random_split",
    "DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
    "BatchSampler", "default_collate", "default_convert", "get_worker_info", "WorkerInfo",
    "MNIST", "FashionMNIST", "DatasetNotFoundError", "DownloadError", "download_url", "read_idx", "write_idx",
    "DistributedSampler",
]


def __getattr__(name):
    # torch.utils.data.DistributedSampler is ember.distributed's (imported on first use)
    if name == "DistributedSampler":
        from ..distributed import DistributedSampler

        return DistributedSampler
    raise AttributeError(f"module 'ember.data' has no attribute {name!r}")
