"""`dailypapers db upgrade`, `dailypapers backup` and `dailypapers restore`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.cli.common import console, count_progress, fail, load_settings, require_migrated
from dailypapers.store.backup import BackupError, backup, default_name
from dailypapers.store.engine import display_url, upgrade

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the database migrations (creates the database if needed)."""
    settings = load_settings()
    upgrade(settings, revision)
    console.print(f"Database at {escape(display_url(settings.database_url))} is at revision {revision}.")


def backup_command(
    dest: Annotated[
        Path, typer.Argument(help="A new file, or a directory to write dailypapers-<UTC time>.db/.dump in.")
    ],
) -> None:
    """Back up the database while the site runs (SQLite's online backup; pg_dump for PostgreSQL)."""
    settings = load_settings()
    require_migrated(settings).dispose()
    if dest.is_dir():
        dest = dest / default_name(settings.database_url, f"{datetime.now(UTC):%Y%m%dT%H%M%S}")
    try:
        with console.status(f"Backing up to {escape(str(dest))}…"):
            written = backup(settings.database_url, dest)
    except BackupError as exc:
        raise fail(str(exc), 1) from None
    console.print(f"Backed up to {escape(str(written))} ({written.stat().st_size / 1e6:,.1f} MB).")


def restore_command(
    source: Annotated[Path, typer.Argument(help="A backup file made by `dailypapers backup`.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a database that holds data (stop the site first).")
    ] = False,
) -> None:
    """Restore a backup into the configured database, then rebuild the search indexes from it."""
    from dailypapers.cli.search import StageBars
    from dailypapers.services.backups import restore_site

    settings = load_settings()
    try:
        with count_progress() as progress:
            report = restore_site(settings, source, replace=replace, on_progress=StageBars(progress))
    except BackupError as exc:
        raise fail(str(exc), 1) from None
    console.print(
        f"Restored {escape(str(source))} into {escape(display_url(settings.database_url))}; search rebuilt: "
        f"{report.keyword_indexed:,} papers indexed, active model {report.active_model or 'none'}.",
        soft_wrap=True,
    )
