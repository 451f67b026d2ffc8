"""The digests' stores on their own (dailypapers.store.subscriptions, .digest_runs, .digest_candidates), on
SQLite and PostgreSQL; whole runs are tested through the sender (test_digest_delivery.py and
test_digest_kill.py)."""

from __future__ import annotations

from datetime import date

from dailypapers.records import PaperRecord
from dailypapers.store.digest_candidates import SqlCandidateStore
from dailypapers.store.digest_runs import SqlDigestRunStore
from dailypapers.store.subscriptions import Preferences, SqlSubscriptionStore


def _active(subscriptions, email: str, frequency: str = "daily", **prefs) -> int:
    key = subscriptions.request(email, frequency).key
    subscriptions.confirm(key)
    return subscriptions.save_preferences(key, Preferences(frequency, **prefs)).id


def test_active_subscribers_of_a_frequency(store):
    subscriptions = SqlSubscriptionStore(store.engine)
    semantic = [{"q": "world models", "mode": "semantic"}, {"q": "moe", "mode": "keyword"}]
    ids = [_active(subscriptions, f"d{i}@example.org", searches=semantic if i else []) for i in range(3)]
    _active(subscriptions, "w@example.org", "weekly", searches=[{"q": "agents", "mode": "semantic"}])
    subscriptions.request("pending@example.org", "daily")
    subscriptions.unsubscribe(subscriptions.by_email("d2@example.org").key)
    assert [[s.id for s in batch] for batch in subscriptions.active("daily", batch=1)] == [[ids[0]], [ids[1]]]
    assert subscriptions.counts("daily").active == 2
    assert subscriptions.semantic_searches("daily") == {"world models"}
    assert subscriptions.semantic_searches() == {"world models", "agents"}


def test_a_run_is_made_once_claimed_once_and_settled(store):
    day = date(2026, 7, 1)
    store.upsert([PaperRecord(arxiv_id="2607.00001", title="T", abstract="A", authors=["X"], daily_date=day)])
    subscriptions = SqlSubscriptionStore(store.engine)
    first, second = (_active(subscriptions, f"r{i}@example.org") for i in range(2))

    class Period:
        frequency, key = "daily", "2026-07-01"

    one = SqlDigestRunStore(store.engine, worker="host:1:a")
    other = SqlDigestRunStore(store.engine, worker="host:2:b")
    run_id, status, created = one.start(Period())
    assert (status, created) == ("running", True)
    assert other.start(Period()) == (run_id, "running", False)
    assert [c.subscription_id for c in one.claim(run_id, 10)] == [first, second]
    assert other.claim(run_id, 10) == []  # every row is taken
    assert other.release(run_id, lambda worker, _at: worker != "host:1:a") == 0  # the holder lives
    assert other.release(run_id, lambda _worker, _at: True) == 2
    claimed = other.claim(run_id, 10)
    assert len(claimed) == 2
    (paper,) = SqlCandidateStore(store.engine).period_papers(day, day)
    paper_id = paper.id
    other.mark_sent(run_id, first, [paper_id])
    other.mark_sent(run_id, first, [paper_id])  # sent again after a crash: the paper is recorded once
    assert other.finish_if_done(run_id) == "running"
    other.mark_empty(run_id, [second])
    assert other.finish_if_done(run_id) == "finished"
    other.close()
    assert other.received([first, second], {paper_id}) == {first: {paper_id}, second: set()}
    counts = one.counts(run_id)
    assert (counts.status, counts.subscribers, counts.states) == ("finished", 2, {"sent": 1, "empty": 1})
    (summary,) = one.recent()
    assert (summary.id, summary.period_key, summary.states) == (run_id, "2026-07-01", {"sent": 1, "empty": 1})


def test_saved_search_vectors_are_stored_once(store):
    candidates = SqlCandidateStore(store.engine)
    candidates.add_query_vectors("m", {"agents": b"\x01\x02"})
    candidates.add_query_vectors("m", {"agents": b"\x09\x09", "moe": b"\x03\x04"})  # another process's
    assert candidates.query_vectors("m", {"agents", "moe", "other"}) == {
        "agents": b"\x01\x02",
        "moe": b"\x03\x04",
    }
    assert candidates.query_vectors("other model", {"agents"}) == {}
