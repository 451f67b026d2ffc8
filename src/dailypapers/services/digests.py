"""Sending the digests of a period: start the run (or resume it), compose, send, settle.

`dailypapers digest send` and the worker both call `send_digests`; the command shows a progress bar through
a `RunObserver`, the worker prints the report's line. Running it again, after a crash or a finished run, is
always safe (`dailypapers.digests.delivery`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from typing import Protocol

from dailypapers.digests import delivery
from dailypapers.digests.compose import period_for
from dailypapers.digests.delivery import RunReport
from dailypapers.mail import Mailer, make_mailer


class RunObserver(Protocol):
    """Told how a run goes, for a progress display."""

    def started(self, report: RunReport) -> None:
        """The run exists (or was found), with its subscribers and what is done already."""

    def progressed(self, what: str, count: int) -> None:
        """`count` more deliveries reached `what`: sent, failed, suppressed, retry or empty."""


def send_digests(
    settings,
    engine,
    frequency: str,
    day: date | None = None,
    *,
    dry_run: bool = False,
    mailer: Mailer | None = None,
    observer: RunObserver | None = None,
) -> RunReport:
    """Send (or resume) the `frequency` digests of the period `day` ends (default: today, UTC); with
    `dry_run`, compose every digest and send and record nothing. Raises ValueError for a day without that
    digest (a daily one at the weekend). `mailer` defaults to the settings' one, closed at the end."""
    period = period_for(frequency, day or datetime.now(UTC).date())
    on_start = observer.started if observer is not None else None
    on_progress = observer.progressed if observer is not None else None
    if dry_run:
        return delivery.dry_run(settings, engine, period, on_start=on_start, on_progress=on_progress)
    own = mailer is None
    mailer = mailer or make_mailer(settings, max_connections=settings.digest_smtp_connections)

    async def run() -> RunReport:
        try:
            return await delivery.send_run(
                settings, engine, mailer, period, on_start=on_start, on_progress=on_progress
            )
        finally:
            if own:
                await mailer.aclose()

    return asyncio.run(run())
