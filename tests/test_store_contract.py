"""The store's contract, run on SQLite and on a real PostgreSQL server (the `store` fixture is both).

Every test here must hold on both databases alike: that is the point of one implementation.
"""

from __future__ import annotations

import gzip
import itertools
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from conftest import CORPUS, FIXTURES
from dailypapers import periods, trending
from dailypapers.importers.files import import_file
from dailypapers.papers import as_utc
from dailypapers.records import PaperRecord, Submitter
from dailypapers.store.schema import feed_entries, metadata, papers, upvotes, users

DAY = date(2026, 8, 20)  # a Thursday


def rec(arxiv_id: str, **fields) -> PaperRecord:
    defaults = {
        "title": f"Title of {arxiv_id}",
        "abstract": f"Abstract of {arxiv_id}.",
        "authors": ["Ada Lovelace"],
    }
    return PaperRecord(arxiv_id=arxiv_id, **{**defaults, **fields})


def on_day(arxiv_id: str, day: date, votes: int = 0, submitter: str | None = None, **fields) -> PaperRecord:
    return rec(
        arxiv_id,
        daily_date=day,
        upvotes=votes,
        submitter=Submitter(submitter) if submitter else None,
        **fields,
    )


def dump(store) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    with store.engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def row_of(store, arxiv_id: str) -> dict:
    with store.engine.connect() as conn:
        return dict(conn.execute(select(papers).where(papers.c.arxiv_id == arxiv_id)).one()._mapping)


def count(store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def ids(views) -> list[str]:
    return [v.arxiv_id for v in views]


# -- upsert -------------------------------------------------------------------------------------------------


def test_upsert_counts_new_unchanged_updated(store):
    batch = [rec("2401.00001"), rec("2401.00002"), rec("2401.00003")]
    counts = store.upsert(batch)
    assert (counts.new, counts.updated, counts.unchanged, counts.feed_new) == (3, 0, 0, 0)
    counts = store.upsert(batch)
    assert (counts.new, counts.updated, counts.unchanged, counts.feed_new) == (0, 0, 3, 0)
    counts = store.upsert([rec("2401.00001", title="A better title"), rec("2401.00002"), rec("2401.00004")])
    assert (counts.new, counts.updated, counts.unchanged) == (1, 1, 1)
    assert store.count_papers() == 4
    assert store.get("2401.00001").title == "A better title"
    assert store.upsert([]).new == 0


def test_upsert_of_an_unchanged_paper_keeps_modified_at(store):
    store.upsert([rec("2401.00001")])
    before = row_of(store, "2401.00001")
    store.upsert([rec("2401.00001")])
    assert row_of(store, "2401.00001") == before
    store.upsert([rec("2401.00001", title="Changed")])
    after = row_of(store, "2401.00001")
    assert after["modified_at"] != before["modified_at"]
    assert after["created_at"] == before["created_at"]


@pytest.fixture(scope="module")
def mixed_files(tmp_path_factory) -> list[Path]:
    """A slice of the real corpus (Daily Papers rows with days, submitters and upvotes, and arXiv listing
    rows), the Kaggle fixtures and the Hugging Face fixtures."""
    folder = tmp_path_factory.mktemp("mixed")
    path = folder / "slice.jsonl.gz"
    with gzip.open(CORPUS, "rb") as source, gzip.open(path, "wb") as out:
        for line in itertools.islice(source, 1500):
            out.write(line)
    return [
        path,
        *sorted((FIXTURES / "kaggle").glob("*.jsonl")),
        # Not daily_item_2602.23229.json: the same paper and version as the daily_papers file with a shortened
        # abstract, so the two would take turns (an equal version replaces the text, by design).
        *sorted(p for p in (FIXTURES / "hf_api").glob("*.json") if not p.name.startswith("daily_item")),
    ]


def test_importing_twice_changes_nothing(store, mixed_files):
    for path in mixed_files:
        import_file(store, path, batch_size=97)
    before = dump(store)
    assert len(before["papers"]) > 1500 and len(before["feed_entries"]) > 100 and before["users"]
    for path in mixed_files:
        report = import_file(store, path, batch_size=1000)  # other batch cuts, same outcome
        assert report.counts.new == report.counts.updated == report.counts.feed_new == 0
    assert dump(store) == before


def test_newer_version_replaces_title_and_abstract_older_does_not(store):
    store.upsert([rec("2401.00001", version=2, title="Second", abstract="Second abstract.", doi="10.1/v2")])
    store.upsert([rec("2401.00001", version=1, title="First", abstract="First abstract.", doi="10.1/v1")])
    view = store.get("2401.00001")
    assert (view.version, view.title, view.abstract, view.doi) == (2, "Second", "Second abstract.", "10.1/v2")
    counts = store.upsert([rec("2401.00001", version=3, title="Third", abstract="Third abstract.")])
    assert counts.updated == 1
    view = store.get("2401.00001")
    assert (view.version, view.title, view.abstract, view.doi) == (3, "Third", "Third abstract.", "10.1/v2")


def test_older_version_fills_a_missing_field(store):
    store.upsert([rec("2401.00001", version=2, title="Second")])
    counts = store.upsert(
        [rec("2401.00001", version=1, title="First", github_repo="https://github.com/a/b", comment="8 pages")]
    )
    assert counts.updated == 1
    view = store.get("2401.00001")
    assert view.title == "Second"
    assert view.github_repo == "https://github.com/a/b" and view.comment == "8 pages"


def test_a_none_field_never_erases_a_stored_one(store):
    published = datetime(2026, 8, 19, 17, 30, tzinfo=UTC)
    full = rec(
        "2401.00001",
        version=1,
        categories=["cs.CL", "cs.AI"],
        published_at=published,
        comment="10 pages",
        doi="10.1/x",
        journal_ref="J. 1",
        github_repo="https://github.com/a/b",
        github_stars=42,
        project_page="https://example.org",
        organization="Org",
        ai_summary="Summary.",
        ai_keywords=["LLM"],
        upvotes=7,
        num_comments=3,
    )
    store.upsert([full])
    before = store.get("2401.00001")
    counts = store.upsert([rec("2401.00001", version=2)])  # newer, but says nothing about the rest
    assert counts.updated == 1
    after = store.get("2401.00001")
    assert after.version == 2
    for name in (
        "categories",
        "published_at",
        "comment",
        "doi",
        "journal_ref",
        "github_repo",
        "github_stars",
        "project_page",
        "organization",
        "ai_summary",
        "ai_keywords",
        "upvotes",
        "num_comments",
    ):
        assert getattr(after, name) == getattr(before, name), name
    assert after.published_at == published


def test_imported_upvotes_only_grow(store):
    store.upsert([on_day("2401.00001", DAY, votes=10)])
    assert store.get("2401.00001").upvotes == 10
    assert store.upsert([on_day("2401.00001", DAY, votes=4)]).unchanged == 1
    assert store.get("2401.00001").upvotes == 10
    store.upsert([rec("2401.00001", upvotes=None)])
    assert store.get("2401.00001").upvotes == 10
    key = store.get("2401.00001").trend_key
    assert store.upsert([on_day("2401.00001", DAY, votes=25)]).updated == 1
    view = store.get("2401.00001")
    assert view.upvotes == 25 and view.trend_key > key


def test_own_upvotes_add_to_imported_ones(store):
    """Upvotes cast here (rows in `upvotes`) survive a re-import that raises the imported count."""
    store.upsert([on_day("2401.00001", DAY, votes=3, submitter="alice")])
    paper_id = store.get("2401.00001").id
    user_id = store.get("2401.00001").submitter.id
    with store.engine.begin() as conn:
        conn.execute(
            upvotes.insert().values(user_id=user_id, paper_id=paper_id, created_at=datetime.now(UTC))
        )
    store.upsert([on_day("2401.00001", DAY, votes=5, submitter="alice")])
    assert store.get("2401.00001").upvotes == 6


def test_same_paper_twice_in_a_batch_merges_like_two_batches(store):
    first = on_day("2401.00001", DAY, votes=5, submitter="alice", version=1, title="Old")
    second = on_day("2401.00001", DAY + timedelta(days=1), votes=3, version=2, title="New")
    counts = store.upsert([first, second])
    assert (counts.new, counts.feed_new) == (1, 2)
    view = store.get("2401.00001")
    assert (view.title, view.version, view.upvotes) == ("New", 2, 5)
    assert view.day == DAY  # the first day it was on the feed
    assert [v.arxiv_id for v in store.feed(periods.day(DAY + timedelta(days=1)))] == ["2401.00001"]


def test_older_version_fills_only_while_missing_across_batches(store):
    batch = [rec("2401.00001", version=1), rec("2401.00001", doi="10.1/b")]
    store.upsert([rec("2401.00001", doi="10.1/a")])
    store.upsert(batch)
    assert (store.get("2401.00001").doi, store.get("2401.00001").version) == ("10.1/a", 1)


# -- feed entries -------------------------------------------------------------------------------------------


def test_feed_entry_day_submitter_and_submitted_at(store):
    at = datetime(2026, 8, 20, 3, 55, 12, 777000, tzinfo=UTC)
    store.upsert(
        [
            on_day("2401.00001", DAY, votes=3, submitter="alice", submitted_at=at),
            on_day("2401.00002", DAY, votes=1, submitter="alice"),
        ]
    )
    store.upsert([on_day("2401.00003", DAY, submitter="alice"), on_day("2401.00004", DAY, submitter="bob")])
    with store.engine.connect() as conn:
        names = conn.execute(select(users.c.username, users.c.origin).order_by(users.c.username)).all()
    assert [tuple(n) for n in names] == [("alice", "hf"), ("bob", "hf")]  # each submitter created once
    view = store.get("2401.00001")
    assert view.day == DAY
    assert view.submitted_at == at
    assert view.submitter.username == "alice"
    # No submission time: midnight of the day.
    assert store.get("2401.00002").submitted_at == datetime(2026, 8, 20, tzinfo=UTC)
    assert store.get("2401.00002").submitter.id == view.submitter.id
    # The same entry again: no new entry, no new user.
    counts = store.upsert([on_day("2401.00001", DAY, votes=3, submitter="alice", submitted_at=at)])
    assert counts.feed_new == 0
    assert count(store, feed_entries) == 4 and count(store, users) == 2


def test_submitted_at_in_another_time_zone_is_stored_as_the_same_moment(store):
    tokyo = timezone(timedelta(hours=9))
    at = datetime(2026, 8, 20, 12, 0, tzinfo=tokyo)
    published = datetime(2026, 8, 19, 23, 0, tzinfo=tokyo)
    store.upsert([on_day("2401.00001", DAY, submitted_at=at, published_at=published)])
    view = store.get("2401.00001")
    assert view.submitted_at == at and view.submitted_at.utcoffset() == timedelta(0)
    assert view.published_at == published
    assert store.upsert([rec("2401.00001", published_at=published.astimezone(UTC))]).unchanged == 1


def test_later_source_fills_submitter_details(store):
    store.upsert([on_day("2401.00001", DAY)])
    store.upsert([on_day("2401.00002", DAY, submitter="alice")])
    store.upsert(
        [
            rec(
                "2401.00001",
                daily_date=DAY,
                submitter=Submitter("alice", fullname="Alice A.", avatar_url="/a.png"),
            )
        ]
    )
    view = store.get("2401.00001")
    assert view.submitter.username == "alice"
    assert (view.submitter.fullname, view.submitter.avatar_url) == ("Alice A.", "/a.png")
    store.upsert([rec("2401.00003", daily_date=DAY, submitter=Submitter("alice", fullname="Other"))])
    assert store.get("2401.00003").submitter.fullname == "Alice A."  # filled once, not overwritten
    assert count(store, users) == 1


def test_text_postgresql_refuses_is_stored_alike(store):
    store.upsert(
        [
            rec(
                "2401.00001",
                title="Null\x00byte",
                authors=["A\x00B"],
                organization="o" * 400,
                doi="d" * 400,
                source="s" * 700,
                github_stars=2**40,
                daily_date=DAY,
                submitter=Submitter("u" * 100, fullname="f" * 300),
            )
        ]
    )
    view = store.get("2401.00001")
    assert view.title == "Nullbyte" and view.authors == ["AB"]
    assert len(view.organization) == 255 and len(view.doi) == 255
    assert view.github_stars == 2**31 - 1
    assert len(view.submitter.username) == 64 and len(view.submitter.fullname) == 255


# -- feed ---------------------------------------------------------------------------------------------------


@pytest.fixture
def feed_store(store):
    """Three days on the feed, with a gap day and a week and month boundary.

    2026-07-31 (Fri): 2607.00010 (8)
    2026-08-01 (Sat): nothing
    2026-08-02 (Sun): 2608.00020 (2, bob), 2608.00021 (9, alice), 2608.00022 (9, alice, later), 2608.00023 (0)
    2026-08-03 (Mon): 2608.00030 (1, bob)
    """
    jul31, aug2, aug3 = date(2026, 7, 31), date(2026, 8, 2), date(2026, 8, 3)
    at = datetime(2026, 8, 2, 8, tzinfo=UTC)
    store.upsert(
        [
            on_day("2607.00010", jul31, 8, published_at=datetime(2026, 7, 30, tzinfo=UTC)),
            on_day(
                "2608.00020", aug2, 2, "bob", submitted_at=at, published_at=datetime(2026, 8, 1, tzinfo=UTC)
            ),
            on_day(
                "2608.00021", aug2, 9, "alice", submitted_at=at, published_at=datetime(2026, 7, 1, tzinfo=UTC)
            ),
            on_day("2608.00022", aug2, 9, "alice", submitted_at=at + timedelta(hours=1)),
            on_day("2608.00023", aug2, 0, published_at=datetime(2026, 8, 2, tzinfo=UTC)),
            on_day("2608.00030", aug3, 1, "bob", published_at=datetime(2026, 8, 3, tzinfo=UTC)),
        ]
    )
    store.upsert([rec("2608.00099", upvotes=50)])  # not on the feed at all
    return store


def test_feed_of_a_day_by_upvotes_then_submission(feed_store):
    views = feed_store.feed(periods.parse("date", "2026-08-02"))
    assert ids(views) == ["2608.00021", "2608.00022", "2608.00020", "2608.00023"]
    assert {v.day for v in views} == {date(2026, 8, 2)}
    assert [v.upvotes for v in views] == [9, 9, 2, 0]
    assert feed_store.feed(periods.parse("date", "2026-08-01")) == []


def test_feed_without_period_is_newest_day_first(feed_store):
    views = feed_store.feed()
    assert ids(views) == ["2608.00030", "2608.00021", "2608.00022", "2608.00020", "2608.00023", "2607.00010"]
    assert "2608.00099" not in ids(views)


def test_feed_of_a_week_and_a_month(feed_store):
    # ISO week 31 of 2026 is Mon 07-27 .. Sun 08-02: Friday 07-31 and Sunday 08-02, not Monday 08-03.
    week = feed_store.feed(periods.parse("week", "2026-W31"))
    assert ids(week) == ["2608.00021", "2608.00022", "2607.00010", "2608.00020", "2608.00023"]
    assert ids(feed_store.feed(periods.parse("week", "2026-W32"))) == ["2608.00030"]
    august = feed_store.feed(periods.parse("month", "2026-08"))
    assert ids(august) == ["2608.00021", "2608.00022", "2608.00020", "2608.00030", "2608.00023"]
    assert [v.upvotes for v in august] == [9, 9, 2, 1, 0]
    assert ids(feed_store.feed(periods.parse("month", "2026-07"))) == ["2607.00010"]
    assert feed_store.feed(periods.parse("month", "2026-09")) == []


def test_feed_by_submitter(feed_store):
    assert ids(feed_store.feed(submitter="bob")) == ["2608.00030", "2608.00020"]
    assert ids(feed_store.feed(periods.parse("date", "2026-08-02"), submitter="alice")) == [
        "2608.00021",
        "2608.00022",
    ]
    assert feed_store.feed(submitter="nobody") == []
    assert all(v.submitter.username == "bob" for v in feed_store.feed(submitter="bob"))


def test_feed_sorted_by_published_at(feed_store):
    views = feed_store.feed(sort="publishedAt")
    # Newest publication first; a paper without a publication date last, on both databases.
    assert ids(views) == ["2608.00030", "2608.00023", "2608.00020", "2607.00010", "2608.00021", "2608.00022"]


def test_feed_offset_and_limit(feed_store):
    everything = ids(feed_store.feed())
    assert ids(feed_store.feed(limit=2)) == everything[:2]
    assert ids(feed_store.feed(offset=2, limit=2)) == everything[2:4]
    pages = [ids(feed_store.feed(offset=o, limit=4)) for o in range(0, 8, 4)]
    assert sum(pages, []) == everything
    assert feed_store.feed(offset=100) == []
    day = periods.parse("date", "2026-08-02")
    assert ids(feed_store.feed(day, offset=1, limit=2)) == ["2608.00022", "2608.00020"]


def test_the_days_first_paper_is_marked(feed_store):
    views = feed_store.feed()
    top = {v.arxiv_id for v in views if v.rank == 1}
    assert top == {"2608.00030", "2608.00021", "2607.00010"}
    assert all(v.rank is None for v in views if v.arxiv_id not in top)
    # On a later page, the runner-up tied on upvotes is not #1.
    second_page = feed_store.feed(periods.parse("date", "2026-08-02"), offset=1)
    assert ids(second_page)[0] == "2608.00022" and second_page[0].rank is None
    # Listed in another order, the #1 of each day is still the same paper.
    by_date = feed_store.feed(sort="publishedAt")
    assert {v.arxiv_id for v in by_date if v.rank == 1} == top
    assert feed_store.get("2608.00021").upvotes == 9


def test_get_attaches_the_feed_entry(feed_store):
    view = feed_store.get("2608.00021")
    assert view.day == date(2026, 8, 2)
    assert view.submitted_at == datetime(2026, 8, 2, 8, tzinfo=UTC)
    assert view.submitter.username == "alice"
    assert view.title == "Title of 2608.00021" and view.authors == ["Ada Lovelace"]
    off_feed = feed_store.get("2608.00099")
    assert off_feed.day is None and off_feed.submitter is None and off_feed.upvotes == 50
    assert feed_store.get("2608.99999") is None
    assert feed_store.get("hep-th/9608091") is None


def test_days_and_bounds(feed_store):
    assert feed_store.latest_day() == date(2026, 8, 3)
    assert feed_store.feed_bounds() == (date(2026, 7, 31), date(2026, 8, 3))
    assert feed_store.neighbour_days(date(2026, 8, 2)) == (date(2026, 7, 31), date(2026, 8, 3))
    # Empty days are skipped, from a day on the feed and from one that is not.
    assert feed_store.neighbour_days(date(2026, 7, 31)) == (None, date(2026, 8, 2))
    assert feed_store.neighbour_days(date(2026, 8, 1)) == (date(2026, 7, 31), date(2026, 8, 2))
    assert feed_store.neighbour_days(date(2026, 8, 3)) == (date(2026, 8, 2), None)
    assert feed_store.neighbour_days(date(2030, 1, 1)) == (date(2026, 8, 3), None)


def test_days_of_an_empty_store(store):
    assert store.latest_day() is None
    assert store.feed_bounds() == (None, None)
    assert store.neighbour_days(DAY) == (None, None)
    assert store.feed() == [] and store.trending() == []
    assert store.count_papers() == 0


def test_removed_entries_are_off_the_feed(feed_store):
    with feed_store.engine.begin() as conn:
        paper_id = conn.execute(select(papers.c.id).where(papers.c.arxiv_id == "2608.00030")).scalar_one()
        conn.execute(
            feed_entries.update()
            .where(feed_entries.c.paper_id == paper_id)
            .values(removed_at=datetime.now(UTC))
        )
    assert feed_store.latest_day() == date(2026, 8, 2)
    assert feed_store.neighbour_days(date(2026, 8, 2)) == (date(2026, 7, 31), None)
    assert "2608.00030" not in ids(feed_store.feed())


# -- trending -----------------------------------------------------------------------------------------------


def test_trending_is_not_most_upvotes_ever(store):
    today = date(2026, 8, 20)
    store.upsert(
        [
            on_day("2608.00001", today - timedelta(days=10), votes=100),  # old, many
            on_day("2608.00002", today, votes=10),  # recent, fewer
            on_day("2608.00003", today - timedelta(days=1), votes=30),
            on_day("2608.00004", today, votes=0),  # no votes: not trending at all
        ]
    )
    store.upsert([rec("2608.00005", upvotes=500)])  # never on the feed: no moment, so not trending
    most_ever = ids(sorted(store.feed(), key=lambda v: -v.upvotes))
    trend = ids(store.trending())
    assert most_ever[0] == "2608.00001"
    assert trend == ["2608.00003", "2608.00002", "2608.00001"]
    assert trend != [i for i in most_ever if i in trend]
    # The order is the order of today's scores.
    now = datetime(2026, 8, 21, tzinfo=UTC)
    scores = [trending.score_at(v.trend_key, now, store.half_life) for v in store.trending()]
    assert scores == sorted(scores, reverse=True)
    assert ids(store.trending(offset=1, limit=1)) == ["2608.00002"]
    views = store.trending()
    assert views[0].day == today - timedelta(days=1) and views[0].rank == 1


def test_trending_key_follows_new_votes(store):
    store.upsert([on_day("2608.00001", DAY, votes=10), on_day("2608.00002", DAY, votes=12)])
    assert ids(store.trending()) == ["2608.00002", "2608.00001"]
    store.upsert([on_day("2608.00001", DAY, votes=20)])
    assert ids(store.trending()) == ["2608.00001", "2608.00002"]
    # A paper whose upvotes came before its feed day gets a key once it is on the feed.
    store.upsert([rec("2608.00003", upvotes=50)])
    assert "2608.00003" not in ids(store.trending())
    store.upsert([on_day("2608.00003", DAY)])
    assert ids(store.trending())[0] == "2608.00003"


# -- batches ------------------------------------------------------------------------------------------------

ARXIV_POOL = [f"2608.{n:05d}" for n in range(1, 6)]
DAYS = [date(2026, 8, 1) + timedelta(days=n) for n in range(3)]

records_strategy = st.builds(
    PaperRecord,
    arxiv_id=st.sampled_from(ARXIV_POOL),
    title=st.sampled_from(["T1", "T2", "T3"]),
    abstract=st.sampled_from(["A1", "A2"]),
    authors=st.sampled_from([["X"], ["X", "Y"]]),
    version=st.one_of(st.none(), st.integers(1, 3)),
    doi=st.one_of(st.none(), st.sampled_from(["10.1/a", "10.1/b"])),
    github_stars=st.one_of(st.none(), st.integers(0, 5)),
    daily_date=st.one_of(st.none(), st.sampled_from(DAYS)),
    submitted_at=st.one_of(st.none(), st.sampled_from([datetime(2026, 8, 2, 9, tzinfo=UTC)])),
    submitter=st.one_of(
        st.none(),
        st.builds(
            Submitter,
            username=st.sampled_from(["alice", "bob"]),
            fullname=st.one_of(st.none(), st.sampled_from(["Alice", "Bob"])),
            avatar_url=st.one_of(st.none(), st.just("/a.png")),
        ),
    ),
    upvotes=st.one_of(st.none(), st.integers(0, 30)),
    num_comments=st.one_of(st.none(), st.integers(0, 3)),
)


def snapshot(store) -> dict:
    """The stored state without surrogate ids and write times."""
    skip = {"id", "created_at", "modified_at"}
    with store.engine.connect() as conn:
        paper_rows = {
            row.arxiv_id: {
                k: (as_utc(v) if isinstance(v, datetime) else v)
                for k, v in row._mapping.items()
                if k not in skip
            }
            for row in conn.execute(select(papers))
        }
        entries = sorted(
            (a, str(d), as_utc(s), u)
            for a, d, s, u in conn.execute(
                select(
                    papers.c.arxiv_id, feed_entries.c.day, feed_entries.c.submitted_at, users.c.username
                ).select_from(feed_entries.join(papers).outerjoin(users))
            )
        )
        people = sorted(
            tuple(r) for r in conn.execute(select(users.c.username, users.c.fullname, users.c.avatar_url))
        )
    return {"papers": paper_rows, "entries": entries, "users": people}


def assert_same(got: dict, want: dict) -> None:
    """Equal snapshots, or a message that names the papers and columns that differ."""
    differ = {
        arxiv_id: {
            k: (got["papers"][arxiv_id][k], v) for k, v in row.items() if got["papers"][arxiv_id][k] != v
        }
        for arxiv_id, row in want["papers"].items()
        if arxiv_id in got["papers"] and got["papers"][arxiv_id] != row
    }
    assert not differ, f"(got, want) by paper and column: {differ}"
    assert got == want


def clear(store) -> None:
    with store.engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(records_strategy, min_size=1, max_size=12), st.data())
def test_where_batches_are_cut_does_not_matter(store, records, data):
    """One batch, or the same records cut anywhere into several: the same stored state (so an import
    resumed after a crash, which cuts its batches elsewhere, ends where an uninterrupted one would)."""
    clear(store)
    store.upsert(records)
    whole = snapshot(store)
    clear(store)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(records)), max_size=4)))
    for start, end in itertools.pairwise([0, *cuts, len(records)]):
        store.upsert(records[start:end])
    assert_same(snapshot(store), whole)
    # And merging everything again changes nothing.
    counts = store.upsert(records)
    assert counts.new == counts.updated == counts.feed_new == 0
    assert_same(snapshot(store), whole)
