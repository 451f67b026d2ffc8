"""`dailypapers ingest ...`: the command-line face of ingestion."""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from dailypapers import periods
from dailypapers.cli.common import (
    console,
    count_progress,
    in_background,
    load_settings,
    parse_date,
    require_migrated,
)
from dailypapers.ingest.harvest import RunReport, make_client
from dailypapers.ingest.pages import Page, Source
from dailypapers.ingest.runs import Totals
from dailypapers.services.ingestion import BadConfiguration, NothingConfigured, run_configured, run_sources
from dailypapers.services.search_sync import SyncOutcome
from dailypapers.store.papers import SqlStore

ingest_app = typer.Typer(
    help="Fetch papers from arXiv and Hugging Face (docs/ingestion.md).", no_args_is_help=True
)

Restart = Annotated[bool, typer.Option(help="Forget this harvest's checkpoint and start from the beginning.")]


def _open(stop: threading.Event | None = None):
    """Settings, the store, and the arXiv and HF clients."""
    settings = load_settings()
    store = SqlStore(require_migrated(settings), settings.trending_half_life_hours)
    in_background(settings)  # the worker too: it opens through here
    if not settings.contact_email:
        console.print(
            "[yellow]DAILYPAPERS_CONTACT_EMAIL is not set:[/yellow] arXiv asks that requests name a contact."
        )
    engine = store.engine  # on PostgreSQL, pacing holds across every machine of the deployment
    return (
        settings,
        store,
        make_client(settings, stop=stop, engine=engine),
        make_client(settings, hf=True, stop=stop, engine=engine),
    )


class ProgressBars:
    """Ingestion shown as it goes: a bar per source, a summary line per run (an `IngestObserver`)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}  # by source name

    def _task(self, name: str) -> int:
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(escape(name), total=None, status="")
        return self.tasks[name]

    def page(self, source: Source, page: Page, totals: Totals) -> None:
        task = self._task(source.name)
        if page.total is not None:
            self.progress.update(task, total=page.total)
        self.progress.update(
            task,
            completed=totals.fetched,
            description=escape(f"{source.name} {page.label}"),
            status=f"{totals.new:,} new, {totals.updated:,} updated, {totals.skipped:,} skipped",
        )
        for note in page.notes:
            self.progress.console.print(f"[yellow]note[/yellow] {escape(note)}", soft_wrap=True)

    def finished(self, report: RunReport) -> None:
        done = report.totals.fetched or 1
        self.progress.update(self._task(report.source), total=done, completed=done)
        _summary(report)

    def refused(self, source: Source, reason: str) -> None:
        console.print(f"[red]{escape(source.name)}:[/red] {escape(reason)}")

    def searched(self, outcome: SyncOutcome) -> None:
        console.print(escape(outcome.line()), soft_wrap=True)


def _run(settings, store, sources: list[Source], *, restart: bool = False) -> bool:
    with count_progress() as progress:
        return run_sources(settings, store, sources, restart=restart, observer=ProgressBars(progress))


def _summary(report: RunReport) -> None:
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
        ok = _run(settings, store, [source], restart=restart)
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
    start, end = parse_date(since, "--since"), parse_date(until, "--until")

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
    start = parse_date(since, "--from")
    end = parse_date(until, "--until") or datetime.now(UTC).date()

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
        start = end = parse_date(day, "--date")
    elif week is not None:
        try:
            period = periods.parse("week", week)
        except periods.InvalidPeriod as exc:
            raise typer.BadParameter(str(exc), param_hint="--week") from None
        start, end = period.start, period.end - timedelta(days=1)
    else:
        start = parse_date(since, "--from")
        end = parse_date(until, "--until") or datetime.now(UTC).date()

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
        with count_progress() as progress:
            ok = run_configured(settings, store, arxiv, hf, only=only, observer=ProgressBars(progress))
    except NothingConfigured as exc:
        console.print(str(exc))
        ok = True
    except BadConfiguration as exc:
        console.print(f"[red]Configuration error:[/red] {escape(str(exc))}")
        ok = False
    finally:
        arxiv.close()
        hf.close()
        store.engine.dispose()
    if not ok:
        raise typer.Exit(1)


@ingest_app.command("status")
def ingest_status(
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many recent runs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Show recent ingestion runs and unfinished harvests."""
    from dailypapers.ingest.runs import RunLog

    settings = load_settings()
    engine = require_migrated(settings)
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
