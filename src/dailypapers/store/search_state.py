"""The `search_state` table: a few named values search keeps in the database (dailypapers.search.state says
which), so that every process of a deployment agrees on them."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine, select

from dailypapers.store.engine import conflict_insert, write_transaction
from dailypapers.store.schema import search_state


class SearchState(Protocol):
    def get(self, key: str) -> str | None: ...

    def put(self, key: str, value: str) -> None:
        """Set `key` to `value`, whatever it held."""

    def put_if_absent(self, key: str, value: str) -> None:
        """Set `key` to `value` unless it holds one already (the first writer wins)."""


class SqlSearchState:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(search_state.c.value).where(search_state.c.key == key)).scalar()

    def put(self, key: str, value: str) -> None:
        insert = conflict_insert(self.engine.dialect.name, search_state)
        statement = insert.values(key=key, value=value).on_conflict_do_update(
            index_elements=["key"], set_={"value": value}
        )
        with write_transaction(self.engine) as conn:
            conn.execute(statement)

    def put_if_absent(self, key: str, value: str) -> None:
        insert = conflict_insert(self.engine.dialect.name, search_state)
        with write_transaction(self.engine) as conn:
            conn.execute(insert.values(key=key, value=value).on_conflict_do_nothing())
