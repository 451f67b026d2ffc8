"""For you's speed: a reader's feed through HTTP over the whole corpus, and how soon a new signal shows.

    python benchmarks/bench_foryou.py --db /tmp/foryou-full.db [--readers 200] [--signals 50] [--requests 300]

Copies --db (a database of the whole corpus with its embeddings; never the shared one) to a temporary file,
migrates the copy, makes --readers accounts with personal tokens and --signals likes and dislikes each (40 %
dislikes, papers drawn from the month before the test week, with embeddings), serves the app with uvicorn on a
loopback port in this process, and asks `GET /api/recommendations` for a week and for a month as random
readers, one request at a time (after one warm-up request per period: the period's pool and TF-IDF are built
once per process). Then, for 20 readers: a 👎 on their top paper and the next feed, timed together, checking
that the paper is gone. Medians and 95th percentiles in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import free_port, markdown_table

WEEK = ("2026-06-08", "2026-06-14")
MONTH = ("2026-06-01", "2026-06-30")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--signals", type=int, default=50)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    import uvicorn

    from dailypapers.settings import Settings
    from dailypapers.store.accounts import AccountStore
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore
    from dailypapers.store.signals import SignalStore
    from dailypapers.web.app import create_app

    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-foryou-"))
    db = workdir / "foryou.db"
    source = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    target = sqlite3.connect(db)
    source.backup(target)
    source.close()
    seedable = [
        row[0]
        for row in target.execute(
            "SELECT p.arxiv_id FROM papers p JOIN embeddings e ON e.paper_id = p.id "
            "WHERE p.published_at >= '2026-05-01' AND p.published_at < '2026-06-01'"
        )
    ]
    target.close()
    settings = Settings(
        environment="development",
        secret_key="bench-secret-key-0123456789",
        database_url=f"sqlite:///{db}",
        index_dir=workdir / "index",
        search_warmup=False,
        rate_limit_enabled=False,
    )
    upgrade(settings)
    store = SqlStore(make_engine(settings))
    accounts, signals = AccountStore(store), SignalStore(store.engine)
    tokens: list[str] = []
    started = time.monotonic()
    for n in range(args.readers):
        user = accounts.create(email=f"r{n}@example.org", username=f"r{n}", password_hash=None, verified=True)
        tokens.append(accounts.create_api_token(user.id, "bench")[0])
        # A reader's likes come from one or two topics: papers near a random paper of the month before.
        for arxiv_id in rng.sample(seedable, args.signals):
            signals.set_signal(user.id, arxiv_id, "dislike" if rng.random() < 0.4 else "like")
    store.engine.dispose()
    print(f"{args.readers} readers with {args.signals} signals each in {time.monotonic() - started:.0f} s")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    rows = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
            for name, (start, end) in (("week", WEEK), ("month", MONTH)):
                params = {"from": start, "to": end, "limit": 20}
                warm = time.perf_counter()
                http.get(
                    "/api/recommendations", params=params, headers={"Authorization": f"Bearer {tokens[0]}"}
                )
                first = (time.perf_counter() - warm) * 1000
                times = []
                for _ in range(args.requests):
                    headers = {"Authorization": f"Bearer {rng.choice(tokens)}"}
                    t = time.perf_counter()
                    r = http.get("/api/recommendations", params=params, headers=headers)
                    times.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, r.text
                rows.append(
                    [
                        f"feed, a {name}",
                        f"{first:.0f}",
                        f"{statistics.median(times):.1f}",
                        f"{percentile(times, 0.95):.1f}",
                    ]
                )
            after = []
            for token in tokens[:20]:
                headers = {"Authorization": f"Bearer {token}"}
                params = {"from": WEEK[0], "to": WEEK[1], "limit": 20}
                top = http.get("/api/recommendations", params=params, headers=headers).json()[0]["id"]
                t = time.perf_counter()
                http.post(f"/api/papers/{top}/feedback", json={"signal": "dislike"}, headers=headers)
                feed = http.get("/api/recommendations", params=params, headers=headers).json()
                after.append((time.perf_counter() - t) * 1000)
                assert top not in {p["id"] for p in feed}
            rows.append(
                [
                    "👎 then the next feed (gone)",
                    "",
                    f"{statistics.median(after):.1f}",
                    f"{percentile(after, 0.95):.1f}",
                ]
            )
    finally:
        server.should_exit = True
        thread.join(10)
        shutil.rmtree(workdir, ignore_errors=True)
    print(markdown_table(["request", "first (ms)", "median (ms)", "p95 (ms)"], rows))


if __name__ == "__main__":
    main()
