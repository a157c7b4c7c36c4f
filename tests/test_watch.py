"""rt.watch(): examples/watch.ipynb in a real kernel updates one output in place per epoch; the
same view as text in a terminal."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any, ClassVar

import pytest
from rich.console import Console

from rnntrace.records import EpochEnd, EpochRecord
from rnntrace.render.watch import EpochsView, TerminalWatch, in_notebook, watch

NOTEBOOK = Path(__file__).parent.parent / "examples" / "watch.ipynb"


def _record(epoch: int, observation: str = "fine") -> EpochRecord:
    return EpochRecord(epoch, 1.0 / epoch, 0.5, 1.1 / epoch, 0.4, 0.2, 0.01, observation)


def test_the_notebook_updates_one_output_in_place(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")

    class Recording(nbclient.NotebookClient):  # type: ignore[misc]
        """The kernel's messages as they arrive, beside what nbclient makes of them."""

        messages: ClassVar[list[tuple[int, str, Any]]] = []

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            kind = msg["msg_type"]
            if kind in ("display_data", "update_display_data"):
                self.messages.append((cell_index, kind, msg["content"]))
            return super().process_message(msg, cell, cell_index)

    nb = nbformat.read(NOTEBOOK, as_version=4)
    src = str(Path(__file__).parent.parent / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (src, os.environ.get("PYTHONPATH", "")) if p)  # this checkout's rnntrace
    client = Recording(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    training = 2  # the cell that trains
    shown = [(kind, content) for index, kind, content in client.messages if index == training]
    kinds = [kind for kind, _ in shown]
    # Shown once, then updated in place at each of the next four epochs, always the same id.
    assert kinds == ["display_data"] + ["update_display_data"] * 4
    ids = {content["transient"]["display_id"] for _, content in shown}
    assert len(ids) == 1
    epochs = [content["data"]["text/html"].split('data-epoch="')[1].split('"')[0]
              for _, content in shown]
    assert epochs == ["1", "2", "3", "4", "5"]
    # The executed notebook holds that one output, as it stood after the last epoch.
    outputs = [o for o in nb.cells[training].outputs if o.output_type == "display_data"]
    assert len(outputs) == 1 and 'data-epoch="5"' in outputs[0]["data"]["text/html"]
    assert "epoch 5 of 5" in outputs[0]["data"]["text/plain"]
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.output_type == "error"]
    assert errors == []
    page = Path(nb.cells[3].outputs[0]["text"].strip())
    assert (tmp_path / page).is_file() or page.is_file()


def test_the_view_escapes_what_it_shows() -> None:
    view = EpochsView([_record(1), _record(2, "<script>alert(1)</script> & more")], 3)
    html = view._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'data-epoch="2"' in html and "epoch 2 of 3" in html and "<polyline" in html
    assert "Loss per epoch" in repr(view) and "2. <script>" in repr(view)


def test_in_a_terminal_one_table_is_redrawn_and_ends_at_the_last_epoch() -> None:
    assert not in_notebook()
    assert isinstance(watch(), TerminalWatch)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    shown = TerminalWatch(console)
    for epoch in (1, 2, 3):
        shown(EpochEnd(_record(epoch, f"note {epoch}"), 3, 0.1, 100.0))
    assert not shown.started  # the last planned epoch ended it
    text = out.getvalue()
    assert "Training: epoch 3 of 3" in text and "note 3" in text and "|*" in text
    assert text.count("Training: epoch") >= 3  # drawn again at each epoch, in place
