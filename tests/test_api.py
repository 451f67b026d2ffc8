"""The JSON API: exact shapes, headers, documents, and every kind of bad input (never a 500)."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from demo_facts import EMPTY_DAY, KNOWN_ID, LATEST_DAY, records

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TIMESTAMP_KEYS = {"publishedAt", "submittedOnDailyAt", "updatedAt", "withdrawnAt", "statusLastChangedAt"}
# The daily item and nested paper of the contract (shared docs/hf-papers-api.md), minus its optional keys.
ITEM_KEYS = {
    "paper",
    "title",
    "summary",
    "publishedAt",
    "thumbnail",
    "numComments",
    "submittedBy",
    "isAuthorParticipating",
    "upvotes",
}
PAPER_KEYS = {"id", "authors", "publishedAt", "title", "summary", "upvotes", "discussionId"}
USER_KEYS = {"_id", "name", "user", "fullname", "avatarUrl", "type", "isPro"}
# Fields the client reads only at the top level of an item: they repeat the nested paper's.
TOP_LEVEL_COPIES = ("ai_summary", "ai_keywords", "githubRepo", "githubStars", "projectPage", "organization")
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _timestamps(value, path="$"):
    """Every (path, value) under a timestamp key, anywhere in a JSON document."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in TIMESTAMP_KEYS and inner is not None:
                yield f"{path}.{key}", inner
            yield from _timestamps(inner, f"{path}.{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _timestamps(inner, f"{path}[{index}]")


def _check_user(user):
    assert USER_KEYS <= user.keys(), user
    assert isinstance(user["name"], str) and user["name"]
    assert user["user"] == user["name"]
    assert user["type"] in ("user", "org")


def _check_item(item):
    assert ITEM_KEYS <= item.keys(), sorted(ITEM_KEYS - item.keys())
    paper = item["paper"]
    assert PAPER_KEYS <= paper.keys(), sorted(PAPER_KEYS - paper.keys())
    assert item["title"] == paper["title"] and isinstance(item["title"], str)
    assert item["summary"] == paper["summary"]
    assert isinstance(item["upvotes"], int) and item["upvotes"] == paper["upvotes"]
    assert isinstance(item["numComments"], int)
    _check_user(item["submittedBy"])
    if "submittedOnDailyBy" in paper:
        _check_user(paper["submittedOnDailyBy"])
    for author in paper["authors"]:
        assert {"_id", "name", "hidden"} <= author.keys()
    for key in TOP_LEVEL_COPIES:
        assert item.get(key) == paper.get(key), key
    if "organization" in item:
        assert {"_id", "name", "fullname", "avatarUrl"} <= item["organization"].keys()
    for where, value in _timestamps(item):
        assert isinstance(value, str) and TIMESTAMP.match(value), (where, value)


def _assert_json_error(response, status=None):
    where = (response.request.url, response.status_code, response.text[:200])
    assert 400 <= response.status_code < 500, where
    if status is not None:
        assert response.status_code == status, (response.request.url, response.status_code)
    assert response.headers["content-type"].startswith("application/json"), response.request.url
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body


def _assert_html_error(response, status=None):
    assert 400 <= response.status_code < 500, (response.request.url, response.status_code)
    if status is not None:
        assert response.status_code == status, (response.request.url, response.status_code)
    assert response.headers["content-type"].startswith("text/html"), response.request.url
    assert response.text.lstrip().lower().startswith("<!doctype html>")


# -- shapes ---------------------------------------------------------------------------------------------


def test_every_item_of_the_whole_feed_has_the_client_shape(reader):
    seen = 0
    for page in range(100):
        response = reader.get("/api/daily_papers", params={"p": page, "limit": 100})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/json")
        items = response.json()
        assert isinstance(items, list)
        if not items:
            break
        for item in items:
            _check_item(item)
        seen += len(items)
    assert seen == sum(1 for r in records().values() if r.daily_date is not None)

    # Optional fields repeated at the top level, and both keys of the submitter's name.
    items = reader.get("/api/daily_papers", params={"date": LATEST_DAY}).json()
    item = next(i for i in items if i["paper"]["id"] == KNOWN_ID)
    record = records()[KNOWN_ID]
    assert item["githubRepo"] == record.github_repo
    assert item["projectPage"] == record.project_page
    assert item["githubStars"] == record.github_stars
    assert item["organization"]["name"] == record.organization
    assert item["submittedBy"]["name"] == item["submittedBy"]["user"] == "DobyXu"
    assert item["publishedAt"] == "2026-08-20T00:00:00.000Z"
    assert item["paper"]["submittedOnDailyAt"] == "2026-08-21T00:00:00.000Z"

    # Papers whose source recorded no submitter still name one: clients read `submittedBy.name` unchecked.
    items = reader.get("/api/daily_papers", params={"date": "2026-08-06"}).json()
    unrecorded = [i for i in items if records()[i["paper"]["id"]].submitter is None]
    assert unrecorded
    for item in unrecorded:
        _check_user(item["submittedBy"])


def test_paper_detail_is_flat_and_complete(reader):
    response = reader.get(f"/api/papers/{KNOWN_ID}")
    assert response.status_code == 200
    paper = response.json()
    record = records()[KNOWN_ID]
    assert PAPER_KEYS <= paper.keys()
    assert paper["id"] == KNOWN_ID
    assert [a["name"] for a in paper["authors"]] == record.authors
    assert paper["title"] == record.title
    assert paper["upvotes"] == record.upvotes
    assert paper["githubRepo"] == record.github_repo
    assert paper["organization"]["name"] == record.organization
    _check_user(paper["submittedOnDailyBy"])
    assert paper["arxivUrl"] == f"https://arxiv.org/abs/{KNOWN_ID}"
    assert paper["pdfUrl"] == f"https://arxiv.org/pdf/{KNOWN_ID}"
    assert isinstance(paper["categories"], list)
    for where, value in _timestamps(paper):
        assert TIMESTAMP.match(value), (where, value)
    # The paper page's JSON twin is the same document, plus the public collections holding the paper (none
    # here) and similar papers when search is up.
    twin = reader.get(f"/papers/{KNOWN_ID}.json").json()
    twin.pop("similarPapers", None)
    assert twin.pop("inCollections") == [] and twin.pop("inCollectionsTotal") == 0
    assert twin == paper


def test_link_header_points_to_the_next_page_until_the_last(reader):
    base = reader.app.state.settings.base_url
    url = f"/api/daily_papers?date={LATEST_DAY}&limit=5"
    pages = []
    while url:
        response = reader.get(url)
        assert response.status_code == 200
        pages.append([item["paper"]["id"] for item in response.json()])
        link = response.headers.get("link")
        if link is None:
            break
        match = re.fullmatch(r'<([^>]+)>; rel="next"', link)
        assert match, link
        assert match.group(1).startswith(f"{base}/api/daily_papers?")
        url = match.group(1)[len(base) :]
        assert len(pages) < 10
    assert [len(page) for page in pages] == [5, 5, 5, 2]
    ids = [i for page in pages for i in page]
    assert len(set(ids)) == len(ids) == 17


def test_markdown_and_openapi_documents(reader):
    response = reader.get(f"/papers/{KNOWN_ID}.md")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    record = records()[KNOWN_ID]
    assert response.text.startswith(f"# {record.title}\n")
    assert f"https://arxiv.org/abs/{KNOWN_ID}" in response.text
    assert f"https://arxiv.org/pdf/{KNOWN_ID}" in response.text
    assert reader.get("/papers/2699.99999.md").status_code == 404

    response = reader.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    daily = schema["paths"]["/api/daily_papers"]["get"]
    assert daily["operationId"] == "list_daily_papers"
    names = {parameter["name"] for parameter in daily["parameters"]}
    assert {"p", "limit", "date", "week", "month", "submitter", "sort"} <= names
    assert schema["paths"]["/api/papers/{arxiv_id}"]["get"]["operationId"] == "paper_info"
    assert reader.get("/api/docs").status_code == 200


# -- valid but empty -------------------------------------------------------------------------------------


EMPTY_QUERIES = [
    {"date": EMPTY_DAY},
    {"date": "1999-01-01"},
    {"date": "2030-01-01"},
    {"date": "0001-01-02"},
    {"week": "2020-W01"},
    {"week": "2026-W53"},
    {"month": "2030-01"},
    {"submitter": "nobody-at-all"},
    {"date": LATEST_DAY, "p": 1},
    {"p": 100_000},
]


def test_valid_filters_without_papers_give_an_empty_list(reader):
    for query in EMPTY_QUERIES:
        response = reader.get("/api/daily_papers", params=query)
        assert response.status_code == 200, (query, response.text)
        assert response.json() == [], query
        assert "link" not in response.headers


# -- bad input -------------------------------------------------------------------------------------------

BAD_QUERIES = [
    "limit=0",
    "limit=101",
    "limit=100000",
    "limit=abc",
    "limit=-1",
    "limit=1.5",
    "limit=1e3",
    "p=-1",
    "p=abc",
    "p=99999999999999999999999999",
    "week=2025-W60",
    "week=2026-W00",
    "week=2026-W1",
    "week=2026W01",
    "month=2026-13",
    "month=2026-00",
    "month=2026-1",
    "date=2026-02-30",
    "date=2026-13-01",
    "date=26-01-01",
    "date=2026-8-1",
    "date=yesterday",
    "date=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-08-21",  # full-width digits
    "date=0000-01-01",
    "date=9999-12-31",
    "week=9999-W52",
    "month=9999-12",
    "month=0000-01",
    "date=2026-08-21&week=2026-W34",
    "date=2026-08-21&month=2026-08",
    "week=2026-W34&month=2026-08",
    "date=2026-08-21&week=2026-W34&month=2026-08",
    "sort=bogus",
    "sort=",
    "sort=PUBLISHEDAT",
    "submitter=%00",
    "submitter=a%00b",
    "submitter=" + "x" * 65,
]


def test_bad_queries_are_400_json(reader):
    for query in BAD_QUERIES:
        _assert_json_error(reader.get(f"/api/daily_papers?{query}"), 400)


BAD_PAPER_IDS = [
    "abc",
    "2699.99999",  # well-formed, absent
    "2608.2033",
    "hep-th/9901001",  # old style, absent
    "math.GT/0309136",
    "..%2F..%2Fetc%2Fpasswd",
    "%00",
    "2608.20336v",
    "%E2%80%AE2608.20336",
    "1" * 300,
]


def test_unknown_and_malformed_paper_ids_are_404_json(reader):
    for paper_id in BAD_PAPER_IDS:
        response = reader.get(f"/api/papers/{paper_id}")
        _assert_json_error(response, 404)
        assert response.json() == {"error": "Paper not found"}
    # Old-style ids hold a slash: they still reach the paper endpoint.
    for path in ("/api/papers/hep-th/9901001", "/api/papers/hep-th/9901001v2", "/api/papers/math.GT/0309136"):
        response = reader.get(path)
        assert response.status_code == 404
        assert response.json() == {"error": "Paper not found"}


def test_garbage_huge_and_long_requests_never_500(reader):
    queries = [
        "%00=%ff%fe",
        "date=%ff",
        "&&&==&=",
        "p=1&p=2&p=-5",
        "limit=%20",
        "a" * 3000 + "=1",
        "date=" + "9" * 2000,
        "submitter=" + "%F0%9F%98%80" * 10,
        "unknown=1&" * 300,
        "sort=trending&date=bad",
    ]
    for query in queries:
        response = reader.get(f"/api/daily_papers?{query}")
        assert response.status_code < 500, (query[:60], response.status_code)
        assert response.headers["content-type"].startswith("application/json")
        if response.status_code >= 400:
            _assert_json_error(response)
        else:
            assert isinstance(response.json(), list)

    # Very long URLs: refused (414, or 400/404 from a route), JSON under /api and HTML elsewhere.
    for path in (
        "/api/daily_papers?date=" + "1" * 10_000,
        "/api/papers/" + "1" * 10_000,
        "/api/daily_papers?" + "x=1&" * 5_000,
    ):
        response = reader.get(path)
        _assert_json_error(response)
        assert response.status_code in (400, 404, 414)
    for path in ("/papers/" + "a" * 10_000, "/papers/date/" + "2" * 10_000, "/?q=" + "x" * 10_000):
        response = reader.get(path)
        _assert_html_error(response)
        assert response.status_code in (400, 404, 414)


def test_double_slashes_are_folded(reader):
    # A full URL: a bare `//api/...` would be read as a host named `api`.
    expected = reader.get(f"/api/daily_papers?date={LATEST_DAY}").json()
    assert reader.get(f"http://testserver//api/daily_papers?date={LATEST_DAY}").json() == expected
    assert reader.get(f"http://testserver//api//daily_papers?date={LATEST_DAY}").json() == expected
    response = reader.get(f"http://testserver//api/papers/{KNOWN_ID}")
    assert response.status_code == 200 and response.json()["id"] == KNOWN_ID
    _assert_json_error(reader.get("http://testserver//api/papers/2699.99999"), 404)


def test_errors_are_json_under_api_and_html_on_pages(reader):
    _assert_json_error(reader.get("/api/nothing-here"), 404)
    _assert_json_error(reader.get("/api/papers"), 404)
    _assert_json_error(reader.post("/api/daily_papers"), 405)
    _assert_json_error(reader.get("/papers/2699.99999.json"), 404)
    _assert_json_error(reader.get("/papers/date/2026-02-30.json"), 404)
    _assert_json_error(reader.get("/index.json?p=abc"), 400)
    # ... and HTML pages on HTML routes.
    _assert_html_error(reader.get("/no/such/page"), 404)
    _assert_html_error(reader.get("/papers/2699.99999"), 404)
    _assert_html_error(reader.get("/papers/not-an-id"), 404)
    _assert_html_error(reader.get("/papers/hep-th/9901001"), 404)
    _assert_html_error(reader.get("/papers/date/2026-02-30"), 404)
    _assert_html_error(reader.get("/papers/week/2025-W60"), 404)
    _assert_html_error(reader.get("/papers/month/2026-13"), 404)
    _assert_html_error(reader.get("/papers/month/9999-12"), 404)
    _assert_html_error(reader.get("/papers/date/2026-08-21.xml"), 404)
    _assert_html_error(reader.get("/?p=-1"), 400)
    _assert_html_error(reader.get("/papers/trending?p=abc"), 400)
    _assert_html_error(reader.get("/feeds/daily.xml"), 404)
    _assert_html_error(reader.post("/"), 405)


# -- fuzzing ---------------------------------------------------------------------------------------------

_PARAM_NAMES = st.sampled_from(["p", "limit", "date", "week", "month", "submitter", "sort", "q"]) | st.text(
    max_size=8
)
_PARAM_VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.dates().map(str),
    st.sampled_from(["publishedAt", "trending", "2026-W34", "2026-08", LATEST_DAY, "", "%", "\x00"]),
)


@FUZZ
@given(query=st.lists(st.tuples(_PARAM_NAMES, _PARAM_VALUES), max_size=5))
def test_fuzzed_daily_papers_queries_never_500(reader, query):
    response = reader.get(f"/api/daily_papers?{urlencode(query)}")
    assert response.status_code < 500, (query, response.text[:200])
    assert response.headers["content-type"].startswith("application/json")
    if response.status_code == 200:
        assert isinstance(response.json(), list)
    else:
        _assert_json_error(response)


_SEGMENTS = st.one_of(
    st.text(max_size=60),
    st.from_regex(r"[0-9]{4}\.[0-9]{4,5}(v[0-9]{1,3})?(\.json|\.md)?", fullmatch=True),
    st.from_regex(r"[a-z-]{2,12}(\.[A-Z]{2})?/[0-9]{7}", fullmatch=True),
    st.from_regex(r"[0-9]{4}-(W[0-9]{2}|[0-9]{2}|[0-9]{2}-[0-9]{2})(\.json)?", fullmatch=True),
)


_PREFIXES = st.sampled_from(["/papers/", "/papers/date/", "/papers/week/", "/papers/month/", "/api/papers/"])


@FUZZ
@given(segment=_SEGMENTS, prefix=_PREFIXES)
def test_fuzzed_paper_paths_never_500(reader, segment, prefix):
    response = reader.get(prefix + quote(segment, safe="/"))
    assert response.status_code < 500, (prefix, segment, response.text[:200])
