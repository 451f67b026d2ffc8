"""Author and organization pages over the whole corpus, cached and uncached, through `dailypapers serve`.

    PYTHONPATH=src python benchmarks/bench_authors.py [--prepared /work/bench-cache/full.db] [--requests 200]

Copies the prepared SQLite database of the whole corpus (81,654 papers; never written to), migrates the copy
(timing migration 0010, which fills `paper_authors` and `paper_categories` for every paper), adds 500
synthetic papers by one author ("Bench Author", co-authors drawn from a pool of 60 real names, so the page
also works out co-author groups over 500 papers), and serves it with one uvicorn worker. Then, one request
at a time over a kept-alive connection, for each page:

- cached: the same URL again and again (the page cache answers until the database changes);
- uncached: the same page with a different, ignored query string each time (`?n=17`): the cache keys on the
  query, so every request builds the page from the database.

Pages: the 500-paper author (HTML and `.json`), the corpus' most prolific real name (HTML), the
organization with the most papers (HTML and `.json`), and `/orgs` (every organization of the corpus); and,
for scale on a shared machine, two pages measured before in docs/benchmarks.md (the most upvoted paper's
page and its day), in the same run. Reports p50/p95/p99 in ms; the issue's targets are p95 <= 50 ms cached
and <= 150 ms uncached.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
from bench_web import dailypapers_command, stop, wait_for
from common import free_port, isolated_env, markdown_table

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
TARGETS = {"cached": 50.0, "uncached": 150.0}
BENCH_AUTHOR = "Bench Author"
SYNTHETIC = 500


def copy_database(source: Path, dest: Path) -> None:
    with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(dest) as out:
        src.backup(out)


def prepare(url: str) -> dict:
    sys.path.insert(0, str(SRC))
    from dailypapers.records import PaperRecord
    from dailypapers.settings import Settings
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore

    settings = Settings(environment="development", database_url=url)
    started = time.perf_counter()
    upgrade(settings)
    migrated = time.perf_counter() - started
    store = SqlStore(make_engine(settings))
    try:
        with store.engine.connect() as conn:
            top = conn.exec_driver_sql(
                "SELECT min(name), count(*) FROM paper_authors WHERE key != 'bench author' "
                "GROUP BY key ORDER BY count(*) DESC LIMIT 1"
            ).one()
            pool = [
                row[0]
                for row in conn.exec_driver_sql(
                    "SELECT name FROM paper_authors GROUP BY key ORDER BY count(*) DESC LIMIT 60"
                )
            ]
            paper, day = conn.exec_driver_sql(
                "SELECT p.arxiv_id, f.day FROM papers p JOIN feed_entries f ON f.paper_id = p.id "
                "ORDER BY p.upvotes DESC LIMIT 1"
            ).one()
            org = conn.exec_driver_sql(
                "SELECT organization_key, count(*) FROM papers WHERE organization_key IS NOT NULL "
                "GROUP BY organization_key ORDER BY count(*) DESC LIMIT 1"
            ).one()
        rng = random.Random(7)
        now = datetime.now(UTC)
        records = [
            PaperRecord(
                arxiv_id=f"2601.{90000 + i:05d}",
                title=f"Synthetic paper {i} of the author benchmark",
                abstract="A synthetic abstract. " * 20,
                authors=rng.sample(pool, rng.randint(2, 8)) + [BENCH_AUTHOR],
                categories=rng.sample(["cs.CL", "cs.LG", "cs.CV", "cs.AI", "stat.ML"], 2),
                published_at=now - timedelta(days=i),
            )
            for i in range(SYNTHETIC)
        ]
        for start in range(0, len(records), 100):
            store.upsert(records[start : start + 100])
    finally:
        store.engine.dispose()
    return {
        "migration_s": migrated,
        "org_key": org[0],
        "org_papers": org[1],
        "top_name": top[0],
        "top_papers": top[1],
        "paper": paper,
        "day": str(day)[:10],
    }


def measure(client: httpx.Client, path: str, requests: int, cached: bool) -> list[float]:
    times = []
    stamp = time.monotonic_ns()  # query strings no earlier request used: never a cached answer
    sep = "&" if "?" in path else "?"
    client.get(path)  # warm: templates compiled, the cached entry made
    for n in range(requests):
        url = path if cached else f"{path}{sep}n={stamp}-{n}"
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")
    return times


def cpu_per_build(url: str, paths: dict[str, str], builds: int = 30) -> dict[str, float]:
    """CPU ms (this process's user + system time) to build each page in process, no cache: on a shared
    machine the CPU a page costs is steadier than its wall time, which waits for the other processes."""
    from fastapi.testclient import TestClient

    from dailypapers.settings import Settings
    from dailypapers.web.app import create_app

    settings = Settings(environment="development", database_url=url, search_warmup=False, web_jobs=False)
    app = create_app(settings)
    app.user_middleware = [m for m in app.user_middleware if m.cls.__name__ != "PageCache"]
    out = {}
    with TestClient(app) as client:
        for label, path in paths.items():
            client.get(path)
            started = time.process_time()
            for _ in range(builds):
                if client.get(path).status_code != 200:
                    raise SystemExit(f"{path} failed")
            out[label] = (time.process_time() - started) * 1000 / builds
    return out


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prepared", type=Path, default=Path("/work/bench-cache/full.db"))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--cpu", type=Path, help="also measure CPU per build in process, over this (prepared, migrated) copy"
    )
    args = parser.parse_args()
    if not args.prepared.exists():
        raise SystemExit(f"no prepared database at {args.prepared}")
    with tempfile.TemporaryDirectory(prefix="bench-authors-") as folder:
        work = Path(folder)
        db = work / "bench.db"
        copy_database(args.prepared, db)
        url = f"sqlite:///{db}"
        facts = prepare(url)
        print(f"migration 0010 on the copy: {facts['migration_s']:.1f} s", flush=True)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = work / "serve.log"
        env = isolated_env(
            url,
            DAILYPAPERS_BASE_URL=base,
            DAILYPAPERS_INDEX_DIR=str(work / "index"),
            DAILYPAPERS_SEARCH_WARMUP="false",
            DAILYPAPERS_WEB_JOBS="false",
            PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*dailypapers_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            wait_for(base + "/orgs.json", process, 180, log)
            org = facts["org_key"].replace(" ", "-")
            pages = {
                f"author, {SYNTHETIC} papers": "/authors/Bench%20Author",
                f"author, {SYNTHETIC} papers (.json)": "/authors/Bench%20Author.json",
                f"author {facts['top_name']}, {facts['top_papers']} papers": "/authors/"
                + quote(facts["top_name"], safe=""),
                f"org {org}, {facts['org_papers']} papers": f"/orgs/{org}",
                f"org {org} (.json)": f"/orgs/{org}.json",
                "/orgs (all organizations)": "/orgs",
                # For scale on a shared, noisy machine: pages measured before (docs/benchmarks.md), same run.
                "baseline: a paper page": f"/papers/{facts['paper']}",
                "baseline: a day page": f"/papers/date/{facts['day']}",
            }
            rows, results = [], {}
            with httpx.Client(base_url=base, timeout=30) as client:
                for label, path in pages.items():
                    for mode in ("cached", "uncached"):
                        times = measure(client, path, args.requests, mode == "cached")
                        p50, p95, p99 = (percentile(times, p) for p in (50, 95, 99))
                        ok = "yes" if p95 <= TARGETS[mode] else "NO"
                        results[f"{label} {mode}"] = {"p50": p50, "p95": p95, "p99": p99}
                        rows.append([label, mode, f"{p50:.1f}", f"{p95:.1f}", f"{p99:.1f}", ok])
                        print(rows[-1], flush=True)
        finally:
            stop(process)
    header = ["page", "mode", "p50 ms", "p95 ms", "p99 ms", "p95 within target"]
    print(markdown_table(header, rows))
    if args.cpu:
        cpu = cpu_per_build(f"sqlite:///{args.cpu}", pages)
        print(
            markdown_table(["page", "CPU ms per uncached build"], [[k, f"{v:.1f}"] for k, v in cpu.items()])
        )
        results["cpu"] = cpu
    if args.json:
        args.json.write_text(json.dumps({"facts": facts, "results": results}, indent=2))


if __name__ == "__main__":
    main()
