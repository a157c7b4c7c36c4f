"""A text set the no-flag text defaults were not tuned on: surnames of ten other countries.

    pip download --no-deps names-dataset==3.3.1 -d /tmp/nd
    python benchmarks/make_surnames.py /tmp/nd/names_dataset-3.3.1-py3-none-any.whl OUT

The recipe of ../shared/data/Surnames (its LICENSE-NOTE.md), for ten countries it does not hold
(DE ES IT NL PL SE JP IN EG BR): per country the 300 most frequent single-word, letters-only
surnames of rank at most 1,000 that no other of the ten lists; shuffled with seed 0, split
80 / 20 into OUT/train/<COUNTRY>.txt and OUT/test/<COUNTRY>.txt. The data is the package's
(Apache License 2.0); nothing of it is kept in this repository.
"""

from __future__ import annotations

import gzip
import pickle
import random
import sys
import zipfile
from pathlib import Path

COUNTRIES = ("DE", "ES", "IT", "NL", "PL", "SE", "JP", "IN", "EG", "BR")
PER_COUNTRY = 300
MAX_RANK = 1000


def main(wheel: Path, out: Path) -> int:
    with zipfile.ZipFile(wheel) as z:
        names = pickle.loads(gzip.decompress(z.read("names_dataset/v3/last_names.pkl.gz")))
    ranked: dict[str, list[tuple[int, str]]] = {c: [] for c in COUNTRIES}
    for name, facts in names.items():
        if not name.isalpha():
            continue
        for country, rank in facts.get("rank", {}).items():
            if country in ranked and rank is not None and rank <= MAX_RANK:
                ranked[country].append((rank, name))
    seen: dict[str, int] = {}
    for country in COUNTRIES:
        for _, name in ranked[country]:
            seen[name] = seen.get(name, 0) + 1
    rng = random.Random(0)
    for country in COUNTRIES:
        own = [n for _, n in sorted(ranked[country]) if seen[n] == 1][:PER_COUNTRY]
        rng.shuffle(own)
        cut = int(0.8 * len(own))
        for part, rows in (("train", own[:cut]), ("test", own[cut:])):
            folder = out / part
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{country}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
        print(f"{country}: {len(own)} surnames")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
