"""What watching costs: the live page's writes per lesson epoch, and `compare` of three runs.

live     The lesson (800 training sequences of 10 steps × 5 features, RNN(8), batch 32, one
         thread) with and without the live page (rnntrace.live: each epoch's snapshot and its
         files), in ABBA order so drift on a shared machine hits both alike: as `rnntrace
         demo` runs it (run_lesson: metrics.jsonl and a checkpoint each epoch), and as a bare
         rnntrace.fit (the training pass and held-out scoring alone, the strictest
         denominator). An epoch is timed from one on_epoch_end to the next in CPU time of this
         process (waiting for other processes does not count). The table gives the median and
         fastest epoch of each and the ratio; the target is under 1.05 for the demo epoch.
compare  `rnntrace compare` of three lesson runs (RNN, GRU, LSTM) trained here first, timed
         whole in a fresh process (imports, load, every view, the page; target < 10 s), and
         rt.compare again in this warm process.

    python benchmarks/live_cost.py [--epochs 20] [--rounds 2] [--only live|compare]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from rnntrace.config.settings import ModelConfig, RunConfig, TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.experiment.live import LivePage
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.fit import fit
from rnntrace.train.split import split


def _fit_epochs(live: bool, epochs: int, root: Path) -> list[float]:
    """CPU seconds of each epoch of a bare rnntrace.fit after the first, page or not."""
    data = lesson(seed=0)
    config = TrainConfig(epochs=epochs, seed=0, threads=1)
    parts = split(data, None, config)
    torch.manual_seed(0)
    model = SequenceClassifier.from_config(ModelConfig())
    page = None
    if live:
        assert parts.held_out is not None
        page = LivePage(Path(tempfile.mkdtemp(dir=root)), model, parts.held_out,
                        RunConfig(model.config, config))
        page.start()
    stamps = [time.process_time()]

    def on_epoch_end(end: Any) -> None:
        if page is not None:
            page(end)
        stamps.append(time.process_time())

    fit(model, parts, config=config, on_epoch_end=on_epoch_end)
    return [b - a for a, b in itertools.pairwise(stamps)][1:]  # after a warm-up


def _demo_epochs(live: bool, epochs: int, root: Path) -> tuple[list[float], float]:
    """CPU seconds of each epoch of the lesson as `rnntrace demo` runs it (metrics.jsonl and a
    checkpoint per epoch), after the first; and the page's own wall seconds per epoch."""
    from rnntrace.experiment import pipeline as experiment

    stamps = [time.process_time()]
    pages: list[LivePage] = []
    made = experiment.LivePage

    def keep(*args: Any, **kwargs: Any) -> LivePage:  # to read the page's own seconds
        pages.append(made(*args, **kwargs))
        return pages[-1]

    experiment.LivePage = keep  # type: ignore[misc]
    try:
        experiment.run_lesson(epochs=epochs, seed=0, out=Path(tempfile.mkdtemp(dir=root)) / "r",
                              live=live, threads=1,
                              on_epoch_end=lambda end: stamps.append(time.process_time()))
    finally:
        experiment.LivePage = made  # type: ignore[misc]
    own = pages[0].seconds / epochs if pages else 0.0
    if pages:
        _LOOKED.append((len(pages[0].index["snapshots"]), epochs))
    return [b - a for a, b in itertools.pairwise(stamps)][1:], own


_LOOKED: list[tuple[int, int]] = []  # (epochs with a snapshot, epochs) of each demo with a page


def _row(name: str, plain: list[float], live: list[float]) -> list[str]:
    mp, ml = statistics.median(plain), statistics.median(live)
    return [
        f"{name + ', without':<34}{mp * 1e3:>9.2f}{min(plain) * 1e3:>9.2f}",
        f"{name + ', with the page':<34}{ml * 1e3:>9.2f}{min(live) * 1e3:>9.2f}",
        f"{'  ratio (target < 1.05)':<34}{ml / mp:>9.3f}{min(live) / min(plain):>9.3f}",
    ]


def live_overhead(epochs: int, rounds: int) -> list[str]:
    torch.set_num_threads(1)
    runs: dict[str, dict[bool, list[float]]] = {"demo": {False: [], True: []},
                                                "fit": {False: [], True: []}}
    own: list[float] = []
    with tempfile.TemporaryDirectory() as root:
        for _ in range(rounds):
            for mode in (False, True, True, False):  # ABBA
                times, page_seconds = _demo_epochs(mode, epochs, Path(root))
                runs["demo"][mode].extend(times)
                if mode:
                    own.append(page_seconds)
                runs["fit"][mode].extend(_fit_epochs(mode, epochs, Path(root)))
    plain_demo = statistics.median(runs["demo"][False])
    return [
        "Live page cost per lesson epoch (CPU ms of this process, one thread)",
        f"{'':<34}{'median':>9}{'fastest':>9}",
        *_row("demo epoch", runs["demo"][False], runs["demo"][True]),
        *_row("bare fit epoch", runs["fit"][False], runs["fit"][True]),
        f"{'the page alone (wall ms)':<34}{statistics.median(own) * 1e3:>9.2f}"
        f"   {statistics.median(own) / plain_demo:.1%} of a demo epoch's CPU",
        f"{'epochs with a snapshot':<34}{sum(a for a, _ in _LOOKED):>9} of "
        f"{sum(b for _, b in _LOOKED)} (the rest skipped to stay within the budget)",
    ]


def compare_time() -> list[str]:
    """`rnntrace compare` on three lesson runs, as a user runs it: a fresh process, imports
    (torch, captum) and all; then the same comparison again in this process."""
    import subprocess
    import sys

    from rnntrace.experiment.comparison import compare as compare_runs
    from rnntrace.experiment.comparison import write_compare_page
    from rnntrace.experiment.pipeline import run_experiment

    lines = ["compare of three lesson runs (RNN, GRU, LSTM; wall seconds, target < 10)"]
    with tempfile.TemporaryDirectory() as root:
        runs = [run_experiment(lesson(seed=0), ModelConfig(cell=cell),
                               TrainConfig(epochs=3, seed=0), out=Path(root) / cell).path
                for cell in ("rnn", "gru", "lstm")]
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "rnntrace", "compare", *map(str, runs), "--out",
                        str(Path(root) / "cli.html")], check=True, capture_output=True)
        command = time.perf_counter() - started
        started = time.perf_counter()
        comparison = compare_runs(runs)
        computed = time.perf_counter()
        write_compare_page(comparison, Path(root) / "compare.html")
        written = time.perf_counter()
    lines.append(f"{'rnntrace compare (fresh process)':<34}{command:>9.2f}")
    lines.append(f"{'rt.compare in a warm process':<34}{computed - started:>9.2f}")
    lines.append(f"{'  its page':<34}{written - computed:>9.2f}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs per fit")
    parser.add_argument("--rounds", type=int, default=2, help="ABBA rounds")
    parser.add_argument("--only", choices=["live", "compare"])
    args = parser.parse_args()
    if args.only in (None, "live"):
        print("\n".join(live_overhead(args.epochs, args.rounds)), end="\n\n", flush=True)
    if args.only in (None, "compare"):
        print("\n".join(compare_time()), flush=True)


if __name__ == "__main__":
    main()
