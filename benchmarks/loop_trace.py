"""What `rt.trace` costs on a cell loop: PyTorch's time-series example over 100 steps.

The model is pytorch/examples' time_sequence_prediction `Sequence` (two LSTMCells of 51 units
stepped by hand, then a Linear, in float64), on a batch of 3 sequences of 100 steps. The trace
runs the forward three times (the traced pass, a determinism check, no dynamics: a regression
head has no loss), recomputes every step of both cells from their weights and writes sequence
0's 100 step records. Timed against the plain forward; medians of alternating repeats, one
intra-op thread (tiny tensors on a shared machine stall each other with more).

    python benchmarks/loop_trace.py [--repeats 5] [--steps 100]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from torch import Tensor, nn

import rnntrace as rt

LIMIT_SECONDS = 1.0  # the target for a 100-step two-cell loop


class Sequence(nn.Module):
    """pytorch/examples time_sequence_prediction/train.py, re-typed."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input: Tensor, future: int = 0) -> Tensor:
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for _ in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = Sequence().double()
    x = torch.randn(3, args.steps, dtype=torch.double)
    rt.trace(model, x)  # warm-up: imports and first-call costs
    plain, traced, cpu = [], [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        with torch.no_grad():
            model(x)
        plain.append(time.perf_counter() - start)
        start, start_cpu = time.perf_counter(), time.process_time()
        trace = rt.trace(model, x)
        traced.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    assert all(layer.recomputation.matches for layer in trace.layers)
    assert len(trace.steps) == args.steps
    forward, whole = statistics.median(plain), statistics.median(traced)
    processor = statistics.median(cpu)
    print(f"{'what':<44} {'wall s':>8} {'× forward':>10} {'CPU s':>8}")
    print(f"{'plain forward, no_grad':<44} {forward:8.3f} {1.0:10.1f}")
    print(f"{f'rt.trace, two LSTMCells × {args.steps} steps':<44} {whole:8.3f} "
          f"{whole / forward:10.1f} {processor:8.3f}")
    worst = max(layer.recomputation.max_abs_diff for layer in trace.layers)
    # CPU time: what the trace costs this process, whatever else shares the machine
    ok = processor < LIMIT_SECONDS
    print(f"largest |hand − PyTorch| {worst:.1e}; target < {LIMIT_SECONDS:.0f} s of CPU: "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
