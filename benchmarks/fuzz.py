"""`make fuzz`: thousands of edited inputs of every format, each in its own forked process.

    python benchmarks/fuzz.py --n 2100 [--seed 0] [--jobs 2] [--timeout 10] [--memory-gb 1]

Inputs are made by tests/_fuzz.py (the same edits the CI property tests draw, here drawn from a
seeded random). Each runs in a child forked from a parent that has already imported everything,
so a case costs milliseconds; the child's address space is capped (baseline + --memory-gb, so an
attempt to allocate more fails inside the case instead of swapping the machine), and a case that
runs past --timeout is killed and counted as a hang rather than stopping the run. Prints, per
format: accepted / clean error (RnnTraceError) / other exception / hang, the peak memory a case
of one case's process, and the slowest case; then the first failures, to reproduce them.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import select
import signal
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import _fuzz

_OUTCOMES = ("accepted", "refused", "other", "hang")


@dataclass
class Tally:
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_OUTCOMES, 0))
    peak_mb: float = 0.0
    slowest_s: float = 0.0
    largest_kb: float = 0.0
    failures: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    slowest_case: int = -1


def _case(index: int, seed: int) -> tuple[str, int, list[_fuzz.Edit], str]:
    rng = random.Random(seed * 1_000_003 + index)
    fmt = _fuzz.FORMATS[index % len(_fuzz.FORMATS)]
    edits = [_fuzz.Edit(rng.choice(_fuzz.EDITS[fmt]), rng.random(), rng.randrange(201),
                        rng.randrange(101)) for _ in range(rng.choice((1, 1, 1, 2, 2, 3)))]
    return fmt, rng.randrange(_fuzz.VARIANTS[fmt]), edits, rng.choice(_fuzz.MODES)


def _child(case: tuple[str, int, list[_fuzz.Edit], str], root: Path, memory: int, out: int
           ) -> None:
    """Run one case and write its outcome (one line) to the pipe `out`; never returns."""
    code = 0
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        resource.setrlimit(resource.RLIMIT_AS, (memory, hard))
        warnings.simplefilter("error")  # a warning that leaks to the terminal is a failure too
        fmt, variant, edits, nan = case
        files = _fuzz.mutate(fmt, _fuzz.seed_files(fmt, variant), edits)
        size = sum(len(b) for b in files.values())
        path = _fuzz.write(root / "case", files)
        outcome = _fuzz.check_case(fmt, path, nan)
        message = f"{outcome} {size} {_fuzz.LAST_MESSAGE[0] if outcome == 'refused' else ''}"
    except BaseException as exc:  # everything else is what we are counting
        last = traceback.extract_tb(exc.__traceback__)[-1]
        message = (f"other 0 {type(exc).__name__}: {str(exc)[:200]!r} at "
                   f"{Path(last.filename).name}:{last.lineno}")
        code = 1
    os.write(out, (message.replace("\n", " ") + "\n").encode())
    os._exit(code)


def _resident_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def _vm_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2100, help="inputs in all (spread over formats)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a hang")
    parser.add_argument("--show", type=int, default=0,
                        help="print this many refusal messages per format, to read them")
    parser.add_argument("--memory-gb", type=float, default=1.0,
                        help="address space a case may add to the parent's")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(1)  # children are forked: no OpenMP pool may exist in the parent
    import rnntrace.data.readers
    import rnntrace.experiment.inference
    import rnntrace.render.html
    import rnntrace.run.directory  # noqa: F401

    for fmt in _fuzz.FORMATS:
        _fuzz.seed_files(fmt, 0)  # builds the run seed (torch) in the parent, once
    baseline_kb = _resident_kb()
    memory = _vm_bytes() + int(args.memory_gb * 2**30)
    tallies = {fmt: Tally() for fmt in _fuzz.FORMATS}
    running: dict[int, tuple[int, int, float, str, tempfile.TemporaryDirectory[str]]] = {}
    started = time.perf_counter()
    next_case = 0
    while next_case < args.n or running:
        while next_case < args.n and len(running) < args.jobs:
            case = _case(next_case, args.seed)
            tmp = tempfile.TemporaryDirectory(prefix="rnntrace-fuzz-")
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(read_end)
                _child(case, Path(tmp.name), memory, write_end)
            os.close(write_end)
            running[read_end] = (pid, next_case, time.perf_counter(), case[0], tmp)
            next_case += 1
        ready, _, _ = select.select(list(running), [], [], 0.2)
        now = time.perf_counter()
        for fd in list(running):
            pid, index, t0, fmt, tmp = running[fd]
            if fd not in ready and now - t0 < args.timeout:
                continue
            if fd in ready:
                text = os.read(fd, 4096).decode(errors="replace").strip()
            else:
                os.kill(pid, signal.SIGKILL)
                text = f"hang 0 after {args.timeout:g} s"
            _, _, usage = os.wait4(pid, 0)
            os.close(fd)
            tmp.cleanup()
            del running[fd]
            outcome, size, *rest = (text or "other 0 child died without a word").split(" ", 2)
            tally = tallies[fmt]
            tally.counts[outcome] += 1
            tally.peak_mb = max(tally.peak_mb, usage.ru_maxrss / 1024)
            if now - t0 > tally.slowest_s:
                tally.slowest_s, tally.slowest_case = now - t0, index
            tally.largest_kb = max(tally.largest_kb, int(size) / 1024)
            if outcome == "refused" and len(tally.messages) < args.show:
                tally.messages.append("  " + " ".join(rest))
            if outcome in ("other", "hang") and len(tally.failures) < 5:
                case = _case(index, args.seed)
                tally.failures.append(f"  case {index} {case}: {' '.join(rest)}")
    elapsed = time.perf_counter() - started
    header = (f"{'format':<8} {'inputs':>6} {'accepted':>8} {'clean error':>11} "
              f"{'other exception':>15} {'hang':>4} {'peak MB':>8} {'slowest s':>9} "
              f"{'largest KB':>10}")
    print(header)
    print("-" * len(header))
    total = Tally()
    for fmt, t in tallies.items():
        n = sum(t.counts.values())
        print(f"{fmt:<8} {n:>6} {t.counts['accepted']:>8} {t.counts['refused']:>11} "
              f"{t.counts['other']:>15} {t.counts['hang']:>4} {t.peak_mb:>8.1f} "
              f"{t.slowest_s:>9.2f} {t.largest_kb:>10.1f}")
        for key in _OUTCOMES:
            total.counts[key] += t.counts[key]
        total.peak_mb = max(total.peak_mb, t.peak_mb)
        total.slowest_s = max(total.slowest_s, t.slowest_s)
        total.largest_kb = max(total.largest_kb, t.largest_kb)
    print("-" * len(header))
    print(f"{'all':<8} {sum(total.counts.values()):>6} {total.counts['accepted']:>8} "
          f"{total.counts['refused']:>11} {total.counts['other']:>15} {total.counts['hang']:>4} "
          f"{total.peak_mb:>8.1f} {total.slowest_s:>9.2f} {total.largest_kb:>10.1f}")
    print(f"\n{args.n} inputs in {elapsed:.0f} s; peak MB is the largest resident memory of one "
          f"case's process, the {baseline_kb / 1024:.0f} MB of imports (torch, pandas) it shares "
          f"with the parent included; its address space was capped {args.memory_gb:g} GB above "
          "the parent's")
    worst = max(tallies.values(), key=lambda t: t.slowest_s)
    print(f"slowest case: {worst.slowest_case} {_case(worst.slowest_case, args.seed)}")
    for fmt, t in tallies.items():
        if t.messages:
            print(f"\n{fmt}, refusals:")
            print("\n".join(t.messages))
        if t.failures:
            print(f"\n{fmt}:")
            print("\n".join(t.failures))
    return 0 if total.counts["other"] == total.counts["hang"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
