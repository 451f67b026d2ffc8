"""The ingestion parsers on every recorded payload in tests/fixtures, on hostile input, and the pure rules
(ids, authors, withdrawals, windows, schedule, Retry-After). No network, no database."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from dailypapers.ingest import fields, safexml
from dailypapers.ingest.arxiv_api import parse_feed
from dailypapers.ingest.hf import parse_daily
from dailypapers.ingest.oai import parse_response
from dailypapers.ingest.pages import month_windows
from dailypapers.ingest.polite import pacing_key, retry_after_seconds, user_agent
from dailypapers.ingest.rss import parse_listing
from dailypapers.ingest.safexml import BadPage
from dailypapers.ingest.schedule import ARXIV_JOB, HF_JOB, next_run
from ingest_replay import API, HF, OAI, RSS, fixture


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- every fixture file ---------------------------------------------------------------------------------

API_FILES = sorted(p.name for p in API.glob("*.xml"))
OAI_FILES = sorted(p.name for p in OAI.glob("*.xml"))


@pytest.mark.parametrize("name", API_FILES)
def test_every_search_api_fixture_parses(name):
    body = (API / name).read_bytes()
    if "_id_abc_" in name:  # HTTP 400 with one entry titled Error
        with pytest.raises(BadPage) as caught:
            parse_feed(body)
        assert caught.value.reason == "arXiv API error: incorrect id format for abc"
        assert not caught.value.retry
        return
    page = parse_feed(body)
    assert page.skipped == []
    assert len(page.records) == page.entries
    for record in page.records:
        assert record.title and record.abstract and record.authors
        assert record.version and record.published_at and record.updated_at >= record.published_at
        assert record.categories and record.versions[record.version] == record.updated_at
        assert record.source == "arxiv-api"
        assert "  " not in record.title and "\n" not in record.abstract  # whitespace collapsed


def test_search_api_fields_new_and_legacy_backends():
    legacy = parse_feed(fixture(API, "2016_legacy_id_list_1111.2011v2.xml")).records[0]
    assert (legacy.arxiv_id, legacy.version) == ("1111.2011", 2)
    assert (
        legacy.title
        == "Quantum Criticality for Extended Nodes on a Bethe Lattice in the Large Connectivity Limit"
    )
    assert legacy.authors == ["James M. Murray", "Adrian Del Maestro", "Zlatko Tesanovic"]
    assert legacy.doi == "10.1103/PhysRevB.85.115117"
    assert legacy.published_at == utc(2011, 11, 8, 18, 48, 36)
    assert legacy.versions == {1: utc(2011, 11, 8, 18, 48, 36), 2: utc(2012, 4, 2, 12, 38, 54)}
    old_style = parse_feed(fixture(API, "2026_id_quant-ph_0201082v1_*.xml")).records[0]
    assert (old_style.arxiv_id, old_style.version) == ("quant-ph/0201082", 1)
    assert old_style.categories == ["quant-ph", "cs.PL"]  # primary first
    page = parse_feed(fixture(API, "2026_q_testing_s0_m100_*.xml"))
    assert (page.total, page.start, page.entries) == (214881, 0, 100)
    unknown = parse_feed(fixture(API, "2026_id_0000.0000_*.xml"))
    assert (unknown.total, unknown.records) == (0, [])


def test_recorded_search_pages_agree_with_each_other():
    """The `2026_q_testing_s*_m*` files are pages of one query: each is a slice of the first 100."""
    first_100 = [r.arxiv_id for r in parse_feed(fixture(API, "2026_q_testing_s0_m100_*.xml")).records]
    for path in API.glob("2026_q_testing_s*_m1[05]_*.xml"):
        start = int(path.name.split("_s")[1].split("_")[0])
        page = parse_feed(path.read_bytes())
        assert page.start == start
        assert [r.arxiv_id for r in page.records] == first_100[start : start + page.entries]


@pytest.mark.parametrize("name", OAI_FILES)
def test_every_oai_fixture_parses(name):
    page = parse_response((OAI / name).read_bytes())
    assert page.skipped == []
    if "Error_noRecordsMatch" in name:
        assert page.error_code == "noRecordsMatch" and page.records == []
    elif "ListIdentifiers" in name:
        assert page.identifiers == [
            "oai:arXiv.org:0705.1765",
            "oai:arXiv.org:0705.3619",
            "oai:arXiv.org:0705.3623",
        ]
    else:
        assert page.error_code is None
        assert len(page.records) == page.entries > 0
        for record in page.records:
            assert record.title and record.abstract and record.authors and record.published_at
            assert record.source == "arxiv-oai"


def test_oai_arxivraw_keeps_every_version_and_its_date():
    record = parse_response(
        fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_arXivRaw_0806.4129.xml")
    ).records[0]
    assert record.version == 6
    assert sorted(record.versions) == [1, 2, 3, 4, 5, 6]
    assert record.versions[1] == utc(2008, 6, 25, 15, 29, 38)
    assert record.versions[6] == utc(2014, 12, 12, 13, 15, 28)
    assert record.published_at == record.versions[1] and record.updated_at == record.versions[6]
    assert record.authors == ["Roldao da Rocha", "Waldyr A. Rodrigues Jr"]
    assert record.journal_ref == "AIP Conf.Proc.1316:466-477,2010" and record.doi == "10.1063/1.3536454"
    assert record.withdrawn is None


def test_oai_arxiv_format_structured_authors_and_tokens():
    page = parse_response(
        fixture(OAI, "2015_legacy_export_oai2_ListRecords_arXiv_resumption_page_EXCERPT.xml")
    )
    assert page.token == "788421|43001" and page.complete_size == 1024354 and page.cursor == 42000
    assert page.records[0].authors == ["Mauro M. Doria", "Antonio R. de C. Romaguera", "F. M. Peeters"]
    suffix = parse_response(fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_arXiv_0806.4129.xml")).records[
        0
    ]
    assert suffix.authors == ["Roldao da Rocha", "Waldyr A. Rodrigues Jr"]
    last = parse_response(
        fixture(OAI, "RECONSTRUCTED_2025_oaipmh_ListRecords_arXivRaw_last_page_empty_token.xml")
    )
    assert last.token is None and [r.arxiv_id for r in last.records] == ["cs/0001024"]
    first = parse_response(fixture(OAI, "RECONSTRUCTED_2025_*_set_cs_page1_TRUNCATED_to_3_records.xml"))
    assert first.token == "verb%3DListRecords%26metadataPrefix%3DarXivRaw%26set%3Dcs%26skip%3D2500"
    assert [r.arxiv_id for r in first.records] == ["cs/0001024", "0704.0248", "0704.0046"]
    assert first.records[2].authors == ["I. Csiszar", "F. Hiai", "D. Petz"]


def test_oai_dc_names_turned_round():
    record = parse_response(fixture(OAI, "RECONSTRUCTED_2025_oaipmh_GetRecord_oai_dc_0806.4129.xml")).records[
        0
    ]
    assert record.arxiv_id == "0806.4129"
    assert record.authors == ["Roldao da Rocha", "Waldyr A. Rodrigues Jr"]


def test_rss_and_atom_listings():
    for name in ("RECONSTRUCTED_rss_math.OC_2024-08-23.xml", "RECONSTRUCTED_atom_math.OC_2024-08-23.xml"):
        listing = parse_listing((RSS / name).read_bytes())
        assert listing.entries == 1 and listing.skipped == []
        record = listing.records[0]
        assert (record.arxiv_id, record.version) == ("2203.01250", 3)
        assert listing.announce_types == {"2203.01250": "replace-cross"}
        assert record.abstract.startswith("We consider first order local minimization problems")
        assert record.authors == ["Antonin Monteil", "Paul Pegon"]
        assert record.categories == ["math.AP", "math.OC"]
        assert record.doi == "10.5802/jep.257"
        assert record.published_at is None  # listings do not say when a paper was submitted


def test_truncated_real_rss_capture_is_a_bad_page():
    with pytest.raises(BadPage) as caught:
        parse_listing(fixture(RSS, "REAL_rss_cs.AI_*_TRUNCATED.txt"))
    assert caught.value.retry and "truncated" in caught.value.reason


@pytest.mark.parametrize("name", sorted(p.name for p in HF.glob("*.json")))
def test_every_hf_fixture_parses(name):
    body = (HF / name).read_bytes()
    if body.lstrip().startswith(b"{"):  # one item of the array, saved on its own
        body = b"[" + body + b"]"
    page = parse_daily(body)
    assert page.skipped == [] and len(page.records) == page.entries > 0
    for record in page.records:
        assert record.source == "huggingface" and record.title and record.authors


def test_hf_daily_item_keeps_submitter_upvotes_and_links():
    record = parse_daily(b"[" + fixture(HF, "daily_item_2602.23229.json") + b"]").records[0]
    assert record.arxiv_id == "2602.23229"
    assert record.daily_date == date(2026, 3, 6)
    assert record.submitter.username == "marco-garosi"
    assert record.upvotes == 10 and record.num_comments == 1
    assert record.github_repo == "https://github.com/marco-garosi/CIRCLE"
    assert record.github_stars == 9 and record.project_page == "https://circle-lmm.github.io/"


# -- hostile and broken input ----------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&lol4;</title></entry></feed>"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>&xxe;</title></entry></feed>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE feed SYSTEM "http://127.0.0.1:9/evil.dtd">
<feed xmlns="http://www.w3.org/2005/Atom"></feed>"""
HTML_ERROR = b"""<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head>
<body><h1>Service Unavailable</h1></body></html>"""


@pytest.mark.parametrize("parse", [parse_feed, parse_response, parse_listing])
@pytest.mark.parametrize("body", [BILLION_LAUGHS, XXE, EXTERNAL_DTD], ids=["billion-laughs", "xxe", "dtd"])
def test_entity_attacks_are_refused_without_expanding(parse, body):
    with pytest.raises(BadPage) as caught:
        parse(body)
    assert not caught.value.retry and "DOCTYPE" in caught.value.reason


@pytest.mark.parametrize("parse", [parse_feed, parse_response, parse_listing])
@pytest.mark.parametrize(
    "body, reason",
    [
        (b"", "empty response"),
        (b"   \n", "empty response"),
        (HTML_ERROR, "HTML page"),
        (b"<html><body>Rate exceeded.</body></html>", "HTML page"),
        (fixture(API, "2026_q_testing_s0_m10_*.xml")[:3000], "truncated"),
        (b"Rate exceeded.", "malformed"),
        # Latin-1 bytes in a document that says it is UTF-8.
        (b'<?xml version="1.0" encoding="UTF-8"?><feed><title>Caf\xe9</title></feed>', "malformed"),
        (b'<?xml version="1.0" encoding="no-such-encoding"?><feed/>', "XML"),
    ],
)
def test_broken_pages_are_bad_pages_worth_retrying(parse, body, reason):
    with pytest.raises(BadPage) as caught:
        parse(body)
    assert caught.value.retry and reason in caught.value.reason


def test_a_page_of_the_wrong_kind_is_refused():
    with pytest.raises(BadPage, match="not an Atom feed"):
        parse_feed(fixture(OAI, "2017_legacy_export_oai2_ListRecords_arXiv_set_physics_hep-ex.xml"))
    with pytest.raises(BadPage, match="not an OAI-PMH response"):
        parse_response(fixture(API, "2026_q_testing_s0_m10_*.xml"))
    with pytest.raises(BadPage, match="not an RSS or Atom feed"):
        parse_listing(fixture(OAI, "RECONSTRUCTED_2025_oaipmh_Error_noRecordsMatch.xml"))


def test_a_declared_latin1_document_is_read_as_latin1():
    body = (
        fixture(API, "2026_id_2104.12255v1_*.xml")
        .replace(b"UTF-8", b"ISO-8859-1")
        .replace(b"<title>0</title>", b"<title>Caf\xe9</title>")
    )
    assert parse_feed(body).records[0].title == "Café"


def test_bad_records_are_skipped_with_their_reason_and_the_rest_kept():
    body = fixture(API, "2026_q_testing_s0_m10_*.xml").decode()
    body = body.replace("http://arxiv.org/abs/2202.12139v1", "http://arxiv.org/abs/not-an-id", 1)
    summaries = re.findall(r"<summary>.*?</summary>", body, re.S)
    body = body.replace(summaries[1], "<summary>  </summary>", 1)
    page = parse_feed(body.encode())
    assert page.entries == 10 and len(page.records) == 8
    assert [s.reason for s in page.skipped] == ["not an arXiv id", "missing abstract"]
    assert page.skipped[0].where == "http://arxiv.org/abs/not-an-id"


@pytest.mark.parametrize(
    "body, reason",
    [
        (b'{"error": "Invalid date"}', "expected a JSON array"),
        (b'"hello"', "expected a JSON array"),
    ],
)
def test_json_of_the_wrong_shape_is_a_page_not_worth_retrying(body, reason):
    with pytest.raises(BadPage) as caught:
        parse_daily(body)
    assert reason in caught.value.reason and not caught.value.retry


def test_broken_json_is_worth_retrying():
    for body in (b"", b"[{", b"<!DOCTYPE html><html>oops</html>"):
        with pytest.raises(BadPage) as caught:
            parse_daily(body)
        assert caught.value.retry


def test_daily_items_of_the_wrong_shape_are_skipped_one_by_one():
    good = fixture(HF, "daily_item_2602.23229.json").decode()
    body = (
        f'[{good}, 3, {{"paper": "x"}}, {{"paper": {{"id": "abc", "title": "t"}}}}, {{"paper": {{"id": 5}}}}]'
    )
    page = parse_daily(body.encode())
    assert [r.arxiv_id for r in page.records] == ["2602.23229"]
    assert [s.reason for s in page.skipped] == [
        "not a daily item",
        "not a daily item",
        "not an arXiv id",
        "the arXiv id must be a string",
    ]


# -- pure rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2401.00001", ("2401.00001", None)),
        ("2401.00001v3", ("2401.00001", 3)),
        ("oai:arXiv.org:hep-th/9901001", ("hep-th/9901001", None)),
        ("http://arxiv.org/abs/math.CA/0611800v2", ("math.CA/0611800", 2)),
        ("https://arxiv.org/abs/0704.0001v1", ("0704.0001", 1)),
    ],
)
def test_ids_new_and_old_style(value, expected):
    assert fields.arxiv_id(value) == expected


@pytest.mark.parametrize(
    "value", ["abc", "0000.0000", "2401.1", "1412.12345", "hep-th/99", "", None, "2401.00001v0"]
)
def test_ids_that_are_not_ids(value):
    with pytest.raises(fields.SkipRecord):
        fields.arxiv_id(value)


@pytest.mark.parametrize(
    "comment, withdrawn",
    [
        ("This paper has been withdrawn by the author due to a crucial error", True),
        ("Withdrawn: duplicate of 2401.00001", True),
        ("This submission has been withdrawn by arXiv administrators", True),
        ("paper withdrawn", True),
        ("12 pages; the claim of Sec. 3 is withdrawn in v2", True),
        ("We study drugs withdrawn from the market", None),
        ("10 pages, 3 figures", None),
        (None, None),
    ],
)
def test_withdrawal_comments(comment, withdrawn):
    assert fields.is_withdrawn(comment) is withdrawn


def test_author_lists():
    assert fields.split_authors("A. Smith, B. Jones (MIT, Cambridge) and C. Brown") == [
        "A. Smith",
        "B. Jones",
        "C. Brown",
    ]
    assert fields.split_authors("Alexander Anderson") == ["Alexander Anderson"]


def test_month_windows():
    assert month_windows(date(2024, 1, 15), date(2024, 3, 2)) == [
        (date(2024, 1, 15), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 2)),
    ]
    assert month_windows(date(2024, 5, 1), date(2024, 4, 1)) == []
    assert month_windows(date(2024, 12, 31), date(2024, 12, 31)) == [(date(2024, 12, 31), date(2024, 12, 31))]


def test_retry_after_in_seconds_and_as_an_http_date():
    now = utc(2026, 11, 27, 12, 0, 0)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("Fri, 27 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("Fri, 27 Nov 2026 11:00:00 GMT", now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_user_agent_and_pacing_keys():
    ua = user_agent("https://papers.example.org", "admin@example.org")
    assert ua.startswith("dailypapers/") and ua.endswith(
        "(+https://papers.example.org; mailto:admin@example.org)"
    )
    assert pacing_key("https://export.arxiv.org/api/query") == pacing_key("https://oaipmh.arxiv.org/oai")
    assert pacing_key("https://rss.arxiv.org/rss/cs.AI") == "arxiv.org"
    assert pacing_key("http://127.0.0.1:8123/x") == "127.0.0.1:8123"


@pytest.mark.parametrize(
    "after, expected",
    [
        # Thursday 2026-11-26 10:00 UTC -> Thursday 20:30 EST = Friday 01:30 UTC.
        (utc(2026, 11, 26, 10, 0), utc(2026, 11, 27, 1, 30)),
        # Friday evening -> no announcement Friday or Saturday: Sunday 20:30 EST.
        (utc(2026, 11, 27, 12, 0), utc(2026, 11, 30, 1, 30)),
        # Summer time: Monday 2026-07-06 20:30 EDT = Tuesday 00:30 UTC.
        (utc(2026, 7, 6, 12, 0), utc(2026, 7, 7, 0, 30)),
        # Exactly at the run time: the next one.
        (utc(2026, 7, 7, 0, 30), utc(2026, 7, 8, 0, 30)),
        # Across the DST change (Sunday 2026-03-08): Sunday 20:30 EDT = Monday 00:30 UTC.
        (utc(2026, 3, 7, 12, 0), utc(2026, 3, 9, 0, 30)),
    ],
)
def test_arxiv_job_runs_at_2030_eastern_sunday_to_thursday(after, expected):
    assert next_run(ARXIV_JOB, after) == expected


def test_hf_job_runs_daily():
    first = next_run(HF_JOB, utc(2026, 11, 28, 0, 0))
    assert first == utc(2026, 11, 28, 23, 30)
    assert next_run(HF_JOB, first) - first == timedelta(days=1)


def test_safexml_text_collapses_whitespace():
    root = safexml.parse(b"<a><b>  x \n  y </b></a>")
    assert safexml.text(root.find("b")) == "x y" and safexml.text(None) is None
