"""Every parser of outside input, fuzzed: random bytes and real recorded payloads cut, spliced and corrupted.

A parser may refuse its input only with its own error (a bad page, a bad record: clear messages the ingest
runs log); any other exception is a crash that would stop a harvest or an import. The number of examples is
bounded so CI runs them in seconds; `DAILYPAPERS_FUZZ_EXAMPLES=5000` runs a longer campaign.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES
from dailypapers.community import markdown
from dailypapers.importers.files import ImportFileError, ImportReport, import_file
from dailypapers.importers.formats import BadRecord, parse
from dailypapers.ingest import arxiv_api, hf, oai, rss
from dailypapers.ingest.safexml import BadPage
from dailypapers.records import PaperRecord
from dailypapers.search import query
from dailypapers.search.types import InvalidQuery

EXAMPLES = int(os.environ.get("DAILYPAPERS_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _payloads(folder: str, *patterns: str) -> list[bytes]:
    paths = sorted(p for pattern in patterns for p in (FIXTURES / folder).glob(pattern))
    assert paths, f"no recorded payloads in {FIXTURES / folder}"
    return [p.read_bytes() for p in paths]


@st.composite
def corrupted(draw, payloads: list[bytes]) -> bytes:
    """A real payload, then a few cuts, splices, duplications and byte changes."""
    body = bytearray(draw(st.sampled_from(payloads)))
    for _ in range(draw(st.integers(0, 4))):
        if not body:
            break
        i = draw(st.integers(0, len(body) - 1))
        kind = draw(st.sampled_from(["cut", "delete", "insert", "flip", "duplicate"]))
        if kind == "cut":
            del body[i:]
        elif kind == "delete":
            del body[i : i + draw(st.integers(1, 200))]
        elif kind == "insert":
            body[i:i] = draw(st.sampled_from([b"<", b">", b"&", b"\x00", b"]]>", b'"', b"\xff\xfe", b"<!--"]))
        elif kind == "flip":
            body[i] = draw(st.integers(0, 255))
        else:
            j = draw(st.integers(i, min(len(body), i + 500)))
            body[j:j] = body[i:j]
    return bytes(body)


def _inputs(payloads: list[bytes]):
    return st.one_of(corrupted(payloads), st.binary(max_size=2000))


OAI = _payloads("oai_pmh", "*.xml")
ARXIV = _payloads("arxiv_api", "*.xml")
RSS = _payloads("rss", "*.xml", "*.txt")
HF = _payloads("hf_api", "*.json")


@FUZZ
@given(body=_inputs(OAI))
def test_oai_pmh(body):
    try:
        page = oai.parse_response(body)
    except BadPage:
        return
    assert all(isinstance(r, PaperRecord) for r in page.records)


@FUZZ
@given(body=_inputs(ARXIV))
def test_arxiv_atom(body):
    try:
        page = arxiv_api.parse_feed(body)
    except BadPage:
        return
    assert all(isinstance(r, PaperRecord) for r in page.records)


@FUZZ
@given(body=_inputs(RSS))
def test_arxiv_listings(body):
    try:
        listing = rss.parse_listing(body)
    except BadPage:
        return
    assert listing is not None


@FUZZ
@given(body=_inputs(HF))
def test_hugging_face_daily_json(body):
    try:
        page = hf.parse_daily(body)
    except BadPage:
        return
    assert all(isinstance(r, PaperRecord) for r in page.records)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
FIELDS = [
    "arxiv_id",
    "id",
    "title",
    "abstract",
    "summary",
    "authors",
    "categories",
    "published_at",
    "publishedAt",
    "upvotes",
    "paper",
    "daily_date",
    "versions",
    "update_date",
    "submitted_by",
]


@FUZZ
@given(
    obj=st.one_of(
        json_values,
        st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=len(FIELDS)),
        st.builds(
            lambda base, extra: {**base, **extra},
            st.sampled_from(
                [
                    json.loads(line)
                    for line in (FIXTURES / "kaggle").glob("*.jsonl").__next__().read_text().splitlines()[:20]
                ]
            ),
            st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=3),
        ),
    )
)
def test_import_records(obj):
    try:
        record = parse(obj)
    except BadRecord:
        return
    assert isinstance(record, PaperRecord) and record.arxiv_id


@FUZZ
@given(text=st.text(max_size=3000))
def test_comment_markdown(text):
    html = markdown.render(text)
    assert "<script" not in html.lower()


@FUZZ
@given(text=st.text(max_size=2000))
def test_search_query(text):
    try:
        parsed = query.parse(text)
    except InvalidQuery as exc:  # nothing to search for: a message for the reader
        assert str(exc)
        return
    assert isinstance(parsed, query.ParsedQuery)


@settings(
    max_examples=max(10, EXAMPLES // 10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        corrupted([p.read_bytes() for p in sorted((FIXTURES / "kaggle").glob("*.jsonl"))] + HF),
        st.binary(max_size=3000),
    ),
    gz=st.booleans(),
)
def test_import_files(body, gz, tmp_path_factory):
    import gzip

    from conftest import make_settings
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore

    folder = tmp_path_factory.mktemp("fuzz-import")
    settings_ = make_settings(f"sqlite:///{folder / 'f.db'}")
    upgrade(settings_)
    store = SqlStore(make_engine(settings_))
    path = folder / ("papers.jsonl.gz" if gz else "papers.jsonl")
    path.write_bytes(gzip.compress(body) if gz else body)
    try:
        import_file(store, path, report=ImportReport())
    except ImportFileError:
        pass
    finally:
        store.engine.dispose()


def test_the_fixtures_are_here():
    assert Path(FIXTURES).is_dir()
    assert all([OAI, ARXIV, RSS, HF])
