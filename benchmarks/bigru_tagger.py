"""The plain BiGRU tagger of ../shared/data/segmentation/README.md, scored with edit and F1@k.

    python benchmarks/bigru_tagger.py BasicMotions [--seeds 0 1 2] [--data ../shared/data]

The README's `baseline_bigru_tagger.py` reports frame accuracy and macro-F1 only; the
acceptance compares edit scores too, so this is the same model and loop (nn.GRU(F, 64,
bidirectional) over a PackedSequence, Linear(128, C) on every step, features z-scored with
training statistics, cross-entropy over real steps, Adam 3e-3, batch 8 streams, ≤ 100 epochs
and ≤ 180 s, one thread), with the test predictions scored by rnntrace.train.head_scores, as
rnntrace's own are. Prints one JSON line per run.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

from rnntrace.train.head_scores import step_scores

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def read(path: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    frame = pd.read_csv(path, dtype={"label": str}, keep_default_na=False)
    features = [c for c in frame.columns if c not in ("series", "step", "label")]
    frame = frame.sort_values(["series", "step"], kind="stable")
    groups = [g for _, g in frame.groupby("series", sort=True)]
    return ([g[features].to_numpy(np.float64) for g in groups],
            [g["label"].to_numpy() for g in groups])


class Tagger(nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden: int = 64) -> None:
        super().__init__()
        self.rnn = nn.GRU(n_in, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, n_out)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, _ = self.rnn(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
        return self.head(out)  # (B, T, C)


def _batch(xs: list[np.ndarray], ys: list[np.ndarray], idx: list[int]
           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(xs[i]) for i in idx])
    x = pad_sequence([torch.from_numpy(xs[i]) for i in idx], batch_first=True)
    y = pad_sequence([torch.from_numpy(ys[i]) for i in idx], batch_first=True,
                     padding_value=-100)
    return x, lengths, y


def run(folder: Path, seed: int, epochs: int = 100, budget: float = 180.0) -> dict[str, float]:
    torch.set_num_threads(1)
    x_train, y_train = read(folder / "train.csv")
    x_test, y_test = read(folder / "test.csv")
    names = sorted(set(np.concatenate(y_train)) | set(np.concatenate(y_test)))
    code = {c: i for i, c in enumerate(names)}
    y_train = [np.array([code[v] for v in y], dtype=np.int64) for y in y_train]
    y_test = [np.array([code[v] for v in y], dtype=np.int64) for y in y_test]
    values = np.concatenate(x_train)
    mean, std = values.mean(0), values.std(0) + 1e-8
    x_train = [((x - mean) / std).astype(np.float32) for x in x_train]
    x_test = [((x - mean) / std).astype(np.float32) for x in x_test]
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Tagger(values.shape[1], len(names))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss(ignore_index=-100)
    started, done = time.perf_counter(), 0
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 8):
            x, lengths, y = _batch(x_train, y_train, order[start:start + 8].tolist())
            logits = model(x, lengths)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            optimizer.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        done += 1
        if time.perf_counter() - started > budget:
            break
    model.eval()
    predicted: list[np.ndarray] = []
    with torch.no_grad():
        for start in range(0, len(x_test), 16):
            idx = list(range(start, min(start + 16, len(x_test))))
            x, lengths, _ = _batch(x_test, y_test, idx)
            out = model(x, lengths).argmax(-1)
            predicted += [out[j, : lengths[j]].numpy() for j in range(len(idx))]
    return {"set": folder.name, "seed": seed, "epochs": done,
            "seconds": round(time.perf_counter() - started, 1)} | step_scores(predicted, y_test)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sets", nargs="+")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--budget", type=float, default=180.0,
                        help="seconds of training per run (the README's 180; a loaded "
                        "machine reaches fewer epochs in it)")
    args = parser.parse_args(argv)
    for name in args.sets:
        for seed in args.seeds:
            print(json.dumps(run(args.data / "segmentation" / name, seed, args.epochs,
                                 args.budget)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
