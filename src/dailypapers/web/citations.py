"""Citing a paper: its BibTeX (`/papers/{id}.bib`, and on the paper page) and the `citation_*` meta tags that
Google Scholar and Zotero's connector read, with OpenGraph and Twitter card tags for share previews.

BibTeX follows arXiv's own export (`@misc` with `eprint`, `archivePrefix`, `primaryClass`), the form
reference managers recognise as an arXiv preprint.
"""

from __future__ import annotations

import re
import unicodedata

from fastapi import APIRouter

from dailypapers.papers import PaperView
from dailypapers.web import params
from dailypapers.web.deps import StoreDep
from dailypapers.web.openapi import errors
from dailypapers.web.responses import BibtexResponse

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


def bibtex(view: PaperView) -> str:
    """The paper's BibTeX entry."""
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
    return f"@misc{{{citation_key(view)},\n{body}\n}}\n"


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
