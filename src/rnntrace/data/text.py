"""Read text into token sequences: a folder of `<class>.txt` files, or a column of a CSV/Parquet.

    Surnames/train/FR.txt     one sequence per line; the file's name is the class
    Surnames/train/KR.txt
    names.csv  name,country   --text name --label country

Each sequence becomes its token ids, stored as a one-feature SequenceSet (N, T_max, 1) so that
batching, splitting and training treat text like any other sequences; the model's Embedding
turns the ids into vectors. The id of each sequence is its text, so predictions and traces can
show it. Every problem a user can cause is a DataError naming the file and the line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnntrace.data import labels as label_codes
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.vocabulary import UNK_ID, Vocabulary, printable
from rnntrace.errors import ConfigError, DataError

TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t", ".parquet": None, ".pq": None}
FEATURE = "token"  # the one feature of a text set: a token id, read by the model's Embedding


@dataclass
class TextRows:
    """Sequences as text, each with its label and where it was read (file and line)."""

    texts: list[str]
    labels: list[str]
    places: list[str]
    source: str


@dataclass
class TextData:
    """A text set encoded with a vocabulary, and the tokens that vocabulary did not know."""

    data: SequenceSet
    vocabulary: Vocabulary
    unknown: Counter[str] = field(default_factory=Counter)

    def note(self, training: bool = False) -> str | None:
        """One line on unknown tokens, or None when every token was known."""
        if not self.unknown:
            return None
        total = sum(self.unknown.values())
        common = ", ".join(printable(t, 8) for t, _ in self.unknown.most_common(5))
        what = "too rare for the vocabulary" if training else "unknown to the training vocabulary"
        return (f"{self.data.source}: {total} token{'s' if total > 1 else ''} {what} "
                f"({common}{', …' if len(self.unknown) > 5 else ''}) read as <unk>")


def is_text_source(path: Path, text: str | None) -> bool:
    """Whether `path` is read as text: a folder, a .txt file, or a table with --text."""
    return text is not None or path.is_dir() or path.suffix.lower() == ".txt"


def _decode(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DataError(f"{where} line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                        "save the file as UTF-8") from None


def read_lines(path: Path, label: str) -> TextRows:
    """One sequence per line of a text file, all of class `label` (empty lines are errors)."""
    where = printable(str(path), None, quote=False)  # a file's name may hold control characters
    raw = path.read_bytes()
    if not raw.strip():
        raise DataError(f"{where}: the file is empty; remove it or add one sequence per line")
    lines = _decode(raw, where).splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # blank lines at the very end are a stray newline, not a sequence
    texts, places = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise DataError(f"{where} line {number}: an empty line; give one sequence per line")
        texts.append(line.strip())
        places.append(f"{where} line {number}")
    return TextRows(texts, [label] * len(texts), places, where)


def read_folder(path: Path) -> TextRows:
    """The tutorial's layout: `<class>.txt` files in one folder (a train/ subfolder if present)."""
    if (path / "train").is_dir():
        path = path / "train"
    files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".txt" and p.is_file())
    if not files:
        raise DataError(f"{printable(str(path), None, False)}: a directory without .txt "
                        "files; a folder is read as text (one <class>.txt per class, one "
                        "sequence per line), else name the data file inside it")
    rows = TextRows([], [], [], str(path))
    for file in files:
        if printable(file.stem, None, False) != file.stem:
            raise DataError(f"{printable(str(file), None, False)}: the file's name is the class, "
                            "and it holds control characters; rename the file")
        part = read_lines(file, file.stem)
        rows.texts += part.texts
        rows.labels += part.labels
        rows.places += part.places
    return rows


def read_table(path: Path, text: str, label: str | None) -> TextRows:
    """A column of strings (and the label column, unless `label` is None) from a CSV/Parquet."""
    import pandas as pd

    where = printable(str(path), None, quote=False)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise DataError(f"{where}: --text reads a .csv, .tsv or .parquet column, not "
                        f"{suffix or 'a file without suffix'}")
    try:
        if TABLE_SUFFIXES[suffix] is None:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep=TABLE_SUFFIXES[suffix], dtype=str,
                                keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        _decode(path.read_bytes(), where)  # names the line
        raise
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{where}: cannot be read as a table ({reason})") from None
    for column, what in ((text, "--text"), (label, "--label")):
        if column is not None and column not in frame.columns:
            shown = ", ".join(printable(str(c), 20) for c in frame.columns)
            raise DataError(f"{where}: no column {printable(column, 40)} for {what}; the "
                            f"columns are {shown}")
    if frame.empty:
        raise DataError(f"{where}: the file is empty")
    values = ["" if v is None else str(v).strip() for v in frame[text].tolist()]
    offset = 2 if TABLE_SUFFIXES[suffix] is not None else 1  # a CSV's header is line 1
    places = [f"{where} line {i + offset}" if offset == 2 else f"{where} row {i + 1}"
              for i in range(len(values))]
    for value, place in zip(values, places, strict=True):
        if not value:
            raise DataError(f"{place}: an empty {printable(text, 40)}; every row needs a text")
    names = (["" for _ in values] if label is None
             else [str(v).strip() for v in frame[label].tolist()])
    return TextRows(values, names, places, where)


def read_rows(path: Path, text: str | None = None, label: str | None = "label") -> TextRows:
    """Sequences as text from a folder, a .txt file (label: the file's name) or a table."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{printable(str(path), None, False)}: no such file or folder; check "
                        "the path")
    if path.is_dir():
        return read_folder(path)
    if path.suffix.lower() == ".txt":
        return read_lines(path, path.stem if label is not None else "")
    if text is None:
        raise ConfigError(f"{printable(str(path), None, False)}: name the column of text with "
                          "--text COLUMN")
    return read_table(path, text, label)


def encode(rows: TextRows, vocabulary: Vocabulary, min_classes: int = 2) -> TextData:
    """Token ids of every row, padded with 0 into (N, T_max, 1); labels in natural order."""
    unknown: Counter[str] = Counter()
    encoded: list[list[int]] = []
    for text, place in zip(rows.texts, rows.places, strict=True):
        tokens = vocabulary.split(text)
        if not tokens:
            raise DataError(f"{place}: {printable(text)} holds no {vocabulary.kind} tokens")
        ids = vocabulary.ids(tokens)
        unknown.update(t for t, i in zip(tokens, ids, strict=True) if i == UNK_ID)
        encoded.append(ids)
    lengths = np.array([len(ids) for ids in encoded], dtype=np.int64)
    values = np.zeros((len(encoded), int(lengths.max()), 1), dtype=np.float32)  # 0 = <pad>
    for i, ids in enumerate(encoded):
        values[i, : len(ids), 0] = ids  # float32 holds every id below 2**24 exactly
    codes, class_names = label_codes.encode(np.array(rows.labels, dtype=str))
    if min_classes > 1:
        label_codes.require_classes(class_names, min_classes, rows.source)
    data = SequenceSet(values=values, lengths=lengths, labels=codes, class_names=class_names,
                       feature_names=[FEATURE], ids=list(rows.texts), source=rows.source)
    return TextData(data, vocabulary, unknown)


def read_text(
    path: str | Path,
    *,
    text: str | None = None,
    label: str = "label",
    tokens: str = "char",
    ascii: bool = False,
    vocabulary: Vocabulary | None = None,
    min_classes: int = 2,
    labelled: bool = True,
) -> TextData:
    """Read text sequences and encode them; the vocabulary is built from this file unless given.

    Give the training split's vocabulary when reading a validation, test or new file, so that
    the model's ids mean the same tokens (and the test split never shapes the vocabulary).
    """
    rows = read_rows(Path(path), text, label if labelled else None)
    if vocabulary is None:
        vocabulary = Vocabulary.build(rows.texts, tokens, ascii)
    return encode(rows, vocabulary, min_classes if labelled else 1)


def sibling_test(path: Path) -> Path | None:
    """The test/ folder beside a train/ folder the user named (the tutorial's layout)."""
    path = Path(path)
    if path.is_dir() and (path / "train").is_dir() and (path / "test").is_dir():
        return path / "test"
    return None


@dataclass
class TextSplits:
    """Training, validation and test text, all encoded with the training split's vocabulary."""

    train: SequenceSet
    val: SequenceSet | None
    test: SequenceSet | None
    vocabulary: Vocabulary
    notes: list[str]


def read_splits(
    train: Path,
    *,
    val: Path | None = None,
    test: Path | None = None,
    text: str | None = None,
    label: str = "label",
    tokens: str = "char",
    ascii: bool = False,
) -> TextSplits:
    """Read a training file or folder, then validation and test with its vocabulary only.

    A folder holding train/ and test/ (the tutorial's layout) gives both when `test` is None.
    """
    from rnntrace.data.compatible import check_compatible

    test = test if test is not None else sibling_test(train)
    first = read_text(train, text=text, label=label, tokens=tokens, ascii=ascii)
    notes = [n for n in (first.note(training=True),) if n]
    others: list[SequenceSet | None] = []
    for path, what in ((val, "validation"), (test, "test")):
        if path is None:
            others.append(None)
            continue
        part = read_text(path, text=text, label=label, vocabulary=first.vocabulary,
                         min_classes=1)
        notes += [n for n in (part.note(),) if n]
        others.append(check_compatible(first.data, part.data, what))
    return TextSplits(first.data, others[0], others[1], first.vocabulary, notes)
