"""Composing digests: which papers each subscriber gets, and the message bytes. Pure: no database, no web.

Speed comes from doing the expensive work once: each paper's card is rendered and its CSS inlined once per
run, the page around the cards once per run; a subscriber's digest is a join of cached fragments, and the
per-recipient links are stamped into it with `str.replace`, and the site's one mail builder
(`dailypapers.mail.builder`) writes the message around it with the list headers.
"""

from __future__ import annotations

import hashlib
import hmac
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from pathlib import Path

import css_inline
import jinja2

from dailypapers.mail.builder import Content, MailBuilder
from dailypapers.store.subscriptions import Preferences

TEMPLATES = Path(__file__).resolve().parent / "templates"
ABSTRACT_CHARS = 320
AUTHORS_SHOWN = 6
MAX_HTML_BYTES = 100_000
DKIM_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"mime-version",
    b"content-type",
)


# -- the period -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    frequency: str
    key: str  # what makes a run unique with the frequency: 2026-11-27 or 2026-W48
    start: date  # inclusive
    end: date  # inclusive
    label: str


def period_for(frequency: str, day: date) -> Period:
    """The period a digest sent on `day` covers.

    Daily digests go out on weekdays and cover the day (Monday's also the weekend before it); weekly ones
    cover the seven days ending on `day`.
    """
    if frequency == "daily":
        if day.weekday() >= 5:
            raise ValueError("daily digests go out on weekdays (Monday to Friday)")
        start = day - timedelta(days=2) if day.weekday() == 0 else day
        return Period("daily", day.isoformat(), start, day, day.strftime("%A, %B %-d, %Y"))
    if frequency == "weekly":
        year, week, _ = day.isocalendar()
        start = day - timedelta(days=6)
        label = f"{start.strftime('%B %-d')} to {day.strftime('%B %-d, %Y')}"
        return Period("weekly", f"{year}-W{week:02d}", start, day, label)
    raise ValueError("frequency must be daily or weekly")


# -- the candidates ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class Paper:
    id: int
    arxiv_id: str
    title: str
    authors: list[str]
    abstract: str
    upvotes: int
    categories: list[str]
    on_feed: bool = False
    trend_key: float | None = None
    _text: str | None = None

    @property
    def text(self) -> str:
        """Title and abstract, lower-cased, for the fallback keyword matcher."""
        if self._text is None:
            self._text = f"{self.title} {self.abstract}".lower()
        return self._text


@dataclass(slots=True)
class Pool:
    """The papers of a period: trending first, and the new papers of each category in ranked order."""

    papers: dict[int, Paper]
    trending: list[int]
    by_category: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, papers: Iterable[Paper], trending_limit: int = 200) -> Pool:
        by_id = {p.id: p for p in papers}
        ranked = sorted(by_id.values(), key=lambda p: (-p.upvotes, -(p.trend_key or float("-inf")), -p.id))
        feed = [p for p in by_id.values() if p.on_feed and (p.trend_key is not None or p.upvotes)]
        feed.sort(
            key=lambda p: (-(p.trend_key if p.trend_key is not None else float("-inf")), -p.upvotes, -p.id)
        )
        by_category: dict[str, list[int]] = {}
        for paper in ranked:
            for category in paper.categories:
                by_category.setdefault(category, []).append(paper.id)
        return cls(by_id, [p.id for p in feed[:trending_limit]], by_category)


@dataclass(frozen=True, slots=True)
class Pick:
    paper_id: int
    section: str  # "trending" or "topics"
    why: str = ""


SearchMatcher = Callable[[str, str], list[int]]  # (query, mode) -> paper ids of the pool, best first


def choose(preferences: Preferences, received: set[int], pool: Pool, match: SearchMatcher) -> list[Pick]:
    """The papers of one subscriber's digest: up to `max_papers` trending, then up to as many for their
    topics, round-robin over their categories and saved searches; nothing they have received before."""
    limit = preferences.max_papers
    picks: list[Pick] = []
    taken: set[int] = set()
    for paper_id in pool.trending:
        if len(picks) >= limit:
            break
        if paper_id not in received:
            picks.append(Pick(paper_id, "trending"))
            taken.add(paper_id)
    sources: list[tuple[list[int], str]] = []
    for category in preferences.categories:
        ids = pool.by_category.get(category)
        if ids:
            sources.append((ids, f"New in {category}, a category you follow."))
    for search in preferences.searches:
        ids = match(search["q"], search.get("mode", "keyword"))
        if ids:
            how = "Close in meaning to" if search.get("mode") == "semantic" else "Matches"
            sources.append((ids, f"{how} your saved search \u201c{search['q']}\u201d."))
    positions = [0] * len(sources)
    topics = 0
    while topics < limit and sources:
        progressed = False
        for index, (ids, why) in enumerate(sources):
            if topics >= limit:
                break
            position = positions[index]
            while position < len(ids) and (ids[position] in taken or ids[position] in received):
                position += 1
            if position < len(ids):
                picks.append(Pick(ids[position], "topics", why))
                taken.add(ids[position])
                topics += 1
                position += 1
                progressed = True
            positions[index] = position
        if not progressed:
            break
    return picks


def keyword_matcher(pool: Pool) -> SearchMatcher:
    """Without search indexes: papers whose title or abstract holds every word of the query."""
    cache: dict[str, list[int]] = {}

    def match(query: str, mode: str) -> list[int]:
        words = tuple(sorted({w for w in "".join(c if c.isalnum() else " " for c in query.lower()).split()}))
        key = " ".join(words)
        if key not in cache:
            ranked = sorted(pool.papers.values(), key=lambda p: (-p.upvotes, -p.id))
            cache[key] = [p.id for p in ranked if words and all(w in p.text for w in words)][:100]
        return cache[key]

    return match


# -- rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Links:
    preferences: str
    unsubscribe: str


@dataclass(slots=True)
class Rendered:
    text: str
    html: str


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
    )
    return env


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "\u2026"


def _authors(names: list[str]) -> str:
    if len(names) <= AUTHORS_SHOWN:
        return ", ".join(names)
    return ", ".join(names[:AUTHORS_SHOWN]) + f" and {len(names) - AUTHORS_SHOWN} more"


class Renderer:
    """Renders digests of one run (one period) for a site; caches every paper's card."""

    def __init__(self, *, site_name: str, base_url: str, period: Period, pool: Pool) -> None:
        self.site_name = site_name
        self.base_url = base_url.rstrip("/")
        self.period = period
        self.pool = pool
        env = _environment()
        self.css = (TEMPLATES / "digest.css").read_text()
        self.inliner = css_inline.CSSInliner(keep_style_tags=True)
        daily = period.frequency == "daily"
        self.subject = f"{site_name}: trending papers, {period.label}"
        self.heading = ("Your papers for " if daily else "Your papers of the week, ") + period.label
        context = {
            "site_name": site_name,
            "base_url": self.base_url,
            "subject": self.subject,
            "heading": self.heading,
            "intro": "The most upvoted new papers "
            + ("of the day" if daily else "of the week")
            + ", then new papers on your topics.",
            "frequency": period.frequency,
            "css": self.css,
        }
        self._html_page = self.inliner.inline(env.get_template("digest.html").render(context))
        self._text_page = env.get_template("digest.txt").render(context)
        self._card = env.get_template("card.html")
        self._cards_html: dict[int, tuple[str, str]] = {}
        self._cards_text: dict[int, str] = {}
        self._section_html = {
            name: css_inline.inline_fragment(f'<h2 class="section">{escape(title)}</h2>', self.css)
            for name, title in self._section_titles().items()
        }
        why = css_inline.inline_fragment('<p class="why">@@</p>', self.css)
        self._why_open, self._why_close = why.split("@@")

    def _section_titles(self) -> dict[str, str]:
        period = "today" if self.period.frequency == "daily" else "this week"
        return {"trending": f"Trending {period}", "topics": "For your topics"}

    def _card_html(self, paper_id: int) -> tuple[str, str]:
        cached = self._cards_html.get(paper_id)
        if cached is None:
            paper = self.pool.papers[paper_id]
            html = self._card.render(
                paper=paper,
                base_url=self.base_url,
                authors=_authors(paper.authors),
                abstract=_short(paper.abstract, ABSTRACT_CHARS),
            )
            # The marker is the card's last: a title or abstract holding "@@WHY@@" stays text.
            head, tail = css_inline.inline_fragment(html, self.css).rsplit("@@WHY@@", 1)
            cached = self._cards_html[paper_id] = (head, tail)
        return cached

    def _card_text(self, paper_id: int) -> str:
        cached = self._cards_text.get(paper_id)
        if cached is None:
            paper = self.pool.papers[paper_id]
            wrap = textwrap.TextWrapper(width=76, initial_indent="   ", subsequent_indent="   ")
            lines = [
                *textwrap.wrap(" ".join(paper.title.split()), 73, subsequent_indent="   "),
                *wrap.wrap(_authors(paper.authors)),
                f"   \u25b2 {paper.upvotes} \u00b7 {self.base_url}/papers/{paper.arxiv_id}",
                *wrap.wrap(_short(paper.abstract, ABSTRACT_CHARS)),
            ]
            cached = self._cards_text[paper_id] = "\n".join(lines)
        return cached

    def render(self, picks: list[Pick]) -> Rendered:
        """Both bodies of a digest, with the per-recipient links still as placeholders."""
        html_parts: list[str] = []
        text_parts: list[str] = []
        section = None
        titles = self._section_titles()
        for number, pick in enumerate(picks, 1):
            if pick.section != section:
                section = pick.section
                html_parts.append(self._section_html[section])
                text_parts.append(f"\n{titles[section].upper()}\n")
            head, tail = self._card_html(pick.paper_id)
            why = f"{self._why_open}{escape(pick.why)}{self._why_close}" if pick.why else ""
            html_parts.append(f"{head}{why}{tail}")
            text = f"{number}. {self._card_text(pick.paper_id)}"
            if pick.why:
                text += f"\n   Why: {pick.why}"
            text_parts.append(text + "\n")
        return Rendered(
            self._text_page.replace("@@SECTIONS@@", "\n".join(text_parts)),
            self._html_page.replace("@@SECTIONS@@", "".join(html_parts)),
        )


def render_within(
    renderer: Renderer, picks: list[Pick], limit: int = MAX_HTML_BYTES
) -> tuple[list, Rendered]:
    """The digest of as many of `picks` as fit in `limit` bytes of HTML (Gmail clips at about 102 KB, and
    the clipped part holds the unsubscribe link); 2 KB are kept for the per-recipient links."""
    rendered = renderer.render(picks)
    while len(picks) > 1 and len(rendered.html.encode()) > limit - 2_000:
        picks = picks[:-1]
        rendered = renderer.render(picks)
    return picks, rendered


def personalize(rendered: Rendered, links: Links) -> Rendered:
    def stamp(body: str, html: bool) -> str:
        prefs, unsub = links.preferences, links.unsubscribe
        if html:
            prefs, unsub = escape(prefs), escape(unsub)
        return body.replace("@@PREFERENCES@@", prefs).replace("@@UNSUBSCRIBE@@", unsub)

    return Rendered(stamp(rendered.text, False), stamp(rendered.html, True))


# -- the message ---------------------------------------------------------------------------------------


class MessageMaker:
    """The digest messages of one run, written by the mail builder with the list headers (RFC 2369, RFC
    8058 one-click), and DKIM-signed when a signer is given."""

    def __init__(
        self,
        *,
        mail_from: str,
        base_url: str,
        site_name: str,
        secret_key: str,
        run_id: int,
        subject: str,
        signer: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.builder = MailBuilder(mail_from, site_name=site_name, base_url=base_url)
        self.sender = self.builder.sender
        self.domain = self.builder.domain
        self.subject = subject
        self._secret = secret_key.encode()
        self.run_id = run_id
        self.signer = signer
        list_name = site_name.replace('"', "") if site_name.isascii() else "dailypapers"
        self._list_id = f'"{list_name} digest" <digest.{self.builder.host}>'

    def message_id(self, subscription_id: int) -> str:
        """The same for a (run, subscriber) every time: a message re-sent after a crash is the same one."""
        mac = hmac.new(self._secret, f"digest:{self.run_id}:{subscription_id}".encode(), hashlib.sha256)
        return f"<digest.{mac.hexdigest()[:32]}@{self.domain}>"

    def build(
        self, *, recipient: str, subscription_id: int, body: Rendered, unsubscribe_url: str, now: datetime
    ) -> bytes:
        """The message's bytes; raises `UnsendableAddress` (dailypapers.mail.builder) for an address no
        header may carry."""
        data = self.builder.build(
            recipient,
            Content(self.subject, body.text, body.html),
            now=now,
            message_id=self.message_id(subscription_id),
            headers=(
                ("List-Id", self._list_id),
                ("List-Unsubscribe", f"<{unsubscribe_url}>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ),
        )
        if self.signer is not None:
            data = self.signer(data) + data
        return data


def dkim_signer(key_path: Path, selector: str, domain: str) -> Callable[[bytes], bytes]:
    """A function returning the DKIM-Signature header for a message; both List-Unsubscribe headers signed."""
    import dkim

    key = Path(key_path).expanduser().read_bytes()

    def sign(message: bytes) -> bytes:
        return dkim.sign(message, selector.encode(), domain.encode(), key, include_headers=list(DKIM_HEADERS))

    return sign
