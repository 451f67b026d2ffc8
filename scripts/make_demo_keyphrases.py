"""Rebuild src/dailypapers/data/demo-keyphrases.json.gz: key phrases and key sentences of the demo papers.

`dailypapers demo` loads them at start (dailypapers.search.indexer.Indexer.load_shipped_phrases), so the demo
shows key phrases and trends without a forward pass of the model over 3,133 abstracts first. They are made
exactly as `dailypapers index build` makes them, from the text as stored after import, with a hash of that
text: a row is used only where the text matches. Run it again whenever demo.jsonl.gz, the embedding settings
or dailypapers.keyphrases change.
Usage: python scripts/make_demo_keyphrases.py
"""

from __future__ import annotations

import gzip
import json
import time

from demo_database import DATA, imported_demo
from sqlalchemy import select

from dailypapers.search.indexer import Indexer
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL
from dailypapers.store.schema import key_phrases, papers


def main() -> None:
    with imported_demo() as (settings, engine):
        started = time.perf_counter()
        done = Indexer(engine, settings).extract_missing_phrases()
        elapsed = time.perf_counter() - started
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    papers.c.arxiv_id,
                    key_phrases.c.phrases,
                    key_phrases.c.key_sentence,
                    key_phrases.c.text_hash,
                )
                .join(key_phrases, key_phrases.c.paper_id == papers.c.id)
                .order_by(papers.c.arxiv_id)
            ).all()
    out = DATA / "demo-keyphrases.json.gz"
    body = {
        "model": DEFAULT_EMBEDDING_MODEL,
        "papers": [
            {
                "arxiv_id": r.arxiv_id,
                "phrases": r.phrases,
                "key_sentence": r.key_sentence,
                "text_hash": r.text_hash,
            }
            for r in rows
        ],
    }
    with gzip.open(out, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(body, f, ensure_ascii=False, separators=(",", ":"))
    print(
        f"{len(rows)} papers' key phrases ({done} in {elapsed:.0f}s) -> {out} "
        f"({out.stat().st_size / 1e6:.2f} MB)"
    )


if __name__ == "__main__":
    main()
