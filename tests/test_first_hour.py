"""A newcomer's first hour, in headless Chromium against the real `dailypapers demo` command: the front page
shows today, a search, signing up with the link from the demo's mail (read at /dev/mail), an upvote, a
comment with a reply and a deletion, submitting a paper the demo held back, subscribing to the digest and
confirming it; on a desktop and on a phone (390 x 844). axe-core checks every page on the way in light and in
dark (the same page, its colour scheme switched: the interactions are the same in both): no serious or
critical violation.

With DAILYPAPERS_SCREENSHOTS=1 the walk writes docs/screenshots/first-hour/.
Chromium is /usr/bin/chromium (Debian's) unless DAILYPAPERS_TEST_CHROMIUM names another binary.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from browser_support import axe_source, axe_violations, chromium_browser, running_demo

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

# One worker runs them all: the demo they share starts once.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("first-hour")]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "docs" / "screenshots" / "first-hour"
PASSWORD = "a long enough passphrase"
DEVICES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
WALKS = list(DEVICES)
# The screenshots, in the order of the walk (the menu: phones only).
SHOTS = ["front", "search", "menu", "mail", "paper", "trending", "subscribed"]
# Without a network, arXiv cannot be asked: the submission's job must say so soon, not hang.
FAILS_WITHIN_S = 30


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    with running_demo(tmp_path_factory.mktemp("first-hour")) as demo:
        yield demo


@pytest.fixture(scope="module")
def held_back(demo) -> list[str]:
    """The papers the demo kept off the feed for newcomers to submit, as it announced them."""
    found = re.search(r"Not on the feed yet, for you to submit \(sign up first\): (.+)", demo.log)
    assert found, demo.log
    ids = [part.strip() for part in found.group(1).split(",")]
    assert len(ids) >= len(WALKS)
    return ids


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as browser:
        yield browser


@pytest.fixture(scope="module")
def axe():
    return axe_source()


def test_the_demo_announces_its_mail_folder_and_today(demo):
    assert re.search(r"Mail the demo sends goes to (\S+)/ .* at http://\S+/dev/mail", demo.log)
    today = datetime.now(UTC).date().isoformat()
    assert f"so that the slice's last day is today ({today})" in demo.log
    assert "Search ready" in demo.log


class Walk:
    """One newcomer's browser: its page, what axe found, and the screenshots it takes."""

    def __init__(self, page, device: str, axe: str) -> None:
        self.page = page
        self.device = device
        self.axe = axe
        self.violations: list[str] = []
        self.checked: set[str] = set()

    @property
    def phone(self) -> bool:
        return self.device == "phone"

    def check(self, kind: str) -> None:
        """axe on the page as it is now, in light and in dark, once per kind of page."""
        if kind not in self.checked:
            self.checked.add(kind)
            for scheme in SCHEMES:
                self.page.emulate_media(color_scheme=scheme)
                self.violations += [f"{scheme}: {v}" for v in axe_violations(self.page, self.axe)]
            self.page.emulate_media(color_scheme=SCHEMES[0])

    def shot(self, step: str, *, full_page: bool = False) -> None:
        if os.environ.get("DAILYPAPERS_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for scheme in SCHEMES:
                self.page.emulate_media(color_scheme=scheme)
                name = f"{SHOTS.index(step) + 1:02d}-{step}-{self.device}-{scheme}.png"
                self.page.screenshot(path=SCREENSHOTS / name, full_page=full_page)
            self.page.emulate_media(color_scheme=SCHEMES[0])

    def nav(self, name: str) -> None:
        """Follow a link of the header: in its row on a desktop, in the menu on a phone."""
        if self.phone:
            menu = self.page.locator("details.nav-menu")
            expect(self.page.locator(".nav-wide")).to_be_hidden()
            menu.locator("summary").click()
            link = menu.locator("nav").get_by_role("link", name=name, exact=True)
            expect(link).to_be_visible()
            if "menu" not in self.checked:
                self.check("menu")
                self.shot("menu")
            link.click()
        else:
            self.page.locator(".nav-wide").get_by_role("link", name=name, exact=True).click()


def _mail_link(page, address: str, pattern: str) -> str:
    """The link in the newest mail to `address` on /dev/mail whose address matches `pattern`."""
    deadline = time.monotonic() + 20
    while True:
        page.goto("/dev/mail")
        mail = page.locator(".mail", has_text=address).first
        if mail.count():
            link = mail.locator(f"a[href*='{pattern}']").first
            href = link.get_attribute("href")
            assert href == link.inner_text(), "the link is shown whole, as it goes"
            return href
        assert time.monotonic() < deadline, f"no mail to {address} at /dev/mail"
        time.sleep(0.3)


@pytest.mark.parametrize("device", WALKS)
def test_a_newcomers_first_hour(chromium, demo, held_back, axe, device):
    index = WALKS.index(device)
    who = device
    email = f"newcomer-{who}@example.org"
    context = chromium.new_context(base_url=demo.url, viewport=DEVICES[device], color_scheme=SCHEMES[0])
    page = context.new_page()
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"script error: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    walk = Walk(page, device, axe)

    # The front page shows today's papers.
    page.goto("/")
    today = datetime.now(UTC).date()
    expect(page.locator(".period-nav .period")).to_have_text(f"{today:%A, %B} {today.day}, {today.year}")
    cards = page.locator("article.card")
    expect(cards.first).to_be_visible()
    # Cards name the first three authors; the first paper sits within the first screen on a phone too.
    assert re.search(r"\w", cards.first.locator(".card-authors").inner_text())
    assert cards.first.bounding_box()["y"] < DEVICES[device]["height"] * 0.6
    walk.check("front")
    walk.shot("front")

    # A search from the header: a count, a sort, and why each paper was found.
    page.fill("#header-q", "diffusion models for video")
    page.press("#header-q", "Enter")
    expect(page.locator(".result-count")).to_contain_text("Papers 1–20 of")
    expect(page.locator("article.card .why").first).to_contain_text(re.compile("Matched|Close in meaning"))
    page.locator(".sort-links").get_by_role("link", name="Newest").click()
    expect(page).to_have_url(re.compile(r"sort=newest"))
    days = [t.get_attribute("datetime") for t in page.locator("article.card .meta time").all()]
    assert days == sorted(days, reverse=True)
    walk.check("search")
    walk.shot("search")

    # Sign up, and confirm the address with the link from the demo's mail.
    walk.nav("Sign up")
    page.fill("#email", email)
    page.fill("#username", f"newcomer-{who}")
    page.fill("#password", PASSWORD)
    walk.check("signup")
    page.click("button[type=submit]:has-text('Sign up')")
    expect(page.locator("h1")).to_have_text("Check your mail")
    link = _mail_link(page, email, "/verify-email/")
    walk.check("dev-mail")
    walk.shot("mail")
    page.goto(link)
    walk.check("verify")
    page.click("text=Confirm my address")
    expect(page.locator("h1")).to_have_text("Address confirmed")
    page.goto("/signin")
    page.fill("#login", email)
    page.fill("#password", PASSWORD)
    walk.check("signin")
    page.click("button[type=submit]:has-text('Sign in')")
    expect(page.locator("header form.signout").first).to_be_attached()

    # Upvote a paper of the day, in place.
    page.goto("/")
    card = page.locator("article.card").nth(1)
    count = int(card.locator(".count").inner_text())
    card.locator("form.upvote button").click()
    expect(card.locator(".count")).to_have_text(str(count + 1))
    expect(card.locator("form.upvote button")).to_have_attribute("aria-pressed", "true")
    arxiv_id = card.get_attribute("data-arxiv-id")

    # Comment on it, reply in place, and delete the reply after saying yes.
    card.locator(".title a").click()
    expect(page).to_have_url(re.compile(rf"/papers/{re.escape(arxiv_id)}$"))
    page.fill("#new-comment", f"Clear and **useful**, says {who}.")
    page.click("#new-comment-form button[type=submit]")
    mine = page.locator("li.comment", has_text=f"says {who}").first
    expect(mine.locator(".comment-body strong")).to_have_text("useful")
    mine.locator(".comment-actions").get_by_role("link", name="Reply").click()
    reply_form = mine.locator("form.inline-form[id^=reply-form]")
    expect(reply_form).to_be_visible()
    expect(reply_form.locator("textarea")).to_be_focused()
    reply_form.locator("textarea").fill("And a reply to myself.")
    reply_form.locator("button[type=submit]").click()
    reply = page.locator(".replies li.comment", has_text="And a reply to myself.")
    expect(reply).to_have_count(1)
    reply.locator(".comment-actions").get_by_role("link", name="Delete").click()
    expect(page.locator(".replies li.comment", has_text="And a reply to myself.")).to_have_count(0)
    assert dialogs == ["Delete this comment? This cannot be undone."]
    walk.check("paper")
    walk.shot("paper")

    # Submit a paper the demo held back: it is on today's list at once.
    walk.nav("Submit")
    walk.check("submit")
    page.fill("#arxiv", held_back[index])
    page.fill("#comment", "Spotted it this morning.")
    page.click("form button[type=submit]:has-text('Submit')")
    expect(page).to_have_url(re.compile(rf"/papers/{re.escape(held_back[index])}\?submitted=1$"))
    expect(page.locator(".submission-note")).to_contain_text("Spotted it this morning.")
    page.goto(f"/papers/date/{today.isoformat()}")
    expect(page.locator(f"article.card[data-arxiv-id='{held_back[index]}']")).to_contain_text(
        f"submitted by newcomer-{who}"
    )
    if index == 0:
        # A paper the demo does not have: answered at once, fetched by a job, which fails soon offline.
        page.goto("/papers/submit")
        page.fill("#arxiv", "2612.99999")
        page.click("form button[type=submit]:has-text('Submit')")
        expect(page.locator("h1")).to_contain_text("Fetching 2612.99999 from arXiv")
        expect(page.locator("#arxiv-error")).to_contain_text("arXiv", timeout=FAILS_WITHIN_S * 1000)

    # Subscribe to the digest from the banner, in one click: a signed-in reader's confirmed address.
    page.goto("/papers/trending")
    expect(page.locator(".trend-score").first).to_contain_text(re.compile(r"[\d.]+ fresh upvotes: "))
    walk.check("trending")
    walk.shot("trending")
    banner = page.locator(".digest-banner")
    banner.get_by_role("button", name=f"Send them to {email}").click()
    expect(page.locator("h1")).to_have_text("You are subscribed")
    walk.check("subscribed")
    page.goto("/")
    expect(page.locator(".digest-banner")).to_have_count(0)

    # Signed out, a friend's address through the banner, confirmed with the link from the mail.
    if walk.phone:
        page.locator("details.nav-menu summary").click()
        page.locator("details.nav-menu nav").get_by_role("button", name="Sign out").click()
    else:
        page.locator(".nav-wide").get_by_role("button", name="Sign out").click()
    friend = f"friend-{who}@example.org"
    page.fill("#digest-email", friend)
    page.locator(".digest-banner").get_by_role("button", name="Subscribe").click()
    expect(page.locator("h1")).to_have_text("Check your inbox")
    expect(page.locator(".notice")).to_contain_text(friend)
    walk.check("subscribe-notice")
    page.goto("/")
    expect(page.locator(".digest-banner")).to_have_count(0)  # it subscribed from here
    page.goto(_mail_link(page, friend, "/subscriptions/confirm/"))
    walk.check("confirm")
    page.get_by_role("button", name="Yes, send me the digest").click()
    expect(page.locator("h1")).to_have_text("You are subscribed")
    walk.shot("subscribed")

    assert walk.violations == [], "\n".join(walk.violations)
    assert problems == [], problems
    context.close()


def test_the_demo_folder_is_removed_when_it_stops(tmp_path):
    with running_demo(tmp_path) as demo:
        folder = Path(re.search(r"removes (\S+)\)", demo.log).group(1))
        assert folder.is_dir() and (folder / "demo.db").exists()
    assert not folder.exists()
