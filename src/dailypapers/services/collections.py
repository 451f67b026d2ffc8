"""Collections as the web, the API and the CLI use them: what a caller names (a slug, an item as
`huggingface_hub` sends it, a filter like `papers/2401.00001`) turned into the store's terms."""

from __future__ import annotations

from collections.abc import Sequence

from dailypapers import arxiv_ids
from dailypapers.curation import rules
from dailypapers.curation.model import CollectionView
from dailypapers.curation.rules import InvalidCollection
from dailypapers.store.collections import CollectionStore, PaperNotHere
from dailypapers.store.papers import SqlStore

ITEM_TYPES = ("paper", "model", "dataset", "space", "collection", "bucket")
# Filters of `GET /api/collections?item=`: Hugging Face's plural prefixes.
ITEM_PREFIXES = ("papers/", "models/", "datasets/", "spaces/", "collections/", "buckets/")


def paper_id_of(value: str) -> str:
    """The arXiv id an item names (`2401.00001`, `2401.00001v2`, `papers/2401.00001`); InvalidCollection
    otherwise."""
    text = (value or "").strip()
    text = text.removeprefix("papers/")
    try:
        return arxiv_ids.parse(text)[0]
    except arxiv_ids.InvalidArxivId:
        raise InvalidCollection(f"{value[:80]!r} is not an arXiv id") from None


class Collections:
    """The use cases of collections, over one CollectionStore."""

    def __init__(self, store: SqlStore) -> None:
        self.store = CollectionStore(store)

    @staticmethod
    def slug(owner: str, rest: str) -> rules.SlugParts:
        return rules.parse_slug(owner, rest)

    def add(
        self,
        slug: rules.SlugParts,
        actor_id: int,
        item_id: str,
        item_type: str = "paper",
        note: str | None = None,
    ) -> int:
        """Add an item as `add_collection_item` sends it; only papers live here."""
        if item_type not in ITEM_TYPES:
            raise InvalidCollection(f"item type must be one of {', '.join(ITEM_TYPES)}")
        if item_type != "paper":
            raise InvalidCollection("Only papers can be collected here")
        return self.store.add_item(slug, actor_id, paper_id_of(item_id), note)

    def add_to_new(
        self, owner_id: int, title: str, arxiv_id: str, note: str | None, *, private: bool = False
    ) -> CollectionView:
        """A new collection holding one paper (the "Add to collection" menu's "New collection"): every input
        is checked before anything is written, so a refused note leaves no empty collection behind."""
        paper = paper_id_of(arxiv_id)
        note = rules.note(note)
        rules.title(title)
        if self.store.store.get(paper) is None:
            raise PaperNotHere(f"Paper {paper} is not here")
        made = self.store.create(owner_id, title, private=private)
        self.store.add_item(rules.SlugParts(made.owner.username, made.public_id), owner_id, paper, note)
        return made

    @staticmethod
    def item_filter(values: Sequence[str]) -> tuple[list[str], bool]:
        """The arXiv ids of `item=` filters, and whether any filter was given at all (a filter naming only
        models or datasets matches nothing here, rather than everything)."""
        wanted: list[str] = []
        for value in values:
            if not value.startswith(ITEM_PREFIXES):
                raise InvalidCollection("item must look like papers/2401.00001")
            if value.startswith("papers/"):
                wanted.append(paper_id_of(value))
        return wanted, bool(values)
