"""Vocabulary: tokens ↔ ids for text, built on the training split only and saved with the run.

Ids 0 and 1 are reserved, so every real token has an id of 2 or more:

    0  <pad>   fills the steps past a sequence's length; nn.Embedding(padding_idx=0) keeps its
               vector at zero and it is never read (the last *real* step is classified)
    1  <unk>   any token the training split never held (counted, and said in a note)
    2… tokens  of the training split, in sorted order, so a vocabulary is the same for a seed

A token seen fewer than `min_count` times in training is left out too: the model then meets
<unk> while it learns, so an unseen letter at test time reads as "rare", not as noise.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rnntrace import errors
from rnntrace.errors import ConfigError

PAD, UNK = "<pad>", "<unk>"
PAD_ID, UNK_ID = 0, 1
TOKENIZERS = ("char", "word", "whitespace")
# Words and single punctuation marks: "O'Neil-Smith" → O ' Neil - Smith.
_WORD = re.compile(r"\w+|[^\w\s]")


def fold_ascii(text: str) -> str:
    """`text` transliterated to ASCII (Ç → C, Ł → L, 김 → gim) by the unidecode library."""
    from unidecode import unidecode

    return unidecode(text)


def tokenize(text: str, tokens: str = "char") -> list[str]:
    """Split one sequence into tokens: characters, words (with punctuation), or on whitespace."""
    if tokens == "char":
        # NFC first, so "é" typed as e + combining accent is one letter, as in a composed file.
        return list(unicodedata.normalize("NFC", text))
    if tokens == "word":
        return _WORD.findall(text)
    if tokens == "whitespace":
        return text.split()
    raise ConfigError(f"unknown tokens {tokens!r}: choose {', '.join(TOKENIZERS)}")


def printable(text: str, limit: int | None = 40, quote: bool = True) -> str:
    """`text` for a message: escaped by the shared rnntrace.errors.printable, cut, quoted."""
    cut = text if limit is None else text[:limit]
    shown = errors.printable(cut) + ("…" if len(cut) < len(text) else "")
    return repr(shown) if quote else shown


@dataclass
class Vocabulary:
    """Token ids for one run: `tokens[i]` is the token of id i; 0 is padding and 1 unknown."""

    tokens: list[str] = field(default_factory=lambda: [PAD, UNK])
    kind: str = "char"  # how sequences are split: char | word | whitespace
    ascii: bool = False  # folded to ASCII with unidecode before splitting

    def __post_init__(self) -> None:
        if self.tokens[:2] != [PAD, UNK]:
            raise ConfigError("a vocabulary starts with <pad> and <unk> (ids 0 and 1)")
        if self.kind not in TOKENIZERS:
            raise ConfigError(f"unknown tokens {self.kind!r}: choose {', '.join(TOKENIZERS)}")
        self._ids = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(
        cls, texts: Iterable[str], kind: str = "char", ascii: bool = False, min_count: int = 2
    ) -> Vocabulary:
        """The tokens of `texts` seen at least `min_count` times (the training split's only)."""
        if min_count < 1:
            raise ConfigError(f"min_count must be at least 1, got {min_count}")
        vocab = cls(kind=kind, ascii=ascii)
        counts = Counter(tok for text in texts for tok in vocab.split(text))
        kept = sorted(tok for tok, n in counts.items() if n >= min_count)
        return cls([PAD, UNK, *kept], kind, ascii)

    def __len__(self) -> int:
        return len(self.tokens)

    def split(self, text: str) -> list[str]:
        """The tokens of one sequence, folded to ASCII first when the vocabulary asks for it."""
        return tokenize(fold_ascii(text) if self.ascii else text, self.kind)

    def ids(self, tokens: Sequence[str]) -> list[int]:
        """Token ids; a token the vocabulary lacks is UNK_ID."""
        return [self._ids.get(t, UNK_ID) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        return [self.tokens[i] if 0 <= i < len(self.tokens) else UNK for i in ids]

    def to_dict(self) -> dict[str, object]:
        return {"tokens": list(self.tokens), "kind": self.kind, "ascii": self.ascii}

    @classmethod
    def from_dict(cls, raw: dict[str, object]) -> Vocabulary:
        tokens, kind, ascii = raw.get("tokens"), raw.get("kind", "char"), raw.get("ascii", False)
        if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)
                and isinstance(kind, str) and isinstance(ascii, bool)):
            raise ConfigError("not an rnntrace run configuration: the vocabulary is malformed")
        return cls(list(tokens), kind, ascii)
