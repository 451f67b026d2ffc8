"""The one rule for addresses (dailypapers.emails) and the one mail builder (dailypapers.mail.builder): an
address an account signs up with subscribes its digest, one refused is refused alike, and every mail is
dated; the app runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from accounts_support import PASSWORD, csrf_from, csrf_of, sign_in
from dailypapers.emails import InvalidEmail, normalize_email
from dailypapers.mail.builder import TEMPLATES, Content, MailBuilder, UnsendableAddress
from dailypapers.mail.smtp import SmtpMailer
from dailypapers.store.subscriptions import SqlSubscriptionStore
from dailypapers.web.app import create_app

TYPED, STORED = "User@Bücher.de", "user@xn--bcher-kva.de"


@pytest.mark.parametrize(
    "raw, stored",
    [
        # Plain ASCII addresses come out as both earlier rules stored them: trimmed, lower case.
        ("  Ada.Lovelace+papers@Example.ORG ", "ada.lovelace+papers@example.org"),
        ("o'neil@mail.example.co.uk", "o'neil@mail.example.co.uk"),
        (TYPED, STORED),
        ("user@XN--BCHER-KVA.DE", STORED),
    ],
)
def test_addresses_are_stored_in_one_form(raw, stored):
    assert normalize_email(raw) == stored


@pytest.mark.parametrize(
    "raw",
    [
        "a.@b.com",
        "a@192.168.0.1",
        "a@[192.168.0.1]",  # no domain literals
        "printer@office.local",  # no special-use domains
        "x@site.test",
        "ü@example.org",  # ASCII before the @
        '"a b"@example.org',
        "Ada <ada@example.org>",
        "x" * 65 + "@example.org",
        "a@example.org\r\nBcc: x@evil.org",
    ],
)
def test_addresses_refused_say_why(raw):
    with pytest.raises(InvalidEmail, match="^That does not look like an e-mail address: .+"):
        normalize_email(raw)


@pytest.fixture
def web(settings, store, smtp_sink):
    settings = settings.model_copy(update={"base_url": "https://papers.example.org"})
    app = create_app(settings, store=store, mailer=SmtpMailer(smtp_sink.url))
    with TestClient(app, base_url="https://papers.example.org") as client:
        yield client


def _signup(client, email: str):
    token = csrf_of(client, "/signup")
    data = {"csrf_token": token, "email": email, "username": "reader", "password": PASSWORD}
    return client.post("/signup", data=data)


def test_an_address_an_account_signs_up_with_subscribes_its_digest(web, store, smtp_sink):
    assert _signup(web, TYPED).status_code == 200
    (confirmation,) = smtp_sink.to(STORED)
    assert confirmation.message["Date"].datetime.tzinfo is not None
    body = confirmation.message.get_body(("plain",)).get_content()
    link = next(urlsplit(word).path for word in body.split() if "/verify-email/" in word)
    page = web.get(link)
    assert web.post(link, data={"csrf_token": csrf_from(page.text)}).status_code == 200

    token = sign_in(web, TYPED)  # signing in by the address as typed finds the account
    subscribed = web.post(
        "/settings/digest", data={"csrf_token": token, "frequency": "weekly"}, follow_redirects=False
    )
    assert subscribed.status_code == 303
    subscription = SqlSubscriptionStore(store.engine).by_email(STORED)
    assert (subscription.status, subscription.preferences.frequency) == ("active", "weekly")

    # The same address typed into the API finds the same subscription: a reminder, not a second one.
    assert web.post("/api/subscriptions", json={"email": TYPED, "frequency": "weekly"}).status_code == 202
    reminder = smtp_sink.to(STORED)[-1]
    assert reminder.message["Subject"].startswith("Your ") and reminder.message["Date"]


@pytest.mark.parametrize("typed", ["a.@b.com", "a@192.168.0.1", "someone@bücher"])
def test_an_address_refused_is_refused_alike_with_the_same_message(web, typed):
    with pytest.raises(InvalidEmail) as refused:
        normalize_email(typed)
    message = str(refused.value)
    signup = _signup(web, typed)
    assert signup.status_code == 400 and message in signup.text
    api = web.post("/api/subscriptions", json={"email": typed, "frequency": "daily"})
    assert (api.status_code, api.json()) == (400, {"error": message})


def test_account_mails_are_dated(web, store, smtp_sink):
    from accounts_support import make_account

    make_account(store, "alice")
    assert _signup(web, "Alice@Example.org").status_code == 200  # the address has an account already
    token = csrf_of(web, "/forgot-password")
    web.post("/forgot-password", data={"csrf_token": token, "email": "alice@example.org"})
    subjects = {m.message["Subject"]: m.message for m in smtp_sink.to("alice@example.org")}
    assert set(subjects) == {"[dailypapers] You already have an account", "[dailypapers] Reset your password"}
    for message in subjects.values():
        assert message["Date"].datetime.tzinfo is not None
        assert message["Message-ID"] and message["Auto-Submitted"] == "auto-generated"


CONTEXTS = {
    "confirm-address": {"username": "ada", "link": "https://x.org/verify-email/t", "hours": 48},
    "already-registered": {
        "signin_url": "https://x.org/signin",
        "reset_url": "https://x.org/forgot-password",
    },
    "reset-password": {"username": "ada", "link": "https://x.org/reset-password/t", "minutes": 30},
    "confirm-digest": {
        "frequency": "daily",
        "confirm_url": "https://x.org/subscriptions/confirm/t",
        "hours": 48,
    },
    "already-subscribed": {"preferences_url": "https://x.org/subscriptions/preferences/t"},
}


def test_every_template_builds_a_whole_dated_message():
    assert {p.name for p in TEMPLATES.iterdir() if p.is_dir()} == set(CONTEXTS)
    builder = MailBuilder(
        "Daily Papërs <noreply@papers.example.org>", site_name="dailypapers", base_url="https://x.org"
    )
    for name, context in CONTEXTS.items():
        mail = builder.mail("ada@example.org", name, context)
        assert (mail.sender, mail.recipient) == ("noreply@papers.example.org", "ada@example.org")
        message = message_from_bytes(mail.data, policy=policy.default)
        assert message["Subject"] == mail.subject and "\n" not in mail.subject
        assert message["To"] == "ada@example.org"
        assert message["From"].addresses[0].display_name == "Daily Papërs"
        assert message["Date"].datetime.tzinfo is not None
        assert message["Message-ID"].endswith("@papers.example.org>")
        assert message.get_content_type() == "text/plain"
        assert all(str(value) in message.get_content() for value in context.values())


def test_a_recipient_no_header_may_carry_is_refused():
    builder = MailBuilder("noreply@x.org", site_name="d", base_url="https://x.org")
    for bad in ("a\n@x.org", "a@x.org\r\nBcc: b@evil.org", "a b@x.org", "ü@x.org"):
        with pytest.raises(UnsendableAddress):
            builder.build(bad, Content("Hi", "text"), now=datetime.now(UTC))
