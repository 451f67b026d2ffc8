"""For you in Chromium: from nothing to a feed with reasons in a minute (paste ids → rate a few → feed),
👍/👎 in place changing the feed at once, and two profiles that stay apart. The demo slice with its
shipped embeddings, on a live server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from browser_support import chromium_browser
from community_support import SESSION_COOKIE, account
from conftest import LiveServer, make_settings
from dailypapers.store.accounts import AccountStore
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from search_support import DEMO_INDEXED

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_paste_ids_rate_a_few_feed_with_reasons_and_two_profiles(tmp_path, sqlite_templates):
    url = sqlite_templates.copy(DEMO_INDEXED, tmp_path)
    settings = make_settings(url)
    store = SqlStore(make_engine(settings))
    views = store.feed(None, offset=0, limit=1500)
    vision = [v.arxiv_id for v in views if (v.categories or [""])[0] == "cs.CV"][:3]
    language = [v.arxiv_id for v in views if (v.categories or [""])[0] == "cs.CL"][:3]
    user = account(store, "reader")
    session = AccountStore(store).start_session(user.id, timedelta(days=1))
    store.engine.dispose()
    with chromium_browser() as chromium, LiveServer(settings) as server:
        context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        context.add_cookies([{"name": SESSION_COOKIE, "value": session, "url": server.url}])
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Nothing to go on yet.
        page.goto("/foryou")
        assert "Nothing to go on yet" in page.inner_text("main")

        # Paste three ids (one as a URL): liked, then "rate a few".
        page.click("text=Add papers you like")
        page.fill("#ids", f"{vision[0]}\nhttps://arxiv.org/abs/{vision[1]}v1, {vision[2]}")
        page.click("button[type=submit]:has-text('Add these papers')")
        page.wait_for_url(re.compile(r"/foryou/rate$"))
        cards = page.locator("article.card")
        assert cards.count() >= 5
        # 👍 on the first in place (static/feedback.js): pressed, same page.
        first = cards.nth(0)
        like = first.locator("button.fb-like")
        like.click()
        sync_api.expect(like).to_have_attribute("aria-pressed", "true")
        assert page.url.endswith("/foryou/rate")
        second = cards.nth(1)
        second_id = second.get_attribute("data-arxiv-id")
        second.locator("button.fb-dislike").click()
        sync_api.expect(second.locator("button.fb-dislike")).to_have_attribute("aria-pressed", "true")

        # The feed, with reasons on every card.
        page.click("text=See your For you page →")
        page.wait_for_url(re.compile(r"/foryou$"))
        feed = page.locator("article.card")
        assert feed.count() > 0
        assert second_id not in [feed.nth(i).get_attribute("data-arxiv-id") for i in range(feed.count())]
        top = feed.nth(0)
        top.locator("details.why summary").click()
        why = top.locator("details.why").inner_text()
        assert "like your 👍 on" in why

        # 👎 the top paper: gone from the feed at the next load.
        top_id = top.get_attribute("data-arxiv-id")
        top.locator("button.fb-dislike").click()
        sync_api.expect(top.locator("button.fb-dislike")).to_have_attribute("aria-pressed", "true")
        page.reload()
        ids = [page.locator("article.card").nth(i).get_attribute("data-arxiv-id") for i in range(3)]
        assert top_id not in ids

        # A second interest in a profile of its own.
        page.goto("/foryou/profiles")
        page.fill("#new-name", "language")
        page.click("button[type=submit]:has-text('Create profile')")
        page.wait_for_url(re.compile(r"/foryou/profiles$"))
        page.goto("/foryou/start?profile=language")
        page.fill("#ids", " ".join(language))
        page.select_option("#profile", "language")
        page.click("button[type=submit]:has-text('Add these papers')")
        page.wait_for_url(re.compile(r"/foryou/rate\?profile=language$"))
        page.goto("/foryou/month/2026-08?profile=language")
        language_feed = page.locator("article.card")
        language_ids = {
            language_feed.nth(i).get_attribute("data-arxiv-id") for i in range(min(5, language_feed.count()))
        }
        page.goto("/foryou/month/2026-08")
        vision_feed = page.locator("article.card")
        vision_ids = {
            vision_feed.nth(i).get_attribute("data-arxiv-id") for i in range(min(5, vision_feed.count()))
        }
        assert language_ids and vision_ids and not language_ids & vision_ids
        assert not errors, errors
