"""Trends over the whole corpus: recomputing the snapshot, and /trends and a topic page, cached and not.

    python benchmarks/bench_trends.py --db /tmp/copy.db [--runs 3] [--requests 200] [--fill-baseline]

`--db` is a SQLite copy of a database holding the corpus (never the shared one: `sqlite3 full.db ".backup
/tmp/copy.db"`); it is migrated to head first. Papers lacking key phrases can be given the frequency
baseline's phrases (`--fill-baseline`: the most frequent candidate phrases of each title and abstract, no
model), so that the trends have as many topics as with real phrases; the figures say when they were.

Measured in this process: `build_snapshot` (one read of the corpus and every topic's postings) and the rising
lists of both windows (median of `--runs`); then, through the whole app in process (Starlette's TestClient,
the page cache included), `/trends` and `/trends.json` answered from the cache, and topic pages uncached (a
distinct query string each time, so each one is built: the rest of the snapshot is in memory).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from common import median


def _fill_baseline(engine) -> tuple[int, float]:
    from dailypapers.keyphrases.candidates import candidates
    from dailypapers.keyphrases.extract import _is_part
    from dailypapers.search.embedder import document_text, text_hash
    from dailypapers.store.keyphrases import NewKeyPhrases, SqlKeyPhrases

    store = SqlKeyPhrases(engine)
    started, done, last = time.perf_counter(), 0, 0
    while True:
        rows = store.missing(last, 2000)
        if not rows:
            return done, time.perf_counter() - started
        found = []
        for row in rows:
            text = document_text(row.title, row.abstract)
            ranked = sorted(candidates(text[:1000]).values(), key=lambda c: (-len(c.spans), c.spans[0][0]))
            chosen: list[str] = []
            for c in ranked:
                if not any(_is_part(c.key, k) or _is_part(k, c.key) for k in chosen):
                    chosen.append(c.key)
                if len(chosen) == 5:
                    break
            found.append(NewKeyPhrases(row.paper_id, chosen, None, text_hash(text)))
        store.add("baseline-frequency", found)
        done += len(rows)
        last = rows[-1].paper_id


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return {"p50_ms": round(pick(0.5) * 1000, 2), "p95_ms": round(pick(0.95) * 1000, 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--fill-baseline", action="store_true")
    args = parser.parse_args()
    os.environ["DAILYPAPERS_DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.setdefault("DAILYPAPERS_ENVIRONMENT", "development")
    from fastapi.testclient import TestClient

    from dailypapers.services.trends import build_snapshot
    from dailypapers.settings import Settings
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.keyphrases import SqlKeyPhrases
    from dailypapers.store.papers import SqlStore
    from dailypapers.store.trends import SqlTrendFacts
    from dailypapers.web.app import create_app

    settings = Settings()
    upgrade(settings)
    engine = make_engine(settings)
    report: dict = {"papers": SqlStore(engine).count_papers()}
    if args.fill_baseline:
        filled, seconds = _fill_baseline(engine)
        report["baseline_phrases_filled"] = filled
        report["baseline_fill_seconds"] = round(seconds, 1)
    report["papers_with_phrases"] = SqlKeyPhrases(engine).count()
    builds, cpu, rising = [], [], []
    snapshot = None
    for _ in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        snapshot = build_snapshot(SqlTrendFacts(engine))
        builds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        started = time.perf_counter()
        lists = [snapshot.rising(k, w, limit=12) for k in ("phrase", "category") for w in ("week", "month")]
        rising.append(time.perf_counter() - started)
    report["snapshot_build_s"] = {"median": round(median(builds), 2), "runs": [round(b, 2) for b in builds]}
    report["snapshot_build_cpu_s"] = round(median(cpu), 2)
    report["rising_lists_s"] = round(median(rising), 3)
    report["topics"] = len(snapshot.topics)
    report["anchor_week"] = str(snapshot.week_label(snapshot.anchor))
    report["top_rising"] = {
        f"{k}/{w}": [(r.topic.key, r.window, round(r.expected, 1), round(r.score, 2)) for r in lst[:5]]
        for (k, w), lst in zip(
            [(k, w) for k in ("phrase", "category") for w in ("week", "month")], lists, strict=True
        )
    }
    topics = [r.topic.key for lst in lists for r in lst][:20] or ["cs.CL"]
    app = create_app(settings)
    with TestClient(app) as client:
        started = time.perf_counter()
        client.get("/trends")  # the first request builds the snapshot of this app
        report["first_trends_request_s"] = round(time.perf_counter() - started, 2)
        for path in ("/trends", "/trends.json"):
            samples = []
            for _ in range(args.requests):
                started = time.perf_counter()
                assert client.get(path).status_code == 200
                samples.append(time.perf_counter() - started)
            report[f"cached {path}"] = _percentiles(samples)
        cold, warm = [], []
        for i in range(args.requests):
            topic = topics[i % len(topics)]
            started = time.perf_counter()
            response = client.get(f"/trends/{topic}?n={i}")
            (warm if i >= len(topics) else cold).append(time.perf_counter() - started)
            assert response.status_code == 200, (topic, response.status_code)
        # First view of a topic: everything built, charts drawn. Later ones miss the page cache (a new query
        # string) but find the charts drawn for this snapshot.
        report["uncached /trends/{topic}, first view"] = _percentiles(cold)
        report["uncached /trends/{topic}, charts kept"] = _percentiles(warm)
        samples = []
        for i in range(args.requests):
            started = time.perf_counter()
            assert client.get(f"/trends?n={i}").status_code == 200
            samples.append(time.perf_counter() - started)
        report["uncached /trends"] = _percentiles(samples)
    report["load_average"] = os.getloadavg()
    report["cpus"] = os.cpu_count()
    report["stdev_build_s"] = round(statistics.pstdev(builds), 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    engine.dispose()


if __name__ == "__main__":
    main()
