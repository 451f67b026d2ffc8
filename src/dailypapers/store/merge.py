"""How an incoming record merges into a stored paper: pure, so the rules are tested on their own.

Rules: a newer (or equal) version replaces the text fields; a field the source does not give (None) never
erases a stored one; imported upvote counts only grow (sources report the highest count they saw).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dailypapers.papers import as_utc
from dailypapers.records import PaperRecord

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


def record_to_row(record: PaperRecord) -> dict[str, Any]:
    """The papers-table columns a record gives (None where the source says nothing)."""
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
        "num_comments": record.num_comments or 0,
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
    for name in ("imported_upvotes", "num_comments"):
        if incoming[name] > (stored[name] or 0):
            changes[name] = incoming[name]
    return changes


def _same_moment(a: Any, b: Any) -> bool:
    # SQLite returns naive UTC datetimes, PostgreSQL aware ones; the incoming ones are aware.
    if isinstance(a, datetime) and isinstance(b, datetime):
        return as_utc(a) == as_utc(b)
    return False
