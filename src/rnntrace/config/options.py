"""The settings a user can give by name, and the field of ModelConfig or TrainConfig each sets.

One table for the command line and the Python API (`rt.train_from_files(cell="gru")` is
`rnntrace train --cell gru`): which settings the no-flag choice may fill in, which a resumed run
takes from its checkpoint, and how a given value reaches its configuration field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rnntrace.errors import ConfigError


@dataclass(frozen=True)
class Setting:
    section: str  # "model" or "train"
    field: str  # the ModelConfig / TrainConfig field it sets
    choosable: bool = True  # the no-flag choice fills it in when the user leaves it open


# Option name (the CLI's, with _ for -) → the field it sets. Every setting here is one a resumed
# run takes from its checkpoint, so that it ends as the uninterrupted run would.
SETTINGS: dict[str, Setting] = {
    "cell": Setting("model", "cell"),
    "nonlinearity": Setting("model", "nonlinearity"),
    "hidden": Setting("model", "hidden_size"),
    "layers": Setting("model", "num_layers"),
    "bidirectional": Setting("model", "bidirectional"),
    "dropout": Setting("model", "dropout"),
    "proj_size": Setting("model", "proj_size"),
    "summary": Setting("model", "summary"),
    "front_end": Setting("model", "front_end"),
    "window": Setting("model", "window"),
    "resample": Setting("model", "resample"),
    "smoothing": Setting("model", "smoothing"),
    "embedding_dim": Setting("model", "embedding_dim", choosable=False),
    "embedding_dropout": Setting("model", "embedding_dropout", choosable=False),
    "epochs": Setting("train", "epochs"),
    "batch_size": Setting("train", "batch_size"),
    "lr": Setting("train", "lr"),
    "lr_schedule": Setting("train", "lr_schedule"),
    "val_fraction": Setting("train", "val_fraction", choosable=False),
    "seed": Setting("train", "seed", choosable=False),
    "threads": Setting("train", "threads", choosable=False),
    "device": Setting("train", "device", choosable=False),
    "clip": Setting("train", "clip_grad_norm", choosable=False),
    "patience": Setting("train", "patience", choosable=False),
}


def check_names(given: dict[str, Any]) -> None:
    """Every name in `given` must be a setting; an unknown one is a ConfigError naming it."""
    unknown = sorted(set(given) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; the settings are "
                          f"{', '.join(SETTINGS)}")


def fields(given: dict[str, Any], section: str) -> dict[str, Any]:
    """The `section` ("model" or "train") fields that the settings in `given` set."""
    out = {}
    for name, value in given.items():
        setting = SETTINGS[name]
        if setting.section == section:
            # --clip 0 turns clipping off: no clipping is None in TrainConfig.
            out[setting.field] = None if name == "clip" and not value else value
    return out


def choosable_fields(given: dict[str, Any]) -> dict[str, Any]:
    """The given settings that the no-flag choice must keep, by field name, in table order."""
    return {s.field: given[name] for name, s in SETTINGS.items()
            if name in given and s.choosable}


def refuse_beside_resume(given: list[str]) -> None:
    """A resumed run continues with the settings it started with: refuse any given again."""
    if given:
        raise ConfigError(f"--resume continues with the settings the run started with; drop "
                          f"{', '.join('--' + n.replace('_', '-') for n in given)}")
