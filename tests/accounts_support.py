"""Helpers for tests that need accounts: make one directly in the database, sign a client in, read a form's
CSRF token. Real parts only: the same store and the same pages the site uses."""

from __future__ import annotations

import re

from dailypapers.accounts.credentials import hash_password
from dailypapers.accounts.model import Account
from dailypapers.store.accounts import AccountStore
from dailypapers.store.papers import SqlStore

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_account(
    store: SqlStore,
    username: str = "alice",
    *,
    email: str | None = None,
    role: str = "user",
    verified: bool = True,
    password: str = PASSWORD,
) -> Account:
    """A local account (verified by default) straight in the database."""
    return AccountStore(store).create(
        email=email or f"{username.lower()}@example.org",
        username=username,
        password_hash=hash_password(password),
        role=role,
        verified=verified,
    )


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf_of(client, path: str = "/signin") -> str:
    """The CSRF token this client's forms carry (sets the anonymous cookie when signed out)."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_from(response.text)


def sign_in(client, login: str, password: str = PASSWORD) -> str:
    """Sign the client in through the real form; returns the signed-in CSRF token for later posts."""
    response = client.post(
        "/signin",
        data={"csrf_token": csrf_of(client), "login": login, "password": password},
        follow_redirects=False,
    )
    assert response.status_code == 303, (response.status_code, response.text[:500])
    return csrf_of(client, "/settings")


def api_token(store: SqlStore, account: Account, name: str = "test") -> str:
    """A personal API token for `Authorization: Bearer ...`."""
    raw, _info = AccountStore(store).create_api_token(account.id, name)
    return raw
