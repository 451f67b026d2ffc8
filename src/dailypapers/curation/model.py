"""What a collection looks like to its readers: the store's typed answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dailypapers.curation import rules
from dailypapers.papers import PaperView, UserView


@dataclass(slots=True)
class ItemView:
    id: int
    position: int
    note: str | None
    added_at: datetime
    paper: PaperView


@dataclass(slots=True)
class CollectionView:
    id: int
    public_id: str
    owner: UserView
    title: str
    description: str | None
    private: bool
    theme: str
    position: int
    upvotes: int
    created_at: datetime
    updated_at: datetime
    item_count: int
    # All of them from `get`, the first few in lists (Hugging Face sends four there).
    items: list[ItemView] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return rules.slug(self.owner.username, self.title, self.public_id)

    @property
    def url(self) -> str:
        return f"/collections/{self.slug}"


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a reader's collections, as the "Add to collection" menu offers it."""

    public_id: str
    title: str
    private: bool
    holds: bool  # whether the paper at hand is in it already
