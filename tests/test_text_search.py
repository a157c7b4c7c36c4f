"""The no-flag text defaults: candidates scored on held-out training texts, the rule applied."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rnntrace.cli.main import main
from rnntrace.data.text import read_splits
from rnntrace.train.text_search import TEXT_CANDIDATES, _work, choose_text


def _folder(root: Path) -> Path:
    """Three classes told apart by the first letter: the last state must carry it to the end."""
    rng = np.random.default_rng(0)
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    letters = list("bcdfghklmnprstv")
    for name, first in (("A", "a"), ("E", "e"), ("O", "o")):
        words = [first + "".join(rng.choice(letters, rng.integers(3, 7))) for _ in range(40)]
        (root / "train" / f"{name}.txt").write_text("\n".join(words[:32]) + "\n", "utf-8")
        (root / "test" / f"{name}.txt").write_text("\n".join(words[32:]) + "\n", "utf-8")
    return root


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _folder(tmp_path_factory.mktemp("texts") / "first")


def test_every_candidate_is_scored_and_the_best_held_out_accuracy_wins(texts: Path) -> None:
    splits = read_splits(texts)
    vocab = len(splits.vocabulary)
    model, train, choice = choose_text(splits.train, {"epochs": 3, "hidden_size": 8},
                                       vocab_size=vocab, seed=0)
    assert [c.name for c in choice.candidates] == [name for name, _ in TEXT_CANDIDATES]
    best = max(c.val_accuracy for c in choice.candidates)
    first_best = next(c for c in choice.candidates if c.val_accuracy == best)
    assert choice.chosen == first_best.name  # a tie goes to the earlier candidate
    assert choice.held_out == round(0.2 * len(splits.train)) or choice.held_out > 0
    winner = dict(TEXT_CANDIDATES)[choice.chosen]
    assert model.summary == winner["summary"] and model.embedding_dim == winner["embedding_dim"]
    assert model.hidden_size == 8 and model.vocab_size == vocab  # the user's flag kept
    assert train.epochs == 3 and train.val_fraction == 0.0 and train.average_epochs > 0
    assert choice.user_settings == {"epochs": 3, "hidden_size": 8}
    assert choice.chosen in choice.reason
    # Deterministic for a seed: the same scores again.
    again = choose_text(splits.train, {"epochs": 3, "hidden_size": 8}, vocab_size=vocab,
                        seed=0)[2]
    assert [c.val_accuracy for c in again.candidates] == [c.val_accuracy for c in
                                                          choice.candidates]


def test_flags_that_make_candidates_equal_leave_one_of_them(texts: Path) -> None:
    splits = read_splits(texts)
    user = {"epochs": 2, "hidden_size": 8, "summary": "max", "bidirectional": True,
            "embedding_dim": 16}
    _, _, choice = choose_text(splits.train, user, vocab_size=len(splits.vocabulary), seed=0)
    assert [c.name for c in choice.candidates] == ["gru+last"]  # all three read alike now
    assert choice.candidates[0].settings["summary"] == "max"


def test_a_set_past_the_budget_keeps_the_first_candidates_that_fit(texts: Path) -> None:
    splits = read_splits(texts)
    first, second = (_work(splits.train, dict(o)) for _, o in TEXT_CANDIDATES[:2])
    assert second == 2 * first  # a bidirectional candidate reads every letter twice
    for budget, kept in ((first, 1), (first + second, 2), (first + 2 * second, 3)):
        _, _, choice = choose_text(splits.train, {"epochs": 1, "hidden_size": 4},
                                   vocab_size=len(splits.vocabulary), seed=0, budget=budget)
        assert len(choice.candidates) == kept
    # Even a budget below one candidate trains one.
    _, _, choice = choose_text(splits.train, {"epochs": 1, "hidden_size": 4},
                               vocab_size=len(splits.vocabulary), seed=0, budget=0)
    assert len(choice.candidates) == 1


def test_train_without_flags_records_the_choice_and_the_lesson_preset_does_not(
    texts: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "auto"
    assert main(["train", str(texts), "--hidden", "8", "--epochs", "2", "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "Settings chosen on held-out training data" in out
    trace = json.loads((run / "trace.json").read_text())
    assert trace["choice"]["chosen"] in [name for name, _ in TEXT_CANDIDATES]
    assert trace["averaging"] is not None  # the final model ends averaged, as scored
    lesson = tmp_path / "lesson"
    assert main(["train", str(texts), "--hidden", "8", "--epochs", "2", "--preset", "lesson",
                 "--out", str(lesson)]) == 0
    assert json.loads((lesson / "trace.json").read_text()).get("choice") is None


@pytest.mark.parametrize("summary", ["attention", "max"])
def test_the_quiz_counts_what_a_chosen_text_model_holds(summary: str) -> None:
    from rnntrace.config.settings import ModelConfig
    from rnntrace.model.classifier import SequenceClassifier
    from rnntrace.quiz.embedding import text_quiz

    config = ModelConfig(n_features=1, n_classes=6, hidden_size=8, vocab_size=30,
                         embedding_dim=16, bidirectional=True, summary=summary)
    questions = text_quiz(config, n=10, seed=0)  # each key is proved against PyTorch
    (count,) = [q for q in questions if q.prompt.startswith("A classifier is")]
    total = sum(p.numel() for p in SequenceClassifier.from_config(config).parameters())
    assert count.options[count.answer] == f"{total:,}"
    assert "bidirectional=True" in count.prompt
    assert ("attention pooling" in count.prompt) == (summary == "attention")
