"""Trending: a time-decayed upvote score that can be kept in an index.

Every upvote is worth 1 when it is cast and loses half its weight every half-life:

    score(now) = sum over upvotes v of 2 ** (-(now - t_v) / half_life)

Ordering papers by score(now) is the same at every `now`, because
score(now) = 2 ** (-(now - epoch) / half_life) * sum_v 2 ** ((t_v - epoch) / half_life),
and the first factor is shared by all papers. So each paper stores the time-free key

    key = log2(sum_v 2 ** ((t_v - epoch) / half_life))

(computed with logaddexp2, so it never overflows); trending is ORDER BY key DESC, a new upvote updates the
key in O(1), and the displayed score is 2 ** (key - (now - epoch) / half_life) "fresh upvotes".
Upvotes imported from Hugging Face carry no times: they are counted at the moment the paper went on the feed.
This differs from "most upvotes ever": 40 upvotes a week ago weigh 40 / 2**3.5 ≈ 3.5 fresh ones.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _units(moment: datetime, half_life_hours: float) -> float:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH).total_seconds() / 3600.0 / half_life_hours


def add_votes(key: float | None, count: int, at: datetime, half_life_hours: float) -> float | None:
    """The key after `count` upvotes cast at `at`."""
    if count <= 0:
        return key
    term = math.log2(count) + _units(at, half_life_hours)
    return term if key is None else _logaddexp2(key, term)


# Taking a vote back subtracts its term; when the rest is under this fraction of the sum, the difference
# has lost too many digits and the caller recounts the key from every vote instead.
_REMOVE_MIN_REMAINDER = 1e-6


def remove_vote(key: float | None, at: datetime, half_life_hours: float) -> float | None:
    """The key after taking back one upvote cast at `at`, or None when that cannot be done precisely (no
    key, or that vote was nearly all of it): then recount with `key_for`."""
    if key is None:
        return None
    remainder = 1.0 - 2.0 ** min(0.0, _units(at, half_life_hours) - key)
    if remainder < _REMOVE_MIN_REMAINDER:
        return None
    return key + math.log2(remainder)


def _logaddexp2(a: float, b: float) -> float:
    high, low = (a, b) if a >= b else (b, a)
    return high + math.log2(1.0 + 2.0 ** (low - high))


def key_for(
    baseline_votes: int,
    baseline_at: datetime | None,
    vote_times: Iterable[datetime],
    half_life_hours: float,
) -> float | None:
    """The key of a paper from its imported upvotes (at `baseline_at`) and its own timed upvotes."""
    key: float | None = None
    if baseline_votes > 0 and baseline_at is not None:
        key = add_votes(None, baseline_votes, baseline_at, half_life_hours)
    for moment in vote_times:
        key = add_votes(key, 1, moment, half_life_hours)
    return key


def score_at(key: float | None, now: datetime, half_life_hours: float) -> float:
    """The key as a number of fresh upvotes at `now` (0 for no votes).

    Always finite: a key far ahead of `now` (votes dated in the future) saturates at the largest float
    instead of overflowing, so the score can go into JSON.
    """
    if key is None:
        return 0.0
    exponent = key - _units(now, half_life_hours)
    if exponent < -1000:
        return 0.0
    if exponent >= 1024:
        return sys.float_info.max
    return min(2.0**exponent, sys.float_info.max)
