"""The search seam: what the web, the CLI and the digests ask of search. Pure: no engine imports here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

import numpy as np

Mode = Literal["keyword", "semantic", "hybrid"]
MODES: tuple[Mode, ...] = ("keyword", "semantic", "hybrid")
MAX_QUERY_CHARS = 1000  # longer queries are cut, not refused: people paste abstracts


class InvalidQuery(ValueError):
    """A query that cannot be searched (e.g. empty after cleaning); the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class SearchFilters:
    published_from: date | None = None  # inclusive, on the paper's first publication date
    published_to: date | None = None  # inclusive
    categories: tuple[str, ...] = ()  # any of these arXiv categories
    daily_only: bool = False  # only papers that were on the daily feed


@dataclass(slots=True)
class Hit:
    paper_id: int
    score: float
    # Where the hit came from: 1-based ranks in each list that found it (for explanations and evaluation).
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    extra: dict = field(default_factory=dict)


class Embedder(Protocol):
    """Turns texts into L2-normalized float32 vectors of a fixed dimension."""

    model_name: str
    dimension: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class SearchService(Protocol):
    def search(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        filters: SearchFilters = SearchFilters(),
        offset: int = 0,
        limit: int = 20,
    ) -> list[Hit]: ...

    def similar(self, paper_id: int, *, limit: int = 10) -> list[Hit]: ...
