"""UEA/UCR `.ts` files → SequenceSet: a header of @keys, then one series per line after @data.

    # comment lines start with # (or %, as tsml writes them)
    @problemName JapaneseVowelsMini
    @univariate false
    @dimensions 2
    @equalLength false
    @classLabel true 1 2          ← the class order; labels may be any words
    @data
    1.0,2.0,3.0:4.0,5.0,6.0:1     ← dimensions split by ':', values by ',', the label last
    0.5,?:1.5,2.5:2               ← '?' is a missing value (NaN); lengths may differ by series

A parser of our own (standard library + NumPy): the format is a page long, and owning it lets
every message name the line, the series and the header key. Series are padded to the longest.
A regression file (`@targetLabel true`: the last field is a number to predict, not a class)
is read with its targets (rnntrace.data.targets.as_regression). Files with @timeStamps true are
refused with a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rnntrace.data import labels as label_codes
from rnntrace.data import numbers
from rnntrace.data.labels import UNLABELLED
from rnntrace.data.sequences import SequenceSet, finish
from rnntrace.data.targets import as_regression
from rnntrace.errors import DataError

_COUNT = re.compile(r"[0-9]{1,9}")
_BOOLEANS = ("timestamps", "missing", "univariate", "equallength")
_INTEGERS = ("dimensions", "dimension", "serieslength")
_SPELLING = {"timestamps": "@timeStamps", "missing": "@missing", "univariate": "@univariate",
             "equallength": "@equalLength", "dimensions": "@dimensions",
             "dimension": "@dimensions", "serieslength": "@seriesLength"}


@dataclass
class _Header:
    """The @keys that matter for reading; None where the file does not say."""

    flags: dict[str, bool] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    class_names: list[str] | None = None
    data_line: int = 0  # the line number of @data; 0 until it is seen
    labelled: bool = True  # False: reading sequences to classify, labels may be absent
    dimensions_from: str = "@dimensions says"  # what set the count, for messages
    no_labels: bool = False  # @classLabel false, accepted when not labelled
    regression: bool = False  # @targetLabel true: the last field is a numeric target


def _parse_header_line(text: str, line: int, header: _Header, source: str) -> None:
    key, _, rest = text[1:].partition(" ")
    key, value = key.lower(), rest.strip()
    where = f"{source} line {line}"
    if key in _BOOLEANS:
        if value.lower() not in ("true", "false"):
            raise DataError(f"{where}: {_SPELLING[key]} must be true or false, got {value!r}")
        header.flags[key] = value.lower() == "true"
    elif key in _INTEGERS:
        # ASCII digits, and few of them: str.isdigit() accepts '²', which int() refuses.
        if not _COUNT.fullmatch(value) or int(value) < 1:
            raise DataError(f"{where}: {_SPELLING[key]} must be a positive whole number, "
                            f"got {value!r}")
        header.numbers["dimensions" if key == "dimension" else key] = int(value)
    elif key == "classlabel":
        words = value.split()
        if not words or words[0].lower() not in ("true", "false"):
            raise DataError(f"{where}: @classLabel must be 'true <labels...>' or false, "
                            f"got {value!r}")
        if words[0].lower() == "false" and not header.labelled:
            header.class_names = [UNLABELLED]
            header.no_labels = True
            return
        if words[0].lower() == "false":
            raise DataError(f"{where}: @classLabel false means the series have no class labels; "
                            "a classifier needs them (@classLabel true <labels...>)")
        if len(words) < 2:
            raise DataError(f"{where}: @classLabel true lists no labels; write "
                            "'@classLabel true <label> <label> ...'")
        if len(set(words[1:])) != len(words) - 1:
            raise DataError(f"{where}: @classLabel repeats a label; list each class once")
        header.class_names = words[1:]
    elif key == "targetlabel":
        flag = value.split()[0].lower() if value.split() else ""
        if flag not in ("true", "false"):
            raise DataError(f"{where}: @targetLabel must be true or false, got {value!r}")
        if flag == "false" and not header.labelled:
            header.class_names, header.no_labels = [UNLABELLED], True
            return
        if flag == "false":
            raise DataError(f"{where}: @targetLabel false means the series have no targets; "
                            "a regression model needs them (@targetLabel true)")
        header.regression = True
        header.class_names = []  # the targets themselves, read as numbers after @data
    elif key == "data":
        header.data_line = line
    # @problemName and other keys describe the file and change nothing here.


def _values(text: str, where: str) -> npt.NDArray[np.float64]:
    """One dimension's comma-separated values; '?' or an empty cell is missing.

    One trailing comma ends the list (some writers add it); any other empty cell, trailing
    ones included, is a missing value, as documented. Numbers follow rnntrace.data.numbers.
    """
    body = text.strip()
    if body.endswith(","):
        body = body[:-1]
    tokens = [t.strip() for t in body.split(",")]
    cleaned = ["nan" if t in ("?", "") else t for t in tokens]
    for k, token in enumerate(cleaned):
        if not numbers.is_number(token):
            raise DataError(f"{where}, value {k}: {token!r} is not a number; "
                            "use '?' for a missing value")
    return np.array(cleaned, dtype=np.float64)


def read_ts(
    path: Path, *, nan: str = "error", min_classes: int = 2, labelled: bool = True
) -> SequenceSet:
    """A UEA/UCR .ts classification file, univariate or multivariate, equal length or not."""
    source = str(path)
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise DataError(f"{source}: not UTF-8 text; a .ts file is plain text") from None
    header = _Header()
    header.labelled = labelled
    series: list[npt.NDArray[np.float64]] = []  # each (T_i, D)
    raw_labels: list[str] = []
    line_of: list[int] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith(("#", "%")):  # tsml writes ARFF-style % comments
            continue
        if not header.data_line:
            if not text.startswith("@"):
                raise DataError(f"{source} line {number}: {text[:30]!r} comes before @data; "
                                "the header is @key lines ending with @data")
            _parse_header_line(text, number, header, source)
            if header.data_line:
                _check_header(header, source)
            continue
        where = f"{source} line {number} (series {len(series)})"
        fields = text.split(":")
        if header.no_labels:
            fields.append(UNLABELLED)  # @classLabel false: series carry no label field
        dims = header.numbers.get("dimensions", len(fields) - 1 if not series
                                  else series[0].shape[1])
        if len(fields) - 1 != dims:
            said = (header.dimensions_from if "dimensions" in header.numbers
                    else f"series 0 (line {line_of[0]}) has")
            found = f"{len(fields) - 1} dimension{'s' if len(fields) != 2 else ''}"
            raise DataError(f"{where}: {found} but {said} {dims}; each "
                            "dimension ends with ':' and the label comes last")
        label = fields[-1].strip()
        assert header.class_names is not None  # _check_header made sure
        if header.regression:
            if not numbers.is_number(label) or not np.isfinite(float(label)):
                raise DataError(f"{where}: target {label!r} is not a number; @targetLabel true "
                                "means the last field of each series is the number to predict")
        elif label not in header.class_names:
            raise DataError(f"{where}: label {label!r} is not in @classLabel "
                            f"({' '.join(header.class_names)}); add it there or fix the label")
        columns = [_values(fields[d], f"{where}, dimension {d}") for d in range(dims)]
        length = columns[0].shape[0]
        for d, column in enumerate(columns):
            if column.shape[0] != length:
                raise DataError(f"{where}: dimension {d} has {column.shape[0]} values but "
                                f"dimension 0 has {length}; all dimensions of a series share "
                                "its length")
        series.append(np.stack(columns, axis=1))  # (T_i, D)
        raw_labels.append(label)
        line_of.append(number)
    if not header.data_line:
        raise DataError(f"{source}: no @data line; a .ts file lists its series after @data "
                        "(is this a .ts file?)")
    if not series:
        raise DataError(f"{source}: no series after @data (line {header.data_line})")
    _check_lengths(series, header, source, line_of)
    return _assemble(series, raw_labels, header, source, line_of, nan, min_classes)


def _check_header(header: _Header, source: str) -> None:
    where = f"{source} line {header.data_line}"
    if header.class_names is None:
        raise DataError(f"{where}: @data comes before any @classLabel line; a classification "
                        "file needs '@classLabel true <labels...>' in its header")
    if header.flags.get("timestamps", False):
        raise DataError(f"{source}: @timeStamps true is not supported; export the series "
                        "without time stamps (plain comma-separated values)")
    if header.flags.get("univariate") and header.numbers.get("dimensions", 1) != 1:
        raise DataError(f"{source}: @univariate true but @dimensions "
                        f"{header.numbers['dimensions']}; fix one of them")
    if header.flags.get("univariate") and "dimensions" not in header.numbers:
        header.numbers["dimensions"] = 1
        header.dimensions_from = "@univariate true means"


def _check_lengths(
    series: list[npt.NDArray[np.float64]], header: _Header, source: str, line_of: list[int]
) -> None:
    if not header.flags.get("equallength", False):
        return
    expected = header.numbers.get("serieslength", series[0].shape[0])
    for i, s in enumerate(series):
        if s.shape[0] != expected:
            said = "@seriesLength" if "serieslength" in header.numbers else "series 0"
            raise DataError(f"{source} line {line_of[i]} (series {i}): {s.shape[0]} steps but "
                            f"@equalLength true and {said} has {expected}; fix the series or "
                            "set @equalLength false")


def _assemble(
    series: list[npt.NDArray[np.float64]],
    raw_labels: list[str],
    header: _Header,
    source: str,
    line_of: list[int],
    nan: str,
    min_classes: int,
) -> SequenceSet:
    assert header.class_names is not None
    lengths = np.array([s.shape[0] for s in series], dtype=np.int64)  # (N,)
    values = np.zeros((len(series), int(lengths.max()), series[0].shape[1]), dtype=np.float32)
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf: reported below
        for i, s in enumerate(series):
            values[i, : s.shape[0]] = s  # (N, T_max, D) ← (T_i, D)
    ids = [str(i) for i in range(len(series))]

    def describe(i: int, t: int, d: int) -> str:
        return f"{source} line {line_of[i]} (series {i}): step {t} of dimension {d}"

    def encode(raw: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.int64], list[str]]:
        if header.regression:  # the targets' own text; as_regression reads them as numbers
            return label_codes.encode(raw)
        return label_codes.encode(raw, header.class_names)  # the @classLabel order

    data = finish(values, lengths, np.array(raw_labels), ids,
                  feature_names=[f"dim_{d}" for d in range(values.shape[2])], source=source,
                  nan=nan, describe=describe, encode=encode,
                  min_classes=1 if header.regression else min_classes)
    return as_regression(data) if header.regression else data
