"""Authors, organizations, claims of authorship and follows: the folded names (pure), the store on SQLite and
PostgreSQL, and the pages, their JSON twins and the API over a real app."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from community_support import Browser, account, paper, today, token
from dailypapers import names
from dailypapers.services.authorship import Authorship, BadTarget
from dailypapers.store.authors import AuthorStore, NotOnPaper
from dailypapers.store.community import Actor, CommunityStore, Conflict, Forbidden, NotFound
from dailypapers.web.app import create_app

MANY = 1200  # authors on one paper (collaborations list thousands)


# -- names (pure) ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("José García", "JOSE  GARCIA"),
        ("Łukasz Kaiser", "Lukasz Kaiser"),
        ("Søren Ærø", "Soren Aero"),
        ("O'Neil-Smith", "o neil smith"),
        ("Ляпунов", "ЛЯПУНОВ"),
    ],
)
def test_spellings_that_fold_to_one_key(a, b):
    assert names.key(a) == names.key(b) != ""


def test_keys_that_stay_apart():
    assert names.key("J. García") != names.key("José García")  # initials are never expanded
    assert names.key("王伟") == "王伟" and names.key("王伟") != names.key("王卫")
    assert names.key("★") == "★"  # a name of symbols keeps a key of its own
    assert (
        names.key("   ") == "" and names.key("\x00") == "" and names.key("Ada\x00 Lovelace") == "ada lovelace"
    )
    assert names.initials("J. K.") and not names.initials("J. Kim")
    assert names.org_key_of_slug(names.slug("Tencent Hunyuan")) == names.key("Tencent Hunyuan")
    assert names.author_path("A/B C") == "/authors/A%2FB%20C"


# -- the store (SQLite and PostgreSQL) ---------------------------------------------------------------


def _corpus(store) -> None:
    day = today()
    store.upsert(
        [
            paper(
                "2611.00001", day=day, votes=5, authors=["José García", "Ada Lovelace"], organization="NVIDIA"
            ),
            paper(
                "2611.00002", day=day, votes=3, authors=["Jose Garcia", "Ada Lovelace"], categories=["cs.CL"]
            ),
            paper("2611.00003", authors=["J. García", "Alan Turing"], organization="Nvidia"),
            paper("2611.00004", authors=["Plato"], categories=["math.HO"]),
            paper("2611.00005", authors=["王伟", "A. B."], organization="Tencent Hunyuan"),
            paper("2611.00006", authors=[f"Member {i}" for i in range(MANY)] + ["Ada Lovelace"]),
        ]
    )


@pytest.fixture
def authors(store):
    _corpus(store)
    return AuthorStore(store.engine)


def test_an_author_page_gathers_the_spellings_of_one_name(authors):
    page = authors.author(names.key("JOSÉ GARCÍA"))
    assert page is not None
    assert sorted(line.arxiv_id for line in page.papers) == ["2611.00001", "2611.00002"]
    assert page.spellings == {"José García": 1, "Jose Garcia": 1}
    assert page.total_upvotes == 8
    assert [(c.name, c.count) for c in page.coauthors] == [("Ada Lovelace", 2)]
    assert page.categories and page.first is not None and page.last is not None
    assert {line.day for line in page.papers} == {today()}
    # "J. García" is another page: initials are not merged into a full name.
    assert [line.arxiv_id for line in authors.author(names.key("J. García")).papers] == ["2611.00003"]
    assert authors.author(names.key("Nobody")) is None
    assert authors.author("") is None


def test_odd_names_have_pages(authors):
    for name in ("Plato", "王伟", "A. B.", f"Member {MANY - 1}"):
        page = authors.author(names.key(name))
        assert page is not None and page.name == name, name
    lovelace = authors.author(names.key("ada lovelace"))
    assert len(lovelace.papers) == 3
    big = next(line for line in lovelace.papers if line.arxiv_id == "2611.00006")
    assert big.n_authors == MANY + 1 and big.position == MANY


def test_a_name_whose_papers_share_no_coauthor_is_called_ambiguous(store):
    first = [paper(f"2611.001{i:02d}", authors=["Wei Zhang", "Alice A", "Bob B"]) for i in range(3)]
    second = [paper(f"2611.002{i:02d}", authors=["Wei Zhang", "Carol C", "Dan D"]) for i in range(3)]
    store.upsert(first + second)
    page = AuthorStore(store.engine).author("wei zhang")
    assert page.ambiguous and page.groups == [3, 3]
    assert {line.group for line in page.papers} == {1, 2}
    single = AuthorStore(store.engine).author("alice a")
    assert not single.ambiguous and single.groups == []


def test_derived_rows_follow_a_new_version_of_the_paper(store, authors):
    store.upsert([paper("2611.00004", authors=["Plato", "Aristotle"], organization="Academy", version=2)])
    assert authors.author("aristotle") is not None
    assert authors.organization("academy").papers[0].arxiv_id == "2611.00004"


def test_an_organization_page(authors):
    assert authors.organization(names.org_key_of_slug("nvidia")).spellings == {"NVIDIA": 1, "Nvidia": 1}
    page = authors.organization(names.org_key_of_slug("NVIDIA"))
    assert [line.arxiv_id for line in page.papers] == ["2611.00001", "2611.00003"]  # on the feed first
    assert page.papers[0].day == today() and page.papers[1].day is None
    assert {a.name for a in page.authors} >= {"José García", "Alan Turing"}
    assert [line.arxiv_id for line in page.trending] == ["2611.00001"]
    assert page.total_upvotes == 5
    assert authors.organization("no such org") is None
    listed = {o.key: o.count for o in authors.organizations()}
    assert listed == {"nvidia": 2, "tencent hunyuan": 1}


def _actors(store):
    alice = account(store, "alice")
    bob = account(store, "bob")
    mod = account(store, "mod", role="moderator")
    return (
        Actor(alice.id, "alice"),
        Actor(bob.id, "bob"),
        Actor(mod.id, "mod", "moderator"),
    )


def test_claims_pending_approved_and_refused(store, authors):
    alice, bob, mod = _actors(store)
    community = CommunityStore(store)
    service = Authorship(authors, community)
    with pytest.raises(NotOnPaper):
        service.claim(alice, "2611.00001", "Grace Hopper")
    with pytest.raises(NotOnPaper):
        service.claim(alice, "2611.00001", "   ")
    with pytest.raises(NotFound):
        service.claim(alice, "2611.99999", "Ada Lovelace")
    # Alice comments before her claim is approved: her name is not "alice", so no badge yet.
    community.add_comment(alice, "2611.00001", "I wrote this")
    claim = service.claim(alice, "2611.00001", "ada LOVELACE")  # case and accents do not matter
    assert (claim.status, claim.name, claim.position) == ("pending", "Ada Lovelace", 1)
    with pytest.raises(Conflict):
        service.claim(bob, "2611.00001", "Ada Lovelace")  # the name is claimed (pending)
    with pytest.raises(Conflict):
        service.claim(alice, "2611.00001", "José García")  # one name per account and paper
    with pytest.raises(Forbidden):
        service.decide(bob, claim.id, True)
    assert store.get("2611.00001").claims == {}
    assert not store.get("2611.00001").author_participating
    approved = service.decide(mod, claim.id, True)
    assert approved.status == "approved" and approved.decided_at is not None
    with pytest.raises(Conflict):
        service.decide(mod, claim.id, False)
    view = store.get("2611.00001")
    assert view.claims[1].user.username == "alice"
    assert view.author_participating  # her earlier comment now counts
    comments = community.comments_page(view.id).comments
    assert comments[0].is_paper_author and comments[0].claimed_author
    reply = community.add_comment(alice, "2611.00001", "And a reply", parent_id=comments[0].id)
    assert reply.claimed_author
    assert authors.author("ada lovelace").accounts == ["alice"]
    log = community.moderation_entries()
    assert log[0]["action"] == "approve_claim" and log[0]["subject_user_id"] == alice.id
    # A rejected claim frees the name for another account.
    other = service.claim(bob, "2611.00002", "Ada Lovelace")
    service.decide(mod, other.id, False)
    assert service.claim(alice, "2611.00002", "Ada Lovelace").status == "pending"
    # Withdrawn: the badge goes.
    service.withdraw(alice, claim.id)
    assert store.get("2611.00001").claims == {}
    with pytest.raises(NotFound):
        service.withdraw(bob, claim.id)


def test_two_accounts_confirmed_under_one_name_make_it_ambiguous(store, authors):
    alice, bob, mod = _actors(store)
    service = Authorship(authors, CommunityStore(store))
    for who, arxiv_id in ((alice, "2611.00001"), (bob, "2611.00002")):
        service.decide(mod, service.claim(who, arxiv_id, "Ada Lovelace").id, True)
    page = authors.author("ada lovelace")
    assert page.accounts == ["alice", "bob"] and page.ambiguous


def test_follows_and_the_papers_they_bring(store, authors):
    alice, _bob, _mod = _actors(store)
    service = Authorship(authors, CommunityStore(store))
    target, new = service.follow(alice.id, "author", "jose garcia")
    assert new and target.key == "jose garcia"
    assert not service.follow(alice.id, "author", "José García")[1]  # the same key: followed already
    service.follow(alice.id, "org", "tencent-hunyuan")
    service.follow(alice.id, "category", "math.HO")
    with pytest.raises(NotFound):
        service.follow(alice.id, "author", "Nobody Here")
    with pytest.raises(NotFound):
        service.follow(alice.id, "category", "q-bio.XX")
    with pytest.raises(BadTarget):
        service.follow(alice.id, "category", "not a category!")
    with pytest.raises(BadTarget):
        service.follow(alice.id, "person", "Plato")
    followed = service.followed(alice.id)
    assert followed.authors == ["jose garcia"]
    assert followed.orgs == ["tencent hunyuan"]
    assert followed.categories == ["math.HO"]
    ids = service.following_ids(alice.id)
    got = {v.arxiv_id for v in store.get_many(ids)}
    assert got == {"2611.00001", "2611.00002", "2611.00004", "2611.00005"}
    assert service.unfollow(alice.id, "org", "Tencent Hunyuan")
    assert not service.unfollow(alice.id, "org", "Tencent Hunyuan")
    assert {v.arxiv_id for v in store.get_many(service.following_ids(alice.id))} == {
        "2611.00001",
        "2611.00002",
        "2611.00004",
    }


# -- the web: pages, twins, API ------------------------------------------------------------------------


@pytest.fixture
def site(settings, store):
    _corpus(store)
    app = create_app(settings, store=store)
    with TestClient(app) as client:
        client.app_ = app
        yield client


def test_author_pages_and_twins(site):
    page = site.get("/authors/Jos%C3%A9%20Garc%C3%ADa")
    assert page.status_code == 200
    assert "Jose Garcia" in page.text and "2611.00002" in page.text
    twin = site.get("/authors/jose%20garcia.json").json()
    assert twin["paperCount"] == 2 and twin["totalUpvotes"] == 8
    assert twin["coauthors"][0] == {"name": "Ada Lovelace", "url": "/authors/Ada%20Lovelace", "papers": 2}
    assert twin["firstPaper"]["id"] in ("2611.00001", "2611.00002") and not twin["ambiguous"]
    assert "following" not in twin  # anonymous
    for name in ("Plato", "王伟", "A. B.", f"Member {MANY - 1}", "Ada Lovelace"):
        assert site.get("/authors/" + quote(name, safe="")).status_code == 200, name
        assert site.get("/authors/" + quote(name, safe="") + ".json").json()["name"] == name
    for missing in ("Nobody%20Here", "x" * 600, "%20", "%00", "A%00B"):
        assert site.get(f"/authors/{missing}").status_code == 404
        answer = site.get(f"/authors/{missing}.json")
        assert answer.status_code == 404 and "error" in answer.json()


def test_paper_and_card_link_their_authors_and_organization(site):
    paper_page = site.get("/papers/2611.00001").text
    assert 'href="/authors/Jos%C3%A9%20Garc%C3%ADa"' in paper_page
    assert 'href="/orgs/nvidia"' in paper_page
    assert 'href="/authors/Ada%20Lovelace"' in site.get("/").text
    big = site.get("/papers/2611.00006")
    assert big.status_code == 200 and big.text.count('href="/authors/Member%20') == MANY


def test_organization_pages_and_twins(site):
    assert "/orgs/tencent-hunyuan" in site.get("/orgs").text
    assert site.get("/orgs.json").json()["organizations"][0] == {
        "name": "NVIDIA",
        "url": "/orgs/nvidia",
        "papers": 2,
    }
    html = site.get("/orgs/nvidia")
    assert html.status_code == 200 and "Papers by day" in html.text
    twin = site.get("/orgs/NVIDIA.json").json()
    assert twin["paperCount"] == 2 and twin["days"][0]["day"] == today().isoformat()
    assert twin["days"][1] == {"day": None, "papers": [twin["days"][1]["papers"][0]]}
    assert [t["id"] for t in twin["trending"]] == ["2611.00001"]
    assert site.get("/orgs/Tencent%20Hunyuan.json").json()["name"] == "Tencent Hunyuan"
    assert site.get("/orgs/nope").status_code == 404
    assert site.get("/orgs/nope.json").json() == {"error": "No organization named 'nope' here"}


def test_claiming_through_the_api_and_the_moderators_decision(site, store):
    app = site.app_
    alice = account(store, "alice")
    mod = account(store, "mod", role="moderator")
    headers = token(store, alice)
    claims = "/api/papers/2611.00001/claims"
    assert site.post(claims, json={"name": "Ada Lovelace"}).status_code == 401
    refused = site.post(claims, json={"name": "Grace Hopper"}, headers=headers)
    assert refused.status_code == 400 and "not among the authors" in refused.json()["error"]
    assert site.post(claims, json={"name": "x" * 501}, headers=headers).status_code == 400
    assert site.post(claims, json={}, headers=headers).status_code == 400
    assert site.post("/api/papers/2611.99999/claims", json={"name": "A"}, headers=headers).status_code == 404
    made = site.post(claims, json={"name": "ada lovelace"}, headers=headers)
    assert made.status_code == 201 and made.json()["status"] == "pending"
    claim_id = made.json()["id"]
    bob = account(store, "bob")
    again = site.post(claims, json={"name": "Ada Lovelace"}, headers=token(store, bob))
    assert again.status_code == 409
    assert site.get("/api/claims", headers=headers).json()["claims"][0]["id"] == claim_id
    decision = f"/api/claims/{claim_id}/decision"
    assert site.post(decision, json={"action": "approve"}, headers=headers).status_code == 403
    mod_headers = token(store, mod)
    assert site.post(decision, json={"action": "maybe"}, headers=mod_headers).status_code == 400
    assert (
        site.post("/api/claims/99999/decision", json={"action": "approve"}, headers=mod_headers).status_code
        == 404
    )
    approved = site.post(decision, json={"action": "approve"}, headers=mod_headers)
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert site.post(decision, json={"action": "reject"}, headers=mod_headers).status_code == 409
    detail = site.get("/api/papers/2611.00001").json()
    ada = detail["authors"][1]
    assert ada["user"]["user"] == "alice" and ada["status"] == "claimed_verified"
    assert ada["statusLastChangedAt"].endswith("Z")
    assert "user" not in detail["authors"][0]
    comment = site.post("/api/papers/2611.00001/comments", json={"comment": "Author here."}, headers=headers)
    assert comment.json()["isPaperAuthor"] is True
    assert site.get("/api/papers/2611.00001").json()["isAuthorParticipating"] is True
    listed = site.get("/api/daily_papers").json()
    item = next(i for i in listed if i["paper"]["id"] == "2611.00001")
    assert item["paper"]["authors"][1]["user"]["name"] == "alice" and item["isAuthorParticipating"]
    page = site.get("/papers/2611.00001").text
    assert "✓ alice" in page and "Paper author" in page
    assert '✓ <a href="/u/alice"' in site.get("/").text
    assert site.get("/authors/Ada%20Lovelace.json").json()["accounts"] == ["alice"]
    assert site.delete(f"/api/claims/{claim_id}", headers=token(store, bob)).status_code == 404
    assert site.delete(f"/api/claims/{claim_id}", headers=headers).status_code == 204
    assert "user" not in site.get("/api/papers/2611.00001").json()["authors"][1]
    assert app.state.authors.claims(user_id=alice.id) == []


def test_claim_and_moderation_forms(site, store):
    app = site.app_
    alice = Browser(app, store, account(store, "alice"))
    mod = Browser(app, store, account(store, "mod", role="moderator"))
    assert "Are you an author?" in alice.get("/papers/2611.00001").text
    assert alice.post("/papers/2611.00001/claims", {"name": "Ada Lovelace"}, csrf=False).status_code == 403
    made = alice.post("/papers/2611.00001/claims", {"name": "Ada Lovelace"})
    assert made.status_code == 303 and "claimed=" in made.headers["location"]
    assert alice.get(made.headers["location"]).status_code == 200
    assert alice.post("/papers/2611.00001/claims", {"name": "Nobody"}).status_code == 400
    assert alice.get("/moderation/claims").status_code == 403
    pending = mod.get("/moderation/claims.json").json()["claims"]
    assert [c["name"] for c in pending] == ["Ada Lovelace"]
    assert "Approve" in mod.get("/moderation/claims").text
    decided = mod.post(f"/moderation/claims/{pending[0]['id']}", {"action": "approve"})
    assert decided.status_code == 303
    assert mod.get("/moderation/claims.json").json()["claims"] == []
    assert "approve claim" in mod.get("/moderation").text


def test_follow_forms_api_and_following_page(site, store):
    app = site.app_
    alice = account(store, "alice")
    headers = token(store, alice)
    assert site.get("/api/follows").status_code == 401
    assert site.get("/following", follow_redirects=False).status_code in (302, 303)
    made = site.post("/api/follows", json={"kind": "author", "name": "José García"}, headers=headers)
    assert made.status_code == 201 and made.json()["follows"][0]["key"] == "jose garcia"
    again = site.post("/api/follows", json={"kind": "author", "name": "JOSE GARCIA"}, headers=headers)
    assert again.status_code == 200
    assert (
        site.post("/api/follows", json={"kind": "org", "name": "nvidia"}, headers=headers).status_code == 201
    )
    assert site.post("/api/follows", json={"kind": "person", "name": "x"}, headers=headers).status_code == 400
    assert (
        site.post("/api/follows", json={"kind": "category", "name": "??"}, headers=headers).status_code == 400
    )
    assert (
        site.post("/api/follows", json={"kind": "author", "name": "Nobody"}, headers=headers).status_code
        == 404
    )
    nul = site.post("/api/follows", json={"kind": "author", "name": "Jose\x00 Garcia"}, headers=headers)
    assert nul.status_code == 200 and "\\u0000" not in nul.text and "\x00" not in nul.text
    assert site.delete("/api/follows/org/NVIDIA", headers=headers).status_code == 204
    assert site.delete("/api/follows/org/NVIDIA", headers=headers).status_code == 204  # idempotent
    assert site.delete("/api/follows/person/x", headers=headers).status_code == 400
    browser = Browser(app, store, alice)
    assert browser.post("/follows", {"kind": "category", "name": "math.HO"}, csrf=False).status_code == 403
    assert (
        browser.post("/follows", {"kind": "category", "name": "math.HO", "next": "/following"}).status_code
        == 303
    )
    assert browser.post("/follows", {"kind": "org", "name": "nvidia", "action": "dance"}).status_code == 400
    twin = browser.get("/following.json").json()
    assert {f["kind"] for f in twin["follows"]} == {"author", "category"}
    got = {p["paper"]["id"]: p["why"] for p in twin["papers"]}
    assert set(got) == {"2611.00001", "2611.00002", "2611.00004"}
    assert got["2611.00004"] == ["category math.HO"]
    html = browser.get("/following").text
    assert "Because you follow" in html and "2611.00004" in html
    author = browser.get("/authors/Jose%20Garcia")
    assert "Following ✓" in author.text
    assert browser.get("/authors/Jose%20Garcia.json").json()["following"] is True
    assert browser.get("/orgs/nvidia.json").json()["following"] is False
    unfollowed = browser.post("/follows", {"kind": "author", "name": "Jose Garcia", "action": "unfollow"})
    assert unfollowed.status_code == 303
    assert browser.get("/authors/Jose%20Garcia.json").json()["following"] is False
    assert app.state.authorship.followed(alice.id).categories == ["math.HO"]


def test_the_migration_fills_the_names_of_papers_already_stored(unmigrated_url):
    import sqlalchemy as sa

    from conftest import make_settings
    from dailypapers.store.engine import upgrade

    settings = make_settings(unmigrated_url)
    upgrade(settings, "0008")
    engine = sa.create_engine(unmigrated_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO papers (id, arxiv_id, version, title, abstract, authors, categories, "
                    "organization, imported_upvotes, upvotes, num_comments, hf_comments, "
                    "author_participating, created_at, modified_at) VALUES (3, '2608.00001', 1, 'T', 'A', "
                    ":authors, :categories, 'Tencent Hunyuan', 0, 0, 0, 0, false, :at, :at)"
                ),
                {
                    "authors": '["José García", "王伟", ""]',
                    "categories": '["cs.CL", "cs.CL", "cs.AI"]',
                    "at": "2026-08-21 00:00:00",
                },
            )
        upgrade(settings, "head")
        with engine.connect() as conn:
            names_ = conn.exec_driver_sql(
                "SELECT position, name, key FROM paper_authors ORDER BY position"
            ).all()
            categories = conn.exec_driver_sql("SELECT category FROM paper_categories ORDER BY category").all()
            org = conn.exec_driver_sql("SELECT organization_key FROM papers").scalar_one()
        assert [tuple(r) for r in names_] == [(0, "José García", "jose garcia"), (1, "王伟", "王伟")]
        assert [r[0] for r in categories] == ["cs.AI", "cs.CL"]
        assert org == "tencent hunyuan"
    finally:
        engine.dispose()


def test_the_hugging_face_client_reads_a_confirmed_author(settings, store):
    from huggingface_hub import HfApi

    from conftest import LiveServer

    _corpus(store)
    alice, _bob, mod = _actors(store)
    service = Authorship(AuthorStore(store.engine), CommunityStore(store))
    service.decide(mod, service.claim(alice, "2611.00001", "Ada Lovelace").id, True)
    with LiveServer(settings) as server:
        api = HfApi(endpoint=server.url, token=False)
        authors = api.paper_info("2611.00001").authors
        assert authors[0].user is None and authors[0].name == "José García"
        assert authors[1].user.username == "alice" and authors[1].status == "claimed_verified"
        assert authors[1].status_last_changed_at is not None
        daily = next(p for p in api.list_daily_papers() if p.id == "2611.00001")
        assert daily.authors[1].user.username == "alice"
