"""The text lesson: short words whose class is which marker letter comes first.

Every word holds the three markers x, y and z once each among filler letters, so all classes
use the same letters in the same numbers; only their order tells them apart:

    "bxaycz"   x first  → class "x first"
    "dzbxya"   z first  → class "z first"

A model that counts letters (a bag of letters) scores a third; one that reads in order can
score near 1.
"""

from __future__ import annotations

import numpy as np

from rnntrace.data.text import TextData, TextRows, encode
from rnntrace.data.vocabulary import Vocabulary

MARKERS = "xyz"
FILLER = "abcdefgh"
CLASSES = [f"{m} first" for m in MARKERS]


def letter_words(n: int = 1200, seed: int = 0, min_length: int = 5,
                 max_length: int = 12) -> TextRows:
    """`n` words of `min_length`…`max_length` letters, balanced over the three classes."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        length = int(rng.integers(min_length, max_length + 1))
        letters = list(rng.choice(list(FILLER), size=length - len(MARKERS)))
        slots = np.sort(rng.choice(length, size=len(MARKERS), replace=False))
        first = i % len(MARKERS)
        order = [MARKERS[first], *rng.permutation([m for m in MARKERS if m != MARKERS[first]])]
        word = []
        for position in range(length):
            if position in slots:
                word.append(str(order[int(np.flatnonzero(slots == position)[0])]))
            else:
                word.append(str(letters.pop()))
        texts.append("".join(word))
        labels.append(CLASSES[first])
    places = [f"letters word {i + 1}" for i in range(n)]
    return TextRows(texts, labels, places, "synthetic:letters")


def letters_lesson(n: int = 1200, seed: int = 0) -> TextData:
    """The lesson's words encoded with their own character vocabulary."""
    rows = letter_words(n, seed)
    return encode(rows, Vocabulary.build(rows.texts, "char"))
