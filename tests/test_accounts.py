"""Accounts through the real app, on SQLite and PostgreSQL, with mail read from a real SMTP server:
sign-up and confirmation, sign-in and out, password reset, settings, API tokens, profiles."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accounts_support import PASSWORD, api_token, csrf_from, csrf_of, make_account, sign_in
from dailypapers.mail.smtp import SmtpMailer
from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.accounts import AccountStore
from dailypapers.store.schema import account_tokens, api_tokens, feed_entries, sessions, upvotes, users
from dailypapers.web.app import create_app
from dailypapers.web.auth import AccountDep, ModeratorAccount, RequiredAccount

DAY = "2026-08-21"


class Site:
    def __init__(self, app, client, store, sink) -> None:
        self.app = app
        self.client = client
        self.store = store
        self.sink = sink
        self.accounts = AccountStore(store)

    def browser(self) -> TestClient:
        """Another browser on the same site (its own cookies), on the same event loop as the first, whose
        mailer holds SMTP connections of that loop."""
        browser = TestClient(self.app)
        browser.portal = self.client.portal
        return browser

    def links_to(self, address: str) -> list[str]:
        """Paths of the links in the mails sent to `address`, oldest first."""
        found = []
        for received in self.sink.to(address):
            body = received.message.get_body(("plain",)).get_content()
            found += [urlsplit(link).path for link in re.findall(r"https?://\S+", body)]
        return found


@pytest.fixture
def site(settings, store, smtp_sink):
    app = create_app(settings, store=store, mailer=SmtpMailer(smtp_sink.url))
    with TestClient(app) as client:
        yield Site(app, client, store, smtp_sink)


def signup(client, email="alice@example.org", username="alice", password=PASSWORD):
    token = csrf_of(client, "/signup")
    return client.post(
        "/signup", data={"csrf_token": token, "email": email, "username": username, "password": password}
    )


def main_text(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_signup_mails_a_link_that_confirms_the_address_on_post_only(site):
    response = signup(site.client, email="Alice@Example.org")
    assert response.status_code == 200
    assert "Check your mail" in response.text
    account = site.accounts.by_email("alice@example.org")  # stored in lower case
    assert account.username == "alice" and not account.email_verified and account.role == "user"
    [link] = [p for p in site.links_to("alice@example.org") if p.startswith("/verify-email/")]
    # Opening the link (as a mail scanner would) changes nothing: it shows a button.
    page = site.client.get(link)
    assert page.status_code == 200 and "Confirm my address" in page.text
    assert not site.accounts.get(account.id).email_verified
    confirmed = site.client.post(link, data={"csrf_token": csrf_from(page.text)})
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text
    assert site.accounts.get(account.id).email_verified
    # Single use.
    assert site.client.post(link, data={"csrf_token": csrf_from(page.text)}).status_code == 400
    assert site.client.get(link).status_code == 400


def test_signup_with_a_registered_address_answers_the_same_and_tells_the_owner(site):
    first = signup(site.client, email="alice@example.org", username="alice")
    again = signup(site.browser(), email="alice@example.org", username="mallory")
    assert again.status_code == first.status_code == 200
    assert main_text(again.text) == main_text(first.text)
    assert site.accounts.by_username("mallory") is None
    mails = site.sink.to("alice@example.org")
    assert [m.message["Subject"] for m in mails] == [
        "[dailypapers] Confirm your e-mail address",
        "[dailypapers] You already have an account",
    ]


def test_signup_refuses_names_that_exist_in_any_case_including_imported_submitters(site):
    site.store.upsert(
        [
            PaperRecord(
                arxiv_id="2608.00001",
                title="T",
                abstract="A",
                authors=["X"],
                daily_date=__import__("datetime").date(2026, 8, 21),
                submitter=Submitter("akhaliq"),
            )
        ]
    )
    response = signup(site.client, email="ak@example.org", username="AKhaliq")
    assert response.status_code == 400 and "taken" in response.text
    make_account(site.store, "bob")
    assert signup(site.browser(), email="b2@example.org", username="BOB").status_code == 400
    assert site.accounts.by_email("ak@example.org") is None


def test_an_imported_name_never_lands_on_a_local_account_of_that_name(site):
    from datetime import date

    bob = make_account(site.store, "bob")
    site.store.upsert(
        [
            PaperRecord(
                arxiv_id="2608.00002",
                title="T",
                abstract="A",
                authors=["X"],
                daily_date=date(2026, 8, 21),
                submitter=Submitter("bob", fullname="HF Bob"),
            )
        ]
    )
    with site.store.engine.connect() as conn:
        submitter = conn.execute(select(feed_entries.c.submitted_by_id)).scalar_one()
        fullname = conn.execute(select(users.c.fullname).where(users.c.id == bob.id)).scalar_one()
    assert submitter != bob.id and fullname is None


def test_signin_rotates_the_session_id_and_signout_ends_it(site):
    make_account(site.store, "alice")
    client = site.client
    planted = "attacker-chosen-session-id-0123456789"
    client.cookies.set("dp_session", planted, domain="testserver.local")
    sign_in(client, "alice")
    first = client.cookies.get("dp_session")
    assert first and first != planted
    assert site.accounts.session(planted) is None
    sign_in(client, "alice@example.org")  # signing in again: yet another id, the previous one ended
    second = client.cookies.get("dp_session")
    assert second != first and site.accounts.session(first) is None and site.accounts.session(second)
    token = csrf_of(client, "/settings")
    response = client.post("/signout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert site.accounts.session(second) is None
    assert client.get("/settings", follow_redirects=False).status_code == 303


def test_session_cookie_flags(settings, store):
    make_account(store, "alice")
    for base_url, secure in (
        ("http://127.0.0.1:8000", False),
        ("https://papers.example.org", True),
        ("HTTPS://papers.example.org", True),  # a scheme is case-insensitive
    ):
        app = create_app(settings.model_copy(update={"base_url": base_url}), store=store)
        with TestClient(app, base_url=base_url) as client:
            token = csrf_of(client)
            response = client.post(
                "/signin",
                data={"csrf_token": token, "login": "alice", "password": PASSWORD},
                follow_redirects=False,
            )
            cookie = response.headers["set-cookie"]
            assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
            assert ("Secure" in cookie) is secure


def test_wrong_password_unknown_user_and_suspended(site):
    alice = make_account(site.store, "alice")
    client = site.client
    token = csrf_of(client)
    wrong = client.post("/signin", data={"csrf_token": token, "login": "alice", "password": "nope nope nope"})
    unknown = client.post(
        "/signin", data={"csrf_token": token, "login": "nobody", "password": "nope nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 400
    assert main_text(wrong.text).replace("alice", "X") == main_text(unknown.text).replace("nobody", "X")
    site.accounts.set_suspended(alice.id, True)
    refused = client.post("/signin", data={"csrf_token": token, "login": "alice", "password": PASSWORD})
    assert refused.status_code == 403 and "suspended" in refused.text


def test_a_suspended_account_is_refused_with_its_session_and_its_tokens(site):
    alice = make_account(site.store, "alice")
    sign_in(site.client, "alice")
    raw = api_token(site.store, alice)
    api = site.browser()
    assert api.get("/api/whoami-v2", headers={"Authorization": f"Bearer {raw}"}).json()["name"] == "alice"
    site.accounts.set_suspended(alice.id, True)
    assert site.client.get("/settings").status_code == 403
    refused = api.get("/api/whoami-v2", headers={"Authorization": f"Bearer {raw}"})
    assert refused.status_code == 403 and refused.json() == {"error": "This account is suspended."}


def test_password_reset_same_answer_for_any_address_single_use_and_ends_other_sessions(site):
    make_account(site.store, "alice")
    other_browser = site.browser()
    sign_in(other_browser, "alice")
    client = site.client
    token = csrf_of(client, "/forgot-password")
    known = client.post("/forgot-password", data={"csrf_token": token, "email": "alice@example.org"})
    unknown = client.post("/forgot-password", data={"csrf_token": token, "email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert main_text(known.text).replace("alice", "X") == main_text(unknown.text).replace("nobody", "X")
    assert site.sink.to("nobody@example.org") == []
    [link] = site.links_to("alice@example.org")
    assert link.startswith("/reset-password/")
    form = client.get(link)
    assert form.status_code == 200 and form.headers["referrer-policy"] == "no-referrer"
    assert client.get(link).status_code == 200  # looking does not use it up
    done = client.post(link, data={"csrf_token": csrf_from(form.text), "password": "a brand new password"})
    assert done.status_code == 200 and "Password changed" in done.text
    assert (
        client.post(
            link, data={"csrf_token": csrf_from(form.text), "password": "yet another one!"}
        ).status_code
        == 400
    )
    # The other browser was signed out; the old password no longer works, the new one does.
    assert other_browser.get("/settings", follow_redirects=False).status_code == 303
    token = csrf_of(client)
    old = client.post("/signin", data={"csrf_token": token, "login": "alice", "password": PASSWORD})
    assert old.status_code == 400
    sign_in(client, "alice", "a brand new password")


def test_link_tokens_are_single_purpose_and_expire(site):
    alice = make_account(site.store, "alice", verified=False)
    accounts = site.accounts
    verify = accounts.issue_token(alice.id, "verify", alice.email, timedelta(hours=1))
    reset = accounts.issue_token(alice.id, "reset", alice.email, timedelta(hours=1))
    client = site.client
    assert client.get(f"/reset-password/{verify}").status_code == 400
    token = csrf_of(client)
    assert (
        client.post(
            f"/reset-password/{verify}", data={"csrf_token": token, "password": "hijacked password"}
        ).status_code
        == 400
    )
    assert client.post(f"/verify-email/{reset}", data={"csrf_token": token}).status_code == 400
    assert not accounts.get(alice.id).email_verified
    # Both still work for their own purpose (a wrong-purpose attempt did not use them up).
    assert client.post(f"/verify-email/{verify}", data={"csrf_token": token}).status_code == 200
    assert client.get(f"/reset-password/{reset}").status_code == 200
    expired = accounts.issue_token(alice.id, "reset", alice.email, timedelta(seconds=-1))
    assert client.get(f"/reset-password/{expired}").status_code == 400
    assert (
        client.post(
            f"/reset-password/{expired}", data={"csrf_token": token, "password": "too late password"}
        ).status_code
        == 400
    )
    stale = accounts.issue_token(alice.id, "verify", alice.email, timedelta(seconds=-1))
    assert client.post(f"/verify-email/{stale}", data={"csrf_token": token}).status_code == 400


def test_change_password_keeps_this_session_and_ends_the_others(site):
    make_account(site.store, "alice")
    other = site.browser()
    sign_in(other, "alice")
    token = sign_in(site.client, "alice")
    bad = site.client.post(
        "/settings/password",
        data={"csrf_token": token, "current_password": "wrong password", "new_password": "a new password!"},
    )
    assert bad.status_code == 400 and "not your current password" in bad.text
    ok = site.client.post(
        "/settings/password",
        data={"csrf_token": token, "current_password": PASSWORD, "new_password": "a new password!"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert site.client.get("/settings").status_code == 200
    assert other.get("/settings", follow_redirects=False).status_code == 303


def test_delete_account_deletes_the_row_its_upvotes_and_recounts(site):
    from datetime import UTC, date, datetime

    site.store.upsert(
        [
            PaperRecord(
                arxiv_id="2608.00003",
                title="T",
                abstract="A",
                authors=["X"],
                daily_date=date(2026, 8, 21),
                upvotes=5,
            )
        ]
    )
    alice = make_account(site.store, "alice")
    paper = site.store.get("2608.00003")
    with site.store.engine.begin() as conn:
        conn.execute(
            upvotes.insert().values(user_id=alice.id, paper_id=paper.id, created_at=datetime.now(UTC))
        )
        site.store.refresh_votes(conn, {paper.id})
        conn.execute(feed_entries.update().values(submitted_by_id=alice.id))
    assert site.store.get("2608.00003").upvotes == 6
    raw = api_token(site.store, alice)
    # A comment through the real API: deleting the account takes it, and the paper's count, along.
    commented = site.browser().post(
        "/api/papers/2608.00003/comments",
        json={"comment": "Nice paper"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert commented.status_code == 201, commented.text
    assert site.store.get("2608.00003").num_comments == 1
    site.accounts.issue_token(alice.id, "reset", alice.email, timedelta(hours=1))
    # Her digest subscription (made from her settings, so tied to the account) goes with it; another stays.
    from dailypapers.store.schema import subscriptions
    from dailypapers.store.subscriptions import SqlSubscriptionStore as Subscriptions

    digests = Subscriptions(site.store.engine)
    for address in (alice.email, "someone.else@example.org"):
        digests.request(address, "daily")
    with site.store.engine.begin() as conn:
        conn.execute(
            subscriptions.update().where(subscriptions.c.email == alice.email).values(user_id=alice.id)
        )
    token = sign_in(site.client, "alice")
    refused = site.client.post("/settings/delete", data={"csrf_token": token, "password": "wrong password"})
    assert refused.status_code == 400 and site.accounts.get(alice.id)
    done = site.client.post("/settings/delete", data={"csrf_token": token, "password": PASSWORD})
    assert done.status_code == 200 and "deleted" in done.text
    assert site.accounts.get(alice.id) is None
    assert site.store.get("2608.00003").upvotes == 5
    assert site.store.get("2608.00003").num_comments == 0
    with site.store.engine.connect() as conn:
        assert conn.execute(select(sessions).where(sessions.c.user_id == alice.id)).first() is None
        for table in (api_tokens, account_tokens, upvotes):
            assert conn.execute(select(table).where(table.c.user_id == alice.id)).first() is None, table
        assert conn.execute(select(feed_entries.c.submitted_by_id)).scalar_one() is None
        assert conn.execute(select(subscriptions.c.email)).scalars().all() == ["someone.else@example.org"]
    assert site.accounts.token_account(raw) is None
    assert site.client.get("/settings", follow_redirects=False).status_code == 303


def test_api_tokens_are_shown_once_stored_hashed_revocable_and_only_for_the_api(site):
    alice = make_account(site.store, "alice")
    token = sign_in(site.client, "alice")
    created = site.client.post("/settings/tokens", data={"csrf_token": token, "name": "my <script> bot"})
    assert created.status_code == 200 and created.headers["cache-control"] == "no-store"
    assert "my &lt;script&gt; bot" in created.text and "<script> bot" not in created.text
    raw = re.search(r'<code class="secret">(dp_[^<]+)</code>', created.text).group(1)
    listing = site.client.get("/settings/tokens")
    assert raw not in listing.text and raw[:10] in listing.text
    with site.store.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM api_tokens").scalar_one()
    assert raw not in stored
    [info] = site.client.get("/settings/tokens.json").json()["tokens"]
    bearer = site.browser()
    headers = {"Authorization": f"Bearer {raw}"}
    assert bearer.get("/api/whoami-v2", headers=headers).json()["name"] == "alice"
    # Not a key to the account: pages ignore it.
    assert bearer.get("/settings", headers=headers, follow_redirects=False).status_code == 303
    assert bearer.get("/settings.json", headers=headers, follow_redirects=False).status_code == 401
    revoked = site.client.post(
        f"/settings/tokens/{info['id']}/revoke", data={"csrf_token": token}, follow_redirects=False
    )
    assert revoked.status_code == 303
    assert bearer.get("/api/whoami-v2", headers=headers).status_code == 401
    assert site.accounts.api_tokens(alice.id) == []


def test_one_account_cannot_touch_anothers_tokens_or_settings(site):
    alice = make_account(site.store, "alice")
    make_account(site.store, "bob")
    alice_token = api_token(site.store, alice)
    [alice_info] = site.accounts.api_tokens(alice.id)
    bob = site.browser()
    token = sign_in(bob, "bob")
    assert bob.get("/settings/tokens.json").json() == {"tokens": []}
    assert bob.post(f"/settings/tokens/{alice_info.id}/revoke", data={"csrf_token": token}).status_code == 404
    assert site.accounts.api_tokens(alice.id) == [alice_info]
    assert bob.get("/settings.json").json()["username"] == "bob"
    # Alice's token in Bob's browser does not make Bob's settings Alice's, nor the other way round.
    assert (
        bob.get("/settings.json", headers={"Authorization": f"Bearer {alice_token}"}).json()["username"]
        == "bob"
    )
    # Deleting "an account" always means the signed-in one.
    bob.post("/settings/delete", data={"csrf_token": token, "password": PASSWORD, "user_id": str(alice.id)})
    assert site.accounts.get(alice.id) is not None and site.accounts.by_username("bob") is None


def test_profile_page_and_its_json_twin(site):
    from datetime import UTC, date, datetime

    alice = make_account(site.store, "alice")
    site.store.upsert(
        [
            PaperRecord(
                arxiv_id="2608.00004",
                title="Submitted <b>one</b>",
                abstract="A",
                authors=["X"],
                daily_date=date(2026, 8, 21),
            ),
            PaperRecord(
                arxiv_id="2608.00005",
                title="Upvoted one",
                abstract="B",
                authors=["Y"],
                daily_date=date(2026, 8, 21),
            ),
        ]
    )
    submitted, upvoted = site.store.get("2608.00004"), site.store.get("2608.00005")
    with site.store.engine.begin() as conn:
        conn.execute(
            feed_entries.update()
            .where(feed_entries.c.paper_id == submitted.id)
            .values(submitted_by_id=alice.id)
        )
        conn.execute(
            upvotes.insert().values(user_id=alice.id, paper_id=upvoted.id, created_at=datetime.now(UTC))
        )
    body = site.client.get("/u/alice.json").json()
    assert [p["paper"]["id"] for p in body["submitted"]] == ["2608.00004"]
    assert [p["paper"]["id"] for p in body["upvoted"]] == ["2608.00005"]
    assert body["username"] == "alice" and "email" not in body
    page = site.client.get("/u/alice")
    assert page.status_code == 200 and "Submitted &lt;b&gt;one&lt;/b&gt;" in page.text
    assert "alice@example.org" not in page.text
    assert site.client.get("/u/nobody").status_code == 404
    assert site.client.get("/u/nobody.json").json() == {"error": "No user is called nobody"}


def test_header_shows_sign_in_links_or_the_account_and_a_signout_form(site):
    anonymous = site.client.get("/signup").text
    assert 'href="/signin"' in anonymous and 'action="/signout"' not in anonymous
    make_account(site.store, "alice")
    token = sign_in(site.client, "alice")
    page = site.client.get("/settings").text
    assert 'href="/u/alice"' in page and 'action="/signout"' in page and token in page


def test_whoami_is_huggingface_shaped_for_the_hub_client(site):
    alice = make_account(site.store, "alice")
    raw = api_token(site.store, alice)
    anonymous = site.browser().get("/api/whoami-v2")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    body = site.browser().get("/api/whoami-v2", headers={"Authorization": f"Bearer {raw}"}).json()
    assert body["type"] == "user" and body["name"] == "alice" and body["auth"]["type"] == "access_token"
    # An unknown token (say, a real Hugging Face one) reads like no token at all.
    assert (
        site.browser().get("/api/daily_papers", headers={"Authorization": "Bearer hf_xxx"}).status_code == 200
    )


def test_signin_next_is_kept_local(site):
    make_account(site.store, "alice")
    assert (
        site.client.get("/settings/tokens", follow_redirects=False).headers["location"]
        == "/signin?next=/settings/tokens"
    )
    for target, expected in (
        ("/settings/tokens", "/settings/tokens"),
        ("//evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ):
        browser = site.browser()
        token = csrf_of(browser)
        response = browser.post(
            "/signin",
            data={"csrf_token": token, "login": "alice", "password": PASSWORD, "next": target},
            follow_redirects=False,
        )
        assert response.status_code == 303 and response.headers["location"] == expected, target


def test_the_dependencies_other_routes_build_on(settings, store):
    # (The aliases are imported at the top of this module: FastAPI reads the annotations from its globals.)
    app = create_app(settings, store=store)

    @app.get("/api/test/moderate")
    def moderate(account: ModeratorAccount):
        return {"moderator": account.username}

    @app.get("/test/page")
    def page(account: RequiredAccount):
        return {"user": account.username}

    @app.get("/api/test/who")
    def who(account: AccountDep):
        return {"user": account.username if account else None}

    alice = make_account(store, "alice")
    moderator = make_account(store, "mod", role="moderator")
    with TestClient(app) as client:
        anonymous = client.get("/api/test/moderate")
        assert anonymous.status_code == 401 and anonymous.json() == {
            "error": "Sign in, or send a personal API token"
        }
        redirect = client.get("/test/page?x=1", follow_redirects=False)
        assert (
            redirect.status_code == 303 and redirect.headers["location"] == "/signin?next=/test/page%3Fx%3D1"
        )
        assert client.get("/api/test/who").json() == {"user": None}
        user = {"Authorization": f"Bearer {api_token(store, alice)}"}
        assert client.get("/api/test/moderate", headers=user).status_code == 403
        assert client.get("/api/test/who", headers=user).json() == {"user": "alice"}
        assert (
            client.get("/test/page", headers=user, follow_redirects=False).status_code == 303
        )  # not on pages
        mod = {"Authorization": f"Bearer {api_token(store, moderator)}"}
        assert client.get("/api/test/moderate", headers=mod).json() == {"moderator": "mod"}
        sign_in(client, "mod")
        assert client.get("/test/page").json() == {"user": "mod"}


def test_api_tokens_expire_after_the_lifetime_chosen(site):
    from datetime import UTC, datetime

    alice = make_account(site.store, "alice")
    token = sign_in(site.client, "alice")
    page = site.client.get("/settings/tokens")
    assert '<option value="90" selected>' in page.text
    for days in ("0", "1000", "x", ""):
        refused = site.client.post("/settings/tokens", data={"csrf_token": token, "name": "n", "days": days})
        assert refused.status_code == 400, days
    created = site.client.post("/settings/tokens", data={"csrf_token": token, "name": "n", "days": "7"})
    assert created.status_code == 200
    raw = re.search(r'<code class="secret">(dp_[^<]+)</code>', created.text).group(1)
    [info] = site.client.get("/settings/tokens.json").json()["tokens"]
    left = datetime.fromisoformat(info["expiresAt"]) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < left <= timedelta(days=7) and info["expired"] is False
    headers = {"Authorization": f"Bearer {raw}"}
    api = site.browser()
    assert api.get("/api/whoami-v2", headers=headers).status_code == 200
    with site.store.engine.begin() as conn:
        conn.execute(api_tokens.update().values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert api.get("/api/whoami-v2", headers=headers).status_code == 401
    assert site.accounts.token_account(raw) is None
    assert site.client.get("/settings/tokens.json").json()["tokens"][0]["expired"] is True
    assert "expired" in main_text(site.client.get("/settings/tokens").text)
    # The default, for code that makes tokens without saying (the CLI says --days, 90 unless told).
    _raw, made = site.accounts.create_api_token(alice.id, "default")
    assert timedelta(days=89) < made.expires_at - made.created_at <= timedelta(days=90)


def test_a_reset_that_first_confirms_the_address_revokes_tokens_made_before(site):
    # Someone signs up with another person's address (never confirmed) and makes a token, then waits for the
    # address's owner to take the account over with "Forgot your password?": the token must not survive.
    squatter = make_account(site.store, "squatter", email="victim@example.org", verified=False)
    planted = api_token(site.store, squatter)
    owner = make_account(site.store, "owner", email="owner@example.org")
    kept = api_token(site.store, owner)
    for address in ("victim@example.org", "owner@example.org"):
        client = site.browser()
        token = csrf_of(client, "/forgot-password")
        asked = client.post("/forgot-password", data={"csrf_token": token, "email": address})
        assert asked.status_code == 200
        [link] = site.links_to(address)
        form = client.get(link)
        new = {"csrf_token": csrf_from(form.text), "password": "a brand new password"}
        done = client.post(link, data=new)
        assert done.status_code == 200 and "Password changed" in done.text
    assert site.accounts.get(squatter.id).email_verified
    assert site.accounts.token_account(planted) is None and site.accounts.api_tokens(squatter.id) == []
    # An address confirmed already: its owner made the tokens, and a reset leaves them.
    assert site.accounts.token_account(kept).id == owner.id


def test_signin_rehashes_a_password_stored_with_weaker_argon2id_parameters(site, real_argon2):
    from argon2 import PasswordHasher

    from dailypapers.accounts.credentials import hash_password, needs_rehash

    current = hash_password(PASSWORD)
    assert current.startswith("$argon2id$v=19$m=65536,t=3,p=4$")  # RFC 9106's low-memory choice
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    alice = site.accounts.create(email="alice@example.org", username="alice", password_hash=weak)
    assert needs_rehash(site.accounts.password_hash(alice.id))
    sign_in(site.client, "alice")
    stored = site.accounts.password_hash(alice.id)
    assert stored != weak and stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert not needs_rehash(stored)
    sign_in(site.browser(), "alice")  # the same password still signs in
