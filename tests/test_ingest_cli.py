"""The ingest commands as a user runs them: kill -9 in the middle of an OAI harvest and the same command
again, `ingest run` over the configured sources, `ingest hf --week`, `ingest status`. Local servers only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from dailypapers.cli import app
from dailypapers.store.schema import ingest_checkpoints, ingest_runs, papers
from ingest_replay import API, HF, RSS, OaiServer, Replay, Reply, fixture, oai_ids

CLI = [sys.executable, "-c", "from dailypapers.cli import main; main()"]


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    nowhere = "http://127.0.0.1:9"  # every endpoint a test does not replay: never the internet
    env.update(
        DAILYPAPERS_ARXIV_API_URL=nowhere,
        DAILYPAPERS_ARXIV_OAI_URL=nowhere,
        DAILYPAPERS_ARXIV_RSS_URL=nowhere,
        DAILYPAPERS_HF_API_URL=nowhere,
    )
    env.update(
        DAILYPAPERS_DATABASE_URL=database_url,
        DAILYPAPERS_ENVIRONMENT="test",
        DAILYPAPERS_SECRET_KEY="test-secret-key-0123456789",
        DAILYPAPERS_CONTACT_EMAIL="ops@papers.test",
        DAILYPAPERS_ARXIV_DELAY_SECONDS="0.05",
        DAILYPAPERS_HF_DELAY_SECONDS="0",
        DAILYPAPERS_INGEST_MAX_RETRIES="2",
        COLUMNS="200",
        DAILYPAPERS_EMBEDDING_INLINE_LIMIT="0",  # the search sync runs, without loading a model
    )
    env.update(extra)
    return env


def rows(database_url: str, query):
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(query).all()
    finally:
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [3, 6])
def test_kill_9_during_an_oai_harvest_then_the_same_command_completes_it(database_url, kill_after):
    oai = OaiServer(total=40, per_page=4, delay=0.25)  # ten pages of four records, a slow server
    with Replay(oai) as server:
        env = environment(database_url, DAILYPAPERS_ARXIV_OAI_URL=server.url + "/oai")
        command = CLI + ["ingest", "oai", "--set", "cs", "--from", "2025-02-01", "--until", "2025-02-28"]
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while len(server.arrivals) < kill_after and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # somewhere inside the next page: waiting on the server, or writing
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)

        # What landed is exactly the pages before the checkpoint: no page half-written.
        (position,) = rows(database_url, sa.select(ingest_checkpoints.c.position))[0]
        landed = int(position["token"].split("-")[1])
        assert position["window"] == 0 and 0 < landed < 40
        stored = sorted(r[0] for r in rows(database_url, sa.select(papers.c.arxiv_id)))
        assert stored == oai_ids(landed)

        server.arrivals.clear()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert server.arrivals[0].query == {"verb": "ListRecords", "resumptionToken": position["token"]}
        assert len(server.arrivals) == (40 - landed) // 4

    stored = [r[0] for r in rows(database_url, sa.select(papers.c.arxiv_id))]
    assert sorted(stored) == oai_ids(40)  # every record, each once
    assert rows(database_url, sa.select(ingest_checkpoints)) == []
    runs = rows(
        database_url,
        sa.select(
            ingest_runs.c.status, ingest_runs.c.new, ingest_runs.c.unchanged, ingest_runs.c.resumed_from
        ).order_by(ingest_runs.c.id),
    )
    assert [r.status for r in runs] == ["interrupted", "ok"]  # the killed run is marked when the next starts
    assert runs[1].resumed_from == position
    assert (runs[0].new + runs[1].new, runs[1].unchanged) == (40, 0)  # nothing stored twice
    assert "resumed" in done.stderr and "40 - " not in done.stderr


@pytest.fixture
def runner():
    return CliRunner()


def invoke(runner, env, *args):
    result = runner.invoke(app, list(args), env=env, catch_exceptions=False)
    return result


def test_ingest_run_fetches_the_configured_sources(database_url, runner, monkeypatch):
    listing = fixture(RSS, "RECONSTRUCTED_rss_math.OC_2024-08-23.xml")
    item = fixture(HF, "daily_item_2602.23229.json")
    empty = fixture(API, "2026_id_0000.0000_*.xml")

    def route(path, query):
        if path == "/rss/math.OC":
            return Reply(listing)
        if path == "/api/query":
            assert query["search_query"].startswith("cat:math.OC AND submittedDate:[")
            return Reply(empty)
        if path == "/api/daily_papers":
            return Reply(b"[" + item + b"]")
        return Reply(b"not found", status=404)

    with Replay(route) as server:
        for key, value in environment(
            database_url,
            DAILYPAPERS_ARXIV_RSS_URL=server.url,
            DAILYPAPERS_ARXIV_API_URL=server.url + "/api/query",
            DAILYPAPERS_HF_API_URL=server.url,
            DAILYPAPERS_INGEST_CATEGORIES="math.OC",
            DAILYPAPERS_INGEST_LOOKBACK_DAYS="2",
        ).items():
            monkeypatch.setenv(key, value)
        result = invoke(runner, None, "ingest", "run")
        assert result.exit_code == 0, result.output
        paths = [a.path for a in server.arrivals]
    assert paths == ["/rss/math.OC", "/api/query", "/api/daily_papers", "/api/daily_papers"]
    assert "ok rss run" in result.output and "ok hf run" in result.output
    stored = sorted(r[0] for r in rows(database_url, sa.select(papers.c.arxiv_id)))
    assert stored == ["2203.01250", "2602.23229"]

    status = invoke(runner, None, "ingest", "status", "--json")
    runs = json.loads(status.output)["runs"]
    assert [r["source"] for r in runs] == ["hf", "arxiv", "rss"]
    assert {r["status"] for r in runs} == {"ok"}
    table = invoke(runner, None, "ingest", "status")
    assert table.exit_code == 0 and "Ingestion runs" in table.output and "math.OC" in table.output


def test_ingest_hf_week_and_bad_arguments(database_url, runner, monkeypatch):
    def route(path, query):
        return Reply(
            b"[]"
            if query["date"] != "2026-03-06"
            else b"[" + fixture(HF, "daily_item_2602.23229.json") + b"]"
        )

    with Replay(route) as server:
        for key, value in environment(database_url, DAILYPAPERS_HF_API_URL=server.url).items():
            monkeypatch.setenv(key, value)
        result = invoke(runner, None, "ingest", "hf", "--week", "2026-W10")
        assert result.exit_code == 0, result.output
        assert [a.query["date"] for a in server.arrivals] == [str(date(2026, 3, d)) for d in range(2, 9)]
        assert invoke(runner, None, "ingest", "hf").exit_code == 2
        assert invoke(runner, None, "ingest", "hf", "--week", "2026-W60").exit_code == 2
        assert invoke(runner, None, "ingest", "oai", "--from", "2025-13-01").exit_code == 2
        assert (
            invoke(
                runner, None, "ingest", "arxiv", "--category", "not a category", "--since", "2026-01-01"
            ).exit_code
            == 2
        )


def test_ingest_arxiv_ids_that_are_not_ids_are_skipped_and_counted(database_url, runner, monkeypatch):
    with Replay(lambda path, query: Reply(fixture(API, "2026_id_2104.12255v1_*.xml"))) as server:
        for key, value in environment(database_url, DAILYPAPERS_ARXIV_API_URL=server.url).items():
            monkeypatch.setenv(key, value)
        result = invoke(runner, None, "ingest", "arxiv", "--id", "2104.12255v1,abc", "--id", "../etc/passwd")
        assert result.exit_code == 0, result.output
        assert [a.query["id_list"] for a in server.arrivals] == ["2104.12255v1"]
    assert "2 skipped (not an arXiv id: 2)" in result.output


@pytest.mark.slow
def test_worker_stops_cleanly_on_sigterm(database_url):
    item = fixture(HF, "daily_item_2602.23229.json")
    with Replay(lambda path, query: Reply(b"[" + item + b"]", delay=1.5)) as server:
        env = environment(database_url, DAILYPAPERS_HF_API_URL=server.url, DAILYPAPERS_HF_DELAY_SECONDS="0")
        worker = subprocess.Popen(CLI + ["worker", "--now"], env=env, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not server.arrivals and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
        assert worker.returncode == 0, stderr
        assert len(server.arrivals) == 1  # today's list was being fetched; yesterday's never asked for
    assert "Worker stopped." in stderr
    (status,) = rows(database_url, sa.select(ingest_runs.c.status))[0]
    assert status == "interrupted"
    # The page that was in flight landed with its checkpoint; the same harvest resumes after it.
    assert [r[0] for r in rows(database_url, sa.select(papers.c.arxiv_id))] == ["2602.23229"]
    (position,) = rows(database_url, sa.select(ingest_checkpoints.c.position))[0]
    assert position == {"day": 1, "p": 0}
