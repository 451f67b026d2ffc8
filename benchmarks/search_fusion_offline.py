"""Fusion weights and pseudo-relevance feedback for topical queries, fused offline from lists collected once.

    python benchmarks/search_fusion_offline.py --database /tmp/sq/mine.db --index-dir /tmp/sq/mine-index \\
        --sample 250 [--daily]

For a random sample of the dev topics (never the aside set): the keyword top 200 (the ranking as shipped),
the semantic top 200, and the semantic top 200 with the query moved towards the top 5 keyword hits (weights
1 and 0.5); then every keyword weight fused with `search.service.fuse`, as the service does. Prints MRR@10,
nDCG@10 and recall@100 of each.
"""

from __future__ import annotations

import argparse
import random
import sys
from dataclasses import replace

from search_quality import build_queries, metrics_of, open_service, read_corpus

WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", required=True)
    parser.add_argument("--index-dir", required=True)
    parser.add_argument("--sample", type=int, default=250)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--daily", action="store_true", help="the Daily Papers filter on every list")
    args = parser.parse_args()

    from dailypapers.search import query as query_text
    from dailypapers.search.service import fuse
    from dailypapers.search.types import SearchFilters

    queries = build_queries(read_corpus(), ["dev"], 23, {})
    queries = random.Random(args.seed).sample(queries, min(args.sample, len(queries)))
    service, arxiv_of = open_service(args.database, args.index_dir)
    service.search("warm up the model", mode="hybrid")
    filters = SearchFilters(daily_only=args.daily)
    base = service.ranking
    rows = []
    for number, query in enumerate(queries):
        keyword = service.keyword.search(query_text.parse(query.text), filters, limit=200, ranking=base)
        top = [pid for pid, _ in keyword[:5]]
        lists = {"keyword": keyword, "semantic": service._semantic(query.text, filters, 200)}
        for weight in (1.0, 0.5):
            service.ranking = replace(base, prf_weight=weight)
            lists[f"feedback {weight}"] = service._semantic(query.text, filters, 200, top)
        service.ranking = base
        rows.append((query, lists))
        if number % 25 == 0:
            print(number, file=sys.stderr, flush=True)

    def show(name: str, fused) -> None:
        found = []
        for query, lists in rows:
            hits = sorted(fused(lists), key=lambda h: (-h.score, h.keyword_rank or 10**6))
            found.append(metrics_of([arxiv_of[h.paper_id] for h in hits[:100]], query.relevant))
        means = [sum(m[k] for m in found) / len(found) for k in ("mrr10", "ndcg10", "recall100")]
        print(f"| {name} | " + " | ".join(f"{x:.3f}" for x in means) + " |")

    print("| ranking | MRR@10 | nDCG@10 | recall@100 |\n|---|---|---|---|")
    show("keyword", lambda lists: fuse(lists["keyword"], [], 1.0))
    show("semantic", lambda lists: fuse([], lists["semantic"], 0.0))
    show("semantic, feedback 1.0", lambda lists: fuse([], lists["feedback 1.0"], 0.0))
    for w in WEIGHTS:
        show(f"hybrid w={w}", lambda lists, w=w: fuse(lists["keyword"], lists["semantic"], w))
        for f in ("feedback 1.0", "feedback 0.5"):
            show(f"hybrid w={w}, {f}", lambda lists, w=w, f=f: fuse(lists["keyword"], lists[f], w))


if __name__ == "__main__":
    main()
