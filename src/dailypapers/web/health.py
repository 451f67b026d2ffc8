"""`GET /healthz`: whether this web process can answer, for load balancers and process supervisors.

It asks the database one cheap question (the latest day on the feed), so a node that lost its database is
taken out of rotation rather than answering 503s to readers; never cached.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from dailypapers.web import shapes
from dailypapers.web.openapi import errors

router = APIRouter()


@router.get(
    "/healthz",
    response_model=shapes.Health,
    responses=errors(503),
    summary="Whether this web process and its database answer",
)
def health(request: Request) -> dict:
    latest = request.app.state.store.latest_day()  # StoreUnavailable: 503 through the errors handler
    return {"status": "ok", "latestDay": latest.isoformat() if latest else None}
