"""Follows in the For-you ranking, pure (dailypapers.recommend.ranking): the terms of a followed author,
organization and category and their reasons, on a synthetic pool. On the demo slice, through the web, with
SQLite and PostgreSQL: tests/test_foryou_web.py."""

from __future__ import annotations

import numpy as np
import pytest

from dailypapers.recommend.ranking import W_FOLLOW, FollowHit, Pool, recommend


def test_follow_terms_and_reasons_on_a_synthetic_pool():
    """Pure: without likes the follows rank (author over organization over category), popularity only breaks
    their ties; each kind gives one reason naming at most two."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(6, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pool = Pool(
        range(6), vectors, [f"paper {i}" for i in range(6)], popularity=np.array([50, 9, 8, 7, 6, 5.0])
    )
    follows = {
        3: [FollowHit("category", "cs.CL")],
        4: [FollowHit("org", "NVIDIA"), FollowHit("category", "cs.CL")],
        5: [FollowHit("author", "Ada"), FollowHit("author", "Bo"), FollowHit("author", "Cy")],
    }
    picks = recommend(pool, [], follows=follows, limit=6)
    assert [p.index for p in picks] == [5, 4, 3, 0, 1, 2]
    assert picks[0].reasons == ("by Ada and Bo, whom you follow",)
    assert picks[1].reasons[:2] == ("from NVIDIA, which you follow", "in cs.CL, which you follow")
    assert picks[0].score - picks[2].score == pytest.approx(
        W_FOLLOW["author"] - W_FOLLOW["category"], abs=0.05
    )
    assert [p.index for p in recommend(pool, [], limit=6)][0] == 0  # no follows: by popularity
