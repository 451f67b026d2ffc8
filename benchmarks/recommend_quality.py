"""For you's ranking against the methods the peers use, on readers simulated from the real corpus.

    python benchmarks/recommend_quality.py --db /tmp/foryou-full.db [--readers 25] [--seed 7] [--json x.json]

--db is a copy of a database holding the whole corpus with its all-MiniLM-L6-v2 embeddings (never the shared
one itself: `sqlite3 /work/bench-cache/full.db ".backup /tmp/foryou-full.db"`). Metadata (authors, dates,
upvotes, categories) come from ../shared/data/papers.jsonl.gz; vectors from the database.

Readers. For each of four test months (2025-10, 2025-12, 2026-02, 2026-04) the pool is every paper published
that month (~3,000-6,600). An author with at least 5 papers before the month and at least 2 in it is a
one-interest reader: their (up to 20) latest earlier papers are the likes, their papers of the month are what
they want. A two-interest reader joins two such authors of the same month whose likes are far apart (cosine of
mean vectors < 0.5): likes and targets are the union. The author who defines a reader is masked from every
text (the lexical methods see authors, as arxiv-sanity-lite does): else "find this name" would be the task.
--dev draws a disjoint development set of readers; the weights in dailypapers.recommend.ranking
were set on those, and the figures in docs/benchmarks.md are from the test readers.

Methods, each as its project does it:
- `popularity` (Hugging Face Daily Papers): by upvotes.
- `zotero-arxiv-daily`: similarity to every liked paper, weighted by recency (1/(1+log10(rank+1)),
  normalised; newest first), summed.
- `nearest liked`: the highest cosine to any liked paper.
- `arxiv-sanity-lite`: its compute.py TF-IDF (title, abstract and authors; 1-2-grams, max_features 10,000,
  min_df 5, max_df 0.5, sublinear tf) fitted on the whole corpus, and its serve.py LinearSVC
  (class_weight balanced, C=0.01, tol 1e-6, max_iter 10,000) trained with the likes as positives and every
  other paper of the corpus (pool included) as negatives.
- `scholar-inbox`: logistic regression over the embeddings, the likes against random negatives (20 per like,
  at least 200, drawn from papers before the month), class_weight balanced.
- `for-you`: dailypapers.recommend.ranking.recommend, as the web app calls it.

Metrics per kind of reader: nDCG@20 (binary gains) and recall@50, means over readers.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import sqlite3
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import CORPUS, markdown_table
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from dailypapers.recommend.ranking import Pool, Seed, recommend

MONTHS = ("2026-06",)
NEGATIVE_POOL = 1000  # earlier papers embedded once, from which scholar-inbox draws its random negatives
MIN_HISTORY = 5
MIN_TARGETS = 2
MAX_LIKES = 20
METHODS = (
    "popularity",
    "zotero-arxiv-daily",
    "nearest liked",
    "arxiv-sanity-lite",
    "scholar-inbox",
    "for-you",
)


@dataclass
class Corpus:
    arxiv_ids: list[str]
    titles: list[str]
    abstracts: list[str]
    authors: list[list[str]]
    months: list[str]
    dates: list[str]
    upvotes: np.ndarray
    categories: list[list[str]]
    vectors: np.ndarray  # (N, 384) float32


@dataclass
class Reader:
    kind: str
    month: str
    names: tuple[str, ...]
    likes: list[int]  # corpus indices, newest first
    targets: set[int]


def load(db: Path, cache: Path) -> Corpus:
    rows = []
    with gzip.open(CORPUS, "rt") as fh:
        for line in fh:
            d = json.loads(line)
            rows.append(d)
    index = {d["arxiv_id"]: i for i, d in enumerate(rows)}
    if cache.exists():
        vectors = np.load(cache)["vectors"]
    else:
        vectors = np.zeros((len(rows), 384), dtype=np.float32)
        found = 0
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        query = "SELECT p.arxiv_id, e.vector FROM embeddings e JOIN papers p ON p.id = e.paper_id"
        for arxiv_id, blob in conn.execute(query):
            i = index.get(arxiv_id)
            if i is not None:
                vectors[i] = np.frombuffer(blob, dtype="<f2").astype(np.float32)
                found += 1
        conn.close()
        print(f"{found:,} embeddings of {len(rows):,} papers", file=sys.stderr)
        np.savez(cache, vectors=vectors)
    return Corpus(
        [d["arxiv_id"] for d in rows],
        [d["title"] for d in rows],
        [d["abstract"] for d in rows],
        [d["authors"] for d in rows],
        [d["published_at"][:7] for d in rows],
        [d["published_at"][:19] for d in rows],
        np.array([d.get("upvotes") or 0 for d in rows], dtype=np.float32),
        [d.get("categories") or [] for d in rows],
        vectors,
    )


def make_readers(
    corpus: Corpus, rng: random.Random, per_month: int, dev: bool, months: tuple[str, ...]
) -> list[Reader]:
    by_author: dict[str, list[int]] = defaultdict(list)
    for i, names in enumerate(corpus.authors):
        for name in names:
            by_author[name].append(i)
    readers: list[Reader] = []
    for month in months:
        singles: list[Reader] = []
        for name, papers in sorted(by_author.items()):
            before = sorted((i for i in papers if corpus.months[i] < month), key=lambda i: corpus.dates[i])
            during = {i for i in papers if corpus.months[i] == month}
            if len(before) >= MIN_HISTORY and len(during) >= MIN_TARGETS and len(name.split()) >= 2:
                likes = list(reversed(before[-MAX_LIKES:]))
                singles.append(Reader("one interest", month, (name,), likes, during))
        rng.shuffle(singles)
        # Even positions are the test readers, odd ones the development readers: disjoint by construction.
        chosen = singles[1 if dev else 0 :: 2][:per_month]
        readers += chosen
        means = [corpus.vectors[r.likes].mean(axis=0) for r in chosen]
        means = [m / (np.linalg.norm(m) or 1) for m in means]
        pairs = 0
        used = [0] * len(chosen)
        for a in range(len(chosen)):
            for b in range(a + 1, len(chosen)):
                if pairs >= per_month or used[a] >= 2:
                    break
                ra, rb = chosen[a], chosen[b]
                if used[b] >= 2 or set(ra.likes) & set(rb.likes) or float(means[a] @ means[b]) >= 0.5:
                    continue
                likes = [i for pair in zip(ra.likes, rb.likes, strict=False) for i in pair]
                likes += ra.likes[len(rb.likes) :] + rb.likes[len(ra.likes) :]
                readers.append(
                    Reader("two interests", month, ra.names + rb.names, likes, ra.targets | rb.targets)
                )
                pairs += 1
                used[a] += 1
                used[b] += 1
    return readers


def ndcg(ranked: list[int], relevant: set[int], k: int = 20) -> float:
    gain = sum(1 / math.log2(r + 2) for r, i in enumerate(ranked[:k]) if i in relevant)
    ideal = sum(1 / math.log2(r + 2) for r in range(min(k, len(relevant))))
    return gain / ideal if ideal else 0.0


def recall(ranked: list[int], relevant: set[int], k: int = 50) -> float:
    return len(set(ranked[:k]) & relevant) / len(relevant) if relevant else 0.0


def top(scores: np.ndarray, pool: np.ndarray, k: int = 50) -> list[int]:
    order = np.argsort(-scores, kind="stable")[:k]
    return [int(pool[i]) for i in order]


def embed_missing(corpus: Corpus, indices: list[int], db: Path) -> None:
    """Embed (as `dailypapers index build` does, same model and settings) the papers these readers liked and
    the negatives' pool where the database has no vector yet; kept beside the database for the next run."""
    from dailypapers.search.embedder import SentenceEmbedder, document_text
    from dailypapers.settings import Settings

    cache = db.with_suffix(".extra-vectors.npz")
    extra: dict[str, np.ndarray] = {}
    if cache.exists():
        with np.load(cache) as data:
            extra = dict(zip([str(a) for a in data["arxiv_ids"]], data["vectors"], strict=True))
    missing = [i for i in indices if np.linalg.norm(corpus.vectors[i]) == 0]
    todo = [i for i in missing if corpus.arxiv_ids[i] not in extra]
    if todo:
        started = time.monotonic()
        embedder = SentenceEmbedder.from_settings(Settings(environment="development"))
        texts = [document_text(corpus.titles[i], corpus.abstracts[i]) for i in todo]
        vectors = embedder.embed_documents(texts)
        for i, vector in zip(todo, vectors, strict=True):
            extra[corpus.arxiv_ids[i]] = np.asarray(vector, dtype=np.float16).astype(np.float32)
        np.savez(cache, arxiv_ids=np.array(list(extra)), vectors=np.stack(list(extra.values())))
        print(f"embedded {len(todo):,} papers in {time.monotonic() - started:.0f} s", file=sys.stderr)
    for i in missing:
        corpus.vectors[i] = extra[corpus.arxiv_ids[i]]


class Bench:
    def __init__(self, corpus: Corpus, seed: int, months: tuple[str, ...], negatives: np.ndarray) -> None:
        self.corpus = corpus
        self.rng = np.random.default_rng(seed)
        self.negatives = negatives
        embedded = np.linalg.norm(corpus.vectors, axis=1) > 0
        # The pool: the month's papers with an embedding (the whole month once the database has them all).
        self.pools = {
            m: np.array([i for i, mm in enumerate(corpus.months) if mm == m and embedded[i]]) for m in months
        }
        for m in months:
            total = sum(1 for mm in corpus.months if mm == m)
            print(f"pool {m}: {len(self.pools[m]):,} of its {total:,} papers embedded", file=sys.stderr)
        self.sanity_cache: dict[tuple[str, ...], object] = {}
        self.pool_cache: dict[str, Pool] = {}

    def sanity_features(self, cache: Path):
        """arxiv-sanity-lite's compute.py over the whole corpus (fitted once; kept beside the database)."""
        from scipy import sparse

        if cache.exists():
            self.sanity_x = sparse.load_npz(cache).tocsc()
            vocabulary = json.loads(cache.with_suffix(".vocabulary.json").read_text())
            self.sanity_vocabulary = vocabulary
            self.sanity_analyzer = TfidfVectorizer(
                strip_accents="unicode",
                lowercase=True,
                stop_words="english",
                token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
                ngram_range=(1, 2),
            ).build_analyzer()
            return
        c = self.corpus
        docs = [" ".join([c.titles[i], c.abstracts[i], " ".join(c.authors[i])]) for i in range(len(c.titles))]
        v = TfidfVectorizer(
            input="content",
            encoding="utf-8",
            decode_error="replace",
            strip_accents="unicode",
            lowercase=True,
            analyzer="word",
            stop_words="english",
            token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
            ngram_range=(1, 2),
            max_features=10000,
            norm="l2",
            use_idf=True,
            smooth_idf=True,
            sublinear_tf=True,
            max_df=0.5,
            min_df=5,
        )
        self.sanity_x = v.fit_transform(docs).astype(np.float32).tocsc()
        self.sanity_analyzer = v.build_analyzer()
        self.sanity_vocabulary = {term: int(column) for term, column in v.vocabulary_.items()}
        sparse.save_npz(cache, self.sanity_x.tocsr())
        cache.with_suffix(".vocabulary.json").write_text(json.dumps(self.sanity_vocabulary))

    def sanity_masked(self, names: tuple[str, ...]):
        """The features, the columns of the defining authors' names (their words and word pairs) zeroed."""
        columns = {
            self.sanity_vocabulary[t]
            for n in names
            for t in self.sanity_analyzer(n)
            if t in self.sanity_vocabulary
        }
        x = self.sanity_x
        if columns:
            x = x.copy()
            for col in columns:
                x.data[x.indptr[col] : x.indptr[col + 1]] = 0
        return x.tocsr()

    def run(self, reader: Reader, sanity_x, methods: list[str]) -> dict[str, list[int]]:
        c = self.corpus
        pool = self.pools[reader.month]
        likes = reader.likes
        out: dict[str, list[int]] = {}
        out["popularity"] = top(c.upvotes[pool] + self.rng.random(len(pool)) * 1e-3, pool)
        liked_vectors = c.vectors[likes]
        sims = c.vectors[pool] @ liked_vectors.T
        weights = 1 / (1 + np.log10(np.arange(len(likes)) + 1))
        out["zotero-arxiv-daily"] = top((sims * (weights / weights.sum())).sum(axis=1) * 10, pool)
        out["nearest liked"] = top(sims.max(axis=1), pool)
        if sanity_x is not None:
            y = np.zeros(len(c.titles), dtype=np.int32)
            y[likes] = 1
            svm = LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
            svm.fit(sanity_x, y)
            out["arxiv-sanity-lite"] = top(svm.decision_function(sanity_x[pool]), pool)
        earlier = np.array(
            [i for i in range(len(c.titles)) if c.months[i] < reader.month and i not in set(likes)]
        )
        negatives = self.rng.choice(earlier, size=max(200, 20 * len(likes)), replace=False)
        x = np.concatenate([liked_vectors, c.vectors[negatives]])
        labels = np.concatenate([np.ones(len(likes)), np.zeros(len(negatives))])
        logistic = LogisticRegression(class_weight="balanced", max_iter=1000).fit(x, labels)
        out["scholar-inbox"] = top(logistic.decision_function(c.vectors[pool]), pool)
        if "for-you" in methods:
            out["for-you"] = self.for_you(reader)
        return out

    def for_you(self, reader: Reader) -> list[int]:
        """As the web app ranks: title and abstract (no authors, so nothing to mask), one pool per month whose
        TF-IDF is fitted once and shared by every reader, as the service keeps it."""
        c = self.corpus
        pool_indices = self.pools[reader.month]
        pool = self.pool_cache.get(reader.month)
        if pool is None:
            pool = Pool(
                ids=[int(i) for i in pool_indices],
                vectors=c.vectors[pool_indices],
                texts=[f"{c.titles[i]}. {c.abstracts[i]}" for i in pool_indices],
                categories=[c.categories[i] for i in pool_indices],
                popularity=c.upvotes[pool_indices],
                authors=[c.authors[i] for i in pool_indices],
            )
            self.pool_cache[reader.month] = pool
        # The defining authors are masked from the likes' authors: they cannot be matched, as for the SVM.
        seeds = [
            Seed(
                int(i),
                c.titles[i],
                f"{c.titles[i]}. {c.abstracts[i]}",
                c.vectors[i],
                "like",
                tuple(a for a in c.authors[i] if a not in reader.names),
            )
            for i in reader.likes
        ]
        picks = recommend(pool, seeds, limit=50)
        return [int(pool_indices[p.index]) for p in picks]


def kept_complete(args, readers: list[Reader], methods: list[str]) -> bool:
    """Whether every baseline ranking of these readers is kept from an earlier run."""
    path = args.db.with_suffix(f".rankings-{'dev' if args.dev else 'test'}-{args.seed}.json")
    if not path.exists():
        return False
    kept = json.loads(path.read_text())
    return all(
        m in kept.get("|".join(r.names) + "@" + r.month, {})
        for r in readers
        for m in methods
        if m != "for-you"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--readers", type=int, default=25, help="one-interest readers per month (and pairs)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--months", default=",".join(MONTHS), help="test months, comma-separated (YYYY-MM)")
    parser.add_argument("--dev", action="store_true", help="the development readers instead of the test ones")
    parser.add_argument("--only", default="", help="comma-separated methods (default: all)")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--kept-only",
        action="store_true",
        help="only the readers whose baselines an earlier run kept (a cut run)",
    )
    args = parser.parse_args()
    started = time.monotonic()
    months = tuple(args.months.split(","))
    corpus = load(args.db, args.db.with_suffix(".vectors.npz"))
    readers = make_readers(corpus, random.Random(args.seed), args.readers, args.dev, months)
    rng = random.Random(args.seed + 1)
    negatives = np.array(
        rng.sample([i for i, m in enumerate(corpus.months) if m < min(months)], NEGATIVE_POOL)
    )
    embed_missing(corpus, sorted({i for r in readers for i in r.likes} | set(negatives.tolist())), args.db)
    for reader in readers:  # a target without an embedding cannot be in the pool
        reader.targets = {i for i in reader.targets if np.linalg.norm(corpus.vectors[i]) > 0}
    readers = [r for r in readers if r.targets]
    # One kind after the other would leave a cut-short run with one kind only: alternate them.
    singles = [r for r in readers if len(r.names) == 1]
    pairs = [r for r in readers if len(r.names) == 2]
    readers = [r for pair in zip(singles, pairs, strict=False) for r in pair]
    readers += singles[len(pairs) :] + pairs[len(singles) :]
    methods = [m for m in METHODS if not args.only or m in args.only.split(",")]
    if args.kept_only:
        path = args.db.with_suffix(f".rankings-{'dev' if args.dev else 'test'}-{args.seed}.json")
        kept_now = json.loads(path.read_text()) if path.exists() else {}
        readers = [
            r
            for r in readers
            if all(
                m in kept_now.get("|".join(r.names) + "@" + r.month, {}) for m in methods if m != "for-you"
            )
        ]
    bench = Bench(corpus, args.seed, months, negatives)
    if "arxiv-sanity-lite" in methods and not kept_complete(args, readers, methods):
        bench.sanity_features(args.db.with_suffix(".sanity.npz"))
        print(f"arxiv-sanity-lite features: {time.monotonic() - started:.0f} s", file=sys.stderr)
    results: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    # The baselines' rankings of these readers, kept: tuning for-you reruns only for-you.
    kept_path = args.db.with_suffix(f".rankings-{'dev' if args.dev else 'test'}-{args.seed}.json")
    kept = json.loads(kept_path.read_text()) if kept_path.exists() else {}
    for n, reader in enumerate(readers):
        key = "|".join(reader.names) + "@" + reader.month
        baselines = [m for m in methods if m != "for-you" and m not in kept.get(key, {})]
        if baselines:
            sanity_x = bench.sanity_masked(reader.names) if "arxiv-sanity-lite" in baselines else None
            ranked = bench.run(reader, sanity_x, baselines)
            kept.setdefault(key, {}).update({m: ranked[m] for m in baselines if m in ranked})
            kept_path.write_text(json.dumps(kept))
        ranked = {m: kept[key][m] for m in methods if m != "for-you" and m in kept.get(key, {})}
        if "for-you" in methods:
            ranked["for-you"] = bench.for_you(reader)
        for method in methods:
            if method in ranked:
                results[reader.kind][method].append(
                    (ndcg(ranked[method], reader.targets), recall(ranked[method], reader.targets))
                )
        if n % 10 == 0:
            print(f"{n}/{len(readers)} readers, {time.monotonic() - started:.0f} s", file=sys.stderr)
    rows = []
    summary: dict[str, dict[str, dict[str, float]]] = {}
    for kind, by_method in results.items():
        summary[kind] = {}
        for method in methods:
            values = by_method.get(method)
            if not values:
                continue
            nd = float(np.mean([v[0] for v in values]))
            rc = float(np.mean([v[1] for v in values]))
            summary[kind][method] = {"ndcg@20": nd, "recall@50": rc, "readers": len(values)}
            rows.append([kind, method, str(len(values)), f"{nd:.4f}", f"{rc:.4f}"])
    print(markdown_table(["readers", "method", "n", "nDCG@20", "recall@50"], rows))
    for kind, by_method in summary.items():
        baselines = {m: v for m, v in by_method.items() if m != "for-you"}
        if "for-you" in by_method and baselines:
            for metric in ("ndcg@20", "recall@50"):
                best = max(baselines, key=lambda m: baselines[m][metric])
                gain = (
                    by_method["for-you"][metric] / baselines[best][metric] - 1
                    if baselines[best][metric]
                    else 0
                )
                print(f"{kind}: for-you {metric} {gain:+.1%} over the best baseline ({best})")
    print(f"{len(readers)} readers, {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
