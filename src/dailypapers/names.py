"""Names of authors and organizations folded into keys, so that one spelling finds the others. Pure.

arXiv writes a name as its authors typed it: "José García", "Jose Garcia", "JOSÉ GARCÍA" are one key;
"J. García" is another (initials are not expanded: that would merge people silently). Letters of every
script are kept (case-folded, marks removed), so "王伟" and "Ляпунов" have keys of their own; a name made
only of symbols keeps its own folded text rather than an empty key.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_KEY_CHARS = 255
# Letters that do not decompose into a base letter and a mark under NFKD.
_LETTERS = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th", "ŀ": "l", "ħ": "h"}
)
_SEPARATORS = re.compile(r"[\W_]+", re.UNICODE)


def clean(text: str | None) -> str:
    """The text without control characters (NUL included: PostgreSQL refuses it in text), trimmed."""
    return "".join(ch for ch in text or "" if unicodedata.category(ch) != "Cc").strip()


def key(name: str | None) -> str:
    """The folded form of a name: case, accents, punctuation and spacing do not matter. "" for a blank."""
    text = unicodedata.normalize("NFKC", clean(name)).strip()
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).translate(_LETTERS)
    folded = " ".join(_SEPARATORS.sub(" ", unicodedata.normalize("NFC", bare)).split())
    if not folded:  # only symbols ("—", "★"): the text itself, spaces collapsed
        folded = " ".join(text.casefold().split())
    return folded[:MAX_KEY_CHARS]


def slug(name: str | None) -> str:
    """An organization's key as a path segment: "Tencent Hunyuan" -> "tencent-hunyuan"."""
    return key(name).replace(" ", "-")


def org_key_of_slug(value: str) -> str:
    """The key a `/orgs/{name}` path names: a slug or the name as written both work."""
    return key(value.replace("-", " "))


def author_path(name: str) -> str:
    """The page of an author name: `/authors/<the name, percent-encoded>`."""
    return "/authors/" + quote(name.strip(), safe="")


def org_path(name: str) -> str:
    return "/orgs/" + quote(slug(name), safe="")


def initials(name: str) -> bool:
    """Whether a name is initials only ("J. K.", "A.B.")."""
    parts = [p for p in _SEPARATORS.split(name) if p]
    return bool(parts) and all(len(p) == 1 for p in parts)
