"""Building the map (`dailypapers map build`): the whole corpus projected, or the new papers placed."""

from __future__ import annotations

from pathlib import Path

from dailypapers.maps.builder import MapBuilder, MapReport
from dailypapers.settings import Settings
from dailypapers.store.engine import Engine


def build_map(
    settings: Settings,
    engine: Engine,
    *,
    full: bool = False,
    seed: int | None = None,
    start: Path | None = None,
) -> MapReport:
    return MapBuilder(engine, settings).build(full=full, seed=seed, start=start)
