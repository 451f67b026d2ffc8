"""`/trends` (rising key phrases and categories) and `/trends/{topic}` (one topic over time), with JSON twins.

The numbers come from one snapshot of the corpus (dailypapers.services.trends), the statistic from
dailypapers.trends.statistics (docs/trends.md works an example through). Charts are SVG drawn here
(web.charts), with their numbers in a table behind a toggle.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from dailypapers import periods
from dailypapers.papers import PaperView
from dailypapers.services.trends import Trends
from dailypapers.store.papers import SqlStore
from dailypapers.trends import statistics
from dailypapers.trends.snapshot import Rise, Series, Snapshot, Topic, week_of, week_start
from dailypapers.web import charts, shapes
from dailypapers.web.deps import StoreDep
from dailypapers.web.openapi import errors
from dailypapers.web.responses import JSONResponse

router = APIRouter()
HTML = {"include_in_schema": False}
TWIN = {"response_class": JSONResponse, "tags": ["trends"]}
PHRASES_SHOWN = 12
CATEGORIES_SHOWN = 8
MONTHS_OF_TOP_PAPERS = 12
NOT_FOUND = {
    404: {"model": shapes.TopicNotFound, "description": "No such key phrase or category (with suggestions)."}
}


def install(app) -> None:
    """The trends service (its snapshot is built on first use) and these routes."""
    from dailypapers.store.trends import SqlTrendFacts

    app.state.trends = Trends(SqlTrendFacts(app.state.store.engine))
    app.include_router(router)


def _trends(request: Request) -> Snapshot:
    return request.app.state.trends.snapshot()


def topic_url(topic: Topic | str) -> str:
    key = topic.key if isinstance(topic, Topic) else topic
    from urllib.parse import quote

    return f"/trends/{quote(key, safe='')}"


def _anchor(snapshot: Snapshot, week: str | None) -> int:
    if week is None or not week.strip():
        return snapshot.anchor
    try:
        period = periods.parse("week", week.strip())
    except periods.InvalidPeriod as exc:
        raise HTTPException(400, f"week: {exc}") from None
    anchor = week_of(period.start)
    if not snapshot.first_week <= anchor <= max(snapshot.anchor, week_of(snapshot.today)):
        raise HTTPException(
            400,
            f"week: the corpus runs from {_week_key(snapshot.first_week)} to {_week_key(snapshot.anchor)}",
        )
    return anchor


def _week_key(week: int) -> str:
    return periods.week_of(week_start(week)).key


def _series_json(series: Series) -> list[dict[str, Any]]:
    return [
        {"week": w.isoformat(), "papers": p, "upvotes": u, "allPapers": t}
        for w, p, u, t in zip(series.weeks, series.papers, series.upvotes, series.totals, strict=True)
    ]


def _paper_json(view: PaperView) -> dict[str, Any]:
    return {
        "id": view.arxiv_id,
        "title": view.title,
        "upvotes": view.upvotes,
        "publishedAt": view.published_at.date().isoformat() if view.published_at else None,
        "url": f"/papers/{view.arxiv_id}",
    }


def _rise_json(rise: Rise, papers: dict[int, PaperView]) -> dict[str, Any]:
    return {
        "kind": rise.topic.kind,
        "key": rise.topic.key,
        "url": topic_url(rise.topic),
        "papers": rise.window,
        "baselinePapers": rise.baseline,
        "expectedPapers": round(rise.expected, 2),
        "rise": round(rise.score, 3),
        "upvotes": rise.upvotes,
        "upvoteRise": None if rise.upvote_score is None else round(rise.upvote_score, 3),
        "weeks": _series_json(rise.series),
        "topPapers": [_paper_json(papers[i]) for i in rise.top if i in papers],
    }


def _kept(snapshot: Snapshot, key: tuple, make):
    """`make()` once per snapshot (charts and lists are the same until the corpus changes)."""
    if key not in snapshot.memo:
        if len(snapshot.memo) > 20_000:
            snapshot.memo.clear()
        snapshot.memo[key] = make()
    return snapshot.memo[key]


def _views(store: SqlStore, ids: list[int]) -> dict[int, PaperView]:
    return {v.id: v for v in store.get_many(sorted(set(ids)))} if ids else {}


def _times(score: float) -> str:
    """A log2 rise as people say it: "×2.4"."""
    return f"×{2**score:.1f}"


# -- /trends ------------------------------------------------------------------------------------------------


def _overview(request: Request, store: SqlStore, week: str | None, fmt: str):
    snapshot = _trends(request)
    anchor = _anchor(snapshot, week)
    sections = []
    for window in ("week", "month"):
        span = snapshot.span(window, anchor)  # type: ignore[arg-type]
        phrases = _kept(
            snapshot,
            ("rising", "phrase", window, anchor),
            lambda w=window: snapshot.rising("phrase", w, limit=PHRASES_SHOWN, anchor=anchor),
        )
        categories = _kept(
            snapshot,
            ("rising", "category", window, anchor),
            lambda w=window: snapshot.rising("category", w, limit=CATEGORIES_SHOWN, anchor=anchor),
        )
        sections.append((window, span, phrases, categories))
    ids = [i for _w, _s, ph, ca in sections for r in (*ph, *ca) for i in r.top]
    papers = _views(store, ids)
    if fmt == "json":
        return JSONResponse(
            {
                "week": _week_key(anchor),
                "latestWeek": _week_key(snapshot.anchor),
                "papersInCorpus": snapshot.papers,
                "statistic": _statistic_json(),
                "windows": {
                    window: {
                        "start": span.start.isoformat(),
                        "end": span.end.isoformat(),
                        "baselineStart": span.baseline_start.isoformat(),
                        "papers": int(snapshot._total(span.first, span.last)),
                        "baselinePapers": int(snapshot._total(span.baseline_first, span.baseline_last)),
                        "minimumPapers": span.minimum,
                        "phrases": [_rise_json(r, papers) for r in phrases],
                        "categories": [_rise_json(r, papers) for r in categories],
                    }
                    for window, span, phrases, categories in sections
                },
            }
        )
    charts_by_topic = {
        (window, r.topic.id): _kept(
            snapshot,
            ("spark", r.topic.id, span.last),
            lambda r=r, span=span: charts.sparkline(
                f"Papers a week with “{r.topic.key}”, 26 weeks to {span.last_day:%b %-d}", r.series.papers
            ),
        )
        for window, span, phrases, categories in sections
        for r in (*phrases, *categories)
    }
    previous_week = _week_key(anchor - 1) if anchor - 1 >= snapshot.first_week else None
    next_week = _week_key(anchor + 1) if anchor < snapshot.anchor else None
    return request.app.state.templates.TemplateResponse(
        request,
        "trends.html",
        {
            "snapshot": snapshot,
            "sections": sections,
            "papers": papers,
            "sparklines": charts_by_topic,
            "week_label": snapshot.week_label(anchor),
            "is_latest": anchor == snapshot.anchor,
            "week_key": _week_key(anchor),
            "previous_week": previous_week,
            "next_week": next_week,
            "topic_url": topic_url,
            "times": _times,
            "alpha": statistics.ALPHA,
        },
    )


def _statistic_json() -> dict[str, Any]:
    return {
        "formula": "rise = log2((c_W + a) / (c_B * n_W / n_B + a))",
        "alpha": statistics.ALPHA,
        "minimumWeek": statistics.MIN_WEEK,
        "minimumMonth": statistics.MIN_MONTH,
        "baselineWeeks": {"week": 8, "month": 12},
        "docs": "/trends#statistic",
    }


@router.get(
    "/trends.json",
    operation_id="trends_json",
    summary="Rising key phrases and categories of a week and of four weeks, against the weeks before.",
    response_model=shapes.TrendsPage,
    responses=errors(400),
    **TWIN,
)
def trends_json(request: Request, store: StoreDep, week: str | None = None):
    return _overview(request, store, week, "json")


@router.get("/trends", **HTML)
def trends_page(request: Request, store: StoreDep, week: str | None = None):
    return _overview(request, store, week, "html")


# -- /trends/{topic} ----------------------------------------------------------------------------------------


def _not_found(request: Request, snapshot: Snapshot, text: str, fmt: str) -> Response:
    suggestions = snapshot.suggest(text)
    if fmt == "json":
        return JSONResponse(
            {
                "error": f"No key phrase or category is called {text!r}",
                "suggestions": [{"kind": t.kind, "key": t.key, "url": topic_url(t)} for t in suggestions],
            },
            status_code=404,
        )
    return request.app.state.templates.TemplateResponse(
        request,
        "trend_missing.html",
        {"query": text, "suggestions": suggestions, "topic_url": topic_url},
        status_code=404,
    )


def _months(snapshot: Snapshot, topic: Topic, anchor: int) -> list[tuple[periods.Period, list[int]]]:
    """The top papers of each of the last months with papers on the topic, newest first."""
    month = periods.month_of(week_start(anchor) + timedelta(days=6))
    found: list[tuple[periods.Period, list[int]]] = []
    first_day = week_start(snapshot.first_week)
    while len(found) < MONTHS_OF_TOP_PAPERS and month.end > first_day:
        first, last = week_of(month.start), week_of(month.end - timedelta(days=1))
        ids = snapshot.top_papers(topic.id, first, last, limit=3)
        # Weeks straddle months: keep the papers whose day is in the month (checked on the views later).
        found.append((month, ids))
        month = month.previous()
    return found


def _topic(request: Request, store: SqlStore, text: str, week: str | None, fmt: str):
    snapshot = _trends(request)
    topic = snapshot.find(text)
    if topic is None:
        return _not_found(request, snapshot, text, fmt)
    anchor = _anchor(snapshot, week)
    recent = snapshot.series(topic.id, last=anchor)
    whole = snapshot.series(topic.id, weeks=0, last=snapshot.anchor)
    claims = {w: snapshot.claim(topic, w, anchor) for w in ("week", "month")}  # type: ignore[misc]
    spans = {w: snapshot.span(w, anchor) for w in ("week", "month")}  # type: ignore[misc]
    related = snapshot.related(topic.id)
    months = _months(snapshot, topic, anchor)
    papers = _views(store, [i for _m, ids in months for i in ids])
    months = [(m, [i for i in ids if i in papers and _in(papers[i], m)]) for m, ids in months]
    total = int(snapshot.counts[topic.id])
    claimed = {w: c.window >= spans[w].minimum and c.score > 0 for w, c in claims.items()}
    if fmt == "json":
        return JSONResponse(
            {
                "kind": topic.kind,
                "key": topic.key,
                "url": topic_url(topic),
                "papersInCorpus": total,
                "week": _week_key(anchor),
                "weeks": _series_json(recent),
                "allWeeks": _series_json(whole),
                "trend": {
                    w: {
                        "start": spans[w].start.isoformat(),
                        "end": spans[w].end.isoformat(),
                        "papers": c.window,
                        "baselinePapers": c.baseline,
                        "expectedPapers": round(c.expected, 2),
                        "rise": round(c.score, 3),
                        "upvotes": c.upvotes,
                        "upvoteRise": None if c.upvote_score is None else round(c.upvote_score, 3),
                        "minimumPapers": spans[w].minimum,
                        "claimed": claimed[w],
                    }
                    for w, c in claims.items()
                },
                "related": [
                    {"key": t.key, "url": topic_url(t), "papersTogether": n, "lift": round(lift, 2)}
                    for t, n, lift in related
                ],
                "months": [
                    {"month": m.key, "papers": [_paper_json(papers[i]) for i in ids]} for m, ids in months
                ],
                "statistic": _statistic_json(),
            }
        )
    whole_end = whole.weeks[-1] + timedelta(days=6) if whole.weeks else spans["week"].last_day
    first = snapshot.first_week
    window = (spans["month"].first - first, spans["month"].last - first + 1)
    context = {
        "topic": topic,
        "total": total,
        "recent": recent,
        "whole": whole,
        "claims": claims,
        "claimed": claimed,
        "spans": spans,
        "related": related,
        "months": months,
        "papers": papers,
        "topic_url": topic_url,
        "times": _times,
        "week_label": snapshot.week_label(anchor),
        "papers_chart": _kept(
            snapshot,
            ("papers-chart", topic.id, anchor),
            lambda: charts.weekly(
                f"Papers a week with “{topic.key}”, every week of the corpus to {whole_end:%b %-d, %Y}",
                whole.weeks,
                whole.papers,
                width=900,
                highlight=window,
                label_every=13,
            ),
        ),
        "upvotes_chart": _kept(
            snapshot,
            ("upvotes-chart", topic.id, anchor),
            lambda: charts.weekly(
                f"Upvotes a week of papers with “{topic.key}”, every week of the corpus to "
                f"{whole_end:%b %-d, %Y}",
                whole.weeks,
                whole.upvotes,
                width=900,
                highlight=window,
                label_every=13,
            ),
        ),
        "is_category": topic.kind == "category",
    }
    return request.app.state.templates.TemplateResponse(request, "trend.html", context)


def _in(view: PaperView, month: periods.Period) -> bool:
    day: date | None = view.published_at.date() if view.published_at else None
    return day is not None and month.start <= day < month.end


@router.get(
    "/trends/{topic}.json",
    operation_id="trend_json",
    summary="One key phrase or arXiv category over time: papers and upvotes a week, its rise, related "
    "phrases, top papers by month.",
    response_model=shapes.TopicPage,
    responses={**errors(400), **NOT_FOUND},
    **TWIN,
)
def trend_json(topic: str, request: Request, store: StoreDep, week: str | None = None):
    return _topic(request, store, topic, week, "json")


@router.get("/trends/{topic}", **HTML)
def trend_page(topic: str, request: Request, store: StoreDep, week: str | None = None):
    return _topic(request, store, topic, week, "html")


def momentum(request: Request, view: PaperView) -> dict[str, Any] | None:
    """A paper's upvotes day by day since its first one here (a sparkline), when it has had some on 2 days
    or more; imported upvotes have no time and are left out (the caption says so)."""
    from dailypapers.store.trends import upvotes_by_day

    days = upvotes_by_day(request.app.state.store.engine, view.id)
    if len(days) < 2:
        return None
    first, last = days[0][0], days[-1][0]
    by_day = dict(days)
    span = [first + timedelta(days=i) for i in range((last - first).days + 1)][-60:]
    values = [by_day.get(d, 0) for d in span]
    return {
        "chart": charts.sparkline(
            f"Upvotes a day, {span[0]:%b %-d} to {span[-1]:%b %-d}: {sum(values)} in all",
            values,
            width=220,
            height=40,
        ),
        "total": sum(values),
        "days": len(span),
        "first": span[0],
        "last": span[-1],
    }


def trend_link(request: Request, query: str) -> tuple[str, str] | None:
    """(label, url) of the trend page matching a search query, when the trends are built and one does."""
    trends: Trends | None = getattr(request.app.state, "trends", None)
    if trends is None or not query.strip() or len(query) > 200:
        return None
    snapshot = trends.ready()
    if snapshot is None:
        return None
    topic = snapshot.find(query)
    return (topic.key, topic_url(topic)) if topic is not None else None
