"""Jinja2 environment: autoescaping on, and the few filters the templates need."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

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


def make_templates(settings: Settings, directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    env = templates.env
    env.autoescape = True  # every page escapes by default; titles and abstracts come from outside
    # Templates ship with the package: checking their mtimes on every render (and every card's include)
    # only helps someone editing them, in development.
    env.auto_reload = settings.environment == "development"
    env.filters["short_date"] = short_date
    env.filters["plural"] = plural
    env.tests["web_url"] = is_web_url
    env.globals["site_name"] = settings.site_name
    env.globals["base_url"] = settings.base_url
    return templates
