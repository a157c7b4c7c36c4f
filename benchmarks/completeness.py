"""Integrated Gradients' completeness check over many sequences, cells and directions.

    python benchmarks/completeness.py [--data ../shared/data] [--epochs 5 30] [--n 40]
                                      [--only BasicMotions] [--models all|lesson|defaults]

For the lesson (1000 × 10 × 5) and, when ../shared/data is there, BasicMotions (40 equal-length
sequences) and PickupGestureWiimoteZ (lengths 29–361: a padded batch for a unidirectional layer,
a packed one for a bidirectional layer), each cell × direction is trained (hidden size 8, Adam at
the lesson's 0.01, seed 0) for each --epochs; on the real sets so is each model the no-flag
`train` chooses between (a convolutional front end, a GRU of 64 units, a max, mean or attention
summary; Adam at 3e-3 for 40 epochs). The first --n test sequences are attributed.
Printed per row: how many checks hold within 1 %, the worst error, how many sequences needed the
path cut into pieces, how many cross a jump (a switch narrower than floating point resolves,
which no gradient sees) and the worst error once the jumps are counted, the most gradient
evaluations one sequence took, and seconds per sequence.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import torch

from rnntrace.attribution.sequences import attribute_sequences
from rnntrace.config.settings import ModelConfig, TrainConfig
from rnntrace.data.readers import read
from rnntrace.data.sequences import SequenceSet
from rnntrace.data.synthetic import lesson
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.train.fit import fit
from rnntrace.train.loop import evaluate
from rnntrace.train.search import auto_window

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL = ("BasicMotions", "PickupGestureWiimoteZ")


def sets(data: Path) -> list[tuple[str, SequenceSet, SequenceSet]]:
    found = [("lesson", lesson(1000, seed=0), lesson(200, seed=1))]
    for name in REAL:
        folder = data / name
        if (folder / f"{name}_TRAIN.ts").exists():
            found.append((name, read(folder / f"{name}_TRAIN.ts"),
                          read(folder / f"{name}_TEST.ts")))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, nargs="+", default=[5, 30])
    parser.add_argument("--n", type=int, default=40)
    parser.add_argument("--only", nargs="*", default=None, help="set names (lesson, BasicMotions…)")
    parser.add_argument("--models", choices=("all", "lesson", "defaults"), default="all",
                        help="the lesson's hidden-8 cells, the no-flag candidates, or both")
    args = parser.parse_args(argv)
    print(f"{'set':22} {'model':22} {'ep':>3} {'acc':>5} {'holds':>7} {'worst':>9} "
          f"{'pieces':>6} {'jumps':>5} {'apart':>7} {'evals':>6} {'s/seq':>6}")
    for name, train, test in sets(args.data):
        if args.only and name not in args.only:
            continue
        batch = "packed" if not bool((test.lengths == test.max_length).all()) else "equal"
        runs: list[tuple[int, dict[str, Any], float]] = [
            (epochs, {"cell": cell, "hidden_size": 8, "bidirectional": bi}, 0.01)
            for epochs in args.epochs for cell in ("rnn", "lstm", "gru") for bi in (False, True)
        ] if args.models != "defaults" else []
        if name != "lesson" and args.models != "lesson":
            window = auto_window(train.max_length)
            runs += [(40, {"cell": "gru", "hidden_size": 64, "bidirectional": bi,
                           "front_end": "conv", "window": window, "summary": summary}, 3e-3)
                     for summary in ("max", "mean", "attention") for bi in (False, True)]
        for epochs, settings, lr in runs:
            torch.manual_seed(0)
            model = SequenceClassifier.from_config(ModelConfig(
                n_features=train.n_features, n_classes=train.n_classes, **settings))
            fit(model, train, None, TrainConfig(epochs=epochs, seed=0, val_fraction=0.0, lr=lr,
                                                checkpoint=False))
            accuracy = evaluate(model, test)[1]
            n = min(args.n, len(test))
            started = time.perf_counter()
            found = attribute_sequences(model, test, list(range(n)), occlusion=False)
            seconds = (time.perf_counter() - started) / n
            checks = [a.completeness for a in found]
            jumped = [c for c in checks if c.jumps]
            apart = max((c.error_apart_from_jumps for c in jumped), default=0.0)
            bidirectional = bool(settings["bidirectional"])
            kind = ("bi-" if bidirectional else "") + str(settings["cell"])
            if "summary" in settings:
                kind = f"conv+{kind}64+{settings['summary']}"
            how = "" if batch == "equal" else (" packed" if bidirectional else " padded")
            print(f"{name + how:22} {kind:22} {epochs:3d} {accuracy:5.2f} "
                  f"{sum(c.holds for c in checks):3d}/{n:<3d} "
                  f"{100 * max(c.error for c in checks):8.3g}% "
                  f"{sum(c.pieces > 1 for c in checks):6d} {len(jumped):5d} "
                  f"{100 * apart:6.2g}% {max(c.n_steps for c in checks):6d} "
                  f"{seconds:6.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
