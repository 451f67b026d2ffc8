"""HTML pages, each with a JSON twin at the same path plus `.json`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from dailypapers import arxiv_ids, hf_shapes, periods
from dailypapers import trending as trend
from dailypapers.papers import PaperView
from dailypapers.web import api, community, search
from dailypapers.web.deps import StoreDep
from dailypapers.web.responses import JSONResponse

router = APIRouter(include_in_schema=False)


def _split(value: str) -> tuple[str, str]:
    """`2026-08-21.json` -> (`2026-08-21`, `json`); no suffix -> `html`."""
    for suffix in ("json", "md"):
        if value.endswith("." + suffix):
            return value[: -len(suffix) - 1], suffix
    return value, "html"


def _page_number(request: Request) -> int:
    raw = request.query_params.get("p", "0")
    try:
        number = int(raw)
    except ValueError:
        raise HTTPException(400, "p must be an integer") from None
    if not 0 <= number <= api.MAX_PAGE:
        raise HTTPException(400, f"p must be between 0 and {api.MAX_PAGE}")
    return number


def _render(request: Request, fmt: str, template: str, context: dict, json_body: dict | Callable[[], dict]):
    """The HTML page, or its JSON twin; a callable body is built only when the twin is asked for."""
    if fmt == "json":
        return JSONResponse(json_body() if callable(json_body) else json_body)
    if fmt != "html":
        raise HTTPException(404, "Not found")
    return request.app.state.templates.TemplateResponse(request, template, context)


def _period_url(period: periods.Period) -> str:
    return f"/papers/{period.kind}/{period.key}"


def _feed_page(request: Request, store, period: periods.Period, fmt: str, *, home: bool = False):
    size = request.app.state.settings.page_size
    page = _page_number(request)
    views = store.feed(period, offset=page * size, limit=size + 1)
    has_more = len(views) > size
    views = views[:size]
    if period.kind == "date":
        before, after = store.neighbour_days(period.start)
        previous = periods.day(before) if before else None
        following = periods.day(after) if after else None
    else:
        first, last = store.feed_bounds()
        previous = period.previous() if first and period.previous().end > first else None
        following = period.next() if last and period.next().start <= last else None
    if period.kind == "date":
        for index, view in enumerate(views):
            view.rank = page * size + index + 1
    context = {
        "period": period,
        "papers": views,
        "previous": previous,
        "next": following,
        "previous_url": _period_url(previous) if previous else None,
        "next_url": _period_url(following) if following else None,
        "page": page,
        "has_more": has_more,
        "home": home,
        "week_url": _period_url(periods.week_of(period.start)),
        "month_url": _period_url(periods.month_of(period.start)),
        "day_url": _period_url(periods.day(period.start)),
    }

    def body() -> dict:
        return {
            "period": {
                "kind": period.kind,
                "key": period.key,
                "label": period.label,
                "start": period.start.isoformat(),
                "end": period.end.isoformat(),
            },
            "previous": context["previous_url"],
            "next": context["next_url"],
            "page": page,
            "hasMore": has_more,
            "papers": [_card_json(v) for v in views],
        }

    return _render(request, fmt, "feed.html", context, body)


def _card_json(view: PaperView) -> dict:
    item = hf_shapes.daily_item(view)
    item["day"] = view.day.isoformat() if view.day else None
    item["isTopOfDay"] = view.rank == 1
    item["url"] = f"/papers/{view.arxiv_id}"
    return item


@router.get("/")
@router.get("/index.json")
def home(request: Request, store: StoreDep):
    fmt = "json" if request.url.path.endswith(".json") else "html"
    latest = store.latest_day()
    if latest is None:
        body = {"period": None, "papers": [], "previous": None, "next": None}
        return _render(request, fmt, "empty.html", {}, body)
    return _feed_page(request, store, periods.day(latest), fmt, home=True)


@router.get("/papers")
def papers_index() -> RedirectResponse:
    return RedirectResponse("/", status_code=308)


@router.get("/papers/date/{value}")
def by_date(value: str, request: Request, store: StoreDep):
    key, fmt = _split(value)
    return _feed_page(request, store, _period_or_404("date", key), fmt)


@router.get("/papers/week/{value}")
def by_week(value: str, request: Request, store: StoreDep):
    key, fmt = _split(value)
    return _feed_page(request, store, _period_or_404("week", key), fmt)


@router.get("/papers/month/{value}")
def by_month(value: str, request: Request, store: StoreDep):
    key, fmt = _split(value)
    return _feed_page(request, store, _period_or_404("month", key), fmt)


def _period_or_404(kind: periods.Kind, key: str) -> periods.Period:
    try:
        return periods.parse(kind, key)
    except periods.InvalidPeriod as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/papers/trending")
@router.get("/papers/trending.json")
def trending(request: Request, store: StoreDep):
    fmt = "json" if request.url.path.endswith(".json") else "html"
    settings = request.app.state.settings
    size = settings.trending_limit
    page = _page_number(request)
    views = store.trending(offset=page * size, limit=size)
    now = datetime.now(UTC)
    scores = {v.id: trend.score_at(v.trend_key, now, settings.trending_half_life_hours) for v in views}
    context = {
        "papers": views,
        "scores": scores,
        "page": page,
        "has_more": len(views) == size,
        "half_life": settings.trending_half_life_hours,
    }

    def body() -> dict:
        return {
            "halfLifeHours": settings.trending_half_life_hours,
            "page": page,
            "papers": [{**_card_json(v), "trendingScore": scores[v.id]} for v in views],
        }

    return _render(request, fmt, "trending.html", context, body)


@router.get("/papers/{value:path}")
def paper_page(value: str, request: Request, store: StoreDep):
    key, fmt = _split(value)
    if fmt == "md":
        return api.paper_markdown(request, key, store)
    try:
        arxiv_id, _version = arxiv_ids.parse(key)
    except arxiv_ids.InvalidArxivId:
        raise HTTPException(404, "No such paper: that is not an arXiv id") from None
    view = store.get(arxiv_id)
    if view is None:
        raise HTTPException(404, f"Paper {arxiv_id} is not here")
    day: date | None = view.day
    similar = search.similar_views(request, store, view)
    context = {"paper": view, "day_url": _period_url(periods.day(day)) if day else None, "similar": similar}
    if fmt == "html":
        context.update(community.paper_extras(request, view))
    voted = community.upvoted_ids(request, [view])
    body = hf_shapes.paper_detail(view, None if voted is None else view.id in voted)
    if similar:  # only when search is up: the twin is otherwise exactly `GET /api/papers/{id}`
        body["similarPapers"] = [_card_json(v) for v in similar]
    return _render(request, fmt, "paper.html", context, body)
