"""Highlighted titles and abstracts: the `highlightedTitle` and `highlightedSummary` of a search result.

Pure. A query is read the way a person means it, not the way a full-text engine parses it: words are matched
case- and accent-insensitively, as word prefixes (`transform` marks `Transformers`), quoted phrases are marked
as one run, and stop words, operators (AND, OR, NOT, NEAR) and punctuation are ignored. The segments spell the
original string exactly, character for character.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

SegmentType = Literal["text", "highlight"]

# Words shorter than this match only whole words: a prefix `x` or `gp` would mark half the abstract.
MIN_PREFIX = 3
MAX_TERMS = 64  # a pasted abstract as a query still highlights in linear time

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having
    he her here hers herself him himself his how i if in into is it its itself just me more most my myself no
    nor not of off on once only or other our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours yourself
    yourselves near""".split()
)

_WORD = re.compile(r"\w+")
_PHRASE = re.compile(r'"([^"]*)"')


class _FoldTable(dict):
    """`str.translate` table folding case and accents one character to one character (so positions in the
    folded text are positions in the original): `É` -> `e`, `ï` -> `i`. A character whose folded form is
    longer (`ß` -> `ss`, `ﬁ` -> `fi`) is only lowercased. Filled lazily, shared by all queries."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        lowered = char.lower() if len(char.lower()) == 1 else char
        base = [c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c)]
        folded = base[0] if len(base) == 1 else lowered
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Case- and accent-insensitive form of a text, as long as the text: `Naïve` -> `naive`."""
    return text.translate(_FOLD)


@dataclass(frozen=True, slots=True)
class Term:
    """One word of the query, or a quoted phrase (several words, matched consecutively)."""

    words: tuple[str, ...]  # folded

    @property
    def is_phrase(self) -> bool:
        return len(self.words) > 1


def _prefixes(word: str) -> bool:
    return len(word) >= MIN_PREFIX or (word.isdigit() and len(word) > 1)


def _keep(word: str) -> bool:
    return bool(word) and word not in STOP_WORDS and not word.startswith("_")


def parse_terms(query: str) -> list[Term]:
    """The terms a query asks to highlight: quoted phrases first, then single words, without stop words."""
    terms: list[Term] = []
    seen: set[tuple[str, ...]] = set()

    def add(words: tuple[str, ...]) -> None:
        if words and words not in seen and len(terms) < MAX_TERMS:
            seen.add(words)
            terms.append(Term(words))

    # An unbalanced quote is a typo, not a phrase: only closed pairs count.
    for match in _PHRASE.finditer(query):
        words = tuple(fold(w) for w in _WORD.findall(match.group(1)))
        if len(words) > 1:
            add(words)
        elif words and _keep(words[0]):
            add(words)
    rest = _PHRASE.sub(" ", query)
    for word in _WORD.findall(rest):
        folded = fold(word)
        if _keep(folded):
            add((folded,))
    return terms


@lru_cache(maxsize=256)
def _pattern(terms: tuple[Term, ...]) -> re.Pattern[str]:
    """One regex for all the terms, run over the folded text: phrases first, longest first, so that at any
    word the longest phrase starting there wins over its single words; a word matches whole, or as the start
    of a longer word when it is long enough."""

    def word(w: str) -> str:
        return re.escape(w) + (r"\w*" if _prefixes(w) else r"(?!\w)")

    ordered = sorted(terms, key=lambda t: -len(t.words))
    alternatives = [r"\W+".join(word(w) for w in t.words) for t in ordered]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")")


def spans(text: str, terms: list[Term]) -> list[tuple[int, int]]:
    """Character spans of `text` to highlight, sorted and not overlapping."""
    if not terms or not text:
        return []
    return [m.span() for m in _pattern(tuple(terms)).finditer(fold(text)) if m.end() > m.start()]


def segments(text: str, query: str | list[Term]) -> list[dict[str, str]]:
    """`[{"type": "text"|"highlight", "text": ...}]` spelling `text` exactly, with the query's matches marked.

    Adjacent segments never share a type and none is empty; an empty `text` gives `[]`.
    """
    terms = parse_terms(query) if isinstance(query, str) else query
    out: list[dict[str, str]] = []
    position = 0
    for start, end in spans(text, terms):
        if start > position:
            out.append({"type": "text", "text": text[position:start]})
        if out and out[-1]["type"] == "highlight" and start == position:
            out[-1]["text"] += text[start:end]
        else:
            out.append({"type": "highlight", "text": text[start:end]})
        position = end
    if position < len(text):
        out.append({"type": "text", "text": text[position:]})
    return out


def excerpt(parts: list[dict[str, str]], size: int = 420, lead: int = 120) -> list[dict[str, str]]:
    """A display window of `size` characters around the first highlight, cut at spaces and marked with `…`.

    For cards, where a match deep in an abstract would otherwise be clipped away; not for the API, whose
    segments spell the whole string.
    """
    text = "".join(p["text"] for p in parts)
    if len(text) <= size:
        return parts
    first = 0
    offset = 0
    for part in parts:
        if part["type"] == "highlight":
            first = offset
            break
        offset += len(part["text"])
    start = max(0, first - lead)
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < first else start
    end = min(len(text), start + size)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    out: list[dict[str, str]] = []
    offset = 0
    for part in parts:
        low, high = max(offset, start), min(offset + len(part["text"]), end)
        if low < high:
            out.append({"type": part["type"], "text": part["text"][low - offset : high - offset]})
        offset += len(part["text"])
    if start > 0:
        out.insert(0, {"type": "text", "text": "… "})
    if end < len(text):
        out.append({"type": "text", "text": " …"})
    return out
