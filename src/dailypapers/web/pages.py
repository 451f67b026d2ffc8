"""HTML pages, each with a JSON twin at the same path plus `.json`.

A twin is a route of its own, registered before its page (whose path would match it too), so that it is in
`/openapi.json` with its shape; both call the same view function.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse

from dailypapers import arxiv_ids, hf_shapes, periods
from dailypapers import trending as trend
from dailypapers.papers import PaperView
from dailypapers.web import api, citations, collections, community, search, shapes, trends
from dailypapers.web.deps import SettingsDep, StoreDep
from dailypapers.web.openapi import errors
from dailypapers.web.params import Page
from dailypapers.web.responses import JSONResponse, MarkdownResponse

router = APIRouter()
HTML = {"include_in_schema": False}
TWIN = {"response_class": JSONResponse, "tags": ["pages"]}


def _render(request: Request, fmt: str, template: str, context: dict, json_body: dict | Callable[[], dict]):
    """The HTML page, or its JSON twin; a callable body is built only when the twin is asked for."""
    if fmt == "json":
        return JSONResponse(json_body() if callable(json_body) else json_body)
    if fmt != "html":
        raise HTTPException(404, "Not found")
    return request.app.state.templates.TemplateResponse(request, template, context)


def _period_url(period: periods.Period) -> str:
    return f"/papers/{period.kind}/{period.key}"


def _feed_page(
    request: Request, store, size: int, page: int, period: periods.Period, fmt: str, *, home: bool = False
):
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


# -- the home page: the latest day ------------------------------------------------------------------


def _home(request: Request, store, settings, page: int, fmt: str):
    latest = store.latest_day()
    if latest is None:
        body = {"period": None, "previous": None, "next": None, "page": page, "hasMore": False, "papers": []}
        return _render(request, fmt, "empty.html", {}, body)
    return _feed_page(request, store, settings.page_size, page, periods.day(latest), fmt, home=True)


@router.get(
    "/index.json",
    operation_id="home_json",
    summary="The home page's twin: the latest day with papers (`period` null while the site is empty).",
    response_model=shapes.FeedPage,
    responses=errors(400),
    **TWIN,
)
def home_json(request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _home(request, store, settings, page, "json")


@router.get("/", **HTML)
def home(request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _home(request, store, settings, page, "html")


@router.get("/papers", **HTML)
def papers_index() -> RedirectResponse:
    return RedirectResponse("/", status_code=308)


# -- days, weeks, months ----------------------------------------------------------------------------


def _period_page(request: Request, store, settings, page: int, kind: periods.Kind, value: str, fmt: str):
    return _feed_page(request, store, settings.page_size, page, _period_or_404(kind, value), fmt)


def _period_or_404(kind: periods.Kind, key: str) -> periods.Period:
    try:
        return periods.parse(kind, key)
    except periods.InvalidPeriod as exc:
        raise HTTPException(404, str(exc)) from None


@router.get(
    "/papers/date/{day}.json",
    operation_id="day_json",
    summary="One day of the feed (`YYYY-MM-DD`), ranked by upvotes; previous/next skip empty days.",
    response_model=shapes.FeedPage,
    responses=errors(400, 404),
    **TWIN,
)
def by_date_json(day: str, request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _period_page(request, store, settings, page, "date", day, "json")


@router.get(
    "/papers/week/{week}.json",
    operation_id="week_json",
    summary="An ISO week of the feed (`YYYY-Www`), ranked by upvotes.",
    response_model=shapes.FeedPage,
    responses=errors(400, 404),
    **TWIN,
)
def by_week_json(week: str, request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _period_page(request, store, settings, page, "week", week, "json")


@router.get(
    "/papers/month/{month}.json",
    operation_id="month_json",
    summary="A month of the feed (`YYYY-MM`), ranked by upvotes.",
    response_model=shapes.FeedPage,
    responses=errors(400, 404),
    **TWIN,
)
def by_month_json(month: str, request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _period_page(request, store, settings, page, "month", month, "json")


@router.get("/papers/date/{value}", **HTML)
def by_date(value: str, request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _period_page(request, store, settings, page, "date", value, "html")


@router.get("/papers/week/{value}", **HTML)
def by_week(value: str, request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _period_page(request, store, settings, page, "week", value, "html")


@router.get("/papers/month/{value}", **HTML)
def by_month(value: str, request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _period_page(request, store, settings, page, "month", value, "html")


# -- trending ---------------------------------------------------------------------------------------


def _trending(request: Request, store, settings, page: int, fmt: str):
    size = settings.trending_limit
    views = store.trending(offset=page * size, limit=size)
    now = datetime.now(UTC)
    half_life = settings.trending_half_life_hours
    scores = {v.id: trend.score_at(v.trend_key, now, half_life) for v in views}
    # Why each score is what it is: the upvotes of the last half-life, which weigh at least half each.
    recent = request.app.state.community.recent_upvotes(
        [v.id for v in views], now - timedelta(hours=half_life)
    )
    context = {
        "papers": views,
        "scores": scores,
        "recent": recent,
        "window": _hours_label(half_life),
        "page": page,
        "has_more": len(views) == size,
        "half_life": half_life,
    }

    def body() -> dict:
        return {
            "halfLifeHours": half_life,
            "page": page,
            "papers": [
                {**_card_json(v), "trendingScore": scores[v.id], "recentUpvotes": recent.get(v.id, 0)}
                for v in views
            ],
        }

    return _render(request, fmt, "trending.html", context, body)


def _hours_label(hours: float) -> str:
    """ "2 days", "36 hours": a span of hours as people say it."""
    if hours >= 24 and hours % 24 == 0:
        days = int(hours // 24)
        return "day" if days == 1 else f"{days} days"
    return f"{hours:g} hours" if hours != 1 else "hour"


@router.get(
    "/papers/trending.json",
    operation_id="trending_json",
    summary="Papers gaining upvotes now, with their time-decayed scores.",
    response_model=shapes.TrendingPage,
    responses=errors(400),
    **TWIN,
)
def trending_json(request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _trending(request, store, settings, page, "json")


@router.get("/papers/trending", **HTML)
def trending(request: Request, store: StoreDep, settings: SettingsDep, page: Page):
    return _trending(request, store, settings, page, "html")


# -- a paper ----------------------------------------------------------------------------------------


def _paper(request: Request, store, value: str, fmt: str):
    try:
        arxiv_id, _version = arxiv_ids.parse(value)
    except arxiv_ids.InvalidArxivId:
        raise HTTPException(404, "No such paper: that is not an arXiv id") from None
    view = store.get(arxiv_id)
    if view is None:
        raise HTTPException(404, f"Paper {arxiv_id} is not here")
    day: date | None = view.day
    similar = search.similar_views(request, store, view)
    context = {"paper": view, "day_url": _period_url(periods.day(day)) if day else None, "similar": similar}
    held = collections.paper_extras(request, view)
    if fmt == "html":
        context.update(community.paper_extras(request, view))
        context.update(held)
        context["momentum"] = trends.momentum(request, view)
        settings = request.app.state.settings
        page_url = f"{settings.base_url}/papers/{view.arxiv_id}"
        context.update(
            page_url=page_url,
            meta_tags=citations.citation_meta(view, page_url, settings.site_name),
            bibtex=citations.bibtex(view),
        )
    voted = community.upvoted_ids(request, [view])
    body = hf_shapes.paper_detail(view, None if voted is None else view.id in voted)
    body.update(collections.paper_extras_json(held))
    if similar:  # only when search is up
        body["similarPapers"] = [_card_json(v) for v in similar]
    return _render(request, fmt, "paper.html", context, body)


def render_paper(request: Request, value: str, status: int = 200):
    """The paper page with another status: a form on it that failed shows its message in place."""
    response = _paper(request, request.app.state.store, value, "html")
    response.status_code = status
    return response


@router.get(
    "/papers/{arxiv_id:path}.json",
    operation_id="paper_json",
    summary="A paper page's twin: `GET /api/papers/{id}`, the public collections that hold it, and its "
    "similar papers once search is up.",
    response_model=shapes.PaperPage,
    responses=errors(404),
    **TWIN,
)
def paper_json(arxiv_id: str, request: Request, store: StoreDep):
    return _paper(request, store, arxiv_id, "json")


@router.get(
    "/papers/{arxiv_id:path}.md",
    operation_id="paper_markdown",
    summary="A paper as Markdown.",
    response_class=MarkdownResponse,
    responses=errors(404),
    tags=["pages"],
)
def paper_md(arxiv_id: str, store: StoreDep, settings: SettingsDep):
    return api.paper_markdown(arxiv_id, store, settings.base_url)


@router.get("/papers/{value:path}", **HTML)
def paper_page(value: str, request: Request, store: StoreDep):
    return _paper(request, store, value, "html")
