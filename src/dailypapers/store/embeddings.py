"""The `embeddings` table: one vector per paper and model, the source of truth for semantic search.

Vectors are stored as given (bytes; dailypapers.search.vectors says how they are encoded), with a hash of the
text they were made from, so a paper whose title or abstract changed is embedded again. `id` only grows, so a
vector index file records the highest id it holds and catches up with `id > watermark`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from sqlalchemy import Engine, and_, delete, exists, func, select

from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.schema import embeddings, papers


@dataclass(frozen=True, slots=True)
class PaperText:
    """What a paper's embedding is made from."""

    paper_id: int
    arxiv_id: str
    title: str
    abstract: str


@dataclass(frozen=True, slots=True)
class NewEmbedding:
    paper_id: int
    vector: bytes
    text_hash: str


class StoredVector(NamedTuple):
    """A row of the table as the vector index reads it (a tuple: the index takes them by the thousand)."""

    id: int
    paper_id: int
    vector: bytes


class Embeddings(Protocol):
    def count_missing(self, model: str) -> int:
        """Papers with no embedding by `model`."""

    def missing(self, model: str, after_id: int, limit: int) -> list[PaperText]:
        """Up to `limit` papers with ids above `after_id` and no embedding by `model`, in id order."""

    def lacking(self, model: str, arxiv_ids: Sequence[str]) -> list[PaperText]:
        """Those of these papers that have no embedding by `model`."""

    def add(self, model: str, rows: Sequence[NewEmbedding]) -> None:
        """Store embeddings in one transaction; a paper that has one by `model` already keeps it."""

    def drop_stale(self, text_hashes: dict[int, str]) -> int:
        """Delete the embeddings of these papers (by paper id) made from another text; return how many."""

    def arxiv_ids(self, model: str) -> dict[int, str]:
        """The arXiv id of every paper that has an embedding by `model`, by paper id."""

    def counts_by_model(self) -> dict[str, int]: ...

    def vector(self, paper_id: int, model: str) -> bytes | None: ...

    def has_any(self, paper_id: int) -> bool:
        """Whether the paper has an embedding by any model."""

    def paper_text(self, paper_id: int) -> PaperText | None: ...

    def vectors_after(self, model: str, after_id: int, limit: int) -> list[StoredVector]:
        """Up to `limit` vectors of `model` with ids above `after_id`, in id order."""

    def late_vectors(self, model: str, low: int, high: int, known: Collection[int]) -> list[StoredVector]:
        """The vectors of `model` with ids in (low, high] that are not in `known`."""

    def count_after(self, model: str, after_id: int) -> int:
        """Vectors of `model` with ids above `after_id`."""


READ_CHUNK = 2000  # ids per IN (...) list


def _lacks(model: str):
    return ~exists().where(and_(embeddings.c.paper_id == papers.c.id, embeddings.c.model == model))


_TEXT = select(papers.c.id, papers.c.arxiv_id, papers.c.title, papers.c.abstract)
_VECTORS = select(embeddings.c.id, embeddings.c.paper_id, embeddings.c.vector)


def _text(row) -> PaperText:
    return PaperText(row.id, row.arxiv_id, row.title, row.abstract)


class SqlEmbeddings:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def count_missing(self, model: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers).where(_lacks(model))).scalar_one()

    def missing(self, model: str, after_id: int, limit: int) -> list[PaperText]:
        query = _TEXT.where(papers.c.id > after_id, _lacks(model)).order_by(papers.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [_text(r) for r in conn.execute(query)]

    def lacking(self, model: str, arxiv_ids: Sequence[str]) -> list[PaperText]:
        found: list[PaperText] = []
        with self.engine.connect() as conn:
            for start in range(0, len(arxiv_ids), READ_CHUNK):
                chunk = list(arxiv_ids[start : start + READ_CHUNK])
                query = _TEXT.where(papers.c.arxiv_id.in_(chunk), _lacks(model))
                found += [_text(r) for r in conn.execute(query)]
        return found

    def arxiv_ids(self, model: str) -> dict[int, str]:
        """The arXiv id of every paper that has an embedding by `model`, by paper id."""
        query = select(papers.c.id, papers.c.arxiv_id).where(~_lacks(model))
        with self.engine.connect() as conn:
            return {paper_id: arxiv_id for paper_id, arxiv_id in conn.execute(query)}

    def add(self, model: str, rows: Sequence[NewEmbedding]) -> None:
        if not rows:
            return
        now = datetime.now(UTC)
        values = [
            {
                "paper_id": int(row.paper_id),
                "model": model,
                "vector": row.vector,
                "text_hash": row.text_hash,
                "created_at": now,
            }
            for row in rows
        ]
        insert = conflict_insert(self.engine.dialect.name, embeddings)
        with write_transaction(self.engine) as conn:
            conn.execute(insert.on_conflict_do_nothing(index_elements=["model", "paper_id"]), values)

    def drop_stale(self, text_hashes: dict[int, str]) -> int:
        with self.engine.connect() as conn:
            stored = conn.execute(
                select(embeddings.c.id, embeddings.c.paper_id, embeddings.c.text_hash).where(
                    embeddings.c.paper_id.in_(list(text_hashes))
                )
            ).all()
        stale = [row.id for row in stored if text_hashes.get(row.paper_id) != row.text_hash]
        if stale:
            with write_transaction(self.engine) as conn:
                conn.execute(delete(embeddings).where(embeddings.c.id.in_(stale)))
        return len(stale)

    def counts_by_model(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(
                conn.execute(select(embeddings.c.model, func.count()).group_by(embeddings.c.model)).all()
            )

    def vector(self, paper_id: int, model: str) -> bytes | None:
        query = select(embeddings.c.vector).where(
            embeddings.c.paper_id == paper_id, embeddings.c.model == model
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def has_any(self, paper_id: int) -> bool:
        query = select(embeddings.c.id).where(embeddings.c.paper_id == paper_id).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def paper_text(self, paper_id: int) -> PaperText | None:
        with self.engine.connect() as conn:
            row = conn.execute(_TEXT.where(papers.c.id == paper_id)).first()
        return None if row is None else _text(row)

    def vectors_after(self, model: str, after_id: int, limit: int) -> list[StoredVector]:
        query = (
            _VECTORS.where(embeddings.c.model == model, embeddings.c.id > after_id)
            .order_by(embeddings.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [StoredVector(*row) for row in conn.execute(query)]

    def late_vectors(self, model: str, low: int, high: int, known: Collection[int]) -> list[StoredVector]:
        window = select(embeddings.c.id).where(
            embeddings.c.model == model, embeddings.c.id > low, embeddings.c.id <= high
        )
        with self.engine.connect() as conn:
            late = [i for i in conn.execute(window).scalars() if i not in known]
            if not late:
                return []
            return [StoredVector(*row) for row in conn.execute(_VECTORS.where(embeddings.c.id.in_(late)))]

    def count_after(self, model: str, after_id: int) -> int:
        query = (
            select(func.count())
            .select_from(embeddings)
            .where(and_(embeddings.c.model == model, embeddings.c.id > after_id))
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()
