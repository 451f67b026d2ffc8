"""`/about/trending`: the README's section on trending, as a page the trending page links to.

The README is the package's long description, so it ships in every install (`importlib.metadata`); a page
made from it says exactly what the README says. It is our own text: rendered as CommonMark with raw HTML off.
"""

from __future__ import annotations

import functools
import importlib.metadata

from fastapi import APIRouter, HTTPException, Request
from markdown_it import MarkdownIt
from markupsafe import Markup

router = APIRouter(include_in_schema=False)
SECTIONS = {"trending": "### Trending"}


@functools.cache
def readme_section(heading: str) -> str | None:
    """The README's section under `heading` (up to the next heading of the same or a higher level)."""
    try:
        metadata = importlib.metadata.metadata("dailypapers")
    except importlib.metadata.PackageNotFoundError:
        return None
    text = metadata.get_payload() or metadata.get("Description") or ""
    start = text.find("\n" + heading + "\n")
    if start < 0:
        return None
    level = heading.split(" ", 1)[0]
    body = text[start + len(heading) + 2 :]
    ends = [body.find("\n" + "#" * n + " ") for n in range(1, len(level) + 1)]
    ends = [e for e in ends if e >= 0]
    return body[: min(ends)] if ends else body


@router.get("/about/{topic}")
def about(request: Request, topic: str):
    heading = SECTIONS.get(topic)
    section = readme_section(heading) if heading else None
    if section is None:
        raise HTTPException(404, "Not found")
    html = Markup(MarkdownIt("commonmark", {"html": False}).render(section))
    context = {"title": heading.lstrip("# "), "html": html}
    return request.app.state.templates.TemplateResponse(request, "about.html", context)
