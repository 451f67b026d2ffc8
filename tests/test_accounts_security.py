"""The security rules of accounts, each tried for real on SQLite and PostgreSQL: CSRF on every state-changing
route, nothing changes on GET, rate limits answer 429, bad input is a 4xx and never a 500."""

from __future__ import annotations

import threading

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select

from accounts_support import PASSWORD, csrf_of, make_account, sign_in
from conftest import make_settings
from dailypapers.store.accounts import AccountStore
from dailypapers.store.engine import make_engine
from dailypapers.store.schema import metadata, rate_limits
from dailypapers.web.app import create_app
from dailypapers.web.auth import csrf_protect
from dailypapers.web.ratelimit import hit

# State-changing routes that must work without a CSRF token, and why.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: the mail client POSTs with no cookie and no page; the link's own
    # secret token is the authorization.
    "/unsubscribe/{token}",
}
PATH_VALUES = {"token": "x" * 43, "token_id": "1", "comment_id": "1", "arxiv_id": "2608.00001"}


def _routes(routes):
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # FastAPI's wrapper of an included router
            yield from _routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _routes(route.routes)


def _fill(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(f"{{{name}:path}}", value).replace(f"{{{name}}}", value)
    return path


def snapshot(engine) -> dict:
    """Every row of every table but the rate limit counters."""
    with engine.connect() as conn:
        return {
            table.name: sorted(map(repr, conn.execute(select(table)).all()))
            for table in metadata.sorted_tables
            if table is not rate_limits
        }


@pytest.fixture
def app(settings, store):
    return create_app(settings, store=store)


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def test_every_state_changing_route_refuses_a_missing_or_wrong_csrf_token(app, client, store):
    alice = make_account(store, "alice", role="admin")
    AccountStore(store).issue_token(
        alice.id, "verify", alice.email, __import__("datetime").timedelta(hours=1)
    )
    sign_in(client, "alice")
    before = snapshot(store.engine)
    checked = []
    for route in _routes(app.routes):
        for method in sorted(route.methods - {"GET", "HEAD", "OPTIONS"}):
            if route.path in CSRF_EXEMPT:
                continue
            path = _fill(route.path)
            for attempt in (
                {},
                {"data": {"csrf_token": "wrong"}},
                {"data": {"x": "1"}, "headers": {"X-CSRF-Token": "wrong"}},
                {"content": b"csrf_token=", "headers": {"content-type": "text/plain"}},
            ):
                response = client.request(method, path, follow_redirects=False, **attempt)
                status = (method, route.path, attempt, response.status_code)
                if csrf_protect in [d.call for d in route.dependant.dependencies]:
                    assert response.status_code == 403, status
                else:
                    # Routes that check CSRF their own way (or a link's token, or take JSON only) may
                    # answer otherwise, but never with a change: the snapshot below says so.
                    assert response.status_code < 500, status
            checked.append(route.path)
    assert {
        "/signup",
        "/signin",
        "/signout",
        "/forgot-password",
        "/reset-password/{token}",
        "/verify-email/{token}",
        "/settings/password",
        "/settings/verify-email",
        "/settings/delete",
        "/settings/tokens",
        "/settings/tokens/{token_id}/revoke",
    } <= set(checked)
    assert snapshot(store.engine) == before
    assert client.get("/settings").status_code == 200  # still signed in: signing out needed the token too


def test_anonymous_forms_need_the_token_of_their_own_signed_cookie(app, client, store):
    make_account(store, "alice")
    token = csrf_of(client)
    other = TestClient(app)
    other.portal = client.portal
    stolen = other.post("/signin", data={"csrf_token": token, "login": "alice", "password": PASSWORD})
    assert stolen.status_code == 403  # a token from another browser's cookie is no good
    client.cookies.set("dp_csrf", token, domain="testserver.local")  # an unsigned cookie of one's choosing
    forged = client.post("/signin", data={"csrf_token": token, "login": "alice", "password": PASSWORD})
    assert forged.status_code == 403


def test_bearer_requests_without_cookies_skip_csrf_but_still_need_a_good_token(app, store):
    alice = make_account(store, "alice")
    raw, _ = AccountStore(store).create_api_token(alice.id, "t")
    with TestClient(app) as api:
        assert api.get("/api/whoami-v2", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
        bad = api.get("/api/whoami-v2", headers={"Authorization": "Bearer dp_not-a-token"})
        assert bad.status_code == 401


def test_get_never_changes_anything(app, client, store):
    alice = make_account(store, "alice", verified=False)
    accounts = AccountStore(store)
    from datetime import timedelta

    verify = accounts.issue_token(alice.id, "verify", alice.email, timedelta(hours=1))
    reset = accounts.issue_token(alice.id, "reset", alice.email, timedelta(hours=1))
    sign_in(client, "alice")
    before = snapshot(store.engine)
    paths = [
        "/",
        "/signup",
        "/signin",
        "/forgot-password",
        "/settings",
        "/settings.json",
        "/settings/tokens",
        "/settings/tokens.json",
        f"/verify-email/{verify}",
        f"/reset-password/{reset}",
        "/u/alice",
        "/u/alice.json",
        "/signout",
        "/settings/delete",
        "/settings/password",
        "/settings/tokens/1/revoke",
    ]
    for path in paths:
        assert client.get(path, follow_redirects=False).status_code < 500, path
    assert client.get("/signout").status_code == 405
    assert snapshot(store.engine) == before
    assert client.get("/settings").status_code == 200


def _rate_app(settings, store, **limits):
    return create_app(settings.model_copy(update=limits), store=store)


def test_signin_is_limited_per_address_and_per_account_with_retry_after(settings, store):
    make_account(store, "alice")
    app = _rate_app(settings, store, rate_limit_signin="3/1h", rate_limit_signin_account="100/1h")
    with TestClient(app) as client:
        token = csrf_of(client)
        for _ in range(3):
            wrong = client.post(
                "/signin", data={"csrf_token": token, "login": "alice", "password": "wrong one!"}
            )
            assert wrong.status_code == 400
        limited = client.post("/signin", data={"csrf_token": token, "login": "alice", "password": PASSWORD})
        assert limited.status_code == 429 and 0 < int(limited.headers["retry-after"]) <= 3600
        assert client.cookies.get("dp_session") is None
    # Per name typed, in any case: from many addresses, still limited.
    make_account(store, "bob")
    app = _rate_app(settings, store, rate_limit_signin="100/1h", rate_limit_signin_account="2/1h")
    statuses = []
    for n, login in enumerate(["BOB", "bob", "Bob", "bob@example.org", "nobody@example.org"]):
        with TestClient(app, client=(f"10.0.0.{n}", 5000)) as client:
            data = {"csrf_token": csrf_of(client), "login": login, "password": "wrong one!"}
            statuses.append(client.post("/signin", data=data).status_code)
    # Bob's name is spent; his address then answers as an unregistered one does: a 429 there would tell
    # whoever knows the name "bob" which address is his.
    assert statuses == [400, 400, 429, 400, 400]


def test_strangers_failing_at_a_name_cannot_lock_its_owner_out(settings, store):
    make_account(store, "carol")
    app = _rate_app(settings, store, rate_limit_signin="100/1h", rate_limit_signin_account="3/1h")
    with TestClient(app, client=("10.0.1.1", 5000)) as owner:  # the owner signed in here before
        data = {"csrf_token": csrf_of(owner), "login": "carol", "password": PASSWORD}
        assert owner.post("/signin", data=data, follow_redirects=False).status_code == 303
        assert owner.cookies.get("dp_known")
        owner.post("/signout", data={"csrf_token": csrf_of(owner)})
        for n in range(5):  # someone else, from many addresses, fails at her name (her first sign-in, from
            # a browser not known yet, counted as one of the name's three attempts)
            with TestClient(app, client=(f"198.51.100.{n}", 5000)) as stranger:
                data = {"csrf_token": csrf_of(stranger), "login": "carol", "password": "a wrong guess"}
                assert stranger.post("/signin", data=data).status_code == (400 if n < 2 else 429)
        # Her own browser still signs in: it is limited on its own, and it has failed nothing.
        data = {"csrf_token": csrf_of(owner), "login": "carol", "password": PASSWORD}
        assert owner.post("/signin", data=data, follow_redirects=False).status_code == 303
        # ...and its own tries are limited too, per browser (the sign-in above was one of its three).
        owner.post("/signout", data={"csrf_token": csrf_of(owner)})
        wrong = {"csrf_token": csrf_of(owner), "login": "carol", "password": "typo typo"}
        assert [owner.post("/signin", data=wrong).status_code for _ in range(3)] == [400, 400, 429]
    # A known-browser cookie for another account, or a forged one, counts for nothing.
    make_account(store, "dave")
    with TestClient(app, client=("10.0.1.2", 5000)) as other:
        data = {"csrf_token": csrf_of(other), "login": "dave", "password": PASSWORD}
        assert other.post("/signin", data=data, follow_redirects=False).status_code == 303
        other.post("/signout", data={"csrf_token": csrf_of(other)})
        data = {"csrf_token": csrf_of(other), "login": "carol", "password": PASSWORD}
        assert other.post("/signin", data=data).status_code == 429  # carol's name is spent for strangers
        other.cookies.set("dp_known", "forged.value.here", path="/signin")
        assert other.post("/signin", data=data).status_code == 429


def test_signup_and_reset_are_limited_and_limits_can_be_switched_off(settings, store):
    app = _rate_app(settings, store, rate_limit_signup="2/1h", rate_limit_mail="1/1h")
    with TestClient(app) as client:
        token = csrf_of(client, "/signup")
        codes = [
            client.post(
                "/signup",
                data={
                    "csrf_token": token,
                    "email": f"u{n}@example.org",
                    "username": f"user{n}",
                    "password": PASSWORD,
                },
            ).status_code
            for n in range(3)
        ]
        assert codes == [200, 200, 429]
        # One mail per address per window: a known and an unknown address are limited alike.
        for address in ("u0@example.org", "nobody@example.org"):
            first = client.post("/forgot-password", data={"csrf_token": token, "email": address})
            second = client.post("/forgot-password", data={"csrf_token": token, "email": address})
            expected_first = 429 if address == "u0@example.org" else 200  # u0 got its sign-up mail already
            assert (first.status_code, second.status_code) == (expected_first, 429), address
    app = _rate_app(settings, store, rate_limit_signup="1/1h", rate_limit_enabled=False)
    with TestClient(app) as client:
        token = csrf_of(client, "/signup")
        for n in range(3, 6):
            data = {
                "csrf_token": token,
                "email": f"u{n}@example.org",
                "username": f"user{n}",
                "password": PASSWORD,
            }
            assert client.post("/signup", data=data).status_code == 200


def test_rate_counters_are_shared_by_processes_and_atomic(settings):
    engines = [make_engine(settings) for _ in range(2)]  # as two web processes would have
    try:
        seen: list[int] = []
        lock = threading.Lock()

        def hammer(engine) -> None:
            for _ in range(10):
                count, _retry = hit(engine, "test", "key", 3600, now=7200.5)
                with lock:
                    seen.append(count)

        threads = [threading.Thread(target=hammer, args=(engines[n % 2],)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seen) == list(range(1, 61))  # every hit counted once, no two saw the same count
        assert hit(engines[0], "test", "key", 3600, now=10_800.0) == (1, 3600)  # a new window starts over
        assert hit(engines[1], "test", "other", 60, now=10_830.0) == (1, 30)
    finally:
        for engine in engines:
            engine.dispose()


HOSTILE = [
    "",
    " ",
    "x" * 5000,
    "ålice",
    "👩‍🔬",
    "<script>alert(1)</script>",
    "\x00",
    "a\r\nBcc: victim@example.org",
    "\u202egnp.exe",
    "'; DROP TABLE users; --",
    "a@b@example.org",
    "@example.org",
    "alice@",
    "alice@exa mple.org",
    "alice@" + "a" * 300 + ".org",
    "alice@-bad-.org",
]


@pytest.fixture
def unlimited(settings, store):
    """A client of the app with rate limits off: these tests are about what the input does."""
    with TestClient(
        create_app(settings.model_copy(update={"rate_limit_enabled": False}), store=store)
    ) as client:
        yield client


def test_hostile_form_input_gets_a_4xx_never_a_500(unlimited, store):
    client = unlimited
    make_account(store, "alice")
    token = csrf_of(client, "/signup")
    routes = {
        "/signup": ("email", "username", "password"),
        "/signin": ("login", "password", "next"),
        "/forgot-password": ("email",),
        "/reset-password/" + "y" * 43: ("password",),
        "/verify-email/" + "y" * 43: (),
    }
    for path, fields in routes.items():
        for value in HOSTILE:
            data = {"csrf_token": token, **dict.fromkeys(fields, value)}
            response = client.post(path, data=data, follow_redirects=False)
            assert 400 <= response.status_code < 500 or response.status_code in (200, 303), (path, value)
            assert response.status_code != 500
            assert "<script>alert(1)</script>" not in response.text
    # Good e-mail, hostile username and password: refused with the reason, the input escaped.
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "new@example.org",
            "username": "<script>alert(1)</script>",
            "password": "short",
        },
    )
    assert response.status_code == 400
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text and "at least 8 characters" in response.text
    )
    assert AccountStore(store).by_email("new@example.org") is None


def test_malformed_bodies_and_paths_get_a_4xx(unlimited, store):
    client = unlimited
    make_account(store, "alice")
    token = sign_in(client, "alice")
    form = {"content-type": "application/x-www-form-urlencoded"}
    assert (
        client.post(
            "/signin",
            content=b"csrf_token=" + token.encode() + b"&login=%ff%fe&password=\xff\xfe",
            headers=form,
        ).status_code
        < 500
    )
    multipart = {"content-type": "multipart/form-data; boundary=zzz"}
    assert client.post("/settings/tokens", content=b"--zzz\r\ngarbage", headers=multipart).status_code in (
        400,
        403,
    )
    assert client.post("/settings/tokens", json={"csrf_token": token}).status_code == 403
    assert (
        client.post("/settings/tokens", data={"csrf_token": token, "name": "n" * 100_000}).status_code == 413
    )
    for path in (
        "/settings/tokens/99999999999999/revoke",
        "/settings/tokens/abc/revoke",
        "/settings/tokens/-1/revoke",
    ):
        assert client.post(path, data={"csrf_token": token}).status_code == 400, path
    assert client.post("/settings/tokens/12345/revoke", data={"csrf_token": token}).status_code == 404
    for path in ("/u/" + "a" * 300, "/u/%00", "/u/..%2f..%2fetc", "/u/<script>"):
        response = client.get(path)
        assert response.status_code == 404 and "<script>" not in response.text, path
    twin = client.get("/u/<script>.json")
    assert twin.status_code == 404 and twin.headers["content-type"] == "application/json"
    for path in ("/verify-email/" + "z" * 500, "/reset-password/%00", "/reset-password/" + "é" * 40):
        assert client.get(path).status_code == 400, path
    assert client.get("/signin?next=" + "a" * 3000).status_code == 200
    assert client.post("/settings/password", data={"csrf_token": token}).status_code == 400


def test_cli_and_pages_agree_a_suspended_account_cannot_act(client, store):
    alice = make_account(store, "alice")
    token = sign_in(client, "alice")
    AccountStore(store).set_suspended(alice.id, True)
    response = client.post("/settings/tokens", data={"csrf_token": token, "name": "x"})
    assert response.status_code == 403
    assert AccountStore(store).api_tokens(alice.id) == []


def test_settings_reject_bad_rate_limits(tmp_path):
    with pytest.raises(ValueError, match="COUNT/PERIOD"):
        make_settings(f"sqlite:///{tmp_path / 'x.db'}", rate_limit_signin="ten a minute")
    assert make_settings(f"sqlite:///{tmp_path / 'x.db'}", rate_limit_signin="10/5m").rate("signin") == (
        10,
        300,
    )


def test_password_hashing_runs_a_bounded_number_at_once(monkeypatch):
    # Every hash takes 64 MiB: a burst of sign-ins from many addresses must queue, not run forty at once.
    import time
    from types import SimpleNamespace

    import anyio

    from dailypapers.web import accounts as pages

    monkeypatch.setattr(pages, "_hash_slots", lambda: 2)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace()))
    running = peak = 0
    lock = threading.Lock()

    def slow_hash(password: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return password[::-1]

    async def burst() -> list[str]:
        results: list[str] = []

        async def one(n: int) -> None:
            results.append(await pages._argon2(request, slow_hash, f"password {n}"))

        async with anyio.create_task_group() as group:
            for n in range(10):
                group.start_soon(one, n)
        return results

    results = anyio.run(burst)
    assert sorted(results) == sorted(f"password {n}"[::-1] for n in range(10))
    assert peak == 2
