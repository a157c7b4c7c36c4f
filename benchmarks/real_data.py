"""The no-flag `train` on every UEA/UCR set and text set in ../shared/data, over three seeds.

    python benchmarks/real_data.py [--data ../shared/data] [--seeds 0 1 2] [--only OSULeaf]
                                   [--text FOLDER ...]

A text set is a folder with train/ and test/ folders of <class>.txt files (Surnames); --text
adds such folders from elsewhere (benchmarks/make_surnames.py builds one the defaults were not
tuned on). Each text set is also learnt by the plain script (benchmarks/plain_text_gru.py, one
thread) with the same seeds, and the difference of the means is printed.

Each run is `rnntrace train X_TRAIN.ts --test X_TEST.ts --seed S` in a fresh process (nothing
else given: the settings are chosen from the training file, threads too), timed from start to
end, search included. Prints test accuracy mean ± std over the seeds, the slowest wall time,
the most CPU seconds (the budget is 3 minutes on 2 cores: 360 CPU s), the settings chosen per
seed and the reference accuracies from the data's README. Skips
politely when the data folder is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def references(readme: Path) -> dict[str, str]:
    """Each set's reference accuracies, as the README's table gives them."""
    if not readme.exists():
        return {}
    rows: dict[str, str] = {}
    lines = readme.read_text().splitlines()
    header: list[str] = []
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells and cells[0] == "set" and "HC2" in cells:
            header = cells
        elif header and len(cells) == len(header) and not set(cells[0]) <= set("-: "):
            named = [f"{h} {v.split(' ')[0]}" for h, v in zip(header[1:], cells[1:], strict=True)
                     if v not in ("–", "-", "")]
            rows[cells[0]] = ", ".join(named)
        elif header and not line.strip():
            header = []
    return rows


def plain_text(folder: Path, seed: int) -> float:
    """The plain character-level script's test accuracy on a text set."""
    script = Path(__file__).with_name("plain_text_gru.py")
    done = subprocess.run(
        [sys.executable, str(script), str(folder / "train"), str(folder / "test"), "--seed",
         str(seed)], check=True, capture_output=True, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    return float(done.stdout.split()[-1])


def run_one(train: Path, test: Path, seed: int) -> tuple[float, float, float, str]:
    """Test accuracy, wall seconds, CPU seconds (the child's, all threads) and the choice."""
    with tempfile.TemporaryDirectory() as tmp:
        cpu_before = _child_cpu()
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "rnntrace", "train", str(train), "--test", str(test),
             "--seed", str(seed), "--out", f"{tmp}/run", "--json"],
            check=True, capture_output=True, text=True,
        )
        seconds = time.perf_counter() - started
        cpu = _child_cpu() - cpu_before
        trace = json.loads(Path(f"{tmp}/run/trace.json").read_text())
    choice = trace.get("choice") or {}
    s = choice.get("settings", {})
    chosen = (f"{choice.get('chosen', '?')} w{s.get('window')} h{s.get('hidden_size')} "
              f"ep{s.get('epochs')}") if "window" in s else (
              f"{choice.get('chosen', '?')} e{s.get('embedding_dim')} ep{s.get('epochs')}")
    return float(trace["test"]["accuracy"]), seconds, cpu, chosen


def _child_cpu() -> float:
    # CPU time does not grow when other work shares the machine, unlike wall time: on a
    # shared machine it is the fairer measure of the 2-core budget (wall ≈ CPU / 2 alone).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--text", type=Path, nargs="*", default=[])
    args = parser.parse_args(argv)
    if not args.data.is_dir() and not args.text:
        print(f"real_data: skipped, no data folder at {args.data}")
        return 0
    refs = references(args.data / "README.md") if args.data.is_dir() else {}
    found = sorted(args.data.iterdir()) if args.data.is_dir() else []
    sets = [p for p in found if p.is_dir() and (p / f"{p.name}_TRAIN.ts").exists()]
    texts = [p for p in [*found, *args.text]
             if p.is_dir() and (p / "train").is_dir() and (p / "test").is_dir()]
    if args.only:
        sets = [p for p in sets if p.name in args.only]
        texts = [p for p in texts if p.name in args.only]
    print(f"{'set':24} {'test accuracy':>15} {'wall s':>7} {'cpu s':>6}  per seed (acc, chosen)"
          "  | reference")
    for folder in sets:
        results = [run_one(folder / f"{folder.name}_TRAIN.ts", folder / f"{folder.name}_TEST.ts",
                           seed) for seed in args.seeds]
        accs = [r[0] for r in results]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        per_seed = "; ".join(f"s{seed} {a:.3f} {c} ({w:.0f} s)"
                             for seed, (a, w, _, c) in zip(args.seeds, results, strict=True))
        print(f"{folder.name:24} {statistics.mean(accs):.3f} ± {std:.3f} "
              f"{max(r[1] for r in results):7.0f} {max(r[2] for r in results):6.0f}  "
              f"{per_seed} | {refs.get(folder.name, '')}", flush=True)
    for folder in texts:
        results = [run_one(folder / "train", folder / "test", seed) for seed in args.seeds]
        plain = [plain_text(folder, seed) for seed in args.seeds]
        accs = [r[0] for r in results]
        std = statistics.stdev(accs) if len(accs) > 1 else 0.0
        per_seed = "; ".join(f"s{seed} {a:.3f} {c} ({w:.0f} s)"
                             for seed, (a, w, _, c) in zip(args.seeds, results, strict=True))
        gap = statistics.mean(accs) - statistics.mean(plain)
        print(f"{folder.name + ' (text)':24} {statistics.mean(accs):.3f} ± {std:.3f} "
              f"{max(r[1] for r in results):7.0f} {max(r[2] for r in results):6.0f}  "
              f"{per_seed} | plain script {statistics.mean(plain):.3f} "
              f"({', '.join(f'{a:.3f}' for a in plain)}), difference {gap:+.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
