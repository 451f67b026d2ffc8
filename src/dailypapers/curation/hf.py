"""Collections in the shapes of Hugging Face's collections API, as `huggingface_hub`'s `Collection` and
`CollectionItem` read them: `slug`, `owner`, `items[]._id/id/type/position/note`, `lastUpdated`, `theme`,
`upvotes`. Pure functions."""

from __future__ import annotations

import html
import re
from typing import Any

from dailypapers import hf_shapes
from dailypapers.curation.model import CollectionView, ItemView

_ITEM_ID = re.compile(r"^[0-9a-f]{24}$")


def item_object_id(item_id: int) -> str:
    """An item's `_id`: its row id as 24 hex digits (Hugging Face's ids are Mongo ids of that length)."""
    return f"{item_id:024x}"


def parse_item_object_id(value: str) -> int | None:
    """The row id of an item's `_id`, or None when it is not one of ours."""
    if not _ITEM_ID.match(value or ""):
        return None
    number = int(value, 16)
    return number if 0 < number < 2**63 else None


def note(text: str | None) -> dict[str, str] | None:
    """A note as Hugging Face sends it: the plain text and its HTML (escaped, line breaks kept)."""
    if text is None:
        return None
    return {"text": text, "html": html.escape(text).replace("\n", "<br>")}


def item(view: ItemView) -> dict[str, Any]:
    paper = view.paper
    body: dict[str, Any] = {
        "_id": item_object_id(view.id),
        "id": paper.arxiv_id,
        "type": "paper",
        "position": view.position,
        "title": paper.title,
        "upvotes": paper.upvotes,
        "publishedAt": hf_shapes.timestamp(paper.published_at),
        "addedAt": hf_shapes.timestamp(view.added_at),
    }
    if view.note is not None:
        body["note"] = note(view.note)
    return body


def collection(view: CollectionView, upvoted: bool | None = None, *, listed: bool = False) -> dict[str, Any]:
    """A collection; `listed` as in lists, which carry no `position` (the client numbers a list itself, and
    refuses one that carries it)."""
    body: dict[str, Any] = {
        "_id": view.public_id,
        "slug": view.slug,
        "title": view.title,
        "description": view.description,
        "owner": hf_shapes.user(view.owner),
        "items": [item(i) for i in view.items],
        "numItems": view.item_count,
        "lastUpdated": hf_shapes.timestamp(view.updated_at),
        "createdAt": hf_shapes.timestamp(view.created_at),
        "position": view.position,
        "private": view.private,
        "theme": view.theme,
        "upvotes": view.upvotes,
        "url": view.url,
    }
    if upvoted is not None:
        body["isUpvotedByUser"] = upvoted
    if listed:
        del body["position"]
    return body
