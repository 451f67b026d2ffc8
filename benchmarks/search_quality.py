"""Search quality by kind of query: keyword, semantic and hybrid, on the whole corpus and Daily Papers only.

    python benchmarks/search_quality.py --database /tmp/sq/full.db --index-dir /tmp/sq/full-index \\
        [--kinds long,dev,aside,author,id] [--scopes all,daily] [--variants before,now] [--json out.json]

The database and indexes are an indexed copy of the whole corpus (81,654 papers, every one embedded; see
docs/search.md for how to make one). Every query runs in every mode through the search service itself (no
HTTP), top 100, one at a time. Five kinds of query, all built deterministically (`--seed`):

- `long`: a known item described at length. 24 of 40 consecutive content words of a paper's abstract (the
  other 16 dropped at random), in order: a paraphrase-like description. Relevant: that paper.
- `dev`: the 500 labelled topics of `../shared/data/search-dev-topics.jsonl` (1-5 words; relevant: the Daily
  Papers Hugging Face tagged with that key phrase). What the ranking was tuned on.
- `aside`: short topics held aside, built here from the corpus and never tuned on. A 1-4 word phrase of Daily
  Papers' abstracts (the length mix of the dev topics; none of them a dev topic); relevant: the Daily Papers
  that use it saliently (in the title, or at least twice in the abstract), 5-40 of them. Hugging Face's key
  phrases are not in the corpus, so this is a stand-in made by another rule; it checks that what was tuned on
  the dev topics is not fitted to them.
- `author`: an author's name as written (no `author:`), an author with 3-30 papers. Relevant: their papers.
- `id`: an arXiv id, as people paste it (bare, `arXiv:`-prefixed, with a version, or as an abs/ URL).

Scopes: `all` searches every paper; `daily` searches with the Daily Papers filter, and counts only relevant
papers that were on Daily Papers (queries without one are left out). Variants: `now` is the ranking as
shipped; `before` switches off everything issue 17 added (the fixed 0.8/0.2 fusion and the plain BM25 query
of before), so that both are measured in the same run. MRR@10, nDCG@10 (gains 2^grade - 1) and recall@100
per kind and mode, and hybrid's median and p95 latency (in process: the engines, not HTTP).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from common import CORPUS, SHARED, markdown_table

MODES = ("keyword", "semantic", "hybrid")
KINDS = ("long", "dev", "aside", "author", "id")
SCOPES = ("all", "daily")
DEV_TOPICS = SHARED / "data" / "search-dev-topics.jsonl"
_WORD = re.compile(r"[a-z0-9][a-z0-9]*(?:-[a-z0-9]+)*")

STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no
    nor not of off on once only or other our ours out over own same she should so some such than
    that the their theirs them then there these they this those through to too under until up very
    was we were what when where which while who whom why will with would you your yours""".split()
)
# Words that name no topic, on top of stop words (a topic neither starts nor ends with one).
FILLER = frozenset(
    """paper propose proposed proposes present presents introduce introduces novel new approach
    approaches method methods results result show shows shown demonstrate demonstrates experiments
    experimental extensive existing work works based using use used via well also however moreover
    furthermore significantly significant achieve achieves achieved performance effective effectively
    various different first two three one study studies task tasks framework frameworks code available
    github https http www com across within without while whereas thus therefore including include
    includes several many much often large small high low better best outperforms outperform superior
    strong improve improves improved improvement improvements compared recent recently leverage
    leverages leveraging enable enables enabling provide provides providing additionally specifically
    particular respectively even still yet may might can could would should must need needs make makes
    made model models data results approach problem problems key critical crucial important however
    given able way ways end art state set sets address addresses fully highly remains remain""".split()
)
ASIDE_LENGTHS = {1: 0.2, 2: 0.67, 3: 0.11, 4: 0.02}  # the dev topics' mix of lengths


@dataclass(slots=True)
class Paper:
    arxiv_id: str
    title: str
    abstract: str
    authors: list[str]
    daily: bool


@dataclass(slots=True)
class Query:
    kind: str
    text: str
    relevant: dict[str, int]  # arXiv id -> grade
    source: str = ""


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content(tokens: Iterable[str]) -> list[str]:
    return [t for t in tokens if t not in STOP and t not in FILLER and len(t) > 2 and not t.isdigit()]


def read_corpus(path: Path = CORPUS) -> list[Paper]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [
            Paper(r["arxiv_id"], r["title"], r["abstract"], r.get("authors") or [], bool(r.get("daily_date")))
            for r in map(json.loads, lines)
        ]


def _count(tokens: list[str], phrase: tuple[str, ...]) -> int:
    n = len(phrase)
    return sum(1 for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n]) == phrase)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _topic_key(text: str) -> tuple[str, ...]:
    return tuple(_singular(w) for w in words(text))


# -- the query sets ---------------------------------------------------------------------------------------


def dev_queries(path: Path = DEV_TOPICS) -> list[Query]:
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [Query("dev", r["query"], {a: 1 for a in r["relevant"]}, "dev") for r in rows]


def long_queries(papers: list[Paper], count: int, rng: random.Random) -> list[Query]:
    by_title: dict[str, list[str]] = defaultdict(list)
    for paper in papers:
        by_title[" ".join(words(paper.title))].append(paper.arxiv_id)
    out = []
    for paper in rng.sample(papers, len(papers)):
        if len(out) >= count:
            break
        tokens = content(words(paper.abstract))
        if len(tokens) < 60:
            continue
        start = rng.randrange(0, len(tokens) - 40)
        window = tokens[start : start + 40]
        kept = sorted(rng.sample(range(40), 24))
        text = " ".join(window[i] for i in kept)
        relevant = {a: 1 for a in by_title[" ".join(words(paper.title))]}
        out.append(Query("long", text, relevant, paper.arxiv_id))
    return out


def aside_queries(papers: list[Paper], count: int, rng: random.Random, exclude: list[Query]) -> list[Query]:
    """Short topics of Daily Papers, labelled by salience (title, or twice in the abstract)."""
    daily = [p for p in papers if p.daily]
    tokenized = [(p.arxiv_id, words(p.title), words(p.abstract)) for p in daily]
    excluded = {_topic_key(q.text) for q in exclude}
    grams: Counter[tuple[str, ...]] = Counter()
    for _, _, abstract in tokenized:
        seen = set()
        for size in ASIDE_LENGTHS:
            for i in range(len(abstract) - size + 1):
                gram = tuple(abstract[i : i + size])
                if gram in seen:
                    continue
                seen.add(gram)
                ends = (gram[0], gram[-1])
                if any(w in STOP or w in FILLER or len(w) < 3 or w.isdigit() for w in ends):
                    continue
                if any(w in STOP and w != "of" for w in gram):  # "mixture of experts", not "of the"
                    continue
                grams[gram] += 1
    pools: dict[int, list[tuple[str, ...]]] = defaultdict(list)
    for gram, df in grams.items():
        if 5 <= df <= 400 and tuple(_singular(w) for w in gram) not in excluded:
            pools[len(gram)].append(gram)
    # The candidates, in a seeded order; their labels from one more pass over the papers.
    order: dict[int, list[tuple[str, ...]]] = {}
    for size, share in ASIDE_LENGTHS.items():
        pool = sorted(pools[size])
        rng.shuffle(pool)
        order[size] = pool[: 25 * round(count * share) + 50]
    wanted_grams = {g for pool in order.values() for g in pool}
    in_title: dict[tuple[str, ...], set[str]] = defaultdict(set)
    in_abstract: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for arxiv_id, title, abstract in tokenized:
        for tokens, seen_in in ((title, None), (abstract, in_abstract)):
            for size in ASIDE_LENGTHS:
                for i in range(len(tokens) - size + 1):
                    gram = tuple(tokens[i : i + size])
                    if gram in wanted_grams:
                        if seen_in is None:
                            in_title[gram].add(arxiv_id)
                        else:
                            seen_in[gram][arxiv_id] += 1
    out: list[Query] = []
    keys: set[tuple[str, ...]] = set()
    for size, share in ASIDE_LENGTHS.items():
        wanted = round(count * share)
        made = 0
        for gram in order[size]:
            if made >= wanted:
                break
            key = tuple(_singular(w) for w in gram)
            if key in keys:
                continue
            salient = in_title[gram] | {a for a, n in in_abstract[gram].items() if n >= 2}
            if not 5 <= len(salient) <= 40:
                continue
            keys.add(key)
            out.append(Query("aside", " ".join(gram), dict.fromkeys(sorted(salient), 1), "aside"))
            made += 1
    return out


def author_queries(papers: list[Paper], count: int, rng: random.Random) -> list[Query]:
    by_author: dict[str, list[str]] = defaultdict(list)
    for paper in papers:
        for name in dict.fromkeys(paper.authors):
            if isinstance(name, str) and len(name.split()) >= 2:
                by_author[name].append(paper.arxiv_id)
    names = sorted(n for n, ids in by_author.items() if 3 <= len(ids) <= 30)
    chosen = rng.sample(names, min(count, len(names)))
    return [Query("author", n, {a: 1 for a in by_author[n]}, n) for n in chosen]


def id_queries(papers: list[Paper], count: int, rng: random.Random) -> list[Query]:
    forms = ("{}", "arXiv:{}", "{}v2", "https://arxiv.org/abs/{}")
    return [
        Query("id", forms[i % len(forms)].format(p.arxiv_id), {p.arxiv_id: 1}, p.arxiv_id)
        for i, p in enumerate(rng.sample(papers, min(count, len(papers))))
    ]


def build_queries(papers: list[Paper], kinds: Iterable[str], seed: int, sizes: dict[str, int]) -> list[Query]:
    """Every query set, deterministic for the corpus and the seed (each kind from its own generator)."""
    dev = dev_queries()
    out = []
    for kind in kinds:
        rng = random.Random(f"{seed}:{kind}")
        if kind == "dev":
            out += dev
        elif kind == "long":
            out += long_queries(papers, sizes["long"], rng)
        elif kind == "aside":
            out += aside_queries(papers, sizes["aside"], rng, dev)
        elif kind == "author":
            out += author_queries(papers, sizes["author"], rng)
        elif kind == "id":
            out += id_queries(papers, sizes["id"], rng)
    return out


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


def metrics_of(ranked: list[str], relevant: dict[str, int]) -> dict[str, float]:
    return {
        "mrr10": mrr_at(ranked, relevant),
        "ndcg10": ndcg_at(ranked, relevant),
        "recall100": recall_at(ranked, relevant),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] if ordered else 0.0


# -- running ---------------------------------------------------------------------------------------------


def run(service, arxiv_of: dict[int, str], queries: list[Query], modes, filters) -> list[dict]:
    """Each query in each mode: its metrics and the time the service took."""
    from dailypapers.search.types import SearchFilters

    filters = filters or SearchFilters()
    rows = []
    for query in queries:
        for mode in modes:
            started = time.perf_counter()
            hits = service.search(query.text, mode=mode, filters=filters, limit=100)
            seconds = time.perf_counter() - started
            ranked = [arxiv_of[h.paper_id] for h in hits if h.paper_id in arxiv_of]
            rows.append(
                {"kind": query.kind, "text": query.text, "mode": mode, "seconds": seconds}
                | metrics_of(ranked, query.relevant)
            )
    return rows


def summarize(rows: list[dict]) -> dict[tuple[str, str], dict[str, float]]:
    """(kind, mode) -> mean metrics, count and latency percentiles (kind "topical": dev and aside)."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        groups[(row["kind"], row["mode"])].append(row)
    out = {}
    for key, chosen in groups.items():
        summary = {m: sum(r[m] for r in chosen) / len(chosen) for m in ("mrr10", "ndcg10", "recall100")}
        seconds = [r["seconds"] for r in chosen]
        summary |= {"n": len(chosen), "p50": percentile(seconds, 0.5), "p95": percentile(seconds, 0.95)}
        out[key] = summary
    return out


def report(results: dict[tuple[str, str], list[dict]], kinds: list[str]) -> str:
    """One table per scope: every kind and mode, each variant side by side."""
    lines = []
    variants = sorted({v for v, _ in results}, key=["before", "now"].index)
    for scope in sorted({s for _, s in results}, key=list(SCOPES).index):
        summaries = {v: summarize(results[(v, scope)]) for v in variants}
        header = ["kind", "queries", "mode"]
        for v in variants:
            header += [f"MRR@10 {v}", f"nDCG@10 {v}", f"R@100 {v}"]
        header += [f"p95 ms {v}" for v in variants]
        rows = []
        for kind in kinds:
            for mode in MODES:
                cells = [s.get((kind, mode)) for s in summaries.values()]
                if not any(cells):
                    continue
                n = next(c["n"] for c in cells if c)
                row = [kind, n, mode]
                for c in cells:
                    row += [f"{c[m]:.3f}" if c else "" for m in ("mrr10", "ndcg10", "recall100")]
                row += [f"{1000 * c['p95']:.0f}" if c else "" for c in cells]
                rows.append(row)
        lines.append(f"\nScope `{scope}` ({'Daily Papers only' if scope == 'daily' else 'every paper'}):\n")
        lines.append(markdown_table(header, rows))
        for v in variants:
            hybrid = [r["seconds"] for r in results[(v, scope)] if r["mode"] == "hybrid"]
            if hybrid:
                lines.append(
                    f"\n{v}: hybrid over all {len(hybrid)} queries: median "
                    f"{1000 * percentile(hybrid, 0.5):.1f} ms, p95 {1000 * percentile(hybrid, 0.95):.1f} ms."
                )
    return "\n".join(lines)


def daily_scoped(queries: list[Query], daily_ids: set[str]) -> list[Query]:
    out = []
    for q in queries:
        relevant = {a: g for a, g in q.relevant.items() if a in daily_ids}
        if relevant:
            out.append(Query(q.kind, q.text, relevant, q.source))
    return out


def open_service(database: Path, index_dir: Path):
    from sqlalchemy import select

    from dailypapers.search.service import build_search
    from dailypapers.settings import Settings
    from dailypapers.store.engine import make_engine
    from dailypapers.store.schema import papers as papers_table

    settings = Settings(
        environment="development", database_url=f"sqlite:///{database}", index_dir=str(index_dir)
    )
    engine = make_engine(settings)
    with engine.connect() as conn:
        arxiv_of = dict(conn.execute(select(papers_table.c.id, papers_table.c.arxiv_id)).all())
    return build_search(settings, engine), arxiv_of


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", type=Path, required=True, help="an indexed SQLite copy of the corpus")
    parser.add_argument("--index-dir", type=Path, required=True)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--scopes", default=",".join(SCOPES))
    parser.add_argument("--variants", default="before,now")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--long", type=int, default=600)
    parser.add_argument("--aside", type=int, default=600)
    parser.add_argument("--author", type=int, default=200)
    parser.add_argument("--id", type=int, default=200)
    parser.add_argument("--json", type=Path, help="write per-query figures here")
    parser.add_argument("--show", type=int, default=0, help="print this many example queries of each kind")
    args = parser.parse_args()

    from dailypapers.search.analysis import RANKINGS
    from dailypapers.search.types import SearchFilters

    kinds = [k for k in args.kinds.split(",") if k]
    papers = read_corpus()
    sizes = {"long": args.long, "aside": args.aside, "author": args.author, "id": args.id}
    queries = build_queries(papers, kinds, args.seed, sizes)
    daily_ids = {p.arxiv_id for p in papers if p.daily}
    print(
        f"{len(papers):,} papers, {len(queries)} queries: {dict(Counter(q.kind for q in queries))}",
        file=sys.stderr,
    )
    for kind in kinds:
        for q in [q for q in queries if q.kind == kind][: args.show]:
            print(f"  {kind:7} {q.text!r} -> {len(q.relevant)} relevant", file=sys.stderr)

    service, arxiv_of = open_service(args.database, args.index_dir)
    service.search("warm up the model", mode="hybrid")
    modes = [m for m in args.modes.split(",") if m]
    results: dict[tuple[str, str], list[dict]] = {}
    for scope in args.scopes.split(","):
        scoped = queries if scope == "all" else daily_scoped(queries, daily_ids)
        filters = SearchFilters(daily_only=scope == "daily")
        for variant in args.variants.split(","):
            service.ranking = RANKINGS[variant]
            started = time.perf_counter()
            results[(variant, scope)] = run(service, arxiv_of, scoped, modes, filters)
            print(f"{scope}/{variant}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    print(f"\nSearch quality on {len(papers):,} papers (seed {args.seed}), by kind of query:")
    print(report(results, kinds))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "queries": [asdict(q) for q in queries],
                    "runs": {f"{v}/{s}": rows for (v, s), rows in results.items()},
                }
            )
        )


if __name__ == "__main__":
    main()
