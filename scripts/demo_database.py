"""The bundled demo slice imported into a throw-away SQLite database, for the scripts that derive the demo's
shipped data from it (make_demo_embeddings.py, make_demo_keyphrases.py, make_demo_map.py)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dailypapers.importers.files import import_file
from dailypapers.settings import DEFAULT_EMBEDDING_MODEL, Settings
from dailypapers.store.engine import Engine, make_engine, upgrade
from dailypapers.store.papers import SqlStore

DATA = Path(__file__).resolve().parent.parent / "src" / "dailypapers" / "data"


@contextmanager
def imported_demo() -> Iterator[tuple[Settings, Engine]]:
    """Settings and an engine for a migrated database that holds demo.jsonl.gz, imported as the demo does."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            environment="development",
            database_url=f"sqlite:///{tmp}/demo.db",
            embedding_model=DEFAULT_EMBEDDING_MODEL,
            index_dir=Path(tmp) / "index",
        )
        upgrade(settings)
        engine = make_engine(settings)
        try:
            import_file(SqlStore(engine), DATA / "demo.jsonl.gz")
            yield settings, engine
        finally:
            engine.dispose()
