"""Hugging Face's `GET /api/daily_papers?date=YYYY-MM-DD`: the day's list, with submitters and upvotes.

Items are parsed by importers.formats.parse_hf, the same parser as a saved response given to
`dailypapers import`, so both paths store a paper alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from dailypapers.importers.formats import BadRecord, parse_hf
from dailypapers.ingest.pages import HarvestError, Page, Position, Skip, days
from dailypapers.ingest.polite import FetchError, PoliteClient
from dailypapers.ingest.safexml import BadPage
from dailypapers.records import PaperRecord

PAGE_SIZE = 100  # Hugging Face's largest `limit`
MAX_PAGES_PER_DAY = 50


@dataclass(slots=True)
class DailyPage:
    records: list[PaperRecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    entries: int = 0


def parse_daily(body: bytes) -> DailyPage:
    """A JSON array of daily items. Anything else is a bad page; a bad item is skipped with its reason."""
    if not body.strip():
        raise BadPage("empty response")
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        head = body.lstrip()[:15].lower()
        if head.startswith(b"<!doctype") or head.startswith(b"<html"):
            raise BadPage("an HTML page where JSON was expected (an error page?)") from None
        raise BadPage(f"not JSON ({exc})") from None
    if not isinstance(document, list):
        detail = document.get("error") if isinstance(document, dict) else None
        raise BadPage(
            f"expected a JSON array of daily papers, got {type(document).__name__}"
            + (f": {str(detail)[:200]}" if detail else ""),
            retry=False,
        )
    page = DailyPage(entries=len(document))
    for index, item in enumerate(document):
        where = f"item {index}"
        if not isinstance(item, dict) or not isinstance(item.get("paper"), dict):
            page.skipped.append(Skip(where, "not a daily item", "no `paper` object"))
            continue
        paper_id = item["paper"].get("id")
        if isinstance(paper_id, str):
            where = paper_id[:80]
        try:
            page.records.append(parse_hf(item))
        except BadRecord as exc:
            reason, _, detail = str(exc).partition(": ")
            page.skipped.append(Skip(where, reason, detail))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            page.skipped.append(Skip(where, "malformed daily item", f"{type(exc).__name__}: {exc}"[:200]))
    return page


class HfDailySource:
    """The daily lists of the days from `since` to `until` (inclusive): one window per day."""

    name = "hf"

    def __init__(self, client: PoliteClient, base_url: str, *, since: date, until: date) -> None:
        if until < since:
            raise ValueError("--until is before --from")
        if (until - since).days > 3660:
            raise ValueError("at most ten years of days at a time")
        self.client = client
        self.url = f"{base_url.rstrip('/')}/api/daily_papers"
        self.since = since
        self.until = until

    def args(self) -> dict[str, Any]:
        return {"from": str(self.since), "until": str(self.until)}

    def fetch(self, position: Position | None) -> Iterator[Page]:
        position = position or {}
        all_days = days(self.since, self.until)
        first = int(position.get("day", 0))
        for index in range(first, len(all_days)):
            day = all_days[index]
            p = int(position.get("p", 0)) if index == first else 0
            while True:
                params = {"date": day.isoformat(), "limit": PAGE_SIZE, "p": p}
                try:
                    page = self.client.get(self.url, params, parse_daily)
                except FetchError as exc:
                    raise HarvestError(f"{day}: {exc}") from None
                more = page.entries >= PAGE_SIZE and p + 1 < MAX_PAGES_PER_DAY
                if more:
                    after = {"day": index, "p": p + 1}
                elif index + 1 < len(all_days):
                    after = {"day": index + 1, "p": 0}
                else:
                    after = None
                yield Page(
                    records=page.records,
                    position=after,
                    fetched=page.entries,
                    skipped=page.skipped,
                    label=f"{day}" + (f" p{p}" if p else ""),
                )
                if not more:
                    break
                p += 1
