"""`dailypapers ingest ...` and `dailypapers worker`: the command-line face of ingestion."""

from __future__ import annotations

import json
import signal
import threading
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from dailypapers import periods
from dailypapers.ingest.pages import Page, Source

ingest_app = typer.Typer(
    help="Fetch papers from arXiv and Hugging Face (docs/ingestion.md).", no_args_is_help=True
)

Restart = Annotated[bool, typer.Option(help="Forget this harvest's checkpoint and start from the beginning.")]


def _cli():
    from dailypapers import cli

    return cli


def _date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return periods.parse_date(value)
    except periods.InvalidPeriod as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def _open(stop: threading.Event | None = None):
    """Settings, the store, and the arXiv and HF clients."""
    from dailypapers.ingest.harvest import make_client
    from dailypapers.store.papers import SqlStore

    cli = _cli()
    settings = cli.load_settings()
    store = SqlStore(cli._require_migrated(settings), settings.trending_half_life_hours)
    if not settings.contact_email:
        cli.console.print(
            "[yellow]DAILYPAPERS_CONTACT_EMAIL is not set:[/yellow] arXiv asks that requests name a contact."
        )
    return settings, store, make_client(settings, stop=stop), make_client(settings, hf=True, stop=stop)


def run_sources(settings, store, sources: list[Source], *, restart: bool = False) -> bool:
    """Run each source with a progress bar and a summary; sync search if papers changed. True if all ok."""
    from dailypapers.ingest.harvest import harvest, sync_search
    from dailypapers.store.ingest_runs import AlreadyRunning

    console = _cli().console
    all_ok, changed = True, 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        for source in sources:
            task = progress.add_task(escape(source.name), total=None, status="")

            def on_page(page: Page, totals, task=task, source=source) -> None:
                if page.total is not None:
                    progress.update(task, total=page.total)
                progress.update(
                    task,
                    completed=totals.fetched,
                    description=escape(f"{source.name} {page.label}"),
                    status=f"{totals.new:,} new, {totals.updated:,} updated, {totals.skipped:,} skipped",
                )
                for note in page.notes:
                    progress.console.print(f"[yellow]note[/yellow] {escape(note)}", soft_wrap=True)

            try:
                report = harvest(store, source, restart=restart, on_page=on_page)
            except AlreadyRunning as exc:
                console.print(f"[red]{source.name}:[/red] {escape(str(exc))}")
                all_ok = False
                continue
            progress.update(task, total=report.totals.fetched or 1, completed=report.totals.fetched or 1)
            _summary(console, report)
            all_ok &= report.status == "ok"
            changed += report.changed
    if changed:
        line = sync_search(settings, store)
        if line:
            console.print(line)
    return all_ok


def _summary(console, report) -> None:
    t = report.totals
    reasons = ", ".join(f"{reason}: {n:,}" for reason, n in t.reasons.most_common())
    colour = {"ok": "green", "interrupted": "yellow"}.get(report.status, "red")
    line = (
        f"[{colour}]{report.status}[/{colour}] {escape(report.source)} run {report.run_id}"
        f"{' (resumed)' if report.resumed_from else ''}: fetched {t.fetched:,} in {t.pages:,} pages, "
        f"{t.new:,} new, {t.updated:,} updated, {t.unchanged:,} unchanged, {t.skipped:,} skipped"
        f"{escape(f' ({reasons})') if reasons else ''}; {report.elapsed:.1f}s"
    )
    console.print(line, soft_wrap=True, highlight=False)
    if report.error:
        console.print(f"  [red]error:[/red] {escape(report.error)}", soft_wrap=True, highlight=False)


def _run_one(source_factory, restart: bool) -> None:
    settings, store, arxiv, hf = _open()
    try:
        try:
            source = source_factory(settings, arxiv, hf)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        ok = run_sources(settings, store, [source], restart=restart)
    finally:
        arxiv.close()
        hf.close()
        store.engine.dispose()
    if not ok:
        raise typer.Exit(1)


@ingest_app.command("arxiv")
def ingest_arxiv(
    ids: Annotated[
        list[str] | None, typer.Option("--id", help="An arXiv id (new or old style, with or without vN).")
    ] = None,
    query: Annotated[
        str | None, typer.Option(help="A search_query, e.g. 'ti:diffusion AND cat:cs.CV'.")
    ] = None,
    categories: Annotated[
        list[str] | None, typer.Option("--category", help="A category, e.g. cs.LG (repeat for more).")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="With --category: first submission date (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="With --category: last submission date (default today).")
    ] = None,
    max_results: Annotated[int | None, typer.Option(min=1, help="With --query: at most this many.")] = None,
    page_size: Annotated[int, typer.Option(min=1, max=2000, help="Results per request.")] = 200,
    restart: Restart = False,
) -> None:
    """Fetch from the arXiv search API: by id, by query, or by category and submission dates."""
    from dailypapers.ingest.arxiv_api import ArxivApiSource

    id_list = [i for value in ids or [] for i in value.replace(",", " ").split()]
    start, end = _date(since, "--since"), _date(until, "--until")

    def factory(settings, arxiv, hf):
        return ArxivApiSource(
            arxiv,
            settings.arxiv_api_url,
            ids=id_list or None,
            query=query,
            categories=categories or None,
            since=start,
            until=end,
            page_size=page_size,
            max_results=max_results,
        )

    _run_one(factory, restart)


@ingest_app.command("oai")
def ingest_oai(
    set_spec: Annotated[
        str | None, typer.Option("--set", help="An OAI set, e.g. cs or physics:hep-th.")
    ] = None,
    since: Annotated[str, typer.Option("--from", help="First datestamp (YYYY-MM-DD).")] = "",
    until: Annotated[str | None, typer.Option(help="Last datestamp (default today).")] = None,
    metadata_format: Annotated[str, typer.Option("--format", help="arXiv, arXivRaw or oai_dc.")] = "arXivRaw",
    restart: Restart = False,
) -> None:
    """Bulk harvest by OAI-PMH, resumable: run the same command again after any interruption."""
    from dailypapers.ingest.oai import OaiSource

    if not since:
        raise typer.BadParameter("give a first datestamp", param_hint="--from")
    start = _date(since, "--from")
    end = _date(until, "--until") or datetime.now(UTC).date()

    def factory(settings, arxiv, hf):
        return OaiSource(
            arxiv,
            settings.arxiv_oai_url,
            set_spec=set_spec,
            since=start,
            until=end,
            metadata_prefix=metadata_format,
        )

    _run_one(factory, restart)


@ingest_app.command("rss")
def ingest_rss(
    categories: Annotated[
        list[str], typer.Option("--category", help="A category, e.g. cs.AI (repeat for more).")
    ],
    atom: Annotated[bool, typer.Option(help="Read the Atom listing instead of RSS.")] = False,
    types: Annotated[str, typer.Option(help="Announce types to keep.")] = "new,cross,replace,replace-cross",
) -> None:
    """Fetch today's arXiv listing of categories (new papers, cross-lists, replacements)."""
    from dailypapers.ingest.rss import RssSource

    wanted = tuple(t.strip() for t in types.split(",") if t.strip())

    def factory(settings, arxiv, hf):
        return RssSource(
            arxiv, settings.arxiv_rss_url, categories, kind="atom" if atom else "rss", announce_types=wanted
        )

    _run_one(factory, False)


@ingest_app.command("hf")
def ingest_hf(
    day: Annotated[str | None, typer.Option("--date", help="One day (YYYY-MM-DD).")] = None,
    week: Annotated[str | None, typer.Option(help="An ISO week (YYYY-Www).")] = None,
    since: Annotated[str | None, typer.Option("--from", help="First day of a range.")] = None,
    until: Annotated[str | None, typer.Option(help="Last day of a range (default today).")] = None,
    restart: Restart = False,
) -> None:
    """Mirror Hugging Face's daily papers (submitters, upvotes, GitHub links) for a day, week or range."""
    from dailypapers.ingest.hf import HfDailySource

    if sum(x is not None for x in (day, week, since)) != 1:
        raise typer.BadParameter("give one of --date, --week or --from")
    if day is not None:
        start = end = _date(day, "--date")
    elif week is not None:
        try:
            period = periods.parse("week", week)
        except periods.InvalidPeriod as exc:
            raise typer.BadParameter(str(exc), param_hint="--week") from None
        start, end = period.start, period.end - timedelta(days=1)
    else:
        start = _date(since, "--from")
        end = _date(until, "--until") or datetime.now(UTC).date()

    def factory(settings, arxiv, hf):
        return HfDailySource(hf, settings.hf_api_url, since=start, until=end)

    _run_one(factory, restart)


@ingest_app.command("run")
def ingest_run(
    only: Annotated[str | None, typer.Option(help="Only `arxiv` or only `hf`.")] = None,
) -> None:
    """Run the sources configured in settings once (what the worker runs on its schedule)."""
    if only not in (None, "arxiv", "hf"):
        raise typer.BadParameter("arxiv or hf", param_hint="--only")
    settings, store, arxiv, hf = _open()
    try:
        ok = run_configured(settings, store, arxiv, hf, only=only)
    finally:
        arxiv.close()
        hf.close()
        store.engine.dispose()
    if not ok:
        raise typer.Exit(1)


def run_configured(settings, store, arxiv, hf, *, only: str | None = None) -> bool:
    from dailypapers.ingest.harvest import configured_sources

    try:
        sources = configured_sources(settings, arxiv, hf, only=only)
    except ValueError as exc:
        _cli().console.print(f"[red]Configuration error:[/red] {escape(str(exc))}")
        return False
    if not sources:
        _cli().console.print(
            "Nothing configured: set DAILYPAPERS_INGEST_CATEGORIES and/or DAILYPAPERS_INGEST_HF."
        )
        return True
    return run_sources(settings, store, sources)


@ingest_app.command("status")
def ingest_status(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many recent runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show recent ingestion runs and unfinished harvests."""
    from dailypapers.ingest.runs import RunLog

    cli = _cli()
    settings = cli.load_settings()
    engine = cli._require_migrated(settings)
    runs = RunLog(engine)
    recent, pending = runs.recent(limit), runs.checkpoints()
    engine.dispose()
    if as_json:
        rows = {"runs": [asdict(r) for r in recent], "checkpoints": [asdict(c) for c in pending]}
        typer.echo(json.dumps(rows, default=str, indent=2))
        return
    from rich.console import Console

    out = Console()
    table = Table(title="Ingestion runs", show_lines=False)
    for column in ("run", "source", "what", "started (UTC)", "took", "status", "fetched", "new", "updated"):
        table.add_column(
            column, justify="right" if column in ("run", "fetched", "new", "updated") else "left"
        )
    table.add_column("skipped (why)")
    table.add_column("error")
    for run in recent:
        started, finished = run.started_at, run.finished_at
        took = f"{(finished - started).total_seconds():.0f}s" if finished and started else "…"
        reasons = ", ".join(f"{k}: {v}" for k, v in (run.skipped_reasons or {}).items())
        colour = {"ok": "green", "running": "cyan", "interrupted": "yellow"}.get(run.status, "red")
        table.add_row(
            str(run.id),
            run.source,
            escape(_describe(run.args)),
            f"{started:%Y-%m-%d %H:%M}" if started else "",
            took,
            f"[{colour}]{run.status}[/{colour}]",
            f"{run.fetched:,}",
            f"{run.new:,}",
            f"{run.updated:,}",
            escape(f"{run.skipped:,}" + (f" ({reasons})" if reasons else "")),
            escape(((run.errors or [""])[-1] or "")[:120]),
        )
    out.print(table)
    if pending:
        out.print(f"Unfinished harvests ({len(pending)}): the same command resumes each.")
        for checkpoint in pending:
            where = escape(json.dumps(checkpoint.position))
            out.print(
                f"  {escape(checkpoint.source)} {escape(_describe(checkpoint.args))}: at {where}",
                soft_wrap=True,
            )


def _describe(args: dict) -> str:
    return " ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}" for k, v in (args or {}).items()
    )[:120]


def worker_command(
    now: Annotated[
        bool, typer.Option("--now", help="Run every job once at start, then keep the schedule.")
    ] = False,
) -> None:
    """Run ingestion on a schedule: arXiv at 20:30 US Eastern Sunday-Thursday, Hugging Face daily."""
    from dailypapers.ingest.schedule import DIGEST_JOBS, JOBS, next_job

    stop = threading.Event()

    def on_signal(signum, _frame) -> None:
        _cli().console.print(f"Signal {signum}: stopping after the current page.")
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    settings, store, arxiv, hf = _open(stop)
    console = _cli().console
    try:
        if now:
            for job in JOBS:
                if not stop.is_set():
                    run_configured(settings, store, arxiv, hf, only=job.name)
        jobs = JOBS + (DIGEST_JOBS if settings.digest_schedule else ())
        while not stop.is_set():
            job, when = next_job(jobs, datetime.now(UTC))
            console.print(f"Next: {job.name} at {when:%Y-%m-%d %H:%M} UTC.")
            while not stop.is_set() and datetime.now(UTC) < when:
                stop.wait(min(60.0, max(0.0, (when - datetime.now(UTC)).total_seconds())))
            if stop.is_set():
                break
            if job.name.startswith("digest-"):
                from dailypapers.services.digests import send_digests

                frequency, day = job.name.removeprefix("digest-"), when.astimezone(job.zone).date()
                try:
                    report = send_digests(settings, store.engine, frequency, day)
                    console.print(report.line(), highlight=False, soft_wrap=True)
                except ValueError as exc:  # no digest that day
                    console.print(escape(str(exc)))
                except Exception as exc:  # the worker keeps its schedule whatever one run does
                    console.print(f"[red]{frequency} digest failed:[/red] {escape(str(exc))}")
            else:
                run_configured(settings, store, arxiv, hf, only=job.name)
    finally:
        arxiv.close()
        hf.close()
        store.engine.dispose()
    console.print("Worker stopped.")
