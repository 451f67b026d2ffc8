"""What every command group shares: the console, settings, a migrated database, dates, errors, progress."""

from __future__ import annotations

import os
from datetime import date

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dailypapers import periods
from dailypapers.settings import Settings
from dailypapers.store.engine import Engine, current_revision, display_url, head_revision, make_engine

console = Console(stderr=True)


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except (ValidationError, ValueError) as exc:
        console.print(f"[red]Configuration error:[/red] {escape(setting_errors(exc))}")
        raise typer.Exit(2) from None


def setting_errors(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
    return str(exc)


def require_migrated(settings: Settings) -> Engine:
    """An engine on the configured database, which must be reachable and migrated to this release."""
    engine = make_engine(settings)
    try:
        current = current_revision(engine)
    except Exception as exc:  # a database we cannot reach at all
        engine.dispose()
        where = escape(display_url(settings.database_url))
        console.print(f"[red]Cannot open the database {where}:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if current != head_revision(settings):
        engine.dispose()
        console.print("[red]The database is not up to date.[/red] Run `dailypapers db upgrade` first.")
        raise typer.Exit(2)
    return engine


def in_background(settings: Settings) -> None:
    """Lower this process's CPU priority (DAILYPAPERS_BACKGROUND_NICE): an index build or a harvest on the
    machine that serves the site yields to the readers' requests instead of doubling their latency."""
    if settings.background_nice:
        try:
            os.nice(settings.background_nice)
        except OSError:  # not allowed here: run as is
            pass


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error (the text escaped: it may quote input) and return the Exit to raise."""
    console.print(f"[red]error[/red] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option, or a usage error naming the option."""
    if value is None:
        return None
    try:
        return periods.parse_date(value)
    except periods.InvalidPeriod as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def count_progress(*, transient: bool = False) -> Progress:
    """Bars with done/total, a status field and the time spent (ingestion, indexing, digests)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )
