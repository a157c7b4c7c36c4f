"""Read a data file into a SequenceSet: choose the reader by suffix, check the content fits it.

    .csv .tsv          long format, one row per time step (rnntrace.data.tabular; needs pandas)
    .parquet .pq       the same as Parquet (needs pyarrow)
    .npz               X (N, T, F), y (N,), optional lengths ... (rnntrace.data.arrays)
    .npy               X.npy memory-mapped, y.npy beside it (rnntrace.data.arrays)
    .ts                UEA/UCR time-series classification format, or regression with
                       @targetLabel true (rnntrace.data.ts_format)
    folder, .txt       text: one <class>.txt per class, one sequence per line (rnntrace.data.text)
    .csv + text=COL    text: a column of strings and a label column

Every problem a user can cause is a DataError with one line: the file, the place, the fix.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnntrace.data import arrays, missing, tabular, targets, ts_format
from rnntrace.data import text as text_reader
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.vocabulary import Vocabulary
from rnntrace.errors import ConfigError, DataError

READERS = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet",
           ".npz": "npz", ".npy": "npy", ".ts": "ts"}
_TEXT_KINDS = ("csv", "tsv", "ts")
_NAMES = {"csv": "CSV", "tsv": "TSV", "ts": ".ts", "parquet": "Parquet", "npz": ".npz",
          "npy": ".npy", "zip": "zip"}
_SUFFIX_FOR = {"parquet": ".parquet", "npz": ".npz", "npy": ".npy", "zip": ".npz"}


def sniff(head: bytes) -> str:
    """What the first bytes of a file look like: parquet, zip, npy, text or binary."""
    if head.startswith(b"PAR1"):
        return "parquet"
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if b"\x00" in head:
        return "binary"
    try:
        # final=False: a multi-byte character cut at the end of `head` is not an error
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "binary"
    return "text"


def _check_file(path: Path) -> str:
    """The reader's kind for `path`, once the file exists, is not empty and looks right."""
    source = str(path)
    if not path.exists():
        raise DataError(f"{source}: no such file; check the path")
    if not path.is_file():
        raise DataError(f"{source}: a directory, not a data file; name the file inside it")
    kind = READERS.get(path.suffix.lower())
    with path.open("rb") as fh:
        head = fh.read(65536)
    looks = sniff(head) if head else "empty"
    if kind is None:
        guess = (f"; its content looks like {_NAMES[looks]}, so rename it to "
                 f"{_SUFFIX_FOR[looks]}" if looks in _SUFFIX_FOR else "")
        raise DataError(f"{source}: unknown file type {path.suffix or '(no suffix)'!r}; rnntrace "
                        f"reads {', '.join(READERS)}{guess}")
    if looks == "empty" or (looks == "text" and not head.strip()):
        raise DataError(f"{source}: the file is empty")
    if kind in _TEXT_KINDS and looks != "text":
        if looks in _SUFFIX_FOR:
            raise DataError(f"{source}: looks like {_NAMES[looks]} data, not {_NAMES[kind]} "
                            f"text; rename it to {_SUFFIX_FOR[looks]} or choose the right file")
        raise DataError(f"{source}: binary data, not {_NAMES[kind]} text (it is not UTF-8); "
                        "is this the right file?")
    if kind == "parquet" and looks != "parquet":
        raise DataError(f"{source}: not a Parquet file (it does not start with PAR1); "
                        + ("if it is CSV text, rename it to .csv" if looks == "text"
                           else "is this the right file?"))
    return kind


def _select(data: SequenceSet, features: Sequence[str]) -> SequenceSet:
    """Keep the named features of a set whose file had no column names to choose from."""
    absent = [f for f in features if f not in data.feature_names]
    if absent:
        raise DataError(f"{data.source}: no feature {', '.join(map(repr, absent))}; the features "
                        f"are {', '.join(data.feature_names)}")
    index = [data.feature_names.index(f) for f in features]
    values = np.ascontiguousarray(data.values[:, :, index])
    missing.zero_padding(values, data.lengths)  # a memory-mapped X keeps the file's padding
    return SequenceSet(values=values,
                       lengths=data.lengths, labels=data.labels, class_names=data.class_names,
                       feature_names=list(features), ids=data.ids, source=data.source,
                       dropped=data.dropped, **data._part(np.arange(len(data))))


def read(
    path: str | Path,
    *,
    label: str | Sequence[str] = "label",
    id: str = "id",
    time: str | None = "time",
    features: Sequence[str] | None = None,
    nan: str = "error",
    labels: str | Path | None = None,
    min_classes: int = 2,
    labelled: bool = True,
    text: str | None = None,
    tokens: str = "char",
    ascii: bool = False,
    vocabulary: Vocabulary | None = None,
    task: str | None = None,
) -> SequenceSet:
    """Read sequences and their class labels from a .csv/.tsv/.parquet/.npz/.npy/.ts file.

    label, id, time: column names in a CSV/Parquet long-format file (one row per time step;
        rows are sorted by time within each id; time=None keeps file order). Other formats
        carry their own structure and ignore them. Several label columns (a list, or the
        command line's --label a,b) are several numbers to predict per sequence: regression
        with targets (N, K), each column holding one number per sequence.
    features: the feature columns (default: every other numeric column); for .npz/.npy/.ts,
        a subset of their feature names (f0, f1, ... or dim_0, dim_1, ... unless named).
    nan: what to do with NaN/inf on a real time step. "error" (default) names the first one;
        "drop" leaves out every sequence holding one; "fill" carries the last finite value of
        the same feature forward within its sequence and puts 0 before the first one.
    labels: for a .npy X, the labels file; by default X's name with the token X replaced by y
        (X.npy → y.npy, train_X.npy → train_y.npy, X_test.npy → y_test.npy), and an optional
        lengths file found the same way (X.npy → lengths.npy). X is memory-mapped, never
        loaded whole: values is a read-only np.memmap when X is float32 and needs no cleaning.
    min_classes: the fewest distinct classes accepted; 2 for training, 1 for a test file.
    labelled: False for sequences to classify: the label (column, y array, y.npy, .ts labels
        with @classLabel false) may then be absent, and every sequence gets the label "".

    text, tokens, ascii, vocabulary: a folder of <class>.txt files, a .txt file, or a table's
        column `text` of strings is read as token ids (rnntrace.data.text.read_text, which also
        returns the vocabulary and the unknown tokens).

    task: what the labels are (rnntrace.task): "classify" (classes, even when they are
        numbers), "regress" (a number per sequence: SequenceSet.targets), "steps" (the label
        column labels each row, or y is (N, T): SequenceSet.step_labels). None decides from the
        file: a .ts file's @targetLabel true is regression; labels that are numbers with
        fractions, or more than 20 distinct whole numbers, are regression, and the set's
        `task_note` says so and why (data.targets.infer_task).

    Class names are the labels as text, in natural order (numbers by value, "w2" before
    "w10"); a .ts file's @classLabel order is kept. Ids are kept as text.
    """
    from rnntrace.config.task import task_spec

    wanted = task_spec(task).name if task is not None else None
    per_step = wanted == "steps"
    names = label_columns(label)
    if len(names) > 1:
        return _several_targets(Path(path), names, wanted, id=id, time=time, features=features,
                                nan=nan, labelled=labelled, text=text)
    label = names[0]
    data = _read(Path(path), label=label, id=id, time=time, features=features, nan=nan,
                 labels=labels, min_classes=1 if wanted == "regress" else min_classes,
                 labelled=labelled, text=text, tokens=tokens, ascii=ascii,
                 vocabulary=vocabulary, per_step=per_step, task=wanted)
    if wanted == "regress" or (wanted is None and labelled and data.task == "classify"
                               and (note := targets.infer_task(data)).task == "regress"):
        data = targets.as_regression(data, label if Path(path).suffix.lower() in _TABLES
                                     else "target")
        if wanted is None:
            data.task_note = note.reason
    elif wanted is None and labelled and data.task == "classify":
        data.task_note = targets.infer_task(data).reason
    elif wanted == "steps" and labelled:
        data.task_note = targets.step_numbers_note(data)
    elif wanted == "classify" and data.task == "regress":
        raise DataError(f"{data.source}: @targetLabel true marks numeric targets; "
                        "read it with task='regress' (--task regress)")
    return data


_TABLES = (".csv", ".tsv", ".parquet", ".pq")


def label_columns(label: str | Sequence[str]) -> list[str]:
    """The label column names: one name, or several (each a target of a regression)."""
    names = [label] if isinstance(label, str) else [str(n) for n in label]
    if not names or any(not n for n in names):
        raise ConfigError("name the label column (--label NAME, or several as --label A,B)")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"label column {twice[0]!r} is named twice; name each target once")
    return names


def _several_targets(path: Path, names: list[str], wanted: str | None, *, id: str,
                     time: str | None, features: Sequence[str] | None, nan: str,
                     labelled: bool, text: str | None) -> SequenceSet:
    """A table with several numeric label columns: one number of each per sequence."""
    shown = ", ".join(names)
    if wanted not in (None, "regress"):
        raise ConfigError(f"several label columns ({shown}) are several numbers to predict "
                          f"per sequence (--task regress), not --task {wanted}; name one "
                          "label column for that")
    if text is not None:
        raise ConfigError("text is classified by one label column; name one with --label")
    if path.suffix.lower() not in _TABLES:
        raise ConfigError(f"several label columns ({shown}) name columns of a CSV/Parquet "
                          f"table; {path.name} carries its own labels: name one (or none)")
    kind = _check_file(path)
    data = tabular.read_table(path, sep={"csv": ",", "tsv": "\t"}.get(kind), label=names[0],
                              id=id, time=time, features=features, nan=nan, min_classes=1,
                              labelled=labelled, targets=names)
    if labelled and wanted is None:
        data.task_note = (f"{len(names)} label columns ({shown}): read as {len(names)} "
                          "numbers to predict per sequence (regression)")
    return data


def _read(
    path: Path,
    *,
    label: str,
    id: str,
    time: str | None,
    features: Sequence[str] | None,
    nan: str,
    labels: str | Path | None,
    min_classes: int,
    labelled: bool,
    text: str | None,
    tokens: str,
    ascii: bool,
    vocabulary: Vocabulary | None,
    per_step: bool,
    task: str | None = None,
) -> SequenceSet:
    """The file read with labels as classes (or step labels), before the task is settled."""
    if per_step and text_reader.is_text_source(path, text):
        raise ConfigError("a label per step reads numeric sequences; text is classified whole")
    if text_reader.is_text_source(path, text):
        return text_reader.read_text(path, text=text, label=label, tokens=tokens, ascii=ascii,
                                     vocabulary=vocabulary, min_classes=min_classes,
                                     labelled=labelled).data
    missing.check_policy(nan)
    if not labelled:
        min_classes = 1
    if min_classes < 1:
        raise ConfigError(f"min_classes must be at least 1, got {min_classes}")
    kind = _check_file(path)
    if labels is not None and kind != "npy":
        raise ConfigError(f"labels= names the labels file of a .npy X; {path.name} is a "
                          f"{_NAMES[kind]} file and carries its own labels")
    if per_step and kind == "ts":
        raise DataError(f"{path}: a .ts file has one label per series; a label per step needs "
                        "a long-format table (series, step, features…, label) or y of shape "
                        "(N, T) in .npy/.npz")
    if kind == "npy":
        data = arrays.read_npy(path, labels=None if labels is None else Path(labels), nan=nan,
                               min_classes=min_classes, labelled=labelled, per_step=per_step,
                               task=task)
    elif kind == "npz":
        data = arrays.read_npz(path, nan=nan, min_classes=min_classes, labelled=labelled,
                               per_step=per_step, task=task)
    elif kind == "ts":
        data = ts_format.read_ts(path, nan=nan, min_classes=min_classes, labelled=labelled)
    else:
        return tabular.read_table(path, sep={"csv": ",", "tsv": "\t"}.get(kind), label=label,
                                  id=id, time=time, features=features, nan=nan,
                                  min_classes=min_classes, labelled=labelled,
                                  per_step=per_step)
    return data if features is None else _select(data, features)
