"""`/map`: every embedded paper as a point, placed by meaning; regions named by key phrases; today's and this
week's papers highlighted. The points are drawn in the browser by regl-scatterplot (WebGL), bundled into
static/map.js by tools/map (no CDN); the data comes as a binary array of float32 (x, y, highlight) and a list
of arXiv ids in the same order, both built from the map file (`dailypapers map build`) and kept in memory.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from dailypapers.maps.builder import map_dir, read_map
from dailypapers.store.trends import SqlPaperDays
from dailypapers.web import shapes
from dailypapers.web.openapi import errors
from dailypapers.web.responses import JSONResponse

router = APIRouter()
HTML = {"include_in_schema": False}
KEEP_SECONDS = 600.0
NOT_BUILT = "The map is not built yet: run `dailypapers map build` after `dailypapers index build`."
OLDER, THIS_WEEK, TODAY = 0, 1, 2


class MapData:
    """The browser's view of the map file, rebuilt when the file changes or after KEEP_SECONDS (days move)."""

    def __init__(self, settings, engine) -> None:
        self.folder = map_dir(settings)
        self.days = SqlPaperDays(engine)
        self._lock = threading.Lock()
        self._key: tuple[float, float] | None = None
        self.meta: dict[str, Any] | None = None
        self.points = b""
        self.ids = b"[]"

    def current(self) -> dict[str, Any] | None:
        path = self.folder / "map.npz"
        try:
            mtime = path.stat().st_mtime
        except OSError:
            return None
        now = time.monotonic()
        if self._key is None or self._key[0] != mtime or now - self._key[1] > KEEP_SECONDS:
            with self._lock:
                if self._key is None or self._key[0] != mtime or now - self._key[1] > KEEP_SECONDS:
                    self._load(mtime, now)
        return self.meta

    def _load(self, mtime: float, now: float) -> None:
        found = read_map(self.folder)
        if found is None:
            self.meta = None
            return
        days = self.days.days()
        known = [(i, days[int(pid)]) for i, pid in enumerate(found.paper_ids) if int(pid) in days]
        latest = max((d for _i, (_a, d) in known), default=None)
        rows = np.zeros((len(known), 3), dtype="<f4")
        ids = []
        for row, (i, (arxiv_id, day)) in enumerate(known):
            rows[row, :2] = found.xy[i]
            if latest is not None and day == latest:
                rows[row, 2] = TODAY
            elif latest is not None and latest - timedelta(days=6) <= day:
                rows[row, 2] = THIS_WEEK
            ids.append(arxiv_id)
        self.points = rows.tobytes()
        self.ids = orjson.dumps(ids)
        counts = np.bincount(rows[:, 2].astype(int), minlength=3) if len(rows) else [0, 0, 0]
        self.meta = {
            "points": len(ids),
            "builtAt": found.built_at,
            "model": found.model,
            "today": latest.isoformat() if latest else None,
            "todayPapers": int(counts[TODAY]),
            "thisWeekPapers": int(counts[THIS_WEEK] + counts[TODAY]),
            "labels": found.labels,
            "pointsUrl": "/map/points.bin",
            "idsUrl": "/map/ids.json",
        }
        self._key = (mtime, now)


def install(app) -> None:
    app.state.map_data = MapData(app.state.settings, app.state.store.engine)
    app.include_router(router)


def _meta(request: Request) -> dict[str, Any]:
    meta = request.app.state.map_data.current()
    if meta is None:
        raise HTTPException(404, NOT_BUILT)  # no map yet: nothing to serve (not a server failure)
    return meta


@router.get(
    "/map.json",
    operation_id="map_json",
    summary="The map: how many points, the names of its regions at three zoom levels, where the points are.",
    response_model=shapes.MapInfo,
    responses=errors(404),
    response_class=JSONResponse,
    tags=["trends"],
)
def map_json(request: Request):
    return JSONResponse(_meta(request))


@router.get("/map/points.bin", **HTML)
def map_points(request: Request):
    _meta(request)
    return Response(
        request.app.state.map_data.points,
        media_type="application/octet-stream",
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/map/ids.json", **HTML)
def map_ids(request: Request):
    _meta(request)
    return Response(request.app.state.map_data.ids, media_type="application/json")


@router.get("/map", **HTML)
def map_page(request: Request):
    meta = request.app.state.map_data.current()
    return request.app.state.templates.TemplateResponse(
        request, "map.html", {"meta": meta, "not_built": NOT_BUILT}, status_code=200 if meta else 404
    )
