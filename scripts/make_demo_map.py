"""Rebuild src/dailypapers/data/demo-map.npz: the demo papers' places on the map, by arXiv id.

`dailypapers demo` starts its map from them (dailypapers.maps.builder.MapBuilder.build(start=...)), so the
map is there at once rather than after UMAP has projected 3,133 papers on the reader's machine. They are made
exactly as `dailypapers map build --full` makes them, from the shipped embeddings, with the demo's seed.
Run it again whenever demo.jsonl.gz, demo-embeddings.npz or dailypapers.maps change.
Usage: python scripts/make_demo_map.py
"""

from __future__ import annotations

import time

from demo_database import DATA, imported_demo

from dailypapers.maps.builder import SHIPPED_MAP, MapBuilder, map_dir, read_map, write_places
from dailypapers.search.indexer import Indexer
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL
from dailypapers.store.embeddings import SqlEmbeddings

SEED = 7  # the demo's


def main() -> None:
    with imported_demo() as (settings, engine):
        loaded = Indexer(engine, settings).load_shipped_embeddings()
        started = time.perf_counter()
        report = MapBuilder(engine, settings).build(full=True, seed=SEED)
        elapsed = time.perf_counter() - started
        data = read_map(map_dir(settings))
        assert data is not None and data.model == DEFAULT_EMBEDDING_MODEL
        write_places(data, SqlEmbeddings(engine).arxiv_ids(data.model), SHIPPED_MAP)
    assert SHIPPED_MAP.parent == DATA
    print(
        f"{report.points} of {loaded} embedded papers projected in {elapsed:.0f}s -> {SHIPPED_MAP} "
        f"({SHIPPED_MAP.stat().st_size / 1e3:.0f} kB)"
    )


if __name__ == "__main__":
    main()
