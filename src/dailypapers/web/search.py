"""Search on the web: the `/search` page and its JSON twin, `GET /api/papers/search` (Hugging Face's
contract), `GET /api/papers/{id}/similar`, and the similar papers of a paper page.

The search service is built on first use, not at startup (`LazySearch`): the app starts in milliseconds and
the embedding model loads with the first semantic query. Whatever a query holds, the answer is results or a
400 that says what to change; errors of the engines are logged, never shown.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request

from dailypapers import arxiv_ids, hf_shapes, highlight
from dailypapers.papers import PaperView
from dailypapers.search.types import MAX_QUERY_CHARS, MODES, Hit, InvalidQuery, SearchFilters, SearchService
from dailypapers.store.embeddings import SqlEmbeddings
from dailypapers.web.community import upvoted_ids
from dailypapers.web.deps import StoreDep
from dailypapers.web.responses import JSONResponse

log = logging.getLogger(__name__)

router = APIRouter()  # the API routes: registered before `/api/papers/{arxiv_id:path}` catches them
pages_router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 results deep is as far as anyone pages a ranking
API_LIMIT_DEFAULT = 50
API_LIMIT_MAX = 120  # as on Hugging Face
SIMILAR_LIMIT_DEFAULT = 10
SIMILAR_LIMIT_MAX = 100
SIMILAR_ON_PAGE = 6
MAX_CATEGORIES = 10
_CATEGORY = re.compile(r"^[a-z][a-z-]{0,15}(\.[A-Za-z][A-Za-z-]{0,15})?$")
RETRY_AFTER_FAILURE_S = 30.0


class SearchUnavailable(RuntimeError):
    """The search indexes could not be opened (not built yet, or broken): a 503, not the user's fault."""


class LazySearch:
    """Builds the search service on first use, once, and shares it between requests."""

    def __init__(self, factory: Callable[[], SearchService]) -> None:
        self._factory = factory
        self._service: SearchService | None = None
        self._lock = threading.Lock()
        self._failed_at: float | None = None

    @classmethod
    def of(cls, service: SearchService) -> LazySearch:
        lazy = cls(lambda: service)
        lazy._service = service
        return lazy

    @property
    def ready(self) -> bool:
        return self._service is not None

    def get(self) -> SearchService:
        if self._service is not None:
            return self._service
        with self._lock:
            if self._service is None:
                if self._failed_at is not None and time.monotonic() - self._failed_at < RETRY_AFTER_FAILURE_S:
                    raise SearchUnavailable("search is not available right now")
                try:
                    self._service = self._factory()
                except Exception as exc:
                    self._failed_at = time.monotonic()
                    log.exception("could not open the search indexes")
                    raise SearchUnavailable("search is not available right now") from exc
        return self._service

    def close(self) -> None:
        close = getattr(self._service, "close", None)
        if callable(close):
            close()


def default_factory(settings, engine) -> Callable[[], SearchService]:
    def build() -> SearchService:
        from dailypapers.search.service import build_search

        service = build_search(settings, engine)
        # New papers (imports, ingestion) are caught up off the request path.
        start = getattr(service, "start_background_refresh", None)
        if callable(start):
            start()
        return service

    return build


# -- reading the request ----------------------------------------------------------------------------------


def _bad(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


def clean_query(raw: str | None) -> str:
    """The query as searched: control characters dropped, whitespace collapsed, at most MAX_QUERY_CHARS."""
    if not raw:
        return ""
    text = "".join(char if char.isprintable() else " " for char in raw)
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        cut = text[:MAX_QUERY_CHARS]
        text = cut.rsplit(" ", 1)[0] if " " in cut[MAX_QUERY_CHARS // 2 :] else cut
    return text


def parse_mode(raw: str | None) -> str:
    if raw is None or raw == "":
        return "hybrid"
    if raw not in MODES:
        raise _bad(f"mode must be one of {', '.join(MODES)}")
    return raw


def parse_int(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    try:
        number = int(raw)
    except ValueError:
        raise _bad(f"{name} must be an integer") from None
    if not low <= number <= high:
        raise _bad(f"{name} must be between {low} and {high}")
    return number


def _parse_date(raw: str | None, name: str) -> date | None:
    if raw is None or raw.strip() == "":
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
        raise _bad(f"{name} must be a date, YYYY-MM-DD")
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise _bad(f"{name} must be a real date, YYYY-MM-DD") from None


def parse_filters(request: Request) -> SearchFilters:
    params = request.query_params
    published_from = _parse_date(params.get("from"), "from")
    published_to = _parse_date(params.get("to"), "to")
    if published_from and published_to and published_from > published_to:
        raise _bad("from must not be after to")
    categories: list[str] = []
    for value in params.getlist("category"):
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not _CATEGORY.match(part):
                raise _bad("category must be an arXiv category such as cs.CL or hep-th")
            if part not in categories:
                categories.append(part)
    if len(categories) > MAX_CATEGORIES:
        raise _bad(f"at most {MAX_CATEGORIES} categories")
    daily = (params.get("daily") or "").strip().lower()
    if daily not in ("", "0", "1", "true", "false", "on", "off", "yes", "no"):
        raise _bad("daily must be 1 or 0")
    return SearchFilters(
        published_from=published_from,
        published_to=published_to,
        categories=tuple(categories),
        daily_only=daily in ("1", "true", "on", "yes"),
    )


# -- running a search -------------------------------------------------------------------------------------


def service_of(request: Request) -> SearchService:
    try:
        return request.app.state.search.get()
    except SearchUnavailable as exc:
        raise HTTPException(503, f"{exc}; an administrator can run `dailypapers index build`") from None


def run_search(
    request: Request, query: str, mode: str, filters: SearchFilters, offset: int, limit: int
) -> list[Hit]:
    service = service_of(request)
    try:
        return service.search(query, mode=mode, filters=filters, offset=offset, limit=limit)
    except InvalidQuery as exc:
        raise _bad(str(exc) or "this query cannot be searched") from None
    except Exception:
        # Queries never reach an engine's parser (see search.query), so this is an outage (an index missing
        # or broken), not the reader's doing. An engine's own words (a path, a complaint) are not shown.
        log.exception("search failed for mode=%s query=%r", mode, query[:200])
        raise HTTPException(503, "search failed; it has been logged") from None


@dataclass(slots=True)
class Result:
    view: PaperView
    hit: Hit
    title: list[dict[str, str]]
    summary: list[dict[str, str]]

    @property
    def snippet(self) -> list[dict[str, str]]:
        return highlight.excerpt(self.summary)


def results(store, hits: list[Hit], query: str) -> list[Result]:
    views = {v.id: v for v in store.get_many([h.paper_id for h in hits])}
    terms = highlight.parse_terms(query)
    out = []
    for hit in hits:
        view = views.get(hit.paper_id)
        if view is None:  # deleted since it was indexed
            continue
        out.append(
            Result(view, hit, highlight.segments(view.title, terms), highlight.segments(view.abstract, terms))
        )
    return out


def _hit_json(hit: Hit) -> dict[str, Any]:
    return {"score": hit.score, "keywordRank": hit.keyword_rank, "semanticRank": hit.semantic_rank}


def card_json(view: PaperView) -> dict[str, Any]:
    item = hf_shapes.daily_item(view)
    item["day"] = view.day.isoformat() if view.day else None
    item["isTopOfDay"] = view.rank == 1
    item["url"] = f"/papers/{view.arxiv_id}"
    item["categories"] = view.categories
    return item


# -- the HF-compatible API --------------------------------------------------------------------------------


@router.get(
    "/api/papers/search",
    operation_id="search_papers",
    summary="Search papers (Hugging Face's contract): daily items with highlightedTitle/highlightedSummary.",
    description=(
        "`q` is cut to its first 1,000 characters (Hugging Face allows 250; we accept pasted abstracts). "
        "Without `q`, the most recent papers. `mode` is `keyword`, `semantic` or `hybrid` (default). "
        "The filters of `/search` (`from`, `to`, `category`, `daily`) apply here too."
    ),
    response_class=JSONResponse,
)
def api_search(
    request: Request,
    store: StoreDep,
    q: str | None = None,
    limit: str | None = None,
    mode: str | None = None,
    p: str | None = None,
):
    size = parse_int(limit, "limit", 1, API_LIMIT_MAX, API_LIMIT_DEFAULT)
    page = parse_int(p, "p", 0, 10_000, 0)
    chosen = parse_mode(mode)
    filters = parse_filters(request)
    query = clean_query(q)
    if not query:
        # `list_papers()` without a query sends no `q`: the newest papers, like Hugging Face.
        views = store.feed(None, offset=page * size, limit=size)
        voted = upvoted_ids(request, views) or set()
        return JSONResponse([_api_item(v, [], None, v.id in voted) for v in views])
    if page * size + size > MAX_PAGE * PAGE_SIZE:
        return JSONResponse([])
    hits = run_search(request, query, chosen, filters, page * size, size)
    found = results(store, hits, query)
    voted = upvoted_ids(request, [r.view for r in found]) or set()
    return JSONResponse([_api_item(r.view, (r.title, r.summary), r.hit, r.view.id in voted) for r in found])


def _api_item(view: PaperView, marked, hit: Hit | None, upvoted: bool = False) -> dict[str, Any]:
    if marked:
        title, summary = marked
    else:
        title, summary = highlight.segments(view.title, []), highlight.segments(view.abstract, [])
    item = hf_shapes.search_item(view, title, summary, upvoted)
    if hit is not None:
        item["search"] = _hit_json(hit)
    return item


@router.get(
    "/api/papers/{arxiv_id:path}/similar",
    operation_id="similar_papers",
    summary="Papers closest in meaning to this one (by their embeddings), as daily items.",
    response_class=JSONResponse,
)
def api_similar(arxiv_id: str, request: Request, store: StoreDep, limit: str | None = None):
    size = parse_int(limit, "limit", 1, SIMILAR_LIMIT_MAX, SIMILAR_LIMIT_DEFAULT)
    view = _paper_or_404(store, arxiv_id)
    service = service_of(request)
    try:
        hits = service.similar(view.id, limit=size)
    except Exception:
        log.exception("similar failed for %s", view.arxiv_id)
        raise HTTPException(503, "similar papers are not available right now") from None
    found = {v.id: v for v in store.get_many([h.paper_id for h in hits])}
    body = []
    for hit in hits:
        if hit.paper_id in found and hit.paper_id != view.id:
            item = hf_shapes.daily_item(found[hit.paper_id])
            item["search"] = _hit_json(hit)
            body.append(item)
    return JSONResponse(body)


def _paper_or_404(store, arxiv_id: str) -> PaperView:
    try:
        key = arxiv_ids.normalize(arxiv_id)
    except arxiv_ids.InvalidArxivId:
        raise HTTPException(404, "Paper not found") from None
    view = store.get(key)
    if view is None:
        raise HTTPException(404, "Paper not found")
    return view


def similar_views(request: Request, store, view: PaperView, limit: int = SIMILAR_ON_PAGE) -> list[PaperView]:
    """The similar papers shown on a paper page; an empty list (never an error) when search is not ready.

    Only for papers already embedded: a page view must not load the embedding model to embed one.
    """
    try:
        if not SqlEmbeddings(store.engine).has_any(view.id):
            return []
        hits = request.app.state.search.get().similar(view.id, limit=limit)
        return [v for v in store.get_many([h.paper_id for h in hits]) if v.id != view.id]
    except Exception:
        log.warning("no similar papers for %s", view.arxiv_id, exc_info=True)
        return []


# -- the search page --------------------------------------------------------------------------------------


@pages_router.get("/search")
@pages_router.get("/search.json")
def search_page(request: Request, store: StoreDep):
    fmt = "json" if request.url.path.endswith(".json") else "html"
    params = request.query_params
    query = clean_query(params.get("q"))
    context: dict[str, Any] = {
        "search_query": query,
        "mode": "hybrid",
        "modes": MODES,
        "filters": SearchFilters(),
        "results": [],
        "page": 0,
        "page_size": PAGE_SIZE,
        "has_more": False,
        "error": None,
    }
    try:
        mode = parse_mode(params.get("mode"))
        context["mode"] = mode
        page = parse_int(params.get("p"), "p", 0, MAX_PAGE - 1, 0)
        context["page"] = page
        filters = parse_filters(request)
        context["filters"] = filters
        if query:
            hits = run_search(request, query, mode, filters, page * PAGE_SIZE, PAGE_SIZE + 1)
            context["has_more"] = len(hits) > PAGE_SIZE
            context["results"] = results(store, hits[:PAGE_SIZE], query)
    except HTTPException as exc:
        if fmt == "json" or exc.status_code != 400:
            raise
        # The page keeps its form, so the reader can fix the query in place.
        context["error"] = exc.detail
        return _render_page(request, context, status=400)
    if fmt == "json":
        return JSONResponse(_page_json(context))
    return _render_page(request, context)


def _page_json(context: dict[str, Any]) -> dict[str, Any]:
    filters: SearchFilters = context["filters"]
    offset = context["page"] * PAGE_SIZE
    return {
        "query": context["search_query"],
        "mode": context["mode"],
        "filters": {
            "from": filters.published_from.isoformat() if filters.published_from else None,
            "to": filters.published_to.isoformat() if filters.published_to else None,
            "categories": list(filters.categories),
            "daily": filters.daily_only,
        },
        "page": context["page"],
        "pageSize": PAGE_SIZE,
        "offset": offset,
        "count": len(context["results"]),
        "hasMore": context["has_more"],
        "papers": [
            {
                **card_json(r.view),
                "highlightedTitle": r.title,
                "highlightedSummary": r.summary,
                "search": _hit_json(r.hit),
            }
            for r in context["results"]
        ],
    }


def page_url(context: dict[str, Any], **changes: Any) -> str:
    """The address of this search with some parameters changed (mode, page)."""
    filters: SearchFilters = context["filters"]
    params: dict[str, Any] = {"q": context["search_query"], "mode": context["mode"]}
    if filters.categories:
        params["category"] = ",".join(filters.categories)
    if filters.published_from:
        params["from"] = filters.published_from.isoformat()
    if filters.published_to:
        params["to"] = filters.published_to.isoformat()
    if filters.daily_only:
        params["daily"] = "1"
    params.update(changes)
    if params.get("p") in (0, "0"):
        params.pop("p")
    return "/search?" + urlencode(params)


def _render_page(request: Request, context: dict[str, Any], status: int = 200):
    context = dict(context)
    context["page_url"] = lambda **changes: page_url(context, **changes)
    context["json_url"] = page_url(context, p=context["page"]).replace("/search?", "/search.json?", 1)
    return request.app.state.templates.TemplateResponse(request, "search.html", context, status_code=status)
