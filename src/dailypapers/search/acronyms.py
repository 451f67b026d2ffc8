"""Acronyms learned from the corpus: "large language models (LLMs)" teaches that LLM is large language model.

Pure. Abstracts define their acronyms in parentheses; the long form is found the way Schwartz and Hearst
(2003) describe: walking back from the parenthesis, each character of the short form must appear in order,
the first one starting a word. Pairs seen in enough papers, and meaning one thing most of the time, make the
table that search expands queries with (both ways: `LLM` also finds "large language model", and a query
naming "large language model" also finds `LLM`).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# "(LLMs)", "(ViT)", "(RLHF)", "(MoE)": 2-10 characters, at least two capitals, no spaces.
_DEFINITION = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,9})\s*\)")
_WORD = re.compile(r"[a-z0-9]+")
MIN_PAPERS = 4  # a pair defined in fewer papers is not kept
MIN_SHARE = 0.6  # of the papers defining a short form, this share must agree on its long form
MAX_LONG_WORDS = 6


def short_key(text: str) -> str:
    """The lookup form of a short form: lowercase, a plural `s` after capitals dropped (`LLMs` -> `llm`)."""
    text = text.strip()
    if len(text) > 2 and text.endswith("s") and text[-2].isupper():
        text = text[:-1]
    return text.lower()


def long_key(words: Iterable[str]) -> str:
    """The lookup form of a long form: its words lowercased, a final plural `s` dropped."""
    out = [w.lower() for w in words]
    if out and len(out[-1]) > 3 and out[-1].endswith("s") and not out[-1].endswith("ss"):
        out[-1] = out[-1][:-1]
    return " ".join(out)


def long_form(short: str, before: str) -> str | None:
    """The long form that `short` abbreviates at the end of `before`, or None (Schwartz-Hearst)."""
    letters = [c.lower() for c in short_key(short) if c.isalnum()]
    if len(letters) < 2 or not letters[0].isalpha():
        return None
    text = before.rstrip()
    i = len(text) - 1
    for index in range(len(letters) - 1, -1, -1):
        char = letters[index]
        while i >= 0 and (text[i].lower() != char or (index == 0 and i > 0 and text[i - 1].isalnum())):
            i -= 1
        if i < 0:
            return None
        i -= 1
    start = text.rfind(" ", 0, i + 1) + 1
    found = text[start:].strip(" ,;:-")
    words = _WORD.findall(found.lower())
    if not 2 <= len(words) <= min(MAX_LONG_WORDS, len(letters) + 3):
        return None
    if short_key(short) in words:
        return None
    return " ".join(words)


def definitions(text: str) -> Iterable[tuple[str, str]]:
    """(short key, long key) of each acronym a text defines."""
    for match in _DEFINITION.finditer(text or ""):
        short = match.group(1)
        if sum(c.isupper() for c in short) < 2:
            continue
        window = text[max(0, match.start() - 120) : match.start()]
        found = long_form(short, window)
        if found:
            yield short_key(short), long_key(found.split())


@dataclass(slots=True)
class Learner:
    """Counts, per paper, the acronyms abstracts define."""

    counts: Counter[tuple[str, str]] = field(default_factory=Counter)

    def add(self, *texts: str) -> None:
        self.counts.update(set(pair for text in texts for pair in definitions(text)))

    def table(self, min_papers: int = MIN_PAPERS, min_share: float = MIN_SHARE) -> dict[str, str]:
        return choose(self.counts, min_papers, min_share)


def choose(
    counts: Mapping[tuple[str, str], int], min_papers: int = MIN_PAPERS, min_share: float = MIN_SHARE
) -> dict[str, str]:
    """short -> long for the pairs seen often enough whose short form mostly means that one long form."""
    by_short: dict[str, Counter[str]] = defaultdict(Counter)
    for (short, long), n in counts.items():
        by_short[short][long] += n
    table = {}
    for short, longs in by_short.items():
        long, n = longs.most_common(1)[0]
        if n >= min_papers and n >= min_share * sum(longs.values()):
            table[short] = long
    return table


@dataclass(frozen=True, slots=True)
class Expansion:
    start: int  # the query words [start, end) it replaces
    end: int
    words: tuple[str, ...]  # what they also mean


class Acronyms:
    """A learned table, both ways: what a query's words also mean."""

    def __init__(self, table: Mapping[str, str]) -> None:
        self.long_of = dict(table)
        self.short_of: dict[str, str] = {}
        for short, long in sorted(table.items()):
            self.short_of.setdefault(long, short)
        self.longest = max((len(k.split()) for k in self.short_of), default=0)

    def __len__(self) -> int:
        return len(self.long_of)

    def expand(self, words: list[str]) -> list[Expansion]:
        """Each acronym among the words (with its long form), and each long form (with its acronym)."""
        lowered = [w.lower().strip(".,;:()[]") for w in words]
        out = []
        for i, word in enumerate(lowered):
            long = self.long_of.get(short_key(words[i].strip(".,;:()[]"))) or self.long_of.get(word)
            if long:
                out.append(Expansion(i, i + 1, tuple(long.split())))
        for size in range(min(self.longest, len(lowered)), 1, -1):
            for i in range(len(lowered) - size + 1):
                key = long_key(lowered[i : i + size])
                short = self.short_of.get(key)
                if short and not any(e.start < i + size and i < e.end for e in out):
                    out.append(Expansion(i, i + size, (short,)))
        return sorted(out, key=lambda e: e.start)
