"""`dailypapers digest ...`: preview one subscriber's digest, send a run (resumable), list runs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

digest_app = typer.Typer(help="E-mail digests of trending papers (docs/digests.md).", no_args_is_help=True)

Frequency = Annotated[str, typer.Option(help="daily (weekdays) or weekly.")]
Day = Annotated[
    str | None, typer.Option("--date", help="The day the digest is for (YYYY-MM-DD; default: today, UTC).")
]


def _cli():
    from dailypapers import cli

    return cli


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
    from dailypapers.digests.subscriptions import InvalidInput, Preferences, Subscriptions, normalize_email

    cli = _cli()
    settings = cli.load_settings()
    engine = cli._require_migrated(settings)
    try:
        address = normalize_email(email)
    except InvalidInput as exc:
        raise typer.BadParameter(str(exc), param_hint="--email") from None
    subscription = Subscriptions(engine).by_email(address)
    if subscription is None:
        cli.console.print(f"{escape(address)} has no subscription: previewing the default digest.")
        preferences, key, sid = Preferences(frequency or "daily"), "preview", 0
    else:
        preferences, key, sid = subscription.preferences, subscription.key, subscription.id
    try:
        period = _period(frequency or preferences.frequency, day)
    except ValueError as exc:  # a daily digest on a weekend
        raise typer.BadParameter(str(exc), param_hint="--date") from None
    semantic = {s["q"] for s in preferences.searches if s.get("mode") == "semantic"}
    composer = delivery.make_composer(settings, engine, period, None, semantic=semantic)
    already = delivery.RunStore(engine).received([sid], set(composer.pool.papers)).get(sid, set())
    picks, body, links = composer.body(preferences, already, key)
    engine.dispose()
    if body is None:
        cli.console.print(f"Nothing new for {escape(address)} in {period.label}: no digest would be sent.")
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
    cli.console.print(
        f"{len(picks)} papers, HTML {len(body.html.encode()):,} bytes: " + ", ".join(str(p) for p in paths)
    )


def send(settings, engine, frequency: str, day: date | None = None, *, dry_run: bool = False, console=None):
    """Send (or resume) the run for `day` with a progress bar; returns the run report."""
    from dailypapers.digests import delivery
    from dailypapers.digests.compose import period_for
    from dailypapers.mail import make_mailer

    console = console or _cli().console
    period = period_for(frequency, day or datetime.now(UTC).date())
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(f"{frequency} digest {period.key}", total=None, status="")
        counts: dict[str, int] = {}

        def on_start(report) -> None:
            done = report.sent + report.failed + report.empty + report.cancelled
            progress.update(task, total=report.subscribers, completed=done)
            if report.resumed:
                progress.console.print(
                    f"Resuming run {report.run_id}: {done:,} of {report.subscribers:,} done."
                )

        def on_progress(what: str, n: int) -> None:
            counts[what] = counts.get(what, 0) + n
            if what != "retry":
                progress.advance(task, n)
            progress.update(task, status=", ".join(f"{v:,} {k}" for k, v in sorted(counts.items())))

        if dry_run:
            with engine.connect() as conn:
                from sqlalchemy import func, select

                from dailypapers.store.schema import subscriptions

                total = conn.execute(
                    select(func.count()).where(
                        subscriptions.c.status == "active", subscriptions.c.frequency == frequency
                    )
                ).scalar_one()
            progress.update(task, total=total)
            return delivery.dry_run(settings, engine, period, on_progress=on_progress)
        mailer = make_mailer(settings, max_connections=settings.digest_smtp_connections)

        async def run():
            try:
                return await delivery.send_run(
                    settings, engine, mailer, period, on_start=on_start, on_progress=on_progress
                )
            finally:
                await mailer.aclose()

        return asyncio.run(run())


@digest_app.command("send")
def send_command(
    frequency: Frequency,
    day: Day = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compose every digest; send and record nothing.")
    ] = False,
) -> None:
    """Send a period's digests; run it again after an interruption to resume; a finished run sends nothing."""
    cli = _cli()
    settings = cli.load_settings()
    engine = cli._require_migrated(settings)
    try:
        period = _period(frequency, day)
    except ValueError as exc:
        cli.console.print(escape(str(exc)) + ": nothing to send.")
        engine.dispose()
        return
    problem = None if dry_run else delivery_problem(settings)
    if problem:
        engine.dispose()
        cli.console.print(f"[red]Cannot send:[/red] {escape(problem)}")
        raise typer.Exit(1)
    try:
        report = send(settings, engine, frequency, period.end, dry_run=dry_run)
    finally:
        engine.dispose()
    if report.already_finished:
        cli.console.print(f"Run {report.run_id} already finished: nothing sent.")
    if dry_run:
        cli.console.print(
            f"Dry run {frequency} {period.key}: {report.messages:,} digests would be sent, "
            f"{report.empty:,} skipped as empty, {report.suppressed:,} suppressed; composed in "
            f"{report.elapsed:.1f}s ({report.messages / max(report.elapsed, 1e-9):,.0f}/s)."
        )
        return
    cli.console.print(report.line(), highlight=False, soft_wrap=True)
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


def run_scheduled(settings, engine, frequency: str, day: date, console) -> None:
    """What the worker runs after the day's papers are in (errors are reported, never fatal)."""
    try:
        report = send(settings, engine, frequency, day, console=console)
        console.print(report.line(), highlight=False, soft_wrap=True)
    except ValueError as exc:
        console.print(escape(str(exc)))
    except Exception as exc:  # the worker keeps its schedule whatever one run does
        console.print(f"[red]{frequency} digest failed:[/red] {escape(str(exc))}")


@digest_app.command("status")
def status_command(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many recent runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List recent digest runs with their counts."""
    from rich.console import Console

    from dailypapers.digests.delivery import RunStore

    cli = _cli()
    settings = cli.load_settings()
    engine = cli._require_migrated(settings)
    runs = RunStore(engine).recent(limit)
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
