"""What an operator's bad day looks like from outside: another process holding SQLite's write lock, a full
disk. Writes answer 503 with Retry-After at once (within the bounded wait), reads go on, the keep-alive
connection stays usable, and everything recovers without a restart."""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import sqlalchemy as sa

from community_support import account, paper, today, token
from conftest import LiveServer, make_settings
from dailypapers.store.engine import make_engine, upgrade
from dailypapers.store.papers import SqlStore


def _site(tmp_path, **overrides):
    path = tmp_path / "site.db"
    settings = make_settings(f"sqlite:///{path}", **overrides)
    upgrade(settings)
    store = SqlStore(make_engine(settings))
    store.upsert([paper("2611.00001", day=today(), votes=3), paper("2611.00002", day=today())])
    headers = token(store, account(store, "alice"))
    store.engine.dispose()
    return path, settings, headers


def test_a_writer_held_elsewhere_gives_503_fast_while_reads_go_on(tmp_path):
    path, settings, headers = _site(
        tmp_path, sqlite_busy_timeout_ms=300, sqlite_write_wait_seconds=1.0, rate_limit_enabled=False
    )
    holder = sqlite3.connect(path, isolation_level=None)
    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/api/papers/2611.00001").status_code == 200
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            results: list[tuple[int, float, str | None]] = []

            def upvote() -> None:
                started = time.monotonic()
                with httpx.Client(base_url=server.url, timeout=30) as own:
                    answer = own.post("/api/papers/2611.00001/upvote", headers=headers)
                results.append(
                    (answer.status_code, time.monotonic() - started, answer.headers.get("retry-after"))
                )

            writers = [threading.Thread(target=upvote) for _ in range(20)]
            for thread in writers:
                thread.start()
            time.sleep(0.2)
            # Meanwhile reads are answered at once: uncached paper pages and the API.
            for arxiv_id in ("2611.00001", "2611.00002"):
                started = time.monotonic()
                assert client.get(f"/api/papers/{arxiv_id}").status_code == 200
                assert client.get(f"/papers/{arxiv_id}").status_code == 200
                assert time.monotonic() - started < 1.0
            for thread in writers:
                thread.join(30)
            assert [status for status, _, _ in results] == [503] * 20
            assert all(retry and int(retry) > 0 for _, _, retry in results)
            assert max(took for _, took, _ in results) < 5  # bounded: not the old 10 s busy timeout, or 120 s
            # The same keep-alive connection keeps working after its own 503.
            busy = client.post("/api/papers/2611.00002/upvote", headers=headers)
            assert busy.status_code == 503 and "busy" in busy.json()["error"]
            assert client.get("/api/papers/2611.00002").status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # The lock is gone: writes work again, with no restart.
        done = client.post("/api/papers/2611.00001/upvote", headers=headers)
        assert done.status_code == 200 and done.json()["upvotes"] == 4


def test_a_full_disk_gives_503_with_a_clear_message_and_recovers(tmp_path):
    path, settings, headers = _site(tmp_path, rate_limit_enabled=False)
    limit = {"pages": None}

    def no_room(dbapi_connection, _record) -> None:
        if limit["pages"] is not None:
            dbapi_connection.execute(f"PRAGMA max_page_count={limit['pages']}")

    with LiveServer(settings) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        engine = server.app.state.store.engine
        sa.event.listen(engine, "connect", no_room)
        engine.dispose()  # connections made from now on have no room to grow
        with sqlite3.connect(path) as probe:
            limit["pages"] = probe.execute("PRAGMA page_count").fetchone()[0]
        long = {"comment": "words " * 1_600}
        full = client.post("/api/papers/2611.00001/comments", json=long, headers=headers)
        assert full.status_code == 503, full.text
        assert "disk is full" in full.json()["error"] and full.headers["retry-after"]
        assert client.get("/api/papers/2611.00001").status_code == 200  # reads go on, same connection
        limit["pages"] = None
        engine.dispose()  # space freed: new connections may grow again
        assert client.post("/api/papers/2611.00001/comments", json=long, headers=headers).status_code == 201
