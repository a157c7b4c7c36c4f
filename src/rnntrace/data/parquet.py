"""A Parquet file → a plain DataFrame of flat columns, rows numbered 0.. in file order.

What pandas would make of a Parquet file is not always a table of one value per cell:

    a pandas index saved with the frame     restored as the index → moved back into columns
    two columns with one name               refused: which one is meant cannot be known
    list / struct / map / binary columns    refused when used (id, label, time or a named
                                            feature) or when features are chosen automatically;
                                            left out when features are named and it is not one
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from rnntrace.errors import DataError


def _kind(arrow_type: Any) -> str | None:
    """What a column's Arrow type holds when it is not one flat value per cell, else None."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return _kind(arrow_type.value_type)
    checks = (("lists", (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list,
                         pa.types.is_list_view, pa.types.is_large_list_view)),
              ("structs", (pa.types.is_struct,)), ("maps", (pa.types.is_map,)),
              ("unions", (pa.types.is_union,)),
              ("bytes", (pa.types.is_binary, pa.types.is_large_binary,
                         pa.types.is_fixed_size_binary, pa.types.is_binary_view)))
    for name, tests in checks:
        if any(test(arrow_type) for test in tests):
            return name
    return None


def load(path: Path, source: str, needed: list[str] | None, install: str) -> Any:
    """The file's flat columns as a DataFrame; `needed` (None: all) are the columns used."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError(f"{source}: reading Parquet needs pyarrow; install it with {install}"
                        ) from None
    try:
        # The footer first: pyarrow cannot even read a table whose names repeat.
        names = [str(n) for n in pq.ParquetFile(path).schema_arrow.names]
        twice = [n for n, count in Counter(names).items() if count > 1]
        if not twice:
            table = pq.read_table(path)
            # Full validation checks what reading does not, e.g. that text is UTF-8: a damaged
            # page would otherwise fail later, deep inside pandas.
            table.validate(full=True)
    except Exception as exc:  # pyarrow raises ArrowInvalid/OSError subclasses by the dozen
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{source}: not a readable Parquet file ({first})") from None
    if twice:
        raise DataError(f"{source}: column {twice[0]!r} appears {names.count(twice[0])} times; "
                        "give each column its own name")
    names = [str(n) for n in table.schema.names]
    keep = []
    for name, arrow_type in zip(names, table.schema.types, strict=True):
        held = _kind(arrow_type)
        if held is None or name.startswith("__index_level_"):
            keep.append(name)
        elif needed is None or name in needed:
            raise DataError(f"{source}: column {name!r} holds {held}, not one number or label "
                            "per cell; leave it out of the file, or name the features with "
                            "--features (features=[...] in Python)")
    try:
        frame = table.select(keep).to_pandas()
    except Exception as exc:  # a damaged pandas index description, an unsupported type
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataError(f"{source}: not a readable Parquet table ({first})") from None
    return _plain_index(frame, source)


def _plain_index(frame: Any, source: str) -> Any:
    """`frame` with a saved pandas index moved back into columns (named levels) or dropped."""
    named = [n for n in frame.index.names if n is not None]
    clash = [n for n in named if n in frame.columns]
    if clash:
        raise DataError(f"{source}: the saved pandas index {clash[0]!r} has the name of a "
                        "column; reset the index before saving (df.reset_index(drop=True))")
    if named:
        frame = frame.reset_index(level=named)
    return frame.reset_index(drop=True)
