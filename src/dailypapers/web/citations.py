"""Citing a paper: its BibTeX (`/papers/{id}.bib`, and on the paper page) and the `citation_*` meta tags that
Google Scholar and Zotero's connector read, with OpenGraph and Twitter card tags for share previews.

BibTeX follows arXiv's own export (`@misc` with `eprint`, `archivePrefix`, `primaryClass`), the form
reference managers recognise as an arXiv preprint.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from fastapi import APIRouter

from dailypapers.papers import PaperView
from dailypapers.web import params
from dailypapers.web.deps import StoreDep
from dailypapers.web.openapi import errors, json_errors
from dailypapers.web.responses import BibtexResponse, CslJsonResponse

router = APIRouter()

# Characters with a meaning in BibTeX or LaTeX, written so that they print as themselves.
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))
_STOP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward"}


def bibtex_value(text: str) -> str:
    """Text as the content of a BibTeX field: LaTeX specials escaped, whitespace on one line."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group(0)], " ".join(text.split()))


def _ascii_word(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def citation_key(view: PaperView) -> str:
    """`<first author's last name><year><first real word of the title>`, as Google Scholar makes them."""
    last_name = _ascii_word(view.authors[0].split()[-1]) if view.authors and view.authors[0].split() else ""
    year = str(view.published_at.year) if view.published_at else ""
    words = [_ascii_word(w) for w in view.title.split()]
    word = next((w for w in words if w and w not in _STOP_WORDS), "")
    return (last_name + year + word) or view.arxiv_id.replace("/", "").replace(".", "")


def bibtex(view: PaperView, key: str | None = None) -> str:
    """The paper's BibTeX entry (under `key`, else its `citation_key`)."""
    fields = [
        ("title", "{" + bibtex_value(view.title) + "}"),
        ("author", " and ".join(bibtex_value(a) for a in view.authors if a.strip())),
        ("year", str(view.published_at.year) if view.published_at else ""),
        ("eprint", view.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", view.categories[0] if view.categories else ""),
        ("doi", bibtex_value(view.doi) if view.doi else ""),
        ("url", view.abs_url),
    ]
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@misc{{{key or citation_key(view)},\n{body}\n}}\n"


def citation_meta(view: PaperView, page_url: str, site_name: str) -> list[tuple[str, str, str]]:
    """The paper's meta tags as (attribute, name, content): `citation_*` (Highwire, read by Google Scholar
    and Zotero), OpenGraph and the Twitter card. Jinja escapes the values."""
    description = " ".join(view.abstract.split())
    if len(description) > 300:
        description = description[:297].rsplit(" ", 1)[0] + "…"
    tags = [("name", "citation_title", view.title)]
    tags += [("name", "citation_author", author) for author in view.authors if author.strip()]
    if view.published_at:
        tags.append(("name", "citation_publication_date", view.published_at.strftime("%Y/%m/%d")))
        tags.append(("name", "citation_online_date", view.published_at.strftime("%Y/%m/%d")))
    tags += [
        ("name", "citation_arxiv_id", view.arxiv_id),
        ("name", "citation_pdf_url", view.pdf_url),
        ("name", "citation_abstract_html_url", view.abs_url),
    ]
    if view.doi:
        tags.append(("name", "citation_doi", view.doi))
    tags += [
        ("property", "og:type", "article"),
        ("property", "og:site_name", site_name),
        ("property", "og:title", view.title),
        ("property", "og:description", description),
        ("property", "og:url", page_url),
        ("name", "twitter:card", "summary"),
        ("name", "twitter:title", view.title),
        ("name", "twitter:description", description),
    ]
    return tags


@router.get(
    "/papers/{arxiv_id:path}.bib",
    operation_id="paper_bibtex",
    summary="A paper's BibTeX entry (as arXiv exports it: `@misc` with `eprint`).",
    response_class=BibtexResponse,
    responses=errors(404),
    tags=["pages"],
)
def paper_bib(arxiv_id: str, store: StoreDep):
    view = params.paper_or_404(store, arxiv_id)
    return BibtexResponse(bibtex(view))


def bibtex_all(views: list[PaperView]) -> str:
    """Entries of many papers in one file, their keys made unique (`smith2024deep`, `smith2024deepb`, ...)."""
    seen: dict[str, int] = {}
    entries = []
    for view in views:
        key = citation_key(view)
        seen[key] = seen.get(key, 0) + 1
        if seen[key] > 1:
            key += _suffix(seen[key])
        entries.append(bibtex(view, key))
    return "\n".join(entries)


def _suffix(count: int) -> str:
    """b, c, ..., z, then ba, bb, ...: the second paper of a key gets "b", as reference managers do."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = ""
    count -= 1
    while count:
        count, digit = divmod(count, 26)
        out = letters[digit] + out
    return out


def _csl_name(name: str) -> dict[str, str]:
    """An author as CSL names them: family and given names where the name has both, else as written."""
    parts = name.split()
    if len(parts) < 2:
        return {"literal": name.strip()}
    return {"family": parts[-1], "given": " ".join(parts[:-1])}


def csl_json(view: PaperView) -> dict:
    """The paper as a CSL-JSON item: an arXiv preprint as Zotero exports one (`article`, arXiv as
    publisher, the arXiv id as `number`, arXiv's DOI when the paper has no other)."""
    item: dict = {
        "id": view.arxiv_id,
        "type": "article",
        "title": " ".join(view.title.split()),
        "author": [_csl_name(a) for a in view.authors if a.strip()],
        "abstract": " ".join(view.abstract.split()),
        "publisher": "arXiv",
        "number": f"arXiv:{view.arxiv_id}",
        "genre": "Preprint",
        "URL": view.abs_url,
        "DOI": view.doi or f"10.48550/arXiv.{view.arxiv_id}",
    }
    if view.published_at:
        moment = view.published_at
        item["issued"] = {"date-parts": [[moment.year, moment.month, moment.day]]}
    if view.categories:
        item["keyword"] = ", ".join(view.categories)
    return item


def csl_json_all(views: list[PaperView]) -> list[dict]:
    return [csl_json(v) for v in views]


@router.get(
    "/papers/{arxiv_id:path}.csl.json",
    operation_id="paper_csl_json",
    summary="A paper as CSL-JSON (a list of one item, as Zotero and Pandoc read it).",
    response_class=CslJsonResponse,
    response_model=list[dict[str, Any]],
    responses=json_errors(404),
    tags=["pages"],
)
def paper_csl(arxiv_id: str, store: StoreDep):
    return CslJsonResponse([csl_json(params.paper_or_404(store, arxiv_id))])
