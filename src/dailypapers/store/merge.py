"""How an incoming record merges into a stored paper: pure, so the rules are tested on their own.

Rules: a newer (or equal) version replaces the text fields; a field the source does not give (None) never
erases a stored one; imported upvote counts only grow (sources report the highest count they saw).

record_to_row also makes a row that both databases store alike: moments in UTC (SQLite keeps the wall
clock and drops the offset), no NUL characters (PostgreSQL refuses them), strings cut to their column's
length (PostgreSQL refuses longer ones, SQLite keeps them), counts within the 32-bit integer columns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String

from dailypapers.papers import as_utc
from dailypapers.records import PaperRecord
from dailypapers.store.schema import papers

MAX_INT = 2**31 - 1
_LENGTHS = {
    c.name: c.type.length for c in papers.c if isinstance(c.type, String) and c.type.length is not None
}

TEXT_FIELDS = ("title", "abstract", "authors")
OPTIONAL_FIELDS = (
    "categories",
    "primary_category",
    "published_at",
    "updated_at",
    "comment",
    "doi",
    "journal_ref",
    "github_repo",
    "github_stars",
    "project_page",
    "organization",
    "ai_summary",
    "ai_keywords",
    "withdrawn_at",
    "source",
)


def text(value: Any, limit: int | None = None) -> Any:
    """A string as both databases can store it: without NUL, cut to `limit`; other values as they are."""
    if isinstance(value, str):
        value = value.replace("\x00", "")
        return value[:limit] if limit else value
    if isinstance(value, list):
        return [text(item) for item in value]
    return value


def count(value: int | None) -> int | None:
    return None if value is None else max(0, min(int(value), MAX_INT))


def record_to_row(record: PaperRecord) -> dict[str, Any]:
    """The papers-table columns a record gives (None where the source says nothing)."""
    row = _raw_row(record)
    for name, value in row.items():
        if isinstance(value, datetime):
            row[name] = as_utc(value)
        elif isinstance(value, str | list):
            row[name] = text(value, _LENGTHS.get(name))
    for name in ("github_stars", "imported_upvotes", "hf_comments", "version"):
        row[name] = count(row[name])
    return row


def _raw_row(record: PaperRecord) -> dict[str, Any]:
    categories = record.categories or None
    return {
        "arxiv_id": record.arxiv_id,
        "version": record.version or 0,
        "title": record.title,
        "abstract": record.abstract,
        "authors": list(record.authors),
        "categories": categories,
        "primary_category": categories[0] if categories else None,
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "comment": record.comment,
        "doi": record.doi,
        "journal_ref": record.journal_ref,
        "github_repo": record.github_repo,
        "github_stars": record.github_stars,
        "project_page": record.project_page,
        "organization": record.organization,
        "ai_summary": record.ai_summary,
        "ai_keywords": record.ai_keywords,
        "withdrawn_at": (record.updated_at or record.published_at) if record.withdrawn else None,
        "source": record.source,
        "imported_upvotes": record.upvotes or 0,
        "hf_comments": record.num_comments or 0,
    }


def merge(stored: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The columns to change on `stored` (empty when nothing changes)."""
    changes: dict[str, Any] = {}
    newer = incoming["version"] >= stored["version"]
    if newer:
        for name in TEXT_FIELDS:
            if incoming[name] and incoming[name] != stored[name]:
                changes[name] = incoming[name]
        if incoming["version"] != stored["version"]:
            changes["version"] = incoming["version"]
    for name in OPTIONAL_FIELDS:
        value = incoming[name]
        if value is None or value == stored[name] or _same_moment(value, stored[name]):
            continue
        if newer or stored[name] is None:
            changes[name] = value
    for name in ("imported_upvotes", "hf_comments"):
        if incoming[name] > (stored[name] or 0):
            changes[name] = incoming[name]
    return changes


def merge_all(stored: dict[str, Any] | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows applied one after the other: onto `stored`, returning the columns that end up changed, or,
    for a paper not stored yet (None), returning the row to insert.

    Folding the rows of a batch into one before merging that into the stored paper would not be the same
    (merge is not associative: an older version fills a field only while it is missing), so an import's
    outcome would depend on where its batches were cut.
    """
    state = dict(rows[0]) if stored is None else dict(stored)
    for row in rows[1:] if stored is None else rows:
        state.update(merge(state, row))
    if stored is None:
        return state
    return {
        name: value
        for name, value in state.items()
        if value != stored[name] and not _same_moment(value, stored[name])
    }


def _same_moment(a: Any, b: Any) -> bool:
    # SQLite returns naive UTC datetimes, PostgreSQL aware ones; the incoming ones are aware.
    if isinstance(a, datetime) and isinstance(b, datetime):
        return as_utc(a) == as_utc(b)
    return False
