"""Datasets, samplers and the DataLoader; MNIST and Fashion-MNIST; the IDX file format."""
from .dataloader import DataLoader, RandomSampler, Sampler, SequentialSampler, default_collate, default_convert
from .dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from .datasets import MNIST, DatasetNotFoundError, FashionMNIST
from .download import DownloadError, download_url
from .idx import read_idx, write_idx

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split",
    "DataLoader", "Sampler", "SequentialSampler", "RandomSampler", "default_collate", "default_convert",
    "MNIST", "FashionMNIST", "DatasetNotFoundError", "DownloadError", "download_url", "read_idx", "write_idx",
]
