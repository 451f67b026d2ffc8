"""`dailypapers map build`: the map of the field, from the embeddings and key phrases in the database."""

from __future__ import annotations

from typing import Annotated

import typer

from dailypapers.cli.common import console, in_background, load_settings, require_migrated

map_app = typer.Typer(help="The map of the field: every embedded paper in 2-D.", no_args_is_help=True)


@map_app.command("build")
def map_build(
    full: Annotated[
        bool,
        typer.Option("--full", help="Project every paper again (else new papers join the map as it is)."),
    ] = False,
    seed: Annotated[
        int | None, typer.Option(help="A fixed seed: the same map every time (one core).")
    ] = None,
) -> None:
    """Place every embedded paper on the map and name its regions; run it after `index build`.

    The first run (or --full) projects them all with UMAP (minutes for 80,000 papers on two cores); later runs
    place only the papers embedded since, among their nearest neighbours, and keep everyone else's place.
    """
    from dailypapers.services.maps import build_map

    settings = load_settings()
    engine = require_migrated(settings)
    in_background(settings)
    report = build_map(settings, engine, full=full, seed=seed)
    engine.dispose()
    console.print(
        f"Map: {report.points:,} papers ({report.projected:,} projected, {report.placed:,} placed among "
        f"their neighbours, {report.dropped:,} gone) in {report.seconds:.1f}s.",
        soft_wrap=True,
    )
