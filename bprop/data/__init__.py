"""Data sets for bprop: real tabular sets, the classic synthetic tasks, CSV files and MNIST.

Every loader returns a `Dataset` (features ``X``, targets ``y``, task, names).

Example:
    >>> from bprop.data import load_dataset
    >>> ds = load_dataset("xor")
    >>> ds.X.shape, ds.y.tolist()
    ((4, 2), [0, 1, 1, 0])
"""

from bprop.data.csv import load_csv
from bprop.data.dataset import DataError, DataFileNotFoundError, Dataset
from bprop.data.mnist import IDXError, load_mnist, read_idx
from bprop.data.registry import list_datasets, load_dataset
from bprop.data.synthetic import encoder, parity, two_spirals, xor
from bprop.data.tabular import load_breast_cancer, load_digits, load_iris, load_wine

__all__ = [
    "DataError",
    "DataFileNotFoundError",
    "Dataset",
    "IDXError",
    "encoder",
    "list_datasets",
    "load_breast_cancer",
    "load_csv",
    "load_dataset",
    "load_digits",
    "load_iris",
    "load_mnist",
    "load_wine",
    "parity",
    "read_idx",
    "two_spirals",
    "xor",
]
