"""The real `huggingface_hub` client's collection methods against a live server over the demo slice, with a
personal API token as Hugging Face's own: create, add three papers with notes, read back, list by item and
by owner, update, reorder, delete. Nothing here reaches the internet (the client points at the live server).
"""

from __future__ import annotations

import pytest
from huggingface_hub import HfApi, constants
from huggingface_hub.errors import HfHubHTTPError

from community_support import account, token
from conftest import DEMO, LiveServer, make_settings
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from demo_facts import records

THREE = sorted(records())[:3]
FOURTH = sorted(records())[3]


@pytest.fixture(autouse=True)
def _online_for_localhost(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def server(tmp_path, sqlite_templates):
    """A live server over a copy of the demo slice of this test's own, with two accounts and their tokens."""
    url = sqlite_templates.copy(DEMO, tmp_path)
    store = SqlStore(make_engine(make_settings(url)))
    tokens = {}
    for name in ("alice", "bob"):
        tokens[name] = token(store, account(store, name))["Authorization"].removeprefix("Bearer ")
    store.engine.dispose()
    with LiveServer(make_settings(url)) as live:
        live.tokens = tokens
        yield live


def test_the_client_makes_fills_reads_lists_and_deletes_a_collection(server):
    api = HfApi(endpoint=server.url, token=server.tokens["alice"])
    made = api.create_collection("Papers to read", description="For the reading group")
    assert made.slug.startswith("alice/papers-to-read-") and made.title == "Papers to read"
    assert made.owner["name"] == "alice" and made.items == [] and made.private is False
    assert made.url == f"{server.url}/collections/{made.slug}"
    # exists_ok: the 409's slug leads the client to the collection it has.
    assert api.create_collection("Papers to read", exists_ok=True).slug == made.slug
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_collection("Papers to read")
    assert caught.value.response.status_code == 409

    for n, arxiv_id in enumerate(THREE):
        after = api.add_collection_item(made.slug, arxiv_id, "paper", note=f"Note {n}: read §{n}")
        assert [i.item_id for i in after.items] == THREE[: n + 1]
    api.add_collection_item(made.slug, THREE[0], "paper", exists_ok=True)  # there already: fine
    with pytest.raises(HfHubHTTPError) as caught:
        api.add_collection_item(made.slug, THREE[0], "paper")
    assert caught.value.response.status_code == 409
    with pytest.raises(HfHubHTTPError) as caught:
        api.add_collection_item(made.slug, FOURTH, "paper", note="x" * 501)
    assert caught.value.response.status_code == 400

    got = api.get_collection(made.slug)
    assert [(i.item_id, i.item_type, i.position, i.note) for i in got.items] == [
        (arxiv_id, "paper", n, f"Note {n}: read §{n}") for n, arxiv_id in enumerate(THREE)
    ]
    assert got.description == "For the reading group" and got.theme and got.upvotes == 0
    assert got.last_updated.tzinfo is not None

    listed = list(api.list_collections(item=f"papers/{THREE[1]}"))
    assert [c.slug for c in listed] == [made.slug]
    assert [c.slug for c in api.list_collections(owner="alice")] == [made.slug]
    assert list(api.list_collections(item="papers/2612.99999")) == []

    # Move the last first, change a note, remove the middle one.
    last = got.items[2]
    api.update_collection_item(made.slug, last.item_object_id, position=0, note="Start here")
    api.delete_collection_item(made.slug, got.items[1].item_object_id)
    got = api.get_collection(made.slug)
    assert [(i.item_id, i.position, i.note) for i in got.items] == [
        (THREE[2], 0, "Start here"),
        (THREE[0], 1, "Note 0: read §0"),
    ]
    with pytest.raises(HfHubHTTPError) as caught:  # an item of no collection of hers
        api.delete_collection_item(made.slug, "0" * 16 + "7fffffff")
    assert caught.value.response.status_code == 404
    api.delete_collection_item(made.slug, "0" * 16 + "7fffffff", missing_ok=True)

    renamed = api.update_collection_metadata(made.slug, title="Read soon", private=True, theme="green")
    assert renamed.slug.endswith(made.slug.rsplit("-", 1)[1]) and renamed.private and renamed.theme == "green"

    # Private now: Bob, and anyone without a token, get the 404 of a collection that does not exist.
    for other in (
        HfApi(endpoint=server.url, token=server.tokens["bob"]),
        HfApi(endpoint=server.url, token=False),
    ):
        with pytest.raises(HfHubHTTPError) as caught:
            other.get_collection(made.slug)
        assert caught.value.response.status_code == 404
        assert list(other.list_collections(owner="alice")) == []
    bob = HfApi(endpoint=server.url, token=server.tokens["bob"])
    with pytest.raises(HfHubHTTPError) as caught:
        bob.delete_collection(made.slug)
    assert caught.value.response.status_code == 404

    api.delete_collection(made.slug)
    with pytest.raises(HfHubHTTPError) as caught:
        api.get_collection(made.slug)
    assert caught.value.response.status_code == 404
    api.delete_collection(made.slug, missing_ok=True)
    assert list(api.list_collections(owner="alice")) == []


def test_the_client_is_told_plainly_what_is_wrong(server):
    api = HfApi(endpoint=server.url, token=server.tokens["alice"])
    made = api.create_collection("Odd input")
    for item_id, item_type, status in [
        ("gpt2", "model", 400),
        ("not-an-id", "paper", 400),
        ("2612.99999", "paper", 404),
    ]:
        with pytest.raises(HfHubHTTPError) as caught:
            api.add_collection_item(made.slug, item_id, item_type)
        assert caught.value.response.status_code == status, item_id
    for slug in ("alice/no-id-at-all", "alice/odd-input-12345"):
        with pytest.raises(HfHubHTTPError) as caught:
            api.get_collection(slug)
        assert caught.value.response.status_code == 400
    with pytest.raises(HfHubHTTPError) as caught:
        api.create_collection("Someone else's", namespace="bob")
    assert caught.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as caught:
        HfApi(endpoint=server.url, token=False).create_collection("Anonymous", namespace="alice")
    assert caught.value.response.status_code == 401
