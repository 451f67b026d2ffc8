"""The HTML digest in headless Chromium, light and dark: it renders, keeps its links, and follows the reader's
color scheme. With DAILYPAPERS_SCREENSHOTS=1 it refreshes docs/screenshots/digest-light.png and -dark.png."""

from __future__ import annotations

import os

import pytest

from conftest import DEMO, ROOT, make_settings
from dailypapers.digests import compose, delivery
from dailypapers.store.subscriptions import Preferences
from digest_support import DAY
from test_browser import CHROMIUM_ARGS, browser  # noqa: F401  (the module-scoped Chromium fixture)

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.browser


@pytest.fixture
def digest_html(sqlite_templates, tmp_path):
    from dailypapers.store.engine import make_engine
    from dailypapers.store.papers import SqlStore

    url = sqlite_templates.copy(DEMO, tmp_path)
    settings = make_settings(url, base_url="https://papers.example.org", index_dir=tmp_path / "none")
    store = SqlStore(make_engine(settings))
    composer = delivery.make_composer(settings, store.engine, compose.period_for("daily", DAY), None)
    prefs = Preferences("daily", 4, ["cs.CL", "cs.CV"], [{"q": "reinforcement learning", "mode": "keyword"}])
    _picks, body, _links = composer.body(prefs, set(), "k" * 32)
    store.engine.dispose()
    path = tmp_path / "digest.html"
    path.write_text(body.html, encoding="utf-8")
    return path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_digest_renders_in_both_color_schemes(browser, digest_html, scheme):  # noqa: F811
    context = browser.new_context(viewport={"width": 720, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    page.goto(digest_html.as_uri())
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    title_colour = page.evaluate("getComputedStyle(document.querySelector('a.title')).color")
    assert (background == "rgb(11, 15, 25)") == (scheme == "dark"), background
    assert title_colour != background
    assert page.locator("a.title").count() >= 6
    assert page.get_by_text("For your topics").count() == 1
    assert page.get_by_role("link", name="Unsubscribe").count() == 1
    hrefs = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
    assert all(h.startswith("https://papers.example.org/") for h in hrefs)
    # Nothing is loaded from anywhere: no images, no remote styles or fonts.
    assert page.evaluate("performance.getEntriesByType('resource').length") == 0
    target = (
        ROOT / "docs" / "screenshots" if os.environ.get("DAILYPAPERS_SCREENSHOTS") else digest_html.parent
    )
    target.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target / f"digest-{scheme}.png"), full_page=True)
    context.close()
