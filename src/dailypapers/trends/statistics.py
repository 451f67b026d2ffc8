"""The rise statistic: how much more often a topic appears in a window than its recent past predicts.

For a topic t (a key phrase or an arXiv category), a window W (the latest week, or the latest four weeks) and
a baseline B (the weeks just before W: 8 before a week, 12 before a month):

    expected = c_B(t) * n_W / n_B            what t's share of the baseline predicts for the window
    rise     = log2((c_W(t) + a) / (expected + a))

where c is the number of papers with t and n the number of papers in all. `a` (ALPHA = 3 papers) is a
pseudo-count added to both sides: it pulls small counts towards "no change", so a topic going from 0 to 2
papers does not outrank one going from 40 to 120. A rise of 1 means twice the papers the baseline predicts.
No rise is claimed for a topic with fewer than `minimum` papers in the window (5 for a week, 10 for four
weeks): below that, one lab's batch of papers would be a "trend".

The same formula with upvotes in place of papers tells whether readers' attention moved too.
"""

from __future__ import annotations

import math

import numpy as np

ALPHA = 3.0
MIN_WEEK = 5
MIN_MONTH = 10


def rise(
    window: float, baseline: float, window_total: float, baseline_total: float, alpha: float = ALPHA
) -> float:
    """log2 of the window's count over what the baseline's share predicts, both smoothed by `alpha`."""
    expected = baseline * window_total / baseline_total if baseline_total > 0 else 0.0
    return math.log2((window + alpha) / (expected + alpha))


def rises(
    window: np.ndarray, baseline: np.ndarray, window_total: float, baseline_total: float, alpha: float = ALPHA
) -> np.ndarray:
    """`rise` over arrays of counts (one per topic)."""
    scale = window_total / baseline_total if baseline_total > 0 else 0.0
    expected = baseline.astype(np.float64) * scale
    return np.log2((window.astype(np.float64) + alpha) / (expected + alpha))


def expected(baseline: float, window_total: float, baseline_total: float) -> float:
    return baseline * window_total / baseline_total if baseline_total > 0 else 0.0
