"""MNIST IDX reading on the real 10,000-image test set, and clear errors for broken files."""

import gzip
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from bprop.data import DataError, IDXError, load_dataset, load_mnist, read_idx

MNIST_DIR = Path(
    os.environ.get(
        "BPROP_MNIST_DIR", Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "mnist"
    )
)
IMAGES_GZ = MNIST_DIR / "t10k-images-idx3-ubyte.gz"
LABELS_GZ = MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
real_mnist = pytest.mark.skipif(
    not (IMAGES_GZ.is_file() and LABELS_GZ.is_file()), reason=f"MNIST t10k files not in {MNIST_DIR}"
)
# The digit counts of the MNIST test set (LeCun et al.), a well-known fingerprint.
T10K_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def write_idx(path, array, type_code=0x08):
    """Write ``array`` as an IDX file (big-endian), the inverse of read_idx."""
    dtypes = {0x08: ">u1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + np.asarray(array, dtype=dtypes[type_code]).tobytes())
    return path


def plain_copy(src, dst_dir, name=None):
    """Decompress a real .gz IDX file into ``dst_dir`` and return the new path."""
    dst = dst_dir / (name or src.name.removesuffix(".gz"))
    dst.write_bytes(gzip.decompress(src.read_bytes()))
    return dst


# --- the real MNIST test set ------------------------------------------------------------


@real_mnist
def test_load_real_t10k():
    ds = load_mnist(MNIST_DIR, kind="t10k")
    assert ds.name == "mnist-t10k" and ds.task == "classification" and ds.n_classes == 10
    assert ds.X.shape == (10_000, 784) and ds.X.dtype == np.float32
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.y.shape == (10_000,) and ds.y.dtype == np.int64
    counts = np.bincount(ds.y, minlength=10)
    assert counts.sum() == 10_000 and counts.tolist() == T10K_COUNTS
    assert ds.y[:5].tolist() == [7, 2, 1, 0, 4]
    assert ds.target_names == tuple("0123456789")
    # Pixels are k/255 for integers k: the scaling is exact division by 255.
    np.testing.assert_allclose(ds.X * 255, np.round(ds.X * 255), atol=1e-4)


@real_mnist
def test_read_idx_headers_of_real_files():
    images = read_idx(IMAGES_GZ, magic=0x00000803)
    labels = read_idx(LABELS_GZ, magic=0x00000801)
    assert images.shape == (10_000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10_000,) and labels.dtype == np.uint8


@real_mnist
def test_uncompressed_files_give_the_same_data(tmp_path):
    plain_copy(IMAGES_GZ, tmp_path)
    plain_copy(LABELS_GZ, tmp_path)
    plain, gz = load_mnist(tmp_path), load_mnist(MNIST_DIR)
    np.testing.assert_array_equal(plain.X, gz.X)
    np.testing.assert_array_equal(plain.y, gz.y)


@real_mnist
def test_registry_loads_mnist_from_a_path():
    ds = load_dataset(f"mnist:{MNIST_DIR}")
    assert ds.name == "mnist-t10k" and len(ds) == 10_000


# --- broken copies of the real files ---------------------------------------------------


@real_mnist
def test_truncated_uncompressed_images(tmp_path):
    images = plain_copy(IMAGES_GZ, tmp_path)
    shutil.copy(LABELS_GZ, tmp_path)
    images.write_bytes(images.read_bytes()[:-1000])
    with pytest.raises(IDXError, match="t10k-images-idx3-ubyte: truncated: 7839016 bytes") as info:
        load_mnist(tmp_path)
    assert "says 7840016" in str(info.value)


@real_mnist
def test_truncated_gzip_images(tmp_path):
    shutil.copy(LABELS_GZ, tmp_path)
    data = IMAGES_GZ.read_bytes()
    (tmp_path / IMAGES_GZ.name).write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXError, match="t10k-images-idx3-ubyte.gz: corrupt or truncated gzip"):
        load_mnist(tmp_path)


@real_mnist
def test_wrong_magic_number(tmp_path):
    images = plain_copy(IMAGES_GZ, tmp_path)
    shutil.copy(LABELS_GZ, tmp_path)
    data = bytearray(images.read_bytes())
    data[3] = 0x02  # 0x00000803 -> 0x00000802
    images.write_bytes(bytes(data))
    with pytest.raises(
        IDXError, match="t10k-images-idx3-ubyte: wrong magic number 0x00000802, expected 0x00000803"
    ):
        load_mnist(tmp_path)


@real_mnist
def test_labels_file_in_place_of_images(tmp_path):
    shutil.copy(LABELS_GZ, tmp_path / "t10k-images-idx3-ubyte.gz")
    shutil.copy(LABELS_GZ, tmp_path)
    with pytest.raises(IDXError, match="wrong magic number 0x00000801, expected 0x00000803"):
        load_mnist(tmp_path)


@real_mnist
def test_counts_that_do_not_match(tmp_path):
    shutil.copy(IMAGES_GZ, tmp_path)
    labels = read_idx(LABELS_GZ)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", labels[:9_999])
    with pytest.raises(
        IDXError, match="holds 10000 images but .*t10k-labels-idx1-ubyte holds 9999 labels"
    ):
        load_mnist(tmp_path)


# --- small generated IDX files ------------------------------------------------------------


def test_read_idx_round_trips_other_types(tmp_path):
    ints = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "i.idx", ints, 0x0C)), ints)
    floats = np.linspace(0, 1, 5)
    out = read_idx(write_idx(tmp_path / "f.idx", floats, 0x0E))
    np.testing.assert_array_equal(out, floats)
    assert out.dtype.isnative


def test_read_idx_rejects_non_idx_and_trailing_bytes(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(b"hello world")
    with pytest.raises(IDXError, match="junk: not an IDX file"):
        read_idx(junk)
    short = tmp_path / "short"
    short.write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="short: truncated: 2 bytes"):
        read_idx(short)
    header_only = tmp_path / "header_only"
    header_only.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(IDXError, match="the header alone needs 16"):
        read_idx(header_only)
    extra = write_idx(tmp_path / "extra", np.zeros(4, dtype=np.uint8))
    extra.write_bytes(extra.read_bytes() + b"\x00")
    with pytest.raises(IDXError, match="extra: has trailing bytes"):
        read_idx(extra)


def test_registry_prefers_train_files(tmp_path):
    rng = np.random.default_rng(0)
    for kind, n in (("train", 6), ("t10k", 3)):
        write_idx(tmp_path / f"{kind}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{kind}-labels-idx1-ubyte", rng.integers(0, 10, n))
    ds = load_dataset(f"mnist:{tmp_path}")
    assert ds.name == "mnist-train" and len(ds) == 6
    assert load_dataset(f"mnist:{tmp_path}", kind="t10k").name == "mnist-t10k"
    assert len(load_mnist(tmp_path, kind="train")) == 6


def test_label_out_of_range(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((2, 28, 28)))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 12]))
    with pytest.raises(IDXError, match="label 12 found; MNIST labels are digits 0..9"):
        load_mnist(tmp_path)


def test_missing_files_and_directory(tmp_path):
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(
        DataError, match="no t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz"
    ) as info:
        load_mnist(tmp_path)
    assert "readme.txt" in str(info.value) and isinstance(info.value, FileNotFoundError)
    with pytest.raises(DataError, match="MNIST directory not found"):
        load_mnist(tmp_path / "absent")
    with pytest.raises(DataError, match="is a file; give the directory"):
        load_mnist(tmp_path / "readme.txt")
    with pytest.raises(DataError, match="kind must be one of"):
        load_mnist(tmp_path, kind="test")
    with pytest.raises(DataError, match="IDX file not found"):
        read_idx(tmp_path / "absent.idx")
