"""The pieces of a newcomer's first hour, in process: the demo's data moved to today, mail read back decoded
and listed at /dev/mail, the search warm-up, fingerprinted static files, citations, trending explained,
search counts, sorts and reasons, comment forms that keep the page, the digest banner."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from accounts_support import make_account, sign_in
from community_support import Browser, account, paper, today
from conftest import DEMO_DATA, make_settings
from dailypapers.mail.builder import MailBuilder
from dailypapers.mail.local import ConsoleMailer, DirectoryMailer, read_mail_dir, read_message
from dailypapers.mail.message import send_message
from dailypapers.papers import PaperView
from dailypapers.search.types import Hit, SearchFilters
from dailypapers.services.demo import SLICE_LAST_DAY, held_back_ids, import_demo_slice, shift
from dailypapers.store.community import Actor, CommunityStore
from dailypapers.store.papers import SqlStore
from dailypapers.web import search as web_search
from dailypapers.web.app import create_app
from dailypapers.web.assets import LONG, SHORT
from dailypapers.web.citations import bibtex, bibtex_value, citation_key
from dailypapers.web.templating import linkify, short_authors

LONG_LINK = "https://papers.example.org/subscriptions/confirm/" + "A1b2C3d4" * 12


# -- the demo's data ---------------------------------------------------------------------------------------


def test_shift_moves_every_date_by_whole_days_and_nothing_else():
    row = {
        "arxiv_id": "2608.20336",
        "daily_date": "2026-08-21",
        "submitted_on_daily_at": "2026-08-21T09:30:00.000Z",
        "published_at": "2026-08-20T00:00:00.000Z",
        "title": "T",
    }
    moved = shift(row, 108)
    assert moved == {
        "arxiv_id": "2608.20336",
        "daily_date": "2026-12-07",
        "submitted_on_daily_at": "2026-12-07T09:30:00.000Z",
        "published_at": "2026-12-06T00:00:00.000Z",
        "title": "T",
    }
    assert shift(row, -1)["daily_date"] == "2026-08-20" and row["daily_date"] == "2026-08-21"


def test_the_demo_slice_ends_today_with_papers_held_back_to_submit(store):
    day = date(2027, 3, 1)
    outcome = import_demo_slice(store, DEMO_DATA, day)
    assert outcome.shift_days == (day - SLICE_LAST_DAY).days
    assert store.latest_day() == day
    assert len(outcome.held_back) == 4
    for arxiv_id in outcome.held_back:
        view = store.get(arxiv_id)
        assert view.day is None and view.upvotes == 0  # in the database, on no day
        assert (day - view.published_at.date()).days <= 3  # recent enough to be submitted
    on_day = {v.arxiv_id for v in store.feed(None, limit=100) if v.day == day}
    assert on_day and not on_day & set(outcome.held_back)
    # Ids are those of the bundled slice: its embeddings (keyed by id) still fit.
    assert store.get("2608.20336") is not None


def test_held_back_papers_are_the_least_upvoted_recent_ones_of_the_last_day():
    recent, old = "2026-08-20T00:00:00.000Z", "2026-08-01T00:00:00.000Z"
    rows = [
        {"arxiv_id": "a", "daily_date": "2026-08-21", "upvotes": 5, "published_at": recent},
        {"arxiv_id": "b", "daily_date": "2026-08-21", "upvotes": 1, "published_at": recent},
        {"arxiv_id": "c", "daily_date": "2026-08-21", "published_at": recent},
        {"arxiv_id": "d", "daily_date": "2026-08-20", "upvotes": 0, "published_at": recent},
        {"arxiv_id": "e", "daily_date": "2026-08-21", "upvotes": 0, "published_at": old},
    ]
    assert held_back_ids(rows, 2) == ["b", "c"]


def test_submitting_a_held_back_paper_succeeds_at_once(store, settings):
    outcome = import_demo_slice(store, DEMO_DATA, today())
    reader = account(store, "newcomer")
    browser = Browser(create_app(settings, store=store), store, reader)
    with browser.client:
        answer = browser.post("/papers/submit", {"arxiv": outcome.held_back[0]})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/papers/{outcome.held_back[0]}?submitted=1"
    assert store.get(outcome.held_back[0]).day == today()


# -- mail you can read -------------------------------------------------------------------------------------


def _mail() -> bytes:
    builder = MailBuilder("dailypapers <noreply@example.org>", site_name="dailypapers", base_url="http://x")
    return builder.mail(
        "reader@example.org", "confirm-digest", {"frequency": "daily", "confirm_url": LONG_LINK, "hours": 48}
    ).data


def test_mail_is_read_back_decoded_with_links_whole():
    data = _mail()
    assert LONG_LINK.encode() not in data  # quoted-printable split it on the wire
    mail = read_message(data)
    assert LONG_LINK in mail.text and "=\n" not in mail.text
    assert mail.subject.startswith("Confirm your") and mail.date is not None


def test_the_console_mailer_prints_what_a_reader_sees():
    stream = io.StringIO()
    asyncio.run(ConsoleMailer(stream).send("noreply@example.org", "reader@example.org", _mail()))
    printed = stream.getvalue()
    assert LONG_LINK in printed and "Subject: Confirm your" in printed
    assert "quoted-printable" not in printed


def test_mail_dir_is_read_newest_first(tmp_path):
    mailer = DirectoryMailer(tmp_path)
    for subject in ("first", "second"):
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@example.org", "b@example.org", subject
        message.set_content("body")
        asyncio.run(send_message(mailer, message))
    assert [m.subject for m in read_mail_dir(tmp_path)] == ["second", "first"]
    assert read_mail_dir(tmp_path / "missing") == []


def test_dev_mail_lists_messages_with_clickable_links_in_development_only(tmp_path, sqlite_url):
    asyncio.run(DirectoryMailer(tmp_path / "mail").send("a@example.org", "reader@example.org", _mail()))
    test = make_settings(sqlite_url, mail_dir=tmp_path / "mail")
    development = test.model_copy(update={"environment": "development"})
    with TestClient(create_app(development)) as client:
        page = client.get("/dev/mail")
        assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
        assert f'<a href="{LONG_LINK}" rel="nofollow noopener">{LONG_LINK}</a>' in page.text
        assert "to reader@example.org" in page.text
        assert 'href="/dev/mail"' in client.get("/").text  # the footer says where mail goes
    for environment in ("test", "production"):
        settings = test.model_copy(update={"environment": environment})
        with TestClient(create_app(settings)) as client:
            assert client.get("/dev/mail").status_code == 404
            assert "/dev/mail" not in client.get("/").text


# -- search ready before the first request -----------------------------------------------------------------


class CountingSearch:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query, **_kwargs) -> list[Hit]:
        self.queries.append(query)
        return []

    def similar(self, paper_id, *, limit=10) -> list[Hit]:
        return []


@pytest.mark.parametrize("warmup", [True, False])
def test_search_is_warmed_while_the_server_starts(sqlite_url, warmup):
    service = CountingSearch()
    settings = make_settings(sqlite_url, search_warmup=warmup)
    app = create_app(settings, search_service=service)
    with TestClient(app):
        assert service.queries == ([web_search.WARMUP_QUERY] if warmup else [])


def test_a_failed_warm_up_leaves_search_to_the_first_request():
    calls = []

    def factory():
        calls.append(1)
        raise RuntimeError("no index yet")

    lazy = web_search.LazySearch(factory)
    assert lazy.warm() is False
    with pytest.raises(web_search.SearchUnavailable):
        lazy.get()  # tried again at once, not after the pause a failed request imposes
    assert len(calls) == 2


def test_the_search_pool_is_the_hybrid_rankings_candidates():
    from dailypapers.search.service import FUSION_CANDIDATES

    assert web_search.POOL == FUSION_CANDIDATES


# -- static files ----------------------------------------------------------------------------------------


def test_static_files_are_fingerprinted_and_kept_long(client):
    home = client.get("/").text
    css = re.search(r'href="(/static/site\.[0-9a-f]{12}\.css)"', home).group(1)
    answer = client.get(css)
    assert answer.status_code == 200 and answer.headers["cache-control"] == LONG
    assert "text/css" in answer.headers["content-type"]
    plain = client.get("/static/site.css")
    assert plain.headers["cache-control"] == SHORT and plain.content == answer.content
    stale = client.get("/static/site.0123456789ab.css")  # a page of an older release
    assert stale.status_code == 200 and stale.headers["cache-control"] == SHORT
    assert client.get("/static/nothing.0123456789ab.css").status_code == 404


# -- templates' helpers --------------------------------------------------------------------------------


def test_linkify_escapes_and_links_urls_without_their_punctuation():
    html = str(linkify("See https://example.org/a_(b) and <b>http://x.org/?q=1&r=2</b>. Or https://y.org."))
    assert '<a href="https://example.org/a_(b)" rel="nofollow noopener">https://example.org/a_(b)</a>' in html
    assert '<a href="http://x.org/?q=1&amp;r=2" rel="nofollow noopener">' in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert html.endswith('<a href="https://y.org" rel="nofollow noopener">https://y.org</a>.')
    assert str(linkify('javascript:alert(1) "https://z.org"')) == (
        'javascript:alert(1) &#34;<a href="https://z.org" rel="nofollow noopener">https://z.org</a>&#34;'
    )


def test_short_authors_names_three_then_et_al():
    assert short_authors(["A", "B", "C"]) == "A, B, C"
    assert short_authors(["A", "B", "C", "D"]) == "A, B, C et al."
    assert short_authors([]) == ""


# -- citations -----------------------------------------------------------------------------------------------


def _view(**fields) -> PaperView:
    unknown = dict.fromkeys(
        ("updated_at", "comment", "doi", "journal_ref", "github_repo", "github_stars", "project_page"), None
    )
    base = dict(
        id=1,
        arxiv_id="2608.20336",
        version=1,
        title="The {Best} Model: 100% & more_",
        abstract="A.",
        authors=["Zoë Ångström", "Bo Li"],
        categories=["cs.CV"],
        published_at=datetime(2026, 8, 20, tzinfo=UTC),
        organization=None,
        ai_summary=None,
        ai_keywords=None,
        withdrawn_at=None,
        upvotes=0,
        num_comments=0,
        trend_key=None,
    )
    return PaperView(**{**unknown, **base, **fields})


def test_bibtex_escapes_and_keys_like_google_scholar():
    entry = bibtex(_view())
    assert entry.startswith("@misc{angstrom2026best,\n")
    assert r"title = {{The \{Best\} Model: 100\% \& more\_}}" in entry
    assert "author = {Zoë Ångström and Bo Li}" in entry
    assert "eprint = {2608.20336}" in entry and "primaryClass = {cs.CV}" in entry
    assert entry.count("{") == entry.count("}") + entry.count(r"\}") - entry.count(r"\{")
    assert bibtex_value("a\\b~") == r"a\textbackslash{}b\textasciitilde{}"
    assert citation_key(_view(authors=[], published_at=None, title="A")) == "260820336"


def test_paper_page_has_citation_and_share_tags_and_a_bib(client):
    page = client.get("/papers/2608.20336").text
    assert '<meta name="citation_title" content="WithEveryone:' in page
    assert page.count('<meta name="citation_author"') == 8
    assert '<meta name="citation_arxiv_id" content="2608.20336">' in page
    assert '<meta name="citation_pdf_url" content="https://arxiv.org/pdf/2608.20336">' in page
    assert '<meta property="og:title"' in page and '<meta name="twitter:card" content="summary">' in page
    assert '<link rel="canonical" href="http://127.0.0.1:8000/papers/2608.20336">' in page
    assert 'class="paper-side"' in page and "@misc{xu2026witheveryone," in page
    bib = client.get("/papers/2608.20336.bib")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("text/plain")
    assert bib.text.startswith("@misc{xu2026witheveryone,")
    assert client.get("/papers/2699.99999.bib").status_code == 404


def test_urls_in_abstracts_are_links(client, store):
    store.upsert([paper("2611.00010", abstract="Code at https://github.com/x/y. More <soon>.")])
    page = client.get("/papers/2611.00010").text
    link = '<a href="https://github.com/x/y" rel="nofollow noopener">https://github.com/x/y</a>'
    assert link + ". More &lt;soon&gt;." in page


# -- trending explained --------------------------------------------------------------------------------------


def test_recent_upvotes_count_own_votes_by_time_and_imported_ones_by_their_day(store):
    now = datetime.now(UTC)
    store.upsert(
        [
            paper("2611.00001", day=today(), votes=5),
            paper("2611.00002", day=today() - timedelta(days=5), votes=7),
            paper("2611.00003"),
        ]
    )
    community = CommunityStore(store)
    ids = {a: community.paper_id(a) for a in ("2611.00001", "2611.00002", "2611.00003")}
    for name in ("u1", "u2"):
        user = account(store, name)
        community.set_upvote(Actor(user.id, name), ids["2611.00002"], True)
    old = account(store, "u3")
    community.set_upvote(Actor(old.id, "u3"), ids["2611.00003"], True, now=now - timedelta(days=3))
    recent = community.recent_upvotes(ids.values(), now - timedelta(days=2))
    assert recent == {ids["2611.00001"]: 5, ids["2611.00002"]: 2}
    assert community.recent_upvotes([], now) == {}


def test_trending_cards_show_the_score_and_why(client, store):
    store.upsert([paper("2611.00001", day=today(), votes=12)])
    page = client.get("/papers/trending").text
    card = page[page.index('data-arxiv-id="2611.00001"') :]
    # Counted from the start of today (a day's imported upvotes count from its midnight): 6 to 12 now.
    assert re.search(r"<strong>(\d+\.\d) fresh upvotes</strong>: 12 in the last 2 days", card)
    assert 'href="/about/trending"' in page and "half as much every 2 days" in page
    twin = client.get("/papers/trending.json").json()["papers"]
    first = next(p for p in twin if p["paper"]["id"] == "2611.00001")
    assert first["recentUpvotes"] == 12 and 6 <= first["trendingScore"] <= 12


def test_how_trending_works_is_the_readmes_section(client):
    page = client.get("/about/trending")
    assert page.status_code == 200
    assert "score(now) = Σ over upvotes v of 2^(−(now − t_v) / half_life)" in page.text
    assert "## Importing papers" not in page.text and "Importing papers" not in page.text
    assert client.get("/about/nothing").status_code == 404


# -- cards, pagers ----------------------------------------------------------------------------------------


def test_cards_name_three_authors_and_pagers_say_previous_and_next(settings, demo_store):
    small_pages = settings.model_copy(update={"page_size": 5})
    with TestClient(create_app(small_pages, store=demo_store)) as client:
        text = client.get("/papers/week/2026-W34?p=1").text
    assert "et al." in text and re.search(r"\d+ authors</span>", text) is None
    assert 'rel="prev" href="?p=0">← Previous page</a>' in text and "Newer page" not in text


# -- search: count, sort, why ------------------------------------------------------------------------------


class FakeSearch(CountingSearch):
    """The demo's papers, ranked by id, found by words and meaning alike."""

    def __init__(self, store: SqlStore) -> None:
        super().__init__()
        self.ids = [v.id for v in store.feed(None, limit=300)]

    def search(self, query, *, mode="hybrid", filters=SearchFilters(), offset=0, limit=20):
        ranked = [
            Hit(pid, 1.0 / (i + 1), keyword_rank=i + 1, semantic_rank=i + 1) for i, pid in enumerate(self.ids)
        ]
        return ranked[offset : offset + limit]


@pytest.fixture
def sorted_client(settings, demo_store):
    with TestClient(create_app(settings, store=demo_store, search_service=FakeSearch(demo_store))) as client:
        yield client


def test_search_shows_a_count_sorts_and_says_why(sorted_client):
    twin = sorted_client.get("/search.json", params={"q": "model"}).json()
    assert twin["total"] == 200 and twin["moreThanTotal"] and twin["sort"] == "relevance"
    assert all(re.fullmatch(r"Matched: .+; close in meaning", p["why"]) for p in twin["papers"])
    assert all(
        p["whyMatched"][-1] == {"where": "meaning", "text": "close in meaning", "phrase": None}
        for p in twin["papers"]
    )
    newest = sorted_client.get("/search.json", params={"q": "model", "sort": "newest"}).json()
    published = [p["publishedAt"] for p in newest["papers"]]
    assert published == sorted(published, reverse=True)
    voted = sorted_client.get("/search.json", params={"q": "model", "sort": "upvotes", "p": "1"}).json()
    counts = [p["upvotes"] for p in voted["papers"]]
    assert counts == sorted(counts, reverse=True) and voted["page"] == 1
    page = sorted_client.get("/search", params={"q": "model", "sort": "upvotes"}).text
    assert "Papers 1–20 of <strong>more than 200</strong>" in page
    assert 'aria-current="true">Most upvoted</a>' in page and "Sorted among the 200 best matches." in page
    assert sorted_client.get("/search", params={"q": "model", "sort": "oldest"}).status_code == 400


def test_why_names_the_fields_the_words_were_found_in():
    view = _view(title="Graph reasoning", abstract="Message passing on graphs.", authors=["Ada Graph"])
    words = web_search.Result(view, Hit(1, 1.0, keyword_rank=1), [], [], "graph")
    assert words.why == "Matched: words in the title, abstract and authors"
    assert [r.where for r in words.reasons] == ["title", "abstract", "authors"]
    meaning = web_search.Result(view, Hit(1, 1.0, semantic_rank=3), [], [], "graph")
    assert meaning.why == "Close in meaning"
    both = web_search.Result(view, Hit(1, 1.0, 2, 3), [], [], "message")
    assert both.why == "Matched: words in the abstract; close in meaning"


def test_why_says_a_topic_was_found_as_a_unit_and_in_the_key_phrases():
    view = _view(
        title="Prompting with chains of thought",
        abstract="Chain-of-thought prompting helps; thought is a chain.",
        ai_keywords=["chain of thought", "prompting"],
    )
    result = web_search.Result(view, Hit(1, 1.0, 1, 4), [], [], "chain of thought")
    assert (
        result.why == "Matched: “chain of thought” in the title, abstract and key phrases; close in meaning"
    )
    assert [(r.where, r.phrase) for r in result.reasons] == [
        ("title", "chain of thought"),
        ("abstract", "chain of thought"),
        ("keyPhrase", "chain of thought"),
        ("meaning", None),
    ]
    # The words apart are words, not the topic.
    apart = _view(title="Thought and chain", abstract="A chain, then a thought.")
    result = web_search.Result(apart, Hit(1, 1.0, keyword_rank=1), [], [], "chain of thought")
    assert result.why == "Matched: words in the title and abstract"


def test_why_names_what_an_acronym_stood_for():
    view = _view(title="Agents", abstract="Large language models as agents.")
    hit = Hit(1, 1.0, keyword_rank=1, extra={"expansions": [("LLM", "large language model")]})
    result = web_search.Result(view, hit, [], [], "LLM agents")
    assert (
        result.why == "Matched: words in the title and abstract; “large language model” (LLM) in the abstract"
    )


# -- comment forms keep the page --------------------------------------------------------------------------


@pytest.fixture
def reader(settings, store):
    store.upsert([paper("2611.00001", day=today(), votes=3)])
    browser = Browser(create_app(settings, store=store), store, account(store, "reader"))
    with browser.client:
        yield browser


def test_an_empty_comment_keeps_the_page_with_the_message_next_to_the_field(reader):
    answer = reader.post("/papers/2611.00001/comments", {"body": "   "})
    assert answer.status_code == 400
    assert "<h1>Title of 2611.00001</h1>" in answer.text
    field = r'<textarea id="new-comment"[^>]*aria-describedby="new-comment-error"[^>]*>(.*?)</textarea>'
    message = r'\s*<p class="form-error" role="alert" id="new-comment-error">([^<]+)</p>'
    error = re.search(field + message, answer.text, re.S)
    assert error and error.group(1) == "   " and error.group(2).strip()


def test_a_failed_reply_or_edit_comes_back_open_in_place(reader):
    posted = reader.post("/papers/2611.00001/comments", {"body": "First"})
    cid = int(posted.headers["location"].rsplit("-", 1)[1])
    reply = reader.post("/papers/2611.00001/comments", {"body": "", "parent_id": str(cid)})
    assert reply.status_code == 400
    assert f'class="inline-form open" id="reply-form-{cid}"' in reply.text
    assert f'id="reply-{cid}-error"' in reply.text
    edit = reader.post(f"/comments/{cid}/edit", {"body": ""})
    assert edit.status_code == 400
    assert f'class="inline-form open" id="edit-form-{cid}"' in edit.text
    page = reader.get("/papers/2611.00001").text
    assert "<details" not in page.split('id="comments"')[1]  # reply and edit are forms in place
    assert f'href="#reply-form-{cid}"' in page and f'href="#edit-form-{cid}"' in page


def test_deleting_a_comment_asks_first(reader, store):
    posted = reader.post("/papers/2611.00001/comments", {"body": "Going soon"})
    cid = int(posted.headers["location"].rsplit("-", 1)[1])
    page = reader.get("/papers/2611.00001").text
    assert f'href="/comments/{cid}/delete" data-confirm-delete=' in page
    question = reader.get(f"/comments/{cid}/delete")
    assert question.status_code == 200 and "Delete your comment?" in question.text
    assert f'action="/comments/{cid}/delete"' in question.text and "Going soon" in question.text
    assert reader.post(f"/comments/{cid}/delete").status_code == 303
    assert reader.get(f"/comments/{cid}/delete").status_code in (403, 404)
    other = account(store, "other")
    with Browser(reader.client.app, store, other).client as stranger:
        assert stranger.get(f"/comments/{cid}/delete").status_code in (403, 404)


# -- the digest banner -------------------------------------------------------------------------------------


def test_the_banner_signs_up_in_one_step_from_our_own_pages(client):
    assert "Get trending papers in your email inbox!" in client.get("/").text
    answer = client.post(
        "/subscribe", data={"email": "one@example.org"}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    assert "We sent a confirmation link to one@example.org" in answer.text
    assert "dp_banner=subscribed" in answer.headers["set-cookie"]
    assert "digest-banner" not in client.get("/").text
    client.cookies.clear()
    other_site = client.post(
        "/subscribe", data={"email": "two@example.org"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert "Check your inbox" not in other_site.text  # asks once more, on a page with a token
    origin = client.post(
        "/subscribe", data={"email": "two@example.org"}, headers={"Origin": "http://testserver"}
    )
    assert "Check your inbox" in origin.text


def test_the_banner_can_be_dismissed_and_stays_away(client):
    answer = client.post("/digest-banner/dismiss", data={"next": "/papers/trending"}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/papers/trending"
    assert "dp_banner=dismissed" in answer.headers["set-cookie"]
    assert "digest-banner" not in client.get("/").text
    client.cookies.clear()
    quiet = client.post("/digest-banner/dismiss", headers={"Accept": "application/json"})
    assert quiet.status_code == 204
    away = client.post(
        "/digest-banner/dismiss", data={"next": "https://evil.example"}, follow_redirects=False
    )
    assert away.headers["location"] == "/"


def test_signed_in_readers_subscribe_in_one_click_and_then_see_no_banner(client, demo_store):
    make_account(demo_store, "alice")
    sign_in(client, "alice")
    page = client.get("/").text
    assert 'action="/settings/digest"' in page and "Send them to alice@example.org" in page
    for path in ("/settings", "/papers/submit"):
        assert "digest-banner" not in client.get(path).text, path
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    done = client.post("/settings/digest", data={"csrf_token": token, "frequency": "daily", "next": "/"})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert "The daily digest of trending papers will come to alice@example.org" in done.text
    assert "digest-banner" not in client.get("/").text
