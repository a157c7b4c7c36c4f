"""A run directory's config.json and trace.json: each bad value refused in one line, cheaply.

The run is built without training (tests/_fuzz.py: a small model's config, weights and trace),
then one value at a time is broken the way a fuzzer once broke it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from _fuzz import seed_files, write
from rnntrace.cli.main import main
from rnntrace.config import schema as run_schema
from rnntrace.config.settings import ModelConfig, RunConfig
from rnntrace.errors import ConfigError, RunError
from rnntrace.run.directory import load_run


@pytest.fixture
def run(tmp_path: Path) -> Path:
    path = write(tmp_path / "run", seed_files("run", 0))
    np.savez(tmp_path / "new.npz", X=np.zeros((2, 3, 2), np.float32))
    return path


def _edit(run: Path, change: Callable[[dict[str, Any]], None]) -> None:
    config = json.loads((run / "config.json").read_text())
    change(config)
    (run / "config.json").write_text(json.dumps(config))


def _refused(run: Path, *fragments: str) -> str:
    with pytest.raises(RunError) as info:
        load_run(run)
    message = info.value.message
    assert "config.json" in message and "\n" not in message, message
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize(("section", "key", "value", "fragment"), [
    ("model", "hidden_size", 8.0, "model.hidden_size is 8.0, not an integer"),
    ("model", "hidden_size", True, "model.hidden_size is true, not an integer"),
    ("model", "hidden_size", 1e308, "not an integer"),
    ("model", "cell", 5, "model.cell is 5, not text"),
    ("model", "nonlinearity", None, "model.nonlinearity is null, not text"),
    ("model", "bidirectional", 1, "not true or false"),
    ("model", "dropout", "0.1", "not a number"),
    ("data", "feature_names", 5, "data.feature_names is 5, not a list of text"),
    ("data", "class_names", "abc", "data.class_names is \"abc\", not a list of text"),
    ("data", "feature_names", ["f0", 1], "data.feature_names[1] is 1, not text"),
    ("data", "read_options", "x", "data.read_options is \"x\", not an object"),
    ("data", "read_options", {"sep": ";"}, "unknown option 'sep'"),
    ("data", "read_options", {"nan": "zero"}, "data.read_options.nan is 'zero'"),
    ("data", "read_options", {"features": "a"}, "data.read_options.features is \"a\""),
    ("train", "seed", 2**64, "outside"),
    ("train", "lr", float("nan"), "not a number"),
])
def test_a_value_of_the_wrong_type_is_named(run: Path, section: str, key: str, value: object,
                                            fragment: str) -> None:
    _edit(run, lambda c: c[section].__setitem__(key, value))
    _refused(run, fragment)


@pytest.mark.parametrize(("key", "value", "fragment"), [
    ("hidden_size", 10**12, "outside 1..65536"),
    ("num_layers", 100_000, "outside 1..64"),
    ("n_classes", 10**9, "outside 0..1e+06"),
    ("hidden_size", 65_536, "weights, more than"),
])
def test_sizes_are_bounded_before_a_model_is_built(run: Path, key: str, value: int,
                                                   fragment: str) -> None:
    _edit(run, lambda c: c["model"].__setitem__(key, value))
    start = time.perf_counter()
    _refused(run, fragment)
    assert time.perf_counter() - start < 1.0


def test_a_batch_no_run_could_hold_is_refused(run: Path) -> None:
    _edit(run, lambda c: (c["train"].__setitem__("batch_size", 1_000_000),
                          c["data"].__setitem__("max_length", 10_000_000)))
    _refused(run, "a batch of 1000000 sequences × 10000000 steps × 2 features")


def test_unknown_sections_and_settings_are_refused(run: Path) -> None:
    _edit(run, lambda c: c.__setitem__("extra", {}))
    _refused(run, "unknown section 'extra'")
    _edit(run, lambda c: (c.pop("extra"), c["train"].__setitem__("layers", 2)))
    _refused(run, "unknown setting 'layers'")


def test_a_huge_integer_and_deep_nesting_are_refused(run: Path) -> None:
    text = (run / "config.json").read_text()
    (run / "config.json").write_text(text.replace('"hidden_size": 4', '"hidden_size": ' +
                                                  "4" * 5000))
    _refused(run, "an integer of 5000 digits")
    (run / "config.json").write_text(text.replace('"hidden_size": 4', '"hidden_size": ' +
                                                  "[" * 100_000 + "]" * 100_000))
    _refused(run, "nested too deeply")


def test_predict_does_not_read_the_trace(run: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (run / "trace.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(RunError, match=r"trace\.json: not an rnntrace file"):
        load_run(run)
    assert load_run(run, with_trace=False).trace is None
    assert main(["predict", str(run), str(tmp_path / "new.npz")]) == 0
    assert capsys.readouterr().out.count("\n") == 3  # a header and two rows


def test_a_trace_value_of_the_wrong_type_is_named(run: Path) -> None:
    trace = json.loads((run / "trace.json").read_text())
    trace["training"][0]["val_loss"] = [1]
    (run / "trace.json").write_text(json.dumps(trace))
    with pytest.raises(RunError, match=r"training\[0\]\.val_loss is a list, not a number"):
        load_run(run)


def test_nan_weights_are_refused_by_predict(run: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.numpy import load, save

    tensors = load((run / "model.safetensors").read_bytes())
    name = sorted(tensors)[0]
    tensors[name] = tensors[name].copy()
    tensors[name].flat[0] = np.nan
    (run / "model.safetensors").write_bytes(save(tensors, metadata={"format": "rnntrace-run"}))
    assert main(["predict", str(run), str(tmp_path / "new.npz")]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and "holds NaN or inf" in lines[0], captured.err


def test_a_new_field_is_checked_by_its_annotation_alone() -> None:
    """The schema reads the dataclass: an int field refuses 8.0 without a line of its own."""
    from dataclasses import dataclass

    @dataclass
    class Extended(ModelConfig):
        proj_size_like: int = 0
        names: list[str] | None = None

    assert run_schema.build(Extended, {"proj_size_like": 3}, "model").proj_size_like == 3
    with pytest.raises(ConfigError, match=r"model\.proj_size_like is 8\.0, not an integer"):
        run_schema.build(Extended, {"proj_size_like": 8.0}, "model")
    with pytest.raises(ConfigError, match=r"model\.names\[0\] is 1, not text"):
        run_schema.build(Extended, {"names": [1]}, "model")


def test_a_saved_configuration_reads_back_equal() -> None:
    config = RunConfig()
    assert run_schema.read_run_config(json.loads(json.dumps(config.to_dict()))) == config


def test_parameter_bound_is_an_upper_bound_of_real_models() -> None:
    from rnntrace.model.classifier import SequenceClassifier

    for cell in ("rnn", "lstm", "gru"):
        for layers, bidirectional in ((1, False), (3, True)):
            config = ModelConfig(n_features=7, n_classes=4, hidden_size=6, cell=cell,
                                 num_layers=layers, bidirectional=bidirectional)
            real = sum(p.numel() for p in SequenceClassifier.from_config(config).parameters())
            bound = run_schema.parameter_bound(7, 6, layers, 2 if bidirectional else 1, 4)
            assert real <= bound <= 4 * real, (cell, real, bound)


def test_a_checkpoint_value_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    import torch

    from rnntrace.train import checkpoint

    raw = {"format": checkpoint.FORMAT, "version": checkpoint.VERSION, "epoch": "3", "model": {},
           "optimizer": {}, "scheduler": None, "rng": {}, "history": {}, "early_stop": {},
           "config": {}}
    torch.save(raw, tmp_path / "last.pt")
    with pytest.raises(RunError, match=r"last\.pt: not an rnntrace checkpoint \(epoch is \"3\""):
        checkpoint.load(tmp_path / "last.pt")
    raw["epoch"], raw["config"] = 1, {"model": {"hidden_size": 8.0}, "train": {}, "epochs": 2}
    torch.save(raw, tmp_path / "last.pt")
    with pytest.raises(RunError, match=r"model\.hidden_size is 8\.0, not an integer"):
        checkpoint.configs(checkpoint.load(tmp_path / "last.pt"))
