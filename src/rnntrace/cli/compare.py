"""`rnntrace compare RUN RUN …` and `rnntrace demo --compare`: runs side by side."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from rnntrace.cli.app import app


@app.command()
def compare(
    runs: Annotated[
        list[Path], typer.Argument(help="Run directories written by train or demo (two or more).")
    ],
    out: Annotated[
        Path | None, typer.Option("--out", help="The page to write (default: compare.html here).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Compare on these sequences (read as the runs' data was) instead of "
                          "the held-out sequences every run shares."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON.")] = False,
) -> None:
    """Put trained runs side by side on the same held-out sequences: scores with their costs,
    when each model decided, which steps mattered, how far back the gradient reaches, how alike
    their representations are, and the sequences they disagree on (a page and a table).

    Runs trained on different data or classes are refused.
    """
    from rnntrace.experiment.comparison import check_runs, write_compare_page
    from rnntrace.experiment.comparison import compare as compare_runs
    from rnntrace.render.compare_html import COMPARE_PAGE
    from rnntrace.render.compare_text import comparison_group
    from rnntrace.render.text import console

    check_runs(runs)
    given = None
    if data is not None:
        from rnntrace.data.readers import read
        from rnntrace.run.directory import load_config

        given = read(data, **load_config(runs[0]).data.read_options)
    comparison = compare_runs(runs, data=given)
    page = write_compare_page(comparison, out or Path(COMPARE_PAGE))
    if json:
        sys.stdout.write(comparison.to_json() + "\n")
        return
    shown = console()
    shown.print(comparison_group(comparison))
    shown.print(f"\nThe comparison as a page: [bold]{page}[/bold]")


def demo_compare(out: Path | None, epochs: int, seed: int, engine: dict[str, Any],
                 json: bool) -> None:
    """The lesson and the long lesson, each trained as RNN, GRU and LSTM, then compared."""
    from rnntrace.experiment.compare_lessons import compare_lessons
    from rnntrace.render.compare_text import comparison_group
    from rnntrace.render.text import console

    shown = console()

    def announce(name: str) -> None:
        print(f"rnntrace: training {name}…", file=sys.stderr, flush=True)

    results = compare_lessons(out, epochs=epochs, seed=seed, on_run=announce, **engine)
    if json:
        sys.stdout.write("[" + ",\n".join(r.comparison.to_json() for r in results) + "]\n")
        return
    titles = {"lesson": "The lesson (10 steps): which cell, and why?",
              "long": "The long lesson (the shape first, then noise to carry it through)"}
    for result in results:
        shown.rule(titles[result.name])
        shown.print(comparison_group(result.comparison))
        shown.print(f"The comparison as a page: [bold]{result.page}[/bold]\n")
