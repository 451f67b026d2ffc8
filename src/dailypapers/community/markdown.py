"""Comments are Markdown, rendered to HTML that is safe to put in a page as is.

Two layers, so that one slip cannot open a hole: markdown-it-py with raw HTML off (a `<script>` in a comment
comes out as text), then nh3 (ammonia) keeps only the tags and attributes below, only http(s) and mailto
links, and gives every link `rel="nofollow ugc noopener"`. Images are not rendered (they would let a
commenter track readers); their alt text stays as text.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt

MAX_COMMENT_CHARS = 10_000

TAGS = {
    "p", "br", "hr", "a", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}, "th": {"align"}, "td": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"

_md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["strikethrough", "table"])
_md.disable("image")


def _demote_headings(html: str) -> str:
    # A comment's "# Title" must not outrank the page's own headings: h1/h2 become h3/h4.
    for old, new in (("h1>", "h3>"), ("h2>", "h4>")):
        html = html.replace("<" + old, "<" + new).replace("</" + old, "</" + new)
    return html


def render(text: str) -> str:
    """The comment's Markdown as sanitized HTML."""
    html = _demote_headings(_md.render(text))
    return nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=URL_SCHEMES, link_rel=LINK_REL)


def plain_excerpt(text: str, limit: int = 200) -> str:
    """A one-line excerpt of the comment's text (for the moderation log)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
