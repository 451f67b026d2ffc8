"""Ingestion speed: parsing OAI-PMH pages, storing papers on SQLite, a whole local harvest, and what these
mean for a first harvest of all of arXiv.

    python benchmarks/bench_ingest.py [--records 50000] [--page-size 2500] [--runs 3]

1. Parse: ListRecords pages of `--page-size` records (arXiv serves up to 2,500 a page), synthesized from the
   recorded arXivRaw and arXiv-format records in shared/fixtures/oai_pmh (ids renumbered), through
   `ingest.oai.parse_response`, the parser the harvest uses. Also the search API's Atom feed (100 recorded
   entries repeated to 2,000, its largest page).
2. Store: the parsed records into a fresh, migrated SQLite database through `ingest.harvest.harvest` with an
   in-memory source, i.e. `SqlStore.upsert` plus the checkpoint and run counters in the same transaction,
   one transaction per page, metadata only (no search sync).
3. End to end: `dailypapers`'s OAI source against a local replay server (no pacing): HTTP, parse, store.
4. The estimate: requests needed for ~2.8M records at arXiv's page size, one request per 3 s after the
   previous response, against the parse and store time of the same records.

Medians over --runs. Prints a Markdown table for docs/ingestion.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DAILYPAPERS_SHARED", ROOT.parent / "shared"))
OAI = SHARED / "fixtures" / "oai_pmh"
API = SHARED / "fixtures" / "arxiv_api"
ARXIV_RECORDS = 2_800_000
OAI_PAGE = 2_500  # arXiv/oaipmh RECORDS_LIMIT (shared/fixtures/oai_pmh/SOURCES.txt)
API_PAGE = 2_000  # the search API's largest max_results
DELAY = 3.0

from dailypapers.ingest.arxiv_api import parse_feed  # noqa: E402
from dailypapers.ingest.harvest import harvest  # noqa: E402
from dailypapers.ingest.oai import OaiSource, parse_response  # noqa: E402
from dailypapers.ingest.pages import Page  # noqa: E402
from dailypapers.ingest.polite import PoliteClient  # noqa: E402
from dailypapers.settings import Settings  # noqa: E402
from dailypapers.store.engine import make_engine, upgrade  # noqa: E402
from dailypapers.store.papers import SqlStore  # noqa: E402


def _record_templates() -> list[str]:
    templates = []
    for name in (
        "RECONSTRUCTED_2025_oaipmh_ListRecords_arXivRaw_set_cs_page1_TRUNCATED_to_3_records.xml",
        "RECONSTRUCTED_2025_oaipmh_GetRecord_arXivRaw_0806.4129.xml",
        "RECONSTRUCTED_2025_oaipmh_GetRecord_arXivRaw_2310.08262.xml",
        "2013_legacy_export_oai2_GetRecord_arXivRaw_1304.4214.xml",
    ):
        templates += re.findall(r"<record>.*?</record>", (OAI / name).read_text(), re.S)
    return templates


TEMPLATES = _record_templates()
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\n'
HEAD += "<responseDate>2025-06-02T12:00:00Z</responseDate>\n<request>https://oaipmh.arxiv.org/oai</request>\n"


def synthetic_id(n: int) -> str:
    """Distinct valid new-style ids: 99,999 numbers a month from 2015-01 on."""
    return f"{_month(n // 99_999)}.{n % 99_999 + 1:05d}"


def _month(k: int) -> str:
    year, month = divmod(k, 12)
    return f"{15 + year:02d}{month + 1:02d}"


def record_xml(n: int) -> str:
    new_id = synthetic_id(n)
    record = TEMPLATES[n % len(TEMPLATES)]
    record = re.sub(
        r"<identifier>[^<]+</identifier>", f"<identifier>oai:arXiv.org:{new_id}</identifier>", record
    )
    return re.sub(r"<id>[^<]+</id>", f"<id>{new_id}</id>", record)


def list_records_page(first: int, count: int, token: str | None) -> bytes:
    records = "".join(record_xml(n) for n in range(first, first + count))
    token_xml = f"<resumptionToken>{token}</resumptionToken>" if token else "<resumptionToken/>"
    return (HEAD + "<ListRecords>" + records + token_xml + "</ListRecords></OAI-PMH>").encode()


def bench_parse(total: int, page_size: int) -> tuple[tuple[float, float], list]:
    pages = [list_records_page(i, min(page_size, total - i), f"t{i}") for i in range(0, total, page_size)]
    started, cpu = time.perf_counter(), time.process_time()
    parsed = [parse_response(body) for body in pages]
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    assert sum(len(p.records) for p in parsed) == total and not any(p.skipped for p in parsed)
    return (total / seconds, total / cpu_seconds), parsed


def bench_parse_api() -> float:
    body = next(API.glob("2026_q_testing_s0_m100_*.xml")).read_text()
    entries = re.findall(r"<entry>.*?</entry>", body, re.S)
    head, tail = body[: body.index("<entry>")], "</feed>"
    feed = (head + "".join(entries * (API_PAGE // len(entries))) + tail).encode()
    runs = 5
    started = time.perf_counter()
    for _ in range(runs):
        assert parse_feed(feed).entries == API_PAGE
    return runs * API_PAGE / (time.perf_counter() - started)


class ListSource:
    name = "bench"

    def __init__(self, pages: list) -> None:
        self.pages = pages

    def args(self) -> dict:
        return {"pages": len(self.pages), "id": id(self)}

    def fetch(self, position):
        for index, page in enumerate(self.pages):
            last = index + 1 == len(self.pages)
            yield Page(
                records=page.records, position=None if last else {"page": index + 1}, fetched=page.entries
            )


def fresh_store(folder: str) -> SqlStore:
    settings = Settings(environment="development", database_url=f"sqlite:///{folder}/bench.db")
    upgrade(settings)
    return SqlStore(make_engine(settings))


def bench_store(parsed: list) -> tuple[tuple[float, float], float]:
    total = sum(len(p.records) for p in parsed)
    with tempfile.TemporaryDirectory(prefix="dailypapers-bench-ingest-") as folder:
        store = fresh_store(folder)
        started, cpu = time.perf_counter(), time.process_time()
        report = harvest(store, ListSource(parsed))
        first, first_cpu = time.perf_counter() - started, time.process_time() - cpu
        assert report.status == "ok" and report.totals.new == total, report
        started = time.perf_counter()
        again = harvest(store, ListSource(parsed))
        second = time.perf_counter() - started
        assert again.totals.unchanged == total
        store.engine.dispose()
    return (total / first, total / first_cpu), total / second


def bench_end_to_end(total: int, page_size: int) -> float:
    pages = {}
    for first in range(0, total, page_size):
        nxt = first + page_size
        pages[str(first)] = list_records_page(
            first, min(page_size, total - first), str(nxt) if nxt < total else None
        )

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
            body = pages[query.get("resumptionToken", "0")]
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory(prefix="dailypapers-bench-ingest-") as folder:
            store = fresh_store(folder)
            with PoliteClient(user_agent="bench", delay=0.0, lock_dir=Path(folder)) as client:
                url = f"http://127.0.0.1:{server.server_address[1]}/oai"
                source = OaiSource(
                    client, url, set_spec="cs", since=date(2025, 1, 1), until=date(2025, 1, 31)
                )
                started = time.perf_counter()
                report = harvest(store, source)
                seconds = time.perf_counter() - started
            assert report.status == "ok" and report.totals.new == total, report.error
            store.engine.dispose()
    finally:
        server.shutdown()
    return total / seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=OAI_PAGE)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    parse_rates, store_rates, again_rates, api_rates, e2e_rates = [], [], [], [], []
    parse_cpu, store_cpu = [], []
    for _ in range(args.runs):
        (rate, rate_cpu), parsed = bench_parse(args.records, args.page_size)
        parse_rates.append(rate)
        parse_cpu.append(rate_cpu)
        (first, first_cpu), again = bench_store(parsed)
        store_rates.append(first)
        store_cpu.append(first_cpu)
        again_rates.append(again)
        api_rates.append(bench_parse_api())
        e2e_rates.append(bench_end_to_end(args.records, args.page_size))
    parse = statistics.median(parse_rates)
    store = statistics.median(store_rates)
    parse_c, store_c = statistics.median(parse_cpu), statistics.median(store_cpu)
    again = statistics.median(again_rates)
    api = statistics.median(api_rates)
    e2e = statistics.median(e2e_rates)

    requests = -(-ARXIV_RECORDS // OAI_PAGE)
    api_requests = -(-ARXIV_RECORDS // API_PAGE)
    # Per page: the server's answer, then our parse (inside the pacer's slot), then the 3 s pause, which the
    # store of the page overlaps (the pause counts from the end of the response).
    per_page_parse = OAI_PAGE / parse
    per_page_store = OAI_PAGE / store
    paced = requests * (per_page_parse + max(DELAY, per_page_store))
    print(
        f"python {platform.python_version()}, {platform.machine()}, nproc {os.cpu_count()}", file=sys.stderr
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| measure | median (wall clock) | per CPU-second | target |")
    print("|---|---|---|---|")
    print(
        f"| parse OAI-PMH arXivRaw, pages of {args.page_size:,} | {parse:,.0f} records/s | {parse_c:,.0f} "
        "| ≥ 2,000 |"
    )
    print(f"| parse search API Atom, pages of {API_PAGE:,} | {api:,.0f} entries/s | | |")
    print(
        f"| store on SQLite (new papers, checkpoint per page) | {store:,.0f} papers/s | {store_c:,.0f} "
        "| ≥ 5,000 |"
    )
    print(f"| store on SQLite (same papers again: unchanged) | {again:,.0f} papers/s | | |")
    print(f"| local OAI harvest end to end, no pacing (HTTP + parse + store) | {e2e:,.0f} records/s | | |")
    print()
    print(f"First harvest of {ARXIV_RECORDS:,} records:")
    print(
        f"- OAI-PMH: {requests:,} requests of {OAI_PAGE:,}; paced at one per {DELAY:.0f} s after the previous"
    )
    print(f"  answer: {paced / 3600:.1f} h plus the server's answer time per page ({requests:,} x t_answer;")
    print(f"  at 5 s a page that adds {requests * 5 / 3600:.1f} h).")
    parse_min, store_min = ARXIV_RECORDS / parse / 60, ARXIV_RECORDS / store / 60
    print(f"- Parsing all of it alone: {parse_min:.1f} min; storing: {store_min:.1f} min.")
    print(
        f"- Search API instead (pages of {API_PAGE:,}, <= 30,000 per query, so per-category-month windows):"
    )
    print(f"  at least {api_requests:,} requests = {api_requests * DELAY / 3600:.1f} h of pauses alone.")


if __name__ == "__main__":
    main()
