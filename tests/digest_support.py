"""Helpers for the digest tests: subscribers straight in the database, a run sent to a real SMTP server."""

from __future__ import annotations

import asyncio
import re
from datetime import date

from dailypapers.digests import compose, delivery
from dailypapers.mail.smtp import SmtpMailer
from dailypapers.store.subscriptions import Preferences
from dailypapers.store.subscriptions import SqlSubscriptionStore as Subscriptions

# The demo slice's arXiv listing papers (with categories) were published 2026-06-29..07-01: a Wednesday.
DAY = date(2026, 7, 1)
NEXT_DAY = date(2026, 7, 2)
PAPER_LINK = re.compile(r"/papers/(\d{4}\.\d{4,5})")


def subscribe(engine, email: str, frequency: str = "daily", **prefs) -> str:
    """An active subscriber with these preferences; returns their key."""
    subscriptions = Subscriptions(engine)
    outcome = subscriptions.request(email, frequency)
    subscriptions.confirm(outcome.key)
    subscriptions.save_preferences(outcome.key, Preferences(frequency, **prefs))
    return outcome.key


def send(settings, engine, sink_url: str, day: date = DAY, frequency: str = "daily", **kwargs):
    period = compose.period_for(frequency, day)

    async def run():
        mailer = SmtpMailer(sink_url, max_connections=settings.digest_smtp_connections)
        try:
            return await delivery.send_run(settings, engine, mailer, period, **kwargs)
        finally:
            await mailer.aclose()

    return asyncio.run(run())


def papers_in(received) -> list[str]:
    text = received.message.get_body(("plain",)).get_content()
    return PAPER_LINK.findall(text)
