"""`rt.compare(runs)`: trained runs on the same held-out sequences, in views that mean the same
for every model.

    runs ─► load_run ─► the data they share (refused when it is not the same) ─► the sequences
    held out from every run ─► each model: accuracy and loss, the class probabilities after
    every step, attribution per step, ∂loss/∂h_t per step, its representations ─► CKA between
    every pair ─► the sequences they disagree on, with each model's step-through ─► Comparison

Which sequences: each run's held-out set is rebuilt as its explanation's is
(attribution.source.held_out_of) and only sequences held out from every run are used, so no
model is scored on sequences it trained on; `data` replaces them.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnntrace.config.cells import cell_spec
from rnntrace.data.sequences import SequenceSet
from rnntrace.errors import ConfigError, RunError
from rnntrace.experiment.assemble import model_inputs
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.model.modes import eval_mode
from rnntrace.records.comparison import (
    Comparison,
    Disagreement,
    GroupResult,
    ModelResult,
    StepThrough,
)
from rnntrace.run.directory import Run, load_run
from rnntrace.run.files import atomic_write_text
from rnntrace.tracing.cka import cka_matrix
from rnntrace.tracing.dynamics import hidden_dynamics

__all__ = ["compare", "write_compare_page"]

MAX_SEQUENCES = 512  # common held-out sequences compared on
MAX_STEP_POINTS = 100  # steps of the per-step views, spread evenly over a long sequence
ATTRIBUTED = 32  # sequences the attribution view is averaged over (Integrated Gradients)
IG_STEPS = 32  # its integration points (the first count `explain` tries)
DYNAMICS = 256  # sequences ∂loss/∂h_t is measured over
SHOWN_UNITS = 32  # hidden units in a step-through's heatmap
_SAME_DATA = ("source", "n_features", "feature_names", "max_length")


def compare(
    runs: Sequence[Path | str | Run], data: SequenceSet | None = None, *, disagreements: int = 12
) -> Comparison:
    """Compare trained runs (directories, or Runs) on the same held-out sequences (or `data`).

    Refuses (ConfigError) runs that cannot be compared: fewer than two, other classes, other
    data. `disagreements`: how many of the sequences the models disagree on get step-throughs.
    """
    if len(runs) < 2:
        raise ConfigError(f"compare needs at least two runs, got {len(runs)}")
    loaded = [r if isinstance(r, Run) else load_run(Path(r)) for r in runs]
    names = _names(loaded)
    _check_comparable(loaded, names)
    if data is not None:
        shared, how = _given(loaded[0], data), f"the {len(data)} sequences given"
    else:
        shared, how = _held_out_by_all(loaded, names)
    if len(shared) > MAX_SEQUENCES:
        shared = shared.subset(list(range(MAX_SEQUENCES)))
        how += f" (the first {MAX_SEQUENCES})"
    steps = _step_points(int(shared.lengths.max()))
    results: list[ModelResult] = []
    per_step: list[np.ndarray] = []
    summaries, states = [], []
    hidden: list[list[np.ndarray]] = []
    for run, name in zip(loaded, names, strict=True):
        model = run.model.cpu()
        with eval_mode(model):
            probs = step_probabilities(model, shared, steps)  # (N, S, C)
            result = _model_result(run, name, model, shared, steps, probs)
            summary, own_states = representations(model, shared)
        results.append(result)
        per_step.append(probs)
        summaries.append(summary)
        states.append(np.concatenate(own_states))
        hidden.append(own_states)
    _group(results, loaded)
    predictions = np.array([r.predictions for r in results])  # (M, N)
    differ = np.flatnonzero((predictions != predictions[0]).any(axis=0))
    # Most disagreeing first: the widest spread of the true class's final probability.
    truth = shared.labels
    final = np.stack([p[np.arange(len(shared)), _last_point(shared, steps), truth]
                      for p in per_step])  # (M, N)
    order = differ[np.argsort(-(final[:, differ].max(0) - final[:, differ].min(0)),
                              kind="stable")]
    return Comparison(
        source=loaded[0].config.data.source,
        class_names=list(loaded[0].config.data.class_names),
        sequences=len(shared),
        held_out=how,
        steps=[s + 1 for s in steps],
        models=results,
        groups=_groups(results),
        similarity_summary=cka_matrix(summaries),
        similarity_states=cka_matrix(states),
        disagreements=[_disagreement(shared, int(i), steps, results, per_step, hidden)
                       for i in order[:disagreements]],
        disagreeing=len(differ),
        attribution_sequences=min(ATTRIBUTED, len(shared)),
    )


def _names(runs: list[Run]) -> list[str]:
    names = [r.path.name or str(r.path) for r in runs]
    if len(set(names)) < len(names):  # same directory names under different parents
        names = [str(r.path) for r in runs]
    return names


def _check_comparable(runs: list[Run], names: list[str]) -> None:
    """One line saying why, for runs trained on other data or other classes."""
    for run, name in zip(runs, names, strict=True):
        if run.config.model.task != "classify":
            raise ConfigError(f"cannot compare: {name} is a {run.config.model.task} run; compare "
                              "reads classifiers (class probabilities after each step)")
    first = runs[0].config.data
    for run, name in zip(runs[1:], names[1:], strict=True):
        other = run.config.data
        if other.class_names != first.class_names:
            raise ConfigError(f"cannot compare: {names[0]} has classes {first.class_names}, "
                              f"{name} has {other.class_names}")
        for key in _SAME_DATA:
            if getattr(other, key) != getattr(first, key):
                raise ConfigError(f"cannot compare: {names[0]} and {name} were trained on "
                                  f"different data ({key}: {getattr(first, key)!r} vs "
                                  f"{getattr(other, key)!r})")
        if other.vocabulary != first.vocabulary:
            raise ConfigError(f"cannot compare: {names[0]} and {name} read text with different "
                              "vocabularies")


def _given(run: Run, data: SequenceSet) -> SequenceSet:
    config = run.config.data
    if list(data.class_names) != list(config.class_names):
        raise ConfigError(f"cannot compare on {data.source}: its classes {data.class_names} are "
                          f"not the runs' {config.class_names}")
    if data.n_features != config.n_features:
        raise ConfigError(f"cannot compare on {data.source}: {data.n_features} features, the "
                          f"runs read {config.n_features}")
    return data


def _held_out_by_all(runs: list[Run], names: list[str]) -> tuple[SequenceSet, str]:
    """The sequences held out from every run, in the first run's order."""
    from rnntrace.attribution.source import held_out_of

    sets = [held_out_of(run.config) for run in runs]
    first = sets[0]
    positions = [{sid: i for i, sid in enumerate(other.ids)} for other in sets[1:]]
    keep = []
    for index, sequence_id in enumerate(first.ids):
        values = first.sequence(index)
        everywhere = True
        for other, where, name in zip(sets[1:], positions, names[1:], strict=True):
            position = where.get(sequence_id)
            if position is None:
                everywhere = False
                break
            if not np.array_equal(other.sequence(position), values):
                raise ConfigError(f"cannot compare: {names[0]} and {name} were trained on "
                                  f"different data (sequence {sequence_id!r} differs)")
        if everywhere:
            keep.append(index)
    if not keep:
        raise ConfigError("cannot compare: no sequence was held out from every run (their "
                          "splits differ); give the sequences to compare on with --data")
    shared = first.subset(keep)
    if len(keep) == len(first):
        return shared, f"the {len(keep)} held-out sequences of every run"
    return shared, f"the {len(keep)} sequences held out from every run"


def _step_points(longest: int) -> list[int]:
    """0-based steps of the per-step views: all of them, or MAX_STEP_POINTS spread evenly."""
    if longest <= MAX_STEP_POINTS:
        return list(range(longest))
    kept = np.unique(np.linspace(0, longest - 1, MAX_STEP_POINTS).round().astype(int))
    return [int(s) for s in kept]


def _last_point(data: SequenceSet, steps: list[int]) -> np.ndarray:
    """For each sequence, the index in `steps` of its last real step (or the last before)."""
    points = np.array(steps)
    return np.array([int(np.searchsorted(points, length - 1, side="right")) - 1
                     for length in data.lengths])


@torch.no_grad()
def step_probabilities(
    model: SequenceClassifier, data: SequenceSet, steps: list[int]
) -> np.ndarray:
    """(N, S, C): each class's probability had each sequence ended after each step in `steps`
    (0-based); NaN past a sequence's end.

    A unidirectional model that classifies from its last state reads the head applied to each
    h_t (one pass); any other (a bidirectional layer, a pooled summary, a front end) is run on
    each prefix, which is what the head applied to h_t means for it.
    """
    x, _ = model_inputs(model, data)
    n = len(data)
    real = torch.from_numpy(data.lengths)
    cfg = model.config
    out = torch.full((n, len(steps), cfg.n_classes), float("nan"))
    if cfg.summary == "last" and not cfg.bidirectional and model.front is None:
        output, _ = model.rnn(model.inputs(x))  # padding after a step never changes it
        if not cfg.batch_first:
            output = output.transpose(0, 1)  # (B, T, D·H)
        probs = torch.softmax(model.head(output[:, steps]), dim=-1)  # (B, S, C)
        out = probs.cpu()
    else:
        for column, step in enumerate(steps):
            prefix = torch.clamp(real, max=step + 1)
            out[:, column] = torch.softmax(model(x, prefix.to(x.device)), dim=-1).cpu()
    past = torch.tensor(steps).view(1, -1) >= real.view(-1, 1)  # (N, S)
    out[past] = float("nan")
    return out.numpy()


@torch.no_grad()
def representations(
    model: SequenceClassifier, data: SequenceSet
) -> tuple[np.ndarray, list[np.ndarray]]:
    """What the head reads for each sequence (N, D·H), and each sequence's top-layer h_t at its
    real steps (list of (T_i, D·H)); packed, so a backward direction starts at each end."""
    x, lengths = model_inputs(model, data)
    z, rnn_lengths = model.front_input(model.inputs(x), lengths)
    batch_first = model.config.batch_first
    steps = z.shape[1] if batch_first else z.shape[0]
    if rnn_lengths is None:
        rnn_lengths = torch.full((len(data),), steps, dtype=torch.long)
    packed = pack_padded_sequence(z, rnn_lengths.cpu(), batch_first=batch_first,
                                  enforce_sorted=False)
    output, _ = pad_packed_sequence(model.rnn(packed)[0], batch_first=True, total_length=steps)
    summary = model.encode(x, lengths).cpu().numpy()
    states = [output[i, : int(rnn_lengths[i])].cpu().numpy() for i in range(len(data))]
    return summary, states


def _model_result(
    run: Run, name: str, model: SequenceClassifier, data: SequenceSet, steps: list[int],
    probs: np.ndarray,
) -> ModelResult:
    x, lengths = model_inputs(model, data)
    y = torch.from_numpy(data.labels).long()
    logits = model(x, lengths)  # (N, C)
    loss = float(torch.nn.functional.cross_entropy(logits, y).detach())
    predictions = logits.argmax(1).numpy()
    truth = data.labels
    true_prob = probs[np.arange(len(data)), :, truth]  # (N, S)
    decided = probs.argmax(2) == predictions[:, None]  # (N, S)
    reached = ~np.isnan(true_prob)
    cfg, trace = run.config, run.trace
    records = trace.training if trace is not None else []
    val = [(r.val_loss, r.epoch) for r in records if r.val_loss is not None
           and math.isfinite(r.val_loss)]
    seconds = trace.meta.get("train_seconds") if trace is not None else None
    m = cfg.model
    spec = cell_spec(m.cell)
    # Text: the inputs are token ids, which have no gradient; their attribution is per token
    # in the run's own trace.
    attribution, attribution_error = (_attribution(model, data, steps) if not m.vocab_size
                                      else ([], 0.0))
    return ModelResult(
        name=name,
        path=str(run.path),
        cell=spec.display,
        description=f"{spec.display}({m.hidden_size})"
        + (f" × {m.num_layers} layers" if m.num_layers > 1 else "")
        + (", bidirectional" if m.bidirectional else "")
        + (f", {m.summary} summary" if m.summary != "last" else ""),
        seed=cfg.train.seed,
        group="",
        parameters=int(model.n_parameters()),
        epochs=len(records),
        best_epoch=min(val)[1] if val else None,
        epoch_seconds=round(statistics.fmean(seconds), 4) if seconds else None,
        accuracy=float((predictions == truth).mean()),
        loss=loss,
        true_class_probability=_column_means(true_prob, reached),
        decided=_column_means(decided.astype(float), reached),
        attribution=attribution,
        attribution_error=attribution_error,
        gradient=[round(v, 8) for v in hidden_dynamics(
            model, *_first(model, data, DYNAMICS)).grad_norm[0]],
        predictions=[int(p) for p in predictions],
    )


def _column_means(values: np.ndarray, reached: np.ndarray) -> list[float]:
    """The mean of each column over the rows that reach it."""
    counts = reached.sum(axis=0)
    sums = np.where(reached, values, 0.0).sum(axis=0)
    return [round(float(s / c), 6) if c else float("nan") for s, c in zip(sums, counts,
                                                                          strict=True)]


def _first(
    model: SequenceClassifier, data: SequenceSet, count: int
) -> tuple[Tensor, Tensor, Tensor | None]:
    head = data.subset(list(range(min(count, len(data)))))
    x, lengths = model_inputs(model, head)
    return x, torch.from_numpy(head.labels).long(), lengths


def _attribution(
    model: SequenceClassifier, data: SequenceSet, steps: list[int]
) -> tuple[list[float], float]:
    """Mean share of each step in |Integrated Gradients| of the true class, over the first
    ATTRIBUTED sequences (each sequence's shares sum to 1 over its real steps), and the
    largest completeness error among them.

    One fixed rule (IG_STEPS Gauss–Legendre points) for every model, its completeness error
    reported rather than refined sequence by sequence as `explain` does: a comparison needs
    the same measure for all, at a cost that stays small.
    """
    from rnntrace.attribution.integrated import attribute

    x, y, lengths = _first(model, data, ATTRIBUTED)
    found = attribute(model, x, lengths, target=y, steps=(IG_STEPS,), tolerance=math.inf)
    per_step = found.values.abs().sum(dim=2).double()  # (B, T)
    shares = per_step / per_step.sum(dim=1, keepdim=True).clamp(min=1e-12)
    real = np.arange(shares.shape[1])[None, :] < data.lengths[: len(shares)][:, None]
    error = max(c.error for c in found.completeness)
    return _column_means(shares.numpy()[:, steps], real[:, steps]), round(error, 6)


def _settings_but_seed(run: Run) -> str:
    train = dataclasses.asdict(run.config.train)
    train.pop("seed")
    return json.dumps([dataclasses.asdict(run.config.model), train], sort_keys=True)


def _group(results: list[ModelResult], runs: list[Run]) -> None:
    """Name the group of each result: runs whose settings differ only by the seed share one."""
    keys = [_settings_but_seed(run) for run in runs]
    for result, key in zip(results, keys, strict=True):
        members = [r for r, k in zip(results, keys, strict=True) if k == key]
        seeds = sorted({r.seed for r in members})
        if len(members) > 1 and len(seeds) == len(members):
            result.group = f"{members[0].description}, seeds {', '.join(map(str, seeds))}"


def _groups(results: list[ModelResult]) -> list[GroupResult]:
    out = []
    for name in dict.fromkeys(r.group for r in results if r.group):
        members = [r for r in results if r.group == name]
        seconds = [r.epoch_seconds for r in members if r.epoch_seconds is not None]
        best = [r.best_epoch for r in members if r.best_epoch is not None]
        out.append(GroupResult(
            name=name,
            runs=[r.name for r in members],
            accuracy_mean=statistics.fmean(r.accuracy for r in members),
            accuracy_std=statistics.stdev(r.accuracy for r in members),
            loss_mean=statistics.fmean(r.loss for r in members),
            loss_std=statistics.stdev(r.loss for r in members),
            parameters=members[0].parameters,
            epoch_seconds_mean=statistics.fmean(seconds) if seconds else None,
            best_epoch_mean=statistics.fmean(best) if best else None,
        ))
    return out


def _disagreement(
    data: SequenceSet, index: int, steps: list[int], results: list[ModelResult],
    per_step: list[np.ndarray], hidden: list[list[np.ndarray]],
) -> Disagreement:
    length = int(data.lengths[index])
    shown = [i for i, s in enumerate(steps) if s < length]
    return Disagreement(
        sequence_id=str(data.ids[index]),
        true_class=int(data.labels[index]),
        length=length,
        steps=[steps[i] + 1 for i in shown],
        models=[
            StepThrough(
                model=result.name,
                predicted=result.predictions[index],
                probabilities=np.round(probs[index, shown], 4).tolist(),
                hidden=np.round(states[index][:, :SHOWN_UNITS], 4).tolist(),
            )
            for result, probs, states in zip(results, per_step, hidden, strict=True)
        ],
    )


def write_compare_page(comparison: Comparison, path: Path) -> Path:
    """The comparison's page (render.compare_html), written atomically to `path`; return it."""
    from rnntrace.render.compare_html import render_compare_page

    atomic_write_text(path, render_compare_page(comparison))
    return path


def check_runs(paths: Sequence[Path]) -> None:
    """Each path is a run directory (a one-line RunError otherwise), before any work."""
    for path in paths:
        if not path.is_dir():
            raise RunError(f"{path}: no such run directory")
