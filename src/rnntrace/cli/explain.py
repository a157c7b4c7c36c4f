"""`rnntrace explain`: why a saved run's model decides as it does."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rnntrace.cli.app import Json, app


@app.command()
def explain(
    run: Annotated[
        Path | None, typer.Argument(help="A run directory written by train or demo.")
    ] = None,
    sequence: Annotated[
        str | None,
        typer.Option("--sequence", help="The id of the sequence to explain (default: the "
                     "traced one, the first held-out sequence)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Sequences to explain instead of the run's held-out split."),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option("--target", help="What to attribute: a class (name or index; default the "
                     "predicted class), or a regression run's number (name or index; default "
                     "the first)."),
    ] = None,
    self_test: Annotated[
        bool,
        typer.Option("--self-test", help="Train on planted-signal data and check that the "
                     "attribution finds the planted window (uses the run's cell, else GRU)."),
    ] = False,
    json: Json = False,
) -> None:
    """Why the model predicts what it does: attribution per step and feature, the hidden units
    that separate the classes, the hardest held-out cases. A regression run: the predicted
    number's attribution in its units, its error beside the training mean, the largest errors,
    the units that follow the number. Writes explain.json and the report."""
    from rnntrace.errors import ConfigError
    from rnntrace.records.explanation import Explanation
    from rnntrace.render.explain_text import explanation_lines

    if run is None and not self_test:
        raise ConfigError("give a run directory to explain, or --self-test")
    if run is None and target is not None:
        raise ConfigError("--target picks what a run's model is explained for: give the run")
    explanation = Explanation(attribution=None, terms=[], units=None)
    if run is not None:
        from rnntrace.attribution.source import explain_run
        from rnntrace.run.directory import load_config as _load_config
        from rnntrace.run.files import REPORT, read_trace, save_explanation
        from rnntrace.run.report import write_report

        task = _load_config(run).model.task_spec
        if task.per_step:
            raise ConfigError(f"{run} predicts {task.title}: its attribution (an output-step × "
                              "input-step matrix of the traced sequence) is in its trace, "
                              "shown by rnntrace report RUN; explain reads classifiers and "
                              "regression runs")
        if _load_config(run).data.vocabulary:
            raise ConfigError(f"{run} is a text run: its attribution is per token, in the "
                              "report's letters section (rnntrace report RUN); explain reads "
                              "numeric steps and features")
        given = None
        if data is not None:
            from rnntrace.data.readers import read
            from rnntrace.run.directory import load_config

            given = read(data, **load_config(run).data.read_options, min_classes=1)
        explanation = explain_run(run, sequence=sequence, data=given, target=target)
    if self_test:
        from rnntrace.attribution.planted import planted_self_test

        cell, bidirectional = "gru", False
        if run is not None:
            from rnntrace.run.directory import load_config

            model = load_config(run).model
            cell, bidirectional = model.cell, model.bidirectional
        explanation.planted = planted_self_test(cell, bidirectional=bidirectional)
    if run is not None:
        save_explanation(run, explanation)
        write_report(read_trace(run), run / REPORT, explanation=explanation)
    if json:
        sys.stdout.write(explanation.to_json() + "\n")
    else:
        print("\n".join(explanation_lines(explanation)))
        if run is not None:
            print(f"\nExplanation written to {run / 'explain.json'}; the report shows it: "
                  f"{run / REPORT}")
    if explanation.planted is not None and not explanation.planted.passed:
        raise typer.Exit(1)
