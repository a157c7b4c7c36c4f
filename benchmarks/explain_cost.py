"""What explaining costs on the lesson: one sequence, the report's whole explain section, and
the size of the demo's report with it.

The lesson run is the demo's (1000 × 10 × 5 → RNN(8) → 3 classes, 5 epochs, seed 0), written
to a temporary directory. "One sequence" is Integrated Gradients with its completeness check
(steps raised until the error is within 1 %) plus the occlusion check, on a warm process
(Captum imported once before, by the run itself). "Explain section" is
everything the report adds for it: the explanation of the held-out set (the traced sequence,
units over 201 sequences, 5 hardest cases with their attributions and unit terms) and its
figures and page data. Medians of --repeats runs.

    python benchmarks/explain_cost.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnntrace.attribution.explanation import explain
from rnntrace.attribution.sequences import attribute_sequences
from rnntrace.attribution.source import held_out_of
from rnntrace.experiment.pipeline import run_lesson
from rnntrace.render.explain_html import explain_view
from rnntrace.run.files import REPORT
from rnntrace.run.report import write_report

TARGETS = {"one sequence": 1.0, "explain section": 10.0}  # seconds
REPORT_LIMIT = 5_000_000  # bytes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        run = run_lesson(out=Path(tmp) / "demo")
        write_report(run.trace, run.path / REPORT, explanation=run.explanation)  # as the CLI does
        size = (run.path / REPORT).stat().st_size
        model, trace = run.model.cpu(), run.trace
        held_out = held_out_of(run.config)

        (first,) = attribute_sequences(model, held_out, [0])  # warm-up
        one, section = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            attribute_sequences(model, held_out, [0])
            one.append(time.perf_counter() - started)
            started = time.perf_counter()
            explain_view(explain(model, held_out), trace)
            section.append(time.perf_counter() - started)

    rows = [
        ("one sequence (IG + completeness + occlusion)", statistics.median(one), "one sequence"),
        ("report's explain section (explain + figures)", statistics.median(section),
         "explain section"),
    ]
    print(f"{'measure':<48} {'median':>10} {'target':>9}  ok")
    ok = True
    for name, seconds, key in rows:
        good = seconds < TARGETS[key]
        ok = ok and good
        print(f"{name:<48} {seconds:>9.3f}s {TARGETS[key]:>8.1f}s  {'✓' if good else '✗'}")
    good = size < REPORT_LIMIT
    ok = ok and good
    print(f"{'demo report.html size':<48} {size / 1e6:>8.2f}MB {REPORT_LIMIT / 1e6:>7.1f}MB  "
          f"{'✓' if good else '✗'}")
    c = first.completeness
    print(f"\ncompleteness of the traced sequence: error {100 * c.error:.2g} % after {c.n_steps} "
          f"gradient evaluations (tolerance {100 * c.tolerance:g} %); occlusion rank agreement "
          f"{first.occlusion.rank_agreement if first.occlusion else None}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
