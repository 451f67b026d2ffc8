"""Collecting papers in headless Chromium (Debian's, driven by Playwright) against a live server over the
demo slice: sign in, add a paper to a new collection from its card (static/collect.js, in place), add another
from its paper page to the same collection, then see both on the collection's page (with their notes) and
the collection on the paper's page; reorder and remove on the collection page; the exports answer.
"""

from __future__ import annotations

import pytest

from accounts_support import PASSWORD, make_account
from browser_support import chromium_browser
from conftest import DEMO, LiveServer, make_settings
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from demo_facts import KNOWN_ID, LATEST_DAY, RICH_ID

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def test_collect_a_paper_and_see_it_on_the_collection_and_paper_pages(chromium, tmp_path, sqlite_templates):
    url = sqlite_templates.copy(DEMO, tmp_path)
    store = SqlStore(make_engine(make_settings(url)))
    make_account(store, "reader")
    store.engine.dispose()
    with LiveServer(make_settings(url)) as server:
        context = chromium.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda dialog: dialog.accept())

        page.goto("/signin")
        page.fill("#login", "reader")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_selector("header >> text=Sign out")

        # From a card of the day's feed: a new collection, with a note, without leaving the page.
        page.goto(f"/papers/date/{LATEST_DAY}")
        card = page.locator(f"article.card[data-arxiv-id='{KNOWN_ID}']")
        card.locator("details.collect summary").click()
        card.locator("select[name=collection]").select_option(label="New collection…")
        card.locator("input[name=new_title]").fill("Group reading")
        card.locator("textarea[name=note]").fill("Start with section 3")
        url_before = page.url
        card.locator("button:has-text('Add')").click()
        status = card.locator(".collect-status a")
        sync_api.expect(status).to_have_text("Added to Group reading")
        assert page.url == url_before

        # From a paper page: the collection is offered now.
        page.goto(f"/papers/{RICH_ID}")
        menu = page.locator("details.collect")
        menu.locator("summary").click()
        menu.locator("select[name=collection]").select_option(label="Group reading")
        menu.locator("textarea[name=note]").fill("Then this one")
        menu.locator("button:has-text('Add')").click()
        sync_api.expect(menu.locator(".collect-status a")).to_have_text("Added to Group reading")
        sync_api.expect(menu.locator("option:has-text('Group reading')")).to_be_disabled()

        # The collection's page: both papers in order with their notes (in the owner's note fields).
        menu.locator(".collect-status a").click()
        page.wait_for_selector("h1:has-text('Group reading')")
        items = page.locator("li.collection-item")
        assert items.count() == 2
        assert [items.nth(i).get_attribute("data-arxiv-id") for i in range(2)] == [KNOWN_ID, RICH_ID]
        assert items.nth(0).locator("textarea").input_value() == "Start with section 3"
        assert items.nth(1).locator("textarea").input_value() == "Then this one"
        collection_url = page.url

        # The paper page lists the collection.
        page.goto(f"/papers/{KNOWN_ID}")
        box = page.locator("section.in-collections")
        assert "Group reading" in box.inner_text() and "by reader" in box.inner_text()

        # Reorder and remove (plain forms), upvote the collection.
        page.goto(collection_url)
        page.locator("li.collection-item").nth(1).locator("button:has-text('Up')").click()
        page.wait_for_load_state()
        items = page.locator("li.collection-item")
        assert [items.nth(i).get_attribute("data-arxiv-id") for i in range(2)] == [RICH_ID, KNOWN_ID]
        items.nth(0).locator("button:has-text('Remove')").click()
        page.wait_for_load_state()
        assert page.locator("li.collection-item").count() == 1
        page.locator("form.upvote button").click()
        page.wait_for_load_state()
        assert page.locator("form.upvote .count").inner_text() == "1"

        # Anyone (another browser, signed out) sees it in the trending collections, and its exports.
        visitor = chromium.new_context(base_url=server.url).new_page()
        visitor.goto("/collections")
        assert "Group reading" in visitor.inner_text("section.collections")
        bib = visitor.request.get(collection_url + ".bib")
        assert bib.ok and f"eprint = {{{KNOWN_ID}}}" in bib.text()
        visitor.goto(f"/papers/{KNOWN_ID}")
        assert "Group reading" in visitor.inner_text("section.in-collections")
        assert visitor.locator("details.collect").count() == 0  # nothing to collect with, signed out

        assert errors == []
        context.close()
