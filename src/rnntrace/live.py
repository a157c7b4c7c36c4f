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
page showing every epoch that finished. The finished run's page is the same page: its index
says so, names the report, and the page stops reloading.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rnntrace.cells import cell_spec
from rnntrace.config import RunConfig
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.streaming import RowSubset
from rnntrace.errors import RunError
from rnntrace.files import REPORT
from rnntrace.model import SequenceClassifier
from rnntrace.records import EpochEnd, History
from rnntrace.render.html import json_island
from rnntrace.render.live_page import render_live_page
from rnntrace.render.plots import unit_names
from rnntrace.tracing.dynamics import SATURATION
from rnntrace.tracing.snapshot import SNAPSHOT_SEQUENCES, epoch_snapshot, snapshot_batch

LIVE_PAGE = "live.html"
LIVE_INDEX = "live.js"
LIVE_EPOCHS = "live"  # the folder of per-epoch snapshot scripts


def epoch_file(epoch: int) -> str:
    """The snapshot script of an epoch, relative to the run directory."""
    return f"{LIVE_EPOCHS}/epoch-{epoch:04d}.js"


def _replace(path: Path, text: str) -> None:
    """Write `text` to `path` whole: a temporary file beside it, renamed into place.

    No fsync: the reader is a browser on this machine, which sees the old or the new file
    either way (rename is atomic); flushing to the disk each epoch would only cost time, and
    metrics.jsonl keeps the durable record.
    """
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the page is for the user's browser
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _script(call: str, data: Any) -> str:
    """`rnntraceLive.<call>(<data>);`: JSON the page's script receives, escaped like the
    report's data island (no <, > or &), NaN and infinity as null."""
    return f"rnntraceLive.{call}({json_island(data)});\n"


class LivePage:
    """Writes a run's live page and keeps it up to date; call it as `on_epoch_end`.

    `shown` is the set whose first sequence is traced (the held-out part, as in the Trace);
    the snapshot reads its first SNAPSHOT_SEQUENCES sequences after every epoch.
    """

    def __init__(
        self,
        path: Path,
        model: SequenceClassifier,
        shown: SequenceSet | RowSubset,
        config: RunConfig,
        title: str = "",
    ) -> None:
        self.path, self.model = path, model
        head = shown.head(SNAPSHOT_SEQUENCES) if isinstance(shown, RowSubset) else shown
        self.batch = snapshot_batch(head)
        self.seconds = 0.0  # spent writing the page: the cost of watching, measured
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
            "planned": config.train.epochs + config.train.average_epochs,
            "status": "training",
            "stop_reason": None,
            "report": None,
            "epochs": [],
            "snapshots": [],
        }

    def start(self) -> Path:
        """Write the page and an index with no epoch yet; return the page's path."""
        started = time.perf_counter()
        (self.path / LIVE_EPOCHS).mkdir(parents=True, exist_ok=True)
        page = self.path / LIVE_PAGE
        _replace(page, render_live_page(str(self.index["title"])))
        self._write_index()
        self.seconds += time.perf_counter() - started
        return page

    @property
    def epochs(self) -> int:
        """Epochs the page shows."""
        return len(self.index["epochs"])

    def add_earlier(self, history: History) -> None:
        """The epochs of a resumed run's checkpoint: their numbers, without a snapshot."""
        for record, seconds in zip(history.records, history.train_seconds, strict=True):
            self.index["epochs"].append(asdict(record) | {"phase": "training",
                                                          "train_seconds": seconds})

    def __call__(self, end: EpochEnd, phase: str = "training") -> None:
        started = time.perf_counter()
        epoch = end.record.epoch
        snapshot = epoch_snapshot(self.model, self.batch, epoch)
        _replace(self.path / epoch_file(epoch), _script("epoch", asdict(snapshot)))
        row = asdict(end.record) | {"phase": phase, "train_seconds": end.train_seconds}
        self.index["epochs"].append(row)
        self.index["snapshots"].append(epoch)
        self.index["planned"] = end.epochs
        self._write_index()
        self.seconds += time.perf_counter() - started

    def finish(self, status: str = "finished", stop_reason: str | None = None,
               report: bool = False) -> None:
        """Mark the run ended (finished or stopped): the page stops reloading and says so.
        `report`: report.html is already beside it (see link_report for one written later)."""
        self.index["status"] = status
        self.index["stop_reason"] = stop_reason
        self.index["report"] = REPORT if report else None
        self._write_index()

    def _write_index(self) -> None:
        _replace(self.path / LIVE_INDEX, _script("index", self.index))


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
