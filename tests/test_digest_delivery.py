"""Digest runs against a real SMTP server (aiosmtpd), parsing the raw bytes that arrive; the links in them
used against the running app; 4xx and 5xx answers; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from sqlalchemy import insert, select, update

from conftest import LiveServer
from dailypapers.digests import compose, delivery
from dailypapers.store.engine import write_transaction
from dailypapers.store.schema import digest_deliveries, digest_received, subscriptions
from dailypapers.store.subscriptions import SqlSubscriptionStore as Subscriptions
from digest_support import DAY, NEXT_DAY, papers_in, send, subscribe


@pytest.fixture
def fast(settings):
    return settings.model_copy(
        update={"digest_rate_per_second": 1000.0, "digest_retry_seconds": 0.2, "digest_max_attempts": 3}
    )


def test_a_run_end_to_end_with_working_links(fast, demo_store, smtp_sink):
    engine = demo_store.engine
    with LiveServer(fast) as server:
        settings = fast.model_copy(update={"base_url": server.url})
        emails = {
            "plain@example.org": {},
            "cl@example.org": {"categories": ["cs.CL"], "max_papers": 3},
            "cv@example.org": {"categories": ["cs.CV", "cs.LG"], "max_papers": 8},
            "search@example.org": {"searches": [{"q": "language model", "mode": "keyword"}]},
            "weekly@example.org": {},
            "seen-it-all@example.org": {"categories": ["cs.CL"]},
        }
        keys = {}
        for email, prefs in emails.items():
            keys[email] = subscribe(
                engine, email, "weekly" if email.startswith("weekly") else "daily", **prefs
            )
        pending = Subscriptions(engine).request("pending@example.org", "daily")
        # One subscriber has already had every paper of the day: their digest would be empty.
        from dailypapers.digests.candidates import load_pool
        from dailypapers.digests.compose import period_for

        pool = load_pool(engine, period_for("daily", DAY))
        seen = Subscriptions(engine).get(keys["seen-it-all@example.org"]).id
        with write_transaction(engine) as conn:
            conn.execute(
                insert(digest_received),
                [{"subscription_id": seen, "paper_id": pid, "run_id": 0} for pid in pool.papers],
            )

        report = send(settings, engine, smtp_sink.url)
        assert (report.status, report.subscribers, report.sent, report.empty, report.failed) == (
            "finished",
            5,
            4,
            1,
            0,
        )
        assert report.first_message_seconds is not None and report.first_message_seconds < 10
        messages = smtp_sink.messages
        assert sorted(m.recipients[0] for m in messages) == sorted(
            ["plain@example.org", "cl@example.org", "cv@example.org", "search@example.org"]
        )
        assert all(len(m.recipients) == 1 for m in messages)
        assert pending.email not in {m.recipients[0] for m in messages}
        ids = [m.message["Message-ID"] for m in messages]
        assert len(set(ids)) == len(ids)

        cl = smtp_sink.to("cl@example.org")[0]
        raw_head = cl.data.split(b"\r\n\r\n", 1)[0]
        assert cl.sender == "noreply@localhost"
        unsubscribe = cl.message["List-Unsubscribe"].strip("<>")
        assert f"List-Unsubscribe: <{unsubscribe}>\r\n".encode() in raw_head
        assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw_head
        assert b"=?" not in raw_head
        assert unsubscribe.startswith(server.url + "/unsubscribe/") and "cl@" not in unsubscribe
        assert cl.message.get_content_type() == "multipart/alternative"
        text = cl.message.get_body(("plain",)).get_content()
        html = cl.message.get_body(("html",)).get_content()
        assert len(html.encode()) < 100_000
        assert "New in cs.CL, a category you follow." in text and "New in cs.CL" in html
        assert len(papers_in(cl)) == 6  # 3 trending + 3 for the topic
        assert (
            "Matches your saved search"
            in smtp_sink.to("search@example.org")[0].message.get_body(("plain",)).get_content()
        )

        with httpx.Client() as web:
            for arxiv_id in papers_in(cl)[:2]:
                assert web.get(f"{server.url}/papers/{arxiv_id}").status_code == 200
            preferences = next(u for u in text.split() if "/subscriptions/preferences/" in u)
            assert web.get(preferences).status_code == 200
            assert web.get(unsubscribe).status_code == 200  # a page with a button
            assert Subscriptions(engine).by_email("cl@example.org").status == "active"
            one_click = web.post(unsubscribe, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
            assert one_click.status_code == 200
        assert Subscriptions(engine).by_email("cl@example.org").status == "unsubscribed"

    # The same command again: the run is finished, nothing goes out.
    again = send(settings, engine, smtp_sink.url)
    assert again.already_finished and again.sent == 4 and len(smtp_sink.messages) == 4

    # The next day: nobody gets a paper twice, the unsubscribed reader gets nothing.
    first = {m.recipients[0]: set(papers_in(m)) for m in smtp_sink.messages}
    send(settings, engine, smtp_sink.url, NEXT_DAY)
    later = smtp_sink.messages[4:]
    assert later and "cl@example.org" not in {m.recipients[0] for m in later}
    for message in later:
        assert not first.get(message.recipients[0], set()) & set(papers_in(message))

    # The weekly digest is its own run.
    weekly = send(settings, engine, smtp_sink.url, NEXT_DAY.replace(day=3), "weekly")
    assert weekly.sent == 1 and smtp_sink.messages[-1].recipients == ["weekly@example.org"]


def test_4xx_retried_5xx_recorded_and_repeated_bounces_suppress(fast, demo_store, smtp_sink):
    engine = demo_store.engine
    settings = fast.model_copy(update={"digest_bounce_limit": 2})
    for email in ("ok@example.org", "later@example.org", "never@example.org", "bounce@example.org"):
        subscribe(engine, email)
    smtp_sink.reply_for["later@example.org"] = "451 4.3.0 greylisted, try again later"
    smtp_sink.reply_for["never@example.org"] = "421 4.7.0 too busy"
    smtp_sink.reply_for["bounce@example.org"] = "550 5.1.1 no such user"

    def on_progress(what, _n):
        if what == "retry":
            smtp_sink.reply_for.pop("later@example.org", None)  # the greylisting passes

    report = send(settings, engine, smtp_sink.url, on_progress=on_progress)
    assert (report.sent, report.failed, report.suppressed, report.retrying) == (2, 2, 0, 0)
    assert report.retries == 1 + 3  # later once, never three times
    assert sorted(m.recipients[0] for m in smtp_sink.messages) == ["later@example.org", "ok@example.org"]
    with engine.connect() as conn:
        failures = dict(
            conn.execute(
                select(subscriptions.c.email, digest_deliveries.c.code)
                .join(subscriptions, subscriptions.c.id == digest_deliveries.c.subscription_id)
                .where(digest_deliveries.c.state == "failed")
            ).all()
        )
    assert failures == {"never@example.org": 421, "bounce@example.org": 550}
    assert Subscriptions(engine).by_email("bounce@example.org").status == "active"

    second = send(settings, engine, smtp_sink.url, NEXT_DAY)
    assert second.suppressed == 1
    assert Subscriptions(engine).by_email("bounce@example.org").status == "suppressed"
    third = send(settings, engine, smtp_sink.url, NEXT_DAY.replace(day=3))
    assert third.suppressed == 1 and third.subscribers == 3
    assert Counter(m.recipients[0] for m in smtp_sink.messages)["bounce@example.org"] == 0


def test_a_reader_who_leaves_during_a_run_gets_nothing(fast, demo_store, smtp_sink):
    engine = demo_store.engine
    keys = [subscribe(engine, f"r{i}@example.org") for i in range(4)]
    settings = fast.model_copy(update={"digest_smtp_connections": 1})

    def on_start(_report):  # the run and its rows exist; nothing is claimed yet
        Subscriptions(engine).unsubscribe(keys[-1])

    report = send(settings, engine, smtp_sink.url, on_start=on_start, batch_size=1)
    assert report.sent == 3 and report.cancelled == 1
    assert "r3@example.org" not in {m.recipients[0] for m in smtp_sink.messages}


def test_rows_claimed_by_a_dead_sender_with_this_pid_are_reclaimed(fast, demo_store, smtp_sink):
    # A restarted container runs the command as the same pid on the same host name; a long-lived worker
    # runs send_run again in the same process: neither makes an earlier sender's claim alive.
    engine = demo_store.engine
    emails = [f"c{i}@example.org" for i in range(3)]
    for email in emails:
        subscribe(engine, email)
    earlier = delivery.run_store(engine)
    run_id, _status, _created = earlier.start(compose.period_for("daily", DAY))
    assert len(earlier.claim(run_id, 2)) == 2  # then it died before sending
    earlier.close()
    report = send(fast, engine, smtp_sink.url)
    assert (report.status, report.sent) == ("finished", 3)
    assert sorted(m.recipients[0] for m in smtp_sink.messages) == emails


def test_one_digest_that_cannot_be_composed_does_not_stop_the_others(
    fast, demo_store, smtp_sink, monkeypatch
):
    engine = demo_store.engine
    emails = [f"p{i}@example.org" for i in range(4)]
    for email in emails:
        subscribe(engine, email)
    bad_id = Subscriptions(engine).by_email("p1@example.org").id
    build = compose.MessageMaker.build

    def fragile(self, *, subscription_id, **kwargs):
        if subscription_id == bad_id:
            raise RuntimeError("a bug meets one subscriber's data")
        return build(self, subscription_id=subscription_id, **kwargs)

    monkeypatch.setattr(compose.MessageMaker, "build", fragile)
    first = send(fast, engine, smtp_sink.url)
    assert (first.status, first.sent, first.errors) == ("running", 3, 1)
    monkeypatch.setattr(compose.MessageMaker, "build", build)
    second = send(fast, engine, smtp_sink.url)  # the same process runs it again: the row is taken back
    assert (second.status, second.sent) == ("finished", 4)
    assert sorted(m.recipients[0] for m in smtp_sink.messages) == emails


def test_a_stored_address_with_a_line_break_is_failed_not_sent(fast, demo_store, smtp_sink):
    engine = demo_store.engine
    subscribe(engine, "good@example.org")
    key = subscribe(engine, "bad@example.org")
    with write_transaction(engine) as conn:  # a row from before addresses were checked whole
        conn.execute(
            update(subscriptions).where(subscriptions.c.key == key).values(email="bad\n@example.org")
        )
    report = send(fast, engine, smtp_sink.url)
    assert (report.status, report.sent, report.failed) == ("finished", 1, 1)
    assert [m.recipients for m in smtp_sink.messages] == [["good@example.org"]]


def test_two_senders_at_once_send_each_digest_once(fast, demo_store, smtp_sink):
    import threading

    engine = demo_store.engine
    emails = [f"t{i:02d}@example.org" for i in range(30)]
    for email in emails:
        subscribe(engine, email)
    settings = fast.model_copy(update={"digest_smtp_connections": 2})
    reports = []
    barrier = threading.Barrier(2)

    def sender():
        barrier.wait()
        reports.append(send(settings, engine, smtp_sink.url, batch_size=3))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m.recipients[0] for m in smtp_sink.messages) == emails  # once each
    assert sum(r.messages for r in reports) == len(emails)
    assert {r.run_id for r in reports} == {reports[0].run_id}


@pytest.mark.parametrize(
    "stage, reply",
    [
        ("MAIL", "550 5.7.1 relaying denied for this sender"),  # our relay settings, not their address
        ("DATA", "554 5.7.1 message content rejected"),
    ],
)
def test_a_5xx_not_about_the_address_is_recorded_but_never_suppresses_it(fast, demo_store, stage, reply):
    # Before, a misconfigured relay (or a wrong password) counted a hard bounce for every subscriber of
    # every run: after a few days the whole list was suppressed.
    from conftest import free_port
    from smtp_support import SmtpSink, _CountingController

    class Refusing(SmtpSink):
        async def handle_MAIL(self, server, session, envelope, address, mail_options):
            if stage == "MAIL":
                return reply
            envelope.mail_from = address
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            return reply

    port = free_port()
    controller = _CountingController(Refusing(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        engine = demo_store.engine
        subscribe(engine, "fine@example.org")
        settings = fast.model_copy(update={"digest_bounce_limit": 1})
        report = send(settings, engine, f"smtp://127.0.0.1:{port}")
    finally:
        controller.stop()
    assert (report.status, report.sent, report.failed, report.suppressed) == ("finished", 0, 1, 0)
    subscription = Subscriptions(engine).by_email("fine@example.org")
    assert subscription.status == "active"
    with engine.connect() as conn:
        code = conn.execute(select(digest_deliveries.c.code)).scalar_one()
        bounces = conn.execute(select(subscriptions.c.bounces)).scalar_one()
    assert (code, bounces) == (int(reply[:3]), 0)
