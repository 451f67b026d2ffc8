"""An account's life in headless Chromium with JavaScript off: the forms work on their own, the cookies do
what they should, and the mails' links are followed as a person would."""

from __future__ import annotations

import re
import time

import pytest

from browser_support import CHROMIUM_ARGS, chromium_browser  # noqa: F401
from conftest import LiveServer, make_settings
from dailypapers.store.engine import upgrade

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


@pytest.fixture
def chromium():
    with chromium_browser() as browser:
        yield browser


def _link(sink, address: str, prefix: str) -> str:
    """The link in the newest mail to `address`; the mail goes out after the page answers, so wait for it."""
    deadline = time.monotonic() + 20
    while True:
        for received in reversed(sink.to(address)):
            body = received.message.get_body(("plain",)).get_content()
            for link in re.findall(r"https?://\S+", body):
                if prefix in link:
                    return link
        if time.monotonic() > deadline:
            raise AssertionError(f"no {prefix} link mailed to {address}")
        time.sleep(0.05)


def test_sign_up_confirm_sign_in_token_and_sign_out_without_javascript(tmp_path, smtp_sink, chromium):
    settings = make_settings(f"sqlite:///{tmp_path / 'site.db'}", smtp_url=smtp_sink.url)
    upgrade(settings)
    with LiveServer(settings) as server:
        context = chromium.new_context(base_url=server.url, java_script_enabled=False)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/")
        page.get_by_role("link", name="Sign up").click()
        page.fill("#email", "carol@example.org")
        page.fill("#username", "carol")
        page.fill("#password", "a long enough password")
        page.get_by_role("button", name="Sign up").click()
        assert "Check your mail" in page.content()

        page.goto(_link(smtp_sink, "carol@example.org", "/verify-email/"))
        page.get_by_role("button", name="Confirm my address").click()
        assert "Address confirmed" in page.content()

        page.goto("/settings")
        assert page.url.endswith("/signin?next=/settings")
        page.fill("#login", "carol")
        page.fill("#password", "a long enough password")
        page.get_by_role("button", name="Sign in").click()
        assert page.url.endswith("/settings") and "(confirmed)" in page.content()
        cookie = next(c for c in context.cookies() if c["name"] == "dp_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

        page.get_by_role("link", name="Personal API tokens").click()
        page.fill("#token-name", "script")
        page.get_by_role("button", name="Create a token").click()
        token = page.locator("code.secret").inner_text()
        assert token.startswith("dp_")
        whoami = context.request.get("/api/whoami-v2", headers={"Authorization": f"Bearer {token}"})
        assert whoami.json()["name"] == "carol"

        page.get_by_role("button", name="Sign out").click()
        assert page.get_by_role("link", name="Sign in").is_visible()
        page.goto("/settings")
        assert "/signin" in page.url
        context.close()
