"""The JSON API: a superset of Hugging Face's papers API (shared docs/hf-papers-api.md)."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from dailypapers import hf_shapes
from dailypapers.web import params, shapes
from dailypapers.web.community import upvoted_ids
from dailypapers.web.deps import SettingsDep, StoreDep
from dailypapers.web.openapi import BEARER, errors, reads
from dailypapers.web.params import Page
from dailypapers.web.responses import JSONResponse, MarkdownResponse

router = APIRouter()

DAILY_LIMIT = 100
DAILY_LIMIT_DEFAULT = 50


@router.get(
    "/api/daily_papers",
    operation_id="list_daily_papers",
    summary="Papers on the daily feed: a day, a week, a month, a submitter, or all, newest first.",
    response_class=JSONResponse,
    response_model=list[shapes.DailyItem],
    responses={
        200: {"headers": {"Link": {"description": 'The next page: `<...&p=N+1>; rel="next"`.'}}},
        **errors(400),
    },
    openapi_extra=reads(BEARER),
)
def daily_papers(
    request: Request,
    store: StoreDep,
    settings: SettingsDep,
    page: Page,
    size: Annotated[int, params.limit_query(DAILY_LIMIT, DAILY_LIMIT_DEFAULT)],
    date: Annotated[str | None, Query(description="A day on the feed, YYYY-MM-DD.")] = None,
    week: Annotated[str | None, Query(description="An ISO week, YYYY-Www.")] = None,
    month: Annotated[str | None, Query(description="A month, YYYY-MM.")] = None,
    submitter: Annotated[str | None, Query(description="Username of the submitter.", max_length=64)] = None,
    sort: Annotated[
        Literal["publishedAt", "trending"] | None, Query(description="`publishedAt` or `trending`.")
    ] = None,
):
    if submitter is not None and any(ord(char) < 32 or ord(char) == 127 for char in submitter):
        # PostgreSQL refuses NUL in text parameters; no username holds a control character anyway.
        raise params.bad_request("submitter must be a username")
    chosen = [(kind, value) for kind, value in (("date", date), ("week", week), ("month", month)) if value]
    if len(chosen) > 1:
        raise params.bad_request("give at most one of date, week and month")
    period = params.period(*chosen[0]) if chosen else None
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
        response.headers["Link"] = f'<{settings.base_url}/api/daily_papers?{urlencode(query)}>; rel="next"'
    return response


@router.get("/api/agent-harnesses", include_in_schema=False)
def agent_harnesses() -> Response:
    # The `hf papers` CLI asks for this; we have none.
    return JSONResponse({"error": "Not found"}, status_code=404)


@router.get(
    "/api/papers/{arxiv_id:paper}",
    operation_id="paper_info",
    summary="One paper, flat, as Hugging Face returns it, plus categories, version and links.",
    response_class=JSONResponse,
    response_model=shapes.PaperDetail,
    responses=errors(404),
    openapi_extra=reads(BEARER),
)
def paper_info(arxiv_id: str, request: Request, store: StoreDep):
    view = params.paper_or_404(store, arxiv_id)
    voted = upvoted_ids(request, [view])
    return JSONResponse(hf_shapes.paper_detail(view, None if voted is None else view.id in voted))


def paper_markdown(arxiv_id: str, store, base_url: str) -> MarkdownResponse:
    view = params.paper_or_404(store, arxiv_id)
    return MarkdownResponse(hf_shapes.markdown(view, base_url))
