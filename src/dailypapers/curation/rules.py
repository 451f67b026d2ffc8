"""The rules of a collection, pure: what a title, description, note and theme may be, how a slug is made
from a title and read back, and where an item lands when it moves.

A slug is Hugging Face's: `<owner>/<title words>-<24 hex digits>`. The hex digits are the collection's own
random public id, so a renamed collection keeps working under its old slug, and a private one's address is
not guessable from its neighbours'.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

MAX_TITLE_CHARS = 100
MAX_DESCRIPTION_CHARS = 1000
MAX_NOTE_CHARS = 500
MAX_ITEMS = 1000
MAX_COLLECTIONS_PER_OWNER = 500
# Hugging Face's collection themes; a collection without one is "orange" there too.
THEMES = ("orange", "blue", "green", "purple", "pink", "indigo")
DEFAULT_THEME = "orange"
PUBLIC_ID_HEX = 24
_SLUG_TAIL = re.compile(rf"(?:^|-)([0-9a-f]{{{PUBLIC_ID_HEX}}})$")
OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
PUBLIC_ID = re.compile(rf"^[0-9a-f]{{{PUBLIC_ID_HEX}}}$")
_NON_WORD = re.compile(r"[^a-z0-9]+")
SLUG_WORDS_CHARS = 60


class InvalidCollection(ValueError):
    """A title, description, note, theme, position or slug that cannot be: the caller fixes it (4xx)."""


class CollectionNotFound(LookupError):
    """No such collection, or not one the caller may see or change: the two are never told apart."""


class ItemNotFound(LookupError):
    """No such item in that collection."""


class DuplicateItem(ValueError):
    """The paper is in the collection already (409)."""


class DuplicateCollection(ValueError):
    """The owner has a collection of that title already (409); `slug` names it."""

    def __init__(self, message: str, slug: str) -> None:
        super().__init__(message)
        self.slug = slug


@dataclass(frozen=True, slots=True)
class SlugParts:
    owner: str
    public_id: str


def new_public_id() -> str:
    return secrets.token_hex(PUBLIC_ID_HEX // 2)


def _clean(text: str | None) -> str:
    """Text as typed, without control characters, surrounding blanks or NULs (which PostgreSQL refuses)."""
    if text is None:
        return ""
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc").strip()


def title(value: str | None) -> str:
    cleaned = " ".join(_clean(value).split())
    if not cleaned:
        raise InvalidCollection("A collection needs a title")
    if len(cleaned) > MAX_TITLE_CHARS:
        raise InvalidCollection(f"A title has at most {MAX_TITLE_CHARS} characters")
    return cleaned


def description(value: str | None) -> str | None:
    cleaned = _clean(value)
    if len(cleaned) > MAX_DESCRIPTION_CHARS:
        raise InvalidCollection(f"A description has at most {MAX_DESCRIPTION_CHARS} characters")
    return cleaned or None


def note(value: str | None) -> str | None:
    """A note on an item: plain text of at most 500 characters (Hugging Face's limit); empty is none."""
    cleaned = _clean(value)
    if len(cleaned) > MAX_NOTE_CHARS:
        raise InvalidCollection(f"A note has at most {MAX_NOTE_CHARS} characters ({len(cleaned)} given)")
    return cleaned or None


def theme(value: str | None) -> str:
    if value is None:
        return DEFAULT_THEME
    if value not in THEMES:
        raise InvalidCollection(f"theme must be one of {', '.join(THEMES)}")
    return value


def slug_words(text: str) -> str:
    """The title as slug words: ASCII, lower case, dashes; "collection" when nothing of it is left."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = _NON_WORD.sub("-", folded).strip("-")[:SLUG_WORDS_CHARS].strip("-")
    return words or "collection"


def slug(owner: str, title_text: str, public_id: str) -> str:
    return f"{owner}/{slug_words(title_text)}-{public_id}"


def parse_slug(owner: str, rest: str) -> SlugParts:
    """`owner` and `words-<24 hex>` (or the hex alone) of a slug; InvalidCollection if they do not parse."""
    if not OWNER.match(owner or ""):
        raise InvalidCollection("Not a collection slug: the owner part is not a username")
    match = _SLUG_TAIL.search(rest or "")
    if match is None or len(rest) > SLUG_WORDS_CHARS + PUBLIC_ID_HEX + 200:
        raise InvalidCollection("Not a collection slug: it ends with '-' and 24 hexadecimal digits")
    return SlugParts(owner, match.group(1))


def moved(order: list[int], item: int, position: int) -> list[int]:
    """`order` with `item` moved to `position` (clamped to the ends), the rest keeping their order."""
    if position < 0:
        raise InvalidCollection("position must be 0 or more")
    rest = [i for i in order if i != item]
    rest.insert(min(position, len(rest)), item)
    return rest
