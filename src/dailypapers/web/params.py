"""Reading what a request names, one way for each kind of value, for every route of the site.

- Integers (`p`, `limit`, `cp`, ...): ASCII digits with an optional sign, within the route's bounds; absent
  or blank is the default; anything else is a 400 `{"error": "<name> must be ..."}` (a page off the API).
  `int_query` declares such a parameter an integer in `/openapi.json` while this module, not FastAPI, reads
  it, so that the message and the status are ours.
- Dates and periods: `date`, `period` (a day, an ISO week or a month).
- Ids: database ids are PostgreSQL `integer`s. One outside 1..2^31-1 names nothing, so it is a 404 before any
  query (PostgreSQL would refuse it with "integer out of range", SQLite would find nothing).
- Papers: `arxiv_id_or_404` and `paper_or_404`, one message: `Paper not found`.
- The JSON twin: a path under `/api/` or ending in `.json` is answered in JSON, errors included.
"""

from __future__ import annotations

import inspect
import re
from datetime import date as Date
from typing import Annotated, Any, Protocol

from fastapi import Depends, HTTPException, Query, Request
from pydantic import WithJsonSchema
from starlette.convertors import Convertor, register_url_convertor

from dailypapers import arxiv_ids, periods
from dailypapers.papers import PaperView

MAX_PAGE = 100_000  # pages of a feed; deeper than any feed goes, small enough for an OFFSET
MAX_ID = 2**31 - 1  # ids are PostgreSQL `integer`s (serial columns)
PAPER_NOT_FOUND = "Paper not found"
_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_BLANK = re.compile(r"[ \t]*")  # `?limit=` and `?limit= ` mean the default, as they always did
_MAX_DIGITS = 20  # a longer number is out of every bound: not worth converting


def bad_request(message: str) -> HTTPException:
    return HTTPException(400, message)


def integer(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    """The integer a query parameter holds, within `low..high`; absent or blank: `default`; else 400."""
    if raw is None or _BLANK.fullmatch(raw):
        return default
    if not _INTEGER.fullmatch(raw):
        raise bad_request(f"{name} must be an integer")
    if len(raw) > _MAX_DIGITS or not low <= int(raw) <= high:
        raise bad_request(f"{name} must be between {low} and {high}")
    return int(raw)


def query_integer(request: Request, name: str, low: int, high: int, default: int) -> int:
    """`integer` of a query parameter read straight from the request (pages that are not in the schema)."""
    return integer(request.query_params.get(name), name, low, high, default)


def int_query(name: str, low: int, high: int, default: int, description: str) -> Any:
    """A dependency giving integer query parameter `name`: an integer with its bounds in `/openapi.json`, read
    by `integer` (so a bad value is our 400, never FastAPI's). Async: it costs no thread hand-off."""
    declared = WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": low, "maximum": high},
                {"type": "string", "pattern": f"^{_BLANK.pattern}$", "description": "blank: the default"},
            ],
            "default": default,
        }
    )

    async def read(raw_query_value: str | None = None) -> int:
        return integer(raw_query_value, name, low, high, default)

    # Set here rather than written in the signature: this module's annotations are strings (PEP 563), and
    # this one names values of the enclosing call. (The parameter's own name must be no route's path
    # parameter: FastAPI matches those by name.)
    read.__signature__ = inspect.Signature(
        [
            inspect.Parameter(
                "raw_query_value",
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[str | None, Query(alias=name, description=description), declared],
            )
        ],
        return_annotation=int,
    )
    return Depends(read)


def page_query(high: int = MAX_PAGE, name: str = "p") -> Any:
    """`int_query` for a page number, from 0."""
    return int_query(name, 0, high, 0, f"Page, from 0 (at most {high}).")


def limit_query(high: int, default: int, what: str = "Items") -> Any:
    """`int_query` for a page size, from 1."""
    return int_query("limit", 1, high, default, f"{what} per page, 1 to {high} (default {default}).")


Page = Annotated[int, page_query()]


def date(raw: str | None, name: str) -> Date | None:
    """A `YYYY-MM-DD` date; absent or empty (a form's empty date field): None; else 400."""
    if not raw:
        return None
    try:
        return periods.parse_date(raw)
    except periods.InvalidPeriod:
        raise bad_request(f"{name} must be a real date, YYYY-MM-DD") from None


def period(kind: periods.Kind, key: str, *, status: int = 400) -> periods.Period:
    """A day, ISO week or month; `status` when it is none (400 for a query parameter, 404 for a path)."""
    try:
        return periods.parse(kind, key)
    except periods.InvalidPeriod as exc:
        raise HTTPException(status, str(exc)) from None


def in_range(value: int) -> bool:
    return 1 <= value <= MAX_ID


def id_or_404(value: int, message: str = "Not found") -> int:
    """A database id named by a request (path, form or body), or 404 when it is out of range."""
    if not in_range(value):
        raise HTTPException(404, message)
    return value


def arxiv_id_or_404(value: str) -> str:
    """The arXiv id named in a path, normalized (version dropped); 404 when it is none."""
    try:
        return arxiv_ids.normalize(value)
    except arxiv_ids.InvalidArxivId:
        raise HTTPException(404, PAPER_NOT_FOUND) from None


class PaperSource(Protocol):
    def get(self, arxiv_id: str) -> PaperView | None: ...


def paper_or_404(store: PaperSource, value: str) -> PaperView:
    """The paper an arXiv id in a path names, or 404 `Paper not found`."""
    view = store.get(arxiv_id_or_404(value))
    if view is None:
        raise HTTPException(404, PAPER_NOT_FOUND)
    return view


class PaperIdConvertor(Convertor[str]):
    """`{arxiv_id:paper}`: a paper's id in a path (old-style ids hold a slash), but never one ending in a
    paper's sub-resource, so that `GET /api/papers/{id}/upvote` is a 405 (that resource takes POST and
    DELETE), not a search for a paper called `{id}/upvote`."""

    regex = r"(?:(?!/(?:upvote|comments|similar)$).)+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Starlette's convertors are one registry per process; this one must be known before routes using it compile.
register_url_convertor("paper", PaperIdConvertor())


def is_api(path: str) -> bool:
    """An API path: JSON only, and the only paths where a personal API token counts."""
    return path.startswith("/api/")


def is_json_twin(path: str) -> bool:
    return path.endswith(".json")


def wants_json(request: Request) -> bool:
    """The one JSON rule: API paths and `.json` twins are JSON (errors too), and so is anything asked with
    `Accept: application/json` first (the upvote button's script); everything else is HTML."""
    path = request.url.path
    return (
        is_api(path)
        or is_json_twin(path)
        or request.headers.get("accept", "").split(",")[0].strip().startswith("application/json")
    )
