"""A reader in Chromium: /trends, a rising topic's page and its chart's numbers, the map (zoom, a click on a
paper). Over the demo slice with its shipped embeddings and key phrases, the map projected for real.

With DAILYPAPERS_SCREENSHOTS=1 the run also writes docs/screenshots/trends/ (light and dark).
"""

from __future__ import annotations

import os
import re

import pytest

from browser_support import ROOT, chromium_browser
from conftest import DEMO, LiveServer, make_settings
from dailypapers.maps.builder import SHIPPED_MAP, MapBuilder
from dailypapers.search import state
from dailypapers.search.indexer import Indexer
from dailypapers.store.engine import make_engine

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = ROOT / "docs" / "screenshots" / "trends"
# WebGL without a GPU: Chromium's software renderer, which it no longer falls back to by itself.
WEBGL = ("--enable-unsafe-swiftshader", "--use-angle=swiftshader", "--ignore-gpu-blocklist")


@pytest.fixture(scope="module")
def server(tmp_path_factory, sqlite_templates):
    folder = tmp_path_factory.mktemp("trends-live")
    url = sqlite_templates.copy(DEMO, folder, "demo.db")
    settings = make_settings(url, index_dir=folder / "index")
    engine = make_engine(settings)
    indexer = Indexer(engine, settings)
    assert indexer.load_shipped_embeddings() > 3000
    assert indexer.load_shipped_phrases() > 3000
    state.put(engine, state.ACTIVE_MODEL, settings.embedding_model)
    # The places the demo ships (UMAP itself is tested in test_map.py): the demo's map, at once.
    assert MapBuilder(engine, settings).build(start=SHIPPED_MAP).projected == 0
    engine.dispose()
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def browser():
    with chromium_browser(WEBGL) as browser:
        yield browser


def _week_with_a_rising_phrase(page, base: str) -> str:
    """The latest week of the demo whose /trends lists a rising key phrase (its last weeks are thin)."""
    body = page.request.get(f"{base}/trends.json").json()
    week = body["latestWeek"]
    for _ in range(20):
        body = page.request.get(f"{base}/trends.json?week={week}").json()
        if body["windows"]["week"]["phrases"]:
            return week
        year, number = week.split("-W")
        week = f"{year}-W{int(number) - 1:02d}"
    raise AssertionError("no week of the demo has a rising key phrase")


def test_trends_to_a_topic_and_the_map_to_a_paper(server, browser):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    week = _week_with_a_rising_phrase(page, server.url)

    page.goto(f"{server.url}/trends?week={week}")
    expect(page.get_by_role("heading", name=re.compile("Rising this week"))).to_be_visible()
    first = page.locator("#h-week ~ ol.rising .rising-topic").first
    topic = first.inner_text()
    expect(page.locator("#h-week ~ ol.rising svg[role=img]").first).to_be_visible()
    first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(topic)
    chart = page.get_by_role("img", name=re.compile(f"Papers a week with “{re.escape(topic)}”"))
    expect(chart).to_be_visible()
    page.get_by_text("The numbers").first.click()
    expect(page.locator("details.chart-numbers table").first).to_be_visible()
    expect(page.locator(".claim").first).to_contain_text("×")  # it rose that week: the factor is shown

    page.goto(f"{server.url}/map")
    frame = page.locator("#map")
    expect(frame).to_have_attribute("data-ready", re.compile(r"^\d{4}$"), timeout=60_000)
    expect(page.locator(".map-label").first).to_be_visible()
    assert frame.get_attribute("data-zoom-level") == "0"
    box = page.locator("#map-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(60)
    expect(frame).not_to_have_attribute("data-zoom-level", "0")
    # Back to the whole map, then a click on the newest paper opens its page.
    page.reload()
    expect(frame).to_have_attribute("data-ready", re.compile(r"^\d{4}$"), timeout=60_000)
    x, y, arxiv_id = frame.get_attribute("data-newest").split(",")
    page.mouse.move(box["x"] + float(x), box["y"] + float(y))
    expect(page.locator(".map-tip")).to_be_visible()
    page.mouse.click(box["x"] + float(x), box["y"] + float(y))
    expect(page).to_have_url(f"{server.url}/papers/{arxiv_id}", timeout=10_000)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


@pytest.mark.skipif(os.environ.get("DAILYPAPERS_SCREENSHOTS") != "1", reason="set DAILYPAPERS_SCREENSHOTS=1")
def test_screenshots_of_trends_and_the_map(server, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        context = browser.new_context(viewport={"width": 1280, "height": 1000}, color_scheme=scheme)
        page = context.new_page()
        week = _week_with_a_rising_phrase(page, server.url)
        page.goto(f"{server.url}/trends?week={week}")
        page.screenshot(path=SHOTS / f"trends-{scheme}.png")
        href = page.locator("#h-week ~ ol.rising .rising-topic").first.get_attribute("href")
        page.goto(f"{server.url}{href}")
        page.get_by_text("The numbers").first.click()
        page.screenshot(path=SHOTS / f"topic-{scheme}.png", full_page=True)
        page.goto(f"{server.url}/map")
        page.locator("#map[data-ready]").wait_for(timeout=60_000)
        page.wait_for_timeout(500)
        page.screenshot(path=SHOTS / f"map-{scheme}.png")
        context.close()
    for name in ("trends", "topic", "map"):
        for scheme in ("light", "dark"):
            assert (SHOTS / f"{name}-{scheme}.png").stat().st_size > 10_000
