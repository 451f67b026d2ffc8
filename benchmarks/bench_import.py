"""Import speed: the whole real corpus into a fresh database, then the same file again (the idempotent pass).

    python benchmarks/bench_import.py [--runs 3] [--postgres postgresql+psycopg://postgres@127.0.0.1/postgres]

Each run migrates a new database (a SQLite file in a temporary folder; with --postgres, a new database
created on that server and dropped afterwards), imports the corpus with the importer `dailypapers import`
uses, and imports it once more. Papers/s is records read divided by the wall time of `import_file`; the
table shows medians over runs.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

from common import CORPUS, fresh_postgres, fresh_sqlite, markdown_table, median

from dailypapers.importers.files import import_file
from dailypapers.settings import Settings
from dailypapers.store.engine import make_engine, upgrade
from dailypapers.store.papers import SqlStore


def one_run(database_url: str, corpus: Path) -> dict:
    settings = Settings(environment="development", database_url=database_url)
    upgrade(settings)
    store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    try:
        started = time.perf_counter()
        first = import_file(store, corpus)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        again = import_file(store, corpus)
        again_s = time.perf_counter() - started
        stored = store.count_papers()
    finally:
        store.engine.dispose()
    if first.bad or first.counts.new != stored or again.counts.new or again.counts.updated:
        raise SystemExit(
            f"unexpected import result: first {first.counts} ({first.bad} bad), again {again.counts}, "
            f"{stored} stored"
        )
    return {
        "records": first.read,
        "first_s": first_s,
        "again_s": again_s,
        "first_rate": first.read / first_s,
        "again_rate": again.read / again_s,
    }


def bench(label: str, runs: int, new_database, corpus: Path) -> dict:
    results = []
    for index in range(runs):
        with new_database() as url:
            result = one_run(url, corpus)
        results.append(result)
        print(
            f"{label} run {index + 1}/{runs}: {result['records']:,} papers, first import "
            f"{result['first_s']:.1f} s ({result['first_rate']:,.0f}/s), re-import {result['again_s']:.1f} s "
            f"({result['again_rate']:,.0f}/s)",
            file=sys.stderr,
            flush=True,
        )
    return {
        "label": label,
        "records": results[0]["records"],
        "first_rate": median([r["first_rate"] for r in results]),
        "again_rate": median([r["again_rate"] for r in results]),
        "first_s": median([r["first_s"] for r in results]),
        "again_s": median([r["again_s"] for r in results]),
        "runs": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="JSONL(.gz) file to import")
    parser.add_argument("--runs", type=int, default=3, help="runs per database (the table shows medians)")
    parser.add_argument(
        "--postgres", metavar="URL", help="also PostgreSQL: a server URL to create a throw-away database on"
    )
    parser.add_argument("--no-sqlite", action="store_true", help="only PostgreSQL")
    args = parser.parse_args()
    if not args.corpus.is_file():
        raise SystemExit(f"no corpus at {args.corpus}")

    results = []
    if not args.no_sqlite:
        results.append(bench("SQLite", args.runs, fresh_sqlite, args.corpus))
    if args.postgres:
        results.append(bench("PostgreSQL", args.runs, lambda: fresh_postgres(args.postgres), args.corpus))

    print(
        f"\nImport of {args.corpus.name}, median of {args.runs} runs (Python {platform.python_version()}):\n"
    )
    rows = [
        (
            r["label"],
            f"{r['records']:,}",
            f"{r['first_s']:.1f} s",
            f"**{r['first_rate']:,.0f}**",
            f"{r['again_s']:.1f} s",
            f"{r['again_rate']:,.0f}",
            ", ".join(f"{x['first_rate']:,.0f}" for x in r["runs"]),
            ", ".join(f"{x['again_rate']:,.0f}" for x in r["runs"]),
        )
        for r in results
    ]
    header = (
        "database",
        "papers",
        "first import",
        "papers/s",
        "re-import",
        "papers/s (re-import)",
        "first, each run",
        "re-import, each run",
    )
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
