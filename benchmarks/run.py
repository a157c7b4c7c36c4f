"""Training and inference throughput: rnntrace vs a plain PyTorch loop vs the kernel floor.

    python benchmarks/run.py [--quick] [--only large] [--repeats 3] [--threads N]   (make bench)

Contenders, on the same seeded data in the same run, each case in a fresh process (so peak
resident memory, ru_maxrss, is the case's own):
  rnntrace  rnntrace.fit: shuffled batches sliced from contiguous tensors, clipping, metrics
  plain     the tutorial loop: TensorDataset + DataLoader(shuffle=True), nn.RNN/GRU/LSTM +
            Linear on the last step, Adam, CrossEntropyLoss, PyTorch's default threads
  floor     pre-made contiguous batches; forward + loss + backward + Adam step only, with the
            threads rnntrace chooses
Training throughput is sequences per second. The three contenders take turns epoch by epoch
in one process (so a busy spell on a shared machine slows all of them alike), each with its own
threads; the median of the timed epochs after a warm-up one, then the median over --rounds
such processes. Peak memory comes from each contender alone in a fresh process. Inference
contenders take turns process by process. The
large cases time a fixed number of batches (--steps, 100 by default) rather than 100,000
sequences, the same for all three contenders.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

WORKER = Path(__file__).with_name("workers.py")


def compare(spec: dict[str, Any], jobs: dict[str, str], rounds: int) -> dict[str, dict[str, Any]]:
    """Each contender `rounds` times, taking turns, so that a busy spell on a shared machine
    slows all of them alike; the median over rounds, the largest peak memory."""
    runs: dict[str, list[dict[str, Any]]] = {who: [] for who in jobs}
    for _ in range(rounds):
        for who, job in jobs.items():
            runs[who].append(measure(spec | {"job": job}))
    return {
        who: {
            "median": statistics.median(r["median"] for r in got),
            "threads": got[0]["threads"],
            "peak_mb": max(r["peak_mb"] for r in got),
        }
        for who, got in runs.items()
    }


def taking_turns(spec: dict[str, Any], rounds: int) -> dict[str, dict[str, Any]]:
    """Training throughput of the three contenders, epoch by epoch in turn in one process,
    in `rounds` fresh processes; the median over them."""
    runs = [measure(spec | {"job": "train/turns"}) for _ in range(rounds)]
    return {
        who: {
            "median": statistics.median(r[who]["median"] for r in runs),
            "threads": runs[0][who]["threads"],
        }
        for who in ("plain", "floor", "rnntrace")
    }


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one case in a fresh interpreter and read its JSON line."""
    done = subprocess.run(
        [sys.executable, str(WORKER), json.dumps(spec)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def row(*cells: object) -> str:
    widths = (30, 10, 8, 12, 10, 9, 9)
    pairs = enumerate(zip(cells, widths, strict=False))
    return "".join(f"{c:<{w}}" if i == 0 else f"{c:>{w}}" for i, (c, w) in pairs)


def training(args: argparse.Namespace) -> list[str]:
    steps = 5 if args.quick else args.steps
    repeats = 2 if args.quick else args.repeats
    cases = [
        (
            "lesson 1000×10×5 h8 b32 rnn",
            {"lesson": True, "hidden": 8, "cell": "rnn", "batch": 32, "repeats": 3 * repeats + 4},
        )
    ]
    for cell in ("rnn", "gru", "lstm"):
        cases.append(
            (
                f"large ×50×16 h64 b256 {cell}",
                {
                    "n": steps * 256,
                    "t": 50,
                    "f": 16,
                    "hidden": 64,
                    "cell": cell,
                    "batch": 256,
                    "repeats": repeats,
                },
            )
        )
    lines = [
        f"Training ({steps} batches per timed epoch for the large cases; {repeats} timed "
        f"epochs in each of {args.rounds} processes per contender, taking turns)",
        row("case", "who", "threads", "seq/s", "peak MB", "÷plain", "÷floor"),
    ]
    for name, spec in cases:
        if args.only and args.only not in name:
            continue
        spec = spec | ({"threads": args.threads} if args.threads else {})
        got = taking_turns(spec, args.rounds)
        for who in got:  # peak memory: each contender alone in a fresh process, one epoch
            got[who]["peak_mb"] = measure(spec | {"job": f"train/{who}", "repeats": 1})["peak_mb"]
        for who, r in got.items():
            lines.append(
                row(
                    name if who == "plain" else "",
                    who,
                    r["threads"],
                    f"{r['median']:,.0f}",
                    f"{r['peak_mb']:.0f}",
                    f"{r['median'] / got['plain']['median']:.2f}",
                    f"{r['median'] / got['floor']['median']:.2f}",
                )
            )
    return lines if len(lines) > 2 else []


def inference(args: argparse.Namespace) -> list[str]:
    n = (5 if args.quick else args.steps) * 256
    lines = [
        f"Inference (train.predict_logits vs a no_grad DataLoader loop, {n:,} × 50 × 16)",
        row("case", "who", "threads", "seq/s", "peak MB", "÷plain", ""),
    ]
    for cell in ("rnn", "gru", "lstm"):
        name = f"predict h64 {cell}"
        if args.only and args.only not in name:
            continue
        spec = {"n": n, "t": 50, "f": 16, "hidden": 64, "cell": cell, "repeats": args.repeats}
        got = compare(spec, {w: f"predict/{w}" for w in ("plain", "rnntrace")}, args.rounds)
        for who, r in got.items():
            lines.append(
                row(
                    name if who == "plain" else "",
                    who,
                    r["threads"],
                    f"{r['median']:,.0f}",
                    f"{r['peak_mb']:.0f}",
                    f"{r['median'] / got['plain']['median']:.2f}",
                    "",
                )
            )
    return lines if len(lines) > 2 else []


def padding(args: argparse.Namespace) -> list[str]:
    n = 500 if args.quick else 10_000
    name = f"variable length 5–200, {n:,}×16 h64 b256 gru"
    if args.only and args.only not in name:
        return []
    spec = {
        "n": n,
        "t": 200,
        "f": 16,
        "min_length": 5,
        "hidden": 64,
        "cell": "gru",
        "batch": 256,
        "repeats": 2 if args.quick else args.repeats,
    }
    steps = {
        b: measure(spec | {"job": "padding/steps", "bucket": b})["median"] for b in (False, True)
    }
    speed = {b: measure(spec | {"job": "train/rnntrace", "bucket": b}) for b in (False, True)}
    kernel = {
        p: measure(spec | {"job": "padding/kernel", "packed": p, "repeats": 1})
        for p in (False, True)
    }
    epoch = {b: n / speed[b]["median"] for b in (False, True)}
    return [
        f"Padding: {name}",
        f"  time steps computed per epoch: {steps[False]:,.0f} unbucketed, "
        f"{steps[True]:,.0f} bucketed (ratio {steps[True] / steps[False]:.2f})",
        f"  rnntrace epoch time: {epoch[False]:.2f} s unbucketed, {epoch[True]:.2f} s "
        f"bucketed (ratio {epoch[True] / epoch[False]:.2f})",
        f"  forward+backward of bucketed batches: padded run + gather "
        f"{kernel[False]['median']:,.0f} seq/s, packed {kernel[True]['median']:,.0f} seq/s "
        f"(packed ÷ padded {kernel[True]['median'] / kernel[False]['median']:.2f})",
    ]


def memmap(args: argparse.Namespace) -> list[str]:
    n = 50_000 if args.quick else 1_000_000
    name = f"memmap {n:,}×50×16 float32"
    if args.only and args.only not in name:
        return []
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "X.npy")  # read() finds the labels in y.npy beside it
        spec = {"path": path, "n": n, "t": 50, "f": 16, "hidden": 16, "cell": "rnn", "batch": 256}
        measure(spec | {"job": "memmap/make"})
        r = measure(spec | {"job": "memmap/epoch"})
    size_mb = n * 50 * 16 * 4 / 2**20
    verdict = "met" if r["peak_mb"] < 1536 else "NOT met"
    return [
        f"Streaming: {name} ({size_mb:,.0f} MB on disk) through rnntrace.read, one epoch, "
        "rnn h16 b256",
        f"  {r['median']:,.0f} seq/s, peak resident {r['peak_mb']:,.0f} MB "
        f"(target < 1,536 MB: {verdict})",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", help="run only the cases whose name contains this")
    parser.add_argument("--repeats", type=int, default=3, help="timed epochs per process")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per contender")
    parser.add_argument("--steps", type=int, default=100, help="batches per large-case epoch")
    parser.add_argument("--threads", type=int, help="the same intra-op threads for everyone")
    args = parser.parse_args()
    for section in (training, inference, padding, memmap):
        lines = section(args)
        if lines:
            print("\n".join(lines), end="\n\n", flush=True)
    if args.only is None or args.only in ("live", "compare"):
        # What watching and comparing cost (benchmarks/live_cost.py): targets 5 % and 10 s.
        only = [] if args.only is None else ["--only", args.only]
        rounds = ["--rounds", "1", "--epochs", "8"] if args.quick else []
        subprocess.run([sys.executable, str(Path(__file__).with_name("live_cost.py")), *only,
                        *rounds], check=True)
    if not args.quick and (args.only is None or args.only in "real_data"):
        # The no-flag `train` on the UEA/UCR sets in ../shared/data (skipped when absent).
        subprocess.run([sys.executable, str(Path(__file__).with_name("real_data.py"))],
                       check=True)
    if not args.quick and (args.only is None or args.only in "parallel_search"):
        # The same search one candidate at a time vs in 2 joblib workers (skipped likewise).
        subprocess.run([sys.executable, str(Path(__file__).with_name("parallel_search.py"))],
                       check=True)
    if not args.quick and (args.only is None or args.only in "heads"):
        # The regression and per-step heads on ../shared/data/{regression,segmentation}.
        subprocess.run([sys.executable, str(Path(__file__).with_name("heads.py"))], check=True)


if __name__ == "__main__":
    main()
