"""What the bundled demo slice holds, read straight from its file: the expectations of the web tests.

Records go through the importer's parser (so titles are whitespace-collapsed as stored), not through the
store, so the tests compare what the server says against the data rather than against itself.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from datetime import date
from functools import cache

from conftest import DEMO_DATA
from dailypapers.importers.formats import BadRecord, parse
from dailypapers.records import PaperRecord

# A day on the feed with 17 papers, the latest one; and one well-described paper on it.
LATEST_DAY = "2026-08-21"
KNOWN_ID = "2608.20336"
# A paper with categories, two links and an organization (on the feed on 2026-07-10).
RICH_ID = "2601.16211"
# A day between two feed days that has no papers.
EMPTY_DAY = "2026-07-05"


@cache
def records() -> dict[str, PaperRecord]:
    out: dict[str, PaperRecord] = {}
    with gzip.open(DEMO_DATA, "rt", encoding="utf-8") as lines:
        for line in lines:
            try:
                record = parse(json.loads(line))
            except BadRecord:
                continue
            out[record.arxiv_id] = record
    return out


@cache
def by_day() -> dict[date, list[PaperRecord]]:
    days: dict[date, list[PaperRecord]] = defaultdict(list)
    for record in records().values():
        if record.daily_date is not None:
            days[record.daily_date].append(record)
    return dict(days)


def on_feed(start: date, end: date) -> list[PaperRecord]:
    """Papers on the feed from `start` (inclusive) to `end` (exclusive)."""
    return [r for day, rs in by_day().items() if start <= day < end for r in rs]


def feed_days() -> list[date]:
    """Days with papers, newest first."""
    return sorted(by_day(), reverse=True)


def submitter_name(record: PaperRecord) -> str:
    """The username the API names for a record (a placeholder when the source did not record one)."""
    return record.submitter.username if record.submitter else "unknown"
