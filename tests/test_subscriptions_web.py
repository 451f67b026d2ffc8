"""Signing up, confirming, preferences and unsubscribing through the real app, with a real SMTP server
(aiosmtpd) receiving the confirmation mails; on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from accounts_support import make_account, sign_in
from dailypapers.mail.smtp import SmtpMailer
from dailypapers.store.subscriptions import SqlSubscriptionStore as Subscriptions
from dailypapers.web.app import create_app

LINK = re.compile(r"https?://\S+/(?:subscriptions/(?:confirm|preferences)|unsubscribe)/[A-Za-z0-9._-]+")


@pytest.fixture
def web(settings, store, smtp_sink):
    settings = settings.model_copy(update={"base_url": "https://papers.example.org"})
    app = create_app(settings, store=store, mailer=SmtpMailer(smtp_sink.url))
    with TestClient(app, base_url="https://papers.example.org") as client:
        client.sink = smtp_sink
        client.subs = Subscriptions(store.engine)
        yield client


def _links(received) -> list[str]:
    body = received.message.get_body(("plain",)).get_content()
    return [urlsplit(u).path for u in LINK.findall(body)]


def _subscribe(client, email="reader@example.org", frequency="daily"):
    return client.post("/api/subscriptions", json={"email": email, "frequency": frequency})


def test_api_sign_up_double_opt_in_and_the_same_answer_for_known_addresses(web):
    first = _subscribe(web)
    assert first.status_code == 202
    (mail,) = web.sink.to("reader@example.org")
    assert mail.recipients == ["reader@example.org"]
    assert mail.message["Subject"].startswith("Confirm your")
    (confirm,) = _links(mail)
    assert confirm.startswith("/subscriptions/confirm/")
    assert "reader" not in confirm
    assert web.subs.by_email("reader@example.org").status == "pending"

    # A GET (a link scanner) shows a button and confirms nothing.
    page = web.get(confirm)
    assert page.status_code == 200 and 'method="post"' in page.text
    assert web.subs.by_email("reader@example.org").status == "pending"
    # The POST needs no cookie and no CSRF token: the link is the proof.
    web.cookies.clear()
    done = web.post(confirm, follow_redirects=False)
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert web.subs.by_email("reader@example.org").status == "active"

    # Asking again for a known, active address: the same answer; the mail is a reminder with the preferences.
    again = _subscribe(web, "Reader@Example.org ")
    unknown = _subscribe(web, "someone.else@example.org")
    assert again.status_code == unknown.status_code == 202
    assert again.json() == unknown.json()
    reminder = web.sink.to("reader@example.org")[-1]
    assert [p.split("/")[2] for p in _links(reminder)] == ["preferences"]
    body = reminder.message.get_body(("plain",)).get_content()
    assert "Reader@Example.org" not in body  # nothing the requester typed goes into the mail


@pytest.mark.parametrize(
    "body, status",
    [
        ({"email": "not-an-address", "frequency": "daily"}, 400),
        ({"email": "a@example.org", "frequency": "hourly"}, 400),
        ({"email": ["a@example.org"]}, 400),
        ([1, 2], 400),
    ],
)
def test_api_bad_input_is_a_4xx(web, body, status):
    response = web.post("/api/subscriptions", json=body)
    assert response.status_code == status and "error" in response.json()
    assert web.sink.messages == []


def test_api_wants_json(web):
    form = web.post("/api/subscriptions", data={"email": "a@example.org", "frequency": "daily"})
    assert form.status_code == 415
    broken = web.post("/api/subscriptions", content=b"{nope", headers={"content-type": "application/json"})
    assert broken.status_code == 400
    huge = web.post(
        "/api/subscriptions",
        content=b'{"email": "' + b"a" * 20000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_rate_limits_per_ip_and_per_address(settings, store, smtp_sink):
    settings = settings.model_copy(
        update={"rate_limit_subscribe": "4/1h", "rate_limit_subscribe_address": "2/1h"}
    )
    app = create_app(settings, store=store, mailer=SmtpMailer(smtp_sink.url))
    with TestClient(app) as client:
        answers = [_subscribe(client, "same@example.org").status_code for _ in range(3)]
        # The third request for one address is answered like the others but sends nothing.
        assert answers == [202, 202, 202]
        assert len(smtp_sink.to("same@example.org")) == 2
        assert _subscribe(client, "other@example.org").status_code == 202
        refused = _subscribe(client, "third@example.org")
        assert refused.status_code == 429 and refused.headers["retry-after"]


def test_banner_form_on_pages_with_csrf(web):
    home = web.get("/")
    assert "Get trending papers in your email inbox!" in home.text
    assert 'action="/subscribe"' in home.text
    # A cached page has no token; the form then asks once more, on a page that has one (and sets the cookie).
    step = web.post("/subscribe", data={"email": "banner@example.org", "frequency": "weekly"})
    assert step.status_code == 200 and 'value="banner@example.org"' in step.text
    assert web.sink.messages == []
    token = re.search(r'name="csrf_token" value="([^"]+)"', step.text).group(1)
    forged = web.post(
        "/subscribe", data={"email": "banner@example.org", "frequency": "weekly", "csrf_token": "x"}
    )
    assert "Check your inbox" not in forged.text and web.sink.messages == []
    done = web.post(
        "/subscribe", data={"email": "banner@example.org", "frequency": "weekly", "csrf_token": token}
    )
    assert done.status_code == 200 and "Check your inbox" in done.text
    assert len(web.sink.to("banner@example.org")) == 1
    assert web.subs.by_email("banner@example.org").preferences.frequency == "weekly"
    # With the cookie set, the banner carries the token itself.
    assert 'name="csrf_token"' in web.get("/subscribe").text
    bad = web.post("/subscribe", data={"email": "nope", "csrf_token": token})
    assert bad.status_code == 400


def _active(web, email="reader@example.org"):
    _subscribe(web, email)
    (confirm,) = _links(web.sink.to(email)[-1])
    web.post(confirm)
    _subscribe(web, email)
    (preferences,) = _links(web.sink.to(email)[-1])
    return preferences


def test_preferences_page_and_json_twin(web):
    preferences = _active(web)
    page = web.get(preferences)
    assert page.status_code == 200 and "reader@example.org" in page.text and 'name="categories"' in page.text
    saved = web.post(
        preferences,
        data={
            "frequency": "weekly",
            "max_papers": "8",
            "categories": "cs.CL, cs.LG",
            "q0": "mixture of experts",
            "mode0": "semantic",
            "q1": "",
            "mode1": "keyword",
        },
    )
    assert saved.status_code == 200 and "Saved" in saved.text
    twin = web.get(preferences + ".json").json()
    assert twin == {
        "email": "reader@example.org",
        "status": "active",
        "frequency": "weekly",
        "maxPapers": 8,
        "categories": ["cs.CL", "cs.LG"],
        "searches": [{"q": "mixture of experts", "mode": "semantic"}],
    }
    by_json = web.post(preferences + ".json", json={"maxPapers": 3})
    assert by_json.status_code == 200 and by_json.json()["maxPapers"] == 3
    assert by_json.json()["categories"] == ["cs.CL", "cs.LG"]
    bad = web.post(preferences, data={"frequency": "daily", "max_papers": "500", "categories": ""})
    assert bad.status_code == 400 and "between" in bad.text
    assert web.post(preferences + ".json", json={"categories": ["no way"]}).status_code == 400
    assert web.post(preferences + ".json", json=[1]).status_code == 400


@pytest.mark.parametrize(
    "body, status",
    [
        (b"[" * 100_000 + b"]" * 100_000, 413),
        (b"[" * 5_000 + b"]" * 5_000, 400),  # deep nesting: a RecursionError before
        (b'{"frequency": "daily", "maxPapers": 1e400}', 400),  # infinity: an OverflowError before
        (b"\xff\xfe", 400),
        (b'{"frequency": "daily", "searches": [{"q": 5}]}', 400),
        (b'{"frequency": {"a": 1}}', 400),
    ],
)
def test_bad_json_preferences_are_a_4xx(web, body, status):
    preferences = _active(web)
    response = web.post(preferences + ".json", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status


def test_unsubscribe_one_click_and_bad_links(web):
    preferences = _active(web)
    page = web.get(preferences)
    unsubscribe = re.search(r'action="(/unsubscribe/[^"]+)"', page.text).group(1)
    shown = web.get(unsubscribe)
    assert shown.status_code == 200 and 'method="post"' in shown.text
    assert web.subs.by_email("reader@example.org").status == "active"
    web.cookies.clear()
    # What a mail provider sends for RFC 8058: a form body, no cookie, no token; a 2xx and no redirect.
    response = web.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 200
    assert web.subs.by_email("reader@example.org").status == "unsubscribed"
    assert web.post(unsubscribe).status_code == 200  # again: still fine

    for bad in (
        "/unsubscribe/nonsense",
        "/subscriptions/confirm/x.y",
        "/subscriptions/preferences/" + "a" * 300,
    ):
        assert web.get(bad).status_code == 400
        assert web.post(bad).status_code == 400
    # A link of one kind does not open another.
    token = unsubscribe.rsplit("/", 1)[1]
    assert web.get("/subscriptions/preferences/" + token).status_code == 400
    assert web.post("/subscriptions/confirm/" + token).status_code == 400


def test_expired_sign_ups_are_deleted(web, store):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from dailypapers.store.engine import write_transaction
    from dailypapers.store.schema import subscriptions

    _subscribe(web, "late@example.org")
    _subscribe(web, "again@example.org")
    aged = datetime.now(UTC) - timedelta(hours=49)
    with write_transaction(store.engine) as conn:
        conn.execute(update(subscriptions).values(created_at=aged, confirm_sent_at=aged))
    # Asked again: the new link is valid for the whole window, so the row must outlive it.
    _subscribe(web, "again@example.org")
    assert web.subs.by_email("late@example.org") is None
    assert web.subs.by_email("again@example.org").status == "pending"
    (confirm,) = _links(web.sink.to("again@example.org")[-1])
    assert web.post(confirm).status_code == 200
    assert web.subs.by_email("again@example.org").status == "active"


def test_concurrent_sign_ups_of_one_new_address_all_get_the_same_answer(web):
    import threading

    barrier = threading.Barrier(6)
    answers = []

    def sign_up():
        barrier.wait()
        answers.append(web.subs.request("race@example.org", "daily").action)

    threads = [threading.Thread(target=sign_up) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == ["confirm"] * 6


def test_settings_page_subscribes_a_signed_in_account(web, store):
    make_account(store, "alice")
    csrf = sign_in(web, "alice")
    page = web.get("/settings")
    assert "E-mail digest" in page.text and 'action="/settings/digest"' in page.text
    assert web.post("/settings/digest", data={"frequency": "weekly"}).status_code == 403
    response = web.post(
        "/settings/digest", data={"frequency": "weekly", "csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    subscription = web.subs.by_email("alice@example.org")
    assert subscription.status == "active" and subscription.preferences.frequency == "weekly"
    assert "Change what you get" in web.get("/settings").text
