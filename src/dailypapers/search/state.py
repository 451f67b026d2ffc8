"""What search keeps in the database (the `search_state` table, dailypapers.store.search_state): the active
embedding model, and the id that ties index files to this database."""

from __future__ import annotations

import uuid

from dailypapers.store.engine import Engine
from dailypapers.store.search_state import SqlSearchState

ACTIVE_MODEL = "active_model"
INDEX_ID = "index_id"


def get(engine: Engine, key: str) -> str | None:
    return SqlSearchState(engine).get(key)


def put(engine: Engine, key: str, value: str) -> None:
    SqlSearchState(engine).put(key, value)


def index_id(engine: Engine) -> str:
    """A random id made once per database. Index files record it, so files left by another database (or by
    this one before its tables were recreated) are never mistaken for this one's."""
    stored = SqlSearchState(engine)
    current = stored.get(INDEX_ID)
    if current:
        return current
    stored.put_if_absent(INDEX_ID, uuid.uuid4().hex)
    return stored.get(INDEX_ID) or ""
