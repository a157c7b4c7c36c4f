"""The no-flag `train` on every regression and per-step set in ../shared/data, beside the
references of their READMEs.

    python benchmarks/heads.py [--data ../shared/data] [--seeds 0 1 2] [--only Tecator]
                               [--tagger]

Regression: `rnntrace train X_TRAIN.ts --test X_TEST.ts --seed S` (the task comes from the
file's @targetLabel true). Per step: `rnntrace train train.csv --test test.csv --id series
--time step --task steps --seed S` (the columns are named and the task said, as a user must:
a label that changes within a sequence is an error without --task). No model or training
setting is given: they are chosen from the training file. Each run in a fresh process, timed
from start to end, search included. Prints the test figures (mean ± std over the seeds), the
slowest wall time, the most CPU seconds (the budget: 3 minutes on 2 cores, 360 CPU s) and the
references: for regression the training-mean predictor and the plain GRU script (100 epochs
and ≤ 1000 epochs / 180 s), for per step the plain bidirectional GRU tagger. The README gives
the tagger's frame accuracy and macro-F1 but no edit score: `--tagger` also runs the same tagger
(bigru_tagger.py, 100 epochs, no time limit, scored by the same code as ours) on the same
seeds, and shows its frame accuracy and edit score beside ours.

`--unseen [DIR]` also runs every regression set in DIR (default: the TSER sets aeon ships in its
wheel, CardanoSentiment and Covid3Month) that nothing in rnntrace was tuned on, beside the
training mean (from the run) and the plain GRU script of ../shared/data/regression run on them.
`--unseen-steps [DIR]` builds per-step streams, as ../shared/data/segmentation's make_tagging.py
built the shared ones, from the classification sets of DIR (default: aeon's wheel: ACSF1,
ArrowHead, GunPoint, ItalyPowerDemand, JapaneseVowels) and runs them beside the majority label
and the BiGRU tagger.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REGRESSION = ("Tecator", "MinimalGasPrices", "UnequalMinimalGasPrices")
STEPS = ("BasicMotions", "PickupGestureWiimoteZ", "OSULeaf")
# From ../shared/data/regression/README.md: test RMSE of the training mean, and of the plain
# GRU-64 script at 100 epochs and at ≤ 1000 epochs / 180 s (mean over seeds 0–2).
REGRESSION_REFS = {
    "Tecator": {"mean": 12.89, "gru100": 7.11, "gru_long": 1.57},
    "MinimalGasPrices": {"mean": 0.0943, "gru100": 0.0681, "gru_long": 0.0929},
    "UnequalMinimalGasPrices": {"mean": 0.0943, "gru100": 0.0669, "gru_long": 0.0706},
}
# From ../shared/data/segmentation/README.md: the plain BiGRU tagger's test frame accuracy and
# macro-F1 (mean over seeds 0–2) and the majority label's frame accuracy. The README gives no
# edit score for the tagger: `--tagger` runs it for its own; the table always shows the edit
# score of the majority label everywhere (scored by the run), which is the tagger's on OSULeaf
# (it predicts the majority label at every step there).
STEP_REFS = {
    "BasicMotions": {"majority": 0.250, "bigru_acc": 0.949, "bigru_f1": 0.949},
    "PickupGestureWiimoteZ": {"majority": 0.196, "bigru_acc": 0.394, "bigru_f1": 0.289},
    "OSULeaf": {"majority": 0.182, "bigru_acc": 0.182, "bigru_f1": 0.051},
}


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_one(command: list[str], seed: int
            ) -> tuple[dict[str, float], float, float, str, dict[str, float]]:
    """The model's test figures, wall seconds, CPU seconds, the chosen settings, and the test
    figures of the chance line (the training mean, or the majority label everywhere)."""
    with tempfile.TemporaryDirectory() as tmp:
        cpu_before = _child_cpu()
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "rnntrace", "train", *command, "--seed", str(seed),
             "--out", f"{tmp}/run", "--json"],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)}: {done.stderr.strip()[-400:]}")
        seconds = time.perf_counter() - started
        cpu = _child_cpu() - cpu_before
        trace = json.loads(Path(f"{tmp}/run/trace.json").read_text())
    test = next(s for s in trace["head"]["sets"] if s["name"] == "test")
    model = next(line for line in test["lines"] if line["name"] == "model")
    chance = next(line for line in test["lines"] if line["name"] != "model")
    choice = trace.get("choice") or {}
    settings = choice.get("settings", {})
    chosen = f"{choice.get('chosen', '?')} ep{settings.get('epochs')}"
    return model["scores"], seconds, cpu, chosen, chance["scores"]


def _aeon_data() -> Path | None:
    try:
        import aeon.datasets
    except ImportError:
        return None
    return Path(aeon.datasets.__file__).parent / "data"


AEON_DATA = _aeon_data()


def regression_sets(folder: Path) -> list[str]:
    """The folders of `folder` holding NAME_TRAIN.ts and NAME_TEST.ts with a numeric target."""
    names = []
    for each in sorted(folder.iterdir()):
        train = each / f"{each.name}_TRAIN.ts"
        if (each / f"{each.name}_TEST.ts").is_file() and train.is_file():
            header = train.read_text(errors="replace").split("@data", 1)[0].lower()
            if "@targetlabel true" in header:
                names.append(each.name)
    return names


def unseen(folder: Path | None, references: Path, seeds: list[int]) -> None:
    """The no-flag run on regression sets nothing was tuned on, beside the training mean and
    the plain GRU script of the shared data's README (its own code, pointed at `folder`)."""
    if folder is None or not folder.is_dir():
        print("skipped: no folder of unseen sets (is aeon installed?)")
        return
    script = references / "baseline_gru_regressor.py"
    plain = None
    if script.is_file():
        import importlib.util

        import torch

        spec = importlib.util.spec_from_file_location("baseline_gru_regressor", script)
        assert spec is not None and spec.loader is not None
        plain = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(plain)
        plain.HERE = str(folder)  # its load() reads NAME/NAME_TRAIN.ts beside HERE
        torch.set_num_threads(1)  # as its main() runs
    print(f"Unseen regression sets ({folder}): test RMSE, lower is better")
    print("| set | rnntrace RMSE (per seed; mean ± std) | training mean | plain GRU 100 ep "
          "(per seed; mean) | ≤ both | wall max s | chosen |")
    print("|---|---|---|---|---|---|---|")
    for name in regression_sets(folder):
        command = [str(folder / name / f"{name}_TRAIN.ts"), "--test",
                   str(folder / name / f"{name}_TEST.ts")]
        runs = [run_one(command, seed) for seed in seeds]
        rmse = [r[0]["rmse"] for r in runs]
        mean = runs[0][4]["rmse"]
        theirs = ([plain.run(name, seed, 100, 180.0, 64, 32, 3e-3)["test_rmse"]
                   for seed in seeds] if plain is not None else [])
        gru = (f"{', '.join(f'{v:.4g}' for v in theirs)} ({statistics.mean(theirs):.4g})"
               if theirs else "–")
        beats = statistics.mean(rmse) <= min([mean, *([statistics.mean(theirs)] if theirs
                                                      else [])])
        print(f"| {name} | {', '.join(f'{v:.4g}' for v in rmse)} ({_mean_std(rmse)}) | "
              f"{mean:.4g} | {gru} | {'yes' if beats else 'no'} | "
              f"{max(r[1] for r in runs):.0f} | {'; '.join(r[3] for r in runs)} |")
    print()


# Classification sets aeon ships in its wheel that the shared per-step sets were not built from;
# ACSF1's 1,460-step cases make streams of up to 8,760 steps.
UNSEEN_STEPS = ("ACSF1", "ArrowHead", "GunPoint", "ItalyPowerDemand", "JapaneseVowels")


def unseen_steps(folder: Path | None, segmentation: Path, seeds: list[int]) -> None:
    """The no-flag per-step run on streams built from classification sets nothing was tuned
    on, by the shared data's own recipe (make_tagging.py, 3-6 cases a stream, seed 0), beside
    the majority label and the plain BiGRU tagger (≤ 100 epochs and ≤ 180 s, as its README
    runs it)."""
    script = segmentation / "make_tagging.py"
    if folder is None or not folder.is_dir() or not script.is_file():
        print("skipped: no folder of unseen sets (is aeon installed?) or no make_tagging.py")
        return
    from bigru_tagger import run as tagger_run

    print(f"Unseen per-step sets (streams built from {folder}): test frame accuracy / edit")
    print("| set | streams train/test, longest | rnntrace acc (per seed) | rnntrace edit | "
          "majority acc / edit | BiGRU acc | BiGRU edit | both above | wall max s | chosen |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name in UNSEEN_STEPS:
            source = folder / name
            if not (source / f"{name}_TRAIN.ts").is_file():
                continue
            built = Path(tmp) / name
            subprocess.run([sys.executable, str(script), str(source / f"{name}_TRAIN.ts"),
                            str(source / f"{name}_TEST.ts"), str(built), "--kmin", "3",
                            "--kmax", "6", "--seed", "0"], check=True, capture_output=True)
            shape = _streams(built)
            command = [str(built / "train.csv"), "--test", str(built / "test.csv"), "--id",
                       "series", "--time", "step", "--task", "steps"]
            runs = [run_one(command, seed) for seed in seeds]
            theirs = [tagger_run(built, seed, 100, 180.0) for seed in seeds]
            acc = [r[0]["frame_accuracy"] for r in runs]
            edit = [r[0]["edit"] for r in runs]
            their_acc = [t["frame_accuracy"] for t in theirs]
            their_edit = [t["edit"] for t in theirs]
            above = statistics.mean(acc) > statistics.mean(their_acc) and \
                statistics.mean(edit) > statistics.mean(their_edit)
            print(f"| {name} | {shape} | {_mean_std(acc)} ({', '.join(f'{a:.3f}' for a in acc)})"
                  f" | {_mean_std(edit)} | {runs[0][4]['frame_accuracy']:.3g} / "
                  f"{runs[0][4]['edit']:.3g} | {_mean_std(their_acc)} | {_mean_std(their_edit)}"
                  f" | {'yes' if above else 'no'} | {max(r[1] for r in runs):.0f} | "
                  f"{'; '.join(r[3] for r in runs)} |")
    print()


def _streams(built: Path) -> str:
    """'11/33, 900': the streams of the train and test files and the longest one's steps."""
    counts, longest = [], 0
    for part in ("train", "test"):
        lengths: dict[str, int] = {}
        with (built / f"{part}.csv").open() as rows:
            next(rows)
            for row in rows:
                series = row.split(",", 1)[0]
                lengths[series] = lengths.get(series, 0) + 1
        counts.append(str(len(lengths)))
        longest = max(longest, *lengths.values())
    return f"{'/'.join(counts)}, {longest}"


def _mean_std(values: list[float]) -> str:
    spread = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4g} ± {spread:.2g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--tagger", action="store_true",
                        help="also run the plain BiGRU tagger for its edit score (slow)")
    parser.add_argument("--unseen", type=Path, nargs="?", const=AEON_DATA, default=None,
                        help="also the regression sets of this folder (default: aeon's)")
    parser.add_argument("--unseen-steps", type=Path, nargs="?", const=AEON_DATA, default=None,
                        help="also per-step streams built from this folder's classification "
                        "sets (default: aeon's)")
    args = parser.parse_args(argv)
    if args.unseen is not None:
        unseen(args.unseen, args.data / "regression", args.seeds)
    if args.unseen_steps is not None:
        unseen_steps(args.unseen_steps, args.data / "segmentation", args.seeds)
    if not (args.data / "regression").is_dir():
        print(f"skipped: no data folder {args.data / 'regression'}")
        return 0
    print("Regression: test RMSE (lower is better); no flags, settings chosen from the "
          "training file")
    print("| set | rnntrace RMSE (per seed; mean ± std) | R² | training mean | plain GRU 100 ep | "
          "plain GRU ≤1000 ep "
          "| ≤ both refs | wall max s | CPU max s | chosen |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in REGRESSION:
        if args.only is not None and name not in args.only:
            continue
        folder = args.data / "regression" / name
        command = [str(folder / f"{name}_TRAIN.ts"), "--test", str(folder / f"{name}_TEST.ts")]
        runs = [run_one(command, seed) for seed in args.seeds]
        rmse = [r[0]["rmse"] for r in runs]
        refs = REGRESSION_REFS[name]
        beats = statistics.mean(rmse) <= min(refs["mean"], refs["gru100"])
        per_seed = ", ".join(f"{v:.4g}" for v in rmse)
        print(f"| {name} | {per_seed} ({_mean_std(rmse)}) | "
              f"{_mean_std([r[0]['r2'] for r in runs])} | "
              f"{refs['mean']} | {refs['gru100']} | {refs['gru_long']} | "
              f"{'yes' if beats else 'no'} | {max(r[1] for r in runs):.0f} | "
              f"{max(r[2] for r in runs):.0f} | {'; '.join(r[3] for r in runs)} |")
    print()
    print("Per step: test frame accuracy, macro-F1, edit score, F1@50 (higher is better)")
    print("| set | frame acc | macro-F1 | edit | F1@50 | majority acc / edit | BiGRU acc | BiGRU "
          "macro-F1 | acc above BiGRU | BiGRU acc / edit (ours, --tagger) | wall max s | "
          "CPU max s | chosen |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name in STEPS:
        if args.only is not None and name not in args.only:
            continue
        folder = args.data / "segmentation" / name
        command = [str(folder / "train.csv"), "--test", str(folder / "test.csv"), "--id",
                   "series", "--time", "step", "--task", "steps"]
        runs = [run_one(command, seed) for seed in args.seeds]
        acc = [r[0]["frame_accuracy"] for r in runs]
        edit = [r[0]["edit"] for r in runs]
        refs = STEP_REFS[name]
        tagged = "–"
        if args.tagger:
            from bigru_tagger import run as tagger_run

            theirs = [tagger_run(folder, seed, 100, float("inf")) for seed in args.seeds]
            tagged = (f"{_mean_std([t['frame_accuracy'] for t in theirs])} / "
                      f"{_mean_std([t['edit'] for t in theirs])}")
        print(f"| {name} | {_mean_std(acc)} ({', '.join(f'{a:.3f}' for a in acc)}) | "
              f"{_mean_std([r[0]['macro_f1'] for r in runs])} | "
              f"{_mean_std(edit)} ({', '.join(f'{e:.3f}' for e in edit)}) | "
              f"{_mean_std([r[0]['f1@50'] for r in runs])} | {refs['majority']} / "
              f"{statistics.mean(r[4]['edit'] for r in runs):.3g} | "
              f"{refs['bigru_acc']} | {refs['bigru_f1']} | "
              f"{'yes' if statistics.mean(acc) > refs['bigru_acc'] else 'no'} | {tagged} | "
              f"{max(r[1] for r in runs):.0f} | {max(r[2] for r in runs):.0f} | "
              f"{'; '.join(r[3] for r in runs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
