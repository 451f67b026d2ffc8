"""The `key_phrases` table: each paper's key phrases and key sentence (dailypapers.keyphrases makes them).

Like embeddings, a row keeps the hash of the text it was made from: a paper whose title or abstract changed
loses its row, and the next index run makes it again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Engine, delete, exists, func, select

from dailypapers.store.embeddings import PaperText
from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.schema import key_phrases, papers

READ_CHUNK = 2000


@dataclass(frozen=True, slots=True)
class NewKeyPhrases:
    paper_id: int
    phrases: list[str]
    key_sentence: str | None
    text_hash: str


class KeyPhraseStore(Protocol):
    def count_missing(self) -> int:
        """Papers with no key phrases."""

    def missing(self, after_id: int, limit: int) -> list[PaperText]:
        """Up to `limit` papers with ids above `after_id` and no key phrases, in id order."""

    def add(self, model: str, rows: Sequence[NewKeyPhrases]) -> None:
        """Store in one transaction; a paper that has its phrases already keeps them."""

    def drop_stale(self, text_hashes: dict[int, str]) -> int:
        """Delete the phrases of these papers (by paper id) made from another text; return how many."""

    def count(self) -> int: ...

    def phrases_after(self, after_id: int, limit: int) -> list[tuple[int, list[str]]]:
        """(paper id, phrases) of up to `limit` papers with ids above `after_id`, in id order."""


_MISSING = ~exists().where(key_phrases.c.paper_id == papers.c.id)


class SqlKeyPhrases:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count_missing(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers).where(_MISSING)).scalar_one()

    def missing(self, after_id: int, limit: int) -> list[PaperText]:
        query = (
            select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract)
            .where(papers.c.id > after_id, _MISSING)
            .order_by(papers.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [PaperText(r.id, r.arxiv_id, r.title, r.abstract) for r in conn.execute(query)]

    def lacking(self, arxiv_ids: Sequence[str]) -> list[PaperText]:
        """Those of these papers that have no key phrases."""
        found: list[PaperText] = []
        with self.engine.connect() as conn:
            for start in range(0, len(arxiv_ids), READ_CHUNK):
                query = select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract).where(
                    papers.c.arxiv_id.in_(list(arxiv_ids[start : start + READ_CHUNK])), _MISSING
                )
                found += [PaperText(r.id, r.arxiv_id, r.title, r.abstract) for r in conn.execute(query)]
        return found

    def add(self, model: str, rows: Sequence[NewKeyPhrases]) -> None:
        if not rows:
            return
        now = datetime.now(UTC)
        values = [
            {
                "paper_id": int(row.paper_id),
                "phrases": list(row.phrases),
                "key_sentence": row.key_sentence,
                "model": model,
                "text_hash": row.text_hash,
                "created_at": now,
            }
            for row in rows
        ]
        insert = conflict_insert(self.engine.dialect.name, key_phrases)
        with write_transaction(self.engine) as conn:
            conn.execute(insert.on_conflict_do_nothing(index_elements=["paper_id"]), values)

    def drop_stale(self, text_hashes: dict[int, str]) -> int:
        stale: list[int] = []
        ids = list(text_hashes)
        with self.engine.connect() as conn:
            for start in range(0, len(ids), READ_CHUNK):
                query = select(key_phrases.c.paper_id, key_phrases.c.text_hash).where(
                    key_phrases.c.paper_id.in_(ids[start : start + READ_CHUNK])
                )
                stale += [pid for pid, digest in conn.execute(query) if text_hashes.get(pid) != digest]
        if stale:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(key_phrases).where(key_phrases.c.paper_id.in_(stale)))
        return len(stale)

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(key_phrases)).scalar_one()

    def phrases_after(self, after_id: int, limit: int) -> list[tuple[int, list[str]]]:
        query = (
            select(key_phrases.c.paper_id, key_phrases.c.phrases)
            .where(key_phrases.c.paper_id > after_id)
            .order_by(key_phrases.c.paper_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(pid, list(phrases or [])) for pid, phrases in conn.execute(query)]

    def all_phrases(self) -> Iterator[tuple[int, list[str]]]:
        last = 0
        while True:
            chunk = self.phrases_after(last, 20_000)
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]
