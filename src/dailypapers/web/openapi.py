"""What `/openapi.json` says beyond what FastAPI infers: the error answers of each route, the credentials,
and no 422 (a request FastAPI cannot read is answered 400, like every other bad request)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from dailypapers.web import params
from dailypapers.web.errors import MESSAGES
from dailypapers.web.shapes import Error

BEARER = "bearer"
SESSION = "session"
SECURITY_SCHEMES = {
    BEARER: {
        "type": "http",
        "scheme": "bearer",
        "description": "A personal API token (`dailypapers tokens create`, or Settings → API tokens); "
        "counted on `/api/` paths only.",
    },
    SESSION: {
        "type": "apiKey",
        "in": "cookie",
        "name": "dp_session",
        "description": "The browser's session, from signing in on the site.",
    },
}
DESCRIPTIONS = {
    400: "Bad request: the message says what to change.",
    401: "No credentials, or credentials that are no good.",
    403: "Not allowed: a suspended account, an unconfirmed address, another's resource, or a CSRF check "
    "failed (a request with cookies needs the `X-CSRF-Token` header).",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "Request body too large.",
    414: "URI too long.",
    431: "Request headers too large (too many, or too long).",
    415: "The body must be JSON.",
    422: "Understood but refused by a rule of the site.",
    429: "Too many requests: wait, then try again.",
    503: "Not available right now: the database is busy, full or read-only (see `Retry-After`), or search's "
    "indexes are not built yet.",
}
HEADERS = {
    401: {
        "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}},
    },
    503: {
        "Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "string"}},
    },
    429: {
        "Retry-After": {
            "description": "Seconds until the limit's window ends (rate limits; not the daily cap).",
            "schema": {"type": "string"},
        }
    },
}
# Any request can be too long (its URL, 414; its body, 413; its head, 431: answered before a route runs), and
# any route that reads or writes the database can find it busy, full or gone (503).
EVERY_ROUTE = (413, 414, 431, 503)


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error answers a route can give, each `{"error": "..."}`."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        entry: dict[str, Any] = {
            "model": Error,
            "description": DESCRIPTIONS.get(status, MESSAGES.get(status, "Error")),
        }
        if status in HEADERS:
            entry["headers"] = HEADERS[status]
        documented[status] = entry
    return documented


def json_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`errors` for a route whose own answers are another JSON type (CSL-JSON): its errors are plain JSON."""
    return {status: _error_response(status, True) for status in statuses}


def needs(*schemes: str) -> dict[str, Any]:
    """`openapi_extra=` for a route that needs one of these credentials."""
    return {"security": [{scheme: []} for scheme in schemes]}


def reads(*schemes: str) -> dict[str, Any]:
    """`openapi_extra=` for a route that answers anyone, and tells a signed-in caller more (`upvoted`)."""
    return {"security": [{}, *({scheme: []} for scheme in schemes)]}


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra=` declaring the JSON body of a route that reads the body itself (its size first)."""
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    schema.pop("$defs", None)  # the models it names are among the components already (response shapes)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _document(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    for path, operations in schema.get("paths", {}).items():
        as_json = params.is_api(path) or params.is_json_twin(path)
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            default_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
            if default_422.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                # FastAPI's own: this app answers a request it cannot read with 400 (web.errors).
                del responses["422"]
                responses.setdefault("400", _error_response(400, as_json))
            for status in EVERY_ROUTE:
                responses.setdefault(str(status), _error_response(status, as_json))
            if not as_json:  # errors are HTML pages off the API (web.errors)
                for status, response in responses.items():
                    if int(status) >= 400:
                        response["content"] = {"text/html": {"schema": {"type": "string"}}}
    components = schema.setdefault("components", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(unused, None)
    components["securitySchemes"] = SECURITY_SCHEMES
    app.openapi_schema = schema
    return schema


def _error_response(status: int, as_json: bool) -> dict[str, Any]:
    content = (
        {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        if as_json
        else {"text/html": {"schema": {"type": "string"}}}
    )
    return {"description": DESCRIPTIONS.get(status, "Error"), "content": content}


def install(app: FastAPI) -> None:
    """Serve this document at `/openapi.json` (built once, on first request)."""
    app.openapi = lambda: _document(app)
