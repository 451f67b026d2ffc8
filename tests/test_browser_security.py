"""The security headers in a real browser: every page type works under the Content-Security-Policy (no
violation reported), the API docs render from the app's own assets, and no other site can frame a page."""

from __future__ import annotations

import pytest

from browser_support import chromium_browser

pytestmark = pytest.mark.browser

PAGES = [
    "/",
    "/papers/trending",
    "/papers/week/2026-W34",
    "/papers/2608.20336",
    "/search?q=mixture+of+experts",
    "/signin",
    "/signup",
    "/subscribe",
]


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


def _violations(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    return found


def test_pages_work_under_the_policy(chromium, live_demo):
    page = chromium.new_page(base_url=live_demo.url)
    violations = _violations(page)
    for path in PAGES:
        answer = page.goto(path)
        assert answer.status == 200, path
        headers = answer.headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "unsafe-inline" not in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert page.locator("header").count() == 1  # rendered, styles and all
    assert violations == []
    page.close()


def test_api_docs_render_offline_from_our_own_assets(chromium, live_demo):
    page = chromium.new_page(base_url=live_demo.url)
    violations = _violations(page)
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_demo.url) else None)
    page.goto("/api/docs")
    page.wait_for_selector(".opblock", timeout=20_000)  # Swagger UI listed the operations
    assert page.locator(".opblock").count() > 20
    assert [u for u in outside if not u.startswith(("data:", "blob:"))] == []  # no CDN
    assert violations == []
    page.close()


def test_another_site_cannot_frame_a_page(chromium, live_demo):
    page = chromium.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text))
    page.set_content(f'<iframe src="{live_demo.url}/papers/2608.20336" width="600" height="400"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frames[1] if len(page.frames) > 1 else None
    # The browser refuses to show it: the frame stays empty (an error page), the upvote button unreachable.
    assert frame is None or frame.locator("form.upvote, article").count() == 0
    page.close()
