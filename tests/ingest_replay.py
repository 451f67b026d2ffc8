"""A local HTTP server that replays recorded payloads for the ingestion tests (never the internet).

`Replay(route)` serves `route(path, query) -> Reply` on 127.0.0.1 from a thread, and records when each request
arrived and how many were in flight at once, so pacing is measured from the server's side.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from conftest import FIXTURES

API = FIXTURES / "arxiv_api"
OAI = FIXTURES / "oai_pmh"
RSS = FIXTURES / "rss"
HF = FIXTURES / "hf_api"


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow server)
    content_type: str = "application/xml; charset=utf-8"


@dataclass
class Arrival:
    at: float  # time.monotonic()
    path: str
    query: dict[str, str]
    user_agent: str


Route = Callable[[str, dict[str, str]], Reply]


class Replay:
    def __init__(self, route: Route, host: str = "127.0.0.1") -> None:
        self.route = route
        self.arrivals: list[Arrival] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
                with replay._lock:
                    replay.arrivals.append(
                        Arrival(time.monotonic(), parts.path, query, self.headers.get("User-Agent", ""))
                    )
                    replay.in_flight += 1
                    replay.max_in_flight = max(replay.max_in_flight, replay.in_flight)
                try:
                    reply = replay.route(parts.path, query)
                    if reply.delay:
                        time.sleep(reply.delay)
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                finally:
                    with replay._lock:
                        replay.in_flight -= 1

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Replay:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def gaps(self) -> list[float]:
        times = [a.at for a in self.arrivals]
        return [b - a for a, b in zip(times, times[1:], strict=False)]


def fixture(folder: Path, pattern: str) -> bytes:
    """The one fixture file in `folder` whose name matches `pattern` (a glob)."""
    matches = sorted(folder.glob(pattern))
    assert len(matches) == 1, (pattern, matches)
    return matches[0].read_bytes()


def api_query_page(start: int, size: int) -> bytes:
    """A page of the recorded `search_query=testing` results: the recorded file for (start, size) when
    arXiv was asked exactly that, else cut from the recorded first 100 (the pages agree, see the tests)."""
    recorded = sorted(API.glob(f"2026_q_testing_s{start}_m{size}_*.xml"))
    if recorded:
        return recorded[0].read_bytes()
    return slice_feed(fixture(API, "2026_q_testing_s0_m100_*.xml"), start, size)


def slice_feed(body: bytes, start: int, size: int, total: int | None = None) -> bytes:
    """The Atom feed with only entries [start, start+size), its startIndex and itemsPerPage set (and its
    totalResults, given `total`)."""
    text = body.decode()
    entries = re.findall(r"  <entry>.*?</entry>\n", text, re.S)
    head = text[: text.index("  <entry>")]
    tail = text[text.rindex("</entry>") + len("</entry>\n") :]
    head = re.sub(r"<opensearch:startIndex>\d+<", f"<opensearch:startIndex>{start}<", head)
    head = re.sub(r"<opensearch:itemsPerPage>\d+<", f"<opensearch:itemsPerPage>{size}<", head)
    if total is not None:
        head = re.sub(r"<opensearch:totalResults>\d+<", f"<opensearch:totalResults>{total}<", head)
    return (head + "".join(entries[start : start + size]) + tail).encode()


# -- OAI-PMH: multi-page ListRecords built from the recorded arXivRaw page ---------------------------------

_OAI_PAGE = (
    OAI / "RECONSTRUCTED_2025_oaipmh_ListRecords_arXivRaw_set_cs_page1_TRUNCATED_to_3_records.xml"
).read_text()
_RECORDS = re.findall(r"\s*<record>.*?</record>", _OAI_PAGE, re.S)
_HEAD = _OAI_PAGE[: _OAI_PAGE.index(_RECORDS[0])]
_TAIL_TOKEN = re.search(r"\s*<resumptionToken.*?(?:/>|</resumptionToken>)", _OAI_PAGE, re.S).group(0)
_TAIL = _OAI_PAGE[_OAI_PAGE.index(_RECORDS[-1]) + len(_RECORDS[-1]) :].replace(_TAIL_TOKEN, "{token}")


def oai_record(n: int) -> str:
    """The n-th synthetic record: a recorded arXivRaw record with its ids renumbered 2501.NNNNN."""
    template = _RECORDS[n % len(_RECORDS)]
    new_id = f"2501.{n:05d}"
    record = re.sub(
        r"<identifier>oai:arXiv\.org:[^<]+</identifier>",
        f"<identifier>oai:arXiv.org:{new_id}</identifier>",
        template,
    )
    return re.sub(r"<id>[^<]+</id>", f"<id>{new_id}</id>", record)


def oai_ids(total: int) -> list[str]:
    return [f"2501.{n:05d}" for n in range(total)]


def oai_page(records: list[str], token: str | None) -> bytes:
    token_xml = (
        f"\n                    <resumptionToken cursor='0'>{token}</resumptionToken>"
        if token
        else "\n                    <resumptionToken/>"
    )
    return (_HEAD + "".join(records) + _TAIL.replace("{token}", token_xml)).encode()


def oai_error(code: str, message: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\n'
        "<responseDate>2025-06-02T12:00:00Z</responseDate>\n"
        '<request verb="ListRecords">https://oaipmh.arxiv.org/oai</request>\n'
        f"<error code='{code}'>{message or code}</error>\n</OAI-PMH>"
    ).encode()


class OaiServer:
    """ListRecords over `total` synthetic records, `per_page` a page. Only the window starting at
    `window_from` has records (others answer noRecordsMatch). Tokens are `g<generation>-<offset>`: bumping
    `generation` expires every token given before (as arXiv's do at UTC midnight). `fail` maps a token or a
    `from` date to a Reply served instead (an outage at that page)."""

    def __init__(self, total: int, per_page: int, *, window_from: str | None = None, delay: float = 0.0):
        self.total = total
        self.per_page = per_page
        self.window_from = window_from
        self.delay = delay
        self.generation = 0
        self.fail: dict[str, Reply] = {}

    def __call__(self, path: str, query: dict[str, str]) -> Reply:
        token = query.get("resumptionToken")
        key = token if token is not None else query.get("from", "")
        if key in self.fail:
            return self.fail[key]
        if token is not None:
            generation, _, offset = token.partition("-")
            if generation != f"g{self.generation}" or not offset.isdigit():
                return Reply(oai_error("badResumptionToken", "The value of the resumptionToken is invalid"))
            offset = int(offset)
        else:
            if self.window_from is not None and query.get("from") != self.window_from:
                return Reply(oai_error("noRecordsMatch"), delay=self.delay)
            offset = 0
        end = min(offset + self.per_page, self.total)
        next_token = f"g{self.generation}-{end}" if end < self.total else None
        records = [oai_record(n) for n in range(offset, end)]
        return Reply(oai_page(records, next_token), delay=self.delay)
