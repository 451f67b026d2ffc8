"""Search quality: keyword, semantic and hybrid ranking on a labelled query set built from the real corpus.

    python benchmarks/search_quality.py --workdir /tmp/dp-quality [--subset 20000] [--queries 400] [--seed 7]

The corpus (../shared/data/papers.jsonl.gz, 81,654 papers) or a seeded random subset of it is imported into a
SQLite database in --workdir and indexed with `dailypapers index build` (embedding is the slow step: ~20 min
for all of it on 2 cores; the database is reused by later runs). Then a query set is built from the same
papers, deterministically from --seed, of four kinds:

- `title`: known item. A paper's title with about 40% of its content words dropped (a half-remembered title).
  Relevant: that paper (and any paper with the same title).
- `describe`: known item. 4-7 content words from the paper's abstract that are not in its title, picked among
  moderately rare words (not near-unique names), in abstract order: a description of what the paper does.
- `topic`: a word pair or triple used in 12-120 titles (e.g. "video generation"). Relevant: papers whose title
  holds the phrase (grade 2) or whose abstract holds it at least twice (grade 1).
- `field`: a title term plus the name of an arXiv category (e.g. "robotics imitation learning"). Relevant:
  papers of that category with the term in the title (grade 2) or abstract (grade 1).

Each query runs in each mode through the search service itself (no HTTP), top 100. The report gives MRR@10,
nDCG@10 (graded gains 2^g - 1) and recall@100 per mode, overall and per kind, as Markdown.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common import CORPUS, markdown_table

MODES = ("keyword", "semantic", "hybrid")
KINDS = ("title", "describe", "topic", "field")
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")

# Words that carry no topic in an abstract, on top of English stop words.
FILLER = frozenset(
    """paper propose proposed proposes present presents introduce introduces novel new approach
    approaches method methods results result show shows shown demonstrate demonstrates experiments
    experimental extensive state-of-the-art art existing work works based using use used via well
    also however moreover furthermore significantly significant achieve achieves achieved
    performance effective effectively various different first two three one study studies task tasks
    framework frameworks code available github https http www com across within without while
    whereas thus therefore including include includes several many much often large small high low
    better best outperforms outperform superior strong improve improves improved improvement
    improvements compared existing recent recently demonstrate leverage leverages leveraging enable
    enables enabling provide provides providing furthermore additionally specifically particular
    respectively even still yet may might can could would should must need needs make makes made""".split()
)
STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no
    nor not of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours""".split()
)
CATEGORY_NAMES = {
    "cs.CV": "computer vision",
    "cs.CL": "natural language processing",
    "cs.AI": "artificial intelligence",
    "cs.LG": "machine learning",
    "cs.RO": "robotics",
    "cs.CR": "security",
    "cs.IR": "information retrieval",
    "cs.HC": "human computer interaction",
    "cs.SD": "audio",
    "eess.AS": "speech audio",
    "eess.IV": "image processing",
    "cs.GR": "computer graphics",
    "cs.SE": "software engineering",
    "cs.DC": "distributed computing",
    "cs.IT": "information theory",
    "cs.GT": "game theory",
    "cs.CE": "computational engineering",
    "cs.MA": "multi-agent systems",
    "cs.NE": "neural evolutionary computing",
    "cs.CY": "computers and society",
    "stat.ML": "statistical machine learning",
}


@dataclass(slots=True)
class Paper:
    arxiv_id: str
    title: str
    abstract: str
    categories: list[str]
    title_words: list[str] = field(default_factory=list)
    abstract_words: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Query:
    kind: str
    text: str
    relevant: dict[str, int]  # arXiv id -> grade (1 or 2)
    source: str = ""  # the paper or phrase it was made from


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content(tokens: Iterable[str]) -> list[str]:
    return [t for t in tokens if t not in STOP and t not in FILLER and len(t) > 2 and not t.isdigit()]


def read_corpus(path: Path, subset: int | None) -> list[Paper]:
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            papers.append(Paper(row["arxiv_id"], row["title"], row["abstract"], row.get("categories") or []))
    if subset and subset < len(papers):
        papers = papers[:subset]  # the newest: the file is newest first
    for paper in papers:
        paper.title_words = words(paper.title)
        paper.abstract_words = words(paper.abstract)
    return papers


def _norm_title(title: str) -> str:
    return " ".join(words(title))


def _contains(tokens: list[str], phrase: tuple[str, ...]) -> int:
    n = len(phrase)
    return sum(1 for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n]) == phrase)


def build_queries(papers: list[Paper], count: int, seed: int) -> list[Query]:
    """The labelled query set: deterministic for a corpus, a count and a seed."""
    rng = random.Random(seed)
    share = {"title": 0.3, "describe": 0.3, "topic": 0.2, "field": 0.2}
    wanted = {kind: round(count * part) for kind, part in share.items()}
    by_title: dict[str, list[str]] = defaultdict(list)
    for paper in papers:
        by_title[_norm_title(paper.title)].append(paper.arxiv_id)
    df: Counter[str] = Counter()
    for paper in papers:
        df.update(set(paper.title_words) | set(paper.abstract_words))
    n = len(papers)
    queries: list[Query] = []
    seen: set[str] = set()

    def add(query: Query) -> None:
        if query.text not in seen and query.relevant:
            seen.add(query.text)
            queries.append(query)

    order = list(papers)
    rng.shuffle(order)
    # -- known items from titles --
    made = 0
    for paper in order:
        if made >= wanted["title"]:
            break
        kept = content(paper.title_words)
        if len(kept) < 5:
            continue
        drop = max(1, round(len(kept) * 0.4))
        dropped = set(rng.sample(range(len(kept)), drop))
        text = " ".join(w for i, w in enumerate(kept) if i not in dropped)
        relevant = {a: 2 for a in by_title[_norm_title(paper.title)]}
        add(Query("title", text, relevant, paper.arxiv_id))
        made += 1
    # -- known items described by their abstracts --
    made = 0
    rng.shuffle(order)
    for paper in order:
        if made >= wanted["describe"]:
            break
        title = set(paper.title_words)
        pool = []
        for word in content(paper.abstract_words):
            if word in title or word in pool:
                continue
            if 3 <= df[word] <= 0.02 * n:
                pool.append(word)
        if len(pool) < 6:
            continue
        # Its most telling words by tf-idf, with idf capped so that near-unique names do not always win:
        # words the abstract repeats, said in the abstract's order.
        tf = Counter(paper.abstract_words)
        cap = math.log(n / 20)
        telling = sorted(
            range(len(pool)), key=lambda i: (-tf[pool[i]] * min(math.log(n / df[pool[i]]), cap), i)
        )[:10]
        picked = sorted(rng.sample(telling, rng.randint(4, 6)))
        text = " ".join(pool[i] for i in picked)
        relevant = {a: 2 for a in by_title[_norm_title(paper.title)]}
        add(Query("describe", text, relevant, paper.arxiv_id))
        made += 1
    # -- topics: title phrases --
    phrases: Counter[tuple[str, ...]] = Counter()
    for paper in papers:
        tokens = paper.title_words
        for size in (2, 3):
            for i in range(len(tokens) - size + 1):
                gram = tuple(tokens[i : i + size])
                if all(t not in STOP and t not in FILLER and len(t) > 2 for t in gram):
                    phrases[gram] += 1
    candidates = sorted(g for g, c in phrases.items() if 12 <= c <= 120)
    vocab = {paper.arxiv_id: set(paper.abstract_words) for paper in papers}
    rng.shuffle(candidates)
    made = 0
    for gram in candidates:
        if made >= wanted["topic"]:
            break
        relevant: dict[str, int] = {}
        for paper in papers:
            if _contains(paper.title_words, gram):
                relevant[paper.arxiv_id] = 2
            elif gram[0] in vocab[paper.arxiv_id] and _contains(paper.abstract_words, gram) >= 2:
                relevant[paper.arxiv_id] = 1
        if not 12 <= len(relevant) <= 200:
            continue
        add(Query("topic", " ".join(gram), relevant, " ".join(gram)))
        made += 1
    # -- fields: a title term within an arXiv category --
    by_category: dict[str, list[Paper]] = defaultdict(list)
    for paper in papers:
        for category in paper.categories:
            if category in CATEGORY_NAMES:
                by_category[category].append(paper)
    made = 0
    tries = 0
    categories = sorted(c for c, members in by_category.items() if len(members) >= 50)
    while made < wanted["field"] and categories and tries < 50 * max(1, wanted["field"]):
        tries += 1
        category = rng.choice(categories)
        anchor = rng.choice(by_category[category])
        named = CATEGORY_NAMES[category]
        terms = [
            w
            for w in content(anchor.title_words)
            if 0.0005 * n <= df[w] <= 0.03 * n and not any(w[:5] == v[:5] for v in named.split())
        ]
        if not terms:
            continue
        term = rng.choice(terms)
        relevant = {}
        for paper in by_category[category]:
            if term in paper.title_words:
                relevant[paper.arxiv_id] = 2
            elif paper.abstract_words.count(term) >= 2:
                relevant[paper.arxiv_id] = 1
        if not 8 <= len(relevant) <= 200:
            continue
        add(Query("field", f"{CATEGORY_NAMES[category]} {term}", relevant, f"{category}/{term}"))
        made += 1
    return queries


# -- metrics ------------------------------------------------------------------------------------------------


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    for index, arxiv_id in enumerate(ranked[:k]):
        if arxiv_id in relevant:
            return 1.0 / (index + 1)
    return 0.0


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum((2 ** relevant.get(a, 0) - 1) / math.log2(i + 2) for i, a in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int = 100) -> float:
    return len(set(ranked[:k]) & relevant.keys()) / len(relevant) if relevant else 0.0


def summarize(per_query: dict[str, list[dict]], kinds: Iterable[str] | None = None) -> dict:
    out = {}
    for mode, rows in per_query.items():
        chosen = [r for r in rows if kinds is None or r["kind"] in kinds]
        if not chosen:
            continue
        out[mode] = {
            metric: sum(r[metric] for r in chosen) / len(chosen)
            for metric in ("mrr10", "ndcg10", "recall100")
        }
        out[mode]["n"] = len(chosen)
        latencies = sorted(r["seconds"] for r in chosen)
        out[mode]["median_ms"] = 1000 * latencies[len(latencies) // 2]
    return out


def report(per_query: dict[str, list[dict]]) -> str:
    lines = []
    overall = summarize(per_query)
    rows = [
        [
            mode,
            f"{m['mrr10']:.3f}",
            f"{m['ndcg10']:.3f}",
            f"{m['recall100']:.3f}",
            f"{m['median_ms']:.1f}",
        ]
        for mode, m in overall.items()
    ]
    n = next(iter(overall.values()))["n"]
    lines.append(f"All {n} queries:\n")
    lines.append(markdown_table(["mode", "MRR@10", "nDCG@10", "recall@100", "median ms/query"], rows))
    rows = []
    for kind in KINDS:
        summary = summarize(per_query, [kind])
        for mode, m in summary.items():
            rows.append(
                [kind, m["n"], mode, f"{m['mrr10']:.3f}", f"{m['ndcg10']:.3f}", f"{m['recall100']:.3f}"]
            )
    lines.append("\nBy kind of query:\n")
    lines.append(markdown_table(["kind", "queries", "mode", "MRR@10", "nDCG@10", "recall@100"], rows))
    if {"hybrid", "keyword", "semantic"} <= overall.keys():
        wins = []
        for other in ("keyword", "semantic"):
            better = worse = 0
            for h, o in zip(per_query["hybrid"], per_query[other], strict=True):
                better += h["ndcg10"] > o["ndcg10"] + 1e-9
                worse += h["ndcg10"] < o["ndcg10"] - 1e-9
            wins.append(f"hybrid vs {other}: nDCG@10 higher on {better} queries, lower on {worse}")
        lines.append("\n" + "; ".join(wins) + ".")
    return "\n".join(lines)


# -- fusion study: other ways to combine the two lists, computed offline from them -------------------------

Ranked = list[tuple[str, float]]  # (arXiv id, the engine's score), best first


def fuse_rrf(
    keyword: Ranked, semantic: Ranked, k: float = 60, weight: float = 0.5, depth: int = 100
) -> list[str]:
    """Weighted reciprocal rank fusion: weight/(k + keyword rank) + (1 - weight)/(k + semantic rank)."""
    keyword, semantic = keyword[:depth], semantic[:depth]
    scores: dict[str, float] = defaultdict(float)
    for rank, (arxiv_id, _) in enumerate(keyword, start=1):
        scores[arxiv_id] += weight / (k + rank)
    for rank, (arxiv_id, _) in enumerate(semantic, start=1):
        scores[arxiv_id] += (1 - weight) / (k + rank)
    return sorted(scores, key=lambda a: -scores[a])


def fuse_convex(keyword: Ranked, semantic: Ranked, alpha: float = 0.5, depth: int = 100) -> list[str]:
    """alpha * (BM25 / best BM25) + (1 - alpha) * min-max-normalized cosine, over both top lists."""
    keyword, semantic = keyword[:depth], semantic[:depth]
    scores: dict[str, float] = defaultdict(float)
    if keyword:
        best = keyword[0][1] or 1.0
        for arxiv_id, score in keyword:
            scores[arxiv_id] += alpha * score / best
    if semantic:
        high, low = semantic[0][1], semantic[-1][1]
        span = (high - low) or 1.0
        for arxiv_id, score in semantic:
            scores[arxiv_id] += (1 - alpha) * (score - low) / span
    return sorted(scores, key=lambda a: -scores[a])


FUSIONS = {
    **{
        f"rrf k={k} w={w} N={n}": (fuse_rrf, {"k": k, "weight": w, "depth": n})
        for k in (10, 30, 60)
        for w in (0.5, 0.6, 0.7, 0.8)
        for n in (100, 200)
    },
    **{
        f"convex a={a} N={n}": (fuse_convex, {"alpha": a, "depth": n})
        for a in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9)
        for n in (100, 200)
    },
}
DEPTH = 200  # candidates collected from each list, for the fusion study


def collect(service, arxiv_of: dict[int, str], queries: list[Query], depth: int = 100) -> list[dict]:
    """Each query's keyword, semantic and hybrid lists (with scores and timings), from the service."""
    out = []
    for query in queries:
        lists: dict = {}
        for mode in MODES:
            started = time.perf_counter()
            # The service's hybrid as a page asks for it (its own candidate depth); the lists deeper.
            hits = service.search(query.text, mode=mode, limit=100 if mode == "hybrid" else depth)
            lists[mode + "_s"] = time.perf_counter() - started
            lists[mode] = [(arxiv_of[h.paper_id], h.score) for h in hits if h.paper_id in arxiv_of]
        out.append(lists)
    return out


def metrics_of(ranked: list[str], query: Query) -> dict:
    return {
        "kind": query.kind,
        "mrr10": mrr_at(ranked, query.relevant),
        "ndcg10": ndcg_at(ranked, query.relevant),
        "recall100": recall_at(ranked, query.relevant),
    }


def per_query_of(
    lists: list[dict], queries: list[Query], fusions: dict | None = None
) -> dict[str, list[dict]]:
    """Metrics of the three modes (and of offline fusions, if given) for collected lists."""
    out: dict[str, list[dict]] = {}
    for mode in MODES:
        out[mode] = [
            metrics_of([a for a, _ in got[mode]], q) | {"seconds": got[mode + "_s"]}
            for got, q in zip(lists, queries, strict=True)
        ]
    for name, (function, params) in (fusions or {}).items():
        out[name] = [
            metrics_of(function(got["keyword"], got["semantic"], **params), q) | {"seconds": 0.0}
            for got, q in zip(lists, queries, strict=True)
        ]
    return out


# -- the corpus in a database, indexed ---------------------------------------------------------------------


def dailypapers_command() -> list[str]:
    beside = Path(sys.executable).with_name("dailypapers")
    return [str(beside)] if beside.exists() else [sys.executable, "-m", "dailypapers.cli"]


def bench_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(
        DAILYPAPERS_ENVIRONMENT="development",
        DAILYPAPERS_DATABASE_URL=f"sqlite:///{workdir / 'quality.db'}",
        DAILYPAPERS_DATA_DIR=str(workdir),
    )
    return env


def settings_for(workdir: Path):
    from dailypapers.settings import Settings

    env = bench_env(workdir)
    values = {
        k.removeprefix("DAILYPAPERS_").lower(): v for k, v in env.items() if k.startswith("DAILYPAPERS_")
    }
    return Settings(**values)


def prepare(workdir: Path, papers: list[Paper], vectors: Path | None = None) -> None:
    """Import the papers (once) and bring the search indexes up to date (resumable)."""
    from dailypapers.importers.files import import_file
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore

    workdir.mkdir(parents=True, exist_ok=True)
    marker = workdir / "imported.txt"
    settings = settings_for(workdir)
    if not marker.exists():
        upgrade(settings)
        wanted = {p.arxiv_id for p in papers}
        subset = workdir / "subset.jsonl.gz"
        with (
            gzip.open(CORPUS, "rt", encoding="utf-8") as src,
            gzip.open(subset, "wt", encoding="utf-8") as dst,
        ):
            for line in src:
                if json.loads(line)["arxiv_id"] in wanted:
                    dst.write(line)
        store = SqlStore(make_engine(settings))
        started = time.perf_counter()
        counts = import_file(store, subset)
        store.engine.dispose()
        print(
            f"imported {len(wanted):,} papers in {time.perf_counter() - started:.0f} s: {counts}",
            file=sys.stderr,
        )
        marker.write_text(f"{len(wanted)}\n")
    if vectors is not None:
        load_vectors(settings, vectors)
    started = time.perf_counter()
    subprocess.run([*dailypapers_command(), "index", "build"], env=bench_env(workdir), check=True)
    print(f"index build: {time.perf_counter() - started:.0f} s", file=sys.stderr)


def load_vectors(settings, path: Path) -> None:
    """Store embeddings computed elsewhere for the papers whose stored text they were made from."""
    import numpy as np
    from sqlalchemy import select

    from dailypapers.search.embedder import document_text, text_hash
    from dailypapers.search.indexer import Indexer
    from dailypapers.store.engine import make_engine
    from dailypapers.store.schema import papers as papers_table

    ids = Path(f"{path}.ids").read_text().split()
    vectors = np.load(path)
    engine = make_engine(settings)
    with engine.connect() as conn:
        texts = {
            r.arxiv_id: document_text(r.title, r.abstract)
            for r in conn.execute(
                select(papers_table.c.arxiv_id, papers_table.c.title, papers_table.c.abstract)
            )
        }
    known = [i for i, a in enumerate(ids) if a in texts]
    hashes = [text_hash(texts[ids[i]]) for i in known]
    loaded = Indexer(engine, settings).load_embeddings(
        settings.embedding_model, [ids[i] for i in known], vectors[known], hashes
    )
    engine.dispose()
    print(f"loaded {loaded:,} precomputed embeddings from {path}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dailypapers-quality"))
    parser.add_argument("--subset", type=int, default=0, help="the N newest papers of the corpus (0: all)")
    parser.add_argument(
        "--vectors",
        type=Path,
        help="precomputed embeddings (.npy, float32, with a .npy.ids file of arXiv ids, one a line) by the "
        "configured model and settings, loaded instead of embedding those papers again",
    )
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-build", action="store_true", help="use the indexes as they are")
    parser.add_argument("--json", type=Path, help="write per-query figures here")
    parser.add_argument("--show", type=int, default=0, help="print this many example queries of each kind")
    parser.add_argument(
        "--tune-seed", type=int, help="also compare fusions, tuned on the query set of this seed"
    )
    args = parser.parse_args()

    papers = read_corpus(CORPUS, args.subset or None)
    queries = build_queries(papers, args.queries, args.seed)
    counts = Counter(q.kind for q in queries)
    print(f"{len(papers):,} papers, {len(queries)} queries: {dict(counts)}", file=sys.stderr)
    for kind in KINDS:
        for query in [q for q in queries if q.kind == kind][: args.show]:
            print(
                f"  {kind:9} {query.text!r} -> {len(query.relevant)} relevant ({query.source})",
                file=sys.stderr,
            )
    if not args.skip_build:
        prepare(args.workdir, papers, args.vectors)

    from sqlalchemy import select

    from dailypapers.search.service import build_search
    from dailypapers.store.engine import make_engine
    from dailypapers.store.schema import papers as papers_table

    settings = settings_for(args.workdir)
    engine = make_engine(settings)
    with engine.connect() as conn:
        arxiv_of = dict(conn.execute(select(papers_table.c.id, papers_table.c.arxiv_id)).all())
    service = build_search(settings, engine)

    service.search("warm up the model", mode="semantic")
    lists = collect(service, arxiv_of, queries, DEPTH if args.tune_seed is not None else 100)
    per_query = per_query_of(lists, queries)
    print(f"\nSearch quality on {len(papers):,} papers (seed {args.seed}):\n")
    print(report(per_query))
    result = {"queries": [asdict(q) for q in queries], "runs": per_query}
    if args.tune_seed is not None:
        result["tuning"] = tune(service, arxiv_of, papers, args, lists, queries)
    if args.json:
        args.json.write_text(json.dumps(result))


def tune(service, arxiv_of, papers, args, lists, queries) -> dict:
    """Pick the best fusion on a separate query set (another seed), then report it on the evaluation set."""
    tuning_queries = build_queries(papers, args.queries, args.tune_seed)
    evaluation_texts = {q.text for q in queries}
    tuning_queries = [q for q in tuning_queries if q.text not in evaluation_texts]
    tuning = per_query_of(collect(service, arxiv_of, tuning_queries, DEPTH), tuning_queries, FUSIONS)
    ranking = sorted(
        ((summarize({n: rows})[n]["ndcg10"], n) for n, rows in tuning.items() if n in FUSIONS), reverse=True
    )
    print(
        f"\nFusions on the tuning set ({len(tuning_queries)} queries, seed {args.tune_seed}), by nDCG@10:\n"
    )
    rows = [[name, f"{score:.3f}"] for score, name in ranking[:8]]
    hybrid = summarize({"hybrid": tuning["hybrid"]})["hybrid"]["ndcg10"]
    rows.append(["(the service's hybrid)", f"{hybrid:.3f}"])
    print(markdown_table(["fusion", "nDCG@10"], rows))
    best_rrf = next(n for _, n in ranking if n.startswith("rrf"))
    best_convex = next(n for _, n in ranking if n.startswith("convex"))
    chosen = {n: FUSIONS[n] for n in dict.fromkeys([best_rrf, best_convex, "rrf k=60 w=0.5 N=100"])}
    evaluation = per_query_of(lists, queries, chosen)
    print(f"\nThe best fusions of the tuning set, on the evaluation set (seed {args.seed}):\n")
    print(report(evaluation))
    return {"tuning_ranking": ranking, "evaluation": evaluation}


if __name__ == "__main__":
    main()
