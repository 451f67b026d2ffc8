"""`dailypapers serve` and `dailypapers demo`."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.cli.common import console, load_settings, require_migrated
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL, Settings

DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo.jsonl.gz"


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import uvicorn

    from dailypapers.web.app import create_app
    from dailypapers.web.server import uvicorn_options

    options = uvicorn_options(settings)
    if workers > 1:
        # Each worker process builds its own app (and engine) from the same DAILYPAPERS_* environment.
        uvicorn.run(
            "dailypapers.web.app:create_app", factory=True, host=host, port=port, workers=workers, **options
        )
        return
    uvicorn.run(create_app(settings), host=host, port=port, **options)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Web processes (use more than 1 with PostgreSQL).")] = 1,
) -> None:
    """Serve the site and API from the configured database."""
    settings = load_settings()
    require_migrated(settings).dispose()
    _serve(settings, host, port, workers)


def demo(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database: Annotated[
        Path | None, typer.Option(help="SQLite file to create (default: a fresh one in a temporary folder).")
    ] = None,
) -> None:
    """Serve a real slice of Daily Papers from a fresh SQLite database: no setup needed."""
    from dailypapers.importers.files import import_file
    from dailypapers.services.search_sync import sync_search
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore

    if database is None:
        database = Path(tempfile.mkdtemp(prefix="dailypapers-demo-")) / "demo.db"
    elif database.exists():
        console.print(
            f"[red]{escape(str(database))} exists;[/red] the demo starts from a fresh database. "
            "Pick a new path."
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
    # The demo's search, ready at once: the shipped embeddings of the bundled papers (loaded by the sync, see
    # Indexer.load_shipped_embeddings), then both indexes built.
    searched = time.perf_counter()
    outcome = sync_search(settings, store.engine, embed_limit=-1)
    if outcome.report is not None:
        ready, synced = time.perf_counter() - searched, outcome.report
        console.print(
            f"Search ready in {ready:.1f}s: {synced.keyword_indexed:,} papers indexed, "
            f"{sum(synced.embedded.values()):,} embedded here (the rest ship precomputed).",
            soft_wrap=True,
        )
    else:
        console.print(f"[yellow]{escape(outcome.line())}[/yellow]", soft_wrap=True)
    store.engine.dispose()
    console.print(
        f"Demo database {escape(str(database))}: {report.counts.new:,} papers in "
        f"{time.perf_counter() - started:.1f}s. Open http://{host}:{port}/"
    )
    _serve(settings, host, port)
