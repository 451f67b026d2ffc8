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


def make_templates(settings: Settings, directory: Path) -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(directory))
    env = templates.env
    env.autoescape = True  # every page escapes by default; titles and abstracts come from outside
    env.filters["short_date"] = short_date
    env.filters["plural"] = plural
    env.globals["site_name"] = settings.site_name
    env.globals["base_url"] = settings.base_url
    return templates
