"""Claiming, approving and following in headless Chromium against a real server: a reader claims her name on
a paper, a moderator approves it, she follows the author and the organization, and sees the result on the
paper, author, organization and Following pages.
"""

from __future__ import annotations

import pytest

from accounts_support import PASSWORD, make_account
from browser_support import chromium_browser
from community_support import paper, today
from conftest import LiveServer, make_settings
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

PAPER = "2611.00001"


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def _sign_in(browser, server, username: str):
    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto("/signin")
    page.fill("#login", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_selector("header >> text=Sign out")
    return page


def test_claim_approve_follow_and_see_it_everywhere(chromium, sqlite_url):
    store = SqlStore(make_engine(make_settings(sqlite_url)))
    store.upsert(
        [
            paper(
                PAPER, day=today(), votes=3, authors=["Ada Lovelace", "José García"], organization="NVIDIA"
            ),
            paper("2611.00002", day=today(), votes=1, authors=["Ada Lovelace"], organization="NVIDIA"),
        ]
    )
    make_account(store, "alice")
    make_account(store, "mod", role="moderator")
    store.engine.dispose()
    with LiveServer(make_settings(sqlite_url)) as server:
        alice = _sign_in(chromium, server, "alice")
        errors: list[str] = []
        alice.on("pageerror", lambda exc: errors.append(str(exc)))

        # From the card on the day's page, through the author's name, to the paper.
        alice.goto("/")
        alice.click(f"article.card[data-arxiv-id='{PAPER}'] >> text=José García")
        alice.wait_for_selector("h1:has-text('José García')")
        alice.goto(f"/papers/{PAPER}")
        alice.fill("#new-comment", "I wrote the second section.")
        alice.click("button[type=submit]:has-text('Comment')")
        alice.wait_for_selector(".comment-body:has-text('second section')")
        assert alice.locator(".author-tag").count() == 0

        # Claim her name among the paper's authors: it waits for a moderator.
        alice.select_option("#claim-name", label="Ada Lovelace")
        alice.click("button[type=submit]:has-text('Claim')")
        alice.wait_for_selector("text=Your claim is waiting for a moderator")

        # Follow the author and the organization from their pages.
        alice.click("#authors >> text=Ada Lovelace")
        alice.wait_for_selector("h1:has-text('Ada Lovelace')")
        alice.click("button:has-text('Follow')")
        alice.wait_for_selector("button:has-text('Following ✓')")
        alice.goto(f"/papers/{PAPER}")
        alice.click(".facts >> text=NVIDIA")
        alice.wait_for_selector("h1:has-text('NVIDIA')")
        alice.click("button:has-text('Follow')")
        alice.wait_for_selector("button:has-text('Following ✓')")

        # The moderator approves.
        mod = _sign_in(chromium, server, "mod")
        mod.goto("/moderation")
        mod.click("text=Claims of authorship")
        row = mod.locator("tr:has-text('Ada Lovelace')")
        assert "alice" in row.inner_text()
        row.locator("button:has-text('Approve')").click()
        mod.wait_for_selector("text=No claim is waiting")

        # The paper page: her account beside the name, "Paper author" on her comment.
        alice.goto(f"/papers/{PAPER}")
        assert "✓ alice" in alice.inner_text("#authors")
        assert alice.inner_text(".comment .author-tag") == "Paper author"
        # The author page: the confirmed account; the organization page: its papers; Following: both papers.
        alice.goto("/authors/Ada%20Lovelace")
        assert "Confirmed account: alice" in alice.inner_text(".author-head")
        assert alice.locator(f"li[data-arxiv-id='{PAPER}'] .claimed").inner_text() == "✓ alice"
        alice.goto("/orgs/nvidia")
        assert alice.locator(".paper-lines li").count() >= 2
        alice.click("header >> text=Following")
        alice.wait_for_selector("h1:has-text('Following')")
        cards = alice.locator("article.card")
        assert cards.count() == 2
        assert "✓ alice" in alice.locator(f"article.card[data-arxiv-id='{PAPER}']").inner_text()
        assert "Because you follow" in alice.inner_text("main")
        assert errors == []
