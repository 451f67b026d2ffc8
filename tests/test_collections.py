"""Collections: the pure rules, the store on SQLite and PostgreSQL, the Hugging Face-shaped API with bad
input, the pages and their forms, and the BibTeX / CSL-JSON exports.

Accounts are made in the database (tests/community_support.py); API callers send a real personal token;
browsers carry a real session and post the real forms with their CSRF token.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from community_support import Browser, account, token
from dailypapers.curation import hf, rules
from dailypapers.curation.rules import (
    CollectionNotFound,
    DuplicateCollection,
    DuplicateItem,
    InvalidCollection,
    ItemNotFound,
)
from dailypapers.store.collections import CollectionStore, PaperNotHere
from dailypapers.store.schema import collection_items, collection_upvotes, collections
from dailypapers.web.app import create_app
from dailypapers.web.citations import bibtex_all, csl_json
from demo_facts import KNOWN_ID, RICH_ID, records

OTHER_ID = "2608.20336"
# Three papers of the demo slice, in the order a test adds them.
THREE = sorted(records())[:3]


# -- the pure rules ---------------------------------------------------------------------------------------


def test_slugs_are_made_and_read_back():
    public_id = rules.new_public_id()
    assert len(public_id) == 24 and rules.PUBLIC_ID.match(public_id)
    slug = rules.slug("alice", "Reading list: Diffusion & Zoë's picks!", public_id)
    assert slug == f"alice/reading-list-diffusion-zoe-s-picks-{public_id}"
    owner, rest = slug.split("/")
    assert rules.parse_slug(owner, rest) == rules.SlugParts("alice", public_id)
    assert rules.parse_slug("alice", public_id).public_id == public_id  # the id alone is enough
    assert rules.slug("bob", "日本語", public_id) == f"bob/collection-{public_id}"


@pytest.mark.parametrize(
    "owner, rest",
    [
        ("alice", "no-id-here"),
        ("alice", "words-0123456789abcdef012345"),  # 22 digits
        ("alice", "words-0123456789ABCDEF01234567"),  # upper case is not ours
        ("alice", "words-0123456789abcdef0123456z"),
        ("", "words-0123456789abcdef01234567"),
        ("al ice", "words-0123456789abcdef01234567"),
        ("alice", "x" * 500 + "-0123456789abcdef01234567"),
    ],
)
def test_bad_slugs_do_not_parse(owner, rest):
    with pytest.raises(InvalidCollection):
        rules.parse_slug(owner, rest)


def test_notes_titles_and_themes():
    assert rules.note("  fine \x00 ") == "fine"
    assert rules.note("   ") is None
    assert rules.note("é" * 500) == "é" * 500
    with pytest.raises(InvalidCollection, match="500"):
        rules.note("x" * 501)
    with pytest.raises(InvalidCollection):
        rules.title("   ")
    with pytest.raises(InvalidCollection):
        rules.title("t" * 101)
    assert rules.title("  two   words ") == "two words"
    with pytest.raises(InvalidCollection):
        rules.theme("chartreuse")


def test_moves_keep_the_others_in_order():
    assert rules.moved([1, 2, 3, 4], 4, 0) == [4, 1, 2, 3]
    assert rules.moved([1, 2, 3, 4], 1, 2) == [2, 3, 1, 4]
    assert rules.moved([1, 2, 3, 4], 2, 99) == [1, 3, 4, 2]
    with pytest.raises(InvalidCollection):
        rules.moved([1, 2], 1, -1)


def test_item_object_ids_round_trip():
    assert hf.parse_item_object_id(hf.item_object_id(42)) == 42
    for bad in ("", "42", "z" * 24, "0" * 24, "f" * 24 + "0"):
        assert hf.parse_item_object_id(bad) is None or bad == "f" * 24


# -- the store, on SQLite and PostgreSQL --------------------------------------------------------------------


def _slug(view) -> rules.SlugParts:
    return rules.SlugParts(view.owner.username, view.public_id)


def test_store_keeps_items_in_order_with_notes(demo_store):
    alice = account(demo_store, "alice")
    store = CollectionStore(demo_store)
    made = store.create(alice.id, "Diffusion", description="Models that denoise")
    assert made.slug.startswith("alice/diffusion-") and made.items == [] and made.position == 0
    ids = [store.add_item(_slug(made), alice.id, arxiv_id, f"note {n}") for n, arxiv_id in enumerate(THREE)]
    got = store.get(_slug(made), alice.id)
    assert [i.paper.arxiv_id for i in got.items] == THREE
    assert [i.position for i in got.items] == [0, 1, 2]
    assert [i.note for i in got.items] == ["note 0", "note 1", "note 2"]
    assert got.item_count == 3 and got.updated_at >= made.updated_at

    store.update_item(_slug(made), alice.id, ids[2], position=0, note="first now")
    store.delete_item(_slug(made), alice.id, ids[1])
    got = store.get(_slug(made), alice.id)
    assert [(i.paper.arxiv_id, i.position, i.note) for i in got.items] == [
        (THREE[2], 0, "first now"),
        (THREE[0], 1, "note 0"),
    ]
    with pytest.raises(DuplicateItem):
        store.add_item(_slug(made), alice.id, THREE[0])
    with pytest.raises(PaperNotHere):
        store.add_item(_slug(made), alice.id, "2612.99999")
    with pytest.raises(ItemNotFound):
        store.delete_item(_slug(made), alice.id, ids[1])
    # Nothing half-written by the refusals: still two items, positions 0 and 1.
    assert [i.position for i in store.get(_slug(made), alice.id).items] == [0, 1]


def test_store_hides_private_and_foreign_collections(demo_store):
    alice, bob = account(demo_store, "alice"), account(demo_store, "bob")
    store = CollectionStore(demo_store)
    secret = store.create(alice.id, "Secret", private=True)
    public = store.create(alice.id, "Public")
    store.add_item(_slug(public), alice.id, KNOWN_ID)
    store.add_item(_slug(secret), alice.id, KNOWN_ID)
    for viewer in (None, bob.id):
        with pytest.raises(CollectionNotFound):
            store.get(_slug(secret), viewer)
    assert store.get(_slug(public), None).title == "Public"
    # Not hers: no change of any kind, and the same answer as a collection that does not exist.
    for change in (
        lambda: store.add_item(_slug(public), bob.id, RICH_ID),
        lambda: store.update(_slug(public), bob.id, title="Mine now"),
        lambda: store.delete(_slug(public), bob.id),
        lambda: store.set_upvote(_slug(secret), bob.id, True),
        lambda: store.get(rules.SlugParts("bob", public.public_id), None),  # the owner must match too
    ):
        with pytest.raises(CollectionNotFound):
            change()
    listed = store.list(arxiv_ids=[KNOWN_ID])
    assert [c.title for c in listed] == ["Public"]
    assert {c.title for c in store.list(viewer_id=alice.id, owners=["ALICE"])} == {"Public", "Secret"}
    holding, total = store.holding(demo_store.get(KNOWN_ID).id)
    assert [c.title for c in holding] == ["Public"] and total == 1


def test_store_titles_are_unique_per_owner_and_upvotes_are_counted(demo_store):
    alice, bob = account(demo_store, "alice"), account(demo_store, "bob")
    store = CollectionStore(demo_store)
    first = store.create(alice.id, "Reading")
    with pytest.raises(DuplicateCollection) as caught:
        store.create(alice.id, "Reading")
    assert caught.value.slug == first.slug
    store.create(bob.id, "Reading")  # another owner may
    second = store.create(alice.id, "Later")
    assert second.position == 1
    with pytest.raises(DuplicateCollection):
        store.update(_slug(second), alice.id, title="Reading")
    assert store.set_upvote(_slug(first), bob.id, True) == (1, True)
    assert store.set_upvote(_slug(first), bob.id, True) == (1, True)  # idempotent
    assert store.set_upvote(_slug(first), alice.id, True) == (2, True)
    assert store.set_upvote(_slug(first), bob.id, False) == (1, False)
    assert [c.title for c in store.list(sort="trending")][:1] == ["Reading"]
    assert store.upvoted_among(alice.id, [first.id, second.id]) == {first.id}
    renamed = store.update(_slug(first), alice.id, title="Renamed", position=1, theme="green")
    assert renamed.public_id == first.public_id and renamed.slug.startswith("alice/renamed-")
    assert (renamed.position, renamed.theme) == (1, "green")
    store.delete(_slug(renamed), alice.id)
    with demo_store.engine.connect() as conn:
        left = conn.execute(
            select(func.count())
            .select_from(collection_upvotes)
            .where(collection_upvotes.c.collection_id == first.id)
        ).scalar_one()
        assert left == 0
        assert conn.execute(select(func.count()).select_from(collections)).scalar_one() == 2


def test_choices_say_which_collections_hold_a_paper(demo_store):
    alice = account(demo_store, "alice")
    store = CollectionStore(demo_store)
    one = store.create(alice.id, "One")
    store.create(alice.id, "Two", private=True)
    store.add_item(_slug(one), alice.id, KNOWN_ID)
    paper_id = demo_store.get(KNOWN_ID).id
    choices, held = store.choices(alice.id, [paper_id])
    assert [(c.title, c.private) for c in choices] == [("One", False), ("Two", True)]
    assert held == {(one.public_id, paper_id)}


# -- the API: Hugging Face's routes and shapes, with bad input ----------------------------------------------


@pytest.fixture
def api(settings, demo_store):
    with TestClient(create_app(settings, store=demo_store)) as client:
        yield client


def _create(api, headers, title="Reading", **extra):
    response = api.post("/api/collections", json={"title": title, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_api_round_trip_and_refusals(api, demo_store):
    alice, bob = account(demo_store, "alice"), account(demo_store, "bob")
    as_alice, as_bob = token(demo_store, alice), token(demo_store, bob)
    made = _create(api, as_alice, description="A few", namespace="alice")
    slug = made["slug"]
    assert made["owner"]["name"] == "alice" and made["items"] == [] and made["private"] is False
    again = api.post("/api/collections", json={"title": "Reading"}, headers=as_alice)
    assert again.status_code == 409 and again.json()["slug"] == slug
    assert (
        api.post("/api/collections", json={"title": "x", "namespace": "bob"}, headers=as_alice).status_code
        == 403
    )
    assert api.post("/api/collections", json={"title": "no token"}).status_code == 401

    body = {"item": {"id": KNOWN_ID, "type": "paper"}, "note": "Read first"}
    added = api.post(f"/api/collections/{slug}/items", json=body, headers=as_alice)
    assert added.status_code == 200, added.text
    item = added.json()["items"][0]
    assert (item["id"], item["type"], item["position"]) == (KNOWN_ID, "paper", 0)
    assert item["note"] == {"text": "Read first", "html": "Read first"}
    assert api.post(f"/api/collections/{slug}/items", json=body, headers=as_alice).status_code == 409

    refusals = [
        ({"item": {"id": RICH_ID, "type": "paper"}, "note": "n" * 501}, 400),
        ({"item": {"id": "bert-base-uncased", "type": "model"}}, 400),
        ({"item": {"id": "not-an-id", "type": "paper"}}, 400),
        ({"item": {"id": "2612.99999", "type": "paper"}}, 404),
        ({"item": {"id": RICH_ID}}, 400),
        ({"note": "no item"}, 400),
    ]
    for payload, status in refusals:
        response = api.post(f"/api/collections/{slug}/items", json=payload, headers=as_alice)
        assert response.status_code == status, (payload, response.text)
        assert "error" in response.json()
    assert len(api.get(f"/api/collections/{slug}").json()["items"]) == 1  # none of them half-written

    # Bob: a stranger to it. Reads it (public), but every change is the 404 of a missing collection.
    missing = f"alice/reading-{'0' * 24}"
    for method, path, payload in [
        ("post", f"/api/collections/{slug}/items", {"item": {"id": RICH_ID, "type": "paper"}}),
        ("patch", f"/api/collections/{slug}", {"title": "Bob's"}),
        ("delete", f"/api/collections/{slug}", None),
        ("patch", f"/api/collections/{slug}/items/{item['_id']}", {"note": "x"}),
        ("delete", f"/api/collections/{slug}/items/{item['_id']}", None),
    ]:
        mine = api.request(method.upper(), path, json=payload, headers=as_bob)
        nothing = api.request(method.upper(), path.replace(slug, missing), json=payload, headers=as_bob)
        assert mine.status_code == nothing.status_code == 404, (method, path)
        assert mine.json() == nothing.json()

    for bad in ("alice/no-id", "alice/reading-XYZ", "al%20ice/reading-" + "0" * 24):
        assert api.get(f"/api/collections/{bad}").status_code == 400, bad
    assert api.get(f"/api/collections/{slug}/items/{'z' * 24}").status_code in (404, 405)

    # Private: gone for everyone but its owner, in reads and in lists.
    updated = api.patch(f"/api/collections/{slug}", json={"private": True, "theme": "blue"}, headers=as_alice)
    assert updated.status_code == 200 and updated.json()["data"]["private"] is True
    assert api.get(f"/api/collections/{slug}").status_code == 404
    assert (
        api.get(f"/api/collections/{slug}", headers=as_bob).json()
        == api.get(f"/api/collections/{missing}", headers=as_bob).json()
    )
    assert api.get(f"/api/collections/{slug}", headers=as_alice).status_code == 200
    assert api.get("/api/collections", params={"item": f"papers/{KNOWN_ID}"}).json() == []
    mine = api.get("/api/collections", params={"owner": "alice"}, headers=as_alice).json()
    assert [c["slug"] for c in mine] == [slug]
    assert api.patch(f"/api/collections/{slug}", json={"theme": "plaid"}, headers=as_alice).status_code == 400
    assert api.get("/api/collections", params={"item": "papers/not-an-id"}).status_code == 400
    assert api.get("/api/collections", params={"item": "models/gpt2"}).json() == []
    assert api.get("/api/collections", params={"sort": "random"}).status_code == 400


def test_api_upvotes_and_trending(api, demo_store):
    alice, bob = account(demo_store, "alice"), account(demo_store, "bob")
    as_alice, as_bob = token(demo_store, alice), token(demo_store, bob)
    quiet = _create(api, as_alice, "Quiet")
    loved = _create(api, as_alice, "Loved")
    for who in (as_alice, as_bob):
        response = api.post(f"/api/collections/{loved['slug']}/upvote", headers=who)
        assert response.status_code == 200
    assert response.json() == {"slug": loved["slug"], "upvotes": 2, "upvoted": True}
    listed = api.get("/api/collections", params={"sort": "trending"}, headers=as_bob).json()
    assert [c["slug"] for c in listed] == [loved["slug"], quiet["slug"]]
    assert [c["isUpvotedByUser"] for c in listed] == [True, False]
    page = api.get("/collections.json").json()
    assert [c["title"] for c in page["collections"]] == ["Loved", "Quiet"]
    gone = api.delete(f"/api/collections/{loved['slug']}/upvote", headers=as_bob).json()
    assert gone == {"slug": loved["slug"], "upvotes": 1, "upvoted": False}


def test_list_pages_with_a_link_to_the_next(api, demo_store):
    alice = account(demo_store, "alice")
    as_alice = token(demo_store, alice)
    for n in range(5):
        _create(api, as_alice, f"List {n}")
    first = api.get("/api/collections", params={"owner": "alice", "limit": 2})
    assert len(first.json()) == 2 and 'rel="next"' in first.headers["link"]
    seen = []
    url = "/api/collections?owner=alice&limit=2"
    while url:
        response = api.get(url)
        seen += [c["title"] for c in response.json()]
        link = response.headers.get("link")
        url = link[link.index("/api/") : link.index(">")] if link else None
    assert sorted(seen) == [f"List {n}" for n in range(5)]


# -- pages, forms and exports -----------------------------------------------------------------------------


def test_collect_from_a_card_without_javascript(settings, demo_store):
    app = create_app(settings, store=demo_store)
    with TestClient(app):
        alice = account(demo_store, "alice")
        browser = Browser(app, demo_store, alice)
        home = browser.get("/")
        assert 'action="/collections/add"' in home.text and "New collection…" in home.text
        made = browser.post(
            "/collections/add",
            {"paper": KNOWN_ID, "new_title": "From the feed", "note": "Seen today", "next": "/"},
        )
        assert made.status_code == 303 and made.headers["location"] == "/"
        collection = CollectionStore(demo_store).list(owners=["alice"])[0]
        assert [i.note for i in collection.items] == ["Seen today"]
        # The menu now offers the collection, and says it holds the paper already.
        paper_page = browser.get(f"/papers/{KNOWN_ID}")
        assert f'value="{collection.public_id}" disabled' in paper_page.text
        assert "In collections" in paper_page.text and collection.url in paper_page.text
        # The page's JSON twin names the same collection.
        twin = browser.get(f"/papers/{KNOWN_ID}.json").json()
        assert twin["inCollectionsTotal"] == 1
        assert twin["inCollections"] == [
            {
                "slug": collection.slug,
                "title": "From the feed",
                "owner": "alice",
                "upvotes": 0,
                "numItems": 1,
                "url": collection.url,
            }
        ]
        added = browser.post(
            "/collections/add",
            {"paper": RICH_ID, "collection": collection.public_id, "note": "Also"},
            headers={"Accept": "application/json"},
        )
        assert added.status_code == 200 and added.json()["message"] == "Added to From the feed"
        twice = browser.post(
            "/collections/add",
            {"paper": RICH_ID, "collection": collection.public_id},
            headers={"Accept": "application/json"},
        )
        assert twice.status_code == 409
        too_long = browser.post(
            "/collections/add", {"paper": RICH_ID, "new_title": "Other", "note": "n" * 501}
        )
        assert too_long.status_code == 400 and "500" in too_long.text
        assert [c.title for c in CollectionStore(demo_store).list(owners=["alice"])] == ["From the feed"]
        assert browser.post("/collections/add", {"paper": RICH_ID}, csrf=False).status_code == 403

        page = browser.get(collection.url)
        assert page.status_code == 200 and "Seen today" in page.text and "Save note" in page.text
        items = CollectionStore(demo_store).get(_slug(collection), alice.id).items
        moved = browser.post(f"{collection.url}/items/{hf.item_object_id(items[1].id)}", {"action": "up"})
        assert moved.status_code == 303
        noted = browser.post(
            f"{collection.url}/items/{hf.item_object_id(items[0].id)}", {"action": "note", "note": "Edited"}
        )
        assert noted.status_code == 303
        removed = browser.post(
            f"{collection.url}/items/{hf.item_object_id(items[1].id)}", {"action": "remove"}
        )
        assert removed.status_code == 303
        got = CollectionStore(demo_store).get(_slug(collection), alice.id)
        assert [(i.paper.arxiv_id, i.note) for i in got.items] == [(KNOWN_ID, "Edited")]
        assert browser.post(f"{collection.url}/upvote", {"action": "add"}).status_code == 303
        assert browser.get(f"{collection.url}.json").json()["upvotes"] == 1

        # Someone else: the page reads, without the owner's forms; private, it is not there at all.
        bob = Browser(app, demo_store, account(demo_store, "bob"))
        assert "Save note" not in bob.get(collection.url).text
        assert (
            browser.post(f"{collection.url}/edit", {"title": "From the feed", "private": "1"}).status_code
            == 303
        )
        assert bob.get(collection.url).status_code == 404
        assert bob.get(f"{collection.url}.json").status_code == 404
        assert bob.get(f"{collection.url}.bib").status_code == 404
        assert "From the feed" not in bob.get(f"/papers/{KNOWN_ID}").text
        assert browser.get("/collections/alice").status_code == 200
        assert "From the feed" not in bob.get("/collections/alice").text
        assert browser.post(f"{collection.url}/delete").status_code == 303
        assert CollectionStore(demo_store).list(owners=["alice"], viewer_id=alice.id) == []


def test_paper_and_collection_exports(settings, demo_store):
    app = create_app(settings, store=demo_store)
    with TestClient(app) as client:
        alice = account(demo_store, "alice")
        store = CollectionStore(demo_store)
        made = store.create(alice.id, "Cite these")
        for arxiv_id in THREE:
            store.add_item(_slug(made), alice.id, arxiv_id)
        bib = client.get(f"{made.url}.bib")
        assert bib.status_code == 200 and bib.text.count("@misc{") == 3
        for arxiv_id in THREE:
            assert f"eprint = {{{arxiv_id}}}" in bib.text
        assert bib.text.index(THREE[0]) < bib.text.index(THREE[1]) < bib.text.index(THREE[2])
        csl = client.get(f"{made.url}.csl.json")
        assert csl.headers["content-type"].startswith("application/vnd.citationstyles.csl+json")
        assert [item["id"] for item in csl.json()] == THREE
        one = client.get(f"/papers/{KNOWN_ID}.csl.json").json()
        record = records()[KNOWN_ID]
        assert one[0]["title"] == " ".join(record.title.split())
        assert len(one[0]["author"]) == len(record.authors)
        assert one[0]["issued"]["date-parts"][0][:3] == [2026, 8, 20]
        assert client.get("/papers/2612.99999.csl.json").status_code == 404
        page = client.get(made.url)
        assert page.status_code == 200 and f'href="{made.url}.bib"' in page.text
        # A renamed collection's old address leads to the new one.
        renamed = store.update(_slug(made), alice.id, title="Renamed")
        moved = client.get(made.url, follow_redirects=False)
        assert moved.status_code == 301 and moved.headers["location"] == renamed.url


def test_bibtex_keys_are_unique_within_a_file(demo_store):
    view = demo_store.get(KNOWN_ID)
    text = bibtex_all([view, view, view])
    keys = [line.split("{", 1)[1].rstrip(",") for line in text.splitlines() if line.startswith("@misc{")]
    assert len(set(keys)) == 3 and keys[1] == keys[0] + "b" and keys[2] == keys[0] + "c"
    item = csl_json(view)
    assert json.loads(json.dumps(item)) == item and item["type"] == "article"


def test_deleting_a_collection_removes_its_rows(demo_store):
    alice = account(demo_store, "alice")
    store = CollectionStore(demo_store)
    made = store.create(alice.id, "Short-lived")
    store.add_item(_slug(made), alice.id, KNOWN_ID)
    store.set_upvote(_slug(made), alice.id, True)
    store.delete(_slug(made), alice.id)
    with demo_store.engine.connect() as conn:
        for table in (collections, collection_items, collection_upvotes):
            assert conn.execute(select(func.count()).select_from(table)).scalar_one() == 0


def test_deleting_an_account_takes_its_collections_and_recounts_its_upvotes(demo_store):
    from dailypapers.services.accounts import delete_account
    from dailypapers.store.accounts import AccountStore
    from dailypapers.store.community import CommunityStore

    alice, bob = account(demo_store, "alice"), account(demo_store, "bob")
    store = CollectionStore(demo_store)
    hers = store.create(alice.id, "Hers")
    store.add_item(_slug(hers), alice.id, KNOWN_ID)
    his = store.create(bob.id, "His")
    store.set_upvote(_slug(his), alice.id, True)
    store.set_upvote(_slug(his), bob.id, True)
    store.set_upvote(_slug(hers), bob.id, True)
    delete_account(AccountStore(demo_store), CommunityStore(demo_store), alice.id)
    assert store.get(_slug(his), None).upvotes == 1
    with pytest.raises(CollectionNotFound):
        store.get(_slug(hers), bob.id)
    with demo_store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(collection_items)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(collection_upvotes)).scalar_one() == 1


def test_concurrent_additions_keep_positions_whole(demo_store):
    """Twelve writers add twelve papers to one collection at once: every paper lands once, at positions
    0..11 (the collection's row lock queues them), and upvotes cast at once all count."""
    from concurrent.futures import ThreadPoolExecutor

    alice = account(demo_store, "alice")
    voters = [account(demo_store, f"voter{n}") for n in range(6)]
    store = CollectionStore(demo_store)
    made = store.create(alice.id, "Busy")
    papers = sorted(records())[:12]
    with ThreadPoolExecutor(max_workers=6) as pool:
        added = list(pool.map(lambda a: store.add_item(_slug(made), alice.id, a), papers))
        list(pool.map(lambda v: store.set_upvote(_slug(made), v.id, True), voters))
    got = store.get(_slug(made), None)
    assert sorted(i.paper.arxiv_id for i in got.items) == papers
    assert [i.position for i in got.items] == list(range(12)) and len(set(added)) == 12
    assert got.upvotes == 6
