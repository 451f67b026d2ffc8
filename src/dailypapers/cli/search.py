"""`dailypapers index ...` and `dailypapers search`: the command-line face of search."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress

from dailypapers.cli.common import (
    console,
    count_progress,
    in_background,
    load_settings,
    parse_date,
    require_migrated,
)
from dailypapers.search.snapshots import Snapshot, SnapshotError
from dailypapers.services.search_sync import (
    bootstrap_snapshot,
    publish_snapshot,
    rebuild_search,
    sync_search,
)
from dailypapers.settings import Settings
from dailypapers.store.engine import Engine

index_app = typer.Typer(help="Search indexes: build them, see their state.", no_args_is_help=True)


def _stage_label(stage: str) -> str:
    kind, _, model = stage.partition(":")
    return {
        "keyword": "keyword index",
        "embed": "embedding",
        "vectors": "vector index",
        "phrases": "key phrases",
    }.get(kind, kind) + (f" ({model})" if model else "")


class StageBars:
    """One rich progress bar per indexing stage, fed by the indexer's progress callback."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, int] = {}
        self.started: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(_stage_label(stage), total=total, status="")
            self.started[stage] = time.perf_counter()
        elapsed = time.perf_counter() - self.started[stage]
        rate = (
            f"{done / elapsed:,.1f} papers/s"
            if elapsed > 0 and stage.startswith(("embed", "phrases"))
            else ""
        )
        self.progress.update(self.tasks[stage], completed=done, total=total, status=rate)


@index_app.command("build")
def index_build(
    batch_size: Annotated[
        int, typer.Option(min=1, max=4096, help="Papers embedded per committed batch.")
    ] = 256,
) -> None:
    """Rebuild the search indexes from the database and embed every paper lacking an embedding.

    Safe to interrupt (even kill -9): embeddings are committed batch by batch; run it again to carry on.
    """
    settings = load_settings()
    engine = require_migrated(settings)
    in_background(settings)
    with count_progress() as progress:
        report = rebuild_search(settings, engine, on_progress=StageBars(progress), batch_size=batch_size)
    embedded = sum(report.embedded.values())
    console.print(
        f"Indexed {report.keyword_indexed:,} papers for keyword search; embedded {embedded:,} "
        f"({report.papers_per_second:,.1f} papers/s); key phrases for {report.phrases:,} more "
        f"({report.phrases_pending:,} lacking); active model: {report.active_model or 'none'}; "
        f"{report.seconds:.1f}s in all.",
        soft_wrap=True,
    )
    engine.dispose()


@index_app.command("publish")
def index_publish(
    dest: Annotated[
        Path, typer.Argument(help="The snapshots' directory (a shared mount): DEST/CURRENT names the newest.")
    ],
) -> None:
    """Copy this node's search indexes into DEST as a checksummed snapshot and make it the current one, for
    new web nodes to start from (`index bootstrap`). Safe while the site serves and indexes."""
    _snapshot_step("Published", "Not published", lambda settings: publish_snapshot(settings, dest))


@index_app.command("bootstrap")
def index_bootstrap(
    source: Annotated[Path, typer.Argument(help="The snapshots' directory that `index publish` writes.")],
    replace: Annotated[bool, typer.Option(help="Replace an index this node has already.")] = False,
) -> None:
    """Install the current snapshot from SOURCE as this node's search indexes, every file checked against its
    checksum first; the node then catches up from the database (DAILYPAPERS_SEARCH_FOLLOW_SECONDS)."""
    _snapshot_step(
        "Installed", "Not installed", lambda settings: bootstrap_snapshot(settings, source, replace=replace)
    )


def _snapshot_step(done: str, refused: str, step: Callable[[Settings], Snapshot]) -> None:
    """Run a snapshot step, and say what came of it (a clear line and exit 1 when it cannot be done)."""
    try:
        snapshot = step(load_settings())
    except (SnapshotError, OSError) as exc:
        console.print(f"[red]{refused}:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    console.print(
        f"{done} {escape(snapshot.name)}: {snapshot.files} files, {snapshot.bytes / 1e6:,.1f} MB, "
        f"{snapshot.seconds:.1f}s.",
        soft_wrap=True,
    )


@index_app.command("status")
def index_status(
    json_output: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
) -> None:
    """What the search indexes hold: embeddings per model, index sizes, watermarks."""
    from dailypapers.search.service import build_search

    settings = load_settings()
    engine = require_migrated(settings)
    status = build_search(settings, engine).status()
    engine.dispose()
    if json_output:
        typer.echo(json.dumps(status, indent=2))
        return

    def out(text: str) -> None:
        console.print(text, soft_wrap=True, highlight=False)

    out(f"index directory   {escape(status['index_dir'])}")
    out(f"configured model  {escape(status['configured_model'])}")
    out(f"active model      {escape(status['active_model'] or '(none yet)')}")
    for model, count in sorted(status["embeddings"].items()):
        out(f"embeddings        {count:,} by {escape(model)}")
    for model, missing in status["missing"].items():
        out(f"lacking           {missing:,} papers have no embedding by {escape(model)}")
    keyword = status["keyword"]
    out(
        f"keyword index     {keyword['documents']:,} papers, {keyword['bytes'] / 1e6:,.1f} MB, "
        f"changes indexed up to {keyword['watermark'] or 'never'}"
        + ("" if keyword["current"] else " [yellow](not built for this database)[/yellow]")
    )
    vectors = status["vectors"]
    out(
        f"vector index      {vectors['vectors']:,} vectors, {vectors['bytes'] / 1e6:,.1f} MB, "
        f"up to embedding #{vectors['watermark']:,}; {vectors['lag']:,} newer ones caught up at load"
    )


def search_command(
    query: Annotated[str, typer.Argument(help='What to look for: words, "a phrase", author:Name.')],
    mode: Annotated[str, typer.Option(help="keyword, semantic or hybrid.")] = "hybrid",
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many results.")] = 10,
    offset: Annotated[int, typer.Option(min=0, help="Skip this many results.")] = 0,
    category: Annotated[
        list[str] | None, typer.Option(help="Only papers in this arXiv category (repeat for any of several).")
    ] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Published on or after (YYYY-MM-DD).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Published on or before (YYYY-MM-DD).")] = None,
    daily_only: Annotated[bool, typer.Option(help="Only papers that were on Daily Papers.")] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Search the papers from the command line."""
    from dailypapers.search.embedder import EmbeddingModelUnavailable
    from dailypapers.search.service import build_search
    from dailypapers.search.types import MODES, InvalidQuery, SearchFilters
    from dailypapers.store.papers import SqlStore

    if mode not in MODES:
        raise typer.BadParameter(f"use one of {', '.join(MODES)}", param_hint="--mode")
    filters = SearchFilters(
        published_from=parse_date(from_, "--from"),
        published_to=parse_date(to, "--to"),
        categories=tuple(category or ()),
        daily_only=daily_only,
    )
    settings = load_settings()
    engine = require_migrated(settings)
    search = build_search(settings, engine)
    started = time.perf_counter()
    try:
        hits = search.search(query, mode=mode, filters=filters, offset=offset, limit=limit)  # type: ignore
    except (InvalidQuery, EmbeddingModelUnavailable) as exc:
        console.print(f"[red]{escape(str(exc))}[/red]", soft_wrap=True)
        raise typer.Exit(2) from None
    elapsed = time.perf_counter() - started
    by_id = {view.id: view for view in SqlStore(engine).get_many([h.paper_id for h in hits])}
    engine.dispose()
    results = [
        {
            "rank": offset + i + 1,
            "arxiv_id": by_id[h.paper_id].arxiv_id,
            "title": by_id[h.paper_id].title,
            "published": by_id[h.paper_id].published_at.date().isoformat()
            if by_id[h.paper_id].published_at
            else None,
            "score": round(h.score, 6),
            "keyword_rank": h.keyword_rank,
            "semantic_rank": h.semantic_rank,
        }
        for i, h in enumerate(hits)
        if h.paper_id in by_id
    ]
    if json_output:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
        return
    if not results:
        console.print("No papers found.")
    for r in results:
        ranks = ", ".join(
            f"{name} #{r[key]}"
            for name, key in (("keyword", "keyword_rank"), ("semantic", "semantic_rank"))
            if r[key]
        )
        typer.echo(f"{r['rank']:>3}. {r['arxiv_id']:<12} {r['title']}")
        typer.echo(f"     {r['published'] or '':<10}  score {r['score']:.4f}  ({ranks})")
    console.print(f"{len(results)} results in {elapsed * 1000:.0f} ms ({mode}).")


def report_sync(settings: Settings, engine: Engine) -> None:
    """After papers were written: bring search up to date (embedding inline up to
    DAILYPAPERS_EMBEDDING_INLINE_LIMIT papers) with progress bars, and say what is left to run."""
    with count_progress() as progress:
        outcome = sync_search(settings, engine, on_progress=StageBars(progress))
    if outcome.report is None:
        console.print(f"[yellow]{escape(outcome.line())}[/yellow]", soft_wrap=True)
        return
    console.print(outcome.line())
    for model, n in outcome.pending.items():
        console.print(
            f"{n:,} papers have no embedding by {escape(model)} (more than "
            f"DAILYPAPERS_EMBEDDING_INLINE_LIMIT={settings.embedding_inline_limit:,}): "
            "run `dailypapers index build` for semantic search over them.",
            soft_wrap=True,
        )
