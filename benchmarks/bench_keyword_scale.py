"""How keyword search grows with the corpus: the tantivy index alone (no database, no HTTP), 100k to 1M.

    python benchmarks/bench_keyword_scale.py --corpus /tmp/dailypapers-bench-search/corpus-1000000.jsonl.gz \\
        [--sizes 100000,300000,1000000] [--workdir /tmp/dailypapers-keyword-scale] [--queries 2000]

The corpus file is the one bench_search.py writes (real papers first, then synthetic ones). For each size the
first N papers are indexed with the app's own KeywordIndex (same schema, analyzers and writer), then the
queries of bench_search.py (its queries.json) are run through KeywordIndex.search, top 20, one at a time:
the engine's share of a keyword request. The HTTP figures of bench_search.py at 100k minus this share is the
rest of a request (database, highlighting, JSON), which does not depend on the corpus size.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import time
from datetime import datetime
from pathlib import Path

from common import markdown_table

from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import parse
from dailypapers.search.types import SearchFilters
from dailypapers.store.search_documents import SearchDocument


def docs(corpus: Path, count: int):
    batch = []
    with gzip.open(corpus, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if number > count:
                break
            row = json.loads(line)
            batch.append(
                SearchDocument(
                    paper_id=number,
                    arxiv_id=row["arxiv_id"],
                    title=row["title"],
                    abstract=row["abstract"],
                    authors=row["authors"],
                    categories=row.get("categories") or [],
                    published_at=datetime.fromisoformat(row["published_at"].replace("Z", "+00:00")),
                    daily=bool(row.get("daily_date")),
                )
            )
            if len(batch) == 5000:
                yield batch
                batch = []
    if batch:
        yield batch


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries-file", type=Path, required=True, help="bench_search.py's queries.json")
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/dailypapers-keyword-scale"))
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()

    texts = json.loads(args.queries_file.read_text())[: args.queries]
    rows = []
    for size in [int(s) for s in args.sizes.split(",")]:
        folder = args.workdir / str(size)
        shutil.rmtree(folder, ignore_errors=True)
        index = KeywordIndex(folder)
        started = time.perf_counter()
        with index.writer(threads=2) as writer:
            for batch in docs(args.corpus, size):
                writer.add(batch)
        build_s = time.perf_counter() - started
        parsed = [parse(t) for t in texts]
        filters = SearchFilters()
        for query in parsed[:200]:  # warm the page cache
            index.search(query, filters, limit=20)
        timings = []
        for query in parsed:
            started = time.perf_counter()
            index.search(query, filters, limit=20)
            timings.append((time.perf_counter() - started) * 1000)
        filtered = SearchFilters(categories=("cs.CL",))
        filtered_timings = []
        for query in parsed[:500]:
            started = time.perf_counter()
            index.search(query, filtered, limit=20)
            filtered_timings.append((time.perf_counter() - started) * 1000)
        rows.append(
            [
                f"{size:,}",
                f"{build_s:.0f}",
                f"{index.size_bytes() / 1e6:,.0f}",
                f"{statistics.median(timings):.2f}",
                f"{percentile(timings, 95):.2f}",
                f"{percentile(timings, 99):.2f}",
                f"{percentile(filtered_timings, 95):.2f}",
            ]
        )
        print(rows[-1], flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    print(
        markdown_table(
            ["papers", "build s", "index MB", "p50 ms", "p95 ms", "p99 ms", "p95 ms, category filter"], rows
        )
    )


if __name__ == "__main__":
    main()
