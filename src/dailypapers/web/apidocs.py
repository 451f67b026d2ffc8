"""`/api/docs` (Swagger UI) from assets the app serves itself.

FastAPI's own pages load Swagger UI from a CDN, which a self-hosted or offline install cannot reach (the page
stayed blank), and start it with an inline script, which the Content-Security-Policy forbids. The assets
come from the `fastapi-offline` package (its Swagger UI bundle, kept current there); the page and its
start-up script are ours. (Its ReDoc bundle fetches a logo from Redocly's CDN, so it is not offered.)
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static/apidocs"
DOCS_PATHS = ("/api/docs",)

router = APIRouter(include_in_schema=False)


@router.get("/api/docs")
def swagger_ui(request: Request):
    return request.app.state.templates.TemplateResponse(request, "api_docs.html", {"assets": ASSETS_URL})


def install(app: FastAPI) -> None:
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="apidocs")
    app.include_router(router)
