"""Collections at scale: what their reads cost once readers have made many.

    python benchmarks/bench_collections.py [--prepared /path/full.db] [--postgres postgresql+psycopg://...]
        [--readers 500] [--collections 3000] [--items 25] [--samples 200]

On a copy of `--prepared` (the whole corpus; default: the bundled demo slice imported into a new SQLite
file), or the same papers imported into a new PostgreSQL database with `--postgres`: `--readers` accounts make
`--collections` public collections of `--items` papers each (drawn at random, a fifth of them from 200
"popular" papers so that some papers sit in many collections), with upvotes, and one collection of 1,000
papers. Then, `--samples` times each, median and p95 in ms: reading a collection (25 papers; 1,000 papers),
`GET /api/collections?item=papers/<popular>` as the store answers it, trending collections, the public
collections of a paper (the paper page's box), a reader's "Add to collection" menu for a page of 50 cards,
and the whole pages through the app in process (a collection of 1,000, a paper page, uncached).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from common import fresh_postgres

from dailypapers.curation import rules
from dailypapers.importers.files import import_file
from dailypapers.settings import Settings
from dailypapers.store.accounts import AccountStore
from dailypapers.store.backup import backup
from dailypapers.store.collections import CollectionStore
from dailypapers.store.engine import make_engine, upgrade
from dailypapers.store.papers import SqlStore

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "src" / "dailypapers" / "data" / "demo.jsonl.gz"


def timed(samples: int, call) -> tuple[float, float]:
    """(median, p95) of `samples` calls, in milliseconds."""
    spent = []
    for _ in range(samples):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    spent.sort()
    return statistics.median(spent), spent[min(len(spent) - 1, int(len(spent) * 0.95))]


def settings_for(url: str, folder: Path) -> Settings:
    return Settings(
        environment="test",
        secret_key="bench-secret-key-0123456789",
        database_url=url,
        index_dir=folder / "index",
        rate_limit_enabled=False,
        search_warmup=False,
    )


def fill(store: SqlStore, args, rng: random.Random) -> dict:
    collections = CollectionStore(store)
    accounts = AccountStore(store)
    with store.engine.connect() as conn:
        arxiv_ids = [row[0] for row in conn.exec_driver_sql("SELECT arxiv_id FROM papers ORDER BY id")]
    popular = rng.sample(arxiv_ids, min(200, len(arxiv_ids)))
    readers = [
        accounts.create(
            email=f"r{n}@example.org", username=f"r{n}", password_hash=None, role="user", verified=True
        )
        for n in range(args.readers)
    ]
    made = []
    started = time.perf_counter()
    adds = 0
    for n in range(args.collections):
        owner = readers[n % len(readers)]
        view = collections.create(owner.id, f"Collection {n}", description="For the benchmark")
        slug = rules.SlugParts(owner.username, view.public_id)
        chosen = set()
        while len(chosen) < min(args.items, len(arxiv_ids)):
            chosen.add(rng.choice(popular) if rng.random() < 0.2 else rng.choice(arxiv_ids))
        for arxiv_id in chosen:
            collections.add_item(slug, owner.id, arxiv_id, "a note" if rng.random() < 0.5 else None)
            adds += 1
        for voter in rng.sample(readers, rng.randint(0, 5)):
            collections.set_upvote(slug, voter.id, True)
        made.append(slug)
    fill_seconds = time.perf_counter() - started
    big_owner = readers[0]
    big = collections.create(big_owner.id, "Everything", description="A thousand papers")
    big_slug = rules.SlugParts(big_owner.username, big.public_id)
    for arxiv_id in rng.sample(arxiv_ids, min(1000, len(arxiv_ids))):
        collections.add_item(big_slug, big_owner.id, arxiv_id)
    return {
        "slugs": made,
        "big": big_slug,
        "popular": popular,
        "arxiv_ids": arxiv_ids,
        "reader": readers[1],
        "add_ms": fill_seconds * 1000 / max(adds, 1),
    }


def measure(store: SqlStore, settings: Settings, data: dict, samples: int, rng: random.Random) -> dict:
    from fastapi.testclient import TestClient

    from dailypapers.web.app import create_app

    collections = CollectionStore(store)
    results = {"add a paper (write, median of the fill)": (data["add_ms"], None)}
    results["read a collection of 25"] = timed(
        samples, lambda: collections.get(rng.choice(data["slugs"]), None)
    )
    results["read a collection of 1,000"] = timed(
        max(20, samples // 10), lambda: collections.get(data["big"], None)
    )
    results["list by item (a popular paper)"] = timed(
        samples, lambda: collections.list(arxiv_ids=[rng.choice(data["popular"])], limit=20)
    )
    results["trending collections (30)"] = timed(samples, lambda: collections.list(sort="trending", limit=30))
    paper_ids = {}
    with store.engine.connect() as conn:
        for arxiv_id, pid in conn.exec_driver_sql("SELECT arxiv_id, id FROM papers"):
            paper_ids[arxiv_id] = pid
    results["collections of a paper (paper page box)"] = timed(
        samples, lambda: collections.holding(paper_ids[rng.choice(data["popular"])], 20)
    )
    page_of_cards = [paper_ids[a] for a in rng.sample(data["arxiv_ids"], min(50, len(data["arxiv_ids"])))]
    results["a reader's menu for 50 cards"] = timed(
        samples, lambda: collections.choices(data["reader"].id, page_of_cards)
    )
    app = create_app(settings, store=store)
    with TestClient(app) as client:
        big_url = f"/collections/{data['big'].owner}/{data['big'].public_id}"
        assert client.get(big_url, follow_redirects=True).status_code == 200

        def page(path: str) -> None:
            # A query string of its own each time: the page cache (paper pages) never answers it.
            response = client.get(path, params={"n": str(rng.random())}, follow_redirects=True)
            assert response.status_code == 200, response.status_code

        results["page: a collection of 1,000 (HTML)"] = timed(max(20, samples // 10), lambda: page(big_url))
        results["page: a paper in many collections (HTML)"] = timed(
            max(20, samples // 4), lambda: page(f"/papers/{rng.choice(data['popular'])}")
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prepared", type=Path, help="a SQLite file of the corpus (copied, never written)")
    parser.add_argument(
        "--postgres", help="a PostgreSQL server URL: run there instead (imports the demo slice)"
    )
    parser.add_argument("--readers", type=int, default=500)
    parser.add_argument("--collections", type=int, default=3000)
    parser.add_argument("--items", type=int, default=25)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    rng = random.Random(14)
    with tempfile.TemporaryDirectory(prefix="bench-collections-") as tmp:
        folder = Path(tmp)
        if args.postgres:
            context = fresh_postgres(args.postgres)
            url = context.__enter__()
        else:
            context = None
            url = f"sqlite:///{folder / 'site.db'}"
            if args.prepared:
                backup(f"sqlite:///{args.prepared}", folder / "site.db")
        settings = settings_for(url, folder)
        upgrade(settings)
        store = SqlStore(make_engine(settings))
        if not store.count_papers():
            import_file(store, DEMO)
        print(f"{store.count_papers():,} papers; filling {args.collections:,} collections of {args.items}")
        data = fill(store, args, rng)
        results = measure(store, settings, data, args.samples, rng)
        store.engine.dispose()
        if context is not None:
            context.__exit__(None, None, None)
    print("| what | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, (p50, p95) in results.items():
        print(f"| {name} | {p50:.2f} | {'' if p95 is None else f'{p95:.2f}'} |")


if __name__ == "__main__":
    main()
