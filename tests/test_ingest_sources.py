"""Each source against a local server replaying recorded payloads, into the store on SQLite and PostgreSQL:
paging, checkpoints and resuming, windows, expired tokens, back-off, pacing seen from the server, bad pages
stopping cleanly, and the upsert rules (one row per paper, versions, withdrawals, None never erases)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
import sqlalchemy as sa

from dailypapers.ingest.arxiv_api import ArxivApiSource, parse_feed
from dailypapers.ingest.harvest import harvest
from dailypapers.ingest.hf import HfDailySource
from dailypapers.ingest.oai import OaiSource, parse_response
from dailypapers.ingest.pages import harvest_key
from dailypapers.ingest.polite import PoliteClient, user_agent
from dailypapers.ingest.rss import RssSource
from dailypapers.ingest.runs import RunLog
from dailypapers.store.schema import ingest_runs, paper_versions, papers
from ingest_replay import (
    API,
    HF,
    OAI,
    RSS,
    OaiServer,
    Replay,
    Reply,
    api_query_page,
    fixture,
    oai_ids,
    slice_feed,
)

EMPTY_FEED = fixture(API, "2026_id_0000.0000_*.xml")


@pytest.fixture
def make_client(tmp_path):
    clients = []

    def make(delay: float = 0.0, retries: int = 2, timeout: float = 10.0) -> PoliteClient:
        client = PoliteClient(
            user_agent=user_agent("http://papers.test", "ops@papers.test"),
            delay=delay,
            max_retries=retries,
            timeout=timeout,
            lock_dir=tmp_path / "pacing",
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def stored_ids(store) -> list[str]:
    with store.engine.connect() as conn:
        return sorted(conn.execute(sa.select(papers.c.arxiv_id)).scalars())


def run_row(store, run_id: int) -> dict:
    with store.engine.connect() as conn:
        return dict(conn.execute(sa.select(ingest_runs).where(ingest_runs.c.id == run_id)).one()._mapping)


def query_route(path, query):
    return Reply(api_query_page(int(query["start"]), int(query["max_results"])))


# -- the search API ------------------------------------------------------------------------------------------


def test_query_pages_through_recorded_results(store, make_client):
    expected = [r.arxiv_id for r in parse_feed(fixture(API, "2026_q_testing_s0_m100_*.xml")).records[:60]]
    with Replay(query_route) as server:
        source = ArxivApiSource(
            make_client(), server.url + "/api/query", query="testing", page_size=10, max_results=60
        )
        report = harvest(store, source)
        assert [(a.query["start"], a.query["max_results"]) for a in server.arrivals] == [
            (str(s), "10") for s in range(0, 60, 10)
        ]
        assert {a.query["search_query"] for a in server.arrivals} == {"testing"}
    assert report.status == "ok" and report.error is None
    assert (report.totals.fetched, report.totals.new, report.totals.pages) == (60, 60, 6)
    assert stored_ids(store) == sorted(expected)
    row = run_row(store, report.run_id)
    assert (row["status"], row["fetched"], row["new"], row["pages"]) == ("ok", 60, 60, 6)
    assert row["finished_at"] is not None
    assert RunLog(store.engine).checkpoint(harvest_key(source)) is None  # a finished harvest leaves none

    with Replay(query_route) as server:  # again: nothing new
        again = harvest(
            store, ArxivApiSource(make_client(), server.url, query="testing", page_size=10, max_results=60)
        )
    assert (again.totals.new, again.totals.unchanged, again.totals.updated) == (0, 60, 0)


def test_a_failing_page_stops_the_run_and_the_same_command_resumes_there(store, make_client):
    broken = {"on": True}

    def route(path, query):
        if query["start"] == "30" and broken["on"]:
            return Reply(b"<html><body>Bad gateway</body></html>", status=502)
        return query_route(path, query)

    with Replay(route) as server:
        make = lambda: ArxivApiSource(  # noqa: E731
            make_client(retries=1), server.url, query="testing", page_size=10, max_results=50
        )
        first = harvest(store, make())
        assert first.status == "failed" and "HTTP 502" in first.error
        assert len(stored_ids(store)) == 30
        assert RunLog(store.engine).checkpoint(harvest_key(make())) == {"start": 30}
        assert run_row(store, first.run_id)["errors"][-1].startswith("gave up after 2 tries: HTTP 502")

        broken["on"] = False
        server.arrivals.clear()
        second = harvest(store, make())
        assert [a.query["start"] for a in server.arrivals] == ["30", "40"]
    assert second.status == "ok" and second.resumed_from == {"start": 30}
    assert (second.totals.new, len(stored_ids(store))) == (20, 50)
    assert run_row(store, second.run_id)["resumed_from"] == {"start": 30}


def id_route(path, query):
    """Like arXiv: the entries of every id asked for, in one feed (from the recorded single-id answers)."""
    entries, head = [], None
    for wanted in query["id_list"].split(","):
        files = sorted(API.glob(f"2026_id_{wanted.replace('/', '_')}_s0_m100_*.xml"))
        body = files[0].read_text() if files else EMPTY_FEED.decode()
        head = head or body[: body.index("<entry>") if "<entry>" in body else body.index("</feed>")]
        entries += re.findall(r"<entry>.*?</entry>", body, re.S)
    return Reply((head + "".join(entries) + "</feed>").encode())


def test_ids_new_and_old_style_with_and_without_versions(store, make_client):
    asked = ["2104.12255v1", "astro-ph/0601001", "quant-ph/0201082v1", "hep-ex/0406020v1", "1605.08386"]
    asked += ["2501.99999", "abc", "0000.0000", "hep-th/99"]
    with Replay(id_route) as server:
        report = harvest(store, ArxivApiSource(make_client(), server.url, ids=asked))
        assert len(server.arrivals) == 1
        assert server.arrivals[0].query["id_list"].split(",") == asked[:6]
    assert report.status == "ok"
    assert stored_ids(store) == sorted(
        ["2104.12255", "astro-ph/0601001", "quant-ph/0201082", "hep-ex/0406020", "1605.08386"]
    )
    assert report.totals.reasons == {"not an arXiv id": 3, "not found on arXiv": 1}
    assert run_row(store, report.run_id)["skipped_reasons"] == {"not an arXiv id": 3, "not found on arXiv": 1}


def test_an_api_error_answer_stops_cleanly_with_arxivs_message(store, make_client):
    error = fixture(API, "2026_id_abc_*.xml")
    with Replay(lambda path, query: Reply(error, status=400)) as server:
        report = harvest(store, ArxivApiSource(make_client(), server.url, ids=["2401.00001"]))
        assert len(server.arrivals) == 1  # a 400 is not retried
    assert report.status == "failed" and report.error == "arXiv API error: incorrect id format for abc"
    assert stored_ids(store) == []


def test_category_and_dates_in_monthly_windows(store, make_client):
    first_100 = fixture(API, "2026_q_testing_s0_m100_*.xml")
    totals = {"20260115": 15, "20260201": 0, "20260301": 5}
    offsets = {"20260115": 0, "20260201": 0, "20260301": 20}

    def route(path, query):
        window = re.search(r"submittedDate:\[(\d{8})0000 TO (\d{8})2359\]", query["search_query"]).group(1)
        start, size = int(query["start"]), int(query["max_results"])
        total = totals[window]
        if total == 0:
            return Reply(EMPTY_FEED)
        size = min(size, total - start)
        return Reply(slice_feed(first_100, offsets[window] + start, size, total=total))

    with Replay(route) as server:
        source = ArxivApiSource(
            make_client(),
            server.url,
            categories=["cs.LG", "stat.ML"],
            since=date(2026, 1, 15),
            until=date(2026, 3, 2),
            page_size=10,
        )
        report = harvest(store, source)
        queries = [(a.query["search_query"], a.query["start"]) for a in server.arrivals]
        assert {a.query["sortBy"] for a in server.arrivals} == {"submittedDate"}
        assert {a.query["sortOrder"] for a in server.arrivals} == {"ascending"}
    cats = "(cat:cs.LG OR cat:stat.ML)"
    assert queries == [
        (f"{cats} AND submittedDate:[202601150000 TO 202601312359]", "0"),
        (f"{cats} AND submittedDate:[202601150000 TO 202601312359]", "10"),
        (f"{cats} AND submittedDate:[202602010000 TO 202602282359]", "0"),
        (f"{cats} AND submittedDate:[202603010000 TO 202603022359]", "0"),
    ]
    assert report.status == "ok" and report.totals.new == 20


# -- OAI-PMH -------------------------------------------------------------------------------------------------


def test_oai_harvest_follows_tokens_through_windows(store, make_client):
    oai = OaiServer(total=7, per_page=3, window_from="2025-02-01")
    with Replay(oai) as server:
        source = OaiSource(
            make_client(), server.url + "/oai", set_spec="cs", since=date(2025, 1, 1), until=date(2025, 3, 31)
        )
        report = harvest(store, source)
        requests = [a.query.get("resumptionToken") or a.query["from"] for a in server.arrivals]
        first = server.arrivals[0].query
    assert requests == ["2025-01-01", "2025-02-01", "g0-3", "g0-6", "2025-03-01"]
    assert first == {
        "verb": "ListRecords",
        "metadataPrefix": "arXivRaw",
        "from": "2025-01-01",
        "until": "2025-01-31",
        "set": "cs",
    }
    assert report.status == "ok" and report.totals.new == 7
    assert stored_ids(store) == oai_ids(7)
    with store.engine.connect() as conn:  # arXivRaw's versions, with their dates
        versions = conn.execute(
            sa.select(papers.c.arxiv_id, paper_versions.c.version, paper_versions.c.created_at).join(
                papers, papers.c.id == paper_versions.c.paper_id
            )
        ).all()
    by_paper = {}
    for arxiv_id, version, created in versions:
        by_paper.setdefault(arxiv_id, []).append(version)
        assert created is not None
    assert by_paper["2501.00001"] == [1, 2] and by_paper["2501.00000"] == [1]


def test_an_expired_token_restarts_its_window_only(store, make_client):
    oai = OaiServer(total=7, per_page=3, window_from="2025-02-01")
    oai.fail["g0-6"] = Reply(b"", status=503)
    with Replay(oai) as server:
        make = lambda: OaiSource(  # noqa: E731
            make_client(retries=0), server.url, set_spec="cs", since=date(2025, 1, 1), until=date(2025, 3, 31)
        )
        first = harvest(store, make())
        assert first.status == "failed"
        assert RunLog(store.engine).checkpoint(harvest_key(make())) == {"window": 1, "token": "g0-6"}
        assert len(stored_ids(store)) == 6

        del oai.fail["g0-6"]
        oai.generation = 1  # midnight UTC: every token given so far is void
        server.arrivals.clear()
        second = harvest(store, make())
        requests = [a.query.get("resumptionToken") or a.query["from"] for a in server.arrivals]
    # The stale token, then February again from its start (not January), then March.
    assert requests == ["g0-6", "2025-02-01", "g1-3", "g1-6", "2025-03-01"]
    assert second.status == "ok"
    assert (second.totals.new, second.totals.unchanged) == (1, 6)
    assert stored_ids(store) == oai_ids(7)
    assert any("resumption token refused" in e for e in run_row(store, second.run_id)["errors"])


def test_a_page_that_stays_broken_leaves_the_database_at_the_last_good_page(store, make_client):
    oai = OaiServer(total=9, per_page=3)
    truncated = oai(None, {"resumptionToken": "g0-3"}).body[:-200]
    oai.fail["g0-3"] = Reply(truncated)
    with Replay(oai) as server:
        make = lambda: OaiSource(  # noqa: E731
            make_client(retries=2), server.url, set_spec=None, since=date(2025, 2, 1), until=date(2025, 2, 28)
        )
        first = harvest(store, make())
        assert [a.query.get("resumptionToken") for a in server.arrivals] == [None, "g0-3", "g0-3", "g0-3"]
        assert first.status == "failed" and "truncated" in first.error
        assert stored_ids(store) == oai_ids(3)
        del oai.fail["g0-3"]
        second = harvest(store, make())
    assert second.status == "ok" and stored_ids(store) == oai_ids(9)


@pytest.mark.parametrize(
    "body",
    [b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>', fixture(OAI, "*noRecordsMatch*")],
)
def test_hostile_or_error_answers_are_not_retried(store, make_client, body):
    reply = Reply(body.replace(b"noRecordsMatch", b"badArgument"))
    with Replay(lambda path, query: reply) as server:
        report = harvest(
            store,
            OaiSource(
                make_client(), server.url, set_spec="cs", since=date(2025, 1, 1), until=date(2025, 1, 2)
            ),
        )
        assert len(server.arrivals) == 1
    assert report.status == "failed"
    assert "DOCTYPE" in report.error or "OAI-PMH error badArgument" in report.error
    assert stored_ids(store) == []


# -- listings and Hugging Face -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["rss", "atom"])
def test_daily_listing(store, make_client, kind):
    body = fixture(RSS, f"RECONSTRUCTED_{kind}_math.OC_2024-08-23.xml")
    with Replay(lambda path, query: Reply(body)) as server:
        report = harvest(store, RssSource(make_client(), server.url, ["math.OC", "math.AP"], kind=kind))
        assert [a.path for a in server.arrivals] == [f"/{kind}/math.OC+math.AP"]
        skipped = harvest(
            store, RssSource(make_client(), server.url, ["math.OC"], kind=kind, announce_types=("new",))
        )
    assert report.status == "ok" and report.totals.new == 1
    paper = store.get("2203.01250")
    assert paper.version == 3 and paper.published_at is None and paper.doi == "10.5802/jep.257"
    assert skipped.totals.reasons == {"announce type not followed": 1}


def test_hugging_face_days(store, make_client):
    item = fixture(HF, "daily_item_2602.23229.json")
    upvotes = {"n": 10}

    def route(path, query):
        assert path == "/api/daily_papers"
        if query["date"] == "2026-03-06":
            return Reply(b"[" + item.replace(b'"upvotes": 10', f'"upvotes": {upvotes["n"]}'.encode()) + b"]")
        return Reply(b"[]", content_type="application/json")

    with Replay(route) as server:
        report = harvest(
            store, HfDailySource(make_client(), server.url, since=date(2026, 3, 5), until=date(2026, 3, 7))
        )
        assert [a.query["date"] for a in server.arrivals] == ["2026-03-05", "2026-03-06", "2026-03-07"]
        upvotes["n"] = 12
        again = harvest(
            store, HfDailySource(make_client(), server.url, since=date(2026, 3, 6), until=date(2026, 3, 6))
        )
    assert report.status == "ok" and report.totals.new == 1
    assert again.totals.updated == 1
    paper = store.get("2602.23229")
    assert paper.day == date(2026, 3, 6) and paper.submitter.username == "marco-garosi"
    assert paper.upvotes == 12 and paper.github_repo == "https://github.com/marco-garosi/CIRCLE"


def test_hugging_face_wrong_shape_stops_cleanly(store, make_client):
    with Replay(lambda path, query: Reply(b'{"error": "Invalid date"}')) as server:
        report = harvest(
            store, HfDailySource(make_client(), server.url, since=date(2026, 3, 5), until=date(2026, 3, 6))
        )
        assert len(server.arrivals) == 1
    assert report.status == "failed" and "expected a JSON array" in report.error


# -- politeness ----------------------------------------------------------------------------------------------


def test_pacing_is_measured_on_the_server_across_threads_and_clients(store, make_client):
    delay = 0.2
    with Replay(query_route) as server:
        clients = [make_client(delay=delay), make_client(delay=delay)]

        def fetch(client):
            for start in range(0, 30, 10):
                client.get(server.url, {"start": start, "max_results": 10}, parse_feed)

        threads = [threading.Thread(target=fetch, args=(c,)) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        harvest(store, ArxivApiSource(clients[0], server.url, query="testing", page_size=10, max_results=30))
        assert len(server.arrivals) == 9
        assert min(server.gaps()) >= delay, server.gaps()
        assert server.max_in_flight == 1
        assert all(
            a.user_agent.startswith("dailypapers/") and "mailto:ops@papers.test" in a.user_agent
            for a in server.arrivals
        )


PACED_CHILD = """
import sys
from pathlib import Path
from dailypapers.ingest.arxiv_api import parse_feed
from dailypapers.ingest.polite import PoliteClient
url, lock_dir = sys.argv[1], Path(sys.argv[2])
with PoliteClient(user_agent="t", delay=0.2, lock_dir=lock_dir) as client:
    for start in range(0, 40, 10):
        client.get(url, {"start": start, "max_results": 10}, parse_feed)
"""


def test_pacing_holds_across_processes(tmp_path):
    with Replay(query_route) as server:
        children = [
            subprocess.Popen([sys.executable, "-c", PACED_CHILD, server.url, str(tmp_path / "locks")])
            for _ in range(2)
        ]
        assert [child.wait(60) for child in children] == [0, 0]
        assert len(server.arrivals) == 8
        assert min(server.gaps()) >= 0.2, server.gaps()
        assert server.max_in_flight == 1


def test_back_off_on_429_and_503_honours_retry_after(make_client):
    script = []

    def route(path, query):
        step = len(script)
        script.append(step)
        if step == 0:
            return Reply(b"Rate exceeded.", status=429, content_type="text/plain")
        if step == 1:
            return Reply(b"", status=503, headers={"Retry-After": "1"})
        if step == 2:
            moment = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
            return Reply(b"", status=503, headers={"Retry-After": format_datetime(moment, usegmt=True)})
        if step == 3:
            return Reply(b"")  # an empty 200: arXiv's flake
        return query_route(path, {"start": "0", "max_results": "10"})

    with Replay(route) as server:
        client = make_client(delay=0.1, retries=5)
        page = client.get(server.url, {}, parse_feed)
        gaps = server.gaps()
    assert page.entries == 10 and len(script) == 5
    assert gaps[0] >= 0.1  # no Retry-After: back-off from the delay
    assert gaps[1] >= 1.0  # Retry-After: 1
    assert gaps[2] >= 1.0  # Retry-After as an HTTP-date 1-2 s ahead
    assert gaps[3] >= 0.1


def test_bounded_retries_then_a_clean_stop(store, make_client):
    with Replay(lambda path, query: Reply(b"", status=503)) as server:
        report = harvest(store, ArxivApiSource(make_client(retries=2), server.url, query="x", max_results=10))
        assert len(server.arrivals) == 3
    assert report.status == "failed" and report.error == "gave up after 3 tries: HTTP 503"
    with Replay(lambda path, query: Reply(b"", status=429, headers={"Retry-After": "3600"})) as server:
        report = harvest(store, ArxivApiSource(make_client(retries=5), server.url, query="x", max_results=10))
        assert len(server.arrivals) == 1
    assert report.status == "failed" and "asks to wait 3600s" in report.error


def test_timeouts_and_connection_errors_are_retried(make_client):
    calls = []

    def route(path, query):
        calls.append(1)
        return query_route(path, {"start": "0", "max_results": "10"}) if len(calls) > 1 else Reply(delay=1.5)

    with Replay(route) as server:
        page = make_client(retries=2, timeout=0.5).get(server.url, {}, parse_feed)
    assert page.entries == 10 and len(calls) == 2
    started = time.monotonic()
    with pytest.raises(Exception, match="gave up after 2 tries: ConnectError"):
        make_client(retries=1).get("http://127.0.0.1:9/", {}, parse_feed)
    assert time.monotonic() - started < 10


# -- the upsert rules ----------------------------------------------------------------------------------------


def test_one_row_per_paper_whatever_the_sources_and_none_never_erases(store):
    raw = parse_response(fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_arXivRaw_0806.4129.xml")).records[
        0
    ]
    structured = parse_response(
        fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_arXiv_0806.4129.xml")
    ).records[0]
    dublin_core = parse_response(
        fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_oai_dc_0806.4129.xml")
    ).records[0]
    assert store.upsert([raw]).new == 1
    store.upsert([structured])
    store.upsert([dublin_core])
    assert stored_ids(store) == ["0806.4129"]
    paper = store.get("0806.4129")
    assert paper.version == 6
    assert paper.published_at == datetime(2008, 6, 25, 15, 29, 38, tzinfo=UTC)  # not arXiv format's `created`
    assert paper.doi == "10.1063/1.3536454" and paper.categories == ["math-ph", "math.MP"]
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(paper_versions.c.version, paper_versions.c.created_at).order_by(
                paper_versions.c.version
            )
        ).all()
    assert [v for v, _ in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0][1].replace(tzinfo=UTC) == datetime(2008, 6, 25, 15, 29, 38, tzinfo=UTC)


def test_a_newer_version_updates_and_a_withdrawal_is_marked(store):
    feed = fixture(API, "2026_id_2104.12255v1_*.xml")
    v1 = parse_feed(feed).records[0]
    withdrawn_feed = (
        feed.replace(b"2104.12255v1", b"2104.12255v2")
        .replace(b"<updated>2021-04-20T16:07:14Z</updated>", b"<updated>2021-05-01T10:00:00Z</updated>")
        .replace(
            b"<arxiv:primary_category",
            b"<arxiv:comment>This paper has been withdrawn by the author</arxiv:comment>"
            b"<arxiv:primary_category",
        )
    )
    v2 = parse_feed(withdrawn_feed).records[0]
    assert v2.version == 2 and v2.withdrawn
    store.upsert([v1])
    assert store.upsert([v2]).updated == 1
    assert store.upsert([v1]).unchanged == 1  # an older version changes nothing
    paper = store.get("2104.12255")
    assert paper.version == 2 and paper.withdrawn_at is not None
    assert paper.comment == "This paper has been withdrawn by the author"
    with store.engine.connect() as conn:
        assert conn.execute(
            sa.select(paper_versions.c.version).order_by(paper_versions.c.version)
        ).scalars().all() == [1, 2]


def test_arxivraw_marks_a_withdrawn_last_version(store):
    body = fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_arXivRaw_2310.08262.xml").replace(
        b"<source_type>H</source_type>", b"<source_type>I</source_type>"
    )
    record = parse_response(body).records[0]
    assert record.withdrawn
    store.upsert([record])
    assert store.get("2310.08262").withdrawn_at is not None
