"""Submissions, upvotes, comments and moderation through the real app, on SQLite and PostgreSQL.

Accounts are made in the database (tests/community_support.py); browsers carry a real session cookie and
post the real forms with their CSRF token; API clients send a real personal token.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from community_support import RECORDED_ID, Browser, account, arxiv_replay, paper, today, token
from dailypapers.community import markdown
from dailypapers.community.submission import (
    SubmissionRefused,
    SubmissionRules,
    check,
    is_author,
    parse_target,
)
from dailypapers.store.community import Actor, CommunityStore, Forbidden, InvalidComment
from dailypapers.store.schema import comments, feed_entries, moderation_log, papers, upvotes
from dailypapers.web.app import create_app

# -- the pure rules -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2401.00001", "2401.00001"),
        ("arXiv:2401.00001v3", "2401.00001"),
        ("https://arxiv.org/abs/2401.00001v2", "2401.00001"),
        ("https://arxiv.org/pdf/2401.00001.pdf", "2401.00001"),
        ("https://huggingface.co/papers/2401.00001", "2401.00001"),
        ("http://127.0.0.1:8000/papers/hep-th/9901001", "hep-th/9901001"),
        ("  hep-th/9901001v2 ", "hep-th/9901001"),
    ],
)
def test_submission_targets(value, expected):
    assert parse_target(value) == expected


@pytest.mark.parametrize(
    "value", ["", "   ", "x", "2401.1", "https://example.org/", "javascript:alert(1)", "9" * 400]
)
def test_bad_submission_targets_are_refused(value):
    with pytest.raises(SubmissionRefused) as caught:
        parse_target(value)
    assert caught.value.status == 400


def test_submission_rules_in_order():
    now = datetime(2026, 11, 27, 12, tzinfo=UTC)
    rules = SubmissionRules(max_age_days=14, daily_limit=2)
    check(rules, published_at=now - timedelta(days=13), now=now, on_feed_since=None, submitted_today=1)
    with pytest.raises(SubmissionRefused, match="already on Daily Papers") as dup:
        check(rules, published_at=now, now=now, on_feed_since=now.date(), submitted_today=0)
    assert dup.value.status == 409
    with pytest.raises(SubmissionRefused, match="last 14 days") as old:
        check(rules, published_at=now - timedelta(days=15), now=now, on_feed_since=None, submitted_today=0)
    assert old.value.status == 422
    with pytest.raises(SubmissionRefused, match="2 papers today") as cap:
        check(rules, published_at=now, now=now, on_feed_since=None, submitted_today=2)
    assert cap.value.status == 429


def test_author_names_match_without_case_accents_or_punctuation():
    authors = ["Zoë Smith-Jones", "A. Turing"]
    assert is_author(authors, "zoe", "Zoe Smith Jones")
    assert is_author(authors, "a-turing", None)
    assert not is_author(authors, "zoe", "Zoe")
    assert not is_author(authors, "", None)


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "![x](javascript:alert(1))",
    '[x](https://ok.example "t" onclick=alert(1))',
    "<<script>script>alert(1)<</script>/script>",
]


@pytest.mark.parametrize("source", XSS)
def test_comment_markdown_never_yields_markup_that_runs(source):
    tags = " ".join(re.findall(r"<[a-z][^>]*>", markdown.render(source).lower()))  # real tags, not text
    for bad in (
        "<script",
        "<img",
        "<svg",
        "<iframe",
        "<style",
        "style=",
        "javascript:",
        "data:",
        "vbscript:",
    ):
        assert bad not in tags
    assert not re.search(r"\son\w+\s*=", tags)  # no event handler attribute
    assert not re.search(r'href="(?!https?:|mailto:)', tags)


def test_comment_markdown_keeps_what_people_write():
    html = markdown.render(
        "# Big\n\n**bold** _em_ `code` [link](https://example.org/a?b=1) ~~gone~~\n\n> quote"
    )
    assert "<h3>Big</h3>" in html  # no h1 inside a page
    assert '<a href="https://example.org/a?b=1" rel="nofollow ugc noopener">link</a>' in html
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html and "<s>gone</s>" in html
    assert "<blockquote>" in html


# -- the site ------------------------------------------------------------------------------------------


class Site:
    def __init__(self, settings, store, **overrides) -> None:
        self.settings = settings.model_copy(update=overrides)
        self.store = store
        self.app = create_app(self.settings, store=store)
        self.community = CommunityStore(store)
        self.client = TestClient(self.app, follow_redirects=False)

    def browser(self, user) -> Browser:
        return Browser(self.app, self.store, user)

    def paper_row(self, arxiv_id: str) -> dict:
        with self.store.engine.connect() as conn:
            return dict(conn.execute(select(papers).where(papers.c.arxiv_id == arxiv_id)).one()._mapping)

    def vote_rows(self, arxiv_id: str) -> int:
        pid = self.paper_row(arxiv_id)["id"]
        with self.store.engine.connect() as conn:
            return conn.execute(
                select(func.count()).select_from(upvotes).where(upvotes.c.paper_id == pid)
            ).scalar_one()

    def log(self) -> list[dict]:
        with self.store.engine.connect() as conn:
            return [
                dict(r._mapping) for r in conn.execute(select(moderation_log).order_by(moderation_log.c.id))
            ]


@pytest.fixture
def site(settings, store):
    store.upsert(
        [
            paper("2611.00001", day=today(), votes=7),
            paper("2611.00002", day=today(), votes=3),
            paper("2611.00003"),  # recent, not on the feed
            paper("2601.00004", days_old=60),  # too old to submit
        ]
    )
    made = Site(settings, store, arxiv_delay_seconds=0.0)
    with made.client:
        yield made


# -- upvotes -------------------------------------------------------------------------------------------


def test_upvote_api_is_idempotent_and_counts_are_exact(site):
    alice, bob = account(site.store, "alice"), account(site.store, "bob")
    a, b = token(site.store, alice), token(site.store, bob)
    first = site.client.post("/api/papers/2611.00001/upvote", headers=a)
    assert first.status_code == 200 and first.json() == {"id": "2611.00001", "upvotes": 8, "upvoted": True}
    assert site.client.post("/api/papers/2611.00001/upvote", headers=a).json()["upvotes"] == 8  # again: same
    assert site.client.post("/api/papers/2611.00001/upvote", headers=b).json()["upvotes"] == 9
    assert site.client.delete("/api/papers/2611.00001/upvote", headers=a).json() == {
        "id": "2611.00001",
        "upvotes": 8,
        "upvoted": False,
    }
    assert site.client.delete("/api/papers/2611.00001/upvote", headers=a).json()["upvotes"] == 8
    row = site.paper_row("2611.00001")
    assert row["upvotes"] == row["imported_upvotes"] + site.vote_rows("2611.00001") == 8
    assert row["trend_key"] is not None


def test_upvoted_is_true_for_the_caller_only(site):
    alice, bob = account(site.store, "alice"), account(site.store, "bob")
    a, b = token(site.store, alice), token(site.store, bob)
    site.client.post("/api/papers/2611.00002/upvote", headers=a)
    assert site.client.get("/api/papers/2611.00002", headers=a).json()["upvoted"] is True
    assert site.client.get("/api/papers/2611.00002", headers=b).json()["upvoted"] is False
    assert "upvoted" not in site.client.get("/api/papers/2611.00002").json()  # anonymous: as on HF
    items = {i["paper"]["id"]: i for i in site.client.get("/api/daily_papers", headers=a).json()}
    assert items["2611.00002"]["upvoted"] is True and items["2611.00001"]["upvoted"] is False
    items = {i["paper"]["id"]: i for i in site.client.get("/api/daily_papers", headers=b).json()}
    assert items["2611.00002"]["upvoted"] is False
    listed = site.client.get("/api/papers/search", headers=a).json()  # no q: the newest papers
    assert {i["paper"]["id"]: i["upvoted"] for i in listed}["2611.00002"] is True


def test_upvote_needs_an_account_and_a_known_paper(site):
    assert site.client.post("/api/papers/2611.00001/upvote").status_code == 401
    headers = token(site.store, account(site.store, "alice"))
    assert site.client.post("/api/papers/2611.09999/upvote", headers=headers).status_code == 404
    assert site.client.post("/api/papers/not-an-id/upvote", headers=headers).status_code == 404
    assert (
        site.client.post(
            "/api/papers/2611.00001/upvote", headers={"Authorization": "Bearer dp_bad"}
        ).status_code
        == 401
    )


def test_upvote_form_works_without_javascript_and_with_it(site):
    alice = site.browser(account(site.store, "alice"))
    page = alice.get(f"/papers/date/{today().isoformat()}").text
    assert 'action="/papers/2611.00001/upvote"' in page and 'name="action" value="add"' in page
    done = alice.post("/papers/2611.00001/upvote", {"action": "add", "next": "/papers/2611.00001"})
    assert done.status_code == 303 and done.headers["location"] == "/papers/2611.00001"
    again = alice.post("/papers/2611.00001/upvote", {"action": "add"})  # a double click: same request twice
    assert again.status_code == 303
    assert site.paper_row("2611.00001")["upvotes"] == 8
    page = alice.get("/papers/2611.00001").text
    assert 'aria-pressed="true"' in page and 'name="action" value="remove"' in page
    assert re.search(r'href="/u/alice">alice</a>', page)  # listed among the upvoters
    # What static/upvote.js sends: the same form, the token in a header, JSON back.
    js = alice.client.post(
        "/papers/2611.00001/upvote",
        data={"action": "remove"},
        headers={"X-CSRF-Token": alice.csrf, "Accept": "application/json"},
    )
    assert js.status_code == 200 and js.json() == {"id": "2611.00001", "upvotes": 7, "upvoted": False}
    assert alice.post("/papers/2611.00001/upvote", {"action": "toggle"}).status_code == 400
    # An open redirect through `next` is not possible.
    assert alice.post("/papers/2611.00001/upvote", {"next": "//evil.example/"}).headers["location"] == "/"


def test_anonymous_cards_link_to_sign_in_and_set_no_cookie(site):
    response = site.client.get(f"/papers/date/{today().isoformat()}")
    assert response.status_code == 200 and "set-cookie" not in response.headers
    assert 'href="/signin?next=/papers/2611.00001"' in response.text
    assert '/upvote"' not in response.text  # no form: nothing to post without an account


# -- submissions ---------------------------------------------------------------------------------------


def settled(client, accepted, headers, timeout: float = 30.0) -> dict:
    """Poll a submission's fetch job (its `statusUrl`) until it is done or failed."""
    url = accepted.json()["statusUrl"]
    deadline = time.monotonic() + timeout
    while True:
        state = client.get(url, headers=headers)
        assert state.status_code == 200, state.text
        if state.json()["status"] in ("done", "failed") or time.monotonic() > deadline:
            return state.json()
        time.sleep(0.05)


def test_submit_by_api_fetches_the_paper_from_arxiv_and_puts_it_on_today(site):
    alice = account(site.store, "alice")
    token_headers = token(site.store, alice)
    published = datetime.now(UTC) - timedelta(days=3)
    with arxiv_replay(published) as arxiv:
        site.settings.arxiv_api_url = arxiv.url
        response = site.client.post(
            "/api/papers/submit",
            json={"arxivId": f"https://arxiv.org/abs/{RECORDED_ID}v1", "comment": "Worth a read."},
            headers=token_headers,
        )
        # Not here yet: the answer comes at once, and a job fetches the paper while the submitter watches.
        assert response.status_code == 202, response.text
        assert response.headers["location"] == response.json()["statusUrl"]
        done = settled(site.client, response, token_headers)
        assert len(arxiv.arrivals) == 1 and arxiv.arrivals[0].query["id_list"] == RECORDED_ID
    assert done["status"] == "done" and done["error"] is None
    item = done["paper"]
    assert item["paper"]["id"] == RECORDED_ID and item["submittedBy"]["name"] == "alice"
    assert item["title"] == "0"  # arXiv's own title for that id, as recorded
    day = site.client.get(f"/api/daily_papers?date={today().isoformat()}").json()
    assert RECORDED_ID in [i["paper"]["id"] for i in day]
    page = site.client.get(f"/papers/{RECORDED_ID}").text
    assert "Worth a read." in page and "Note from the submitter" in page


def test_submission_rules_give_clear_4xx(site):
    alice = account(site.store, "alice")
    headers = token(site.store, alice)

    def submit(**body):
        return site.client.post("/api/papers/submit", json=body, headers=headers)

    assert submit(arxivId="2611.00001").status_code == 409  # already on the feed
    assert "already on Daily Papers" in submit(arxivId="2611.00001").json()["error"]
    too_old = submit(arxivId="2601.00004")
    assert too_old.status_code == 422 and "last 14 days" in too_old.json()["error"]
    assert submit(arxivId="nonsense").status_code == 400
    assert submit().status_code == 400
    assert submit(arxivId="2611.00003", comment="x" * 3000).status_code == 400
    assert site.client.post("/api/papers/submit", content=b"{not json", headers=headers).status_code == 400
    with arxiv_replay(datetime.now(UTC)) as arxiv:
        site.settings.arxiv_api_url = arxiv.url
        unknown = submit(arxivId="2611.09999")
        assert unknown.status_code == 202
        failed = settled(site.client, unknown, headers)
    assert failed["status"] == "failed" and "arXiv has no paper 2611.09999" in failed["error"]
    assert failed["paper"] is None
    site.settings.arxiv_api_url = "http://127.0.0.1:9/api/query"  # nothing listens: arXiv is away
    away = submit(arxivId="2611.09998")
    started = time.monotonic()
    failed = settled(site.client, away, headers)
    # No network fails fast: one retry at most, not the harvest's patient back-off.
    assert failed["status"] == "failed" and "could not be asked" in failed["error"]
    assert time.monotonic() - started < 15
    # Someone else's job is not yours to watch, nor is a job that does not exist.
    bob = token(site.store, account(site.store, "bob"))
    assert site.client.get(away.json()["statusUrl"], headers=bob).status_code == 404
    assert site.client.get("/api/papers/submit/jobs/2147483648", headers=headers).status_code == 404
    assert site.client.get("/api/papers/submit/jobs/999999", headers=headers).status_code == 404
    assert submit(arxivId="2611.00003").status_code == 201
    assert site.client.post("/api/papers/submit", json={"arxivId": "2611.00003"}).status_code == 401


def test_daily_cap_per_user(site):
    site.settings.submission_daily_limit = 1
    alice, bob = account(site.store, "alice"), account(site.store, "bob")
    site.store.upsert([paper("2611.00005")])
    assert (
        site.client.post(
            "/api/papers/submit", json={"arxivId": "2611.00003"}, headers=token(site.store, alice)
        ).status_code
        == 201
    )
    capped = site.client.post(
        "/api/papers/submit", json={"arxivId": "2611.00005"}, headers=token(site.store, alice)
    )
    assert capped.status_code == 429 and "1 papers today" in capped.json()["error"]
    assert (
        site.client.post(
            "/api/papers/submit", json={"arxivId": "2611.00005"}, headers=token(site.store, bob)
        ).status_code
        == 201
    )


def test_submit_form(site):
    alice = site.browser(account(site.store, "alice"))
    form = alice.get("/papers/submit")
    assert form.status_code == 200 and 'name="arxiv"' in form.text
    refused = alice.post("/papers/submit", {"arxiv": "2601.00004"})
    assert (
        refused.status_code == 422 and "last 14 days" in refused.text and 'value="2601.00004"' in refused.text
    )
    done = alice.post("/papers/submit", {"arxiv": "https://arxiv.org/abs/2611.00003", "comment": "<b>hi</b>"})
    assert done.status_code == 303 and done.headers["location"].startswith("/papers/2611.00003")
    page = alice.get("/papers/2611.00003").text
    assert "&lt;b&gt;hi&lt;/b&gt;" in page and "<b>hi</b>" not in page
    assert "submitted by alice" in alice.get(f"/papers/date/{today().isoformat()}").text
    assert site.client.get("/papers/submit").status_code == 303  # anonymous: to sign in


def test_submit_form_of_a_paper_we_do_not_hold_shows_the_fetch_then_the_paper(site):
    alice = site.browser(account(site.store, "alice"))
    with arxiv_replay(datetime.now(UTC) - timedelta(days=1)) as arxiv:
        site.settings.arxiv_api_url = arxiv.url
        posted = alice.post("/papers/submit", {"arxiv": RECORDED_ID, "comment": "New!"})
        assert posted.status_code == 303
        watching = posted.headers["location"]
        assert re.fullmatch(r"/papers/submit/jobs/\d+", watching)
        deadline = time.monotonic() + 30
        page = alice.get(watching)
        while page.status_code == 200 and time.monotonic() < deadline:
            # Still fetching: a page that looks again by itself (no JavaScript needed).
            assert f"Fetching {RECORDED_ID} from arXiv" in page.text and 'http-equiv="refresh"' in page.text
            time.sleep(0.05)
            page = alice.get(watching)
    assert page.status_code == 303 and page.headers["location"] == f"/papers/{RECORDED_ID}?submitted=1"
    assert alice.get(watching + ".json").json()["status"] == "done"
    assert "New!" in alice.get(f"/papers/{RECORDED_ID}").text
    # Only its submitter sees the job.
    assert site.browser(account(site.store, "bob")).get(watching).status_code == 404
    assert site.client.get(watching).status_code == 303  # anonymous: to sign in


# -- comments ------------------------------------------------------------------------------------------


def test_comments_api_replies_pages_and_counts(site):
    alice, bob = account(site.store, "alice"), account(site.store, "bob")
    a, b = token(site.store, alice), token(site.store, bob)
    url = "/api/papers/2611.00001/comments"
    first = site.client.post(url, json={"comment": "First!"}, headers=a)
    assert first.status_code == 201
    first_id = first.json()["id"]
    reply = site.client.post(url, json={"comment": "A reply", "parentId": first_id}, headers=b).json()
    # A reply to a reply joins the thread of the top-level comment: one level only.
    deeper = site.client.post(url, json={"comment": "deeper", "parentId": reply["id"]}, headers=a).json()
    assert deeper["parentId"] == first_id
    for n in range(3):
        site.client.post(url, json={"body": f"more {n}"}, headers=b)
    listed = site.client.get(url, params={"limit": 2}).json()
    assert listed["total"] == 4 and listed["hasMore"] is True and len(listed["comments"]) == 2
    assert [r["body"] for r in listed["comments"][0]["replies"]] == ["A reply", "deeper"]
    second = site.client.get(url, params={"limit": 2, "p": 1}).json()["comments"]
    assert [c["body"] for c in second] == ["more 1", "more 2"]
    assert site.client.get(url, params={"p": 9}).json()["comments"] == []
    detail = site.client.get("/api/papers/2611.00001").json()
    assert detail["numComments"] == 6 and detail["isAuthorParticipating"] is False
    day = {i["paper"]["id"]: i for i in site.client.get("/api/daily_papers").json()}
    assert day["2611.00001"]["numComments"] == 6
    for bad in ({"limit": 0}, {"limit": 101}, {"p": -1}, {"p": "x"}):
        assert site.client.get(url, params=bad).status_code == 400
    assert site.client.get("/api/papers/2611.09999/comments").status_code == 404
    assert site.client.post(url, json={"comment": "  "}, headers=a).status_code == 400
    assert site.client.post(url, json={"comment": "x" * 10_001}, headers=a).status_code == 400
    assert site.client.post(url, json={"comment": "x", "parentId": 999_999}, headers=a).status_code == 404
    assert site.client.post(url, json={"comment": "x", "parentId": "a"}, headers=a).status_code == 400
    assert site.client.post(url, json={"comment": "hi"}).status_code == 401


def test_imported_hugging_face_comment_counts_stay_their_own_number(site):
    site.store.upsert([paper("2611.00006", day=today(), votes=1, num_comments=7)])  # 7 on Hugging Face
    alice = token(site.store, account(site.store, "alice"))

    def counts():
        body = site.client.get("/api/papers/2611.00006").json()
        return body["numComments"], body["numCommentsOnHf"]

    assert counts() == (0, 7)
    made = site.client.post("/api/papers/2611.00006/comments", json={"comment": "Ours"}, headers=alice).json()
    assert counts() == (1, 7)
    site.client.patch(f"/api/comments/{made['id']}", json={"comment": "Ours, edited"}, headers=alice)
    assert counts() == (1, 7)  # an edit recounts our own comments and leaves Hugging Face's alone
    site.client.delete(f"/api/comments/{made['id']}", headers=alice)
    assert counts() == (0, 7)
    site.store.upsert([paper("2611.00006", day=today(), votes=1, num_comments=9)])  # a later import: more
    assert counts() == (0, 9)
    page = site.client.get("/papers/2611.00006").text
    assert "9 comments on Hugging Face" in page
    assert "https://huggingface.co/papers/2611.00006#community" in page


def test_author_participating_when_a_commenter_is_named_among_the_authors(site):
    ada = account(site.store, "ada-lovelace")
    site.client.post(
        "/api/papers/2611.00002/comments", json={"comment": "Author here."}, headers=token(site.store, ada)
    )
    detail = site.client.get("/api/papers/2611.00002").json()
    assert detail["isAuthorParticipating"] is True
    item = {i["paper"]["id"]: i for i in site.client.get("/api/daily_papers").json()}["2611.00002"]
    assert item["isAuthorParticipating"] is True
    listed = site.client.get("/api/papers/2611.00002/comments").json()["comments"][0]
    assert listed["isPaperAuthor"] is True


def test_edit_and_delete_own_comments_only(site):
    alice, mallory = account(site.store, "alice"), account(site.store, "mallory")
    a, m = token(site.store, alice), token(site.store, mallory)
    made = site.client.post("/api/papers/2611.00001/comments", json={"comment": "original"}, headers=a).json()
    cid = made["id"]
    # Another user, by id, through the API and through the forms.
    assert site.client.patch(f"/api/comments/{cid}", json={"comment": "pwned"}, headers=m).status_code == 403
    assert site.client.delete(f"/api/comments/{cid}", headers=m).status_code == 403
    browser = site.browser(mallory)
    assert browser.post(f"/comments/{cid}/edit", {"body": "pwned"}).status_code == 403
    assert browser.post(f"/comments/{cid}/delete").status_code == 403
    with site.store.engine.connect() as conn:
        assert conn.execute(select(comments.c.body).where(comments.c.id == cid)).scalar_one() == "original"
    # The author can.
    edited = site.client.patch(f"/api/comments/{cid}", json={"comment": "better"}, headers=a)
    assert edited.status_code == 200 and edited.json()["body"] == "better" and edited.json()["editedAt"]
    reply = site.client.post(
        "/api/papers/2611.00001/comments", json={"comment": "reply", "parentId": cid}, headers=m
    ).json()
    assert site.client.delete(f"/api/comments/{cid}", headers=a).status_code == 204
    listed = site.client.get("/api/papers/2611.00001/comments").json()
    top = listed["comments"][0]
    assert top["deleted"] is True and top["body"] == "" and top["html"] == ""  # the reply keeps its thread
    assert top["replies"][0]["id"] == reply["id"]
    assert site.client.get("/api/papers/2611.00001").json()["numComments"] == 1
    assert site.client.delete(f"/api/comments/{cid}", headers=a).status_code == 404
    assert site.client.patch("/api/comments/99999", json={"comment": "x"}, headers=a).status_code == 404
    assert site.client.delete("/api/comments/0", headers=a).status_code == 404


def test_comment_forms_on_the_paper_page(site):
    alice = site.browser(account(site.store, "alice"))
    posted = alice.post("/papers/2611.00001/comments", {"body": "Nice **result**"})
    assert posted.status_code == 303 and re.fullmatch(
        r"/papers/2611.00001#comment-\d+", posted.headers["location"]
    )
    cid = int(posted.headers["location"].rsplit("-", 1)[1])
    page = alice.get("/papers/2611.00001").text
    assert "<strong>result</strong>" in page and f'action="/comments/{cid}/edit"' in page
    assert alice.post(f"/comments/{cid}/edit", {"body": "Edited"}).status_code == 303
    replied = alice.post("/papers/2611.00001/comments", {"body": "and more", "parent_id": str(cid)})
    assert replied.status_code == 303
    assert alice.post("/papers/2611.00001/comments", {"body": "x", "parent_id": "zero"}).status_code == 400
    assert alice.post(f"/comments/{cid}/delete").status_code == 303
    page = site.client.get("/papers/2611.00001").text
    assert "[deleted]" in page and "and more" in page and "Edited" not in page


def test_script_in_comments_and_in_paper_text_never_runs(site):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    site.store.upsert(
        [
            paper(
                "2611.00009",
                day=today(),
                title=f"Title {evil}",
                abstract=f"Abstract {evil} <a href='javascript:alert(1)'>x</a>",
                authors=[f"Eve {evil}"],
                github_repo="javascript:alert(1)",
                project_page="javascript:alert(2)",
            )
        ]
    )
    site.settings.rate_limit_comment = "100/1m"
    alice = site.browser(account(site.store, "alice"))
    for source in XSS:
        assert alice.post("/papers/2611.00009/comments", {"body": source}).status_code == 303
    for path in ("/papers/2611.00009", f"/papers/date/{today().isoformat()}", "/papers/trending"):
        for client in (site.client, alice.client):
            html = client.get(path).text
            tags = re.findall(r"<[a-zA-Z][^>]*>", html[html.index("<main") :])  # markup, not escaped text
            names = {re.match(r"<([a-zA-Z0-9]+)", tag).group(1).lower() for tag in tags}
            assert not names & {"script", "img", "svg", "iframe", "style", "object", "embed"}, path
            for tag in tags:
                assert not re.search(r"\son\w+\s*=", tag, re.I), tag
                assert not re.search(
                    r"""(?:href|src|action)\s*=\s*["']?\s*(?:javascript|data|vbscript):""", tag, re.I
                )
            if "trending" not in path:
                assert "Title &lt;script&gt;" in html  # the title is there, as text


# -- CSRF, methods, rate limits ------------------------------------------------------------------------


FORMS = [
    ("/papers/submit", {"arxiv": "2611.00003"}),
    ("/papers/2611.00001/upvote", {"action": "add"}),
    ("/papers/2611.00001/comments", {"body": "hello"}),
    ("/comments/{cid}/edit", {"body": "changed"}),
    ("/comments/{cid}/delete", {}),
    ("/moderation/comments/{cid}", {"action": "hide"}),
    ("/moderation/papers/2611.00001", {"action": "remove"}),
    ("/moderation/users", {"username": "alice", "action": "suspend"}),
]


def test_every_form_needs_its_csrf_token(site):
    moderator = account(site.store, "mod", role="moderator")
    alice = account(site.store, "alice")
    cid = site.community.add_comment(
        Actor(moderator.id, "mod", "moderator"), site.paper_row("2611.00001")["id"], "mine"
    ).id
    browser = site.browser(moderator)
    before = (site.paper_row("2611.00001"), site.log())
    for path, data in FORMS:
        path = path.format(cid=cid)
        missing = browser.post(path, data, csrf=False)
        assert missing.status_code == 403, path
        wrong = browser.post(path, {**data, "csrf_token": "x" * 43}, csrf=False)
        assert wrong.status_code == 403, path
        # A cookie-signed-in fetch to the API needs the token too (another site could send the cookie).
    assert browser.client.post("/api/papers/2611.00001/upvote").status_code == 403
    assert browser.client.post("/api/papers/2611.00001/comments", json={"comment": "x"}).status_code == 403
    assert (site.paper_row("2611.00001"), site.log()) == before
    assert site.community.comment(cid).body == "mine"
    assert not site.store.get("2611.00003").day
    from dailypapers.store.accounts import AccountStore

    assert AccountStore(site.store).get(alice.id).suspended is False


def test_no_state_changes_on_get(site):
    browser = site.browser(account(site.store, "mod", role="moderator"))
    before = site.paper_row("2611.00001")
    for path in (
        "/papers/2611.00001/upvote",
        "/papers/2611.00001/comments",
        "/api/papers/2611.00001/upvote",
        "/moderation/papers/2611.00001",
        "/moderation/users",
        "/comments/1/delete",
    ):
        response = browser.get(path + "?action=add&body=x&csrf_token=" + browser.csrf)
        assert response.status_code in (404, 405), (path, response.status_code)
    assert site.paper_row("2611.00001") == before


def test_rate_limits_on_upvotes_comments_and_submissions(site):
    site.settings.rate_limit_upvote = "3/1m"
    site.settings.rate_limit_comment = "2/1m"
    site.settings.rate_limit_submit = "1/1h"
    alice, bob = account(site.store, "alice"), account(site.store, "bob")
    a = token(site.store, alice)
    codes = [site.client.post("/api/papers/2611.00001/upvote", headers=a).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = site.client.delete("/api/papers/2611.00001/upvote", headers=a)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert (
        site.client.post("/api/papers/2611.00001/upvote", headers=token(site.store, bob)).status_code == 200
    )
    codes = [
        site.client.post("/api/papers/2611.00002/comments", json={"comment": f"c{n}"}, headers=a).status_code
        for n in range(3)
    ]
    assert codes == [201, 201, 429]
    assert (
        site.client.post("/api/papers/submit", json={"arxivId": "2611.00003"}, headers=a).status_code == 201
    )
    assert (
        site.client.post("/api/papers/submit", json={"arxivId": "2601.00004"}, headers=a).status_code == 429
    )


# -- moderation ----------------------------------------------------------------------------------------


def test_moderators_hide_remove_suspend_and_everything_is_logged(site):
    mod_account = account(site.store, "mod", role="moderator")
    alice_account = account(site.store, "alice")
    mod, alice = site.browser(mod_account), site.browser(alice_account)
    a = token(site.store, alice_account)
    cid = site.client.post(
        "/api/papers/2611.00001/comments", json={"comment": "spam spam"}, headers=a
    ).json()["id"]
    # Not for ordinary users.
    assert alice.get("/moderation").status_code == 403
    assert alice.post(f"/moderation/comments/{cid}", {"action": "hide"}).status_code == 403
    assert alice.post("/moderation/papers/2611.00001", {"action": "remove"}).status_code == 403
    assert alice.post("/moderation/users", {"username": "mod"}).status_code == 403
    assert site.client.get("/moderation").status_code == 303
    # Hide a comment: gone for readers, kept (marked) for moderators, not counted.
    assert mod.post(f"/moderation/comments/{cid}", {"action": "hide", "reason": "spam"}).status_code == 303
    assert site.client.get("/api/papers/2611.00001/comments").json()["comments"] == []
    assert "spam spam" not in site.client.get("/papers/2611.00001").text
    assert "spam spam" in mod.get("/papers/2611.00001").text
    assert site.client.get("/api/papers/2611.00001").json()["numComments"] == 0
    assert site.client.patch(f"/api/comments/{cid}", json={"comment": "sneaky"}, headers=a).status_code == 409
    # Remove a paper from its day: off the day, the week, the API, trending.
    day = today().isoformat()
    assert mod.post("/moderation/papers/2611.00001", {"action": "remove", "day": day}).status_code == 303
    assert "2611.00001" not in site.client.get(f"/papers/date/{day}").text
    assert "2611.00001" not in [
        i["paper"]["id"] for i in site.client.get(f"/api/daily_papers?date={day}").json()
    ]
    assert "2611.00001" not in [
        i["paper"]["id"] for i in site.client.get("/api/daily_papers?sort=trending").json()
    ]
    resubmit = site.client.post("/api/papers/submit", json={"arxivId": "2611.00001"}, headers=a)
    assert resubmit.status_code == 409 and "removed" in resubmit.json()["error"]
    assert mod.post("/moderation/papers/2611.00001", {"day": "2026-13-01"}).status_code == 400
    assert mod.post("/moderation/papers/2611.09999", {}).status_code == 404
    # Suspend: alice can read, not act.
    assert (
        mod.post(
            "/moderation/users", {"username": "alice", "action": "suspend", "reason": "spam"}
        ).status_code
        == 303
    )
    assert site.client.post("/api/papers/2611.00002/upvote", headers=a).status_code == 403
    assert alice.post("/papers/2611.00002/comments", {"body": "x"}).status_code == 403
    assert alice.get("/papers/2611.00002").status_code == 200
    assert mod.post("/moderation/users", {"username": "nobody"}).status_code == 404
    assert mod.post("/moderation/users", {"username": "mod"}).status_code == 409  # not oneself
    actions = [(e["action"], e["moderator"], e["reason"]) for e in site.log()]
    assert actions == [
        ("hide_comment", "mod", "spam"),
        ("remove_entry", "mod", None),
        ("suspend_user", "mod", "spam"),
    ]
    log = mod.get("/moderation")
    assert log.status_code == 200 and "suspend user" in log.text and "spam spam" in log.text
    as_json = mod.get("/moderation.json").json()
    assert [e["action"] for e in as_json["entries"]] == ["suspend_user", "remove_entry", "hide_comment"]
    assert mod.get("/moderation?p=x").status_code == 400


def test_store_refuses_non_moderators_and_unknown_targets(site):
    alice = account(site.store, "alice")
    actor = Actor(alice.id, alice.username)
    pid = site.paper_row("2611.00001")["id"]
    with pytest.raises(Forbidden):
        site.community.hide_comment(actor, 1)
    with pytest.raises(Forbidden):
        site.community.remove_entry(actor, pid)
    with pytest.raises(InvalidComment):
        site.community.add_comment(actor, pid, "\x00")
    # An entry restored by a moderator is back on the feed.
    mod = Actor(account(site.store, "mod", role="moderator").id, "mod", "moderator")
    assert site.community.remove_entry(mod, pid) == 1
    assert site.community.remove_entry(mod, pid) == 0
    assert site.community.remove_entry(mod, pid, restore=True) == 1
    with site.store.engine.connect() as conn:
        assert (
            conn.execute(select(feed_entries.c.removed_at).where(feed_entries.c.paper_id == pid)).scalar()
            is None
        )


def test_forget_user_recounts_what_their_account_touched(site):
    alice = account(site.store, "alice")
    actor = Actor(alice.id, alice.username)
    pid = site.paper_row("2611.00002")["id"]
    site.community.set_upvote(actor, pid, True)
    site.community.add_comment(actor, pid, "hello")
    from dailypapers.store.engine import write_transaction
    from dailypapers.store.schema import users

    with write_transaction(site.store.engine) as conn:
        site.community.forget_user(conn, alice.id)
        conn.execute(users.delete().where(users.c.id == alice.id))
    row = site.paper_row("2611.00002")
    assert row["upvotes"] == 3 and row["num_comments"] == 0


# -- signed-in pages and the page cache ----------------------------------------------------------------


def _page_cache(app):
    from dailypapers.web.cache import PageCache

    node = app.middleware_stack
    while not isinstance(node, PageCache):
        node = node.app
    return node


def test_signed_in_feed_pages_are_cached_per_reader_and_retired_by_any_write(site):
    alice_account, bob_account = account(site.store, "alice"), account(site.store, "bob")
    alice, bob = site.browser(alice_account), site.browser(bob_account)
    path = f"/papers/date/{today().isoformat()}"
    site.client.get(path)
    cache = _page_cache(site.app)
    alice.post("/papers/2611.00002/upvote", {"action": "add"})
    first = alice.get(path).text
    hits = cache.hits
    assert alice.get(path).text == first  # the same reader again: from memory, when there is a counter
    if site.settings.is_sqlite:
        assert cache.hits == hits + 1
    assert alice.csrf in first and "voted" in first
    # Another reader, and anonymous visitors, never get alice's page.
    for other, voted in ((bob.get(path).text, False), (site.client.get(path).text, False)):
        assert alice.csrf not in other and ('class="votes upvote voted"' in other) is voted
    assert bob.csrf in bob.get(path).text
    # Her next upvote is a commit: the cached pages go, and she sees it at once.
    alice.post("/papers/2611.00001/upvote", {"action": "add"})
    page = alice.get(path).text
    assert page.count('name="action" value="remove"') == 2
    # Signed out (the session row is gone): the old cookie gets an anonymous page, not the cached one.
    from dailypapers.store.accounts import AccountStore

    AccountStore(site.store).end_session(alice.client.cookies.get("dp_session"))
    assert alice.csrf not in alice.get(path).text
    # A token on the API is a reader too: `upvoted` is theirs.
    headers = token(site.store, bob_account)
    assert all(i["upvoted"] is False for i in site.client.get("/api/daily_papers", headers=headers).json())
    site.client.post("/api/papers/2611.00001/upvote", headers=headers)
    voted = {
        i["paper"]["id"]: i["upvoted"] for i in site.client.get("/api/daily_papers", headers=headers).json()
    }
    assert voted["2611.00001"] is True
    assert "upvoted" not in site.client.get("/api/daily_papers").json()[0]


def test_an_unconfirmed_address_reads_but_does_not_write(site):
    from dailypapers.store.accounts import AccountStore

    fresh = AccountStore(site.store).create(
        email="new@example.org", username="newcomer", password_hash=None, verified=False
    )
    headers = token(site.store, fresh)
    for method, path, body in (
        ("POST", "/api/papers/2611.00001/upvote", None),
        ("POST", "/api/papers/2611.00001/comments", {"comment": "hi"}),
        ("POST", "/api/papers/submit", {"arxivId": "2611.00003"}),
    ):
        refused = site.client.request(method, path, json=body, headers=headers)
        assert refused.status_code == 403 and "Confirm your e-mail" in refused.json()["error"]
    assert site.client.get("/api/papers/2611.00001/comments", headers=headers).status_code == 200
    assert site.paper_row("2611.00001")["upvotes"] == 7


def test_the_trending_key_kept_vote_by_vote_equals_a_recount(site):
    """Upvotes move the key by one term (and taking one back by its inverse); a recount from every vote
    must agree, whatever the order."""
    import random

    from dailypapers.store.engine import write_transaction

    people = [Actor(account(site.store, f"p{n}").id, f"p{n}") for n in range(12)]
    pid = site.paper_row("2611.00001")["id"]
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=5)
    for step in range(120):
        who = rng.choice(people)
        site.community.set_upvote(who, pid, rng.random() < 0.6, now=start + timedelta(hours=step))
        if step % 40 != 39:
            continue  # 40 votes and take-backs between recounts: errors would pile up
        kept = site.paper_row("2611.00001")
        with write_transaction(site.store.engine) as conn:
            site.store.refresh_votes(conn, {pid})
        recounted = site.paper_row("2611.00001")
        assert kept["upvotes"] == recounted["upvotes"]
        assert kept["trend_key"] == pytest.approx(recounted["trend_key"], abs=1e-9)
    # The last vote taken back when it was all of the key: recounted, not cancelled to nothing.
    lone = site.paper_row("2611.00003")["id"]
    site.community.set_upvote(people[0], lone, True)
    site.community.set_upvote(people[0], lone, False)
    assert site.paper_row("2611.00003")["trend_key"] is None and site.paper_row("2611.00003")["upvotes"] == 0
