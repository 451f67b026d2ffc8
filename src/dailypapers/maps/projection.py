"""Papers placed in 2-D from their embeddings, and the names of the map's regions from their key phrases.

The whole corpus is projected by UMAP (umap-learn, cosine distance): neighbours in meaning stay neighbours
on the map. A paper that arrives later is placed without moving the others: at the mean of the places of its
nearest already-placed neighbours (cosine, weighted by similarity), which is where UMAP's own `transform`
would put it, near enough, at a fraction of the cost and without keeping the fitted model.

Regions are named at three zoom levels by cutting the map into 6x6, 12x12 and 24x24 cells: a cell with
enough papers is named by the key phrase that is most over-represented in it (its count there times the log
of how rare it is overall), placed at the mean of its papers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

NEIGHBOURS = 10
GRIDS = (6, 12, 24)
CELL_SHARE = 0.25  # a cell is named when it holds a quarter of an even share of the papers (3 at least)


def project(vectors: np.ndarray, *, seed: int | None = None, neighbours: int = 15) -> np.ndarray:
    """(n, 2) coordinates in [-1, 1] (what the browser's scatter plot takes) for unit vectors (n, d)."""
    if len(vectors) < 3:
        return np.zeros((len(vectors), 2), dtype=np.float32)
    import umap

    reducer = umap.UMAP(
        n_neighbors=min(neighbours, len(vectors) - 1),
        min_dist=0.05,
        metric="cosine",
        low_memory=True,
        random_state=seed,
        n_jobs=1 if seed is not None else -1,
        init="spectral" if len(vectors) > 50 else "random",
    )
    return normalize(reducer.fit_transform(np.asarray(vectors, dtype=np.float32)))


def normalize(xy: np.ndarray) -> np.ndarray:
    """Scaled into [-0.95, 0.95] on the longer side, centred, aspect kept."""
    xy = np.asarray(xy, dtype=np.float64)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float(max((hi - lo).max(), 1e-9))
    return ((xy - (lo + hi) / 2) / span * 1.9).astype(np.float32)


def place(new: np.ndarray, known: np.ndarray, known_xy: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Coordinates for new unit vectors: the similarity-weighted mean of their k nearest known points."""
    if len(new) == 0:
        return np.zeros((0, 2), dtype=np.float32)
    if len(known) == 0:
        return np.zeros((len(new), 2), dtype=np.float32)
    k = min(k, len(known))
    placed = np.zeros((len(new), 2), dtype=np.float32)
    for start in range(0, len(new), 512):
        sims = np.asarray(new[start : start + 512], dtype=np.float32) @ np.asarray(known, dtype=np.float32).T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.maximum(np.take_along_axis(sims, nearest, axis=1), 1e-6)
        placed[start : start + 512] = (known_xy[nearest] * weights[..., None]).sum(axis=1) / weights.sum(
            axis=1, keepdims=True
        )
    return placed


def region_labels(xy: np.ndarray, phrases: Sequence[Sequence[str]]) -> list[list[dict]]:
    """Per zoom level, the named cells: {"x", "y", "label", "papers"}."""
    total = len(phrases)
    document_frequency = Counter(p for row in phrases for p in set(row))
    levels = []
    for grid in GRIDS:
        minimum = max(3, int(CELL_SHARE * total / (grid * grid)))
        cells: dict[tuple[int, int], list[int]] = {}
        index = np.clip(((xy + 1) / 2 * grid).astype(int), 0, grid - 1)
        for i, (cx, cy) in enumerate(index):
            cells.setdefault((int(cx), int(cy)), []).append(i)
        found = []
        for members in cells.values():
            if len(members) < minimum:
                continue
            counts = Counter(p for i in members for p in set(phrases[i]))
            if not counts:
                continue
            best = max(
                counts.items(),
                key=lambda item: (item[1] * math.log(total / document_frequency[item[0]]), item[0]),
            )
            if best[1] < 3:
                continue
            centre = xy[members].mean(axis=0)
            found.append(
                {"x": float(centre[0]), "y": float(centre[1]), "label": best[0], "papers": len(members)}
            )
        # One place a name per level: the biggest cell keeps it (neighbouring cells often share a topic).
        named: set[str] = set()
        unique = []
        for cell in sorted(found, key=lambda c: -c["papers"]):
            if cell["label"] not in named:
                named.add(cell["label"])
                unique.append(cell)
        levels.append(unique)
    return levels
