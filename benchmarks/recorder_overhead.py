"""What rt.Recorder adds to an epoch of the lesson in a user's own training loop.

The loop is the one a tutorial would write: nn.RNN(5, 8) and a Linear head on the lesson's
800 training sequences (10 steps × 5 features, 3 classes), batch 32, Adam, then the held-out
loss and accuracy, on one thread. Epochs with and without the recorder alternate, in ABBA order
(so drift on a shared machine hits both alike), and each is timed in CPU time of this process,
which waiting for other processes does not inflate. The table gives the fastest and the median
epoch of each and their ratios: on a busy machine the fastest epoch is the one least disturbed,
so its ratio is closest to the recorder's own cost; the median shows how much noise there was.

    python benchmarks/recorder_overhead.py [--epochs 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import rnntrace as rt
from rnntrace.data.synthetic import lesson


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(5, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x)
        return self.fc(h[-1])  # type: ignore[no-any-return]


def epoch(model: Net, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor,
          xv: torch.Tensor, yv: torch.Tensor, rec: rt.Recorder | None) -> float:
    """One epoch of the plain loop; returns the CPU time it took, in seconds."""
    start = time.process_time()
    perm = torch.randperm(len(y))
    total, correct = 0.0, 0
    for i in range(0, len(y), 32):
        idx = perm[i : i + 32]
        logits = model(x[idx])
        loss = F.cross_entropy(logits, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += float(loss.detach()) * len(idx)
        correct += int((logits.argmax(1) == y[idx]).sum())
    with torch.no_grad():
        val = model(xv)
        val_loss = float(F.cross_entropy(val, yv))
        val_acc = float((val.argmax(1) == yv).float().mean())
    if rec is not None:
        rec.epoch(loss=total / len(y), accuracy=correct / len(y), val_loss=val_loss,
                  val_accuracy=val_acc)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    data = lesson(seed=0)
    x, y = torch.from_numpy(data.values), torch.from_numpy(data.labels)
    xv, yv, x, y = x[:200], y[:200], x[200:], y[200:]
    plain_model, recorded_model = Net(), Net()
    plain_opt = torch.optim.Adam(plain_model.parameters(), 1e-2)
    recorded_opt = torch.optim.Adam(recorded_model.parameters(), 1e-2)
    rec = rt.Recorder(recorded_model, optimizer=recorded_opt, n_classes=3)
    plain, recorded = [], []
    epoch(plain_model, plain_opt, x, y, xv, yv, None)  # warm-up, not counted
    for i in range(args.epochs):
        if i % 2:
            recorded.append(epoch(recorded_model, recorded_opt, x, y, xv, yv, rec))
            plain.append(epoch(plain_model, plain_opt, x, y, xv, yv, None))
        else:
            plain.append(epoch(plain_model, plain_opt, x, y, xv, yv, None))
            recorded.append(epoch(recorded_model, recorded_opt, x, y, xv, yv, rec))
    rec.close()
    p, r = statistics.median(plain), statistics.median(recorded)
    pf, rf = min(plain), min(recorded)
    print(f"{'loop':<22}{'fastest epoch (ms CPU)':>24}{'median epoch (ms CPU)':>24}")
    print(f"{'plain':<22}{1000 * pf:>24.2f}{1000 * p:>24.2f}")
    print(f"{'with rt.Recorder':<22}{1000 * rf:>24.2f}{1000 * r:>24.2f}")
    print(f"{'ratio':<22}{rf / pf:>24.3f}{r / p:>24.3f}")
    print(f"epochs recorded: {len(rec.history.records)}, last observation: "
          f"{rec.history.records[-1].observation}")


if __name__ == "__main__":
    main()
