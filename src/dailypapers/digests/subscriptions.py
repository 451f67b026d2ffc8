"""The rules for what a reader may choose: a frequency, how many papers, categories and saved searches.

Pure: the subscriptions themselves are kept by `dailypapers.store.subscriptions`; addresses are checked by
`dailypapers.emails`.
"""

from __future__ import annotations

import re
from typing import Any

from dailypapers.store.subscriptions import DEFAULT_PAPERS, Preferences

FREQUENCIES = ("daily", "weekly")
SEARCH_MODES = ("keyword", "semantic")
MIN_PAPERS, MAX_PAPERS = 1, 20
MAX_CATEGORIES = 20
MAX_SEARCHES = 5
MAX_SEARCH_CHARS = 200
# Used with fullmatch: "$" would also match before a final "\n", letting a line break into a category.
_CATEGORY = re.compile(r"^[a-z][a-z-]{0,15}(\.[A-Za-z][A-Za-z-]{0,15})?$")


class InvalidInput(ValueError):
    """Bad input from a reader: the message says what to change."""


def check_frequency(value: Any) -> str:
    if value not in FREQUENCIES:
        raise InvalidInput("frequency must be daily or weekly")
    return value


def parse_preferences(data: dict) -> Preferences:
    """Preferences from a form or JSON body; raises `InvalidInput` naming what is wrong."""
    frequency = check_frequency(data.get("frequency"))
    raw_count = data.get("maxPapers", data.get("max_papers", DEFAULT_PAPERS))
    try:
        count = int(raw_count)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 in JSON is infinity
        raise InvalidInput("the number of papers must be a whole number") from None
    if not MIN_PAPERS <= count <= MAX_PAPERS:
        raise InvalidInput(f"the number of papers must be between {MIN_PAPERS} and {MAX_PAPERS}")
    raw_categories = data.get("categories") or []
    if isinstance(raw_categories, str):
        raw_categories = raw_categories.replace(",", " ").split()
    if not isinstance(raw_categories, list) or not all(isinstance(c, str) for c in raw_categories):
        raise InvalidInput("categories must be a list of arXiv categories")
    categories = list(dict.fromkeys(c.strip() for c in raw_categories if c.strip()))
    if len(categories) > MAX_CATEGORIES:
        raise InvalidInput(f"at most {MAX_CATEGORIES} categories")
    for category in categories:
        if not _CATEGORY.fullmatch(category):
            raise InvalidInput(f"{category[:40]!r} is not an arXiv category (like cs.CL or hep-th)")
    raw_searches = data.get("searches") or []
    if not isinstance(raw_searches, list):
        raise InvalidInput("searches must be a list")
    searches: list[dict[str, str]] = []
    for item in raw_searches:
        if isinstance(item, str):
            item = {"q": item, "mode": "keyword"}
        if not isinstance(item, dict) or not isinstance(item.get("q", ""), str):
            raise InvalidInput('each saved search is {"q": ..., "mode": "keyword" or "semantic"}')
        query = " ".join(item.get("q", "").split())
        if not query:
            continue
        if len(query) > MAX_SEARCH_CHARS:
            raise InvalidInput(f"a saved search has at most {MAX_SEARCH_CHARS} characters")
        mode = item.get("mode") or "keyword"
        if mode not in SEARCH_MODES:
            raise InvalidInput("a saved search's mode is keyword or semantic")
        if not any(ch.isalnum() for ch in query):
            raise InvalidInput("a saved search needs letters or digits")
        if {"q": query, "mode": mode} not in searches:
            searches.append({"q": query, "mode": mode})
    if len(searches) > MAX_SEARCHES:
        raise InvalidInput(f"at most {MAX_SEARCHES} saved searches")
    return Preferences(frequency, count, categories, searches)
