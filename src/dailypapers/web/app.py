"""`create_app(settings)`: the whole web application, built from settings, nothing global."""

from __future__ import annotations

import gc
import re
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from dailypapers import __version__
from dailypapers.mail import Mailer, make_mailer
from dailypapers.search.types import SearchService
from dailypapers.services.jobs import BackgroundJobs, JobRunner
from dailypapers.services.submissions import Submissions
from dailypapers.settings import Settings
from dailypapers.store.accounts import AccountStore
from dailypapers.store.changes import change_signal
from dailypapers.store.engine import make_engine
from dailypapers.store.jobs import SqlJobStore
from dailypapers.store.papers import SqlStore
from dailypapers.web import (
    about,
    accounts,
    api,
    apidocs,
    auth,
    authors,
    citations,
    collections,
    community,
    devmail,
    errors,
    feeds,
    foryou,
    health,
    maps,
    openapi,
    pages,
    search,
    server,
    templating,
    trends,
)
from dailypapers.web import subscriptions as digest_subscriptions
from dailypapers.web.assets import Assets
from dailypapers.web.cache import PageCache
from dailypapers.web.limits import RequestLimits
from dailypapers.web.security import SecurityHeaders

HERE = Path(__file__).resolve().parent
READER_THREADS = 32
MAX_URL_LENGTH = 4096
# Search queries may be pasted abstracts: their query strings may be longer (the query is cut to 1,000
# characters by the route), so that a long query gets results rather than an error.
MAX_SEARCH_URL_LENGTH = 65_536
SEARCH_PATHS = ("/search", "/search.json", "/api/papers/search")
_SLASHES = re.compile(r"/{2,}")


class PathHygiene:
    """Folds `//api/...` into `/api/...` (HfApi with a trailing-slash endpoint sends those) and answers
    over-long URLs with 414 before any route sees them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            folded = _SLASHES.sub("/", path)
            limit = MAX_SEARCH_URL_LENGTH if folded.rstrip("/") in SEARCH_PATHS else MAX_URL_LENGTH
            if len(path) + len(scope.get("query_string", b"")) > limit:
                # JSON for the API, an HTML page elsewhere, like every other error.
                response = errors.error_response(Request(scope), 414, "URI too long")
                await response(scope, receive, send)
                return
            if "//" in path:
                scope = dict(scope, path=folded, raw_path=folded.encode())
        await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    *,
    store: SqlStore | None = None,
    search_service: SearchService | None = None,
    mailer: Mailer | None = None,
) -> FastAPI:
    settings = settings or Settings()
    if store is None:
        store = SqlStore(make_engine(settings), settings.trending_half_life_hours)
    page_version = change_signal(store.engine)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Sync routes run in anyio's worker threads (40 by default). Writers waiting for SQLite's lock hold
        # one each, at most `sqlite_max_waiting_writers` (the rest fail fast): keep 32 more for readers.
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.sqlite_max_waiting_writers + READER_THREADS)
        if app.state.jobs is not None:
            app.state.jobs.start()
        if settings.search_warmup:
            # Before the first request (uvicorn listens once this returns): the first search is as quick as
            # any other, instead of waiting seconds for the model. In a thread: the loop stays free meanwhile.
            await anyio.to_thread.run_sync(app.state.search.warm)
        if settings.web_gc_freeze:
            # What starting made (modules, routes, the model and indexes: some 220,000 objects) lives as long
            # as the process; a full collection walked all of it, about 100 ms, every dozen uncached pages.
            gc.collect()
            gc.freeze()
        yield
        if app.state.jobs is not None:
            app.state.jobs.stop()
        app.state.search.close()
        if page_version is not None:
            page_version.close()
        await app.state.mailer.aclose()
        store.engine.dispose()

    app = FastAPI(
        lifespan=lifespan,
        title=settings.site_name,
        version=__version__,
        description="Daily research papers: a feed with upvotes and trending, and a JSON API that is a "
        "superset of Hugging Face's papers API.",
        docs_url=None,  # web.apidocs serves both docs pages, from assets of its own
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    # Account mail and digests go through this one mailer (tests pass one aimed at their SMTP server).
    app.state.mailer = mailer if mailer is not None else make_mailer(settings)
    # Opened while the server starts (settings.search_warmup), else on first use.
    app.state.search = (
        search.LazySearch.of(search_service)
        if search_service is not None
        else search.LazySearch(search.default_factory(settings, store.engine))
    )
    app.state.templates = templating.make_templates(settings, HERE / "templates")
    errors.install(app)
    openapi.install(app)
    # Accounts: sessions, tokens and CSRF. Installed before the page cache, so that the cache (outside it)
    # sees the CSRF cookie a page sets and never stores that page.
    app.state.accounts = AccountStore(store)
    auth.install(app)
    apidocs.install(app)  # its assets' mount goes before /static, which would take their paths
    assets = Assets(HERE / "static")
    app.mount("/static", assets, name="static")
    app.state.templates.env.globals["static_url"] = assets.url
    # Submissions, upvotes, comments, moderation: before the routes whose `/papers/{id:path}` catch all.
    community.install(app)
    authors.install(app)  # authors, organizations, claims, follows: before the pages' catch-all routes
    foryou.install(app)  # For you: 👍/👎, profiles, recommendations; before the same catch-alls
    job_store = SqlJobStore(store.engine)
    app.state.submissions = Submissions(settings, store, app.state.community, job_store)
    # Jobs that requests ask for (a submitted paper to fetch) run in a thread of this process unless the
    # deployment leaves them to its workers.
    app.state.jobs = (
        BackgroundJobs(JobRunner(job_store, app.state.submissions.handlers())) if settings.web_jobs else None
    )
    app.include_router(search.router)  # before api.router, whose /api/papers/{id:path} would catch it
    app.include_router(search.pages_router)
    app.include_router(api.router)
    app.include_router(feeds.router)
    app.include_router(accounts.twins_router)
    app.include_router(accounts.router)
    app.include_router(accounts.api_router)
    digest_subscriptions.install(app)  # digests: sign-up, confirm, preferences, unsubscribe
    if settings.environment == "development":
        app.include_router(devmail.router)
    app.include_router(about.router)
    app.include_router(health.router)

    trends.install(app)  # /trends, /trends/{topic}: rising key phrases and categories
    maps.install(app)  # /map: every embedded paper in 2-D
    app.include_router(citations.router)  # before pages.router, whose /papers/{value:path} would catch .bib
    collections.install(app)  # collections: the API under /api/collections, pages under /collections
    app.include_router(pages.router)
    # A form on a paper page that fails (an empty comment) shows the page again with its message in place.
    app.state.render_paper = pages.render_paper
    app.add_middleware(PageCache, version=page_version)  # inside PathHygiene: sees folded paths
    # Outside the page cache, whose own answers come gzipped already (compressed once, when stored).
    app.add_middleware(GZipMiddleware, minimum_size=500, compresslevel=6)
    app.add_middleware(PathHygiene)
    # Outermost: a body or head over its cap is refused before anything else reads it.
    app.add_middleware(
        RequestLimits,
        max_body=settings.max_request_body_bytes,
        max_headers=settings.max_request_headers,
        max_header_bytes=settings.max_request_header_bytes,
    )
    app.add_middleware(SecurityHeaders, https=settings.cookie_secure)  # on every answer, refusals too
    server.configure(settings)

    return app
