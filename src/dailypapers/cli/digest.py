"""`dailypapers digest ...`: preview one subscriber's digest, send a run (resumable), list runs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from dailypapers.cli.common import console, count_progress, in_background, load_settings, require_migrated

digest_app = typer.Typer(help="E-mail digests of trending papers (docs/digests.md).", no_args_is_help=True)

Frequency = Annotated[str, typer.Option(help="daily (weekdays) or weekly.")]
Day = Annotated[
    str | None, typer.Option("--date", help="The day the digest is for (YYYY-MM-DD; default: today, UTC).")
]


def _period(frequency: str, day: str | None):
    from dailypapers import periods
    from dailypapers.digests.compose import period_for

    if frequency not in ("daily", "weekly"):
        raise typer.BadParameter("daily or weekly", param_hint="--frequency")
    try:
        when = periods.parse_date(day) if day else datetime.now(UTC).date()
    except periods.InvalidPeriod as exc:
        raise typer.BadParameter(str(exc), param_hint="--date") from None
    return period_for(frequency, when)


@digest_app.command("preview")
def preview_command(
    email: Annotated[str, typer.Option(help="The subscriber whose next digest to show.")],
    frequency: Annotated[
        str | None, typer.Option(help="daily or weekly (default: the subscriber's).")
    ] = None,
    day: Day = None,
    out: Annotated[Path, typer.Option(help="Directory to write the .html, .txt and .eml files to.")] = Path(
        "."
    ),
) -> None:
    """Write one subscriber's next digest as HTML, text and .eml files, without sending or recording it."""
    from dailypapers.digests import delivery
    from dailypapers.digests.compose import MessageMaker
    from dailypapers.emails import InvalidEmail, normalize_email
    from dailypapers.store.subscriptions import Preferences, SqlSubscriptionStore

    settings = load_settings()
    engine = require_migrated(settings)
    try:
        address = normalize_email(email)
    except InvalidEmail as exc:
        raise typer.BadParameter(str(exc), param_hint="--email") from None
    subscription = SqlSubscriptionStore(engine).by_email(address)
    if subscription is None:
        console.print(f"{escape(address)} has no subscription: previewing the default digest.")
        preferences, key, sid = Preferences(frequency or "daily"), "preview", 0
    else:
        preferences, key, sid = subscription.preferences, subscription.key, subscription.id
    try:
        period = _period(frequency or preferences.frequency, day)
    except ValueError as exc:  # a daily digest on a weekend
        raise typer.BadParameter(str(exc), param_hint="--date") from None
    semantic = {s["q"] for s in preferences.searches if s.get("mode") == "semantic"}
    composer = delivery.make_composer(settings, engine, period, None, semantic=semantic)
    already = delivery.run_store(engine).received([sid], set(composer.pool.papers)).get(sid, set())
    picks, body, links = composer.body(preferences, already, key)
    engine.dispose()
    if body is None:
        console.print(f"Nothing new for {escape(address)} in {period.label}: no digest would be sent.")
        raise typer.Exit(1)
    maker = MessageMaker(
        mail_from=settings.mail_from,
        base_url=settings.base_url,
        site_name=settings.site_name,
        secret_key=settings.secret_key,
        run_id=0,
        subject=composer.renderer.subject,
    )
    data = maker.build(
        recipient=address,
        subscription_id=sid,
        body=body,
        unsubscribe_url=links.unsubscribe,
        now=datetime.now(UTC),
    )
    stem = out / f"digest-{period.frequency}-{period.key}"
    paths = [stem.with_suffix(".html"), stem.with_suffix(".txt"), stem.with_suffix(".eml")]
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths[0].write_text(body.html, encoding="utf-8")
        paths[1].write_text(body.text, encoding="utf-8")
        paths[2].write_bytes(data)
    except OSError as exc:
        raise typer.BadParameter(f"cannot write there: {exc.strerror or exc}", param_hint="--out") from None
    console.print(
        f"{len(picks)} papers, HTML {len(body.html.encode()):,} bytes: " + ", ".join(str(p) for p in paths)
    )


class _ProgressBar:
    """A run's progress on the console (a `RunObserver` of `dailypapers.services.digests`)."""

    def __init__(self, progress: Progress, task) -> None:
        self.progress = progress
        self.task = task
        self.counts: dict[str, int] = {}

    def started(self, report) -> None:
        done = report.sent + report.failed + report.empty + report.cancelled
        self.progress.update(self.task, total=report.subscribers, completed=done)
        if report.resumed:
            self.progress.console.print(
                f"Resuming run {report.run_id}: {done:,} of {report.subscribers:,} done."
            )

    def progressed(self, what: str, count: int) -> None:
        self.counts[what] = self.counts.get(what, 0) + count
        if what != "retry":
            self.progress.advance(self.task, count)
        status = ", ".join(f"{v:,} {k}" for k, v in sorted(self.counts.items()))
        self.progress.update(self.task, status=status)


def send(settings, engine, period, *, dry_run: bool = False):
    """Send (or resume) the run of `period` with a progress bar; returns the run report."""
    from dailypapers.services.digests import send_digests

    with count_progress() as progress:
        task = progress.add_task(f"{period.frequency} digest {period.key}", total=None, status="")
        return send_digests(
            settings,
            engine,
            period.frequency,
            period.end,
            dry_run=dry_run,
            observer=_ProgressBar(progress, task),
        )


@digest_app.command("send")
def send_command(
    frequency: Frequency,
    day: Day = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose every digest; send and record nothing.")
    ] = False,
) -> None:
    """Send a period's digests; run it again after an interruption to resume; a finished run sends nothing."""
    settings = load_settings()
    engine = require_migrated(settings)
    in_background(settings)
    try:
        period = _period(frequency, day)
    except ValueError as exc:
        console.print(escape(str(exc)) + ": nothing to send.")
        engine.dispose()
        return
    problem = None if dry_run else delivery_problem(settings)
    if problem:
        engine.dispose()
        console.print(f"[red]Cannot send:[/red] {escape(problem)}")
        raise typer.Exit(1)
    try:
        report = send(settings, engine, period, dry_run=dry_run)
    finally:
        engine.dispose()
    if report.already_finished:
        console.print(f"Run {report.run_id} already finished: nothing sent.")
    if dry_run:
        console.print(
            f"Dry run {frequency} {period.key}: {report.messages:,} digests would be sent, "
            f"{report.empty:,} skipped as empty, {report.suppressed:,} suppressed; composed in "
            f"{report.elapsed:.1f}s ({report.messages / max(report.elapsed, 1e-9):,.0f}/s)."
        )
        return
    console.print(report.line(), highlight=False, soft_wrap=True)
    if report.status != "finished":
        raise typer.Exit(1)


def delivery_problem(settings) -> str | None:
    """What in the mail settings stops a run before it starts (a bad SMTP URL, an unreadable DKIM key)."""
    from dailypapers.mail.smtp import parse_smtp_url

    if settings.smtp_url:
        try:
            parse_smtp_url(settings.smtp_url)
        except ValueError as exc:
            return f"DAILYPAPERS_SMTP_URL: {exc}"
    if settings.dkim_key_path:
        try:
            Path(settings.dkim_key_path).expanduser().read_bytes()
        except OSError as exc:
            return f"the DKIM key {settings.dkim_key_path}: {exc.strerror or exc}"
    return None


@digest_app.command("status")
def status_command(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many recent runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List recent digest runs with their counts."""
    from dataclasses import asdict

    from rich.console import Console

    from dailypapers.digests.delivery import run_store

    settings = load_settings()
    engine = require_migrated(settings)
    runs = [asdict(run) for run in run_store(engine).recent(limit)]
    engine.dispose()
    if as_json:
        typer.echo(json.dumps(runs, default=str, indent=2))
        return
    table = Table(title="Digest runs")
    for column in ("run", "frequency", "period", "started (UTC)", "status", "subscribers"):
        table.add_column(column)
    for column in ("sent", "failed", "empty", "retry", "suppressed"):
        table.add_column(column, justify="right")
    for run in runs:
        states = run["states"]
        table.add_row(
            str(run["id"]),
            run["frequency"],
            run["period_key"],
            f"{run['started_at']:%Y-%m-%d %H:%M}",
            run["status"],
            f"{run['subscribers']:,}",
            f"{states.get('sent', 0):,}",
            f"{states.get('failed', 0):,}",
            f"{states.get('empty', 0):,}",
            f"{states.get('retry', 0):,}",
            f"{run['suppressed']:,}",
        )
    Console().print(table)
