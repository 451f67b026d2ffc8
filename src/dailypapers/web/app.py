"""`create_app(settings)`: the whole web application, built from settings, nothing global."""

from __future__ import annotations

import re
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from dailypapers import __version__
from dailypapers.settings import Settings
from dailypapers.store.engine import make_engine
from dailypapers.store.papers import SqlStore
from dailypapers.web import api, errors, feeds, pages, templating

HERE = Path(__file__).resolve().parent
MAX_URL_LENGTH = 4096
_SLASHES = re.compile(r"/{2,}")


class PathHygiene:
    """Folds `//api/...` into `/api/...` (HfApi with a trailing-slash endpoint sends those) and answers
    over-long URLs with 414 before any route sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if len(path) + len(scope.get("query_string", b"")) > MAX_URL_LENGTH:
                body = b'{"error":"URI too long"}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 414,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                        ],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            if "//" in path:
                scope = dict(scope, path=_SLASHES.sub("/", path), raw_path=_SLASHES.sub("/", path).encode())
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, *, store: SqlStore | None = None) -> FastAPI:
    settings = settings or Settings()
    if store is None:
        store = SqlStore(make_engine(settings), settings.trending_half_life_hours)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        store.engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title=settings.site_name,
        version=__version__,
        description="Daily research papers: a feed with upvotes and trending, and a JSON API that is a "
        "superset of Hugging Face's papers API.",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.templates = templating.make_templates(settings, HERE / "templates")
    errors.install(app)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(pages.router)
    app.add_middleware(PathHygiene)

    return app
