"""Saved searches through the search engine when its indexes exist (keyword and semantic), on SQLite."""

from __future__ import annotations

from conftest import DEMO, make_settings
from dailypapers.digests import candidates, compose, delivery
from dailypapers.services.search_sync import sync_search
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.store.subscriptions import Preferences
from digest_support import DAY


def test_saved_searches_use_the_search_engine(sqlite_templates, tmp_path):
    settings = make_settings(sqlite_templates.copy(DEMO, tmp_path), index_dir=tmp_path / "index")
    store = SqlStore(make_engine(settings))
    assert sync_search(settings, store.engine, embed_limit=-1).report is not None
    period = compose.period_for("daily", DAY)
    pool = candidates.load_pool(store.engine, period)
    query = "speculative decoding with a draft model"
    # Embedded in a child process (the sender never loads the model), stored, then only read.
    vectors = candidates.ensure_query_vectors(settings, store.engine, {query})
    assert set(vectors) == {query}

    def no_model(_queries):
        raise AssertionError("the stored vector should have been used")

    again = candidates.ensure_query_vectors(settings, store.engine, {query}, embed=no_model)
    assert (again[query] == vectors[query]).all()
    match = candidates.search_matcher(settings, store.engine, pool, period, query_vectors=vectors)
    try:
        keyword = match("speculative decoding", "keyword")
        assert keyword and all(pid in pool.papers for pid in keyword)
        assert "speculative decoding" in pool.papers[keyword[0]].text
        semantic = match(query, "semantic")
        assert semantic and all(pid in pool.papers for pid in semantic)
        assert "speculative" in pool.papers[semantic[0]].text
        assert match("zzyzx qqqfoo", "keyword") == []
        composer = delivery.make_composer(settings, store.engine, period, None, semantic={query})
        prefs = Preferences(
            "daily",
            3,
            [],
            [{"q": "making language models generate text faster by drafting tokens", "mode": "semantic"}],
        )
        picks, body, _links = composer.body(prefs, set(), "k" * 32)
        assert any(p.why.startswith("Close in meaning to your saved search") for p in picks)
        assert "Close in meaning to your saved search" in body.text
        composer.matcher.close()
    finally:
        match.close()
        store.engine.dispose()
