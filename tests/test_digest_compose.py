"""Digest composition without a database: periods, choosing papers, the bytes of a message, DKIM."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from email import message_from_bytes, policy

import pytest

from dailypapers.digests import compose
from dailypapers.digests.subscriptions import InvalidInput, parse_preferences
from dailypapers.emails import InvalidEmail, normalize_email
from dailypapers.mail.builder import UnsendableAddress
from dailypapers.store.subscriptions import Preferences

LONG = "x" * 400


def _paper(pid: int, *, categories=(), upvotes=0, on_feed=False, trend=None, title=None, abstract=LONG):
    return compose.Paper(
        id=pid,
        arxiv_id=f"2607.{pid:05d}",
        title=title or f"Paper {pid} about things",
        authors=[f"Author {i}" for i in range(9)],
        abstract=abstract,
        upvotes=upvotes,
        categories=list(categories),
        on_feed=on_feed,
        trend_key=trend,
    )


def _pool() -> compose.Pool:
    papers = [_paper(i, upvotes=100 - i, on_feed=True, trend=100.0 - i) for i in range(1, 11)]
    papers += [_paper(100 + i, categories=["cs.CL"], upvotes=50 - i) for i in range(10)]
    papers += [_paper(200 + i, categories=["cs.CV", "cs.CL"], upvotes=20 - i) for i in range(5)]
    papers.append(_paper(300, categories=["hep-th"], title="Strings of mixture experts", abstract="Gauge."))
    return compose.Pool.of(papers)


def test_periods():
    monday = compose.period_for("daily", date(2026, 11, 23))
    assert (monday.start, monday.end, monday.key) == (date(2026, 11, 21), date(2026, 11, 23), "2026-11-23")
    wednesday = compose.period_for("daily", date(2026, 11, 25))
    assert wednesday.start == wednesday.end == date(2026, 11, 25)
    week = compose.period_for("weekly", date(2026, 11, 27))
    assert (week.start, week.end, week.key) == (date(2026, 11, 21), date(2026, 11, 27), "2026-W48")
    with pytest.raises(ValueError):
        compose.period_for("daily", date(2026, 11, 28))  # a Saturday
    with pytest.raises(ValueError):
        compose.period_for("hourly", date(2026, 11, 25))


def test_choose_trending_then_topics_round_robin_never_twice():
    pool = _pool()
    match = compose.keyword_matcher(pool)
    prefs = Preferences("daily", 4, ["cs.CV", "cs.CL"], [{"q": "mixture experts", "mode": "keyword"}])
    picks = compose.choose(prefs, set(), pool, match)
    assert [p.paper_id for p in picks if p.section == "trending"] == [1, 2, 3, 4]
    topics = [p for p in picks if p.section == "topics"]
    # Round robin: the best of cs.CV, of cs.CL (not the same paper again), of the saved search, then cs.CV.
    assert [p.paper_id for p in topics] == [200, 100, 300, 201]
    assert topics[0].why == "New in cs.CV, a category you follow."
    assert topics[2].why == "Matches your saved search \u201cmixture experts\u201d."
    # Papers already received are skipped everywhere.
    again = compose.choose(prefs, {1, 2, 200, 100, 300}, pool, match)
    assert [p.paper_id for p in again if p.section == "trending"] == [3, 4, 5, 6]
    assert [p.paper_id for p in again if p.section == "topics"] == [201, 101, 202, 102]
    # Everything received: an empty digest, which is never sent.
    assert compose.choose(prefs, set(pool.papers), pool, match) == []


def _maker(**overrides) -> compose.MessageMaker:
    options = dict(
        mail_from="Daily Papërs <digest@papers.example.org>",
        base_url="https://papers.example.org",
        site_name="dailypapers",
        secret_key="s" * 32,
        run_id=7,
        subject="dailypapers: trending papers, Wednesday, July 1, 2026",
    )
    options.update(overrides)
    return compose.MessageMaker(**options)


def _digest(max_papers=5, categories=("cs.CL",)):
    pool = _pool()
    period = compose.period_for("daily", date(2026, 7, 1))
    renderer = compose.Renderer(
        site_name="dailypapers", base_url="https://papers.example.org", period=period, pool=pool
    )
    prefs = Preferences("daily", max_papers, list(categories), [])
    picks = compose.choose(prefs, set(), pool, compose.keyword_matcher(pool))
    links = compose.Links(
        "https://papers.example.org/subscriptions/preferences/" + "p" * 60,
        "https://papers.example.org/unsubscribe/" + "u" * 90,
    )
    return picks, compose.personalize(renderer.render(picks), links), links


def test_message_bytes_headers_and_mime():
    picks, body, links = _digest()
    maker = _maker()
    data = maker.build(
        recipient="reader@example.org",
        subscription_id=42,
        body=body,
        unsubscribe_url=links.unsubscribe,
        now=datetime(2026, 7, 1, 23, 45, tzinfo=UTC),
    )
    head = data.split(b"\r\n\r\n", 1)[0]
    assert b"\n" not in head.replace(b"\r\n", b"")
    assert f"List-Unsubscribe: <{links.unsubscribe}>\r\n".encode() in head
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in head
    assert b"=?" not in head.split(b"List-Unsubscribe:", 1)[1].split(b"\r\n")[0]
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    message = message_from_bytes(data, policy=policy.default)
    assert message["To"] == "reader@example.org"
    assert message["From"].addresses[0].display_name == "Daily Papërs"
    assert message["Date"].datetime.tzinfo is not None
    assert message["Message-ID"] == maker.message_id(42) == _maker().message_id(42)
    assert maker.message_id(43) != maker.message_id(42)
    assert _maker(run_id=8).message_id(42) != maker.message_id(42)
    assert "42" not in message["Message-ID"].split("@")[0]
    assert message["List-Id"] == '"dailypapers digest" <digest.papers.example.org>'
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    text, html = parts[0].get_content(), parts[1].get_content()
    for picked in picks:
        arxiv_id = f"2607.{picked.paper_id:05d}"
        assert f"https://papers.example.org/papers/{arxiv_id}" in text
        assert f'href="https://papers.example.org/papers/{arxiv_id}"' in html
    assert links.unsubscribe in text and links.preferences in text
    assert f'href="{links.unsubscribe}"' in html and f'href="{links.preferences}"' in html
    assert "New in cs.CL, a category you follow." in text and "New in cs.CL, a category you follow." in html
    # Inlined CSS, and the dark scheme kept in a style block; nothing fetched from elsewhere.
    assert 'style="' in html and "prefers-color-scheme: dark" in html
    assert "<img" not in html and "@@" not in html and "@@" not in text


def test_html_stays_under_gmail_clipping_at_most_papers():
    title = "A long title with many words about large language models and their reasoning abilities " * 2
    pool = compose.Pool.of(
        [_paper(i, upvotes=999, on_feed=True, trend=float(i), title=title) for i in range(1, 41)]
        + [_paper(100 + i, categories=["cs.CL", "cs.LG", "cs.AI"], title=title) for i in range(40)]
    )
    renderer = compose.Renderer(
        site_name="dailypapers",
        base_url="https://papers.example.org",
        period=compose.period_for("weekly", date(2026, 7, 3)),
        pool=pool,
    )
    prefs = Preferences("weekly", 20, ["cs.CL"], [{"q": "reasoning", "mode": "semantic"}])
    picks = compose.choose(prefs, set(), pool, compose.keyword_matcher(pool))
    assert len(picks) == 40
    links = compose.Links(
        "https://papers.example.org/p/" + "p" * 80, "https://papers.example.org/u/" + "u" * 80
    )
    body = compose.personalize(renderer.render(picks), links)
    assert len(body.html.encode()) < compose.MAX_HTML_BYTES


def test_a_digest_of_huge_papers_is_cut_to_stay_under_gmail_clipping():
    title = "An uncommonly long title " * 60
    pool = compose.Pool.of(
        [_paper(i, upvotes=9, on_feed=True, trend=float(i), title=title) for i in range(1, 21)]
        + [_paper(100 + i, categories=["cs.CL"], title=title) for i in range(20)]
    )
    renderer = compose.Renderer(
        site_name="dailypapers",
        base_url="https://papers.example.org",
        period=compose.period_for("weekly", date(2026, 7, 3)),
        pool=pool,
    )
    picks = compose.choose(Preferences("weekly", 20, ["cs.CL"]), set(), pool, compose.keyword_matcher(pool))
    assert len(picks) == 40 and len(renderer.render(picks).html.encode()) > compose.MAX_HTML_BYTES
    kept, rendered = compose.render_within(renderer, picks)
    assert 1 <= len(kept) < len(picks) and kept == picks[: len(kept)]
    links = compose.Links(
        "https://papers.example.org/p/" + "p" * 80, "https://papers.example.org/u/" + "u" * 80
    )
    html = compose.personalize(rendered, links).html
    assert len(html.encode()) < compose.MAX_HTML_BYTES and links.unsubscribe in html


def test_titles_and_queries_are_escaped():
    pool = compose.Pool.of(
        [_paper(1, on_feed=True, upvotes=3, trend=1.0, title="<script>alert(1)</script> & co")]
    )
    period = compose.period_for("weekly", date(2026, 7, 3))
    renderer = compose.Renderer(site_name="d", base_url="https://x.org", period=period, pool=pool)
    html = renderer.render([compose.Pick(1, "topics", 'Matches "<b>x</b>"')]).html
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html


def test_marker_text_in_a_paper_does_not_break_its_card():
    title = "Tokens like @@WHY@@ and @@SECTIONS@@ in a <b>title</b>"
    pool = compose.Pool.of([_paper(1, on_feed=True, upvotes=3, trend=1.0, title=title, abstract="@@WHY@@")])
    period = compose.period_for("weekly", date(2026, 7, 3))
    renderer = compose.Renderer(site_name="d", base_url="https://x.org", period=period, pool=pool)
    rendered = renderer.render([compose.Pick(1, "topics", "Because.")])
    assert "&lt;b&gt;title&lt;/b&gt;" in rendered.html and "Because." in rendered.html
    assert rendered.html.index("Because.") > rendered.html.index("&lt;b&gt;title")


def test_a_stored_address_with_a_line_break_is_never_written_into_headers():
    _picks, body, links = _digest()
    for bad in ("a\n@example.org", "a@example.org\r\nBcc: x@evil.org", "a b@example.org"):
        with pytest.raises(UnsendableAddress):
            _maker().build(
                recipient=bad,
                subscription_id=1,
                body=body,
                unsubscribe_url=links.unsubscribe,
                now=datetime.now(UTC),
            )


def test_dkim_signs_both_list_unsubscribe_headers(tmp_path):
    dkim = pytest.importorskip("dkim")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    _picks, body, links = _digest()
    signer = compose.dkim_signer(path, "sel", "papers.example.org")
    data = _maker(signer=signer).build(
        recipient="r@example.org",
        subscription_id=1,
        body=body,
        unsubscribe_url=links.unsubscribe,
        now=datetime.now(UTC),
    )
    assert data.startswith(b"DKIM-Signature:")
    signed = message_from_bytes(data, policy=policy.default)["DKIM-Signature"]
    tags = dict(t.strip().split("=", 1) for t in str(signed).replace(" ", "").split(";") if "=" in t)
    signed_headers = tags["h"].split(":")
    assert "list-unsubscribe" in signed_headers and "list-unsubscribe-post" in signed_headers
    assert dkim.verify(data, dnsfunc=lambda name, timeout=5: record)
    # Changing the unsubscribe header breaks the signature.
    assert not dkim.verify(data.replace(b"uuuu>", b"uuuv>"), dnsfunc=lambda name, timeout=5: record)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "a",
        "a@b",
        "a@@b.org",
        "a b@c.org",
        "a@-b.org",
        "ü@x.org",
        "a@b.123",
        "x" * 300 + "@b.org",
        "a\n@example.org",  # "$" matches before a final newline: a line break into the To header
        "a@example\n.org",
        "a@example.org\nBcc: x@evil.org",
        5,
        None,
    ],
)
def test_bad_addresses_are_refused(raw):
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


def test_addresses_are_lower_cased():
    assert normalize_email("  Ada.Lovelace+papers@Example.ORG ") == "ada.lovelace+papers@example.org"


@pytest.mark.parametrize(
    "data",
    [
        {"frequency": "hourly"},
        {"frequency": "daily", "maxPapers": 0},
        {"frequency": "daily", "maxPapers": 21},
        {"frequency": "daily", "maxPapers": "many"},
        {"frequency": "daily", "maxPapers": float("inf")},
        {"frequency": "daily", "categories": ["cs.CL", "DROP TABLE"]},
        {"frequency": "daily", "categories": [f"c{i}.X" for i in range(30)]},
        {"frequency": "daily", "searches": [{"q": "x", "mode": "psychic"}]},
        {"frequency": "daily", "searches": [{"q": "x" * 201}]},
        {"frequency": "daily", "searches": [{"q": "!!!"}]},
        {"frequency": "daily", "searches": [f"q{i}" for i in range(6)]},
        {"frequency": "daily", "searches": "not a list"},
    ],
)
def test_bad_preferences_are_refused(data):
    with pytest.raises(InvalidInput):
        parse_preferences(data)


def test_preferences_are_cleaned():
    prefs = parse_preferences(
        {
            "frequency": "weekly",
            "maxPapers": "7",
            "categories": "cs.CL, cs.LG cs.CL",
            "searches": ["  a   b ", ""],
        }
    )
    assert prefs == Preferences("weekly", 7, ["cs.CL", "cs.LG"], [{"q": "a b", "mode": "keyword"}])


def test_the_worker_sends_digests_after_the_day_is_in():
    from dailypapers.ingest.schedule import DIGEST_DAILY_JOB, DIGEST_WEEKLY_JOB, HF_JOB, next_run

    friday_evening = datetime(2026, 11, 27, 23, 31, tzinfo=UTC)  # after Hugging Face's 23:30 job
    assert next_run(DIGEST_DAILY_JOB, friday_evening) == datetime(2026, 11, 27, 23, 45, tzinfo=UTC)
    assert next_run(DIGEST_WEEKLY_JOB, friday_evening) == datetime(2026, 11, 27, 23, 50, tzinfo=UTC)
    # No daily digest at the weekend: after Friday's, the next is Monday's.
    assert next_run(DIGEST_DAILY_JOB, datetime(2026, 11, 27, 23, 46, tzinfo=UTC)).date() == date(2026, 11, 30)
    assert DIGEST_DAILY_JOB.at > HF_JOB.at and DIGEST_DAILY_JOB.zone == HF_JOB.zone
