"""The plain character-level script the text defaults are measured against.

    python benchmarks/plain_text_gru.py TRAIN_FOLDER TEST_FOLDER [--seed 0]

Embedding 32 → GRU 128 → Linear on the last real step (packed batches), Adam 3e-3, batch 32,
15 epochs: the script of ../shared/data/Surnames/LICENSE-NOTE.md (0.787 there, seed 0), as a
reader of the PyTorch name-classification tutorial would write it. Prints the test accuracy.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence


def read(folder: Path) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                texts.append(line.strip())
                labels.append(path.stem)
    return texts, labels


class Net(nn.Module):
    def __init__(self, vocab: int, classes: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 32, padding_idx=0)
        self.gru = nn.GRU(32, 128, batch_first=True)
        self.head = nn.Linear(128, classes)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(self.embed(x), lengths, batch_first=True,
                                      enforce_sorted=False)
        _, h = self.gru(packed)
        out: torch.Tensor = self.head(h[-1])
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("train", type=Path)
    parser.add_argument("test", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    train_x, train_y = read(args.train)
    test_x, test_y = read(args.test)
    chars = {c: i + 2 for i, c in enumerate(sorted({c for t in train_x for c in t}))}  # 0 pad
    classes = sorted(set(train_y))

    def encode(texts: list[str]) -> list[torch.Tensor]:
        return [torch.tensor([chars.get(c, 1) for c in t]) for t in texts]  # 1: unknown

    xs, ys = encode(train_x), torch.tensor([classes.index(y) for y in train_y])
    model = Net(len(chars) + 2, len(classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    order = list(range(len(xs)))
    for _ in range(15):
        random.shuffle(order)
        for start in range(0, len(order), 32):
            batch = order[start : start + 32]
            x = pad_sequence([xs[i] for i in batch], batch_first=True)
            lengths = torch.tensor([len(xs[i]) for i in batch])
            loss = nn.functional.cross_entropy(model(x, lengths), ys[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        tx = encode(test_x)
        logits = model(pad_sequence(tx, batch_first=True), torch.tensor([len(t) for t in tx]))
        truth = torch.tensor([classes.index(y) for y in test_y])
        accuracy = float((logits.argmax(1) == truth).float().mean())
    print(f"{accuracy:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
