"""Key phrases and the key sentence of a paper, scored against the paper's own embedding (KeyBERT's idea).

KeyBERT embeds every candidate phrase on its own: at 30 candidates a paper that is 30 more model calls per
paper, several times the cost of embedding the paper itself. Here the one forward pass that embeds the paper
also gives each token's contextual vector (the paper's embedding is their mean). A candidate's vector is the
mean of the vectors of its tokens, wherever it occurs in the text the model saw; its score is its cosine to
the paper's embedding. Then Maximal Marginal Relevance picks 3 to 8 phrases that are close to the paper and
not to each other. The key sentence is the sentence of the abstract whose tokens' mean is closest to the
paper, with a bonus for the words that announce a contribution ("we propose", "this paper").

Pure: numpy in, lists of strings out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dailypapers.keyphrases.candidates import candidates, sentences

MIN_PHRASES = 3
MAX_PHRASES = 8
DIVERSITY = 0.3  # MMR: the weight of "unlike the phrases already chosen" against "close to the paper"
RELATIVE_FLOOR = 0.85  # past the third, a phrase must score at least this share of the best one
TITLE_BONUS = 0.0  # a candidate in the title (tried 0.06 and 0.12 on the labelled sample: no better)
FREQUENCY_BONUS = 0.05  # per extra occurrence in the text, up to three
LENGTH_BONUS = 0.01  # per word past the first: "language model" says more than "language"
CUE_BONUS = 0.08
_CUE = re.compile(
    r"\b(we (propose|introduce|present|develop|design|build|release|construct)|this (paper|work)|"
    r"in this (paper|work)|our (method|approach|model|framework))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class TokenVectors:
    """The model's view of one text: a vector per token and each token's character span in the text
    ((0, 0) for special tokens)."""

    vectors: np.ndarray  # (tokens, dim), float32
    offsets: Sequence[tuple[int, int]]


@dataclass(frozen=True, slots=True)
class KeyPhrases:
    phrases: list[str]
    key_sentence: str | None
    scores: list[float]


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=-1, keepdims=True)
    return matrix / np.maximum(norms, 1e-12)


def _token_index(offsets: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    real = [(i, s, e) for i, (s, e) in enumerate(offsets) if e > s]
    if not real:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    index = np.array(real, dtype=np.int64)
    return index[:, 0], index[:, 1], index[:, 2]


def _tokens_within(starts: np.ndarray, ends: np.ndarray, span: tuple[int, int]) -> tuple[int, int] | None:
    """The range of token positions (into the real tokens) lying inside a character span."""
    lo = int(np.searchsorted(starts, span[0], side="left"))
    hi = int(np.searchsorted(ends, span[1], side="right"))
    return (lo, hi) if hi > lo else None


def _is_part(small: str, big: str) -> bool:
    return f" {small} " in f" {big} "


def extract(
    title: str,
    text: str,
    document: np.ndarray,
    tokens: TokenVectors,
    *,
    max_phrases: int = MAX_PHRASES,
) -> KeyPhrases:
    """Key phrases of `text` (the title, ". ", the abstract: what the model was given) and its key sentence.

    `document` is the paper's embedding (unit length); phrases only count where the model saw them (the
    text may have been cut at the model's token limit)."""
    doc = _unit(np.asarray(document, dtype=np.float32).reshape(-1))
    positions, starts, ends = _token_index(tokens.offsets)
    if positions.size == 0:
        return KeyPhrases([], None, [])
    seen_until = int(ends[-1])
    vectors = np.asarray(tokens.vectors, dtype=np.float32)
    # Prefix sums over the real tokens: the sum of any run of tokens is one subtraction.
    prefix = np.zeros((positions.size + 1, vectors.shape[1]), dtype=np.float32)
    np.cumsum(vectors[positions], axis=0, out=prefix[1:])
    found = candidates(text[:seen_until])
    keys = list(found)
    phrases: list[str] = []
    scores: list[float] = []
    if keys:
        owner = np.repeat(np.arange(len(keys)), [len(found[k].spans) for k in keys])
        spans = np.array([span for k in keys for span in found[k].spans], dtype=np.int64)
        lo = np.searchsorted(starts, spans[:, 0], side="left")
        hi = np.searchsorted(ends, spans[:, 1], side="right")
        hi = np.maximum(hi, lo)
        first = np.concatenate(([0], np.cumsum(np.bincount(owner, minlength=len(keys)))[:-1]))
        sums = np.add.reduceat(prefix[hi] - prefix[lo], first, axis=0)
        counts = np.bincount(owner, weights=hi - lo, minlength=len(keys))
        seen = counts > 0
        occurrences = np.bincount(owner, minlength=len(keys))
        in_title = np.zeros(len(keys), dtype=bool)
        in_title[owner[spans[:, 0] < len(title)]] = True
        words = np.array([k.count(" ") for k in keys])
        bonus = (
            TITLE_BONUS * in_title + FREQUENCY_BONUS * np.minimum(occurrences - 1, 3) + LENGTH_BONUS * words
        )
        kept = np.flatnonzero(seen)
        if kept.size:
            matrix = _unit((sums[kept] / counts[kept, None]).astype(np.float32))
            relevance = matrix @ doc + bonus[kept].astype(np.float32)
            phrases, scores = _mmr([keys[i] for i in kept], matrix, relevance, max_phrases)
    sentence = _key_sentence(title, text, seen_until, prefix, doc, starts, ends)
    return KeyPhrases(phrases, sentence, scores)


def _mmr(
    keys: list[str], matrix: np.ndarray, relevance: np.ndarray, max_phrases: int
) -> tuple[list[str], list[float]]:
    order = np.argsort(-relevance)[: max(40, max_phrases * 5)]
    pool = [int(i) for i in order]
    chosen: list[int] = []
    best = float(relevance[pool[0]])
    while pool and len(chosen) < max_phrases:
        if chosen:
            overlap = (matrix[pool] @ matrix[chosen].T).max(axis=1)
            mmr = (1 - DIVERSITY) * relevance[pool] - DIVERSITY * overlap
        else:
            mmr = relevance[pool]
        pick = pool.pop(int(np.argmax(mmr)))
        if len(chosen) >= MIN_PHRASES and relevance[pick] < best * RELATIVE_FLOOR:
            break
        key = keys[pick]
        # "language model" after "large language model" (or the other way) says nothing new.
        if any(_is_part(key, keys[c]) or _is_part(keys[c], key) for c in chosen):
            continue
        chosen.append(pick)
    return [keys[i] for i in chosen], [round(float(relevance[i]), 4) for i in chosen]


def _key_sentence(
    title: str,
    text: str,
    seen_until: int,
    prefix: np.ndarray,
    doc: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
) -> str | None:
    abstract_start = len(title) + 2 if text.startswith(title) else 0
    best: tuple[float, str] | None = None
    for span in sentences(text[abstract_start:], abstract_start):
        sentence = text[span[0] : span[1]].strip()
        if len(sentence) < 25:
            continue
        window = _tokens_within(starts, ends, (span[0], min(span[1], seen_until)))
        if window is None:
            continue
        vector = _unit(prefix[window[1]] - prefix[window[0]])
        score = float(vector @ doc) + (CUE_BONUS if _CUE.search(sentence) else 0.0)
        if best is None or score > best[0]:
            best = (score, sentence)
    return best[1] if best else None
