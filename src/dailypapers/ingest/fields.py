"""Field rules shared by the arXiv parsers: ids, author lists, dates, withdrawals. Pure."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from email.utils import parsedate_to_datetime

from dailypapers import arxiv_ids
from dailypapers.importers.formats import MAX_AUTHORS, MAX_TEXT, clean
from dailypapers.records import PaperRecord

# "This paper has been withdrawn by the author", "withdrawn due to an error", "Paper withdrawn": the
# comment of a withdrawal. Not a bare "withdrawn" (e.g. "a withdrawn drug").
_WITHDRAWN = re.compile(
    r"\b(?:has\s+been|have\s+been|is\s+being|is|was|been|paper|article|submission|manuscript|version)"
    r"\s+(?:(?:now|hereby|temporarily|permanently)\s+)?withdrawn\b"
    r"|\bwithdrawn\s+(?:by|due|because|for|from\s+arxiv|as)\b|^\s*withdrawn\b",
    re.I,
)
_OAI_PREFIX = re.compile(r"^oai:arXiv\.org:", re.I)


class SkipRecord(ValueError):
    """A record that cannot be stored; the message is the reason (short, before any ': detail')."""


def arxiv_id(value: str | None) -> tuple[str, int | None]:
    """(id, version) from an id, an abs URL or an OAI identifier; SkipRecord for anything else."""
    if not value:
        raise SkipRecord("no arXiv id")
    try:
        return arxiv_ids.parse(_OAI_PREFIX.sub("", value.strip()))
    except arxiv_ids.InvalidArxivId:
        raise SkipRecord(f"not an arXiv id: {value[:80]!r}") from None


def is_withdrawn(comment: str | None) -> bool | None:
    """True for a withdrawal comment, None otherwise ("this source does not say")."""
    return True if comment and _WITHDRAWN.search(comment) else None


def split_authors(value: str) -> list[str]:
    """`A, B (MIT, Cambridge) and C` -> [A, B, C]: commas and "and" outside parentheses separate names,
    and parenthesized affiliations are dropped."""
    names, current, depth = [], [], 0
    for token in _AUTHOR_TOKENS.split(value):
        if token == "(":
            depth += 1
        elif token == ")":
            depth = max(0, depth - 1)
        elif depth == 0 and (token == "," or _AND.fullmatch(token)):
            names.append("".join(current))
            current = []
            continue
        current.append(token)
    names.append("".join(current))
    result = []
    for name in names:
        while _PARENTHESIZED.search(name):
            name = _PARENTHESIZED.sub(" ", name)
        name = clean(name.replace("(", " ").replace(")", " "))
        if name:
            result.append(name)
    return result


_AUTHOR_TOKENS = re.compile(r"(\(|\)|,|\s+and\s+)")
_AND = re.compile(r"\s+and\s+")
_PARENTHESIZED = re.compile(r"\([^()]*\)")


def authors(names: list[str]) -> list[str]:
    names = [clean(n)[:500] for n in names if n and clean(n)]
    if not names:
        raise SkipRecord("no authors")
    if len(names) > MAX_AUTHORS:
        raise SkipRecord(f"more than {MAX_AUTHORS} authors")
    return names


def required_text(value: str | None, what: str) -> str:
    value = clean(value) if value else ""
    if not value:
        raise SkipRecord(f"missing {what}")
    if len(value) > MAX_TEXT:
        raise SkipRecord(f"{what} longer than {MAX_TEXT} characters")
    return value


def optional_text(value: str | None, limit: int | None = None) -> str | None:
    value = clean(value) if value else ""
    if not value:
        return None
    return value[:limit] if limit else value[:MAX_TEXT]


def moment(value: str | None) -> datetime | None:
    """An ISO 8601 timestamp, an RFC 2822 date (arXivRaw) or a bare date, as UTC; None if unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time(0))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return None


def categories(values: list[str]) -> list[str] | None:
    seen: dict[str, None] = {}
    for value in values:
        for item in (value or "").split():
            seen.setdefault(item[:64], None)
    return list(seen) or None


def finish(record: PaperRecord) -> PaperRecord:
    """Fill what follows from the rest: the versions map from the version and dates, withdrawal."""
    if record.withdrawn is None:
        record.withdrawn = is_withdrawn(record.comment)
    if record.versions is None and record.version:
        versions: dict[int, datetime | None] = {record.version: record.updated_at}
        if record.published_at is not None:
            versions.setdefault(1, record.published_at)
        record.versions = versions
    return record
