"""A reader's profiles (named interests): rules for names, keywords and categories; the keyword filter."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_PROFILES = 10
MAX_NAME_CHARS = 60
MAX_KEYWORDS = 20
MAX_KEYWORD_CHARS = 60
MAX_CATEGORIES = 20
DEFAULT_NAME = "default"
SIGNALS = ("like", "dislike")
_CATEGORY = re.compile(r"^[a-z\-]+(\.[A-Za-z\-]+)?$")


class InvalidProfile(ValueError):
    """A profile that cannot be stored as asked; the message says what to change."""


@dataclass(frozen=True, slots=True)
class ProfileSpec:
    """What a reader may set on a profile, checked and normalised (`spec`)."""

    name: str
    musts: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()


def clean_name(name: str) -> str:
    """A profile's name, whitespace collapsed; InvalidProfile when empty or too long."""
    cleaned = " ".join(str(name).split())
    if not cleaned:
        raise InvalidProfile("A profile needs a name.")
    if len(cleaned) > MAX_NAME_CHARS:
        raise InvalidProfile(f"A profile's name has at most {MAX_NAME_CHARS} characters.")
    if not cleaned.isprintable():
        raise InvalidProfile("A profile's name cannot hold control characters.")
    return cleaned


def split_keywords(text: str) -> list[str]:
    """Keywords as a form sends them: one a line or separated by commas."""
    return [part for line in text.splitlines() for part in line.split(",") if part.strip()]


def _keywords(values: Iterable[str], what: str) -> tuple[str, ...]:
    found: list[str] = []
    for value in values:
        word = " ".join(str(value).lower().split())
        if not word:
            continue
        if len(word) > MAX_KEYWORD_CHARS or not word.isprintable():
            raise InvalidProfile(f"A keyword ({what}) has at most {MAX_KEYWORD_CHARS} printable characters.")
        if word not in found:
            found.append(word)
    if len(found) > MAX_KEYWORDS:
        raise InvalidProfile(f"At most {MAX_KEYWORDS} keywords ({what}).")
    return tuple(found)


def spec(name: str, musts: Iterable[str] = (), excludes: Iterable[str] = (), categories: Iterable[str] = ()):
    """A checked ProfileSpec. A must that mentions an exclude (must "medical imaging", never "medical") could
    never match anything: that is refused rather than stored as a profile that shows nothing."""
    must = _keywords(musts, "must mention")
    never = _keywords(excludes, "never")
    for word in must:
        for bad in never:
            if _mentions(word, bad):
                raise InvalidProfile(
                    f'"{word}" is both required and excluded (by "{bad}"): no paper could match.'
                )
    cats: list[str] = []
    for value in categories:
        cat = str(value).strip()
        if not cat:
            continue
        if not _CATEGORY.match(cat) or len(cat) > 32:
            raise InvalidProfile(f'"{cat[:40]}" is not an arXiv category (such as cs.CV).')
        if cat not in cats:
            cats.append(cat)
    if len(cats) > MAX_CATEGORIES:
        raise InvalidProfile(f"At most {MAX_CATEGORIES} categories.")
    return ProfileSpec(clean_name(name), must, never, tuple(cats))


def _pattern(word: str) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])" + re.escape(word) + r"(?![a-z0-9])")


def _mentions(text: str, word: str) -> bool:
    return _pattern(word).search(text) is not None


@dataclass(frozen=True, slots=True)
class KeywordFilter:
    """Musts (a paper mentions at least one) and excludes (it mentions none), in its title or abstract."""

    musts: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()

    def matched(self, text: str) -> tuple[bool, list[str]]:
        """Whether the paper passes, and the musts it mentions (for its reasons)."""
        lowered = text.lower()
        if any(_mentions(lowered, word) for word in self.excludes):
            return False, []
        hits = [word for word in self.musts if _mentions(lowered, word)]
        return (bool(hits) or not self.musts), hits
