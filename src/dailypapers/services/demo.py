"""The demo's data: the bundled slice of Daily Papers, moved in time so that its last day is today.

The slice is a real one (its last day is `SLICE_LAST_DAY`); served as it is, the front page would show a day
months ago and nothing could be submitted (every paper is listed already, or older than the submission
window). So every date in it (the day on the feed, when it was submitted there, when arXiv published it)
moves by the same number of days, arXiv ids unchanged; and a few papers of its last day are held back from
the feed ("not yet on the feed"): they are in the database, published a day or two ago, on no day, so that
submitting one succeeds at once.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from dailypapers.importers.files import BATCH_SIZE, PaperSink
from dailypapers.importers.formats import BadRecord, parse
from dailypapers.store.papers import UpsertCounts

SLICE_LAST_DAY = date(2026, 8, 21)
HELD_BACK = 4
HELD_BACK_AGE_DAYS = 3
DAY_FIELDS = ("daily_date",)
TIME_FIELDS = ("published_at", "submitted_on_daily_at")
# What makes a line of the slice a feed entry; a held-back paper loses these (its Hugging Face upvotes would
# otherwise count for it once someone submits it).
FEED_FIELDS = ("daily_date", "submitted_on_daily_at", "submitted_by", "upvotes", "num_comments")


@dataclass(slots=True)
class DemoImport:
    """What `import_demo_slice` did."""

    shift_days: int
    last_day: date
    held_back: list[str]
    counts: UpsertCounts = field(default_factory=UpsertCounts)


def _shift_day(value: Any, days: int) -> Any:
    if not isinstance(value, str) or len(value) < 10:
        return value
    return (date.fromisoformat(value[:10]) + timedelta(days=days)).isoformat() + value[10:]


def _shift_time(value: Any, days: int) -> Any:
    """An ISO timestamp (as the slice writes them, `...Z`) moved by whole days, written the same way."""
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    shifted = (moment + timedelta(days=days)).isoformat(timespec="milliseconds")
    return shifted.replace("+00:00", "Z") if value.endswith("Z") else shifted


def shift(row: dict[str, Any], days: int) -> dict[str, Any]:
    """A line of the slice with every date moved by `days` days (ids and everything else unchanged)."""
    out = dict(row)
    for name in DAY_FIELDS:
        if out.get(name) is not None:
            out[name] = _shift_day(out[name], days)
    for name in TIME_FIELDS:
        if out.get(name) is not None:
            out[name] = _shift_time(out[name], days)
    return out


def _lines(source: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(source, "rb") as lines:
        for line in lines:
            if line.strip():
                yield orjson.loads(line)


def _published_within(row: dict[str, Any], days: int) -> bool:
    published = row.get("published_at")
    if not isinstance(published, str):
        return False
    try:
        return (SLICE_LAST_DAY - date.fromisoformat(published[:10])).days <= days
    except ValueError:
        return False


def held_back_ids(rows: list[dict[str, Any]], count: int = HELD_BACK) -> list[str]:
    """The papers kept off the feed: the least upvoted of the slice's last day (its best stay on it) among
    those published in the days just before it, well within the submission window."""
    last_day = SLICE_LAST_DAY.isoformat()
    recent = [r for r in rows if _published_within(r, HELD_BACK_AGE_DAYS)]
    on_last = [r for r in recent if r.get("daily_date") == last_day]
    on_last.sort(key=lambda r: (r.get("upvotes") or 0, r["arxiv_id"]))
    return sorted(r["arxiv_id"] for r in on_last[:count])


def import_demo_slice(
    sink: PaperSink, source: Path, today: date, *, held_back: int = HELD_BACK
) -> DemoImport:
    """Import the slice at `source` with its last day moved to `today`, `held_back` papers off the feed."""
    rows = list(_lines(source))
    days = (today - SLICE_LAST_DAY).days
    kept_off = set(held_back_ids(rows, held_back))
    outcome = DemoImport(shift_days=days, last_day=today, held_back=sorted(kept_off))
    batch = []
    for row in rows:
        row = shift(row, days)
        if row.get("arxiv_id") in kept_off:
            row = {k: v for k, v in row.items() if k not in FEED_FIELDS}
        try:
            batch.append(parse(row))
        except BadRecord:  # the bundled file has none; a damaged copy loses only its bad lines
            continue
        if len(batch) >= BATCH_SIZE:
            outcome.counts.add(sink.upsert(batch))
            batch = []
    if batch:
        outcome.counts.add(sink.upsert(batch))
    return outcome
