"""For you's store (profiles and signals) on SQLite and PostgreSQL, and the profile rules."""

from __future__ import annotations

import pytest

from community_support import account
from dailypapers.recommend.profiles import MAX_PROFILES, InvalidProfile, KeywordFilter, spec
from dailypapers.services.accounts import delete_account
from dailypapers.store.accounts import AccountStore
from dailypapers.store.community import CommunityStore
from dailypapers.store.signals import SignalStore, UnknownPaper, UnknownProfile
from demo_facts import KNOWN_ID


@pytest.fixture
def signals(demo_store):
    return SignalStore(demo_store.engine)


def test_like_dislike_clear_per_profile(demo_store, signals):
    alice = account(demo_store, "alice")
    bob = account(demo_store, "bob")
    state = signals.set_signal(alice.id, KNOWN_ID, "like")
    assert (state.signal, state.profile, state.profiles) == ("like", "default", {"default": "like"})
    assert signals.set_signal(alice.id, KNOWN_ID, "like").signal == "like"  # idempotent
    signals.create_profile(alice.id, spec("RL for robotics", musts=["robot"]))
    state = signals.set_signal(alice.id, KNOWN_ID, "dislike", "rl for ROBOTICS")
    assert state.profile == "RL for robotics"
    assert state.profiles == {"default": "like", "RL for robotics": "dislike"}
    # Private: bob sees nothing of alice's.
    assert signals.state(bob.id, KNOWN_ID).profiles == {}
    assert signals.signals(bob.id) == []
    cleared = signals.set_signal(alice.id, KNOWN_ID, "clear")
    assert cleared.signal is None and cleared.profiles == {"RL for robotics": "dislike"}
    rows = signals.signals(alice.id)
    assert [(r.profile, r.arxiv_id, r.signal) for r in rows] == [("RL for robotics", KNOWN_ID, "dislike")]


def test_training_counts_upvotes_as_likes_of_the_default(demo_store, signals):
    alice = account(demo_store, "alice")
    community = CommunityStore(demo_store)
    from dailypapers.store.community import Actor

    community.set_upvote(Actor(alice.id, "alice", "user", None), KNOWN_ID, True)
    default = signals.profile(alice.id, None)
    assert default.id is None  # nothing written yet
    training = signals.training(alice.id, default)
    paper_id = community.paper_id(KNOWN_ID)
    assert training.liked == [paper_id] and training.rated == {paper_id}
    other = signals.create_profile(alice.id, spec("other"))
    assert signals.training(alice.id, other).liked == []
    assert signals.training(alice.id, other).rated == {paper_id}


def test_unknown_paper_and_profile(demo_store, signals):
    alice = account(demo_store, "alice")
    with pytest.raises(UnknownPaper):
        signals.set_signal(alice.id, "2999.99999", "like")
    with pytest.raises(UnknownProfile):
        signals.set_signal(alice.id, KNOWN_ID, "like", "nope")
    assert signals.signals(alice.id) == []


def test_profile_limits_and_names(demo_store, signals):
    alice = account(demo_store, "alice")
    signals.create_profile(alice.id, spec("vision"))
    with pytest.raises(InvalidProfile, match="already"):
        signals.create_profile(alice.id, spec("VISION"))
    for i in range(MAX_PROFILES - 2):
        signals.create_profile(alice.id, spec(f"p{i}"))
    with pytest.raises(InvalidProfile, match="At most"):
        signals.create_profile(alice.id, spec("one too many"))
    assert len(signals.profiles(alice.id)) == MAX_PROFILES
    with pytest.raises(InvalidProfile):
        signals.delete_profile(alice.id, "default")
    signals.delete_profile(alice.id, "vision")
    assert "vision" not in [p.name for p in signals.profiles(alice.id)]


def test_reset_export_feed_key_and_account_deletion(demo_store, signals):
    alice = account(demo_store, "alice")
    signals.set_signal(alice.id, KNOWN_ID, "like")
    exported = signals.export(alice.id)
    assert exported["profiles"][0]["signals"][0]["id"] == KNOWN_ID
    key = signals.set_feed_key(alice.id, None, on=True)
    assert signals.by_feed_key(key)[0] == alice.id
    new_key = signals.set_feed_key(alice.id, None, on=True)
    assert signals.by_feed_key(key) is None and signals.by_feed_key(new_key) is not None
    assert signals.reset_profile(alice.id, None) == 1
    assert signals.signals(alice.id) == []
    signals.set_signal(alice.id, KNOWN_ID, "dislike")
    delete_account(AccountStore(demo_store), CommunityStore(demo_store), alice.id)
    assert signals.by_feed_key(new_key) is None
    assert signals.signals(alice.id) == []


def test_profile_rules():
    with pytest.raises(InvalidProfile, match="name"):
        spec("   ")
    with pytest.raises(InvalidProfile, match="characters"):
        spec("x" * 61)
    with pytest.raises(InvalidProfile, match="both required and excluded"):
        spec("p", musts=["medical imaging"], excludes=["medical"])
    with pytest.raises(InvalidProfile, match="category"):
        spec("p", categories=["not a category!"])
    ok = spec(
        "  RL   for robotics ", musts=["Diffusion", "diffusion"], excludes=["medical"], categories=["cs.CV"]
    )
    assert ok.name == "RL for robotics" and ok.musts == ("diffusion",)
    f = KeywordFilter(ok.musts, ok.excludes)
    assert f.matched("Latent diffusion models") == (True, ["diffusion"])
    assert f.matched("Diffusion for medical images")[0] is False
    assert f.matched("Transformers")[0] is False
    assert KeywordFilter().matched("anything") == (True, [])
