"""Every page a reader arrives on, under load, over many distinct URLs, through the real `dailypapers serve`.

    python benchmarks/bench_pages.py [--runs 3] [--duration 10] [--postgres postgresql+psycopg://...]
        [--prepared /path/full.db] [--only paper,search]

Pages (anonymous, `wrk -t2 -c32`): 1,000 paper pages at random; hybrid search over 3,000 real queries (title
fragments of the corpus) through `/api/papers/search?limit=20`; `/papers/trending`; the day pages of the
corpus' last 60 days; `/api/daily_papers` for those days. For each: req/s, p50/p95/p99 and the server's CPU
per request (its user + system time over the run, divided by the requests answered). One uvicorn worker on
SQLite, two on PostgreSQL. The corpus and its embeddings come from `--prepared` (see bench_mixed.py).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench_mixed import (
    PERCENTILES,
    Server,
    _lua,
    copy_sqlite,
    copy_to_postgres,
    log,
    prepared_database,
    sample_queries,
    wrk,
)
from common import CORPUS, fresh_postgres, markdown_table, median

TARGETS = {  # (req/s at least, p95 ms at most), from the issue "Every page fast under load"
    "paper pages": (1000, 50),
    "trending": (5000, 20),
    "hybrid search": (150, 200),
}


def _script(paths: list[str]) -> str:
    return f"""
local paths = {_lua(paths)}
init = function(args) math.randomseed(os.time()) end
request = function() return wrk.format("GET", paths[math.random(#paths)]) end
{PERCENTILES}
"""


def _escape(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def plans(last_day: date) -> dict[str, list[str]]:
    rng = random.Random(5)
    ids = []
    with gzip.open(CORPUS, "rt", encoding="utf-8") as lines:
        ids = [json.loads(line)["arxiv_id"] for n, line in enumerate(lines) if n % 40 == 0]
    days = [(last_day - timedelta(days=n)).isoformat() for n in range(60)]
    return {
        "paper pages": [f"/papers/{i}" for i in rng.sample(ids, 1000)],
        "hybrid search": [
            f"/api/papers/search?limit=20&q={_escape(q)}" for q in sample_queries(3000, seed=17)
        ],
        "trending": ["/papers/trending"],
        "day pages": [f"/papers/date/{d}" for d in days],
        "/api/daily_papers by day": [f"/api/daily_papers?date={d}" for d in days],
    }


def cpu_seconds(server: Server) -> float:
    """User + system CPU of the server and its worker processes so far."""
    pids = [server.process.pid]
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def bench(label: str, database_url: str, folder: Path, args, workers: int) -> dict:
    server = Server(database_url, folder, workers)
    log(f"{label}: building the search indexes of the copy")
    server.index()
    results: dict[str, list[dict]] = {}
    with server:
        index = json.loads(__import__("bench_web").get(server.base + "/index.json")[1])
        last = date.fromisoformat(index["period"]["key"])
        for name, paths in plans(last).items():
            if args.only and not any(word in name for word in args.only.split(",")):
                continue
            script = folder / f"{name.replace(' ', '_').replace('/', '')}.lua"
            script.write_text(_script(paths))
            wrk(server.base, script, 3, 32)  # warm-up: the model, the indexes, the caches
            for n in range(args.runs):
                before = cpu_seconds(server)
                result = wrk(server.base, script, args.duration, 32)
                result["cpu_ms"] = (cpu_seconds(server) - before) / max(result["requests"], 1) * 1000
                results.setdefault(name, []).append(result)
                log(
                    f"{label} {name} run {n + 1}: {result['rps']:,.0f} req/s, p95 {result['p95']:.1f} ms, "
                    f"CPU {result['cpu_ms']:.2f} ms/request, errors {result['errors']}"
                )
    return {"workers": workers, "results": results}


def table(outcomes: dict) -> str:
    rows = []
    for label, outcome in outcomes.items():
        for name, runs in outcome["results"].items():
            rps, p95 = median([r["rps"] for r in runs]), median([r["p95"] for r in runs])
            target = TARGETS.get(name)
            verdict = ""
            if target:
                verdict = "met" if rps >= target[0] and p95 <= target[1] else "**missed**"
            rows.append(
                [
                    f"{label} ({outcome['workers']} worker{'s' if outcome['workers'] > 1 else ''})",
                    name,
                    f"{rps:,.0f}",
                    f"{median([r['p50'] for r in runs]):.1f}",
                    f"{p95:.1f}",
                    f"{median([r['p99'] for r in runs]):.1f}",
                    f"{median([r['cpu_ms'] for r in runs]):.2f}",
                    sum(r["errors"] for r in runs),
                    verdict,
                ]
            )
    header = ["backend", "page", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req", "errors", "target"]
    return markdown_table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a throw-away database is made on it")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers on SQLite")
    parser.add_argument("--postgres-workers", type=int, default=2)
    parser.add_argument("--prepared", type=Path)
    parser.add_argument("--only", help="comma-separated words: only the pages whose name has one")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    prepared = prepared_database(args.prepared)
    outcomes = {}
    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-pages-") as name:
        folder = Path(name)
        if not args.no_sqlite:
            (folder / "sqlite").mkdir()
            outcomes["SQLite"] = bench(
                "SQLite", copy_sqlite(prepared, folder / "sqlite"), folder / "sqlite", args, args.workers
            )
        if args.postgres:
            (folder / "pg").mkdir()
            with fresh_postgres(args.postgres) as url:
                log("PostgreSQL: importing the corpus and copying its embeddings")
                copy_to_postgres(prepared, url)
                outcomes["PostgreSQL"] = bench("PostgreSQL", url, folder / "pg", args, args.postgres_workers)
    print(table(outcomes))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(outcomes, indent=2))


if __name__ == "__main__":
    main()
