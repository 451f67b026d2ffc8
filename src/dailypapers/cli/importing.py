"""`dailypapers import FILE...`."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from dailypapers.cli.common import console, in_background, load_settings, require_migrated
from dailypapers.importers.files import ImportFileError, ImportReport, file_size, import_file
from dailypapers.store.papers import SqlStore


def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="JSONL (optionally .gz), Kaggle snapshot or HF JSON files.")
    ],
    show_errors: Annotated[int, typer.Option(help="How many bad records to print.")] = 20,
) -> None:
    """Import papers from files: safe to repeat, and to re-run after an interruption."""
    from dailypapers.cli.search import report_sync

    settings = load_settings()
    store = SqlStore(require_migrated(settings), settings.trending_half_life_hours)
    in_background(settings)
    report = ImportReport()
    printed = 0

    def on_error(message: str) -> None:
        nonlocal printed
        if printed < show_errors:
            # The message quotes the file's own text: escape it, and keep "FILE:LINE: reason" on one line.
            console.print(f"[yellow]skipped[/yellow] {escape(message)}", highlight=False, soft_wrap=True)
        printed += 1

    started = time.perf_counter()
    failed_files = 0
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[papers]:,} papers"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    ) as progress:
        for path in files:
            task = progress.add_task(escape(path.name), total=file_size(path) or None, papers=0)
            try:
                import_file(
                    store,
                    path,
                    report=report,
                    on_error=on_error,
                    on_progress=lambda pos, task=task: progress.update(
                        task, completed=pos, papers=report.read
                    ),
                )
            except ImportFileError as exc:
                failed_files += 1
                console.print(f"[red]error[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
    elapsed = time.perf_counter() - started
    counts = report.counts
    console.print(
        f"Read {report.read:,} records in {elapsed:.1f}s ({report.read / max(elapsed, 1e-9):,.0f}/s): "
        f"{counts.new:,} new, {counts.updated:,} updated, {counts.unchanged:,} unchanged, "
        f"{report.bad:,} skipped as bad; {counts.feed_new:,} new days on the feed.",
        soft_wrap=True,
    )
    if printed > show_errors:
        console.print(f"({printed - show_errors:,} more bad records not shown)")
    report_sync(settings, store.engine)
    store.engine.dispose()
    if failed_files:
        raise typer.Exit(1)
