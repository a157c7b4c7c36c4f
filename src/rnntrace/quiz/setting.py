"""The configuration a question is about: a model config plus the batch and sequence length fed."""

from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Any

from rnntrace.config.settings import CELLS, ModelConfig, RunConfig
from rnntrace.errors import ConfigError
from rnntrace.model.frontends import CONV_CHANNELS

LESSON_BATCH = 1000
LESSON_STEPS = 10


@dataclass(frozen=True)
class Setting:
    """A recurrent layer's configuration and the (B, T) of the batch it reads."""

    model: ModelConfig
    batch: int
    steps: int

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The input tensor's shape in the layer's own layout: (B, T, F) or (T, B, F)."""
        m = self.model
        if m.batch_first:
            return (self.batch, self.steps, m.n_features)
        return (self.steps, self.batch, m.n_features)

    @property
    def cls(self) -> str:
        return self.model.spec.class_name

    @property
    def state_letter(self) -> str:
        """What h is as wide as, in the shape legend: H, or P when the LSTM projects."""
        return "P" if self.model.proj_size else "H"

    def layer_code(self) -> str:
        """The constructor call that builds this layer, as a user would write it."""
        m = self.model
        args = [f"input_size={m.n_features}", f"hidden_size={m.hidden_size}"]
        if m.num_layers != 1:
            args.append(f"num_layers={m.num_layers}")
        if m.batch_first:
            args.append("batch_first=True")
        if m.bidirectional:
            args.append("bidirectional=True")
        if m.proj_size:
            args.append(f"proj_size={m.proj_size}")
        return f"{self.cls}({', '.join(args)})"

    def with_model(self, **changes: Any) -> Setting:
        return dataclasses.replace(self, model=dataclasses.replace(self.model, **changes))

    def to_dict(self) -> dict[str, Any]:
        m = self.model
        projection = {"proj_size": m.proj_size} if m.proj_size else {}
        return projection | {
            "cell": m.cell,
            "input_size": m.n_features,
            "hidden_size": m.hidden_size,
            "num_layers": m.num_layers,
            "bidirectional": m.bidirectional,
            "batch_first": m.batch_first,
            "batch": self.batch,
            "steps": self.steps,
            "input_shape": list(self.input_shape),
        }


def lesson_setting() -> Setting:
    """The lesson: nn.RNN(5, 8, batch_first=True) reading a (1000, 10, 5) batch."""
    return Setting(ModelConfig(), LESSON_BATCH, LESSON_STEPS)


def setting_for(config: ModelConfig, input_shape: tuple[int, ...] | None = None) -> Setting:
    """The setting for a user's config; `input_shape` is in the config's own layout."""
    if input_shape is None:
        return Setting(config, LESSON_BATCH, LESSON_STEPS)
    shape = tuple(int(d) for d in input_shape)
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"input shape must be three positive sizes, got {shape}")
    if shape[2] != config.n_features:
        raise ConfigError(
            f"input shape {shape} has {shape[2]} features but the model reads "
            f"n_features={config.n_features}"
        )
    batch, steps = (shape[0], shape[1]) if config.batch_first else (shape[1], shape[0])
    return Setting(config, batch, steps)


def layer_setting(config: ModelConfig, input_shape: tuple[int, int, int] | None = None
                  ) -> Setting:
    """The recurrent layer alone, fed what it reads in this model (after any front end)."""
    width, shown = _layer_input(config, input_shape)
    layer_only = dataclasses.replace(config, task="classify", smoothing=0.0,
                                     n_classes=max(2, config.n_classes), front_end="none",
                                     window=1, resample=0, n_features=width)
    return setting_for(layer_only, shown)


def _layer_input(config: ModelConfig, input_shape: tuple[int, int, int] | None
                 ) -> tuple[int, tuple[int, int, int] | None]:
    """What the recurrent layer reads per step, and the shape it reads, in the model's layout."""
    front = config.front_end_in_use
    if front == "none":
        return config.input_size, input_shape
    k = config.window
    width = CONV_CHANNELS if front == "conv" else k * config.input_size
    if input_shape is None:
        return width, None
    b, t = ((input_shape[0], input_shape[1]) if config.batch_first
            else (input_shape[1], input_shape[0]))
    steps = -(-t // k)
    return width, ((b, steps, width) if config.batch_first else (steps, b, width))


def random_setting(rng: random.Random) -> Setting:
    """A small random configuration, so a learner can practise on many models."""
    cell = rng.choice(CELLS)
    model = ModelConfig(
        n_features=rng.randint(2, 12),
        hidden_size=rng.randint(2, 16),
        cell=cell,
        num_layers=rng.choice((1, 1, 2, 3)),
        bidirectional=rng.random() < 0.4,
        batch_first=rng.random() < 0.6,
    )
    return Setting(model, rng.randint(2, 64), rng.randint(2, 30))


def setting_from_run(run: RunConfig) -> Setting:
    """A run's model, fed one training batch at the data's longest length."""
    steps = run.data.max_length or LESSON_STEPS
    return Setting(run.model, run.train.batch_size, steps)
