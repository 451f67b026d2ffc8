"""Tuning the ranking on the dev topics (never the aside set): each variant of `Ranking`, one mode, one run.

    python benchmarks/search_tuning.py --database /tmp/sq/full.db --index-dir /tmp/sq/full-index \\
        --mode hybrid --kinds dev,long --grid weights

Prints, per variant and kind, MRR@10, nDCG@10 and recall@100 (and hybrid's p95), as Markdown. The grids are
the ones docs/search.md reports; `--grid` picks one.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace

from common import markdown_table
from search_quality import (
    KINDS,
    build_queries,
    open_service,
    percentile,
    read_corpus,
    run,
    summarize,
)

OVERRIDES: dict = {}


def grids(base):
    from dailypapers.search.analysis import RANKINGS

    before = RANKINGS["before"]
    base = replace(base, **{k: v for k, v in OVERRIDES.items()})
    return {
        "title": {
            f"topical_title_boost={b}": replace(base, topical_title_boost=b)
            for b in (0.5, 0.75, 1.0, 1.5, 3.0)
        },
        "long_title": {f"title_boost={b}": replace(base, title_boost=b) for b in (1.0, 2.0, 3.0, 4.0)},
        "phrase": {
            f"phrase_boost={b} slop={s}": replace(base, phrase_boost=b, phrase_slop=s)
            for b in (0.0, 0.5, 1.0, 2.0, 4.0)
            for s in (0, 1)
        },
        "acronyms": {
            f"acronym_boost={b} meaning={m}": replace(base, acronym_boost=b, acronyms_in_meaning=m)
            for b in (0.0, 0.3, 0.6, 1.0)
            for m in (False, True)
        },
        "weights": {
            f"topical w={w}": base.with_weight("topical", w)
            for w in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 1.0)
        },
        "long": {f"long w={w}": base.with_weight("long", w) for w in (0.6, 0.7, 0.8, 0.9, 0.95, 1.0)},
        "author": {
            f"author w={w} check={c}": replace(base.with_weight("author", w), author_check=c)
            for w in (0.8, 0.9, 1.0)
            for c in (False, True)
        },
        "prf": {
            f"prf docs={d} weight={w}": replace(base, prf_docs=d, prf_weight=w)
            for d in (0, 3, 5, 10)
            for w in ((0.5, 1.0, 2.0) if d else (0.0,))
        },
        "final": {"before": before, "now": base},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True)
    parser.add_argument("--index-dir", required=True)
    parser.add_argument("--mode", default="hybrid")
    parser.add_argument("--kinds", default="dev")
    parser.add_argument("--grid", required=True)
    parser.add_argument("--seed", type=int, default=23, help="not the evaluation seed (17)")
    parser.add_argument("--daily", action="store_true", help="the Daily Papers filter on every query")
    parser.add_argument("--sample", type=int, default=0, help="only this many queries of each kind")
    parser.add_argument("--set", action="append", default=[], help="field=value on the base ranking")
    args = parser.parse_args()
    for item in args.set:
        name, value = item.split("=", 1)
        OVERRIDES[name] = eval(value)  # a number, a bool or a tuple, typed by whoever tunes

    from dailypapers.search.analysis import RANKINGS
    from dailypapers.search.types import SearchFilters

    kinds = [k for k in args.kinds.split(",") if k in KINDS and k != "aside"]  # never tune on the aside set
    sizes = {"long": 300, "aside": 0, "author": 150, "id": 100}
    queries = build_queries(read_corpus(), kinds, args.seed, sizes)
    if args.sample:
        rng = random.Random(args.seed)
        queries = [q for k in kinds for q in rng.sample([q for q in queries if q.kind == k], args.sample)]
    service, arxiv_of = open_service(args.database, args.index_dir)
    service.search("warm up the model", mode="hybrid")
    rows = []
    for name, ranking in grids(RANKINGS["now"])[args.grid].items():
        service.ranking = ranking
        found = run(service, arxiv_of, queries, [args.mode], SearchFilters(daily_only=args.daily))
        for (kind, _), m in sorted(summarize(found).items()):
            rows.append(
                [
                    name,
                    kind,
                    m["n"],
                    f"{m['mrr10']:.3f}",
                    f"{m['ndcg10']:.3f}",
                    f"{m['recall100']:.3f}",
                    f"{1000 * percentile([r['seconds'] for r in found if r['kind'] == kind], 0.95):.0f}",
                ]
            )
        print(rows[-1], file=sys.stderr)
    print(markdown_table(["variant", "kind", "queries", "MRR@10", "nDCG@10", "R@100", "p95 ms"], rows))


if __name__ == "__main__":
    main()
