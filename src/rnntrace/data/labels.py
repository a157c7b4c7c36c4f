"""Class labels: raw strings or numbers → class names in a natural order and integer codes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from rnntrace.errors import DataError

IntArray = npt.NDArray[np.int64]

_CHUNKS = re.compile(r"(\d+)")

# The label of every sequence in a file read for prediction, which needs none.
UNLABELLED = ""


def _as_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def natural_order(names: Sequence[str]) -> list[str]:
    """Numbers by value ("2" < "10"), otherwise text with digit runs compared as numbers."""
    numbers = [_as_number(n) for n in names]
    if all(v is not None for v in numbers):
        return [n for _, n in sorted(zip(numbers, names, strict=True), key=lambda p: (p[0], p[1]))]

    def key(name: str) -> tuple[tuple[int, int, str], ...]:
        chunks = [
            (0, int(chunk), "") if chunk.isdigit() else (1, 0, chunk.casefold())
            for chunk in _CHUNKS.split(name)
            if chunk
        ]
        return (*chunks, (2, 0, name))  # ties ("A" vs "a") broken by the exact text

    return sorted(names, key=key)


def label_strings(raw: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Raw labels as text: integral floats lose their ".0" so 1.0 and 1 name the same class.

    Text counts too when every label is such a number: a CSV written from a float column
    ("0.0", "1.0") names its classes as the same data read from Parquet or NumPy does ("0",
    "1"). Text such as "007" or "1.5" is kept as written.
    """
    array = np.asarray(raw)
    if array.dtype.kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)):
        array = array.astype(np.int64)
    if array.dtype.kind == "b":
        array = array.astype(np.int64)
    text = array.astype(str)
    if text.dtype.kind != "U" or not text.size:
        return text
    uniques, inverse = np.unique(text, return_inverse=True)
    numbers = [_as_number(str(u)) for u in uniques]
    written = [str(u).lstrip("+-").isdigit() for u in uniques]  # "007" stays "007"
    if all(v is not None and v == round(v) for v in numbers) and not all(written):
        whole = [str(u) if digits else str(int(v or 0))
                 for u, v, digits in zip(uniques, numbers, written, strict=True)]
        text = np.asarray(whole, dtype=str)[inverse.reshape(-1)].reshape(text.shape)
    return text


def encode(
    raw: npt.ArrayLike, order: Sequence[str] | None = None
) -> tuple[IntArray, list[str]]:
    """(codes, class_names): codes index class_names; `order` fixes the names (else natural)."""
    text = label_strings(raw)
    uniques, codes = np.unique(text, return_inverse=True)
    names = [str(u) for u in uniques]
    class_names = natural_order(names) if order is None else [str(c) for c in order]
    # A run saved before integral float text was read as numbers may name its classes "0.0",
    # "1.0": its names are compared as label_strings reads them now, and kept as they are.
    spelled = class_names if order is None else \
        [str(t) for t in label_strings(np.asarray(class_names, dtype=str))]
    unknown = sorted(set(names) - set(spelled))
    if unknown:
        raise ValueError(f"labels {unknown} are not among {class_names}")
    position = {name: i for i, name in enumerate(spelled)}
    remap = np.array([position[n] for n in names], dtype=np.int64)
    return remap[codes.reshape(-1)], class_names


def require_classes(class_names: Sequence[str], minimum: int, where: str) -> None:
    """A classifier needs at least `minimum` distinct classes; say so plainly when it has fewer."""
    if len(class_names) < minimum:
        found = ", ".join(repr(c) for c in class_names)
        raise DataError(
            f"{where}: only {len(class_names)} class ({found}) but a classifier needs at least "
            f"{minimum}; check the label column or add sequences of the other classes"
        )
