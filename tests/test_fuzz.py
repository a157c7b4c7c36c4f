"""Fuzzing every reader and run-directory loader: each input reads correctly or is refused cleanly.

Hypothesis edits small valid files (tests/_fuzz.py) of every format; each result must either
read into a set that holds only finite values on real steps (or a run that predicts
probabilities summing to 1), or raise RnnTraceError with one printable line naming the file.
A bounded number of examples runs here; `make fuzz` runs thousands (benchmarks/fuzz.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _fuzz import (
    EDITS,
    FORMATS,
    HOSTILE,
    MODES,
    VARIANTS,
    Edit,
    check_case,
    mutate,
    seed_files,
    write,
)
from rnntrace.data import numbers

# Examples per format: the whole file runs in about 15 s on the shared 2-core machine (load 6),
# well inside CI's 60 s; `make fuzz` runs thousands.
EXAMPLES = {"csv": 60, "tsv": 30, "ts": 60, "npy": 60, "npz": 60, "parquet": 40, "run": 50}


def _edits(fmt: str) -> st.SearchStrategy[list[Edit]]:
    edit = st.builds(Edit, kind=st.sampled_from(EDITS[fmt]),
                     at=st.floats(0, 1, allow_nan=False, exclude_max=True),
                     pick=st.integers(0, 200), size=st.integers(0, 100))
    return st.lists(edit, min_size=1, max_size=3)


def _property(fmt: str) -> object:
    @settings(max_examples=EXAMPLES[fmt], deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(variant=st.integers(0, VARIANTS[fmt] - 1), edits=_edits(fmt),
           nan=st.sampled_from(MODES))
    def run(variant: int, edits: list[Edit], nan: str) -> None:
        with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
            files = mutate(fmt, seed_files(fmt, variant), edits)
            path = write(Path(tmp) / "case", files)
            check_case(fmt, path, nan)

    return run


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_edited_input_reads_correctly_or_is_refused_in_one_line(fmt: str) -> None:
    pytest.importorskip("pyarrow")
    _property(fmt)()  # type: ignore[operator]


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_valid_seeds_are_read(fmt: str) -> None:
    """The edits start from files that read (a Parquet variant may be refused on purpose)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as tmp:
        for variant in range(VARIANTS[fmt]):
            path = write(Path(tmp) / f"case{variant}", seed_files(fmt, variant))
            outcome = check_case(fmt, path, "fill")
            assert outcome == "accepted" or fmt == "parquet", (fmt, variant)


# Cells a CSV reads as missing (pandas' markers) or that change a file's structure.
_NOT_A_CELL = {"", "?", "NA", "N/A", "n/a", "NULL", "null", "None", "nan", "NaN", "-NaN", "-nan",
               "<NA>", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "1.#IND", "1.#QNAN"}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(token=st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8),
                       st.from_regex(numbers.PATTERN, fullmatch=True)))
def test_csv_and_ts_take_a_number_by_the_same_rule(token: str) -> None:
    """A value is a number in a CSV exactly when it is one in a .ts file, and when the rule says."""
    import rnntrace as rt
    from rnntrace.errors import DataError

    token = token.strip()
    if token in _NOT_A_CELL or any(c in token for c in ',:"\'#@\r\n\x00\ufeff') or not (
            token.isprintable()):
        return
    expected = numbers.is_number(token)
    with tempfile.TemporaryDirectory(prefix="rule-") as tmp:
        csv_path, ts_path = Path(tmp) / "d.csv", Path(tmp) / "d.ts"
        csv_path.write_text(f"id,time,label,a\ns0,0,x,{token}\ns0,1,x,1\ns1,0,y,2\n")
        ts_path.write_text(f"@classLabel true x y\n@data\n1,{token}:x\n2,3:y\n")
        outcomes = []
        for path in (csv_path, ts_path):
            try:
                rt.read(path, nan="fill", features=["a"] if path is csv_path else None)
                outcomes.append(True)
            except DataError as exc:
                assert "not a number" in str(exc), str(exc)
                outcomes.append(False)
    assert outcomes == [expected, expected], (token, outcomes)
