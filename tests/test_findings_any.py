"""Silent mistakes found in a traced pass of a user's model, and none on the corrected twin."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnntrace as rt
from rnntrace.records import Finding

LENGTHS = torch.tensor([7, 3, 5, 2])


def _padded(features: int = 4) -> Tensor:
    torch.manual_seed(0)
    x = torch.randn(4, 7, features)
    for b, n in enumerate(LENGTHS):
        x[b, n:] = 0
    return x


def _kinds(model: nn.Module, *inputs: object, **kwargs: object) -> dict[str, Finding]:
    trace = rt.trace(model, *inputs, **kwargs)
    assert trace.module_calls is not None
    return {f.kind: f for f in trace.module_calls.findings}


class BiLast(nn.Module):
    """A classifier fed output[:, -1] of a bidirectional GRU, or (fixed) its two final states."""

    def __init__(self, fixed: bool) -> None:
        super().__init__()
        self.fixed = fixed
        self.gru = nn.GRU(4, 6, bidirectional=True, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x: Tensor) -> Tensor:
        out, h_n = self.gru(x)
        last = torch.cat([h_n[-2], h_n[-1]], dim=1) if self.fixed else out[:, -1]
        return self.fc(last)


def test_bidirectional_last_step() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 7, 4)
    found = _kinds(BiLast(fixed=False), x)
    assert set(found) == {"bidirectional_last_step"}
    assert "output[:, -1][..., 6:]" in found["bidirectional_last_step"].how_read
    assert _kinds(BiLast(fixed=True), x) == {}


class PackedLast(nn.Module):
    """Packs, unpacks, then takes output[:, -1] (zeros for short sequences), or (fixed) h_n."""

    def __init__(self, fixed: bool) -> None:
        super().__init__()
        self.fixed = fixed
        self.lstm = nn.LSTM(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.lstm(packed)
        out, _ = pad_packed_sequence(out, batch_first=True)
        return self.fc(h_n[-1] if self.fixed else out[:, -1])


def test_last_step_of_a_padded_batch() -> None:
    x = _padded()
    found = _kinds(PackedLast(fixed=False), x, LENGTHS)
    assert set(found) == {"padded_last_step"}
    f = found["padded_last_step"]
    # 3 of the 4 sequences are shorter than 7 steps: their rows of output[:, -1] are zeros
    assert "3 of 4 sequences are shorter than 7 steps (lengths 2..7)" in f.arrived
    assert "3 of the 4 rows" in f.how_read
    assert "fc (Linear)" in f.arrived
    assert _kinds(PackedLast(fixed=True), x, LENGTHS) == {}


class Stacked(nn.Module):
    """h_n of a 2-layer LSTM flattened with view(B, -1), or (fixed) sequence by sequence."""

    def __init__(self, fixed: bool) -> None:
        super().__init__()
        self.fixed = fixed
        self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, x: Tensor) -> Tensor:
        _, (h_n, _) = self.lstm(x)
        batch = x.shape[0]
        flat = h_n.permute(1, 0, 2).reshape(batch, -1) if self.fixed else h_n.view(batch, -1)
        return self.fc(flat)


def test_h_n_reshaped_across_layers() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 7, 4)
    found = _kinds(Stacked(fixed=False), x)
    assert set(found) == {"h_n_reshaped"}
    f = found["h_n_reshaped"]
    assert "h_n of shape (2, 4, 6) reshaped to (4, 12)" in f.arrived
    assert "row 0 holds the first state of sequences 0..1" in f.how_read
    assert _kinds(Stacked(fixed=True), x) == {}


class SeqFirst(nn.Module):
    """A sequence-first LSTM; `swapped` feeds it a (batch, steps, features) batch as is."""

    def __init__(self, swapped: bool) -> None:
        super().__init__()
        self.swapped = swapped
        self.lstm = nn.LSTM(4, 6)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: Tensor) -> Tensor:  # x: (B, T, F), as the data loader gives it
        out, _ = self.lstm(x if self.swapped else x.transpose(0, 1))
        return self.fc(out[:, -1] if self.swapped else out[-1])


def test_time_and_batch_axes_swapped() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 5, 4)  # 8 sequences of 5 steps
    labels = torch.randint(0, 2, (8,))
    found = _kinds(SeqFirst(swapped=True), x, labels=labels)
    assert set(found) == {"time_batch_swapped"}
    f = found["time_batch_swapped"]
    assert "read as a batch of 5 sequences of 8 steps, while 8 labels" in f.arrived
    assert "batch_first=True" in f.fix
    assert _kinds(SeqFirst(swapped=False), x, labels=labels) == {}
    # without labels, the 8 rows of scores the model returns are the evidence
    assert set(_kinds(SeqFirst(swapped=True), x)) == {"time_batch_swapped"}


class Unpacked(nn.Module):
    """A padded batch read straight through (padding read as data), or (fixed) packed."""

    def __init__(self, fixed: bool) -> None:
        super().__init__()
        self.fixed = fixed
        self.rnn = nn.RNN(4, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        if self.fixed:
            packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
            _, h_n = self.rnn(packed)
        else:
            _, h_n = self.rnn(x)
        return self.fc(h_n[-1])


def test_padding_read_as_data_is_kept() -> None:
    x = _padded()
    found = _kinds(Unpacked(fixed=False), x, LENGTHS)
    assert set(found) == {"padded_unpacked"}
    assert "lengths 2..7 of 7 steps" in found["padded_unpacked"].arrived
    assert _kinds(Unpacked(fixed=True), x, LENGTHS) == {}


@pytest.mark.parametrize("model", [BiLast(True), PackedLast(True), Stacked(True), SeqFirst(False)])
def test_findings_are_on_the_page_only_when_found(model: nn.Module) -> None:
    torch.manual_seed(0)
    # padded data only where the model packs it; elsewhere padding would be a finding of its own
    args = (_padded(), LENGTHS) if isinstance(model, PackedLast) else (torch.randn(4, 7, 4),)
    from rnntrace.render.html import render_report

    page = render_report(rt.trace(model, *args))
    assert 'id="findings-h"' not in page
    # the twin that makes the mistake (SeqFirst's flag says swapped, the others' say fixed)
    wrong = type(model)(isinstance(model, SeqFirst))  # type: ignore[call-arg]
    page = render_report(rt.trace(wrong, *args))
    assert 'id="findings-h"' in page
