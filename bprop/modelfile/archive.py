"""Reading a model file's ZIP archive with bounded memory.

Nothing is trusted before it is checked: the ZIP directory's size (from its end record, before
:mod:`zipfile` parses it), each array member's ``.npy`` header (read alone, without the data:
dtype, shape, declared size), and the JSON description's size and nesting depth. Only members
the caller names are read, by streaming exactly the bytes their header announces (in chunks,
into the one array they fill), and a member with any byte more is refused — so a member that
inflates to gigabytes costs nothing, and an unused one is never touched. Only stored and
deflated members are accepted (deflate inflates in bounded steps).
"""

from __future__ import annotations

import json
import math
import os
import stat
import struct
import zipfile
from typing import Any, BinaryIO

import numpy as np

from bprop.modelfile import ModelFileError, one_line

#: most members a model file may have (a deep model has a few per layer)
MAX_MEMBERS = 10_000
#: largest ZIP central directory read, in bytes
MAX_DIRECTORY_BYTES = 8 * 2**20
#: largest JSON description, in bytes, and its deepest nesting of lists and objects
MAX_JSON_BYTES = 16 * 2**20
MAX_JSON_DEPTH = 64
#: dtypes accepted for arrays of numbers: floats for weights and state, integers for indices
FLOAT_DTYPES = (np.float16, np.float32, np.float64)
INT_DTYPES = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32)

_CHUNK = 2**20
_EOCD = struct.Struct("<4s4H2LH")


class Header:
    """What an array member's ``.npy`` header declares."""

    def __init__(self, shape: tuple[int, ...], fortran: bool, dtype: np.dtype, offset: int):
        self.shape, self.fortran, self.dtype, self.offset = shape, fortran, dtype, offset
        self.size = math.prod(shape)
        self.nbytes = self.size * dtype.itemsize


class Archive:
    """An open model file: ``names`` (member keys, without ``.npy``), :meth:`header`,
    :meth:`read`, :meth:`read_json`. Use as a context manager."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise FileNotFoundError(f"no model file at {path}") from None
        except OSError as err:
            raise ModelFileError(f"cannot read {path}: {one_line(err)}") from err
        if not stat.S_ISREG(st.st_mode):
            raise ModelFileError(f"{path} is not a regular file, so not a bprop model file")
        try:
            self._fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as err:
            raise ModelFileError(f"cannot read {path}: {one_line(err)}") from err
        try:
            self._check_directory(st.st_size)
            self._zip = zipfile.ZipFile(self._fh)
            self._infos = {
                i.filename[:-4]: i for i in self._zip.infolist() if i.filename.endswith(".npy")
            }
        except ModelFileError:
            self._fh.close()
            raise
        except Exception as err:
            self._fh.close()
            raise self.error(
                f"is not a readable bprop model file ({one_line(err)}); it may be truncated or "
                "corrupt. Load a backup copy, or retrain and save again"
            ) from err
        self.names = set(self._infos)

    def error(self, what: str) -> ModelFileError:
        """A :class:`ModelFileError` about this file: its path, then ``what``."""
        return ModelFileError(f"{self.path} {what}")

    def _check_directory(self, size: int) -> None:
        """Refuse a ZIP whose directory (per its end record) is too large to parse cheaply."""
        n = min(size, _EOCD.size + 65535)
        self._fh.seek(size - n)
        tail = self._fh.read(n)
        at = tail.rfind(b"PK\x05\x06")
        if at < 0 or at + _EOCD.size > len(tail):
            raise self.error(
                "is not a bprop model file (not a ZIP archive); it may be truncated or corrupt. "
                "Load a backup copy, or retrain and save again"
            )
        _, _, _, _, members, dir_bytes, _, _ = _EOCD.unpack_from(tail, at)
        if members > MAX_MEMBERS or dir_bytes > MAX_DIRECTORY_BYTES:
            raise self.error(
                f"lists {members} members in a {dir_bytes}-byte directory, more than a model "
                f"file has (at most {MAX_MEMBERS}); it is corrupt or not a bprop model file"
            )

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the ZIP archive and the file under it."""
        self._zip.close()
        self._fh.close()

    # --- members ------------------------------------------------------------------------
    def _open(self, key: str) -> Any:
        info = self._infos.get(key)
        if info is None:
            raise self.error(f"is missing the array {key}")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self.error(f"stores {key} with an unsupported compression method")
        return info, self._zip.open(info)

    def header(self, key: str, kinds: tuple[type, ...] = FLOAT_DTYPES) -> Header:
        """Read only the ``.npy`` header of member ``key``; check its dtype is one of ``kinds``
        and that the member's declared size matches the header."""
        try:
            info, f = self._open(key)
            with f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy format version {version}")
                offset = f.tell()
        except ModelFileError:
            raise
        except Exception as err:
            raise self.error(f"has a damaged array {key} ({one_line(err)})") from err
        if dtype.subdtype is not None or dtype.fields is not None or dtype.type not in kinds:
            allowed = ", ".join(np.dtype(k).name for k in kinds)
            raise self.error(f"stores {key} as {dtype}; only {allowed} arrays are accepted")
        h = Header(tuple(shape), bool(fortran), dtype, offset)
        if info.file_size != offset + h.nbytes:
            raise self.error(
                f"declares {info.file_size} bytes for {key}, but its header says "
                f"{offset + h.nbytes}; the file is corrupt"
            )
        return h

    def read(self, key: str, h: Header) -> np.ndarray:
        """The array of member ``key`` whose header :meth:`header` returned: exactly
        ``h.nbytes`` bytes streamed after the header (a member holding more is refused)."""
        out = np.empty(h.size, dtype=h.dtype)
        view = memoryview(out).cast("B")
        try:
            _, f = self._open(key)
            with f:
                f.seek(h.offset)
                pos = 0
                while pos < h.nbytes:
                    got = f.read(min(_CHUNK, h.nbytes - pos))
                    if not got:
                        raise EOFError(f"{key} ends after {pos} of {h.nbytes} bytes")
                    view[pos : pos + len(got)] = got
                    pos += len(got)
                if f.read(1):  # also reaches the end, where zipfile checks the CRC
                    raise ValueError(f"{key} holds more data than its header declares")
        except ModelFileError:
            raise
        except Exception as err:
            raise self.error(
                f"has a damaged array {key} ({one_line(err)}); it may be truncated or corrupt"
            ) from err
        if h.fortran:
            return out.reshape(h.shape[::-1]).T
        return out.reshape(h.shape)

    def read_json(self, key: str) -> Any:
        """The JSON document stored as a uint8 array in member ``key``, with its size, nesting
        depth and numbers checked (NaN, Infinity and overflowing floats are refused)."""
        h = self.header(key, kinds=(np.uint8,))
        if len(h.shape) != 1 or h.nbytes > MAX_JSON_BYTES:
            raise self.error(
                f"has a model description of shape {h.shape}, not a JSON text of at most "
                f"{MAX_JSON_BYTES} bytes"
            )
        raw = self.read(key, h).tobytes()
        try:
            meta = json.loads(
                raw.decode("utf-8"), parse_constant=_no_constant, parse_float=_finite_float
            )
        except (ValueError, RecursionError) as err:
            raise self.error(f"has a damaged model description ({one_line(err)})") from err
        if _depth(meta) > MAX_JSON_DEPTH:
            raise self.error(
                f"has a model description nested more than {MAX_JSON_DEPTH} levels deep"
            )
        return meta


def _no_constant(name: str) -> Any:
    raise ValueError(f"the number {name} is not allowed in a model description")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} overflows")
    return value


def _depth(obj: Any) -> int:
    """Nesting depth of lists and dicts (iterative, so any depth is safe to measure)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, (list, dict)):
            deepest = max(deepest, d)
            if deepest > MAX_JSON_DEPTH:
                return deepest
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return deepest
