"""The map file: every embedded paper's place on the map and the regions' names, derived from the database.

`dailypapers map build` writes `<index dir>/map/map.npz` (paper ids, coordinates, the model) and
`labels.json` atomically (a temporary file, then a rename), so a server reading them never sees half a map.
Without `--full` a map that exists is extended: papers embedded since are placed among their neighbours and
the others keep their places; a paper whose embedding is gone leaves the map.

A map may also start from places made elsewhere, by arXiv id (`start`): the demo's papers ship with theirs
(`SHIPPED_MAP`, made by scripts/make_demo_map.py), so `dailypapers demo` shows its map at once instead of
spending a quarter of a minute of UMAP on two cores while the site starts.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from dailypapers.maps.projection import place, project, region_labels
from dailypapers.search import state
from dailypapers.search.vectors import from_blob
from dailypapers.settings import Settings
from dailypapers.store.embeddings import SqlEmbeddings
from dailypapers.store.engine import Engine, search_index_dir
from dailypapers.store.keyphrases import SqlKeyPhrases

READ_CHUNK = 20_000
SHIPPED_MAP = Path(__file__).resolve().parent.parent / "data" / "demo-map.npz"


@dataclass(frozen=True, slots=True)
class MapData:
    paper_ids: np.ndarray  # int64
    xy: np.ndarray  # float32 (n, 2) in [-1, 1]
    model: str
    built_at: str
    labels: list[list[dict]]


@dataclass(slots=True)
class MapReport:
    points: int
    projected: int  # by UMAP in this run
    placed: int  # among their neighbours in this run
    dropped: int
    seconds: float


def map_dir(settings: Settings) -> Path:
    return Path(search_index_dir(settings)) / "map"


def read_map(folder: Path) -> MapData | None:
    try:
        with np.load(folder / "map.npz", allow_pickle=False) as data:
            ids, xy, model, built = data["paper_ids"], data["xy"], str(data["model"]), str(data["built_at"])
        labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    except (OSError, KeyError, ValueError):
        return None
    return MapData(ids.astype(np.int64), xy.astype(np.float32), model, built, labels)


def _replace(path: Path, write) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class MapBuilder:
    def __init__(self, engine: Engine, settings: Settings, folder: Path | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.folder = folder or map_dir(settings)

    def _vectors(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        store = SqlEmbeddings(self.engine)
        ids, rows, last = [], [], 0
        while True:
            chunk = store.vectors_after(model, last, READ_CHUNK)
            if not chunk:
                break
            for row in chunk:
                ids.append(row.paper_id)
                rows.append(from_blob(row.vector))
            last = chunk[-1].id
        if not ids:
            return np.zeros(0, dtype=np.int64), np.zeros((0, 1), dtype=np.float32)
        return np.array(ids, dtype=np.int64), np.vstack(rows).astype(np.float32)

    def _shipped(self, path: Path, model: str) -> MapData | None:
        """Places saved by arXiv id (`write_places`), for those of their papers this database has embedded."""
        try:
            with np.load(path, allow_pickle=False) as data:
                arxiv_ids, xy, made_by = data["arxiv_ids"], data["xy"], str(data["model"])
        except (OSError, KeyError, ValueError):
            return None
        if made_by != model:
            return None
        paper_id = {a: p for p, a in SqlEmbeddings(self.engine).arxiv_ids(model).items()}
        rows = [(paper_id[str(a)], i) for i, a in enumerate(arxiv_ids) if str(a) in paper_id]
        ids = np.array([p for p, _ in rows], dtype=np.int64)
        places = xy[[i for _, i in rows]].astype(np.float32) if rows else np.zeros((0, 2), np.float32)
        return MapData(ids, places, model, "", [])

    def build(self, *, full: bool = False, seed: int | None = None, start: Path | None = None) -> MapReport:
        """Project the whole corpus (`full`, or no map yet), or extend the map there is. `start`: places saved
        by `write_places` to begin from where there is no map yet (papers they lack are placed)."""
        started = time.perf_counter()
        model = state.get(self.engine, state.ACTIVE_MODEL) or self.settings.embedding_model
        ids, vectors = self._vectors(model)
        existing = None if full else read_map(self.folder)
        if existing is not None and existing.model != model:
            existing = None
        if existing is None and start is not None:
            existing = self._shipped(start, model)
        projected = placed = dropped = 0
        if existing is None or len(existing.paper_ids) < 3:
            xy = project(vectors, seed=seed)
            projected = len(ids)
        else:
            where = {int(pid): i for i, pid in enumerate(existing.paper_ids)}
            known = np.array([int(pid) in where for pid in ids], dtype=bool)
            dropped = len(existing.paper_ids) - int(known.sum())
            xy = np.zeros((len(ids), 2), dtype=np.float32)
            xy[known] = existing.xy[[where[int(pid)] for pid in ids[known]]]
            xy[~known] = place(vectors[~known], vectors[known], xy[known])
            placed = int((~known).sum())
        phrases = dict(SqlKeyPhrases(self.engine).all_phrases())
        labels = region_labels(xy, [phrases.get(int(pid), []) for pid in ids]) if len(ids) else [[], [], []]
        self.folder.mkdir(parents=True, exist_ok=True)
        built_at = datetime.now(UTC).isoformat(timespec="seconds")
        _replace(
            self.folder / "map.npz",
            lambda out: np.savez(
                out, paper_ids=ids, xy=xy, model=np.array(model), built_at=np.array(built_at)
            ),
        )
        _replace(self.folder / "labels.json", lambda out: out.write(json.dumps(labels).encode("utf-8")))
        return MapReport(len(ids), projected, placed, dropped, time.perf_counter() - started)


def write_places(data: MapData, arxiv_ids: dict[int, str], path: Path) -> None:
    """A map's places by arXiv id rather than by this database's paper ids, for `MapBuilder.build(start=)`."""
    _replace(
        path,
        lambda out: np.savez_compressed(
            out,
            arxiv_ids=np.array([arxiv_ids[int(p)] for p in data.paper_ids]),
            xy=data.xy.astype(np.float16),  # a map's pixel is about 1/1000 of its side
            model=np.array(data.model),
        ),
    )
