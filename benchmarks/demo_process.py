"""Whole-process wall time: `rnntrace demo` against a plain PyTorch script doing the same lesson.

Both train the same model (RNN, hidden 8) on the same data (1000 × 10 × 5, 3 classes, seed 0)
for 5 epochs with a 20 % held-out split. The plain script is the loop a tutorial would write
(TensorDataset + DataLoader, batch 32). Each command runs in a fresh process, alternating, and
the table reports medians and the ratio, since absolute times on a shared machine drift.

    python benchmarks/demo_process.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN = """
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from rnntrace.data.synthetic import lesson  # numpy only: the same sequences as the demo

torch.manual_seed(0)
data = lesson(seed=0)
x, y = torch.from_numpy(data.values), torch.from_numpy(data.labels)
perm = torch.randperm(len(y))
val, train = perm[:200], perm[200:]
loader = DataLoader(TensorDataset(x[train], y[train]), batch_size=32, shuffle=True)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(5, 8, batch_first=True)
        self.fc = nn.Linear(8, 3)
    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(h[-1])

model = Net()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(5):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x[val]).argmax(1) == y[val]).float().mean().item()
    print(f"epoch {epoch + 1} loss {loss.item():.3f} val acc {acc:.3f}")
"""


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    script = Path(sys.executable).with_name("rnntrace")
    plain: list[float] = []
    demo: list[float] = []
    helps: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeats):
            plain.append(timed([sys.executable, "-c", PLAIN]))
            demo.append(timed([str(script), "demo", "--out", f"{tmp}/run{i}"]))
            helps.append(timed([str(script), "--help"]))
    p, d, h = (statistics.median(v) for v in (plain, demo, helps))
    print(f"{'command':<34}{'median s':>10}{'min s':>10}{'ratio':>8}")
    print(f"{'plain PyTorch script':<34}{p:>10.2f}{min(plain):>10.2f}{1.0:>8.2f}")
    print(f"{'rnntrace demo (whole process)':<34}{d:>10.2f}{min(demo):>10.2f}{d / p:>8.2f}")
    print(f"{'rnntrace --help':<34}{h:>10.3f}{min(helps):>10.3f}{'':>8}")
    print(f"\ntarget: demo ≤ 1.5 × plain ({'met' if d <= 1.5 * p else 'NOT met'}); "
          f"--help < 0.3 s ({'met' if h < 0.3 else 'NOT met'}); {args.repeats} repeats")


if __name__ == "__main__":
    main()
