"""Rebuild src/dailypapers/data/demo-embeddings.npz: embeddings of the bundled demo papers.

`dailypapers demo` loads them at start, so semantic search works from the first page without embedding
3,133 abstracts first. They are made exactly as the app makes them (the packaged all-MiniLM-L6-v2,
title + ". " + abstract cut to 128 tokens, dynamic int8 quantization; see dailypapers.search.embedder), from
the text as stored after import, with a hash of that text: a vector is used only where the text matches.
Run it again whenever demo.jsonl.gz or the embedding settings change.
Usage: python scripts/make_demo_embeddings.py
"""

from __future__ import annotations

import time

import numpy as np
from demo_database import DATA, imported_demo
from sqlalchemy import select

from dailypapers.search.embedder import document_text, text_hash
from dailypapers.search.indexer import Indexer
from dailypapers.search.vectors import from_blob
from dailypapers.store.schema import embeddings, papers


def main() -> None:
    with imported_demo() as (settings, engine):
        indexer = Indexer(engine, settings)
        started = time.perf_counter()
        done = indexer.embed_missing(settings.embedding_model)
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(
                select(papers.c.arxiv_id, papers.c.title, papers.c.abstract, embeddings.c.vector)
                .join(embeddings, embeddings.c.paper_id == papers.c.id)
                .where(embeddings.c.model == settings.embedding_model)
                .order_by(papers.c.arxiv_id)
            ).all()
    out = DATA / "demo-embeddings.npz"
    np.savez_compressed(
        out,
        model=np.array(settings.embedding_model),
        arxiv_ids=np.array([r.arxiv_id for r in rows]),
        text_hashes=np.array([text_hash(document_text(r.title, r.abstract)) for r in rows]),
        vectors=np.vstack([from_blob(r.vector) for r in rows]).astype(np.float16),
    )
    print(
        f"{len(rows)} embeddings ({done} computed in {elapsed:.0f}s, {done / elapsed:.1f} papers/s) -> {out} "
        f"({out.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
