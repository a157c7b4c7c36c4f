"""`rnntrace predict` and `rnntrace report`: what a saved run says about new data, and its page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rnntrace.cli.app import app

# Names --out may not take without --format: predict writes text (csv or jsonl), not these.
_DATA_SUFFIXES = (".parquet", ".pq", ".npz", ".npy", ".ts", ".xlsx", ".xls", ".feather",
                  ".arrow", ".h5", ".pkl")


@app.command()
def predict(
    run: Annotated[Path, typer.Argument(help="A run directory written by train or demo.")],
    data: Annotated[
        list[str],
        typer.Argument(help="Sequences to classify, in a format read by train; with --text, "
                       "the texts themselves."),
    ],
    out: Annotated[Path | None, typer.Option(help="Write here instead of to stdout.")] = None,
    format: Annotated[
        str | None,
        typer.Option("--format", help="csv or jsonl (default: from --out's suffix, else csv)."),
    ] = None,
    id: Annotated[str | None, typer.Option("--id", help="Id column (default: the run's).")] = None,
    time: Annotated[
        str | None, typer.Option("--time", help="Time column (default: the run's).")
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Label column, if any (default: the run's).")
    ] = None,
    nan: Annotated[
        str | None, typer.Option(help="error, drop or fill NaN/inf (default: the run's).")
    ] = None,
    text: Annotated[
        bool, typer.Option("--text", help="A text run: classify the texts given, e.g. Dubois.")
    ] = False,
    top: Annotated[int, typer.Option(min=1, help="With --text: the classes shown per text.")] = 3,
) -> None:
    """Predict new sequences with a trained run: a row each with every class's probability,
    or the predicted numbers (regression), or a row per step (per-step labels).

    The data is read as the run's training data was, and its features are picked by name.
    """
    from rnntrace.cli.app import label_option
    from rnntrace.errors import ConfigError
    from rnntrace.experiment.inference import Predictions
    from rnntrace.experiment.inference_text import top_classes
    from rnntrace.experiment.predict import predict as predict_run
    from rnntrace.run.files import atomic_write_text

    table = text and out is None and format is None  # texts typed in: a readable table
    if format is None and out is not None and out.suffix.lower() in _DATA_SUFFIXES:
        # CSV text under a .parquet name is a file no Parquet reader opens
        raise ConfigError(f"--out {out.name}: predict writes csv or jsonl, not "
                          f"{out.suffix.lower()[1:]}; name a .csv or .jsonl file")
    if format is None:
        format = "jsonl" if out is not None and out.suffix in (".jsonl", ".json") else "csv"
    if format not in ("csv", "jsonl"):
        raise ConfigError(f"unknown format {format!r}: choose csv or jsonl")
    predictions = predict_run(run, data, id=id, time=time,
                              label=None if label is None else label_option(label), nan=nan,
                              text=text)
    if table:
        assert isinstance(predictions, Predictions)  # texts are classified
        sys.stdout.write(top_classes(predictions, top))
        return
    rendered = predictions.to_csv() if format == "csv" else predictions.to_jsonl()
    if out is None:
        sys.stdout.write(rendered)
    else:
        atomic_write_text(out, rendered)


@app.command()
def report(
    run: Annotated[Path, typer.Argument(help="A run directory, or a trace.json file.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="HTML file to write (default: report.html beside the trace)."),
    ] = None,
    open_: Annotated[
        bool, typer.Option("--open", help="Open the page in the default web browser.")
    ] = False,
) -> None:
    """Write the run's report: one self-contained HTML page that works offline."""
    from rnntrace.run.files import REPORT, load_explanation, read_trace
    from rnntrace.run.report import write_report

    trace = read_trace(run)
    target = out if out is not None else (run if run.is_dir() else run.parent) / REPORT
    # The explanation `rnntrace explain` (or the run itself) kept beside the trace, if any.
    explanation = load_explanation(run if run.is_dir() else run.parent)
    write_report(trace, target, explanation=explanation)
    print(f"Report written to {target}")
    if open_:
        import webbrowser

        uri = target.resolve().as_uri()
        if not webbrowser.open(uri):  # a headless machine has none: say where the page is
            print(f"No web browser found here: open {uri} in one.")
