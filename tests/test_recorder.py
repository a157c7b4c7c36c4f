"""rt.Recorder in a plain loop and rt.lightning.Trace in a Lightning fit: both end in a Trace."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import rnntrace as rt
from rnntrace.render.html import render_report


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.gru = nn.GRU(3, 6, batch_first=True)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: Tensor) -> Tensor:
        _, h_n = self.gru(x)
        return self.fc(h_n[-1])  # type: ignore[no-any-return]


def _data() -> tuple[Tensor, Tensor]:
    torch.manual_seed(0)
    x = torch.randn(48, 5, 3)
    return x, (x[:, :, 0].sum(1) > 0).long()


def test_recorder_collects_epochs_gradient_norms_and_observations(tmp_path: Path) -> None:
    x, y = _data()
    model = Net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    recurrent = list(model.gru.parameters())
    by_hand: list[list[float]] = []  # the gradient norm of the GRU's weights, step by step
    with rt.Recorder(model, optimizer=opt, n_classes=2) as rec:
        for _ in range(3):
            norms = []
            for i in range(0, 48, 16):
                loss = F.cross_entropy(model(x[i : i + 16]), y[i : i + 16])
                opt.zero_grad()
                loss.backward()
                norms.append(float(torch.cat([p.grad.flatten() for p in recurrent]).norm()))
                opt.step()
            by_hand.append(norms)
            with torch.no_grad():
                out = model(x)
            rec.epoch(loss=float(F.cross_entropy(out, y)),
                      accuracy=float((out.argmax(1) == y).float().mean()))
    records = rec.history.records
    assert [r.epoch for r in records] == [1, 2, 3]
    for r, norms in zip(records, by_hand, strict=True):
        assert math.isclose(r.grad_norm, sum(norms) / len(norms), rel_tol=1e-5)
        assert r.lr == 0.1 and r.val_loss is None
    assert records[0].observation.startswith("First epoch")
    assert all(r.observation for r in records)
    # closed: the model keeps no hook of ours
    assert all(not p._post_accumulate_grad_hooks for p in recurrent)

    trace = rec.trace(x[:4], labels=y[:4], class_names=["neg", "pos"])
    assert trace.training == records and trace.config is None
    assert "Training Trace" in str(trace) and "First epoch" in str(trace)
    page = render_report(trace)
    assert 'id="training"' in page and 'id="calls-h"' in page
    assert rt.report(trace, tmp_path / "page.html").read_text(encoding="utf-8") == page


def test_recorder_refuses_a_model_without_recurrent_weights() -> None:
    with pytest.raises(rt.RnnTraceError, match="no recurrent layer or cell"):
        rt.Recorder(nn.Linear(2, 2))
    frozen = Net()
    frozen.gru.requires_grad_(False)
    with pytest.raises(rt.RnnTraceError, match="no recurrent layer or cell"):
        rt.Recorder(frozen)


class CellLoop(nn.Module):
    """A GRUCell stepped in a Python loop, as tutorials write it."""

    def __init__(self) -> None:
        super().__init__()
        self.cell = nn.GRUCell(3, 6)
        self.fc = nn.Linear(6, 2)

    def forward(self, x: Tensor) -> Tensor:
        h = x.new_zeros(x.size(0), 6)
        for t in range(x.size(1)):
            h = self.cell(x[:, t], h)
        return self.fc(h)  # type: ignore[no-any-return]


def test_recorder_records_the_cell_of_a_loop() -> None:
    x, y = _data()
    model = CellLoop()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with rt.Recorder(model, optimizer=opt, n_classes=2) as rec:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        by_hand = float(torch.cat([p.grad.flatten() for p in model.cell.parameters()]).norm())
        opt.step()
        record = rec.epoch(loss=loss.item(), accuracy=0.5)
    assert math.isclose(record.grad_norm, by_hand, rel_tol=1e-5)
    assert all(not p._post_accumulate_grad_hooks for p in model.cell.parameters())


lightning = pytest.importorskip("lightning.pytorch")


class LitNet(lightning.LightningModule):  # type: ignore[misc, name-defined]
    def __init__(self) -> None:
        super().__init__()
        self.net = Net()

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)  # type: ignore[no-any-return]

    def training_step(self, batch: tuple[Tensor, Tensor], _i: int) -> Tensor:
        x, y = batch
        logits = self(x)
        loss = F.cross_entropy(logits, y)
        self.log("train_loss", loss, on_epoch=True, on_step=False)
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_epoch=True,
                 on_step=False)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Lightning's advice on workers and logging
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore:.*LeafSpec.*:FutureWarning")  # Lightning 2.6 on torch 2.13
def test_lightning_callback_ends_in_a_trace(tmp_path: Path) -> None:
    from torch.utils.data import DataLoader, TensorDataset

    x, y = _data()
    callback = rt.lightning.Trace(class_names=["neg", "pos"])
    trainer = lightning.Trainer(
        max_epochs=2, callbacks=[callback], logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
        default_root_dir=tmp_path,
    )
    trainer.fit(LitNet(), DataLoader(TensorDataset(x, y), batch_size=16))
    trace = callback.trace
    assert trace is not None
    assert [r.epoch for r in trace.training] == [1, 2]
    assert all(math.isfinite(r.loss) and r.grad_norm > 0 for r in trace.training)
    assert trace.training[1].lr == 0.1
    assert trace.layers and trace.layers[0].name == "net.gru"
    assert trace.layers[0].recomputation.matches
    page = render_report(trace)
    assert 'id="training"' in page and 'id="prediction"' in page
