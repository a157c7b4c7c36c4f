"""The Trace: everything about one run, a plain JSON-ready value; `docs/trace.md` is its schema.

Everything rnntrace learns about a run ends up here; the terminal, JSON and HTML views are
functions of a Trace. Its parts live beside it in this package.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from rnntrace._deprecated import warn_renamed
from rnntrace.config.settings import RunConfig, drop_later_data, drop_later_defaults
from rnntrace.records.decoding import DecoderTrace
from rnntrace.records.heads import HeadReport
from rnntrace.records.layers import (
    Dynamics,
    ModuleCalls,
    Recomputation,
    RecurrentLayer,
    Stage,
    StepRecord,
)
from rnntrace.records.prediction import PredictionTrace, TokenTrace
from rnntrace.records.quiz import Question
from rnntrace.records.serial import from_dict
from rnntrace.records.training import FIXED_BY_FLAGS, Averaging, Choice, EpochRecord, TestReport

# 2: data_flow → stages, modules → module_calls, prediction.true → true_class, and `config` is
# the run's settings alone (threads and device moved to `meta`). Version 1 files still load.
SCHEMA_VERSION = 2


@dataclass
class Trace:
    """Everything about one run: configuration, stages, training, a prediction, an insight."""

    # The run's settings; None for a user's own model traced with rt.trace (module_calls and
    # layers describe it). Runtime facts (threads, device, times) are in meta.
    config: RunConfig | None
    stages: list[Stage]  # the classifier's pipeline, stage by stage
    training: list[EpochRecord]
    prediction: PredictionTrace | None
    insight: str
    test: TestReport | None = None  # only when a test file was scored
    # Every submodule call of the model on the traced batch (hooks), in call order.
    module_calls: ModuleCalls | None = None
    # The traced sequence through the first layer, one record per step, equations with numbers.
    steps: list[StepRecord] = field(default_factory=list)
    # The whole layer recomputed by hand for the traced sequence and compared with PyTorch.
    recomputation: Recomputation | None = None
    # Saturated units and ‖∂loss/∂h_t‖ per step over held-out sequences: vanishing gradients.
    dynamics: Dynamics | None = None
    # Questions about this run's own configuration, each key proved by running PyTorch.
    quiz: list[Question] = field(default_factory=list)
    # Every recurrent layer of the model, each call recomputed from its weights (rt.trace).
    layers: list[RecurrentLayer] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION
    # How `train` chose its settings (None when they were given, as for the lesson).
    choice: Choice | None = None
    # Run-specific facts that differ between identical runs (times, paths, versions).
    meta: dict[str, Any] = field(default_factory=dict)
    # Text runs only: the texts in tokens, coloured by a unit's activation (and attribution).
    tokens: TokenTrace | None = None
    # The epochs trained after `training` whose mean weights the model ends on, when it does.
    averaging: Averaging | None = None
    # A regression or per-step run's scores, chance lines and example (records/heads.py).
    head: HeadReport | None = None
    # rt.trace of an encoder–decoder: the decoder's steps and attention (tracing/decoding.py).
    decoder: DecoderTrace | None = None

    @property
    def data_flow(self) -> list[Stage]:
        """Deprecated: `stages`."""
        warn_renamed("Trace.data_flow", "Trace.stages")
        return self.stages

    @property
    def modules(self) -> ModuleCalls | None:
        """Deprecated: `module_calls`."""
        warn_renamed("Trace.modules", "Trace.module_calls")
        return self.module_calls

    @property
    def largest_difference(self) -> float | None:
        """The largest |hand − PyTorch| of the traced sequence, whole-layer check and steps.

        The step records also compare c_t and lower layers' h_t, which the whole-layer check
        (output, h_n, c_n) does not see; taking both, no figure shown beside it is larger.
        """
        if self.recomputation is None:
            return None
        return max([self.recomputation.max_abs_diff, *(s.max_abs_diff for s in self.steps)])

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        if raw["tokens"] is None:  # written only for text, so a numeric trace reads as before
            del raw["tokens"]
        if self.config is not None and not self.config.model.vocab_size:  # the text settings too
            for key in ("vocab_size", "embedding_dim", "embedding_dropout"):
                del raw["config"]["model"][key]
            del raw["config"]["data"]["vocabulary"]
        if raw["prediction"] is not None and not raw["prediction"]["tokens"]:
            del raw["prediction"]["tokens"]
        # Optional parts added later are left out when absent: a lesson's trace reads as before.
        if raw["config"] is not None:
            drop_later_defaults(raw["config"]["model"])
            drop_later_data(raw["config"]["data"])
        if raw["choice"] is not None:  # a classifier's choice from the CLI reads as before
            if raw["choice"]["score"] == "accuracy":
                del raw["choice"]["score"]
            if raw["choice"]["fixed_by"] == FIXED_BY_FLAGS:
                del raw["choice"]["fixed_by"]
        for later in ("choice", "averaging", "head", "decoder"):
            if raw[later] is None:
                del raw[later]
        if raw["module_calls"] is not None and not raw["module_calls"]["notes"]:
            del raw["module_calls"]["notes"]  # rt.trace's alone: a lesson's trace reads as before
        if raw["prediction"] is not None:
            for later in ("summary", "head", "step_probabilities"):
                if not raw["prediction"][later]:
                    del raw["prediction"][later]
        return raw

    # Shown through its views in rnntrace.render (a layer below), imported when first shown.
    def __str__(self) -> str:
        from rnntrace.render.notebook import trace_text

        return trace_text(self)

    def _repr_html_(self) -> str:
        from rnntrace.render.notebook import trace_html

        return trace_html(self)

    def __rich_console__(self, console: Any, options: Any) -> Any:
        from rnntrace.render.notebook import trace_renderables

        yield from trace_renderables(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=True)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Trace:
        """A Trace from its JSON form, of this schema version or of version 1."""
        return from_dict(cls, upgrade(raw))

    @classmethod
    def from_json(cls, text: str) -> Trace:
        return cls.from_dict(json.loads(text))


def upgrade(raw: dict[str, Any]) -> dict[str, Any]:
    """A version 1 trace's keys under their version 2 names (a newer dict is returned as is)."""
    if raw.get("schema_version", 1) >= 2:
        return raw
    renamed = {"data_flow": "stages", "modules": "module_calls"}
    new = {renamed.get(k, k): v for k, v in raw.items()}
    config = new.get("config")
    if isinstance(config, dict):  # threads and device were runtime facts; meta holds them
        new["config"] = {k: v for k, v in config.items() if k not in ("threads", "device")}
    prediction = new.get("prediction")
    if isinstance(prediction, dict) and "true" in prediction:
        new["prediction"] = {("true_class" if k == "true" else k): v
                             for k, v in prediction.items()}
    new["schema_version"] = SCHEMA_VERSION
    return new


