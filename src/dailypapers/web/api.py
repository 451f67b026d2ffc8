"""The JSON API: a superset of Hugging Face's papers API (shared docs/hf-papers-api.md)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import PlainTextResponse

from dailypapers import arxiv_ids, hf_shapes, periods
from dailypapers.web.community import upvoted_ids
from dailypapers.web.deps import StoreDep
from dailypapers.web.responses import JSONResponse

router = APIRouter()

MAX_PAGE = 100_000


def _bad(message: str) -> HTTPException:
    return HTTPException(status_code=400, detail=message)


@router.get(
    "/api/daily_papers",
    operation_id="list_daily_papers",
    summary="Papers on the daily feed: a day, a week, a month, a submitter, or all, newest first.",
    response_class=JSONResponse,
)
def daily_papers(
    request: Request,
    store: StoreDep,
    p: Annotated[str | None, Query(description="Page, from 0.")] = None,
    limit: Annotated[str | None, Query(description="Items per page, 1 to 100 (default 50).")] = None,
    date: Annotated[str | None, Query(description="A day on the feed, YYYY-MM-DD.")] = None,
    week: Annotated[str | None, Query(description="An ISO week, YYYY-Www.")] = None,
    month: Annotated[str | None, Query(description="A month, YYYY-MM.")] = None,
    submitter: Annotated[str | None, Query(description="Username of the submitter.", max_length=64)] = None,
    sort: Annotated[
        Literal["publishedAt", "trending"] | None, Query(description="`publishedAt` or `trending`.")
    ] = None,
):
    page = _int_param(p, "p", 0, MAX_PAGE, 0)
    size = _int_param(limit, "limit", 1, 100, 50)
    if submitter is not None and any(ord(char) < 32 or ord(char) == 127 for char in submitter):
        # PostgreSQL refuses NUL in text parameters; no username holds a control character anyway.
        raise _bad("submitter must be a username")
    chosen = [(kind, value) for kind, value in (("date", date), ("week", week), ("month", month)) if value]
    if len(chosen) > 1:
        raise _bad("give at most one of date, week and month")
    period = None
    if chosen:
        try:
            period = periods.parse(chosen[0][0], chosen[0][1])
        except periods.InvalidPeriod as exc:
            raise _bad(str(exc)) from None
    if sort == "trending":
        # As on Hugging Face, trending is one global ranking: the date filters do not apply.
        views = store.trending(offset=page * size, limit=size)
    else:
        views = store.feed(
            period,
            submitter=submitter or None,
            sort="publishedAt" if sort == "publishedAt" else "day",
            offset=page * size,
            limit=size,
        )
    voted = upvoted_ids(request, views)
    response = JSONResponse(
        [hf_shapes.daily_item(v, None if voted is None else v.id in voted) for v in views]
    )
    if len(views) == size:
        query = dict(request.query_params)
        query["p"] = str(page + 1)
        response.headers["Link"] = (
            f'<{request.app.state.settings.base_url}/api/daily_papers?{urlencode(query)}>; rel="next"'
        )
    return response


def _int_param(value: str | None, name: str, low: int, high: int, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise _bad(f"{name} must be an integer") from None
    if not low <= number <= high:
        raise _bad(f"{name} must be between {low} and {high}")
    return number


def _paper_or_404(store, arxiv_id: str):
    try:
        key = arxiv_ids.normalize(arxiv_id)
    except arxiv_ids.InvalidArxivId:
        raise HTTPException(status_code=404, detail="Paper not found") from None
    view = store.get(key)
    if view is None:
        raise HTTPException(status_code=404, detail="Paper not found")
    return view


@router.get("/api/agent-harnesses", include_in_schema=False)
def agent_harnesses() -> Response:
    # The `hf papers` CLI asks for this; we have none.
    return JSONResponse({"error": "Not found"}, status_code=404)


@router.get(
    "/api/papers/{arxiv_id:path}",
    operation_id="paper_info",
    summary="One paper, flat, as Hugging Face returns it, plus categories, version and links.",
    response_class=JSONResponse,
)
def paper_info(arxiv_id: str, request: Request, store: StoreDep):
    view = _paper_or_404(store, arxiv_id)
    voted = upvoted_ids(request, [view])
    return JSONResponse(hf_shapes.paper_detail(view, None if voted is None else view.id in voted))


def paper_markdown(request: Request, arxiv_id: str, store) -> PlainTextResponse:
    view = _paper_or_404(store, arxiv_id)
    body = hf_shapes.markdown(view, request.app.state.settings.base_url)
    return PlainTextResponse(body, media_type="text/markdown; charset=utf-8")
