"""Pure units: arXiv ids, feed periods, the trending key, the merge rules and the record parsers."""

from __future__ import annotations

import math
import sys
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from dailypapers import arxiv_ids, periods, trending
from dailypapers.importers import formats
from dailypapers.records import PaperRecord
from dailypapers.store.merge import MAX_INT, merge, merge_all, record_to_row

# -- arXiv ids ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2401.00001", ("2401.00001", None)),
        ("2401.00001v2", ("2401.00001", 2)),
        ("2608.20336v12", ("2608.20336", 12)),
        ("0704.0001", ("0704.0001", None)),  # the first new-style id: 4 digits until 1412
        ("1412.9999v3", ("1412.9999", 3)),
        ("1501.00001", ("1501.00001", None)),  # 5 digits from 1501
        ("  2401.00001  ", ("2401.00001", None)),
        ("arXiv:2401.00001v1", ("2401.00001", 1)),
        ("ARXIV:2401.00001", ("2401.00001", None)),
        ("https://arxiv.org/abs/2401.00001v3", ("2401.00001", 3)),
        ("http://arxiv.org/abs/2401.00001", ("2401.00001", None)),
        ("https://arxiv.org/pdf/2401.00001v2.pdf", ("2401.00001", 2)),
        ("https://arxiv.org/pdf/2401.00001", ("2401.00001", None)),
        ("https://www.arxiv.org/abs/2401.00001/", ("2401.00001", None)),
        ("https://export.arxiv.org/abs/2401.00001", ("2401.00001", None)),
        ("arxiv.org/html/2401.00001v1", ("2401.00001", 1)),
        ("hep-th/9608091", ("hep-th/9608091", None)),
        ("hep-th/9608091v1", ("hep-th/9608091", 1)),
        ("math.GT/0309136", ("math.GT/0309136", None)),
        ("cond-mat/0001001v2", ("cond-mat/0001001", 2)),
        ("astro-ph/0601001", ("astro-ph/0601001", None)),
        ("quant-ph/0201082v1", ("quant-ph/0201082", 1)),
        ("https://arxiv.org/abs/hep-ex/0406020v1", ("hep-ex/0406020", 1)),
    ],
)
def test_arxiv_id_parses(text, expected):
    assert arxiv_ids.parse(text) == expected
    assert arxiv_ids.normalize(text) == expected[0]
    assert arxiv_ids.is_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "2401",
        "2401.",
        "2401.123",
        "2401.1234567",
        "0000.0000",  # month 00
        "2413.00001",  # month 13
        "2400.00001",
        "1501.0001",  # 4 digits after 1501
        "1412.00001",  # 5 digits before 1501
        "0612.1234",  # new-style ids start in April 2007
        "2401.00001v",
        "2401.00001v0",
        "2401.00001v12345",
        "2401.00001 v2",
        "2401.00001\n/",
        "2401.00001\nv2",
        "2401.00001.pdf.pdf",
        "٢٤٠١.٠٠٠٠١",  # Arabic-Indic digits are digits to `\d`, not to arXiv
        "２４０１.００００１",  # full-width digits
        "hep-th/960809",
        "hep-th/96080911",
        "hep-th/9613091",  # month 13
        "HEP-TH/9608091",
        "hep-th/",
        "/9608091",
        "https://example.org/abs/2401.00001",
        "2401.00001?context=cs",
        "x" * 201,
    ],
)
def test_arxiv_id_rejects(text):
    with pytest.raises(arxiv_ids.InvalidArxivId):
        arxiv_ids.parse(text)
    assert not arxiv_ids.is_valid(text)


@pytest.mark.parametrize("value", [None, 2401.00001, 240100001, b"2401.00001", ["2401.00001"], {"id": 1}])
def test_arxiv_id_rejects_non_strings(value):
    with pytest.raises(arxiv_ids.InvalidArxivId):
        arxiv_ids.parse(value)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="0123456789.v/:-abcdefghtpsx ARXIV\n"), st.binary()))
@example("2401.00001v99999")
@example("arXiv:")
def test_arxiv_id_garbage_raises_only_invalid_arxiv_id(value):
    try:
        arxiv_id, version = arxiv_ids.parse(value)
    except arxiv_ids.InvalidArxivId:
        return
    # Whatever is accepted is a clean, ASCII, short id that parses back to itself.
    assert arxiv_id.isascii() and arxiv_id == arxiv_id.strip()
    assert len(arxiv_id) <= arxiv_ids.MAX_ID_LENGTH
    assert arxiv_ids.parse(arxiv_id) == (arxiv_id, None)
    assert version is None or version >= 1


new_style_ids = st.builds(
    lambda yy, mm, n: f"{yy:02d}{mm:02d}." + (f"{n:05d}" if yy * 100 + mm >= 1501 else f"{n % 10000:04d}"),
    st.integers(7, 99),
    st.integers(1, 12),
    st.integers(1, 99999),
).filter(lambda i: i >= "0704")
old_style_ids = st.builds(
    lambda archive, yy, mm, n: f"{archive}/{yy:02d}{mm:02d}{n:03d}",
    st.sampled_from(["hep-th", "math", "cond-mat", "astro-ph", "math.GT", "cs", "q-bio", "physics"]),
    st.sampled_from([91, 95, 99, 0, 3, 7]),
    st.integers(1, 12),
    st.integers(0, 999),
)


@settings(deadline=None)  # no timing: the machine may be busy
@given(st.one_of(new_style_ids, old_style_ids), st.one_of(st.none(), st.integers(1, 9999)))
def test_arxiv_id_round_trips_through_every_spelling(arxiv_id, version):
    suffix = f"v{version}" if version else ""
    for spelling in (
        f"{arxiv_id}{suffix}",
        f"arXiv:{arxiv_id}{suffix}",
        f"https://arxiv.org/abs/{arxiv_id}{suffix}",
        f"https://arxiv.org/pdf/{arxiv_id}{suffix}.pdf",
        f" {arxiv_id}{suffix}/ ",
    ):
        assert arxiv_ids.parse(spelling) == (arxiv_id, version)


# -- periods ------------------------------------------------------------------------------------------------


def test_period_parse_date_week_month():
    day = periods.parse("date", "2026-08-21")
    assert (day.kind, day.start, day.end, day.key) == (
        "date",
        date(2026, 8, 21),
        date(2026, 8, 22),
        "2026-08-21",
    )
    week = periods.parse("week", "2026-W34")
    assert (week.start, week.end, week.key) == (date(2026, 8, 17), date(2026, 8, 24), "2026-W34")
    assert week.start.weekday() == 0
    month = periods.parse("month", "2026-02")
    assert (month.start, month.end, month.key) == (date(2026, 2, 1), date(2026, 3, 1), "2026-02")
    assert periods.parse("month", "2024-02").end == date(2024, 3, 1)
    assert periods.parse("month", "2026-12").end == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("week", "2025-W60"),
        ("week", "2026-W00"),
        ("week", "2025-W53"),  # 2025 has 52 ISO weeks
        ("week", "2026-W54"),
        ("week", "2026-W1"),
        ("week", "2026W01"),
        ("week", "2026-w01"),
        ("week", "2026-W01\n"),
        ("week", "٢٠٢٦-W٠١"),
        ("week", "0000-W01"),
        ("week", "9999-W52"),  # its next week is past the last representable date
        ("month", "2026-13"),
        ("month", "2026-00"),
        ("month", "2026-1"),
        ("month", "0000-01"),
        ("month", "9999-12"),
        ("month", "2026-08\n"),
        ("date", "2026-02-30"),
        ("date", "2026-13-01"),
        ("date", "2026-8-21"),
        ("date", "20260821"),
        ("date", "2026-08-21\n"),
        ("date", "２０２６-０８-２１"),
        ("date", "9999-12-31"),
        ("date", "0001-01-01"),
        ("date", ""),
        ("decade", "2020"),
    ],
)
def test_period_rejects(kind, text):
    with pytest.raises(periods.InvalidPeriod):
        periods.parse(kind, text)


@pytest.mark.parametrize("kind", ["date", "week", "month"])
@pytest.mark.parametrize("value", [None, 2026, b"2026-08"])
def test_period_rejects_non_strings(kind, value):
    with pytest.raises(periods.InvalidPeriod):
        periods.parse(kind, value)


@pytest.mark.parametrize(
    ("kind", "text", "previous", "following"),
    [
        ("date", "2026-01-01", "2025-12-31", "2026-01-02"),
        ("date", "2025-12-31", "2025-12-30", "2026-01-01"),
        ("date", "2024-02-28", "2024-02-27", "2024-02-29"),
        ("week", "2026-W01", "2025-W52", "2026-W02"),
        ("week", "2026-W53", "2026-W52", "2027-W01"),  # 2026 has an ISO week 53
        ("week", "2021-W01", "2020-W53", "2021-W02"),
        ("week", "2025-W01", "2024-W52", "2025-W02"),  # starts on Monday 2024-12-30
        ("month", "2026-01", "2025-12", "2026-02"),
        ("month", "2025-12", "2025-11", "2026-01"),
        ("month", "2024-03", "2024-02", "2024-04"),
    ],
)
def test_period_neighbours_across_year_boundaries(kind, text, previous, following):
    period = periods.parse(kind, text)
    assert period.previous().key == previous
    assert period.next().key == following
    assert period.previous() == periods.parse(kind, previous)
    assert period.next() == periods.parse(kind, following)
    assert period.previous().next() == period
    assert period.next().previous() == period


def test_iso_week_53():
    week = periods.parse("week", "2026-W53")
    assert week.start == date(2026, 12, 28)
    assert week.end == date(2027, 1, 4)
    assert periods.week_of(date(2027, 1, 3)).key == "2026-W53"  # a Sunday of 2027 in week 53 of 2026
    assert periods.week_of(date(2024, 12, 30)).key == "2025-W01"
    assert "Week 53" in week.label


@settings(deadline=None)  # no timing: the machine may be busy
@given(st.dates(min_value=date(1, 2, 1), max_value=date(9999, 11, 30)))
def test_periods_contain_their_day_and_round_trip(value):
    for period in (periods.day(value), periods.week_of(value), periods.month_of(value)):
        assert period.start <= value < period.end
        assert periods.parse(period.kind, period.key) == period
    week = periods.week_of(value)
    assert week.start.weekday() == 0 and (week.end - week.start).days == 7
    month = periods.month_of(value)
    assert month.start.day == 1 and month.end.day == 1 and 28 <= (month.end - month.start).days <= 31


@settings(deadline=None)  # no timing: the machine may be busy
@given(
    st.dates(min_value=date(2, 1, 1), max_value=date(9998, 12, 1)), st.sampled_from(["date", "week", "month"])
)
def test_period_neighbours_tile_time(value, kind):
    period = {"date": periods.day, "week": periods.week_of, "month": periods.month_of}[kind](value)
    assert period.previous().end == period.start
    assert period.next().start == period.end
    assert period.previous().next() == period == period.next().previous()


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["date", "week", "month"]), st.text(max_size=12))
@example("week", "2026-W99")
@example("month", "9999-12")
def test_period_garbage_raises_only_invalid_period(kind, text):
    try:
        period = periods.parse(kind, text)
    except periods.InvalidPeriod:
        return
    # A parsed period has representable neighbours and a canonical key.
    period.previous()
    period.next()
    assert periods.parse(kind, period.key) == period


# -- trending -----------------------------------------------------------------------------------------------

HALF_LIFE = 48.0
T0 = datetime(2026, 8, 1, tzinfo=UTC)
moments = st.datetimes(min_value=datetime(2021, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC))


def test_trending_key_grows_with_votes_and_with_recency():
    one = trending.add_votes(None, 1, T0, HALF_LIFE)
    assert trending.add_votes(None, 0, T0, HALF_LIFE) is None
    assert trending.add_votes(None, 2, T0, HALF_LIFE) > one
    assert trending.add_votes(one, 1, T0, HALF_LIFE) == pytest.approx(
        trending.add_votes(None, 2, T0, HALF_LIFE)
    )
    assert trending.add_votes(None, 1, T0 + timedelta(hours=1), HALF_LIFE) > one
    # One half-life later a vote is worth two: 2 ** (1 unit).
    assert trending.add_votes(None, 1, T0 + timedelta(hours=HALF_LIFE), HALF_LIFE) == pytest.approx(
        trending.add_votes(None, 2, T0, HALF_LIFE)
    )
    assert trending.score_at(one, T0, HALF_LIFE) == pytest.approx(1.0)
    assert trending.score_at(one, T0 + timedelta(hours=HALF_LIFE), HALF_LIFE) == pytest.approx(0.5)
    assert trending.score_at(None, T0, HALF_LIFE) == 0.0


def test_naive_moments_are_utc():
    naive = datetime(2026, 8, 1, 12)
    assert trending.add_votes(None, 3, naive, HALF_LIFE) == trending.add_votes(
        None, 3, naive.replace(tzinfo=UTC), HALF_LIFE
    )


@settings(deadline=None)  # no timing: the machine may be busy
@given(st.integers(1, 10**6), st.integers(1, 10**6), moments, moments)
def test_trending_key_is_monotonic(count_a, count_b, at_a, at_b):
    key_a = trending.add_votes(None, count_a, at_a, HALF_LIFE)
    key_b = trending.add_votes(None, count_b, at_b, HALF_LIFE)
    if count_a >= count_b and at_a >= at_b:
        assert key_a >= key_b
    if count_a <= count_b and at_a <= at_b:
        assert key_a <= key_b


def test_old_many_upvotes_rank_below_recent_fewer():
    old = trending.key_for(100, T0 - timedelta(days=10), [], HALF_LIFE)
    recent = trending.key_for(10, T0, [], HALF_LIFE)
    assert recent > old  # 100 / 2**5 ≈ 3 fresh upvotes against 10
    assert trending.score_at(old, T0, HALF_LIFE) == pytest.approx(100 / 2**5)


vote_lists = st.lists(moments, min_size=1, max_size=20)


@settings(deadline=None)  # no timing: the machine may be busy
@given(
    st.lists(st.tuples(st.integers(0, 500), moments, vote_lists), min_size=2, max_size=6),
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)), min_size=2, max_size=4),
)
def test_trending_order_does_not_depend_on_now(papers, offsets):
    keys = [trending.key_for(count, at, votes, HALF_LIFE) for count, at, votes in papers]
    latest = max(max(at, *votes) for _count, at, votes in papers)
    key_order = sorted(range(len(keys)), key=lambda i: keys[i])
    for offset in offsets:
        now = latest + offset
        scores = [trending.score_at(k, now, HALF_LIFE) for k in keys]
        # Ordering by today's score is ordering by the stored key (up to float rounding on near-ties).
        for i, j in zip(key_order, key_order[1:], strict=False):
            assert scores[i] <= scores[j] * (1 + 1e-9)
        # And the score is the brute-force sum of decayed votes.
        for (count, at, votes), score in zip(papers, scores, strict=True):
            brute = sum(2 ** (-(now - v).total_seconds() / 3600 / HALF_LIFE) for v in votes)
            brute += count * 2 ** (-(now - at).total_seconds() / 3600 / HALF_LIFE)
            assert score == pytest.approx(brute, rel=1e-6, abs=1e-300)


@pytest.mark.parametrize(
    "when",
    [datetime(9999, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC), datetime(3000, 1, 1)],
)
def test_trending_no_overflow_far_from_epoch(when):
    key = trending.key_for(2**31 - 1, when, [when] * 50, HALF_LIFE)
    assert math.isfinite(key)
    key = trending.add_votes(key, 10**9, when, 0.001)  # a tiny half-life makes the units huge
    assert math.isfinite(key)
    for now in (
        datetime(2020, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, tzinfo=UTC),
        datetime(1, 1, 2, tzinfo=UTC),
    ):
        score = trending.score_at(key, now, HALF_LIFE)
        assert math.isfinite(score) and 0.0 <= score <= sys.float_info.max


def test_trending_score_saturates_instead_of_overflowing():
    future = trending.add_votes(None, 1, datetime(9999, 1, 1, tzinfo=UTC), HALF_LIFE)
    assert trending.score_at(future, datetime(2020, 1, 1, tzinfo=UTC), HALF_LIFE) == sys.float_info.max
    past = trending.add_votes(None, 1, datetime(2000, 1, 1, tzinfo=UTC), HALF_LIFE)
    assert trending.score_at(past, datetime(9999, 1, 1, tzinfo=UTC), HALF_LIFE) == 0.0


def test_imported_votes_need_a_moment():
    assert trending.key_for(10, None, [], HALF_LIFE) is None
    assert trending.key_for(0, T0, [], HALF_LIFE) is None
    only_own = trending.key_for(10, None, [T0], HALF_LIFE)
    assert only_own == pytest.approx(trending.add_votes(None, 1, T0, HALF_LIFE))


# -- merge rules --------------------------------------------------------------------------------------------


def record(arxiv_id="2401.00001", **fields) -> PaperRecord:
    defaults = {"title": "A title", "abstract": "An abstract.", "authors": ["Ada Lovelace"]}
    return PaperRecord(arxiv_id=arxiv_id, **{**defaults, **fields})


def stored(**fields) -> dict:
    """A stored row as the store has it: the row of a record plus the columns the store adds."""
    return {**record_to_row(record(**fields)), "id": 1, "upvotes": 0, "trend_key": None}


def test_same_record_changes_nothing():
    assert (
        merge(stored(version=2, doi="10.1/x", upvotes=5), record_to_row(record(version=2, doi="10.1/x")))
        == {}
    )


def test_newer_version_replaces_text():
    changes = merge(
        stored(version=1, doi="10.1/old"),
        record_to_row(record(version=2, title="New title", abstract="New abstract.", doi="10.1/new")),
    )
    assert changes == {"title": "New title", "abstract": "New abstract.", "version": 2, "doi": "10.1/new"}


def test_equal_version_replaces_text():
    assert merge(stored(), record_to_row(record(title="Fixed title"))) == {"title": "Fixed title"}


def test_older_version_does_not_replace_but_fills_missing_fields():
    changes = merge(
        stored(version=3, doi="10.1/kept"),
        record_to_row(
            record(
                version=1,
                title="Old title",
                authors=["Someone Else"],
                doi="10.1/old",
                github_repo="https://github.com/a/b",
                categories=["cs.CL", "cs.AI"],
            )
        ),
    )
    assert changes == {
        "github_repo": "https://github.com/a/b",
        "categories": ["cs.CL", "cs.AI"],
        "primary_category": "cs.CL",
    }


def test_none_never_erases():
    full = stored(
        version=1,
        categories=["cs.CL"],
        published_at=T0,
        comment="10 pages",
        doi="10.1/x",
        github_repo="https://github.com/a/b",
        github_stars=7,
        organization="Org",
        ai_keywords=["k"],
        source="somewhere",
        upvotes=9,
        num_comments=2,
    )
    assert merge(full, record_to_row(record(version=2))) == {"version": 2}
    assert merge(full, record_to_row(record(version=0))) == {}


def test_imported_upvotes_only_grow():
    assert merge(stored(upvotes=10), record_to_row(record(upvotes=4))) == {}
    assert merge(stored(upvotes=10), record_to_row(record(upvotes=None))) == {}
    assert merge(stored(upvotes=10), record_to_row(record(upvotes=12))) == {"imported_upvotes": 12}
    assert merge(stored(num_comments=3), record_to_row(record(num_comments=1))) == {}


def test_same_moment_in_another_form_is_no_change():
    aware = stored(published_at=T0)
    naive = {**aware, "published_at": T0.replace(tzinfo=None)}  # as SQLite hands it back
    paris = T0.astimezone(timezone(timedelta(hours=2)))
    assert merge(naive, record_to_row(record(published_at=paris))) == {}


@settings(deadline=None)  # no timing: the machine may be busy
@given(
    st.integers(0, 5),
    st.integers(0, 5),
    st.one_of(st.none(), st.integers(0, 1000)),
    st.one_of(st.none(), st.integers(0, 1000)),
    st.one_of(st.none(), st.text(min_size=1, max_size=5)),
    st.one_of(st.none(), st.text(min_size=1, max_size=5)),
)
def test_merge_rules_hold(stored_version, version, stored_votes, votes, stored_doi, doi):
    old = stored(version=stored_version, upvotes=stored_votes, doi=stored_doi, title="Stored")
    new = record_to_row(record(version=version, upvotes=votes, doi=doi, title="Incoming"))
    merged = {**old, **merge(old, new)}
    assert merged["imported_upvotes"] == max(stored_votes or 0, votes or 0)
    assert merged["version"] == max(stored_version, version)
    assert merged["title"] == ("Incoming" if version >= stored_version else "Stored")
    if doi is None or (version < stored_version and stored_doi is not None):
        assert merged["doi"] == old["doi"]
    else:
        assert merged["doi"] == new["doi"]
    # Merging the same thing again changes nothing: the rules are idempotent.
    assert merge(merged, new) == {}


def test_rows_apply_one_after_the_other():
    """Folding rows into one before merging would differ: an older version fills a field only while it is
    missing, so (a, v0) <- [(None, v1), (b, v0)] keeps a, while (a, v0) <- fold(...) = (b, v1) would not."""
    old = stored(doi="10.1/a")
    rows = [record_to_row(record(version=1)), record_to_row(record(doi="10.1/b"))]
    assert merge_all(old, rows) == {"version": 1}
    folded = merge_all(None, rows)
    assert folded["doi"] == "10.1/b"
    assert merge(old, folded)["doi"] == "10.1/b"  # what folding first would have stored
    assert (
        merge_all(None, [record_to_row(record(version=2, title="B")), record_to_row(record(title="A"))])[
            "title"
        ]
        == "B"
    )
    # A change undone within the rows is no change.
    assert (
        merge_all(stored(title="A"), [record_to_row(record(title="B")), record_to_row(record(title="A"))])
        == {}
    )


def test_record_to_row_stores_alike_on_both_databases():
    row = record_to_row(
        record(
            title="Nul\x00here",
            authors=["A\x00B"],
            organization="o" * 300,
            doi="d" * 300,
            source="s" * 600,
            categories=["c" * 70],
            published_at=datetime(2026, 8, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))),
            github_stars=2**40,
        )
    )
    assert row["title"] == "Nulhere" and row["authors"] == ["AB"]
    assert len(row["organization"]) == 255 and len(row["doi"]) == 255 and len(row["source"]) == 500
    assert len(row["primary_category"]) == 64
    assert row["published_at"] == datetime(2026, 8, 1, 0, 0, tzinfo=UTC)
    assert row["published_at"].utcoffset() == timedelta(0)
    assert row["github_stars"] == MAX_INT


# -- record parsers (pure) ----------------------------------------------------------------------------------


def test_parse_jsonl_row():
    rec = formats.parse(
        {
            "arxiv_id": "2608.20336",
            "title": "  A   title\n split ",
            "abstract": "Text.",
            "authors": ["Ada  Lovelace", {"name": "Alan Turing"}],
            "categories": ["cs.CL", "cs.AI"],
            "published_at": "2026-08-20T00:00:00.000Z",
            "daily_date": "2026-08-21",
            "submitted_on_daily_at": "2026-08-21T03:04:05.000Z",
            "submitted_by": "akhaliq",
            "upvotes": 12,
            "num_comments": 3,
            "github_repo": "https://github.com/a/b",
            "project_page": "javascript:alert(1)",
            "organization": "Org",
        }
    )
    assert rec.title == "A title split"
    assert rec.authors == ["Ada Lovelace", "Alan Turing"]
    assert rec.published_at == datetime(2026, 8, 20, tzinfo=UTC)
    assert rec.daily_date == date(2026, 8, 21)
    assert rec.submitted_at == datetime(2026, 8, 21, 3, 4, 5, tzinfo=UTC)
    assert rec.submitter.username == "akhaliq"
    assert (rec.upvotes, rec.num_comments) == (12, 3)
    assert rec.github_repo == "https://github.com/a/b"
    assert rec.project_page is None  # a bad link loses the link, not the paper


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"title": None}, "missing title"),
        ({"title": " \x00 "}, "missing title"),
        ({"title": 5}, "title must be a string"),
        ({"arxiv_id": "nope"}, "not an arXiv id"),
        ({"arxiv_id": 2401.00001}, "must be a string"),
        ({"authors": "Ada"}, "authors must be a non-empty list"),
        ({"authors": [None]}, "an author is not a name"),
        ({"upvotes": "ten"}, "upvotes must be a number"),
        ({"upvotes": -1}, "upvotes must be a number"),
        ({"upvotes": 2**31}, "upvotes must be a number"),  # does not fit PostgreSQL's integer
        ({"upvotes": True}, "upvotes must be a number"),
        ({"published_at": "yesterday"}, "published_at is not a timestamp"),
        ({"published_at": 1700000000}, "published_at must be a timestamp string"),
        ({"published_at": "0001-01-01T00:00:00+05:00"}, "published_at is out of range"),
        ({"published_at": "9999-12-31T23:00:00-05:00"}, "published_at is out of range"),
        ({"daily_date": "2026-13-01"}, "daily_date is not a date"),
        ({"submitted_by": ["x"]}, "submitted_by must be a username"),
        ({"categories": [1]}, "categories must be a list of strings"),
    ],
)
def test_parse_rejects_with_a_reason(change, reason):
    row = {"arxiv_id": "2401.00001", "title": "T", "abstract": "A", "authors": ["X"], **change}
    with pytest.raises(formats.BadRecord, match=reason):
        formats.parse(row)


def test_parse_cleans_control_characters():
    rec = formats.parse(
        {
            "arxiv_id": "2401.00001",
            "title": "Nul\x00 title\x07",
            "abstract": "A",
            "authors": ["X\x00Y"],
            "submitted_by": "us\x00er",
            "daily_date": "2026-01-01",
        }
    )
    assert rec.title == "Nul title" and rec.authors == ["XY"] and rec.submitter.username == "user"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_values = st.one_of(
    json_values,
    st.sampled_from(
        [
            "2401.00001",
            "hep-th/9608091",
            "2026-08-21",
            "2026-08-21T03:04:05Z",
            "0001-01-01T00:00+05:00",
            "v2",
            "x",
        ]
    ),
    st.sampled_from([2**31 - 1, 2**31, -1, 1.5, 1e300]),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["jsonl", "kaggle", "hf"]),
    st.dictionaries(
        st.sampled_from(
            [
                "title",
                "abstract",
                "authors",
                "authors_parsed",
                "categories",
                "published_at",
                "daily_date",
                "submitted_on_daily_at",
                "submitted_by",
                "upvotes",
                "num_comments",
                "versions",
                "comments",
                "doi",
                "summary",
                "publishedAt",
                "submittedOnDailyAt",
                "submittedOnDailyBy",
                "organization",
                "ai_keywords",
                "githubRepo",
                "githubStars",
            ]
        ),
        field_values,
    ),
)
def test_parse_garbage_raises_only_bad_record(kind, fields):
    if kind == "jsonl":
        obj = {"arxiv_id": "2401.00001", **fields}
    elif kind == "kaggle":
        obj = {"id": "hep-th/9608091", "versions": fields.pop("versions", []), **fields}
    else:
        obj = {"paper": {"id": "2401.00001", **fields}, **fields}
    try:
        rec = formats.parse(obj)
    except formats.BadRecord:
        return
    assume(rec is not None)
    assert rec.title and rec.abstract and rec.authors
    assert "\x00" not in rec.title
    for moment in (rec.published_at, rec.updated_at, rec.submitted_at):
        assert moment is None or moment.utcoffset() == timedelta(0)
    for number in (rec.upvotes, rec.num_comments, rec.github_stars):
        assert number is None or 0 <= number <= MAX_INT
    record_to_row(rec)


@given(st.text())
def test_clean_fast_path_gives_the_same_text_as_the_full_rewrite(text):
    from dailypapers.importers.formats import _CONTROL, clean

    assert clean(text) == " ".join(_CONTROL.sub("", text).split())
