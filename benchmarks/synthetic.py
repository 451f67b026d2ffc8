"""A synthetic corpus of any size made from the real one, for latency benchmarks (not for quality).

Synthetic paper k is made from two real papers, a "base" and a "donor" of the same first category (seeded
choice): its title is the base title's first half and the donor title's second half, its abstract the base
abstract's first half of sentences and the donor's second half, its authors a mix of both lists, its date
random in 2015-2026 and its id a new-style arXiv id that no real paper has (numbers 60000-99999 of a month;
real months stop near 30000). So word statistics, lengths and category mixes are those of real papers.

Its embedding is derived, not computed (computing 900k embeddings is days on 2 cores): the normalized mix of
the two source papers' real vectors plus Gaussian noise, renormalized. Latency is measured on these; quality
is measured on the real corpus only (benchmarks/search_quality.py).
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
NOISE = 0.35  # standard deviation of the noise vector's norm, relative to the mixed vector's


def read_real(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def synthetic_ids(taken: set[str]) -> Iterator[str]:
    """New-style ids from 1501 on with five-digit numbers from 60000: never a real paper's."""
    for year in range(15, 100):
        for month in range(1, 13):
            for number in range(60000, 100000):
                candidate = f"{year:02d}{month:02d}.{number:05d}"
                if candidate not in taken:
                    yield candidate


def _halves(text: str, sentences: bool) -> tuple[str, str]:
    parts = _SENTENCE.split(text) if sentences else text.split()
    cut = max(1, len(parts) // 2)
    joiner = " "
    return joiner.join(parts[:cut]), joiner.join(parts[cut:])


def make_papers(real: list[dict], count: int, seed: int = 1) -> Iterator[tuple[dict, int, int]]:
    """`count` synthetic records, each with the indexes in `real` of its base and donor papers."""
    rng = random.Random(seed)
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(real):
        groups[(row.get("categories") or ["none"])[0]].append(index)
    ids = synthetic_ids({row["arxiv_id"] for row in real})
    for _ in range(count):
        base_index = rng.randrange(len(real))
        base = real[base_index]
        group = groups[(base.get("categories") or ["none"])[0]]
        donor_index = group[rng.randrange(len(group))]
        donor = real[donor_index]
        title = " ".join(
            part for part in (_halves(base["title"], False)[0], _halves(donor["title"], False)[1]) if part
        )
        abstract = " ".join(
            part for part in (_halves(base["abstract"], True)[0], _halves(donor["abstract"], True)[1]) if part
        )
        authors = list(dict.fromkeys(base["authors"][:3] + donor["authors"][:3])) or ["Anonymous"]
        year = rng.randint(2015, 2026)
        month = rng.randint(1, 12)
        day = rng.randint(1, 28)
        record = {
            "arxiv_id": next(ids),
            "title": title,
            "abstract": abstract,
            "authors": authors,
            "categories": base.get("categories") or [],
            "published_at": f"{year:04d}-{month:02d}-{day:02d}T00:00:00.000Z",
            "source": "synthetic",
        }
        yield record, base_index, donor_index


def derived_vector(base: np.ndarray, donor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The mix of two real vectors plus noise, renormalized (float32, unit length)."""
    mixed = base.astype(np.float32) + donor.astype(np.float32)
    mixed /= np.linalg.norm(mixed) or 1.0
    noise = rng.standard_normal(mixed.shape[0]).astype(np.float32)
    noise *= NOISE / (np.linalg.norm(noise) or 1.0)
    vector = mixed + noise
    return vector / (np.linalg.norm(vector) or 1.0)
