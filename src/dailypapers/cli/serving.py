"""`dailypapers serve` and `dailypapers demo`."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from dailypapers.cli.common import console, load_settings, require_migrated
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL, Settings

DEMO_DATA = Path(__file__).resolve().parent.parent / "data" / "demo.jsonl.gz"


def _serve(settings: Settings, host: str, port: int, workers: int = 1, app=None) -> None:
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
    uvicorn.run(app or create_app(settings), host=host, port=port, **options)


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
        Path | None,
        typer.Option(
            help="SQLite file to create and keep (default: a fresh one in a temporary folder, removed on "
            "exit)."
        ),
    ] = None,
) -> None:
    """Serve a real slice of Daily Papers, its last day moved to today, from a fresh SQLite database."""
    if database is not None:
        if database.exists():
            console.print(
                f"[red]{escape(str(database))} exists;[/red] the demo starts from a fresh database. "
                "Pick a new path."
            )
            raise typer.Exit(2)
        database.parent.mkdir(parents=True, exist_ok=True)
        _demo(host, port, database, keep=True)
        return
    folder = Path(tempfile.mkdtemp(prefix="dailypapers-demo-"))
    # uvicorn stops on SIGINT (Ctrl-C) and SIGTERM, then raises the signal again with the handler it found:
    # SIGINT's raises KeyboardInterrupt, SIGTERM's default would end the process before the folder goes.
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        _demo(host, port, folder / "demo.db", keep=False)
    finally:
        # The database, its indexes and the mail go with the demo.
        shutil.rmtree(folder, ignore_errors=True)
        signal.signal(signal.SIGTERM, previous)


def _exit_on_sigterm(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def _draw_map_meanwhile(settings) -> None:
    """The demo's map (/map), drawn in a thread while the site starts: from the places its papers ship with
    (a second), or projected by UMAP where they do not fit (a quarter of a minute); it shows once drawn."""
    import threading

    from dailypapers.maps.builder import SHIPPED_MAP
    from dailypapers.services.maps import build_map
    from dailypapers.store.engine import make_engine

    def draw() -> None:
        engine = make_engine(settings)
        try:
            report = build_map(settings, engine, seed=7, start=SHIPPED_MAP)
            console.print(
                f"The map is drawn: {report.points:,} papers at {settings.base_url}/map", soft_wrap=True
            )
        except Exception as exc:  # the demo goes on without its map
            console.print(f"[yellow]No map: {escape(str(exc))}[/yellow]", soft_wrap=True)
        finally:
            engine.dispose()

    threading.Thread(target=draw, name="demo-map", daemon=True).start()


def _demo(host: str, port: int, database: Path, *, keep: bool) -> None:
    from dailypapers.services.demo import import_demo_slice
    from dailypapers.services.search_sync import sync_search
    from dailypapers.store.engine import make_engine, upgrade
    from dailypapers.store.papers import SqlStore
    from dailypapers.web.app import create_app

    url = f"http://{host}:{port}"
    mail_dir = database.with_name(f"{database.stem}-mail")
    settings = load_settings(
        environment="development",
        database_url=f"sqlite:///{database}",
        base_url=url,
        # The packaged model, whose embeddings of the bundled papers ship with dailypapers.
        embedding_model=DEFAULT_EMBEDDING_MODEL,
        index_dir=database.with_name(f"{database.stem}-index"),
        # Mail (sign-up links, digest confirmations) is written here, listed at /dev/mail.
        smtp_url="",
        mail_dir=mail_dir,
        search_warmup=True,
    )
    console.print(
        f"Mail the demo sends goes to {escape(str(mail_dir))}/ (one .eml file each) and is listed, "
        f"links and all, at {url}/dev/mail",
        soft_wrap=True,
    )
    started = time.perf_counter()
    upgrade(settings)
    store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    today = datetime.now(UTC).date()
    imported = import_demo_slice(store, DEMO_DATA, today)
    # The demo's search: the shipped embeddings of the bundled papers (loaded by the sync, see
    # Indexer.load_shipped_embeddings), both indexes built, then the model and indexes loaded by the app.
    outcome = sync_search(settings, store.engine, embed_limit=-1)
    store.engine.dispose()
    if outcome.report is None:
        console.print(f"[yellow]{escape(outcome.line())}[/yellow]", soft_wrap=True)
    _draw_map_meanwhile(settings)
    app = create_app(settings)
    if app.state.search.warm() and outcome.report is not None:
        console.print(
            f"Search ready {time.perf_counter() - started:.1f}s after the start: "
            f"{outcome.report.keyword_indexed:,} papers indexed, the model and both indexes loaded.",
            soft_wrap=True,
        )
    console.print(
        f"Demo database {escape(str(database))}: {imported.counts.new:,} papers, every date moved by "
        f"{imported.shift_days:+,} days so that the slice's last day is today ({today.isoformat()}).",
        soft_wrap=True,
    )
    console.print(
        "Not on the feed yet, for you to submit (sign up first): " + ", ".join(imported.held_back),
        soft_wrap=True,
    )
    ending = "keeps its database" if keep else f"removes {escape(str(database.parent))}"
    console.print(f"Open {url}/  (Ctrl-C stops the demo and {ending})", soft_wrap=True)
    _serve(settings, host, port, app=app)
