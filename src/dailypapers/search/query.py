"""Reading what a user typed into a search box: pure, no engine. The keyword index turns it into queries."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dailypapers.search.types import MAX_QUERY_CHARS, InvalidQuery

# `author:Name`, `author:"First Last"` (also au: and authors:); any other `x:` is just text.
_FIELD = re.compile(r"(?:author|authors|au):", re.I)
# Full-text operator syntax people type out of habit; we rank by relevance instead of evaluating it.
_OPERATORS = re.compile(r"(?:AND|OR|NOT|NEAR(?:/\d+)?|&&|\|\|)")


@dataclass(slots=True)
class ParsedQuery:
    text: str  # the query as searched (cleaned and cut to MAX_QUERY_CHARS): what is embedded
    words: list[str] = field(default_factory=list)  # bare words, in order
    phrases: list[str] = field(default_factory=list)  # "quoted phrases": each must match
    authors: list[str] = field(default_factory=list)  # author: values: each must match an author
    prefix: str | None = None  # the last bare word, when it ends the query: also matched as a prefix


def clean(text: str) -> str:
    """Drop control characters, fold whitespace, cut to MAX_QUERY_CHARS; InvalidQuery when nothing is left."""
    if not isinstance(text, str):
        raise InvalidQuery("The query must be text.")
    text = "".join(ch if ch.isprintable() else " " for ch in text[: MAX_QUERY_CHARS * 4])
    text = " ".join(text.split())[:MAX_QUERY_CHARS].strip()
    if not text:
        raise InvalidQuery("Type something to search for.")
    if not any(ch.isalnum() for ch in text):
        raise InvalidQuery("The query has no words or numbers to search for.")
    return text


def parse(text: str) -> ParsedQuery:
    """Split a query into bare words, quoted phrases and author: terms. Never fails on odd input:
    an unbalanced quote is ignored, operators are dropped, everything else is words."""
    text = clean(text)
    parsed = ParsedQuery(text=text)
    i, n = 0, len(text)
    last_is_bare_word = False
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        last_is_bare_word = False
        match = _FIELD.match(text, i)
        if match and match.end() < n and not text[match.end()].isspace():
            i = match.end()
            value, i = _value(text, i)
            if value.strip():
                parsed.authors.append(value.strip())
            continue
        if ch == '"':
            end = text.find('"', i + 1)
            if end == -1:  # unbalanced: the quote means nothing
                i += 1
                continue
            if text[i + 1 : end].strip():
                parsed.phrases.append(text[i + 1 : end].strip())
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] != '"':
            end += 1
        word = text[i:end]
        i = end
        if _OPERATORS.fullmatch(word):
            continue
        parsed.words.append(word)
        last_is_bare_word = True
    if last_is_bare_word and parsed.words:
        parsed.prefix = parsed.words[-1]
    if not (parsed.words or parsed.phrases or parsed.authors):
        # Only operators: search for them as words rather than refuse.
        parsed.words = [w for w in text.replace('"', " ").split() if any(ch.isalnum() for ch in w)]
    return parsed


def _value(text: str, i: int) -> tuple[str, int]:
    """A field's value: a quoted phrase (to the closing quote, or the end) or a word."""
    if text[i] == '"':
        end = text.find('"', i + 1)
        if end == -1:
            return text[i + 1 :], len(text)
        return text[i + 1 : end], end + 1
    end = i
    while end < len(text) and not text[end].isspace() and text[end] != '"':
        end += 1
    return text[i:end], end
