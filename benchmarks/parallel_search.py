"""The no-flag choice in one process vs its candidates in joblib workers, on ../shared/data.

    python benchmarks/parallel_search.py [--data ../shared/data] [--jobs 2] [--only OSULeaf]

For each UEA/UCR set, choose.choose (the search `rnntrace train` runs with no settings given:
four candidates, each trained with early stopping on a held-out fifth of the training file
and averaged) runs twice, each time in a fresh process: one candidate after another, then
--jobs candidates at a time in joblib's worker processes, one intra-op thread each. Prints
the wall time of each, the speed-up, the CPU seconds of the whole process tree, the speed-up
the candidates' own CPU seconds allow on --jobs idle cores ("idle cores": what a busy shared
machine cannot show in wall time), and whether the two chose the same settings with the same
held-out scores (they must: every candidate depends only on its settings and the seed). Skips
politely when the data folder is absent.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def search(train: Path, jobs: int | None, seed: int) -> dict[str, Any]:
    """One search, in this process: its wall time and what it decided."""
    from rnntrace.data.readers import read
    from rnntrace.train.search import choose

    data = read(train)
    cpu_marks = [time.process_time()]

    def candidate_ended(progress: Any) -> None:
        if progress.score is not None:  # in one process: this candidate's CPU seconds end here
            cpu_marks.append(time.process_time())

    started = time.perf_counter()
    _, _, choice = choose(data, {}, seed=seed, n_jobs=jobs, on_progress=candidate_ended)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "candidate_cpu": [b - a for a, b in itertools.pairwise(cpu_marks)],
        "chosen": choice.chosen,
        "settings": choice.settings,
        "scores": [(c.name, c.val_accuracy, c.val_loss, c.best_epoch, c.epochs_run)
                   for c in choice.candidates],
    }


def in_fresh_process(train: Path, jobs: int | None, seed: int) -> dict[str, Any]:
    """`search` in a new interpreter, with the CPU seconds of it and its workers."""
    before = _children_cpu()
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(train), "--seed", str(seed),
         "--worker-jobs", str(jobs or 0)],
        check=True, capture_output=True, text=True,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["cpu"] = _children_cpu() - before  # the workers are the child's children: counted
    return result


def free_cores_estimate(candidate_cpu: list[float], workers: int) -> float:
    """The speed-up on `workers` idle cores that the candidates' own CPU seconds allow: each
    next candidate goes to the first worker free, as joblib hands them out."""
    loads = [0.0] * workers
    for cpu in candidate_cpu:
        loads[loads.index(min(loads))] += cpu
    return sum(candidate_cpu) / max(loads)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--jobs", type=int, default=2, help="workers for the parallel search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None)
    # One search in this process, printed as JSON (0 workers: one candidate after another).
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--worker-jobs", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(search(args.worker, args.worker_jobs or None, args.seed)))
        return 0
    if not args.data.is_dir():
        print(f"parallel_search: skipped, no data folder at {args.data}")
        return 0
    sets = sorted(p for p in args.data.iterdir() if p.is_dir() and
                  (p / f"{p.name}_TRAIN.ts").exists())
    if args.only:
        sets = [p for p in sets if p.name in args.only]
    print(f"The no-flag search: one process vs {args.jobs} workers (seed {args.seed}; wall "
          "seconds, CPU seconds of the process tree)")
    print(f"{'set':24} {'serial s':>9} {'cpu s':>6} {'parallel s':>11} {'cpu s':>6} "
          f"{'speed-up':>9} {'idle cores':>10}  same choice")
    for folder in sets:
        train = folder / f"{folder.name}_TRAIN.ts"
        serial = in_fresh_process(train, None, args.seed)
        parallel = in_fresh_process(train, args.jobs, args.seed)
        same = all(serial[k] == parallel[k] for k in ("chosen", "settings", "scores"))
        verdict = f"yes ({serial['chosen']})" if same else (
            f"NO: {serial['chosen']} vs {parallel['chosen']}")
        print(f"{folder.name:24} {serial['seconds']:9.1f} {serial['cpu']:6.0f} "
              f"{parallel['seconds']:11.1f} {parallel['cpu']:6.0f} "
              f"{serial['seconds'] / parallel['seconds']:8.2f}× "
              f"{free_cores_estimate(serial['candidate_cpu'], args.jobs):9.2f}×  {verdict}",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
