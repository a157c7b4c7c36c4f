"""Text: readers on the tutorial layout and CSV, the vocabulary, padding, the quiz, the lesson."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rnntrace.config.settings import ModelConfig
from rnntrace.data.letters import letters_lesson
from rnntrace.data.text import read_splits, read_text
from rnntrace.data.vocabulary import PAD_ID, UNK_ID, Vocabulary
from rnntrace.errors import DataError
from rnntrace.model.classifier import SequenceClassifier
from rnntrace.quiz.embedding import text_quiz


def _layout(root: Path) -> Path:
    (root / "train").mkdir(parents=True)
    (root / "test").mkdir()
    (root / "train" / "FR.txt").write_text("Dubois\nLefèvre\nGarçon\n", encoding="utf-8")
    (root / "train" / "KR.txt").write_text("Kim\n김민\nPark\n\n", encoding="utf-8")
    (root / "test" / "FR.txt").write_text("Zoë\n", encoding="utf-8")
    (root / "test" / "KR.txt").write_text("Kim\n", encoding="utf-8")
    return root


def test_tutorial_layout_keeps_unicode_and_labels_by_file(tmp_path: Path) -> None:
    read = read_text(_layout(tmp_path) / "train", tokens="char")
    assert read.data.class_names == ["FR", "KR"]
    assert read.data.ids[:3] == ["Dubois", "Lefèvre", "Garçon"]
    assert list(read.data.lengths) == [6, 7, 6, 3, 2, 4]
    assert read.vocabulary.tokens[:2] == ["<pad>", "<unk>"]
    # min_count=2: "D" is seen once, so it reads as <unk>; "o" is seen twice.
    assert read.data.values[0, 0, 0] == UNK_ID
    assert read.vocabulary.tokens[int(read.data.values[0, 3, 0])] == "o"
    assert read.data.values[3, 3:, 0].tolist() == [PAD_ID] * 4


def test_vocabulary_never_sees_the_test_split(tmp_path: Path) -> None:
    root = _layout(tmp_path)
    splits = read_splits(root)  # test/ found beside train/
    assert splits.test is not None and splits.test.ids == ["Zoë", "Kim"]
    assert "ë" not in splits.vocabulary.tokens and "Z" not in splits.vocabulary.tokens
    assert splits.vocabulary == read_text(root / "train").vocabulary
    assert any("unknown to the training vocabulary" in n for n in splits.notes)


def test_ascii_folding_and_word_tokens() -> None:
    folded = Vocabulary.build(["Garçon Lefèvre"] * 2, "word", ascii=True)
    assert folded.split("Garçon Lefèvre") == ["Garcon", "Lefevre"]
    assert Vocabulary(kind="whitespace").split(" a  b ") == ["a", "b"]


def test_csv_column(tmp_path: Path) -> None:
    csv = tmp_path / "names.csv"
    csv.write_text("name,country\nDubois,FR\nKim,KR\n<img onerror=x>,KR\n", encoding="utf-8")
    read = read_text(csv, text="name", label="country", )
    assert read.data.ids == ["Dubois", "Kim", "<img onerror=x>"]
    assert read.data.class_names == ["FR", "KR"]
    (tmp_path / "bad.csv").write_text("name,country\n,FR\nKim,KR\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.csv line 2: an empty 'name'"):
        read_text(tmp_path / "bad.csv", text="name", label="country")
    with pytest.raises(DataError, match="no column 'nom'"):
        read_text(csv, text="nom", label="country")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "the file is empty"), (b"Kim\n\nPark\n", "line 2: an empty line"),
     (b"Kim\nP\xe4rk\n", "line 2: not UTF-8 text")],
)
def test_bad_files_are_one_line_errors(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "FR.txt").write_text("Dubois\n", encoding="utf-8")
    (tmp_path / "KR.txt").write_bytes(content)
    with pytest.raises(DataError, match=message) as caught:
        read_text(tmp_path)
    assert "KR.txt" in caught.value.message and "\n" not in caught.value.message


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_is_never_read(cell: str, bidirectional: bool) -> None:
    data = letters_lesson(n=12, seed=1)
    torch.manual_seed(0)
    model = SequenceClassifier(1, 3, 6, cell, vocab_size=len(data.vocabulary), embedding_dim=4,
                               bidirectional=bidirectional).eval()
    x = torch.from_numpy(data.data.values)
    lengths = torch.from_numpy(data.data.lengths)
    assert int(lengths.min()) < x.shape[1]  # the batch really is padded
    with torch.no_grad():
        batch = model(x, lengths)
        # Padding filled with a real token instead must not change a thing.
        noisy = model(torch.where(x == PAD_ID, torch.full_like(x, 3.0), x), lengths)
        alone = torch.cat([model(x[i : i + 1, : int(lengths[i])]) for i in range(len(x))])
    torch.testing.assert_close(batch, alone, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(noisy, batch, rtol=0, atol=0)


def test_embedding_row_zero_is_padding() -> None:
    model = SequenceClassifier(1, 2, 4, "gru", vocab_size=10, embedding_dim=3)
    assert model.embedding is not None and model.embedding.padding_idx == PAD_ID
    assert torch.all(model.embedding.weight[PAD_ID] == 0)
    assert model.rnn.input_size == 3


def test_text_quiz_keys_are_verified() -> None:
    config = ModelConfig(n_features=1, n_classes=6, hidden_size=16, cell="gru", vocab_size=50,
                         embedding_dim=8)
    questions = text_quiz(config, n=10, batch=32, steps=14)
    assert len(questions) == 10
    by_name = {q.template: q for q in questions}
    assert by_name["vocabulary_size"].options[by_name["vocabulary_size"].answer] == "50"
    assert by_name["embedding_shape"].options[by_name["embedding_shape"].answer] == "(32, 14, 8)"
    whole = SequenceClassifier.from_config(config)
    key = by_name["model_parameters"]
    assert key.options[key.answer] == f"{sum(p.numel() for p in whole.parameters()):,}"


def test_letters_lesson_needs_letter_order() -> None:
    data = letters_lesson(n=300, seed=0).data
    counts = [sorted(t) for t in data.ids]
    # Same letters in every class: the class is not in the bag of letters.
    markers = {c: {tuple(sorted(ch for ch in t if ch in "xyz")) for t, lab in
                   zip(data.ids, data.labels, strict=True) if lab == c} for c in range(3)}
    assert all(m == {("x", "y", "z")} for m in markers.values())
    assert len(counts) == 300 and np.bincount(data.labels).tolist() == [100, 100, 100]


def test_data_flow_has_an_embedding_stage_with_shapes() -> None:
    from rnntrace.tracing.dataflow import trace_stages

    model = SequenceClassifier(1, 2, 4, "gru", vocab_size=10, embedding_dim=3)
    x = torch.tensor([[[5.0], [3.0], [0.0], [0.0]], [[2.0], [2.0], [2.0], [2.0]]])  # (2, 4, 1)
    stage = trace_stages(model, x, torch.tensor([2, 4]))[1]
    assert (stage.name, stage.input_shape, stage.output_shape) == ("Embedding", [2, 4, 1],
                                                                    [2, 4, 3])
    assert stage.extra_shapes == {"weight": [10, 3]}
    assert "[5, 3] then 2 padding ids 0" in stage.description
    expected = model.embedding.weight[5].tolist()  # type: ignore[union-attr]
    assert stage.sample[0] == pytest.approx([round(v, 4) for v in expected], abs=1e-4)


def test_parquet_column_and_vocabulary_round_trip(tmp_path: Path) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame({"name": ["Dvořák", "Kim", "Dvořák"], "country": ["CZ", "KR", "CZ"]}).to_parquet(
        tmp_path / "names.parquet")
    read = read_text(tmp_path / "names.parquet", text="name", label="country", ascii=True)
    assert read.data.class_names == ["CZ", "KR"]
    assert "ř" not in read.vocabulary.tokens and "r" in read.vocabulary.tokens
    again = Vocabulary.from_dict(read.vocabulary.to_dict())
    assert again == read.vocabulary and again.split("Dvořák") == list("Dvorak")


def test_attribution_hook_fills_each_example(tmp_path: Path) -> None:
    """The hook takes any per-token attribution; here occlusion (each token swapped for <unk>)."""
    from rnntrace.render.tokens_html import token_rows
    from rnntrace.tracing.tokens import token_trace

    data = letters_lesson(n=30, seed=2)
    torch.manual_seed(0)
    model = SequenceClassifier(1, 3, 6, "gru", vocab_size=len(data.vocabulary), embedding_dim=4)

    def occlusion(m: SequenceClassifier, x: torch.Tensor, target: int) -> list[float]:
        base = float(m.predict_proba(x)[0, target])
        drops = []
        for t in range(x.shape[1]):
            masked = x.clone()
            masked[0, t, 0] = UNK_ID
            drops.append(base - float(m.predict_proba(masked)[0, target]))
        return drops

    traced = token_trace(model, data.data, data.vocabulary, n=4, attribute=occlusion)
    assert len(traced.examples) == 4
    for example in traced.examples:
        assert example.attribution is not None
        assert len(example.attribution) == len(example.tokens) == len(example.activations)
        assert "".join(example.tokens) == example.text
    first = torch.from_numpy(data.data.sequence(0))[None]  # (1, T, 1) the first text alone
    with torch.no_grad():
        output, _ = model.rnn(model.inputs(first))  # (1, T, H)
    assert traced.examples[0].activations == pytest.approx(
        output[0, :, traced.unit].tolist(), abs=1e-6)
    rows = token_rows(traced)
    assert all(len(r["attribution"]) == len(r["letters"]) for r in rows)
    untouched = token_trace(model, data.data, data.vocabulary, n=2)
    assert all(e.attribution is None for e in untouched.examples)


def test_control_characters_in_names_are_escaped(tmp_path: Path) -> None:
    (tmp_path / "FR.txt").write_text("Dubois\n", encoding="utf-8")
    (tmp_path / "K\x1b[31mR.txt").write_text("Kim\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds control characters") as caught:
        read_text(tmp_path)
    assert "\x1b" not in caught.value.message and "\\x1b[31mR.txt" in caught.value.message
    (tmp_path / "K\x1b[31mR.txt").unlink()
    (tmp_path / "KR.txt").write_text("Kim\n\u202e\n", encoding="utf-8")  # a bidi override alone
    read = read_text(tmp_path, min_classes=2)
    assert read.data.ids[-1] == "\u202e"  # kept as data; only messages escape it


def test_embedding_attribution_is_complete() -> None:
    """Integrated Gradients' shares add up to logit(text) − logit(all-zero vectors)."""
    from rnntrace.attribution.embedding import embedding_attribution

    data = letters_lesson(n=6, seed=3)
    torch.manual_seed(0)
    model = SequenceClassifier(1, 3, 6, "gru", vocab_size=len(data.vocabulary),
                               embedding_dim=4).eval()
    x = torch.from_numpy(data.data.sequence(0))[None]  # (1, T, 1)
    shares = embedding_attribution(model, x, 1)
    assert len(shares) == int(data.data.lengths[0])
    with torch.no_grad():
        z = model.embedding(x[..., 0].long())  # type: ignore[misc]
        gap = model.head(model.last_hidden(z))[0, 1] - model.head(
            model.last_hidden(torch.zeros_like(z)))[0, 1]
    assert sum(shares) == pytest.approx(float(gap), abs=1e-3)


def test_the_texts_shown_take_each_class_in_turn() -> None:
    from rnntrace.tracing.tokens import spread_over_classes

    labels = np.array([0, 0, 0, 1, 1, 2])  # sorted by class, as a folder of class files reads
    assert spread_over_classes(labels, 4) == [0, 3, 5, 1]
    assert spread_over_classes(labels, 10) == [0, 3, 5, 1, 4, 2]
