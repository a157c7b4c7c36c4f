"""`rnntrace quiz`: questions about a model, every key proved by running PyTorch."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rnntrace.cli.app import app

if TYPE_CHECKING:
    from rnntrace.config.settings import ModelConfig
    from rnntrace.records import Question


@app.command()
def quiz(
    run: Annotated[
        Path | None,
        typer.Argument(help="Run directory (with config.json) to quiz on; default: the lesson."),
    ] = None,
    n: Annotated[int, typer.Option("--n", help="Number of questions.")] = 10,
    level: Annotated[str, typer.Option(help="easy, medium, hard or mixed.")] = "mixed",
    seed: Annotated[int, typer.Option(help="Seed: the same seed gives the same quiz.")] = 0,
    random_models: Annotated[
        bool, typer.Option("--random", help="A different random model for every question.")
    ] = False,
    export: Annotated[
        str | None,
        typer.Option("--export", help="Write the questions instead of asking: a sheet (md, json) "
                     "or a file to import: moodle (XML), gift, qti (Canvas zip), anki (.apkg)."),
    ] = None,
    answers: Annotated[
        bool, typer.Option("--answers", help="Include the key, hints and solutions in a sheet "
                           "(moodle, gift, qti and anki always carry them).")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default: standard output; "
                                  "qti and anki need a file).")
    ] = None,
) -> None:
    """Questions about your model, every answer verified by running PyTorch.

    Type A–D, or ? for a hint.
    Answers can also be piped in, one line per question.
    From a pipe, an invalid line counts as wrong; the end of input ends the quiz with the score.
    """
    from rnntrace.errors import ConfigError
    from rnntrace.quiz.export import BINARY, check_format

    if export is not None:
        check_format(export)
        if export in BINARY and out is None:
            raise ConfigError(f"--export {export} writes a zip file: give it one with --out")
    if answers and export is None:
        raise ConfigError("--answers goes with --export: the interactive quiz shows each answer")
    if run is not None and random_models:
        raise ConfigError("--random draws its own models: leave out the run directory")
    questions, about = _questions(run, random_models, n=n, level=level, seed=seed)
    if len(questions) < n:  # the bank ran out of distinct questions: say so, not silently
        kind = "" if level == "mixed" else f"{level} "
        print(f"rnntrace: note: this model has {len(questions)} distinct {kind}questions, "
              f"not {n}", file=sys.stderr)
    if export is not None:
        from rnntrace.quiz.export import SHEETS, for_system, sheet
        from rnntrace.run.files import atomic_write_bytes

        if export in SHEETS:
            data = sheet(questions, export, answers=answers, about=about, level=level,
                         seed=seed).encode()
        else:
            data = for_system(questions, export, about=about, level=level, seed=seed)
        if out is None:
            sys.stdout.write(data.decode())
        else:
            atomic_write_bytes(out, data)
        return
    from rich.console import Console

    from rnntrace.quiz import session

    console = Console(highlight=False)
    console.print(f"[bold]rnntrace quiz[/bold]: {len(questions)} questions on {about}")
    interactive = sys.stdin.isatty()
    read = (session.terminal_reader(console) if interactive
            else session.stream_reader(sys.stdin.readline))
    session.play(questions, console, read, interactive=interactive)


def _questions(run: Path | None, random_models: bool, *, n: int, level: str, seed: int
               ) -> tuple[list[Question], str]:
    """The questions, and what they are about in words: the lesson's layer, a run's model (the
    layer as the model has it, behind any front end, then its head), or random models."""
    from rnntrace.quiz import make_quiz
    from rnntrace.quiz.setting import lesson_setting, setting_from_run
    from rnntrace.run.directory import load_config

    setting = lesson_setting() if run is None else setting_from_run(load_config(run))
    config: ModelConfig | None = None if random_models else setting.model
    shape = None if random_models else setting.input_shape
    if config is not None and config.vocab_size:  # text: the Embedding, then the layer it feeds
        from rnntrace.quiz import Setting
        from rnntrace.quiz.embedding import TextSetting, layer_config, text_quiz

        questions = text_quiz(config, n=n, seed=seed, batch=setting.batch, steps=setting.steps,
                              level=level)
        layer = Setting(layer_config(config), setting.batch, setting.steps)
        about = f"{TextSetting(config, setting.batch, setting.steps).code()} → {layer.layer_code()}"
    elif config is not None:  # the layer as the model has it, behind any front end
        from rnntrace.config.settings import front_end_name
        from rnntrace.quiz.heads import head_quiz
        from rnntrace.quiz.setting import layer_setting

        front = front_end_name(config)
        about = (f"{'' if front == 'none' else f'{front} front end → '}"
                 f"{layer_setting(config, shape).layer_code()}")
        if config.task != "classify":  # the head's questions first
            questions = head_quiz(config, n=n, seed=seed, input_shape=shape, level=level)
            about += f" → {config.task_spec.title}"
        else:
            questions = make_quiz(config, n=n, level=level, seed=seed, input_shape=shape)
    else:
        questions = make_quiz(None, n=n, level=level, seed=seed)
        about = "random models"
    return questions, about
