"""Jinja2 environment: autoescaping on, and the few filters the templates need."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from dailypapers.settings import Settings


def short_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%b %-d, %Y")


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def is_web_url(value: object) -> bool:
    """Only http(s) links become hrefs: a `javascript:` URL stored by some importer must not."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


# An http(s) URL in running text, up to the next space or quote; trailing punctuation is the sentence's.
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'"
SHOWN_AUTHORS = 3


def linkify(text: str | None) -> Markup:
    """The text escaped, with its http(s) URLs made links that pass no ranking and no window handle."""
    if not text:
        return Markup("")
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        url = match.group(0)
        # A closing bracket belongs to the URL only when it opened one inside it (Wikipedia-style links).
        while url and url[-1] in _TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        if len(url) <= len("https://"):
            continue
        start = match.start()
        out.append(str(escape(text[last:start])))
        out.append(f'<a href="{escape(url)}" rel="nofollow noopener">{escape(url)}</a>')
        last = start + len(url)
    out.append(str(escape(text[last:])))
    return Markup("".join(out))


def short_authors(authors: list[str] | None, shown: int = SHOWN_AUTHORS) -> str:
    """The first authors by name, then "et al." for the rest."""
    names = [a for a in authors or [] if a]
    if len(names) <= shown:
        return ", ".join(names)
    return ", ".join(names[:shown]) + " et al."


def make_templates(settings: Settings, directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    env = templates.env
    env.autoescape = True  # every page escapes by default; titles and abstracts come from outside
    # Templates ship with the package: checking their mtimes on every render (and every card's include)
    # only helps someone editing them, in development.
    env.auto_reload = settings.environment == "development"
    env.filters["short_date"] = short_date
    env.filters["plural"] = plural
    env.filters["linkify"] = linkify
    env.filters["short_authors"] = short_authors
    env.tests["web_url"] = is_web_url
    env.globals["site_name"] = settings.site_name
    env.globals["base_url"] = settings.base_url
    env.globals["development"] = settings.environment == "development"
    env.globals["static_url"] = lambda name: f"/static/{name}"  # fingerprinted once the app mounts them
    return templates
