"""Settings for the data, the model and training: flat dataclasses saved with every run."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from rnntrace.config.cells import CELLS, NONLINEARITIES, CellSpec, cell_spec
from rnntrace.config.task import TASKS, TaskSpec, task_spec
from rnntrace.errors import ConfigError

__all__ = ["CELLS", "FRONT_ENDS", "NONLINEARITIES", "SUMMARIES", "TASKS", "DataConfig",
           "ModelConfig", "RunConfig", "TrainConfig"]
LR_SCHEDULES = ("none", "plateau", "cosine")
NAN_POLICIES = ("error", "drop", "fill")  # what a reader does with NaN or inf values
SUMMARIES = ("last", "mean", "max", "attention")
FRONT_ENDS = ("none", "window", "conv")
# Model settings added after the lesson's; left out of a saved config.json and trace.json at
# their defaults so a lesson run's files read exactly as before.
LATER_MODEL_DEFAULTS: dict[str, Any] = {"summary": "last", "front_end": "none", "window": 1,
                                        "resample": 0, "task": "classify", "n_targets": 1,
                                        "smoothing": 0.0}


@dataclass
class ModelConfig:
    """The classifier: recurrent layers → last hidden state → Linear. Defaults are the lesson's."""

    n_features: int = 5
    n_classes: int = 3
    hidden_size: int = 8
    cell: str = "rnn"  # rnn | lstm | gru
    nonlinearity: str = "tanh"  # only for cell="rnn": tanh | relu
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0  # between stacked layers, as nn.RNN applies it; needs num_layers > 1
    batch_first: bool = True  # input is (B, T, F); False means (T, B, F)
    proj_size: int = 0  # LSTM only: h_t projected to this many values (0: no projection)
    # Text: token ids → nn.Embedding(vocab_size, embedding_dim, padding_idx=0) → the layer.
    vocab_size: int = 0  # 0: numeric inputs, standardised instead of embedded
    embedding_dim: int = 0  # the vectors' width; 0 with a vocabulary means 32
    embedding_dropout: float = 0.0  # zeroes this share of embedding values while training
    # How the outputs become one vector (summaries.py); "last" is the lesson's last real state.
    summary: str = "last"  # last | mean | max | attention
    front_end: str = "none"  # none | window | conv (frontends.py): for long series
    window: int = 1  # steps read together as one by the front end
    # > 0: each sequence's real steps resampled to this many, evenly spaced (frontends.py).
    resample: int = 0
    # What the head predicts (task.py): classify | regress (n_targets numbers) | steps (a label
    # per step, n_classes labels).
    task: str = "classify"
    n_targets: int = 1  # regress only: numbers predicted per sequence
    # steps only: weight of the smoothing loss (MS-TCN's truncated MSE between neighbouring
    # steps' log-probabilities, model/objectives.py), against labels that flicker; 0: none.
    smoothing: float = 0.0

    def __post_init__(self) -> None:
        self.cell = self.cell.lower()
        self.task = self.task_spec.name  # "regression" and other spellings → "regress"
        if self.task_spec.numeric:
            self.n_classes = 0  # a regression head has no classes; the config says so
        self.task_spec.check(self.n_classes, self.n_targets)
        if self.smoothing and not self.task_spec.per_step:
            raise ConfigError("smoothing weighs neighbouring steps' labels: it needs --task steps")
        if not 0.0 <= self.smoothing <= 10.0:
            raise ConfigError(f"smoothing must be in [0, 10], got {self.smoothing}")
        if self.task_spec.per_step and self.resample:
            # Windows keep every step in place (each window's labels go back to its steps);
            # resampling moves the steps by a different factor in every sequence.
            raise ConfigError("a label per step needs every step where it was: resample "
                              "stretches each sequence by its own factor; leave it off with "
                              "--task steps (--window reads windows of steps and labels each "
                              "of their steps)")
        if self.summary not in SUMMARIES:
            raise ConfigError(f"unknown summary {self.summary!r}: choose one of "
                              f"{', '.join(SUMMARIES)}")
        if self.front_end not in FRONT_ENDS:
            raise ConfigError(f"unknown front end {self.front_end!r}: choose one of "
                              f"{', '.join(FRONT_ENDS)}")
        if self.window < 1:
            raise ConfigError(f"window must be at least 1 step, got {self.window}")
        if self.window > 1 and self.front_end == "none":
            self.front_end = "window"
        if self.front_end == "window" and self.window == 1 and self.task == "steps":
            self.front_end = "none"  # windows of one step are the steps themselves
        if self.resample < 0:
            raise ConfigError(f"resample must be a number of steps (0: off), got {self.resample}")
        self.nonlinearity = self.nonlinearity.lower()
        cell_spec(self.cell).validate(self.nonlinearity, self.proj_size, self.hidden_size)
        for name in ("n_features", "hidden_size", "num_layers"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.vocab_size < 0 or self.embedding_dim < 0:
            raise ConfigError("vocab_size and embedding_dim must not be negative")
        if self.vocab_size:
            if self.vocab_size < 3:
                raise ConfigError(f"vocab_size must count <pad>, <unk> and at least one token, "
                                  f"got {self.vocab_size}")
            self.embedding_dim = self.embedding_dim or 32
            if self.resample:
                raise ConfigError("resample interpolates numeric series; token ids cannot be")
        elif self.embedding_dim or self.embedding_dropout:
            raise ConfigError("embedding_dim and embedding_dropout need a vocabulary "
                              "(vocab_size > 0)")
        if not 0.0 <= self.embedding_dropout < 1.0:
            raise ConfigError(f"embedding_dropout must be in [0, 1), got {self.embedding_dropout}")

    @property
    def front_end_in_use(self) -> str:
        """The front end as it acts: windows of 1 step join nothing, so "window" with window 1
        is no front end at all (no stage, no module, no sentence)."""
        if self.front_end == "window" and self.window == 1:
            return "none"
        return self.front_end

    @property
    def task_spec(self) -> TaskSpec:
        """The task's specification: head, loss, score, metrics, chance line (task.py)."""
        return task_spec(self.task)

    @property
    def out_width(self) -> int:
        """The head's outputs per sequence (per step for a per-step task): C, or K numbers."""
        return self.task_spec.head_width(self.n_classes, self.n_targets)

    @property
    def input_size(self) -> int:
        """What the recurrent layer reads per step: the embedding's width, or the features."""
        return self.embedding_dim if self.vocab_size else self.n_features

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def spec(self) -> CellSpec:
        """The cell's specification: gates, equations, names, parameter count, torch layer."""
        return cell_spec(self.cell)

    @property
    def state_size(self) -> int:
        """The width of h_t and h_n: proj_size when the LSTM projects, else hidden_size."""
        return self.spec.state_width(self.hidden_size, self.proj_size)


@dataclass
class TrainConfig:
    """The optimisation. Defaults train the lesson to ≥ 0.85 accuracy in 5 epochs."""

    epochs: int = 5
    batch_size: int = 32
    lr: float = 0.01  # Adam; brisk enough for a small RNN to learn the lesson in 5 epochs
    weight_decay: float = 0.0
    clip_grad_norm: float | None = 1.0  # RNNs explode; None turns clipping off
    val_fraction: float = 0.2  # stratified held-out split when no validation file is given
    seed: int = 0
    threads: int | None = None  # None: chosen from the work's size (see train.choose_threads)
    device: str = "cpu"  # cpu | cuda | auto
    # Engine options; the defaults leave the lesson's training unchanged.
    patience: int | None = None  # stop after this many epochs without a better held-out loss
    lr_schedule: str = "none"  # none | plateau (halve the lr when held-out loss stalls) | cosine
    checkpoint: bool = True  # write <run>/checkpoints/last.pt after every epoch, for --resume
    bucket: bool = True  # batch sequences of similar length together (variable-length data)
    # After training: this many more epochs at a constant small lr, ending on the mean of their
    # weights (averaging.py); the no-flag defaults set it, 0 leaves the model as trained.
    average_epochs: int = 0

    def __post_init__(self) -> None:
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"patience must be at least 1 epoch, got {self.patience}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ConfigError(
                f"unknown lr schedule {self.lr_schedule!r}: choose {', '.join(LR_SCHEDULES)}"
            )
        if self.epochs < 1:
            raise ConfigError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ConfigError(f"learning rate must be positive, got {self.lr}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ConfigError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
        if self.clip_grad_norm is not None and not self.clip_grad_norm > 0:
            raise ConfigError(f"clip norm must be positive, got {self.clip_grad_norm}")
        if self.threads is not None and self.threads < 1:
            raise ConfigError(f"threads must be at least 1, got {self.threads}")
        if self.average_epochs < 0:
            raise ConfigError(f"averaged epochs cannot be negative, got {self.average_epochs}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ConfigError(f"unknown device {self.device!r}: choose cpu, cuda or auto")


@dataclass
class DataConfig:
    """Where the sequences came from, kept so a run can be understood and repeated."""

    source: str = "synthetic:lesson"
    n_sequences: int = 0
    max_length: int = 0
    n_features: int = 0
    class_names: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)
    # Standardisation statistics from the training split only, one per feature.
    feature_mean: list[float] = field(default_factory=list)
    feature_std: list[float] = field(default_factory=list)
    # How the file was read (label/id/time columns, features, NaN policy), reused by predict.
    read_options: dict[str, Any] = field(default_factory=dict)
    # Text: the training split's vocabulary (rnntrace.data.vocabulary.Vocabulary.to_dict()).
    vocabulary: dict[str, Any] = field(default_factory=dict)
    # Regression: what each predicted number is called (the label column's name).
    target_names: list[str] = field(default_factory=list)


@dataclass
class RunConfig:
    """Everything needed to rebuild and understand a run."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)

    def to_dict(self) -> dict[str, Any]:
        raw = dataclasses.asdict(self)
        drop_later_defaults(raw["model"])
        # Written only when set: a run without a projection reads and writes as it always has.
        if not self.model.proj_size:
            del raw["model"]["proj_size"]
        if not self.model.vocab_size:  # likewise the text fields, for a numeric run
            del raw["model"]["vocab_size"], raw["model"]["embedding_dim"]
            del raw["model"]["embedding_dropout"]
            del raw["data"]["vocabulary"]
        drop_later_data(raw["data"])
        return raw

def drop_later_defaults(model: dict[str, Any]) -> None:
    """Remove the settings of LATER_MODEL_DEFAULTS that hold their default from a saved model."""
    for name, default in LATER_MODEL_DEFAULTS.items():
        if model.get(name) == default:
            del model[name]


def drop_later_data(data: dict[str, Any]) -> None:
    """Leave out data settings added later while they are empty, so older files read the same."""
    if not data.get("target_names"):
        data.pop("target_names", None)


def front_end_name(model: ModelConfig) -> str:
    """resample+conv, window, …: the front end's parts as the trace names its stage."""
    parts = (["resample"] if model.resample else []) + (
        [model.front_end_in_use] if model.front_end_in_use != "none" else [])
    return "+".join(parts) or "none"
