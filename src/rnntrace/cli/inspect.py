"""`rnntrace shapes` and `rnntrace trace`: one layer's shapes explained, and a user's own model
traced."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rnntrace.cli.app import Seed, app


@app.command()
def shapes(
    input: Annotated[
        str, typer.Option("--input", help="Input shape, e.g. 4,7,5 (or 7,5 for one sequence).")
    ],
    hidden: Annotated[int, typer.Option("--hidden", help="hidden_size of the layer.")],
    cell: Annotated[str, typer.Option(help="rnn | lstm | gru.")] = "rnn",
    layers: Annotated[int, typer.Option(help="num_layers (stacked).")] = 1,
    bidirectional: Annotated[bool, typer.Option("--bidirectional", help="Two directions.")] = False,
    # rnntrace's models and data are (batch, steps, features); nn.RNN's own default is False.
    batch_first: Annotated[
        bool,
        typer.Option(
            "--batch-first/--no-batch-first",
            help="Read the input as (batch, steps, features); --no-batch-first: (steps, batch, "
            "features), nn.RNN's own default.",
        ),
    ] = True,
    input_size: Annotated[
        int | None,
        typer.Option(
            "--input-size", help="input_size of the layer (default: the input's last dimension)."
        ),
    ] = None,
    nonlinearity: Annotated[str, typer.Option(help="tanh | relu (cell rnn only).")] = "tanh",
    proj_size: Annotated[
        int, typer.Option(help="LSTM only: h_t projected to this many values (0: none).")
    ] = 0,
    json: Annotated[bool, typer.Option("--json", help="Print the report as JSON instead.")] = False,
) -> None:
    """Run one RNN/LSTM/GRU layer on zeros and explain the shapes of output, h_n (and c_n)."""
    import dataclasses
    import json as json_lib

    from rich.console import Console

    from rnntrace.errors import ConfigError
    from rnntrace.render.dataflow_text import shape_report_view
    from rnntrace.tracing.shapes import layer_shapes

    try:
        dims = [int(part) for part in input.split(",")]
    except ValueError:
        raise ConfigError(
            f"--input must be sizes separated by commas, e.g. 4,7,5, got {input!r}"
        ) from None
    report = layer_shapes(
        dims,
        hidden,
        cell,
        num_layers=layers,
        bidirectional=bidirectional,
        batch_first=batch_first,
        input_size=input_size,
        nonlinearity=nonlinearity,
        proj_size=proj_size,
    )
    if json:
        sys.stdout.write(json_lib.dumps(dataclasses.asdict(report), indent=2) + "\n")
    else:
        Console().print(shape_report_view(report))


@app.command("trace")
def trace_model(
    target: Annotated[
        str, typer.Argument(metavar="FILE.py[:NAME]",
                            help="A class with no required arguments, or a function that "
                            "returns the model, in your own Python file (default: its model() "
                            "or its one nn.Module class).")
    ],
    input: Annotated[
        str | None,
        typer.Option("--input", help="Shape of a seeded random input, e.g. 4,7,5 (token ids "
                     "when the model starts with an nn.Embedding)."),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="The model's inputs instead: .npy, .npz (arrays named as "
                     "the forward's arguments, or in order) or .pt (a tensor, a tuple, or a dict "
                     "of named tensors). Without --input or --data: the file's example_inputs()."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="The report page to write (default: NAME.html).")
    ] = None,
    head: Annotated[
        str, typer.Option("--head", help="What the output is: auto (read from it), classes, or "
                          "values (a regression: no class probabilities).")
    ] = "auto",
    mode: Annotated[
        str, typer.Option("--mode", help="eval (dropout off), or train: traced as it trains.")
    ] = "eval",
    seed: Seed = 0,
) -> None:
    """Trace your own model: every module call, each recurrent layer recomputed, findings.

    This imports FILE.py, which runs the code in it: only trace files you trust (your own).
    """
    from rich.console import Console

    from rnntrace.render.notebook import trace_renderables
    from rnntrace.run.report import report
    from rnntrace.tracing.generic import trace
    from rnntrace.tracing.inputs import model_and_inputs, seed_everything

    seed_everything(seed)  # a forward that draws (teacher forcing, initial states) repeats too
    model, inputs, kwargs = model_and_inputs(target, input, data, seed)
    result = trace(model, *inputs, head=head, mode=mode, **kwargs)
    console = Console(highlight=False)
    for part in trace_renderables(result):
        console.print(part)
    name = Path(target).stem if target.endswith(".py") else target.rpartition(":")[2]
    page = report(result, out if out is not None else Path(f"{name}.html"))
    console.print(f"report: {page}")
