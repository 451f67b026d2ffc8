"""The personal ranking: a reader's likes and dislikes against a pool of candidate papers.

Each interest is a cluster of liked papers (average-linkage over their embeddings): a paper is scored against
every cluster apart and keeps its best, so two interests never blur into one mean (docs/foryou.md). Against a
cluster a paper scores by four signals, each measured in both spaces, the embedding (all-MiniLM-L6-v2) and
TF-IDF terms of 1-2 words: similarity to the cluster's centre, and to its nearest liked paper. Scores are made
comparable across clusters by standardising each over the pool. Disliked papers pull their neighbours down.
Reasons come from the parts that scored: the nearest liked paper, the shared terms, the keywords, trending.
What the reader follows (authors, organizations, arXiv categories) counts as likes do: a bounded boost on the
papers that match, and a feed of its own for a reader who follows but has liked nothing yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.feature_extraction.text import TfidfVectorizer

from dailypapers.recommend.profiles import KeywordFilter

# Weights of the signals against one cluster (tuned on benchmarks/recommend_quality.py's development readers).
W_DENSE_CENTRE = 1.0
W_LEXICAL_CENTRE = 1.0
W_DENSE_NEAREST = 0.5
W_LEXICAL_NEAREST = 0.5
W_DISLIKE = 1.0
W_AUTHORS = 1.5  # shared authors with a cluster's liked papers (a group one follows writes on)
# A followed author, organization or category adds this much to a paper's score (a standardised one: 1 is a
# standard deviation of the pool), once per kind however many of the paper's authors one follows. A followed
# author is a reader's explicit ask, so it lifts a paper near the top; a category holds thousands of papers,
# so it only tips the balance, about as much as the shared-authors term does inside a cluster.
W_FOLLOW = {"author": 3.0, "org": 1.5, "category": 0.5}
FOLLOW_REASONS = {
    "author": "by {}, whom you follow",
    "org": "from {}, which you follow",
    "category": "in {}, which you follow",
}
# Without likes, popularity only orders papers the follows rank alike (far below the smallest follow term).
FOLLOW_TIE_BREAK = 0.01
# Liked papers closer than this (cosine distance of embeddings, average linkage) are one interest.
CLUSTER_DISTANCE = 0.75
MAX_CLUSTERS = 8
TRENDING_QUANTILE = 0.9  # "trending in cs.CV" when among the pool's top 10 % by popularity


def lexicon(texts: Sequence[str]) -> TfidfVectorizer:
    """A TF-IDF of 1-2 word terms fitted on a pool's texts (English stop words out, sublinear counts)."""
    vectorizer = TfidfVectorizer(
        strip_accents="unicode",
        lowercase=True,
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        sublinear_tf=True,
        min_df=2 if len(texts) >= 50 else 1,
        max_df=0.5,
        dtype=np.float32,
    )
    vectorizer.fit(texts)
    return vectorizer


@dataclass
class Pool:
    """The candidates: one row per paper. `lexical` is built on first use and may be kept (a period's pool
    serves every reader)."""

    ids: Sequence[int]
    vectors: np.ndarray  # (n, d) float32, rows L2-normalised
    texts: Sequence[str]  # title and abstract
    categories: Sequence[Sequence[str]] = ()
    popularity: np.ndarray | None = None  # >= 0, e.g. upvotes or the trending key
    authors: Sequence[Sequence[str]] = ()
    _vectorizer: TfidfVectorizer | None = field(default=None, repr=False)
    _matrix: object = field(default=None, repr=False)
    _names: np.ndarray | None = field(default=None, repr=False)

    def lexical(self):
        if self._vectorizer is None:
            self._vectorizer = lexicon(self.texts)
            self._matrix = self._vectorizer.transform(self.texts).tocsr()
            self._names = self._vectorizer.get_feature_names_out()
        return self._vectorizer, self._matrix

    def term_names(self) -> np.ndarray:
        self.lexical()
        return self._names


@dataclass(frozen=True, slots=True)
class Seed:
    """A paper the reader rated."""

    paper_id: int
    title: str
    text: str
    vector: np.ndarray  # (d,) L2-normalised
    signal: str  # like, dislike
    authors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FollowHit:
    """Something the reader follows that a paper matches: its kind (author, org, category) and name."""

    kind: str
    label: str


@dataclass(frozen=True, slots=True)
class Pick:
    index: int  # into the pool
    score: float
    reasons: tuple[str, ...]


def _standard(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / (spread if spread > 1e-9 else 1.0)


def _normalised(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def interests(vectors: np.ndarray) -> np.ndarray:
    """A cluster label (0..k-1) per liked paper: average linkage over cosine distance, cut at
    CLUSTER_DISTANCE, at most MAX_CLUSTERS."""
    if len(vectors) == 1:
        return np.zeros(1, dtype=int)
    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    labels = fcluster(tree, t=CLUSTER_DISTANCE, criterion="distance")
    if labels.max() > MAX_CLUSTERS:
        labels = fcluster(tree, t=MAX_CLUSTERS, criterion="maxclust")
    return labels - 1


@dataclass
class Scores:
    """Every candidate's score and what made it: its best cluster and that cluster's nearest liked paper."""

    score: np.ndarray
    cluster: np.ndarray
    nearest: np.ndarray  # index into the liked seeds
    dislike: np.ndarray  # similarity to the nearest disliked paper (0 without dislikes)
    liked: list[Seed]
    labels: np.ndarray
    lexical_liked: object  # TF-IDF rows of the liked seeds


def score(pool: Pool, seeds: Sequence[Seed]) -> Scores | None:
    """Score every paper of the pool for these seeds; None without any like (nothing to go on)."""
    liked = [s for s in seeds if s.signal == "like"]
    disliked = [s for s in seeds if s.signal == "dislike"]
    if not liked or not len(pool.ids):
        return None
    vectorizer, matrix = pool.lexical()
    liked_vectors = np.stack([s.vector for s in liked]).astype(np.float32)
    liked_terms = vectorizer.transform([s.text for s in liked])
    dense = pool.vectors @ liked_vectors.T  # (n, m)
    lexical = (matrix @ liked_terms.T).toarray()  # (n, m)
    labels = interests(liked_vectors)
    per_cluster = []
    nearest_of = []
    for k in range(labels.max() + 1):
        members = np.flatnonzero(labels == k)
        centre = _normalised(liked_vectors[members].mean(axis=0, keepdims=True))[0]
        terms = np.asarray(liked_terms[members].mean(axis=0)).ravel()
        norm = np.linalg.norm(terms)
        lexical_centre = matrix @ (terms / norm if norm > 0 else terms)
        if pool.authors:
            weight: dict[str, float] = {}
            for m in members:
                for name in liked[m].authors:
                    weight[name] = weight.get(name, 0.0) + 1.0
            shared = np.array(
                [sum(weight.get(name, 0.0) for name in names) for names in pool.authors], dtype=np.float32
            )
        else:
            shared = np.zeros(len(pool.ids), dtype=np.float32)
        both = dense[:, members] + lexical[:, members]
        nearest = members[both.argmax(axis=1)]
        raw = (
            W_DENSE_CENTRE * _standard(pool.vectors @ centre)
            + W_LEXICAL_CENTRE * _standard(np.asarray(lexical_centre).ravel())
            + W_DENSE_NEAREST * _standard(dense[:, members].max(axis=1))
            + W_LEXICAL_NEAREST * _standard(lexical[:, members].max(axis=1))
            # Not standardised: a feature most papers lack would get outsized z-scores and drown the topic.
            + W_AUTHORS * np.log1p(shared)
        )
        per_cluster.append(_standard(raw))
        nearest_of.append(nearest)
    stacked = np.stack(per_cluster)  # (k, n)
    best = stacked.argmax(axis=0)
    columns = np.arange(len(pool.ids))
    total = stacked[best, columns]
    nearest = np.stack(nearest_of)[best, columns]
    against = np.zeros(len(pool.ids), dtype=np.float32)
    if disliked:
        disliked_vectors = np.stack([s.vector for s in disliked]).astype(np.float32)
        disliked_terms = vectorizer.transform([s.text for s in disliked])
        against = (pool.vectors @ disliked_vectors.T).max(axis=1) + (matrix @ disliked_terms.T).toarray().max(
            axis=1
        )
        closer = against - (dense + lexical).max(axis=1)
        # A paper nearer a disliked paper than any liked one drops by how much nearer it is.
        total = total - W_DISLIKE * np.maximum(closer, 0.0) * 4.0
    return Scores(total, best, nearest, against, liked, labels, liked_terms)


def follow_boost(n: int, follows: Mapping[int, Sequence[FollowHit]]) -> np.ndarray:
    """Per pool paper, the sum of W_FOLLOW over the kinds it matches (`follows`: by pool index)."""
    boost = np.zeros(n, dtype=np.float32)
    for index, hits in follows.items():
        boost[index] = sum(W_FOLLOW[kind] for kind in {hit.kind for hit in hits})
    return boost


def follow_reasons(hits: Sequence[FollowHit]) -> list[str]:
    """One reason per kind ("by Jane Doe, whom you follow"), naming at most two of it."""
    reasons = []
    for kind, template in FOLLOW_REASONS.items():
        labels = list(dict.fromkeys(hit.label for hit in hits if hit.kind == kind))[:2]
        if labels:
            reasons.append(template.format(" and ".join(labels)))
    return reasons


def _shared_terms(names: np.ndarray, paper_row, liked: np.ndarray, limit: int = 2) -> list[str]:
    """The terms a paper shares with the liked papers (`liked`: their highest weight per term) that weigh most
    in both."""
    columns = paper_row.indices
    weight = paper_row.data * liked[columns]
    found: list[str] = []
    for position in np.argsort(-weight)[: limit * 4]:
        if weight[position] <= 0:
            break
        term = str(names[columns[position]])
        if any(term in other or other in term for other in found):
            continue
        found.append(term)
        if len(found) == limit:
            break
    return found


def recommend(
    pool: Pool,
    seeds: Sequence[Seed],
    *,
    keywords: KeywordFilter | None = None,
    categories: Sequence[str] = (),
    exclude: set[int] | frozenset[int] = frozenset(),
    mix: float = 0.0,
    limit: int = 50,
    follows: Mapping[int, Sequence[FollowHit]] | None = None,
) -> list[Pick]:
    """The pool's best papers for these seeds, with reasons. Rated papers (`exclude`) never come back;
    `keywords` and `categories` filter; `mix` (0..1) blends in popularity; `follows` (by pool index: what the
    reader follows that each paper matches) boosts. Without likes or follows: by popularity."""
    keywords = keywords or KeywordFilter()
    follows = follows or {}
    n = len(pool.ids)
    if n == 0:
        return []
    popularity = pool.popularity if pool.popularity is not None else np.zeros(n)
    popular = np.log1p(np.maximum(popularity, 0))
    scores = score(pool, seeds)
    boost = follow_boost(n, follows)
    if scores is not None:
        personal = scores.score + boost
    elif follows:
        personal = boost + FOLLOW_TIE_BREAK * _standard(popular)
    else:
        personal = np.zeros(n)
    blend = min(max(mix, 0.0), 1.0) if scores is not None or follows else 1.0
    total = (1 - blend) * personal + blend * _standard(popular)
    threshold = np.quantile(popularity, TRENDING_QUANTILE) if n else 0
    wanted = set(categories)
    _, matrix = pool.lexical() if scores is not None else (None, None)
    names = pool.term_names() if scores is not None else None
    liked_terms: dict[int, np.ndarray] = {}  # per cluster, its liked papers' highest weight of each term
    picks: list[Pick] = []
    for index in np.argsort(-total, kind="stable"):
        if len(picks) >= limit:
            break
        if pool.ids[index] in exclude:
            continue
        cats = list(pool.categories[index]) if len(pool.categories) else []
        if wanted and not wanted.intersection(cats):
            continue
        passed, mentioned = keywords.matched(pool.texts[index])
        if not passed:
            continue
        hits = follows.get(int(index), ())
        reasons = follow_reasons(hits)
        if scores is not None:
            seed = scores.liked[int(scores.nearest[index])]
            reasons.append(f"like your 👍 on “{seed.title}”")
            cluster = int(scores.cluster[index])
            if cluster not in liked_terms:
                members = np.flatnonzero(scores.labels == cluster)
                liked_terms[cluster] = np.asarray(scores.lexical_liked[members].max(axis=0).todense()).ravel()
            terms = _shared_terms(names, matrix[index], liked_terms[cluster])
            if terms:
                reasons.append("matches " + ", ".join(f"“{t}”" for t in terms))
            if len(pool.authors):
                known = {name for s in scores.liked for name in s.authors}
                # A followed author is named once, by the follow's reason.
                known -= {hit.label for hit in hits}
                shared_names = [name for name in pool.authors[index] if name in known][:2]
                if shared_names:
                    reasons.append("by " + " and ".join(shared_names) + ", of papers you liked")
        for word in mentioned:
            reasons.append(f"mentions “{word}”")
        if popularity[index] > 0 and popularity[index] >= threshold and (blend > 0 or scores is None):
            reasons.append(f"trending in {cats[0]}" if cats else "trending")
        picks.append(Pick(int(index), float(total[index]), tuple(reasons)))
    return picks


def uncertain(pool: Pool, seeds: Sequence[Seed], *, exclude: set[int], limit: int = 10) -> list[int]:
    """Pool indices the model is least sure of (active learning): among the papers scored above the median,
    those nearest the boundary between the likes' pull and the dislikes', spread over the interests. Without
    likes: the most popular."""
    if not len(pool.ids):
        return []
    scores = score(pool, seeds)
    order: np.ndarray
    if scores is None:
        popularity = pool.popularity if pool.popularity is not None else np.zeros(len(pool.ids))
        order = np.argsort(-popularity, kind="stable")
    else:
        # Near the top decile's edge: where one more answer moves the ranking most.
        edge = np.quantile(scores.score, 0.97)
        order = np.argsort(np.abs(scores.score - edge), kind="stable")
    chosen: list[int] = []
    for index in order:
        if pool.ids[index] not in exclude:
            chosen.append(int(index))
        if len(chosen) == limit:
            break
    return chosen
