""".npy arrays read by our own rules: a header's claims are checked before a byte is allocated.

    \\x93NUMPY major minor  length  {'descr': '<f4', 'fortran_order': False, 'shape': (N, T, F)}
    ──────── magic ───────  u16/u32  ──────────── a Python dict literal, padded ──────────────
    data: prod(shape) × itemsize bytes

np.load trusts the header: a 100-byte file claiming 10^12 elements makes it allocate terabytes,
a negative dimension raises OverflowError, a broken dict raises tokenize errors, and an .npz
member's damaged deflate data raises zlib.error. Here the header is parsed as plain data (never
unpickled, never evaluated beyond a literal), the element count is computed with Python integers,
and the bytes it needs are compared with the bytes the file (or the zip member) really holds.
"""

from __future__ import annotations

import ast
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import numpy.typing as npt

from rnntrace.errors import DataError

MAGIC = b"\x93NUMPY"
_MAX_HEADER = 100_000  # bytes of header text; np.save writes under 200
_MAX_DIM = 2**62
# Deflate cannot expand data more than ~1032×: a member claiming more is lying about its size.
_DEFLATE_RATIO = 1100
# What zipfile and zlib raise for a damaged archive or member, besides DataError of our own.
DAMAGED = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError,
           RuntimeError, OverflowError, struct.error, KeyError, IndexError)


class ObjectArray(DataError):
    """An array of Python objects, which would need unpickling; never loaded."""


@dataclass(frozen=True)
class Header:
    """What an .npy header says, each part checked to be plain and in range."""

    dtype: np.dtype[Any]
    shape: tuple[int, ...]
    fortran: bool
    offset: int  # where the data starts

    @property
    def count(self) -> int:
        n = 1
        for d in self.shape:
            n *= d  # Python integers: no overflow, no RuntimeWarning
        return n

    @property
    def nbytes(self) -> int:
        return self.count * self.dtype.itemsize


def _fail(where: str, why: str) -> DataError:
    return DataError(f"{where}: not a readable .npy array ({why}); save it again with np.save")


def read_header(fh: IO[bytes], where: str) -> Header:
    """The header at the start of `fh`, or a DataError naming what is wrong with it."""
    lead = fh.read(8)
    if len(lead) < 8 or not lead.startswith(MAGIC):
        raise DataError(f"{where}: not a NumPy .npy file (wrong header); save it with np.save")
    major = lead[6]
    if major == 1:
        raw = fh.read(2)
        size = struct.unpack("<H", raw)[0] if len(raw) == 2 else -1
    elif major in (2, 3):
        raw = fh.read(4)
        size = struct.unpack("<I", raw)[0] if len(raw) == 4 else -1
    else:
        raise _fail(where, f"format version {major}, which NumPy never wrote")
    if not 0 < size <= _MAX_HEADER:
        raise _fail(where, f"a header of {size} bytes")
    text = fh.read(size)
    if len(text) != size:
        raise _fail(where, "the file ends inside its header")
    try:
        literal = ast.literal_eval(text.decode("utf-8" if major == 3 else "latin1"))
    except Exception:  # SyntaxError, ValueError, MemoryError, RecursionError...: all mean broken
        raise _fail(where, "its header is not a dictionary NumPy wrote") from None
    return Header(*_checked(literal, where), offset=len(lead) + len(raw) + size)


def _checked(literal: object, where: str) -> tuple[np.dtype[Any], tuple[int, ...], bool]:
    if not isinstance(literal, dict) or set(literal) != {"descr", "fortran_order", "shape"}:
        raise _fail(where, "its header does not hold exactly descr, fortran_order and shape")
    descr, fortran, shape = literal["descr"], literal["fortran_order"], literal["shape"]
    if not isinstance(fortran, bool):
        raise _fail(where, f"fortran_order is {fortran!r}")
    if (not isinstance(shape, tuple) or len(shape) > 32
            or not all(type(d) is int and 0 <= d < _MAX_DIM for d in shape)):
        raise _fail(where, f"shape {shape!r} is not a tuple of sizes")
    if not isinstance(descr, str) or len(descr) > 64:
        raise DataError(f"{where}: a structured array (fields {str(descr)[:60]}); save plain "
                        "numbers or strings, one array per key")
    try:
        dtype = np.dtype(descr)
    except Exception:  # TypeError, ValueError, SyntaxError for strings NumPy cannot read
        raise _fail(where, f"unknown dtype {descr!r}") from None
    if dtype.hasobject:
        raise ObjectArray(f"{where}: holds Python objects")
    if dtype.names is not None or dtype.subdtype is not None or dtype.kind == "V":
        raise DataError(f"{where}: a structured array ({descr}); save plain numbers or strings")
    if dtype.itemsize == 0:
        raise _fail(where, f"dtype {descr!r} has no size")
    return dtype, shape, fortran


def _claim(header: Header, available: int, where: str) -> None:
    if header.nbytes > available:
        raise DataError(f"{where}: the header claims shape {header.shape} of {header.dtype} "
                        f"({header.nbytes} bytes) but the file holds {max(available, 0)}; the file "
                        "is truncated or damaged, save it again with np.save")


def _shaped(flat: npt.NDArray[Any], header: Header, where: str) -> npt.NDArray[Any]:
    if flat.dtype.kind == "U" and flat.size:
        # UTF-32 code units past U+10FFFF are no characters: NumPy would fail on each access.
        units = flat.view(flat.dtype.byteorder.replace("=", "<").replace("|", "<") + "u4")
        if units.max() > 0x10FFFF:
            raise _fail(where, "its strings hold code points that are no characters")
    return flat.reshape(header.shape, order="F" if header.fortran else "C")


def load_npy(path: Path, where: str, mmap: bool) -> npt.NDArray[Any]:
    """The array in an .npy file, memory-mapped read-only when `mmap` (and non-empty)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = read_header(fh, where)
        _claim(header, size - header.offset, where)
        if header.count == 0:
            return np.empty(header.shape, dtype=header.dtype)
        if mmap:
            return np.memmap(path, dtype=header.dtype, mode="r", offset=header.offset,
                             shape=header.shape, order="F" if header.fortran else "C")
        flat = np.fromfile(fh, dtype=header.dtype, count=header.count)
    if flat.size != header.count:
        _claim(header, flat.nbytes, where)
    return _shaped(flat, header, where)


def load_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, archive_bytes: int
                ) -> npt.NDArray[Any]:
    """One .npy member of an .npz archive, its claimed size checked before reading.

    The member's sizes in the zip directory are claims too: what it can hold is bounded by the
    archive's real size (`archive_bytes`) times what its compression can expand.
    """
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise DataError(f"{where}: compressed in a way np.savez never writes; save it again "
                        "with np.savez or np.savez_compressed")
    ratio = 1 if info.compress_type == zipfile.ZIP_STORED else _DEFLATE_RATIO
    with archive.open(info) as fh:
        header = read_header(fh, where)
        stored = min(info.compress_size, archive_bytes)
        _claim(header, min(info.file_size, stored * ratio) - header.offset, where)
        out = np.empty(header.count, dtype=header.dtype)
        view = memoryview(out.view(np.uint8).data)  # bytes of any dtype, strings included
        got = 0
        while got < out.nbytes:
            n = fh.readinto(view[got:])  # type: ignore[attr-defined]  # ZipExtFile has it
            if not n:
                break
            got += n
    if got != out.nbytes:
        _claim(header, got, where)
    return _shaped(out, header, where)
