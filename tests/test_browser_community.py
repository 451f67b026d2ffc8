"""A reader's whole journey in headless Chromium (Debian's, driven by Playwright) against a real server:
sign up, confirm the address with the link from the mail a real SMTP server received, sign in, submit a paper
(its metadata fetched from a replay of arXiv's recorded answer), upvote it in place, comment, sign out.

Chromium is /usr/bin/chromium unless DAILYPAPERS_TEST_CHROMIUM names another binary.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta

import pytest

from browser_support import CHROMIUM_ARGS, chromium_browser  # noqa: F401
from community_support import RECORDED_ID, arxiv_replay, paper, today
from conftest import LiveServer, make_settings
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def _mail_link(sink, address: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for received in sink.to(address):
            body = received.message.get_body(("plain",)).get_content()
            links = re.findall(r"https?://\S+/verify-email/\S+", body)
            if links:
                return links[0]
        time.sleep(0.1)
    raise AssertionError(f"no confirmation mail reached {address}")


def test_sign_up_confirm_submit_upvote_comment_sign_out(chromium, sqlite_url, smtp_sink):
    store = SqlStore(make_engine(make_settings(sqlite_url)))
    store.upsert([paper("2611.00001", day=today(), votes=4)])
    store.engine.dispose()
    with arxiv_replay(datetime.now(UTC) - timedelta(days=2)) as arxiv:
        local_arxiv = {"arxiv_api_url": arxiv.url, "arxiv_oai_url": arxiv.url, "arxiv_rss_url": arxiv.url}
        settings = make_settings(sqlite_url, smtp_url=smtp_sink.url, arxiv_delay_seconds=0.0, **local_arxiv)
        with LiveServer(settings) as server:
            context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.set_default_timeout(30_000)
            dialogs: list[str] = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            # Sign up, and confirm the address through the mail.
            page.goto("/signup")
            page.fill("#email", "reader@example.org")
            page.fill("#username", "reader")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]:has-text('Sign up')")
            page.wait_for_selector("text=Check your mail")
            link = _mail_link(smtp_sink, "reader@example.org")
            assert link.startswith(server.url)
            page.goto(link)
            page.click("text=Confirm my address")
            page.wait_for_selector("text=Address confirmed")

            # Sign in.
            page.goto("/signin")
            page.fill("#login", "reader")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]:has-text('Sign in')")
            page.wait_for_selector("header >> text=Sign out")

            # Submit a paper that is not here yet: fetched from arXiv (the replay), put on today's page.
            page.click("header >> text=Submit")
            page.fill("#arxiv", f"https://arxiv.org/abs/{RECORDED_ID}")
            page.fill("#comment", "Found this <b>today</b>.")
            page.click("button[type=submit]:has-text('Submit')")
            page.wait_for_url(re.compile(rf"/papers/{re.escape(RECORDED_ID)}"))
            assert len(arxiv.arrivals) == 1
            assert page.inner_text(".submission-note").count("Found this <b>today</b>.") == 1
            page.goto(f"/papers/date/{today().isoformat()}")
            card = page.locator(f"article.card[data-arxiv-id='{RECORDED_ID}']")
            assert "submitted by reader" in card.inner_text()

            # Upvote it in place (static/upvote.js): the count moves, the page stays.
            url_before = page.url
            button = card.locator("form.upvote button")
            assert button.get_attribute("aria-pressed") == "false"
            assert card.locator(".count").inner_text() == "0"
            button.click()
            sync_api.expect(button).to_have_attribute("aria-pressed", "true")
            sync_api.expect(card.locator(".count")).to_have_text("1")
            assert page.url == url_before
            button.dblclick()  # a double click: both requests say "remove", one upvote comes off
            sync_api.expect(button).to_have_attribute("aria-pressed", "false")
            sync_api.expect(card.locator(".count")).to_have_text("0")
            button.click()
            sync_api.expect(card.locator(".count")).to_have_text("1")
            page.reload()
            card = page.locator(f"article.card[data-arxiv-id='{RECORDED_ID}']")
            assert card.locator("form.upvote button").get_attribute("aria-pressed") == "true"
            assert card.locator(".count").inner_text() == "1"

            # Comment, with Markdown and with things that must not run.
            page.goto(f"/papers/{RECORDED_ID}")
            assert "reader" in page.inner_text(".upvoters")
            page.fill(
                "#new-comment", 'Nice **work**. <script>alert("x")</script> [click](javascript:alert(1))'
            )
            page.click("button[type=submit]:has-text('Comment')")
            page.wait_for_selector(".comment-body strong:has-text('work')")
            body = page.inner_html(".comment-body")
            assert "<script" not in body and "javascript:" not in re.sub(r">[^<]*<", "><", body)
            assert page.inner_text("#comments-heading") == "Discussion (1)"

            # Sign out: the header offers to sign in again, and the forms are gone.
            page.click("header >> text=Sign out")
            page.wait_for_selector("header >> text=Sign in")
            page.goto(f"/papers/{RECORDED_ID}")
            assert page.locator("form.upvote").count() == 0
            assert page.locator("text=to join the discussion").count() == 1

            assert dialogs == [] and errors == []
            context.close()
