"""The public API: every exported name resolves, and the README's own calls work together."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np

import rnntrace as rt
from rnntrace import _EXPORTS


def test_every_public_name_is_the_object_its_module_defines() -> None:
    assert set(rt.__all__) == set(_EXPORTS) | {"__version__"}
    # Importing a submodule binds its name on the package: none may hide a public function.
    modules = {name: importlib.import_module(module) for name, module in _EXPORTS.items()}
    for name, module in modules.items():
        assert getattr(rt, name) is getattr(module, name), name
    assert dir(rt) == sorted(rt.__all__)


def test_read_a_csv_and_fit_through_the_top_level_api(tmp_path: Path) -> None:
    lesson = rt.lesson(n_sequences=90, seed=1)
    rows = ["id,time,label,a,b,c,d,e"]
    for i in range(len(lesson.labels)):
        label = lesson.class_names[int(lesson.labels[i])]
        for t in range(int(lesson.lengths[i])):
            values = ",".join(f"{v:.6f}" for v in lesson.values[i, t].tolist())
            rows.append(f"s{i},{t},{label},{values}")
    path = tmp_path / "walks.csv"
    path.write_text("\n".join(rows) + "\n")

    walks = rt.read(path, label="label", id="id", time="time")
    order = [int(i[1:]) for i in walks.ids]  # the reader's sequence order, by id
    assert sorted(order) == list(range(len(lesson.labels)))
    np.testing.assert_allclose(walks.values, lesson.values[order], atol=1e-6)
    names = [walks.class_names[k] for k in walks.labels]
    assert names == [lesson.class_names[k] for k in lesson.labels[order]]

    model = rt.SequenceClassifier(n_features=5, n_classes=3, hidden_size=8)
    history = rt.fit(model, walks, epochs=2, seed=0)
    assert len(history.records) == 2 and history.records[-1].observation
