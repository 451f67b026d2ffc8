"""What every source gives: pages of records, each with the position to resume from after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Protocol

from dailypapers.records import PaperRecord

Position = dict[str, Any]  # JSON: a window index, a resumption token, a start offset...


@dataclass(slots=True)
class Skip:
    """A record (or an id) that was not stored, and why. `reason` is short and groups alike skips."""

    where: str
    reason: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" + (f" ({self.detail})" if self.detail else "")


@dataclass(slots=True)
class Page:
    """One response's worth of papers. `position` is where the harvest resumes after this page lands;
    None when this page completes it."""

    records: list[PaperRecord]
    position: Position | None
    fetched: int = 0  # entries the response held, good or bad
    skipped: list[Skip] = field(default_factory=list)
    label: str = ""  # e.g. "2024-03 page 4", for progress
    total: int | None = None  # the harvest's estimated size in records, when the source knows it
    notes: list[str] = field(default_factory=list)  # e.g. "resumption token expired: window restarted"


class HarvestError(Exception):
    """The harvest cannot go on (a page that stays bad, an error the server will repeat): it stops cleanly
    at the last page that landed, and the same command resumes from there."""


class Source(Protocol):
    """A source of papers. `fetch` pages through it from `position` (None: the beginning)."""

    name: str  # "arxiv", "oai", "rss", "hf", "files"

    def args(self) -> dict[str, Any]:
        """What was asked for (JSON); with `name` it identifies the harvest and its checkpoint."""
        ...

    def fetch(self, position: Position | None) -> Iterator[Page]: ...


def harvest_key(source: Source) -> str:
    """A stable key for a source and its arguments: the same command finds its own checkpoint."""
    canonical = json.dumps(source.args(), sort_keys=True, separators=(",", ":"), default=str)
    if len(canonical) <= 150:
        return f"{source.name}:{canonical}"
    return f"{source.name}:sha1:{hashlib.sha1(canonical.encode()).hexdigest()}"


def month_windows(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] (inclusive) cut at calendar months: a bulk harvest resumes and restarts per window."""
    if end < start:
        return []
    windows = []
    current = start
    while current <= end:
        next_month = (current.replace(day=1) + timedelta(days=32)).replace(day=1)
        last = min(end, next_month - timedelta(days=1))
        windows.append((current, last))
        current = last + timedelta(days=1)
    return windows


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
