"""Search on the web: the `/search` page and its JSON twin, `GET /api/papers/search` (Hugging Face's
contract), `GET /api/papers/{id}/similar`, and the similar papers of a paper page.

The search service is built once per process (`LazySearch`), while the server starts
(`DAILYPAPERS_SEARCH_WARMUP`: the model and both indexes loaded, one query run, before the first request),
or else on first use. Whatever a query holds, the answer is results or a
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
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import WithJsonSchema

from dailypapers import hf_shapes, highlight
from dailypapers.papers import PaperView
from dailypapers.search import explain
from dailypapers.search.types import MAX_QUERY_CHARS, MODES, Hit, InvalidQuery, SearchFilters, SearchService
from dailypapers.store.embeddings import SqlEmbeddings
from dailypapers.web import params, shapes
from dailypapers.web.community import upvoted_ids
from dailypapers.web.deps import SearchDep, StoreDep
from dailypapers.web.openapi import BEARER, errors, reads
from dailypapers.web.responses import JSONResponse
from dailypapers.web.trends import trend_link

log = logging.getLogger(__name__)

router = APIRouter()  # the API routes: registered before `/api/papers/{arxiv_id:path}` catches them
pages_router = APIRouter()  # the page and its twin

PAGE_SIZE = 20
MAX_PAGE = 50  # 1,000 results deep is as far as anyone pages a ranking
API_LIMIT_DEFAULT = 50
API_LIMIT_MAX = 120  # as on Hugging Face
SIMILAR_LIMIT_DEFAULT = 10
SIMILAR_LIMIT_MAX = 100
SIMILAR_ON_PAGE = 6
MAX_CATEGORIES = 10
API_MAX_PAGE = 10_000
# The keyword index keeps publication times in nanoseconds since 1970 (64 bits): a filter date outside
# these years cannot be asked of it. (Papers are from 1991 on.)
FILTER_DATES = (date(1678, 1, 1), date(2261, 12, 31))
DAILY_VALUES = ("", "0", "1", "true", "false", "on", "off", "yes", "no")
_CATEGORY = re.compile(r"^[a-z][a-z-]{0,15}(\.[A-Za-z][A-Za-z-]{0,15})?$")
RETRY_AFTER_FAILURE_S = 30.0
SORTS = ("relevance", "newest", "upvotes")
# Results counted (the total a search page shows) and ordered by the other sorts: the hybrid ranking's own
# candidates from each list (search.service.FUSION_CANDIDATES; a test checks they agree), so asking for them
# changes no ranking. (The service module loads the model's libraries: not imported here.)
POOL = 200
WARMUP_QUERY = "learning"


class SearchUnavailable(RuntimeError):
    """The search indexes could not be opened (not built yet, or broken): a 503, not the user's fault."""


class LazySearch:
    """Builds the search service on first use, once, and shares it between requests."""

    def __init__(self, factory: Callable[[], SearchService]) -> None:
        self._factory = factory
        self._service: SearchService | None = None
        self._lock = threading.Lock()
        self._failed_at: float | None = None
        self._warm = False

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

    def warm(self) -> bool:
        """Open the service and run one query of each kind, so that the model and both indexes are loaded
        before the first reader's search; False (logged) when search cannot be opened."""
        if self._warm:
            return True
        try:
            service = self.get()
            service.search(WARMUP_QUERY, mode="hybrid", limit=1)
        except Exception:
            log.warning("search could not be warmed up; the first search will load it", exc_info=True)
            with self._lock:
                self._failed_at = None  # the first search tries again rather than waiting out the pause
            return False
        self._warm = True
        return True

    def close(self) -> None:
        close = getattr(self._service, "close", None)
        if callable(close):
            close()


def default_factory(settings, engine) -> Callable[[], SearchService]:
    def build() -> SearchService:
        from dailypapers.search.service import build_search

        # One thread per query embedding: concurrent requests each get one, instead of every request
        # fighting over all the cores (torch's default) while the others wait.
        service = build_search(settings.model_copy(update={"embedding_threads": 1}), engine)
        # New papers (imports, ingestion) are caught up off the request path.
        start = getattr(service, "start_background_refresh", None)
        if callable(start):
            start()
        return service

    return build


# -- reading the request ----------------------------------------------------------------------------------


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
        raise params.bad_request(f"mode must be one of {', '.join(MODES)}")
    return raw


def parse_filters(
    published_from_raw: str | None, published_to_raw: str | None, category: list[str], daily_raw: str | None
) -> SearchFilters:
    """The filters of a search (the `from`, `to`, `category` and `daily` parameters); 400 when one is bad."""
    published_from = params.date(published_from_raw, "from")
    published_to = params.date(published_to_raw, "to")
    for name, value in (("from", published_from), ("to", published_to)):
        if value is not None and not FILTER_DATES[0] <= value <= FILTER_DATES[1]:
            first, last = FILTER_DATES
            raise params.bad_request(f"{name} must be between {first.isoformat()} and {last.isoformat()}")
    if published_from and published_to and published_from > published_to:
        raise params.bad_request("from must not be after to")
    categories: list[str] = []
    for value in category:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not _CATEGORY.match(part):
                raise params.bad_request("category must be an arXiv category such as cs.CL or hep-th")
            if part not in categories:
                categories.append(part)
    if len(categories) > MAX_CATEGORIES:
        raise params.bad_request(f"at most {MAX_CATEGORIES} categories")
    daily = (daily_raw or "").lower()
    if daily not in DAILY_VALUES:
        raise params.bad_request("daily must be 1 or 0")
    return SearchFilters(
        published_from=published_from,
        published_to=published_to,
        categories=tuple(categories),
        daily_only=daily in ("1", "true", "on", "yes"),
    )


def _request_filters(request: Request) -> SearchFilters:
    query = request.query_params
    return parse_filters(query.get("from"), query.get("to"), query.getlist("category"), query.get("daily"))


# A day, or blank for none (the search form sends its empty fields).
DATE_OR_BLANK = WithJsonSchema({"type": "string", "anyOf": [{"format": "date"}, {"maxLength": 0}]})
ModeQuery = Annotated[
    str | None,
    Query(description="`keyword`, `semantic` or `hybrid` (the default, also when empty)."),
    WithJsonSchema({"type": "string", "enum": [*MODES, ""], "default": "hybrid"}),
]
SortQuery = Annotated[
    str | None,
    Query(
        description="`relevance` (the default), `newest` (published) or `upvotes`: the other orders sort the "
        f"first {POOL} results of the ranking."
    ),
    WithJsonSchema({"type": "string", "enum": [*SORTS, ""], "default": "relevance"}),
]
QueryText = Annotated[
    str | None,
    Query(description=f"The query; cut to its first {MAX_QUERY_CHARS:,} characters."),
]


async def filters_query(
    published_from: Annotated[
        str | None,
        Query(alias="from", description="Published on or after this day."),
        DATE_OR_BLANK,
    ] = None,
    published_to: Annotated[
        str | None,
        Query(alias="to", description="Published on or before this day."),
        DATE_OR_BLANK,
    ] = None,
    category: Annotated[
        list[str],
        Query(
            description=f"arXiv categories such as cs.CL (repeat, or separate by commas; at most "
            f"{MAX_CATEGORIES})."
        ),
    ] = [],  # noqa: B006 (FastAPI copies a list default)
    daily: Annotated[
        str | None,
        Query(description="`1`: only papers that were on the daily feed."),
        WithJsonSchema({"type": "string", "enum": list(DAILY_VALUES)}),
    ] = None,
) -> SearchFilters:
    """The filters as query parameters of a route in the schema."""
    return parse_filters(published_from, published_to, category, daily)


FiltersQuery = Annotated[SearchFilters, Depends(filters_query)]


# -- running a search -------------------------------------------------------------------------------------


def service_of(search) -> SearchService:
    try:
        return search.get()
    except SearchUnavailable as exc:
        raise HTTPException(503, f"{exc}; an administrator can run `dailypapers index build`") from None


# Searches running at once in one process. A search is CPU-bound (embedding the query, the engines): with
# 32 at once on 2 cores each took 32 ms of CPU against 11 ms alone (threads fighting over the GIL and
# torch), so throughput halved; the others queue here and start the moment one ends.
SEARCH_SLOTS = threading.BoundedSemaphore(2)


def run_search(search, query: str, mode: str, filters: SearchFilters, offset: int, limit: int) -> list[Hit]:
    service = service_of(search)
    try:
        with SEARCH_SLOTS:
            return service.search(query, mode=mode, filters=filters, offset=offset, limit=limit)
    except InvalidQuery as exc:
        raise params.bad_request(str(exc) or "this query cannot be searched") from None
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
    query: str = ""

    @property
    def snippet(self) -> list[dict[str, str]]:
        return highlight.excerpt(self.summary)

    @property
    def reasons(self) -> list[explain.Reason]:
        """Why this paper is in the results: where the words are, the topic as a unit, by meaning."""
        return explain.reasons(
            self.query,
            title=self.view.title,
            abstract=self.view.abstract,
            authors=self.view.authors,
            key_phrases=self.view.ai_keywords or (),
            keyword=self.hit.keyword_rank is not None,
            semantic=self.hit.semantic_rank is not None,
            expansions=self.hit.extra.get("expansions", ()),
        )

    @property
    def why(self) -> str:
        """The reasons in one line ("“chain of thought” in the abstract; close in meaning")."""
        return explain.sentence(self.reasons)


def results(store, hits: list[Hit], query: str, views: list[PaperView] | None = None) -> list[Result]:
    """The hits with their papers (`views`, when the caller has them already) and the query marked."""
    found = {v.id: v for v in (views if views is not None else store.get_many([h.paper_id for h in hits]))}
    terms = highlight.parse_terms(query)
    out = []
    for hit in hits:
        view = found.get(hit.paper_id)
        if view is None:  # deleted since it was indexed
            continue
        out.append(
            Result(
                view,
                hit,
                highlight.segments(view.title, terms),
                highlight.segments(view.abstract, terms),
                query,
            )
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
    response_model=list[shapes.SearchItem],
    responses=errors(400, 503),
    openapi_extra=reads(BEARER),
)
def api_search(
    request: Request,
    store: StoreDep,
    search: SearchDep,
    filters: FiltersQuery,
    size: Annotated[int, params.limit_query(API_LIMIT_MAX, API_LIMIT_DEFAULT, "Results")],
    page: Annotated[int, params.page_query(API_MAX_PAGE)],
    q: QueryText = None,
    mode: ModeQuery = None,
):
    chosen = parse_mode(mode)
    query = clean_query(q)
    if not query:
        # `list_papers()` without a query sends no `q`: the newest papers, like Hugging Face.
        views = store.feed(None, offset=page * size, limit=size)
        voted = upvoted_ids(request, views) or set()
        return JSONResponse([_api_item(v, [], None, v.id in voted) for v in views])
    if page * size + size > MAX_PAGE * PAGE_SIZE:
        return JSONResponse([])
    hits = run_search(search, query, chosen, filters, page * size, size)
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
    response_model=list[shapes.SimilarItem],
    responses=errors(400, 404, 503),
)
def api_similar(
    arxiv_id: str,
    store: StoreDep,
    search: SearchDep,
    size: Annotated[int, params.limit_query(SIMILAR_LIMIT_MAX, SIMILAR_LIMIT_DEFAULT, "Papers")],
):
    view = params.paper_or_404(store, arxiv_id)
    service = service_of(search)
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


def parse_sort(raw: str | None) -> str:
    if raw is None or raw == "":
        return "relevance"
    if raw not in SORTS:
        raise params.bad_request(f"sort must be one of {', '.join(SORTS)}")
    return raw


def _by(sort: str):
    """The order of a sort other than relevance: newest published first, or most upvoted; ties by
    relevance (the pool's order, kept by a stable sort)."""
    if sort == "newest":
        return lambda view: -(view.published_at.timestamp() if view.published_at else float("-inf"))
    return lambda view: -view.upvotes


def _run_page(
    store,
    search,
    query: str,
    mode: str,
    filters: SearchFilters,
    page: int,
    context: dict[str, Any],
    sort: str = "relevance",
) -> None:
    """The page's results. The first POOL results of the ranking are counted (the total shown) and are
    what the other sorts order; deeper pages of the ranking are asked for as they are."""
    context.update(mode=mode, page=page, filters=filters, sort=sort)
    if not query:
        return
    start = page * PAGE_SIZE
    if sort == "relevance" and start + PAGE_SIZE >= POOL:
        hits = run_search(search, query, mode, filters, start, PAGE_SIZE + 1)
        context["has_more"] = len(hits) > PAGE_SIZE
        context["results"] = results(store, hits[:PAGE_SIZE], query)
        return
    pool = run_search(search, query, mode, filters, 0, POOL)
    context["total"] = len(pool)
    context["more_than_total"] = len(pool) >= POOL
    if sort == "relevance":
        context["has_more"] = len(pool) > start + PAGE_SIZE
        context["results"] = results(store, pool[start : start + PAGE_SIZE], query)
        return
    views = sorted(store.get_many([h.paper_id for h in pool]), key=_by(sort))
    shown = views[start : start + PAGE_SIZE]
    order = {view.id: index for index, view in enumerate(shown)}
    hits = sorted((h for h in pool if h.paper_id in order), key=lambda h: order[h.paper_id])
    context["has_more"] = len(views) > start + PAGE_SIZE
    context["results"] = results(store, hits, query, shown)


def _context(query: str) -> dict[str, Any]:
    return {
        "search_query": query,
        "mode": "hybrid",
        "modes": MODES,
        "sort": "relevance",
        "sorts": SORTS,
        "filters": SearchFilters(),
        "results": [],
        "total": None,
        "more_than_total": False,
        "page": 0,
        "page_size": PAGE_SIZE,
        "has_more": False,
        "error": None,
    }


@pages_router.get(
    "/search.json",
    operation_id="search_page_json",
    summary="The search page's twin: 20 results a page, with highlights, scores and the filters applied.",
    response_class=JSONResponse,
    response_model=shapes.SearchPage,
    responses=errors(400, 503),
    tags=["pages"],
)
def search_page_json(
    store: StoreDep,
    search: SearchDep,
    filters: FiltersQuery,
    page: Annotated[int, params.page_query(MAX_PAGE - 1)],
    q: QueryText = None,
    mode: ModeQuery = None,
    sort: SortQuery = None,
):
    query = clean_query(q)
    context = _context(query)
    _run_page(store, search, query, parse_mode(mode), filters, page, context, parse_sort(sort))
    return JSONResponse(_page_json(context))


@pages_router.get("/search", include_in_schema=False)
def search_page(request: Request, store: StoreDep, search: SearchDep):
    query = request.query_params
    context = _context(clean_query(query.get("q")))
    try:
        mode = parse_mode(query.get("mode"))
        context["mode"] = mode
        sort = parse_sort(query.get("sort"))
        context["sort"] = sort
        page = params.query_integer(request, "p", 0, MAX_PAGE - 1, 0)
        context["page"] = page
        filters = _request_filters(request)
        _run_page(store, search, context["search_query"], mode, filters, page, context, sort)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        # The page keeps its form, so the reader can fix the query in place.
        context["error"] = exc.detail
        return _render_page(request, context, status=400)
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
        "sort": context["sort"],
        "page": context["page"],
        "pageSize": PAGE_SIZE,
        "offset": offset,
        "count": len(context["results"]),
        "total": context["total"],
        "moreThanTotal": context["more_than_total"],
        "hasMore": context["has_more"],
        "papers": [
            {
                **card_json(r.view),
                "highlightedTitle": r.title,
                "highlightedSummary": r.summary,
                "search": _hit_json(r.hit),
                "why": r.why,
                "whyMatched": [reason.to_json() for reason in r.reasons],
            }
            for r in context["results"]
        ],
    }


def page_url(context: dict[str, Any], **changes: Any) -> str:
    """The address of this search with some parameters changed (mode, page)."""
    filters: SearchFilters = context["filters"]
    params: dict[str, Any] = {"q": context["search_query"], "mode": context["mode"]}
    if context.get("sort", "relevance") != "relevance":
        params["sort"] = context["sort"]
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
    if params.get("sort") == "relevance":
        params.pop("sort")
    return "/search?" + urlencode(params)


def _render_page(request: Request, context: dict[str, Any], status: int = 200):
    context = dict(context)
    context["page_url"] = lambda **changes: page_url(context, **changes)
    context["json_url"] = page_url(context, p=context["page"]).replace("/search?", "/search.json?", 1)
    context["trend"] = trend_link(request, context["search_query"])  # "See the trend of ..."
    return request.app.state.templates.TemplateResponse(request, "search.html", context, status_code=status)
