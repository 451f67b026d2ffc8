"""Several machines, for real: hosts in network namespaces on this machine (tests/netns_support.py), each
running what a deployment runs: PostgreSQL, two web nodes (`dailypapers serve`, each with a search index
directory of its own), two workers (`dailypapers worker`), and HAProxy in front. Arxiv and Hugging Face are
a local server replaying a recorded payload. Root only; slow (about a minute)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest
import sqlalchemy as sa

import netns_support
from conftest import free_port
from digest_support import subscribe
from ingest_replay import HF, Replay, Reply, fixture
from smtp_support import start_sink

pytestmark = pytest.mark.slow

WHY_NOT = netns_support.missing()
CLI = [sys.executable, "-c", "from dailypapers.cli import main; main()"]
# In the replayed paper's title: "Large Multimodal Models as General In-Context Classifiers".
TITLE_WORD = "Classifiers"


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    nowhere = "http://127.0.0.1:9"
    env.update(
        DAILYPAPERS_DATABASE_URL=url,
        DAILYPAPERS_ENVIRONMENT="test",
        DAILYPAPERS_SECRET_KEY="test-secret-key-0123456789",
        DAILYPAPERS_CONTACT_EMAIL="ops@papers.test",
        DAILYPAPERS_ARXIV_API_URL=nowhere,
        DAILYPAPERS_ARXIV_OAI_URL=nowhere,
        DAILYPAPERS_ARXIV_RSS_URL=nowhere,
        DAILYPAPERS_HF_DELAY_SECONDS="0",
        DAILYPAPERS_SEARCH_WARMUP="false",
        DAILYPAPERS_DIGEST_SCHEDULE="false",
        DAILYPAPERS_BACKGROUND_NICE="0",
        DAILYPAPERS_EMBEDDING_INLINE_LIMIT="0",  # keyword search is what is checked; no model loaded
    )
    env.update(extra)
    return env


def _wait(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (httpx.HTTPError, sa.exc.OperationalError):
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {seconds} s")


def _found(base: str) -> bool:
    answer = httpx.get(f"{base}/api/papers/search", params={"q": TITLE_WORD, "mode": "keyword"}, timeout=5)
    return answer.status_code == 200 and any(TITLE_WORD in p["title"] for p in answer.json())


@pytest.mark.skipif(WHY_NOT is not None, reason=WHY_NOT or "")
def test_a_deployment_across_machines(tmp_path):
    net = netns_support.Network()
    try:
        for host in ("db", "web1", "web2", "worker1", "worker2", "lb"):
            net.add(host)
        url, pg_folder = netns_support.start_postgres(net, "db")
        subprocess.run(CLI + ["db", "upgrade"], env=_env(url), check=True, capture_output=True)
        engine = sa.create_engine(url)

        item = fixture(HF, "daily_item_2602.23229.json")
        with Replay(lambda path, query: Reply(b"[" + item + b"]"), host=f"{netns_support.NET}.1") as hf:
            # Two web nodes, each with its own search index, following the database every second.
            for node in ("web1", "web2"):
                env = _env(
                    url, DAILYPAPERS_INDEX_DIR=str(tmp_path / node), DAILYPAPERS_SEARCH_FOLLOW_SECONDS="1"
                )
                net.run(
                    node,
                    CLI + ["serve", "--host", net.hosts[node], "--port", "8000"],
                    env=env,
                    log=tmp_path / f"{node}.log",
                )
            lb = netns_support.start_haproxy(net, "lb", {n: net.hosts[n] for n in ("web1", "web2")}, tmp_path)
            for node in ("web1", "web2"):
                _wait(
                    lambda n=node: httpx.get(f"http://{net.hosts[n]}:8000/healthz").status_code == 200,
                    60,
                    node,
                )
            assert not _found(f"http://{net.hosts['web1']}:8000")

            # Two workers: the first to take the lease leads and ingests (--now); the other waits its turn.
            workers = {}
            for name in ("worker1", "worker2"):
                env = _env(
                    url,
                    DAILYPAPERS_HF_API_URL=hf.url,
                    DAILYPAPERS_INDEX_DIR=str(tmp_path / name),
                    DAILYPAPERS_WORKER_LEASE_SECONDS="3",
                )
                workers[name] = net.run(
                    name, CLI + ["worker", "--now"], env=env, log=tmp_path / f"{name}.log"
                )
                if name == "worker1":
                    leader = _wait(lambda: _holder(engine), 30, "a leader")
            assert leader.split(":")[1] == str(workers["worker1"].pid)
            # worker2 is up (its imports take seconds) and knows it follows: --now is not its to run
            _wait(
                lambda: "Another worker holds the schedule" in (tmp_path / "worker2.log").read_text(),
                60,
                "worker2",
            )

            # The papers the leader ingested are found through search on both web nodes, and through the
            # balancer, within the follow period (the bound promised is 60 s).
            started = time.monotonic()
            for node in ("web1", "web2"):
                _wait(lambda n=node: _found(f"http://{net.hosts[n]}:8000"), 60, f"the new paper on {node}")
            caught_up = time.monotonic() - started
            assert _found(lb)
            hf_requests = len(hf.arrivals)
            assert hf_requests == 2  # today's and yesterday's list, asked once: worker2 ingested nothing

            # The leader dies (kill -9): the other worker holds the schedule within the lease (3 s) + a beat.
            workers["worker1"].send_signal(signal.SIGKILL)
            killed = time.monotonic()
            _wait(
                lambda: (h := _holder(engine)) and h.split(":")[1] == str(workers["worker2"].pid),
                60,
                "handover",
            )
            handover = time.monotonic() - killed
            assert len(hf.arrivals) == hf_requests  # the new leader did not run the --now ingestion again

            # Under load through the balancer, web1's cable is pulled: the balancer routes around it; only
            # requests in flight to web1 at that moment may fail.
            results: list[int | str] = []
            stop = threading.Event()

            def reader() -> None:
                with httpx.Client(timeout=5) as client:
                    while not stop.is_set():
                        try:
                            results.append(client.get(f"{lb}/api/daily_papers").status_code)
                        except httpx.HTTPError as exc:
                            results.append(type(exc).__name__)

            threads = [threading.Thread(target=reader) for _ in range(6)]
            for t in threads:
                t.start()
            _wait(lambda: len(results) > 50, 60, "load through the balancer")
            before_cut = len(results)
            net.cut("web1")
            time.sleep(6)
            stop.set()
            for t in threads:
                t.join(10)
            failed = [r for r in results if r != 200]
            after_cut = results[before_cut:]
            assert before_cut > 20 and len(after_cut) > 20, (before_cut, len(after_cut))
            assert len(failed) <= len(threads), failed  # at most those in flight when the cable went
            assert all(r == 200 for r in after_cut[-20:])  # and the last ones all answered, by web2

        # Digests: both worker machines send the week's at the same moment; every subscriber gets one.
        bridge = f"{netns_support.NET}.1"
        port = free_port()
        sink, controller = start_sink(port, host=bridge)
        try:
            emails = [f"reader{i:02d}@example.org" for i in range(20)]
            for email in emails:
                subscribe(engine, email, "weekly")
            with engine.connect() as conn:  # the week that ends on the ingested paper's day on the feed
                day = conn.execute(sa.text("SELECT max(day) FROM feed_entries")).scalar()
            env = _env(
                url, DAILYPAPERS_SMTP_URL=f"smtp://{bridge}:{port}", DAILYPAPERS_DIGEST_RATE_PER_SECOND="50"
            )
            senders = [
                net.run(
                    host,
                    CLI + ["digest", "send", "--frequency", "weekly", "--date", str(day)],
                    env=env,
                    log=tmp_path / f"digest-{host}.log",
                )
                for host in ("worker1", "worker2")
            ]
            for sender in senders:
                sender.wait(120)
            received = sorted(r for m in sink.messages for r in m.recipients)
            assert received == emails, [
                (tmp_path / f"digest-{h}.log").read_text() for h in ("worker1", "worker2")
            ]
        finally:
            controller.stop()

        report = {
            "digests sent by two machines at once": f"{len(received)} to {len(emails)} subscribers",
            "search caught up on both nodes (s)": round(caught_up, 1),
            "leader handover after kill -9 (s)": round(handover, 1),
            "requests through the balancer": len(results),
            "failed when web1 was cut": len(failed),
        }
        print(json.dumps(report))
        engine.dispose()
    finally:
        net.close()


def _holder(engine) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT holder FROM leases WHERE name = 'scheduler'")).scalar()
