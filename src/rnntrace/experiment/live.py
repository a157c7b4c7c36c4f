"""The live page of a run: live.html in the run directory, brought up to date as each epoch ends.

A page opened from disk (file://) may not fetch a file, but it may load a script. So the data
is written as small scripts the page loads again on a timer (render/live.js):

    runs/<name>/live.html               the page, written once before the first epoch
    runs/<name>/live.js                 rnntraceLive.index({...}): every epoch's numbers, status
    runs/<name>/live/epoch-0003.js      rnntraceLive.epoch({...}): epoch 3's snapshot
                                        (tracing/snapshot.py), written once, before the index
                                        that names it

Every file is replaced whole (temporary file + rename), so the page reads either the previous
epoch or the new one, never half of one; an epoch's snapshot is written before the index that
names it, so the index never points at a missing file. A run killed at any moment leaves a
page showing every epoch that finished. Watching is budgeted (BUDGET of the training time):
a model whose epochs take a few milliseconds may see an epoch without a snapshot, never one
without its numbers. The finished run's page is the same page: its index
says so, names the report, and the page stops reloading.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from torch import Tensor

from rnntrace.config.cells import cell_spec
from rnntrace.config.settings import RunConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset
from rnntrace.errors import RunError
from rnntrace.experiment.assemble import model_inputs
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.records import EpochEnd, History
from rnntrace.render.formatting import unit_names
from rnntrace.render.html import json_island
from rnntrace.render.live_page import render_live_page
from rnntrace.run.files import REPORT
from rnntrace.tracing.dynamics import SATURATION
from rnntrace.tracing.snapshot import SNAPSHOT_SEQUENCES, epoch_snapshot, snapshot_batch

LIVE_PAGE = "live.html"
LIVE_INDEX = "live.js"
LIVE_EPOCHS = "live"  # the folder of per-epoch snapshot scripts
BUDGET = 0.04  # watching may cost this share of the training time (benchmarks/live_cost.py)


def epoch_file(epoch: int) -> str:
    """The snapshot script of an epoch, relative to the run directory."""
    return f"{LIVE_EPOCHS}/epoch-{epoch:04d}.js"


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` whole: a temporary file beside it, renamed into place.

    No fsync: the reader is a browser on this machine, which sees the old or the new file
    either way (rename is atomic); flushing to the disk each epoch would only cost time, and
    metrics.jsonl keeps the durable record. One writer per run directory, so the temporary
    name is fixed (a random one costs more than the whole write).
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        _write(tmp, text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)  # the umask applies
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _script(call: str, data: Any) -> str:
    """`rnntraceLive.<call>(<data>);`: JSON the page's script receives, escaped like the
    report's data island (no <, > or &), NaN and infinity as null."""
    return f"rnntraceLive.{call}({json_island(data)});\n"


def _numbers_script(call: str, data: dict[str, Any]) -> str:
    """_script for a snapshot, without walking its numbers in Python first: a diverged run's
    NaN or infinity is written as the JavaScript values NaN and Infinity, which a script may
    hold (it is run, not parsed as JSON); its strings are escaped as _script's are."""
    text = json.dumps(data, allow_nan=True)
    for char, escaped in _ESCAPES:
        text = text.replace(char, escaped)
    return f"rnntraceLive.{call}({text});\n"


_ESCAPES = (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"))


class LivePage:
    """Writes a run's live page and keeps it up to date; call it as `on_epoch_end`.

    `shown` is the set whose first sequence is traced (the held-out part, as in the Trace);
    the snapshot reads its first SNAPSHOT_SEQUENCES sequences after an epoch. Every epoch gets
    one unless that would take watching past `budget` of the training time (None: every
    epoch, whatever it costs); see _look_inside.
    """

    def __init__(
        self,
        path: Path,
        model: SequenceClassifier,
        shown: SequenceSet | RowSubset,
        config: RunConfig,
        title: str = "",
        budget: float | None = BUDGET,
    ) -> None:
        self.path, self.model, self.budget = path, model, budget
        head = shown.head(SNAPSHOT_SEQUENCES) if isinstance(shown, RowSubset) else shown
        self.batch = snapshot_batch(head)
        self._inputs: tuple[Tensor, Tensor | None] | None = None
        self.seconds = 0.0  # spent on the epochs' snapshots and files: watching's cost
        self.trained = 0.0  # the epochs' training seconds, against which it is budgeted
        self._snapshot_seconds = 0.0  # what the last snapshot cost
        self._rows: list[str] = []  # each epoch's row of the index, as JSON
        m = config.model
        spec = cell_spec(m.cell)
        width = spec.state_width(m.hidden_size, m.proj_size) * (2 if m.bidirectional else 1)
        relu = m.cell == "rnn" and m.nonlinearity == "relu"
        self.index: dict[str, Any] = {
            "title": title or f"{spec.display} learning: {config.data.source}",
            "model": {
                "cell": spec.display, "hidden_size": m.hidden_size,
                "layers": m.num_layers, "bidirectional": m.bidirectional,
            },
            "class_names": list(config.data.class_names),
            "sequence": {
                "id": str(self.batch.ids[0]),
                "true_class": int(self.batch.labels[0]),
                "length": int(self.batch.lengths[0]),
            },
            "unit_names": unit_names(width, m.bidirectional),
            "gates": {g.symbol: g.name for g in spec.gates} if spec.gated else {},
            "measure": "h = 0 (ReLU)" if relu else f"|h| > {SATURATION}",
            "sequences": len(self.batch),
            "budget": budget,
            "planned": config.train.epochs + config.train.average_epochs,
            "status": "training",
            "stop_reason": None,
            "report": None,
            "epochs": [],
            "snapshots": [],
        }

    def start(self) -> Path:
        """Write the page and an index with no epoch yet; return the page's path."""
        (self.path / LIVE_EPOCHS).mkdir(parents=True, exist_ok=True)
        page = self.path / LIVE_PAGE
        _replace(page, render_live_page(str(self.index["title"])))
        self._write_index()
        return page

    @property
    def epochs(self) -> int:
        """Epochs the page shows."""
        return len(self.index["epochs"])

    def add_earlier(self, history: History) -> None:
        """The epochs of a resumed run's checkpoint: their numbers, without a snapshot."""
        for record, seconds in zip(history.records, history.train_seconds, strict=True):
            self._add_row(asdict(record) | {"phase": "training", "train_seconds": seconds})

    def _add_row(self, row: dict[str, Any]) -> None:
        self.index["epochs"].append(row)
        self._rows.append(json_island(row))

    def __call__(self, end: EpochEnd, phase: str = "training") -> None:
        started = time.perf_counter()
        epoch = end.record.epoch
        self.trained += end.train_seconds
        warm_up = 0.0
        if self._look_inside(end):
            self._snapshot(epoch)
            if len(self.index["snapshots"]) == 1:
                # The first pays once for what every later one reuses (autograd's first graph,
                # the inputs); a cost per epoch is what the budget is for.
                warm_up = self._snapshot_seconds
        self._add_row(asdict(end.record) | {"phase": phase, "train_seconds": end.train_seconds})
        self.index["planned"] = end.epochs
        self._write_index()
        self.seconds += time.perf_counter() - started - warm_up

    def _look_inside(self, end: EpochEnd) -> bool:
        """Whether this epoch gets a snapshot: the first two (the second measures what one
        costs once warm) and the planned last always; any other while watching stays within
        `budget` of the training time so far.

        The snapshot is about one training step's work (a hand-unrolled pass and its
        backward over a small batch), so only a model whose epochs are a few dozen steps (the
        lesson's are 25) ever skips one; the curves and observations are never skipped.
        """
        if self.budget is None or len(self.index["snapshots"]) < 2 or \
                end.record.epoch >= end.epochs:
            return True
        return self.seconds + self._snapshot_seconds <= self.budget * self.trained

    def _snapshot(self, epoch: int) -> None:
        started = time.perf_counter()
        if self._inputs is None:  # made once, on the device the model trains on
            self._inputs = model_inputs(self.model, self.batch)
        snapshot = epoch_snapshot(self.model, self.batch, epoch, self._inputs)
        # Written whole before the index names it, and the page asks only for files an index
        # names: no rename needed (a run killed here leaves a file no index points at).
        try:
            shallow = {f.name: getattr(snapshot, f.name) for f in fields(snapshot)}
            _write(self.path / epoch_file(epoch), _numbers_script("epoch", shallow))
        except OSError as exc:
            raise RunError(f"cannot write {self.path / epoch_file(epoch)}: "
                           f"{exc.strerror or exc}") from None
        self.index["snapshots"].append(epoch)
        self._snapshot_seconds = time.perf_counter() - started

    def finish(self, status: str = "finished", stop_reason: str | None = None,
               report: bool = False) -> None:
        """Mark the run ended (finished or stopped): the page stops reloading and says so.
        `report`: report.html is already beside it (see link_report for one written later)."""
        self.index["status"] = status
        self.index["stop_reason"] = stop_reason
        self.index["report"] = REPORT if report else None
        self._write_index()

    def _write_index(self) -> None:
        # The epochs' rows are serialised once each, as they come: the index grows by a row an
        # epoch, and rewriting it stays a join rather than a dump of the whole history.
        head = json_island({k: v for k, v in self.index.items() if k != "epochs"})
        text = f'{head[:-1]}, "epochs": [{", ".join(self._rows)}]}}'
        _replace(self.path / LIVE_INDEX, f"rnntraceLive.index({text});\n")


_PREFIX, _SUFFIX = "rnntraceLive.index(", ");\n"


def link_report(path: Path) -> bool:
    """Name the report in a finished run's live page, once report.html is written beside it.

    Returns False when the run has no live page. The index is read back from its own file, so
    any process may do this after the run.
    """
    index_file = path / LIVE_INDEX
    if not index_file.is_file():
        return False
    text = index_file.read_text(encoding="utf-8")
    if not (text.startswith(_PREFIX) and text.endswith(_SUFFIX)):
        raise RunError(f"{index_file}: not an rnntrace live index")
    index = json.loads(text[len(_PREFIX):-len(_SUFFIX)])
    index["report"] = REPORT
    _replace(index_file, _script("index", index))
    return True
