"""The `search_state` table: the active embedding model, and the id that ties index files to this database."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, select

from dailypapers.store.engine import conflict_insert
from dailypapers.store.schema import search_state

ACTIVE_MODEL = "active_model"
INDEX_ID = "index_id"


def get(engine: Engine, key: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(search_state.c.value).where(search_state.c.key == key)).scalar()


def put(engine: Engine, key: str, value: str) -> None:
    insert = conflict_insert(engine.dialect.name, search_state)
    statement = insert.values(key=key, value=value).on_conflict_do_update(
        index_elements=["key"], set_={"value": value}
    )
    with engine.connect() as conn:
        conn.info["write"] = True
        with conn.begin():
            conn.execute(statement)


def index_id(engine: Engine) -> str:
    """A random id made once per database. Index files record it, so files left by another database (or by
    this one before its tables were recreated) are never mistaken for this one's."""
    current = get(engine, INDEX_ID)
    if current:
        return current
    insert = conflict_insert(engine.dialect.name, search_state)
    with engine.connect() as conn:
        conn.info["write"] = True
        with conn.begin():
            conn.execute(insert.values(key=INDEX_ID, value=uuid.uuid4().hex).on_conflict_do_nothing())
    return get(engine, INDEX_ID) or ""
