"""What kind of query this is, and how much each ranking weighs for it. Pure: no engine, no model.

A query is sorted into one of five kinds, each fused with its own weight (measured: docs/search.md):

- `id`: it names an arXiv id. Only the keyword list can find that paper.
- `author`: `author:` terms, or bare words that are an author's name in the index (the caller checks).
- `phrase`: a "quoted phrase": the reader asks for those words as a unit.
- `topical`: one to four words, a topic ("chain of thought", "3d gaussian splatting").
- `long`: five words or more: a description or a pasted abstract.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from dailypapers.search.query import ParsedQuery

QueryKind = Literal["id", "author", "phrase", "topical", "long"]
TOPICAL_MAX_WORDS = 4


@dataclass(frozen=True, slots=True)
class Ranking:
    """Every knob of the ranking. The default is what ships (RANKINGS["now"]); "before" is the ranking of
    before issue 17, kept so that the quality benchmark measures both in one run."""

    title_boost: float = 3.0
    topical_title_boost: float = 3.0  # the title's weight for queries of 1-4 bare words
    # Topical queries of 2+ words: BM25 of the words as a phrase (slop: words allowed between), this much
    # on top of the words' own BM25 (title and abstract; the title's times title_boost).
    phrase_boost: float = 0.0
    phrase_slop: int = 0
    # Learned acronyms: the other form of each (LLM <-> large language model), as an optional clause.
    acronym_boost: float = 0.0
    acronyms_in_meaning: bool = False  # embed "llm (large language model)" instead of "llm"
    # Keyword weight of the convex fusion, by kind of query.
    weights: tuple[tuple[str, float], ...] = (
        ("id", 0.8),
        ("author", 0.8),
        ("phrase", 0.8),
        ("topical", 0.8),
        ("long", 0.8),
    )
    # Pseudo-relevance feedback: the semantic query becomes the query's vector plus `prf_weight` times the
    # mean vector of the top `prf_docs` keyword hits (topical queries only), renormalized.
    prf_docs: int = 0
    prf_weight: float = 0.0
    author_check: bool = False  # look bare words up as an author's name (one small index query)

    def keyword_weight(self, kind: QueryKind) -> float:
        return dict(self.weights).get(kind, 0.8)

    def with_weight(self, kind: QueryKind, weight: float) -> Ranking:
        return replace(self, weights=tuple((k, weight if k == kind else w) for k, w in self.weights))


@dataclass(frozen=True, slots=True)
class QueryProfile:
    kind: QueryKind
    words: int  # bare words and the words of quoted phrases


def classify(parsed: ParsedQuery, *, has_arxiv_id: bool, names_author: bool) -> QueryProfile:
    """The kind of a parsed query; the caller says whether it holds an arXiv id or names an author."""
    count = len(parsed.words) + sum(len(p.split()) for p in parsed.phrases)
    if has_arxiv_id:
        kind: QueryKind = "id"
    elif parsed.authors or names_author:
        kind = "author"
    elif parsed.phrases:
        kind = "phrase"
    elif count <= TOPICAL_MAX_WORDS:
        kind = "topical"
    else:
        kind = "long"
    return QueryProfile(kind, count)


def mix_feedback(query: np.ndarray, feedback: list[np.ndarray], weight: float) -> np.ndarray:
    """Rocchio's step: the query vector plus `weight` times the mean of the feedback vectors, unit length."""
    if not feedback or weight <= 0:
        return query
    mixed = np.asarray(query, dtype=np.float32) + weight * np.mean(np.stack(feedback), axis=0)
    norm = float(np.linalg.norm(mixed))
    return (mixed / norm if norm > 0 else mixed).astype(np.float32)


BEFORE = Ranking()
TOPICAL_WEIGHT = 0.95
LONG_WEIGHT = 0.9
PRF_DOCS = 0
PRF_WEIGHT = 0.0
# Each choice and the figures behind it: docs/search.md, "Short topical queries".
NOW = Ranking(
    topical_title_boost=1.5,
    phrase_boost=4.0,
    phrase_slop=0,
    acronym_boost=0.3,
    author_check=True,
    # An id or a name has no meaning to embed: the keyword list alone (and no embedding to wait for).
    weights=(
        ("id", 1.0),
        ("author", 1.0),
        ("phrase", 0.8),
        ("topical", TOPICAL_WEIGHT),
        ("long", LONG_WEIGHT),
    ),
    prf_docs=PRF_DOCS,
    prf_weight=PRF_WEIGHT,
)
RANKINGS = {"before": BEFORE, "now": NOW}
