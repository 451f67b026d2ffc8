"""The `dailypapers` command."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from dailypapers.accounts.commands import tokens_app, users_app
from dailypapers.digests.commands import digest_app
from dailypapers.ingest.commands import ingest_app, worker_command
from dailypapers.search.commands import index_app, search_command
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL, Settings

app = typer.Typer(
    help="dailypapers: a self-hostable Daily Papers.", no_args_is_help=True, add_completion=False
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(ingest_app, name="ingest")
app.command("worker")(worker_command)
app.add_typer(index_app, name="index")
app.add_typer(digest_app, name="digest")
app.command("search")(search_command)
app.add_typer(users_app, name="users")
app.add_typer(tokens_app, name="tokens")

console = Console(stderr=True)
DEMO_DATA = Path(__file__).resolve().parent / "data" / "demo.jsonl.gz"


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except (ValidationError, ValueError) as exc:
        console.print(f"[red]Configuration error:[/red] {_setting_errors(exc)}")
        raise typer.Exit(2) from None


def _setting_errors(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
    return str(exc)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply the database migrations (creates the database if needed)."""
    from dailypapers.store.engine import display_url, upgrade

    settings = load_settings()
    upgrade(settings, revision)
    console.print(f"Database at {display_url(settings.database_url)} is at revision {revision}.")


def _require_migrated(settings: Settings):
    from dailypapers.store.engine import current_revision, display_url, head_revision, make_engine

    engine = make_engine(settings)
    try:
        current = current_revision(engine)
    except Exception as exc:  # a database we cannot reach at all
        console.print(f"[red]Cannot open the database {display_url(settings.database_url)}:[/red] {exc}")
        raise typer.Exit(2) from None
    if current != head_revision(settings):
        console.print("[red]The database is not up to date.[/red] Run `dailypapers db upgrade` first.")
        raise typer.Exit(2)
    return engine


@app.command("import")
def import_command(
    files: Annotated[
        list[Path], typer.Argument(help="JSONL (optionally .gz), Kaggle snapshot or HF JSON files.")
    ],
    show_errors: Annotated[int, typer.Option(help="How many bad records to print.")] = 20,
) -> None:
    """Import papers from files: safe to repeat, and to re-run after an interruption."""
    from dailypapers.importers.files import ImportFileError, ImportReport, file_size, import_file
    from dailypapers.store.papers import SqlStore

    settings = load_settings()
    store = SqlStore(_require_migrated(settings), settings.trending_half_life_hours)
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
    from dailypapers.search.commands import sync_after_import

    sync_after_import(settings, store.engine, console)
    if failed_files:
        raise typer.Exit(1)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from dailypapers.web.app import create_app

    if workers > 1:
        # Each worker process builds its own app (and engine) from the same DAILYPAPERS_* environment.
        uvicorn.run(
            "dailypapers.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            access_log=False,
        )
        return
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Web processes (use more than 1 with PostgreSQL).")] = 1,
) -> None:
    """Serve the site and API from the configured database."""
    settings = load_settings()
    _require_migrated(settings).dispose()
    _serve(settings, host, port, workers)


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: Annotated[
        Path | None, typer.Option(help="SQLite file to create (default: a fresh one in a temporary folder).")
    ] = None,
) -> None:
    """Serve a real slice of Daily Papers from a fresh SQLite database: no setup needed."""
    from dailypapers.importers.files import import_file
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore

    if database is None:
        database = Path(tempfile.mkdtemp(prefix="dailypapers-demo-")) / "demo.db"
    elif database.exists():
        console.print(
            f"[red]{database} exists;[/red] the demo starts from a fresh database. Pick a new path."
        )
        raise typer.Exit(2)
    settings = load_settings(
        environment="development",
        database_url=f"sqlite:///{database}",
        base_url=f"http://{host}:{port}",
        # The packaged model, whose embeddings of the bundled papers ship with dailypapers.
        embedding_model=DEFAULT_EMBEDDING_MODEL,
        index_dir=database.with_name(f"{database.stem}-index"),
    )
    started = time.perf_counter()
    upgrade(settings)
    store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    report = import_file(store, DEMO_DATA)
    from dailypapers.search.commands import prepare_demo

    prepare_demo(settings, store.engine, console)
    store.engine.dispose()
    console.print(
        f"Demo database {database}: {report.counts.new:,} papers in {time.perf_counter() - started:.1f}s. "
        f"Open http://{host}:{port}/"
    )
    _serve(settings, host, port)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
