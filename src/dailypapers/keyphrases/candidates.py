"""Candidate key phrases of a text: runs of content words between stopwords and punctuation, cut into n-grams.

No part-of-speech tagger ships with dailypapers (spaCy's and NLTK's models are downloads, not packages), so
noun phrases are approximated the way RAKE finds its candidates: a phrase never crosses punctuation or a
function word, never starts with an adverb or ends with a verb form or an adjective ending. The embedding
score (dailypapers.keyphrases.extract) then picks among them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

MAX_WORDS = 3
MIN_CHARS = 3

# Function words and the verbs, adverbs and vague words of abstracts: a phrase stops at any of them.
STOPWORDS = frozenset(
    """
    a about above across after again against all almost along already also although always am among an and
    another any anyone anything are around as at back be became because become becomes been before being
    below between beyond both but by can cannot could did do does doing done down due during each either
    else enough especially etc even ever every few first for from further furthermore had has have having he
    her here hers herself him himself his how however i if in into is it its itself just last least less
    many may me might more moreover most mostly much must my myself namely neither never nevertheless new
    next no nor not now of off often on once one only onto or other others otherwise our ours ourselves out
    over own per perhaps rather same second several shall she should since so some still such than that the
    their theirs them themselves then there thereby therefore these they third this those though three
    through throughout thus to together too toward towards two under unlike until up upon us very via was
    we well were what whatever when where whereas whether which while who whom whose why will with within
    without would yet you your yours yourself
    achieve achieved achieves achieving address addressed addresses addressing allow allows apply applied
    applies based bring brings called can't compared comparing consider considered consists contain contains
    demonstrate demonstrated demonstrates demonstrating describe described design designed despite develop
    developed develops enable enabled enables enabling ensure ensures establish evaluate evaluated evaluates
    exhibit exhibits existing explore explored explores extensive extensively find finds found further
    give given gives help helps highlight highlights identify identifies improve improved improves
    improving include includes including introduce introduced introduces introducing investigate
    investigated investigates lead leads leverage leverages leveraging make makes making novel obtain
    obtained obtains offer offers outperform outperformed outperforming outperforms perform performed
    performs present presented presents produce produces propose proposed proposes proposing provide
    provided provides providing reach reaches reduce reduced reduces reducing remain remains report reported
    require required requires requiring reveal reveals see seen show showed shown shows significant
    significantly simple solve solves state-of-the-art study studied studies substantially suggest suggests
    superior take takes there's these they're towards train trained trains typically use used uses using
    utilize utilizes various via whereby yield yields able across approach approaches paper papers work
    works result results method methods way ways effective effectively efficient efficiently key important
    recent recently respectively specifically particular particularly thereby strong stronger robust
    different diverse wide widely large-scale high low better best good great increasingly remarkable
    remarkably notably directly fully readily e.g i.e et al
    """.split()
)

# Words that say nothing alone ("model", "task"): a candidate made only of these is dropped.
GENERIC = frozenset(
    """
    model models task tasks data dataset datasets performance problem problems framework frameworks system
    systems technique techniques experiment experiments analysis setting settings approach method methods
    baseline baselines accuracy quality information process processes case cases number numbers set sets
    time times level levels type types form forms part parts step steps stage stages domain domains
    application applications capability capabilities ability abilities challenge challenges limitation
    limitations code evaluation evaluations improvement improvements gain gains state art field fields
    research researchers user users output outputs input inputs training inference learning paper work
    strategy strategies component components module modules scenario scenarios feature features
    """.split()
)

_WORD = re.compile(r"[A-Za-z0-9]*[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_BREAK = re.compile(r"[.,;:!?()\[\]{}\"“”‘’/|=<>+*&%#~]|\$[^$]*\$|\\[a-zA-Z]+|\s[-–—]\s")
_ADJECTIVE_ENDINGS = ("ly",)
_TAIL_BANNED = ("ed",)  # "proposed", "learned": a phrase does not end on a participle


@dataclass(slots=True)
class Candidate:
    key: str  # the normalized phrase: lowercase (acronyms kept), last word singular
    spans: list[tuple[int, int]] = field(default_factory=list)  # character spans of its occurrences
    surface: str = ""


def singular(word: str) -> str:
    """A plural noun's singular by the common English rules; anything doubtful stays as it is."""
    lower = word.lower()
    if len(word) <= 3 or lower.endswith(("ss", "us", "is", "ics", "ous", "sis")):
        return word
    if word.isupper():
        return word
    if word[:-1].isupper() and word.endswith("s"):  # LLMs -> LLM
        return word[:-1]
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if lower.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith("'s"):
        return word[:-1]
    return word


def _normal_part(part: str) -> str:
    if sum(1 for c in part if c.isupper()) >= 2 or (part[:1].islower() and any(c.isupper() for c in part)):
        return part
    return part.lower()


def normal_word(word: str) -> str:
    """Lowercase, except acronyms and words with inner capitals (LLM, BERT, LoRA, GPT-4, LLM-based), piece
    by piece between hyphens ("Retrieval-Free" is "retrieval-free")."""
    return "-".join(_normal_part(part) for part in word.split("-"))


def normalize(words: list[str]) -> str:
    """The key of a phrase: its words normalized, the last one made singular."""
    normal = [normal_word(w) for w in words]
    normal[-1] = singular(normal[-1])
    return " ".join(normal)


@dataclass(frozen=True, slots=True)
class _Word:
    normal: str
    singular: str
    starts_ok: bool  # may begin a phrase (not an adverb)
    ends_ok: bool  # may end a phrase (not an adverb, not a participle)
    generic: bool
    alone_ok: bool  # may be a phrase on its own


@lru_cache(maxsize=200_000)
def _word(word: str) -> _Word:
    lower = word.lower()
    normal = normal_word(word)
    adverb = lower.endswith("ly")
    return _Word(
        normal=normal,
        singular=singular(normal),
        starts_ok=not adverb,
        ends_ok=not adverb and not lower.endswith("ed"),
        generic=lower in GENERIC or lower.isdigit(),
        alone_ok=len(word) >= MIN_CHARS and lower not in GENERIC and not lower.isdigit(),
    )


def runs(text: str) -> list[list[tuple[str, int, int]]]:
    """The runs of content words of a text, each word with its character span."""
    found: list[list[tuple[str, int, int]]] = []
    pieces = [(0, len(text))]
    breaks = [m.span() for m in _BREAK.finditer(text)]
    if breaks:
        pieces, start = [], 0
        for b_start, b_end in breaks:
            if b_start > start:
                pieces.append((start, b_start))
            start = b_end
        if start < len(text):
            pieces.append((start, len(text)))
    for p_start, p_end in pieces:
        current: list[tuple[str, int, int]] = []
        for match in _WORD.finditer(text, p_start, p_end):
            word = match.group()
            if word.lower() in STOPWORDS:
                if current:
                    found.append(current)
                current = []
            else:
                current.append((word, match.start(), match.end()))
        if current:
            found.append(current)
    return found


def candidates(text: str, *, max_words: int = MAX_WORDS) -> dict[str, Candidate]:
    """Every candidate phrase of `text` by its key, with where it occurs."""
    found: dict[str, Candidate] = {}
    for run in runs(text):
        info = [_word(w) for w, _s, _e in run]
        for start in range(len(run)):
            if not info[start].starts_ok:
                continue
            all_generic = True
            for end in range(start, min(start + max_words, len(run))):
                last = info[end]
                all_generic = all_generic and last.generic
                if not last.ends_ok or all_generic or (end == start and not last.alone_ok):
                    continue
                key = " ".join([i.normal for i in info[start:end]] + [last.singular])
                candidate = found.get(key)
                if candidate is None:
                    candidate = found[key] = Candidate(
                        key, surface=" ".join(w for w, _s, _e in run[start : end + 1])
                    )
                candidate.spans.append((run[start][1], run[end][2]))
    return found


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"“])")


def sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Character spans of the sentences of `text` (shifted by `offset`), split after . ! ? and a capital."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if match.start() > start:
            spans.append((offset + start, offset + match.start()))
        start = match.end()
    if start < len(text.rstrip()):
        spans.append((offset + start, offset + len(text.rstrip())))
    return spans
