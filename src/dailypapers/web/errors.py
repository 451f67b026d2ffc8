"""Errors as JSON for API and `.json` routes, as HTML pages elsewhere; never a traceback."""

from __future__ import annotations

import logging
import time

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from dailypapers.store.engine import DatabaseBusy, StoreUnavailable, unavailable
from dailypapers.web.params import wants_json
from dailypapers.web.responses import JSONResponse

log = logging.getLogger(__name__)

MESSAGES = {
    400: "Bad request",
    401: "Sign in needed",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    413: "Too large",
    414: "URI too long",
    415: "Unsupported media type",
    431: "Request headers too large",
    429: "Too many requests",
    500: "Server error",
    503: "Unavailable",
}
# A full disk fails every write until someone frees space: say so in the log once a minute, not per request.
LOG_UNAVAILABLE_EVERY = 60.0
_logged_unavailable: dict[str, float] = {}


def allowed_methods(request: Request) -> set[str]:
    """Every method some route takes at this path. (Starlette's 405 names only the first route that matched
    the path, and `GET` and `POST` of one path are often two routes.)"""
    methods: set[str] = set()
    for route in request.app.router.routes:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= route_methods
    return methods


def error_response(request: Request, status: int, message: str):
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "title": MESSAGES.get(status, "Error"), "message": message},
        status_code=status,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else MESSAGES.get(exc.status_code, "Error")
        response = error_response(request, exc.status_code, message)
        if exc.headers:  # Retry-After on a 429, WWW-Authenticate on a 401
            response.headers.update(exc.headers)
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(sorted(allowed_methods(request)))
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error.get("loc", ())[1:]) or "request"
            problems.append(f"{where}: {error.get('msg', 'invalid')}")
        return error_response(request, 400, "; ".join(problems) or "invalid request")

    # Registered for its class, this handler runs inside the app (ExceptionMiddleware): the exception is not
    # re-raised to the server, which would drop the keep-alive connection.
    @app.exception_handler(StoreUnavailable)
    async def _store_unavailable(request: Request, exc: StoreUnavailable):
        return _unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        meaning = unavailable(exc)  # a "not now" from a read (a disk that fails, a server that went away)
        if meaning is not None:
            return _unavailable(request, meaning)
        log.exception("unhandled error on %s", request.url.path)
        return error_response(request, 500, "Internal error; it has been logged.")


def _unavailable(request: Request, exc: StoreUnavailable):
    now = time.monotonic()
    if (
        not isinstance(exc, DatabaseBusy)
        and now - _logged_unavailable.get(exc.message, -1e9) > LOG_UNAVAILABLE_EVERY
    ):
        _logged_unavailable[exc.message] = now
        log.error("writes fail: %s (%s)", exc.message, exc.__cause__ or exc)
    response = error_response(request, 503, exc.message)
    response.headers["Retry-After"] = str(exc.retry_after)
    return response
