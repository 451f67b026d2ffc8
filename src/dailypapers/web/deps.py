"""Request dependencies: what a route needs from the application it runs in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dailypapers.store.papers import SqlStore


def get_store(request: Request) -> SqlStore:
    return request.app.state.store


StoreDep = Annotated[SqlStore, Depends(get_store)]
