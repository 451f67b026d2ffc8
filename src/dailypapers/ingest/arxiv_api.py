"""The arXiv search API (Atom): by id list, by query, by category and submission dates; paged by `start`.

Parsed by element name, never by position (the backend replaced in 2025 reordered elements), whitespace
collapsed, ids read from the entry's abs URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dailypapers.ingest import fields, safexml
from dailypapers.ingest.fields import SkipRecord
from dailypapers.ingest.pages import HarvestError, Page, Position, Skip, month_windows
from dailypapers.ingest.polite import FetchError, PoliteClient
from dailypapers.records import PaperRecord

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
MAX_TOTAL = 30_000  # the API serves no result past this index
ID_CHUNK = 100  # ids per id_list request
_CATEGORY = re.compile(r"[a-z][a-z-]*(?:\.[A-Za-z][A-Za-z-]*)?", re.A)


@dataclass(slots=True)
class FeedPage:
    total: int | None
    start: int | None
    records: list[PaperRecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    entries: int = 0


def parse_feed(body: bytes) -> FeedPage:
    """A page of search results. An API error (one entry titled "Error") raises BadPage(retry=False)."""
    root = safexml.parse(body)
    if root.tag != f"{ATOM}feed":
        raise safexml.BadPage(f"not an Atom feed (root element {_local(root.tag)!r})")
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        entry_id = entry.findtext(f"{ATOM}id") or ""
        if "/api/errors" in entry_id or safexml.text(entry.find(f"{ATOM}title")) == "Error":
            message = safexml.text(entry.find(f"{ATOM}summary")) or entry_id
            raise safexml.BadPage(f"arXiv API error: {message}", retry=False)
    page = FeedPage(
        total=_int(root.findtext(f"{OPENSEARCH}totalResults")),
        start=_int(root.findtext(f"{OPENSEARCH}startIndex")),
        entries=len(entries),
    )
    for index, entry in enumerate(entries):
        where = (entry.findtext(f"{ATOM}id") or f"entry {index}").strip()
        try:
            page.records.append(parse_entry(entry))
        except SkipRecord as exc:
            page.skipped.append(_skip(where, exc))
    return page


def _skip(where: str, exc: Exception) -> Skip:
    reason, _, detail = str(exc).partition(": ")
    return Skip(where[:200], reason, detail)


def parse_entry(entry) -> PaperRecord:
    arxiv_id, version = fields.arxiv_id(entry.findtext(f"{ATOM}id"))
    primary = entry.find(f"{ARXIV}primary_category")
    terms = [primary.get("term", "")] if primary is not None else []
    terms += [c.get("term", "") for c in entry.findall(f"{ATOM}category")]
    published = fields.moment(entry.findtext(f"{ATOM}published"))
    updated = fields.moment(entry.findtext(f"{ATOM}updated"))
    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=fields.required_text(safexml.text(entry.find(f"{ATOM}title")), "title"),
        abstract=fields.required_text(safexml.text(entry.find(f"{ATOM}summary")), "abstract"),
        authors=fields.authors(
            [safexml.text(a.find(f"{ATOM}name")) or "" for a in entry.findall(f"{ATOM}author")]
        ),
        categories=fields.categories([t for t in terms if _CATEGORY.fullmatch(t or "")]),
        published_at=published,
        updated_at=updated or published,
        comment=fields.optional_text(safexml.text(entry.find(f"{ARXIV}comment"))),
        doi=fields.optional_text(safexml.text(entry.find(f"{ARXIV}doi")), 255),
        journal_ref=fields.optional_text(safexml.text(entry.find(f"{ARXIV}journal_ref"))),
        source="arxiv-api",
    )
    return fields.finish(record)


def _int(value: str | None) -> int | None:
    try:
        return int(value.strip()) if value else None
    except ValueError:
        return None


def _local(tag: Any) -> str:
    return str(tag).rpartition("}")[2]


def valid_category(value: str) -> bool:
    return bool(_CATEGORY.fullmatch(value))


class ArxivApiSource:
    """One of: `ids` (an id list, with or without versions), `query` (search_query as arXiv takes it), or
    `categories` with `since`/`until` (submission dates, inclusive; cut into monthly windows)."""

    name = "arxiv"

    def __init__(
        self,
        client: PoliteClient,
        url: str,
        *,
        ids: list[str] | None = None,
        query: str | None = None,
        categories: list[str] | None = None,
        since: date | None = None,
        until: date | None = None,
        page_size: int = 200,
        max_results: int | None = None,
    ) -> None:
        if sum(x is not None and x != [] for x in (ids, query, categories)) != 1:
            raise ValueError("give exactly one of ids, query or categories")
        if categories is not None and since is None:
            raise ValueError("categories need a --since date")
        bad = [c for c in categories or [] if not valid_category(c)]
        if bad:
            raise ValueError(f"not arXiv categories: {', '.join(bad)}")
        self.client = client
        self.url = url
        self.ids = ids
        self.query = query
        self.categories = categories
        self.since = since
        self.until = until or date.today()
        self.page_size = max(1, min(page_size, 2000))
        self.max_results = min(max_results or MAX_TOTAL, MAX_TOTAL)

    def args(self) -> dict[str, Any]:
        if self.ids is not None:
            return {"ids": self.ids}
        if self.query is not None:
            return {"query": self.query, "max_results": self.max_results}
        return {"categories": self.categories, "since": str(self.since), "until": str(self.until)}

    def fetch(self, position: Position | None) -> Iterator[Page]:
        position = position or {}
        if self.ids is not None:
            yield from self._by_ids(position)
        elif self.query is not None:
            yield from self._search(self.query, "relevance", "descending", int(position.get("start", 0)))
        else:
            yield from self._by_category(position)

    # -- by id ------------------------------------------------------------------------------------------

    def _by_ids(self, position: Position) -> Iterator[Page]:
        wanted: dict[str, str] = {}  # the id as asked (maybe with version) -> the id without version
        bad: list[Skip] = []
        for raw in self.ids or []:
            try:
                arxiv_id, version = fields.arxiv_id(raw)
            except SkipRecord as exc:
                bad.append(_skip(str(raw)[:80], exc))
                continue
            wanted[f"{arxiv_id}v{version}" if version else arxiv_id] = arxiv_id
        asked = list(wanted)
        chunks = [asked[i : i + ID_CHUNK] for i in range(0, len(asked), ID_CHUNK)] or [[]]
        for index in range(int(position.get("chunk", 0)), len(chunks)):
            chunk = chunks[index]
            page = FeedPage(total=0, start=0)
            if chunk:
                page = self._get({"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)})
            found = {r.arxiv_id for r in page.records} | {s.where for s in page.skipped}
            missing = [Skip(a, "not found on arXiv") for a in chunk if wanted[a] not in found]
            done = index + 1 == len(chunks)
            yield Page(
                records=page.records,
                position=None if done else {"chunk": index + 1},
                fetched=page.entries,
                skipped=(bad if index == 0 else []) + page.skipped + missing,
                label=f"ids {index * ID_CHUNK + 1}-{index * ID_CHUNK + len(chunk)} of {len(asked)}",
                total=len(asked),
            )

    # -- by category and dates ---------------------------------------------------------------------------

    def _by_category(self, position: Position) -> Iterator[Page]:
        windows = month_windows(self.since, self.until)
        cats = " OR ".join(f"cat:{c}" for c in self.categories or [])
        cats = f"({cats})" if len(self.categories or []) > 1 else cats
        first = int(position.get("window", 0))
        for index in range(first, len(windows)):
            start, end = windows[index]
            query = f"{cats} AND submittedDate:[{start:%Y%m%d}0000 TO {end:%Y%m%d}2359]"
            yield from self._search(
                query,
                "submittedDate",
                "ascending",
                int(position.get("start", 0)) if index == first else 0,
                window=index,
                last=index + 1 == len(windows),
                prefix=f"{start:%Y-%m} ",
            )

    # -- paging ------------------------------------------------------------------------------------------

    def _search(
        self,
        query: str,
        sort_by: str,
        sort_order: str,
        start: int,
        *,
        window: int | None = None,
        last: bool = True,
        prefix: str = "",
    ) -> Iterator[Page]:
        while True:
            size = min(self.page_size, self.max_results - start)
            if size <= 0:
                return
            params = {
                "search_query": query,
                "start": start,
                "max_results": size,
                "sortBy": sort_by,
                "sortOrder": sort_order,
            }
            page = self._get(params)
            total = min(page.total or 0, self.max_results)
            start += page.entries
            finished = start >= total or page.entries == 0
            if finished:
                after = None if last else {"window": (window or 0) + 1, "start": 0}
            else:
                after = {"start": start} if window is None else {"window": window, "start": start}
            yield Page(
                records=page.records,
                position=after,
                fetched=page.entries,
                skipped=page.skipped,
                label=f"{prefix}{start}/{total}",
                total=total if window is None else None,
            )
            if finished:
                return

    def _get(self, params: dict) -> FeedPage:
        try:
            return self.client.get(self.url, params, _parse_nonempty_feed)
        except FetchError as exc:
            message = str(exc)
            if exc.status == 400 and exc.body:
                try:
                    parse_feed(exc.body)
                except safexml.BadPage as bad:
                    message = bad.reason
            raise HarvestError(message) from None


def _parse_nonempty_feed(body: bytes) -> FeedPage:
    page = parse_feed(body)
    inside = page.total and page.start is not None and page.start < min(page.total, MAX_TOTAL)
    if page.entries == 0 and inside:
        # arXiv's known flake under load: an empty page inside the results; asking again fixes it.
        raise safexml.BadPage(f"empty page at start={page.start} of {page.total} results")
    return page
