"""arXiv's daily listings, `<base>/rss/<cats>` (RSS 2.0) or `<base>/atom/<cats>`: one announcement per feed.

Each item says how it was announced (`arxiv:announce_type`: new, cross, replace, replace-cross); the
description is `arXiv:<id>v<n> Announce Type: <type> \\nAbstract: <abstract>`. Listings give no submission
date, so records from here leave `published_at` to the API and OAI sources.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dailypapers.ingest import fields, safexml
from dailypapers.ingest.arxiv_api import valid_category
from dailypapers.ingest.fields import SkipRecord
from dailypapers.ingest.pages import HarvestError, Page, Position, Skip
from dailypapers.ingest.polite import FetchError, PoliteClient
from dailypapers.records import PaperRecord

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
_ABSTRACT = re.compile(r"^\s*arXiv:\S+\s+Announce Type:\s*\S+\s*Abstract:\s*", re.I | re.S)


@dataclass(slots=True)
class Listing:
    records: list[PaperRecord] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    entries: int = 0
    announce_types: dict[str, str] = field(default_factory=dict)  # arxiv id -> new/cross/replace/...


def parse_listing(body: bytes) -> Listing:
    """An RSS 2.0 or Atom listing."""
    root = safexml.parse(body)
    if root.tag == "rss":
        channel = root.find("channel")
        items = channel.findall("item") if channel is not None else []
        parse = _rss_item
    elif root.tag == f"{ATOM}feed":
        items = root.findall(f"{ATOM}entry")
        parse = _atom_entry
    else:
        raise safexml.BadPage(f"not an RSS or Atom feed (root element {root.tag!r})")
    listing = Listing(entries=len(items))
    for index, item in enumerate(items):
        try:
            record, announce = parse(item)
        except SkipRecord as exc:
            reason, _, detail = str(exc).partition(": ")
            listing.skipped.append(Skip(f"item {index}", reason, detail))
            continue
        listing.records.append(record)
        listing.announce_types[record.arxiv_id] = announce
    return listing


def _abstract(description: str | None) -> str:
    return fields.required_text(_ABSTRACT.sub("", description or "", count=1), "abstract")


def _record(
    guid: str | None, link: str | None, title, description, creators, cats, announce, doi, jref
) -> tuple[PaperRecord, str]:
    raw_id = guid or ""
    if not raw_id or "arxiv.org:" not in raw_id.lower():
        match = re.match(r"\s*arXiv:(\S+)", description or "")
        raw_id = match.group(1) if match else (link or "")
    arxiv_id, version = fields.arxiv_id(raw_id)
    announce = (announce or "").strip().lower()
    record = PaperRecord(
        arxiv_id=arxiv_id,
        version=version,
        title=fields.required_text(title, "title"),
        abstract=_abstract(description),
        authors=fields.authors(fields.split_authors(creators or "")),
        categories=fields.categories([c for c in cats if valid_category(c)]),
        doi=fields.optional_text(doi, 255),
        journal_ref=fields.optional_text(jref),
        source="arxiv-rss",
        extra={"announce_type": announce} if announce else {},
    )
    return fields.finish(record), announce


def _rss_item(item) -> tuple[PaperRecord, str]:
    description = item.findtext("description")
    return _record(
        item.findtext("guid"),
        item.findtext("link"),
        safexml.text(item.find("title")),
        description,
        safexml.text(item.find(f"{DC}creator")),
        [(c.text or "").strip() for c in item.findall("category")],
        item.findtext(f"{ARXIV}announce_type"),
        safexml.text(item.find(f"{ARXIV}DOI")),
        safexml.text(item.find(f"{ARXIV}journal_reference")),
    )


def _atom_entry(entry) -> tuple[PaperRecord, str]:
    link = entry.find(f"{ATOM}link")
    return _record(
        entry.findtext(f"{ATOM}id"),
        link.get("href") if link is not None else None,
        safexml.text(entry.find(f"{ATOM}title")),
        entry.findtext(f"{ATOM}summary"),
        safexml.text(entry.find(f"{DC}creator")),
        [c.get("term", "") for c in entry.findall(f"{ATOM}category")],
        entry.findtext(f"{ARXIV}announce_type"),
        safexml.text(entry.find(f"{ARXIV}DOI")),
        safexml.text(entry.find(f"{ARXIV}journal_reference")),
    )


class RssSource:
    """Today's listing of one or more categories (joined with `+` into one request)."""

    name = "rss"

    def __init__(
        self,
        client: PoliteClient,
        base_url: str,
        categories: list[str],
        *,
        kind: str = "rss",
        announce_types: tuple[str, ...] = ANNOUNCE_TYPES,
    ) -> None:
        bad = [c for c in categories if not valid_category(c)]
        if not categories or bad:
            raise ValueError(f"not arXiv categories: {', '.join(bad) or '(none)'}")
        if kind not in ("rss", "atom"):
            raise ValueError("kind must be rss or atom")
        self.client = client
        self.url = f"{base_url.rstrip('/')}/{kind}/{'+'.join(categories)}"
        self.categories = categories
        self.kind = kind
        self.announce_types = announce_types

    def args(self) -> dict[str, Any]:
        return {"categories": self.categories, "kind": self.kind, "types": list(self.announce_types)}

    def fetch(self, position: Position | None) -> Iterator[Page]:
        try:
            listing = self.client.get(self.url, None, parse_listing)
        except FetchError as exc:
            raise HarvestError(str(exc)) from None
        keep = [r for r in listing.records if listing.announce_types.get(r.arxiv_id) in self.announce_types]
        skipped = list(listing.skipped) + [
            Skip(r.arxiv_id, "announce type not followed", listing.announce_types.get(r.arxiv_id, ""))
            for r in listing.records
            if r not in keep
        ]
        yield Page(
            records=keep,
            position=None,
            fetched=listing.entries,
            skipped=skipped,
            label="+".join(self.categories),
            total=listing.entries,
        )
