"""Search on the web: `/search` and its JSON twin, `GET /api/papers/search` (Hugging Face's contract), similar
papers, and what hostile queries get (results or a clear 400, never a 500 or an engine's message).

The indexes are real: the demo slice imported, then indexed by the indexer with the embeddings that ship for
it (the model itself loads for the semantic queries).
"""

from __future__ import annotations

import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import default_template, make_settings
from dailypapers.store.engine import upgrade
from dailypapers.web.app import create_app
from demo_facts import KNOWN_ID, LATEST_DAY, RICH_ID, by_day, records
from search_support import DEMO_INDEXED

MODES = ("keyword", "semantic", "hybrid")
ITEM_KEYS = {
    "paper",
    "title",
    "summary",
    "publishedAt",
    "thumbnail",
    "numComments",
    "upvoted",
    "isAuthorParticipating",
    "highlightedTitle",
    "highlightedSummary",
    "submittedBy",
}
# Words that would mean an engine's or a driver's message reached the user.
LEAKS = re.compile(
    r"tantivy|usearch|sqlite|psycopg|sqlalchemy|traceback|syntax error|valueerror|exception|"
    r"query parser|parse error|/tmp/|\.py\b",
    re.I,
)
HOSTILE = [
    "",
    " ",
    "!!!",
    "...",
    '"',
    '""',
    '"unbalanced quote',
    'attention "',
    "AND",
    "OR NOT",
    "attention AND",
    "AND attention OR",
    "NEAR(attention transformer)",
    "attention NEAR/3 transformer",
    "*",
    "atten*",
    "*tion",
    ":",
    "title:",
    "title:attention",
    "author:",
    'author:"',
    "abstract:(attention OR",
    "((((",
    ")",
    "-",
    "-attention",
    "+attention",
    "^2",
    "attention~2",
    "[1 TO 5]",
    "{}",
    "\\",
    "attention\\",
    "'; DROP TABLE papers; --",
    "1 OR 1=1",
    "' OR ''='",
    "SELECT * FROM papers",
    "%",
    "_",
    "😀🚀",
    "🙂 attention 🚀",
    "注意力机制 attention",
    "Внимание трансформер",
    "اهتمام",
    "ﷺ",
    "\u202eattention",
    "\u200b",
    "a" * 10_000,
    "attention " * 1_000,
    "x" * 300,
    "2608.20336",
    "arXiv:2608.20336v2",
    "NaN",
    "null",
    "<script>alert(1)</script>",
]


@pytest.fixture
def database_template(request):
    """`indexed_client`'s tests start from a copy of DEMO_INDEXED, its indexes in the test's folder."""
    return DEMO_INDEXED if "indexed_client" in request.fixturenames else default_template(request)


@pytest.fixture(scope="module")
def indexed_settings(tmp_path_factory, sqlite_templates):
    """The demo slice on SQLite with both search indexes built (module-scoped: the tests only read)."""
    folder = tmp_path_factory.mktemp("search-web")
    url = sqlite_templates.copy(DEMO_INDEXED, folder, "demo.db")
    return make_settings(url, index_dir=folder / "index")


@pytest.fixture(scope="module")
def search_client(indexed_settings):
    with TestClient(create_app(indexed_settings)) as client:
        yield client


@pytest.fixture
def indexed_client(settings, demo_store, tmp_path):
    """conftest's demo store (SQLite and PostgreSQL), indexed into a folder of this test (a copy of
    DEMO_INDEXED)."""
    settings = settings.model_copy(update={"index_dir": tmp_path / "index"})
    with TestClient(create_app(settings, store=demo_store)) as client:
        yield client


def _api(client, **params):
    return client.get("/api/papers/search", params=params)


def _spell(segments: list[dict]) -> str:
    assert all(s["type"] in ("text", "highlight") for s in segments)
    return "".join(s["text"] for s in segments)


def _marked(segments: list[dict]) -> list[str]:
    return [s["text"] for s in segments if s["type"] == "highlight"]


def _assert_json_error(response, status=400):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
    assert not LEAKS.search(body["error"]), body["error"]
    return body["error"]


# -- the API, as Hugging Face shapes it ------------------------------------------------------------------


def test_api_search_is_an_array_of_highlighted_daily_items(search_client):
    response = _api(search_client, q="identity grounding group image generation")
    assert response.status_code == 200
    items = response.json()
    assert isinstance(items, list) and 0 < len(items) <= 50
    assert items[0]["paper"]["id"] == KNOWN_ID
    for item in items:
        assert ITEM_KEYS <= item.keys(), ITEM_KEYS - item.keys()
        assert item["upvoted"] is False
        assert _spell(item["highlightedTitle"]) == item["title"]
        assert _spell(item["highlightedSummary"]) == item["summary"]
        assert item["title"] == item["paper"]["title"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", item["publishedAt"])
    top = items[0]
    assert {"Identity", "Grounding", "Group", "Image", "Generation"} <= set(_marked(top["highlightedTitle"]))


def test_matches_are_highlighted_by_word_prefix_and_case(search_client):
    items = _api(search_client, q="TRANSFORM", mode="keyword", limit=20).json()
    assert items
    marked = [
        m.lower() for item in items for m in _marked(item["highlightedTitle"] + item["highlightedSummary"])
    ]
    assert marked and all(m.startswith("transform") for m in marked)


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_finds_a_paper_by_its_title(search_client, mode):
    record = records()[RICH_ID]
    items = _api(search_client, q=record.title, mode=mode, limit=5).json()
    assert RICH_ID in [item["paper"]["id"] for item in items]


def test_modes_rank_differently_and_say_where_hits_came_from(search_client):
    query = "robots learning to grasp objects from demonstrations"
    ranked = {}
    for mode in MODES:
        items = _api(search_client, q=query, mode=mode, limit=20).json()
        assert items, mode
        ranked[mode] = [item["paper"]["id"] for item in items]
        for item in items:
            search = item["search"]
            if mode == "keyword":
                assert search["keywordRank"] and search["semanticRank"] is None
            elif mode == "semantic":
                assert search["semanticRank"] and search["keywordRank"] is None
            else:
                assert search["keywordRank"] or search["semanticRank"]
    assert ranked["keyword"] != ranked["semantic"]


def test_without_a_query_the_newest_papers(search_client):
    items = _api(search_client, limit=5).json()
    assert len(items) == 5
    newest = by_day()[date.fromisoformat(LATEST_DAY)]
    assert items[0]["paper"]["id"] in {r.arxiv_id for r in newest}
    for item in items:
        assert item["highlightedTitle"] == [{"type": "text", "text": item["title"]}]
        assert not _marked(item["highlightedSummary"])
    assert _api(search_client, q="", limit=5).json() == items


@pytest.mark.parametrize("limit", ["1", "7", "120"])
def test_limit_is_respected(search_client, limit):
    items = _api(search_client, q="learning", limit=limit, mode="keyword").json()
    assert 0 < len(items) <= int(limit)
    if limit != "120":
        assert len(items) == int(limit)


@pytest.mark.parametrize("limit", ["0", "121", "-1", "1e3", "ten", "", " "])
def test_bad_limits_are_400(search_client, limit):
    response = _api(search_client, q="attention", limit=limit)
    if limit.strip() == "":
        assert response.status_code == 200
    else:
        _assert_json_error(response)


@pytest.mark.parametrize("mode", ["KEYWORD", "bm25", "vector", "hybrid ", "1", "'"])
def test_bad_modes_are_400(search_client, mode):
    assert "mode" in _assert_json_error(_api(search_client, q="attention", mode=mode))


def test_the_search_route_is_not_a_paper_id(search_client):
    assert search_client.get("/api/papers/search").status_code == 200
    _assert_json_error(search_client.get("/api/papers/search/similar"), 404)
    assert search_client.get(f"/api/papers/{KNOWN_ID}").json()["id"] == KNOWN_ID
    assert search_client.get("http://testserver//api/papers/search?q=attention").status_code == 200


def test_pages_of_results_do_not_overlap(search_client):
    first = [i["paper"]["id"] for i in _api(search_client, q="language models", limit=10, p=0).json()]
    second = [i["paper"]["id"] for i in _api(search_client, q="language models", limit=10, p=1).json()]
    assert len(first) == len(second) == 10
    assert not set(first) & set(second)


# -- similar papers --------------------------------------------------------------------------------------


def test_similar_papers_in_the_api(search_client):
    items = search_client.get(f"/api/papers/{KNOWN_ID}/similar", params={"limit": 5}).json()
    assert 0 < len(items) <= 5
    ids = [item["paper"]["id"] for item in items]
    assert KNOWN_ID not in ids and len(set(ids)) == len(ids)
    ranks = [item["search"]["semanticRank"] for item in items]
    assert ranks == sorted(ranks)
    assert search_client.get(f"/api/papers/arXiv:{KNOWN_ID}v1/similar").status_code == 200


def test_similar_papers_errors(search_client):
    _assert_json_error(search_client.get("/api/papers/2699.99999/similar"), 404)
    _assert_json_error(search_client.get("/api/papers/not-an-id/similar"), 404)
    _assert_json_error(search_client.get(f"/api/papers/{KNOWN_ID}/similar", params={"limit": 0}))
    _assert_json_error(search_client.get(f"/api/papers/{KNOWN_ID}/similar", params={"limit": "x"}))


def test_similar_papers_on_the_paper_page_and_its_twin(search_client):
    page = search_client.get(f"/papers/{KNOWN_ID}")
    assert page.status_code == 200
    assert "Similar papers" in page.text
    twin = search_client.get(f"/papers/{KNOWN_ID}.json").json()
    similar = [p["paper"]["id"] for p in twin["similarPapers"]]
    assert similar and KNOWN_ID not in similar
    for arxiv_id in similar:
        assert f'href="/papers/{arxiv_id}"' in page.text
    expected = [i["paper"]["id"] for i in search_client.get(f"/api/papers/{KNOWN_ID}/similar").json()]
    assert similar == expected[: len(similar)]


# -- the search page ---------------------------------------------------------------------------------------


def test_search_page_shows_highlighted_cards(search_client):
    page = search_client.get("/search", params={"q": "attention"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('class="card"') == 20
    assert "<mark>attention</mark>" in page.text.lower()
    assert "Papers 1–20" in page.text
    for mode in MODES:
        assert f"mode={mode}" in page.text
    assert 'name="from"' in page.text and 'name="category"' in page.text and 'name="daily"' in page.text
    assert 'rel="next"' in page.text


def test_search_page_escapes_what_it_shows(search_client):
    page = search_client.get("/search", params={"q": "<script>alert(1)</script> attention"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_search_page_and_its_twin_agree(search_client):
    params = {"q": "video generation", "mode": "hybrid", "p": "1"}
    page = search_client.get("/search", params=params)
    twin = search_client.get("/search.json", params=params).json()
    assert twin["query"] == "video generation" and twin["mode"] == "hybrid" and twin["page"] == 1
    assert twin["count"] == len(twin["papers"]) == 20
    ids = re.findall(r'<article class="card" data-arxiv-id="([^"]+)"', page.text)
    assert ids == [p["paper"]["id"] for p in twin["papers"]]
    for paper in twin["papers"]:
        assert _spell(paper["highlightedTitle"]) == paper["title"]
    assert 'rel="prev"' in page.text


def test_mode_links_keep_the_query_and_filters(search_client):
    page = search_client.get("/search", params={"q": "speech", "category": "cs.CL", "daily": "1"})
    links = re.findall(r'href="(/search\?[^"]+)"', page.text.replace("&amp;", "&"))
    semantic = [link for link in links if "mode=semantic" in link]
    assert semantic
    query = parse_qs(urlsplit(semantic[0]).query)
    assert query["q"] == ["speech"] and query["category"] == ["cs.CL"] and query["daily"] == ["1"]


def test_empty_search_page_is_a_form(search_client):
    page = search_client.get("/search")
    assert page.status_code == 200
    assert 'type="search"' in page.text and 'class="card"' not in page.text
    assert search_client.get("/search.json").json()["papers"] == []


def test_every_page_has_a_search_box(search_client):
    for path in ("/", f"/papers/{KNOWN_ID}", "/papers/trending"):
        page = search_client.get(path)
        assert 'action="/search"' in page.text, path


# -- filters ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_filters_hold(search_client, mode):
    params = {"q": "language model reasoning", "mode": mode, "category": "cs.CL", "from": "2026-07-01"}
    twin = search_client.get("/search.json", params=params).json()
    assert twin["papers"], mode
    for paper in twin["papers"]:
        assert "cs.CL" in paper["categories"]
        assert paper["publishedAt"] >= "2026-07-01"
    daily = search_client.get("/search.json", params={"q": "diffusion", "mode": mode, "daily": "1"}).json()
    assert daily["papers"] and all(p["day"] for p in daily["papers"])
    window = {"q": "agents", "mode": mode, "from": "2026-06-01", "to": "2026-06-30"}
    for paper in search_client.get("/search.json", params=window).json()["papers"]:
        assert "2026-06-01" <= paper["publishedAt"][:10] <= "2026-06-30"


def test_filters_apply_to_the_api_too(search_client):
    items = _api(search_client, q="segmentation", category="cs.CV", mode="keyword").json()
    assert items
    found = search_client.get(
        "/search.json", params={"q": "segmentation", "category": "cs.CV", "mode": "keyword"}
    )
    assert [i["paper"]["id"] for i in items][:20] == [p["paper"]["id"] for p in found.json()["papers"]]


@pytest.mark.parametrize(
    "params",
    [
        {"from": "2024-13-01"},
        {"from": "2024-02-30"},
        {"to": "yesterday"},
        {"from": "20240101"},
        {"from": "2026-08-01", "to": "2026-07-01"},
        {"category": "cs.CL; DROP TABLE papers"},
        {"category": "x" * 100},
        {"category": ",".join(f"cs.A{i}" for i in range(11))},
        {"daily": "maybe"},
        {"p": "-1"},
        {"p": "one"},
        {"p": "100000"},
        {"mode": "fuzzy"},
    ],
)
def test_bad_filters_are_400_everywhere(search_client, params):
    params = {"q": "attention", **params}
    _assert_json_error(search_client.get("/search.json", params=params))
    page = search_client.get("/search", params=params)
    assert page.status_code == 400
    assert page.headers["content-type"].startswith("text/html")
    assert 'type="search"' in page.text  # the form is still there, to fix the query in place
    if "p" not in params:
        _assert_json_error(_api(search_client, **params))


# -- hostile queries --------------------------------------------------------------------------------


def _check_hostile(client, query: str, mode: str) -> None:
    api = _api(client, q=query, mode=mode, limit=10)
    assert api.status_code in (200, 400), (query[:50], api.status_code, api.text[:300])
    if api.status_code == 200:
        items = api.json()
        assert isinstance(items, list)
        for item in items:
            assert _spell(item["highlightedTitle"]) == item["title"]
            assert _spell(item["highlightedSummary"]) == item["summary"]
    else:
        _assert_json_error(api)
    twin = client.get("/search.json", params={"q": query, "mode": mode})
    assert twin.status_code in (200, 400), (query[:50], twin.status_code)
    if twin.status_code == 400:
        _assert_json_error(twin)
    page = client.get("/search", params={"q": query, "mode": mode})
    assert page.status_code in (200, 400), (query[:50], page.status_code)
    assert page.headers["content-type"].startswith("text/html")
    if page.status_code == 400:
        alert = re.search(r'role="alert">(.*?)</p>', page.text, re.S)
        assert alert and alert.group(1).strip() and not LEAKS.search(alert.group(1))


@pytest.mark.parametrize("query", HOSTILE, ids=[repr(q[:20]) + f"-{len(q)}" for q in HOSTILE])
@pytest.mark.parametrize("mode", MODES)
def test_hostile_queries_get_results_or_a_clear_400(search_client, query, mode):
    _check_hostile(search_client, query, mode)


def test_an_empty_or_wordless_query_is_a_clear_400(search_client):
    message = _assert_json_error(_api(search_client, q="!!!"))
    assert "word" in message.lower()
    page = search_client.get("/search", params={"q": "?!"})
    assert page.status_code == 400 and 'role="alert"' in page.text


def test_long_queries_are_cut_not_refused(search_client):
    long = "attention " * 2_000  # 20,000 characters: beyond Hugging Face's 250, and past our 1,000
    response = _api(search_client, q=long, mode="keyword")
    assert response.status_code == 200 and response.json()


def test_operators_are_read_as_words(search_client):
    plain = [i["paper"]["id"] for i in _api(search_client, q="attention transformer", mode="keyword").json()]
    ops = [
        i["paper"]["id"] for i in _api(search_client, q="attention AND transformer", mode="keyword").json()
    ]
    assert plain and ops == plain


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    query=st.one_of(
        st.text(max_size=80),
        st.lists(
            st.sampled_from(
                [
                    "attention",
                    "AND",
                    "OR",
                    "NOT",
                    "NEAR",
                    '"',
                    "*",
                    ":",
                    "(",
                    ")",
                    "-",
                    "author:",
                    "title:",
                    "🙂",
                    "模型",
                    "\\",
                    "'",
                    ";",
                    "--",
                    "%",
                    "_",
                    "2608.20336",
                    "~",
                    "^",
                    "[",
                    "]",
                    "{",
                    "}",
                    "/",
                    "+",
                ]
            ),
            max_size=10,
        ).map(" ".join),
    ),
    mode=st.sampled_from(MODES),
)
def test_fuzzed_queries_never_fail(search_client, query, mode):
    response = _api(search_client, q=query, mode=mode, limit=5)
    assert response.status_code in (200, 400), (query, response.status_code, response.text[:300])
    if response.status_code == 400:
        _assert_json_error(response)
    else:
        for item in response.json():
            assert _spell(item["highlightedTitle"]) == item["title"]


# -- both databases, and how the service starts ----------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_search_on_both_databases(indexed_client, mode):
    record = records()[KNOWN_ID]
    items = _api(indexed_client, q=record.title, mode=mode, limit=5).json()
    assert KNOWN_ID in [i["paper"]["id"] for i in items]
    twin = indexed_client.get("/search.json", params={"q": "diffusion", "mode": mode, "daily": "1"}).json()
    assert twin["papers"] and all(p["day"] for p in twin["papers"])
    assert indexed_client.get(f"/api/papers/{KNOWN_ID}/similar").json()


def test_the_app_opens_search_on_first_use(indexed_settings):
    app = create_app(indexed_settings)
    with TestClient(app) as client:
        assert client.get("/").status_code == 200
        assert not app.state.search.ready
        assert (
            client.get("/api/papers/search", params={"q": "attention", "mode": "keyword"}).status_code == 200
        )
        assert app.state.search.ready


def test_without_indexes_search_is_unavailable_not_broken(tmp_path):
    settings = make_settings(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(settings)
    with TestClient(create_app(settings)) as client:
        response = _api(client, q="attention", mode="keyword")
        assert response.status_code in (200, 503)
        if response.status_code == 503:
            _assert_json_error(response, 503)
        else:
            assert response.json() == []
