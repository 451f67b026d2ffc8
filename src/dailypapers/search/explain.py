"""Why a result matched, in plain words: where the query's words are (title, abstract, authors, a key
phrase of the paper), whether a topic of several words is there as a unit, what an acronym stood for, and
whether it was found by meaning. Pure: from the texts and the hit's ranks, no engine.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from dailypapers import highlight

# Where, in the order they are said.
PLACES = ("title", "abstract", "keyPhrase", "authors")
PLACE_WORDS = {"title": "title", "abstract": "abstract", "keyPhrase": "key phrases", "authors": "authors"}


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason: `where` is title, abstract, keyPhrase, authors or meaning; `text` says it in words."""

    where: str
    text: str
    phrase: str | None = None  # the topic found as a unit there, if any

    def to_json(self) -> dict[str, str | None]:
        return {"where": self.where, "text": self.text, "phrase": self.phrase}


def _phrase_pattern(words: Sequence[str]) -> re.Pattern[str]:
    """The words one after another (any punctuation between, word endings free: "chains-of-thought")."""
    return re.compile(r"(?<!\w)" + r"\W+".join(re.escape(w) + r"\w*" for w in words) + r"(?!\w)")


def topic_phrases(query: str) -> list[tuple[str, ...]]:
    """The runs of several words that a query asks for as a unit: quoted phrases, and a short bare query
    (2-4 words) as a whole. Folded, as highlight folds."""
    terms = highlight.parse_terms(query)
    phrases = [t.words for t in terms if t.is_phrase]
    bare = re.sub(r'"[^"]*"', " ", query)
    words = tuple(highlight.fold(w) for w in re.findall(r"\w+", bare))
    if 2 <= len(words) <= 4 and words not in phrases:
        phrases.append(words)
    return phrases


def reasons(
    query: str,
    *,
    title: str,
    abstract: str,
    authors: Sequence[str] = (),
    key_phrases: Sequence[str] = (),
    keyword: bool,
    semantic: bool,
    expansions: Sequence[tuple[str, str]] = (),
) -> list[Reason]:
    """The reasons a paper is in the results of `query`. `keyword`/`semantic`: which ranking found it;
    `expansions`: (what was typed, what it also means) pairs the search used (LLM -> large language model)."""
    out: list[Reason] = []
    if keyword:
        terms = highlight.parse_terms(query)
        texts = {
            "title": title or "",
            "abstract": abstract or "",
            "keyPhrase": "; ".join(key_phrases),
            "authors": ", ".join(authors),
        }
        phrases = topic_phrases(query)
        for place in PLACES:
            text = texts[place]
            if not text:
                continue
            folded = highlight.fold(text)
            unit = next((p for p in phrases if _phrase_pattern(p).search(folded)), None)
            if unit is not None:
                words = " ".join(unit)
                out.append(Reason(place, f"“{words}” in the {PLACE_WORDS[place]}", words))
                continue
            if place == "authors" and not any(len(t.words) == 1 for t in terms):
                continue
            found = highlight.spans(text, terms)
            if found:
                out.append(Reason(place, f"words in the {PLACE_WORDS[place]}"))
        for typed, meant in expansions:
            for place in ("title", "abstract", "keyPhrase"):
                text = texts[place]
                if text and _phrase_pattern(tuple(meant.split())).search(highlight.fold(text)):
                    out.append(Reason(place, f"“{meant}” ({typed}) in the {PLACE_WORDS[place]}", meant))
                    break
        if not out:
            out.append(Reason("words", "words in another form"))
    if semantic:
        out.append(Reason("meaning", "close in meaning"))
    return out


def sentence(found: Sequence[Reason]) -> str:
    """The reasons as one line: "Matched: “chain of thought” in the title and abstract; words in the
    authors; close in meaning" (or "Close in meaning" alone). Consecutive reasons saying the same thing of
    several places are said once."""
    groups: list[tuple[str, list[str]]] = []  # (what, places)
    meaning = False
    for reason in found:
        if reason.where == "meaning":
            meaning = True
            continue
        what, _, place = reason.text.rpartition(" in the ")
        if not what:
            groups.append((reason.text, []))
        elif groups and groups[-1][0] == what and groups[-1][1]:
            groups[-1][1].append(place)
        else:
            groups.append((what, [place]))
    parts = [f"{what} in the {_and(places)}" if places else what for what, places in groups]
    text = ("Matched: " + "; ".join(parts)) if parts else ""
    if meaning:
        text = f"{text}; close in meaning" if text else "Close in meaning"
    return text


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
