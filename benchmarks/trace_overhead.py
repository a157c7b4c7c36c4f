"""What tracing adds to a training epoch of the lesson model, as a share of the epoch's time.

The lesson: 1000 sequences × 10 steps × 5 features → RNN(8) → 3 classes, batch 32, trained by
`rnntrace.fit`. Tracing per epoch means one `trace_modules()` of the model on a batch of 32 plus one
`recompute()` of one sequence through the recurrent layer by hand. Each is timed alone, in
alternation, and the table reports medians (a shared machine drifts). The step-by-step records
and the hidden dynamics are timed too, for information; they are not part of the per-epoch cost.

    python benchmarks/trace_overhead.py [--repeats 9] [--cell rnn]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch

from rnntrace.config.settings import TrainConfig
from rnntrace.data.synthetic import lesson
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.tracing.dynamics import hidden_dynamics
from rnntrace.tracing.equations import recompute
from rnntrace.tracing.hooks import trace_modules
from rnntrace.tracing.steps import explain_steps
from rnntrace.train.fit import fit
from rnntrace.train.loop import choose_threads, intra_op_threads

LIMIT = 0.05  # tracing must add less than 5 % to an epoch


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--cell", default="rnn", choices=["rnn", "gru", "lstm"])
    args = parser.parse_args(argv)

    data = lesson(seed=0)  # (1000, 10, 5)
    model = SequenceClassifier(5, 3, 8, args.cell)
    x = torch.from_numpy(data.values[:32])  # (32, 10, 5): one batch
    y = torch.from_numpy(data.labels[:32])
    one = x[0]  # (10, 5): one sequence

    times: dict[str, list[float]] = {
        "epoch": [],
        "trace": [],
        "recompute": [],
        "steps": [],
        "dynamics": [],
    }
    # Tracing runs with the intra-op threads fit() chooses for this model (one, for the lesson):
    # on a busy 2-core machine PyTorch's default threads stall each other on tiny tensors.
    threads = choose_threads(TrainConfig(batch_size=32), model.config)
    for _ in range(args.repeats):
        epoch = lambda: fit(model, data, epochs=1, batch_size=32, seed=0, val_fraction=0)  # noqa: E731
        times["epoch"].append(timed(epoch))
        with intra_op_threads(threads):
            times["trace"].append(timed(lambda: trace_modules(model, x)))
            times["recompute"].append(timed(lambda: recompute(model.rnn, one)))
            times["steps"].append(timed(lambda: explain_steps(model.rnn, one)))
            times["dynamics"].append(timed(lambda: hidden_dynamics(model, x, y)))

    median = {name: statistics.median(values) for name, values in times.items()}
    per_epoch = median["trace"] + median["recompute"]
    share = per_epoch / median["epoch"]
    print(
        f"lesson {args.cell}: 1000 × 10 × 5, hidden 8, batch 32; {threads} thread(s); "
        f"median of {args.repeats}"
    )
    print(f"{'what':<34}{'median ms':>12}{'% of epoch':>12}")
    rows = [
        ("training epoch (fit, 1 epoch)", median["epoch"]),
        ("trace_modules() on a batch of 32", median["trace"]),
        ("recompute() of one sequence", median["recompute"]),
        ("tracing per epoch (the two above)", per_epoch),
        ("explain_steps() one sequence*", median["steps"]),
        ("hidden_dynamics() batch of 32*", median["dynamics"]),
    ]
    for name, seconds in rows:
        print(f"{name:<34}{seconds * 1e3:>12.2f}{seconds / median['epoch']:>12.2%}")
    print("* once per run, for the report; not part of the per-epoch cost")
    verdict = "within" if share < LIMIT else "OVER"
    print(f"tracing adds {share:.2%} to an epoch: {verdict} the {LIMIT:.0%} budget")
    return 0 if share < LIMIT else 1


if __name__ == "__main__":
    sys.exit(main())
