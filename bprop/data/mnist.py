"""MNIST from its standard IDX files, in a directory the user gives (plain or gzipped).

MNIST (LeCun, Bottou, Bengio & Haffner 1998, http://yann.lecun.com/exdb/mnist/) holds
28x28 greyscale handwritten digits: 60,000 training and 10,000 test images, stored as

    {kind}-images-idx3-ubyte[.gz]   magic 0x00000803, then N, rows, cols (big-endian uint32),
                                    then N*rows*cols unsigned bytes
    {kind}-labels-idx1-ubyte[.gz]   magic 0x00000801, then N, then N label bytes 0..9

with ``kind`` "train" or "t10k". The IDX header is parsed and checked here; a wrong magic
number, a truncated file or mismatched counts raise an `IDXError` naming the file.

Example:
    >>> from bprop.data import load_mnist
    >>> ds = load_mnist("/work/shared/data/mnist", kind="t10k")  # doctest: +SKIP
    >>> ds.X.shape, ds.X.dtype, ds.y[:5].tolist()                # doctest: +SKIP
    ((10000, 784), dtype('float32'), [7, 2, 1, 0, 4])
"""

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from bprop.data.dataset import DataError, DataFileNotFoundError, Dataset

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
KINDS = ("train", "t10k")
# The third byte of an IDX magic number gives the element type (big-endian on disk).
IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IDXError(DataError):
    """An IDX file is malformed, truncated, of the wrong kind, or inconsistent with its pair."""


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a native-byte-order array of its declared shape.

    Args:
        path: the file. Gzip is detected from the content, not the name.
        magic: if given, the exact magic number the file must start with
            (e.g. ``0x00000803`` for MNIST images).

    Example:
        >>> from bprop.data import read_idx
        >>> labels = read_idx("/work/shared/data/mnist/t10k-labels-idx1-ubyte.gz")  # doctest: +SKIP
        >>> labels.shape, labels.dtype                                             # doctest: +SKIP
        ((10000,), dtype('uint8'))
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileNotFoundError(f"IDX file not found: {path}")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (EOFError, OSError, zlib.error) as err:
            raise IDXError(
                f"{path}: corrupt or truncated gzip data ({err}); download the file again"
            ) from err
    if len(raw) < 4:
        raise IDXError(f"{path}: truncated: {len(raw)} bytes, too short for an IDX header")
    found = int.from_bytes(raw[:4], "big")
    if magic is not None and found != magic:
        raise IDXError(
            f"{path}: wrong magic number 0x{found:08X}, expected 0x{magic:08X}; "
            "is this the right file (images vs labels) and an uncorrupted IDX file?"
        )
    code, ndim = raw[2], raw[3]
    if raw[:2] != b"\x00\x00" or code not in IDX_DTYPES or ndim == 0:
        raise IDXError(f"{path}: not an IDX file (magic number 0x{found:08X})")
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise IDXError(f"{path}: truncated: {len(raw)} bytes, the header alone needs {start}")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    dtype = np.dtype(IDX_DTYPES[code])
    need = start + math.prod(shape) * dtype.itemsize
    if len(raw) != need:
        problem = "truncated" if len(raw) < need else "has trailing bytes"
        raise IDXError(
            f"{path}: {problem}: {len(raw)} bytes (uncompressed), but its header (shape {shape}) "
            f"says {need}; download the file again"
        )
    data = np.frombuffer(raw, dtype=dtype, count=math.prod(shape), offset=start)
    return data.astype(dtype.newbyteorder("=")).reshape(shape)


def load_mnist(path: str | os.PathLike, kind: str = "t10k") -> Dataset:
    """Load the MNIST ``kind`` split ("t10k" or "train") from the IDX files in directory ``path``.

    Returns a classification `Dataset`: ``X`` float32 of shape (N, 784) scaled to [0, 1]
    (pixel / 255), ``y`` int64 digits 0..9, ``n_classes=10``.
    """
    if kind not in KINDS:
        raise DataError(f"kind must be one of {KINDS}, got {kind!r}")
    folder = Path(path)
    if not folder.is_dir():
        if folder.exists():
            raise DataError(
                f"{folder} is a file; give the directory that holds the MNIST IDX files"
            )
        raise DataFileNotFoundError(f"MNIST directory not found: {folder}")
    images_file = _find(folder, f"{kind}-images-idx3-ubyte")
    labels_file = _find(folder, f"{kind}-labels-idx1-ubyte")
    images = read_idx(images_file, magic=IMAGES_MAGIC)
    labels = read_idx(labels_file, magic=LABELS_MAGIC)
    if len(images) != len(labels):
        raise IDXError(
            f"{images_file} holds {len(images)} images but {labels_file} holds "
            f"{len(labels)} labels; the two files must come from the same split"
        )
    if len(labels) and labels.max() > 9:
        raise IDXError(f"{labels_file}: label {labels.max()} found; MNIST labels are digits 0..9")
    X = images.reshape(len(images), -1).astype(np.float32)
    X /= 255
    return Dataset(
        X=X,
        y=labels.astype(np.int64),
        task="classification",
        name=f"mnist-{kind}",
        description=f"MNIST handwritten digits, {kind} split: {len(X)} "
        f"{images.shape[1]}x{images.shape[2]} greyscale images, pixels scaled to [0, 1] "
        "(LeCun, Bottou, Bengio & Haffner 1998).",
        n_classes=10,
        target_names=[str(d) for d in range(10)],
    )


def _find(folder: Path, stem: str) -> Path:
    for candidate in (folder / stem, folder / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    present = sorted(p.name for p in folder.iterdir())[:10]
    raise DataFileNotFoundError(
        f"{folder}: no {stem} or {stem}.gz (files there: {present or 'none'}); "
        "download the MNIST IDX files into this directory"
    )
