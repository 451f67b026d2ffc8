"""Papers in the shapes of Hugging Face's papers API (see shared docs/hf-papers-api.md). Pure functions."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from dailypapers.papers import PaperView, UserView


def timestamp(moment: datetime | None) -> str | None:
    """`YYYY-MM-DDTHH:MM:SS.mmmZ`: the only form the huggingface_hub client parses."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def object_id(*parts: object) -> str:
    """A stable 24-hex-digit id in the style of Hugging Face's Mongo ids."""
    return hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:24]


def user(view: UserView) -> dict[str, Any]:
    # Hugging Face's data keys the username as `name`, the client reads `user`: send both.
    return {
        "_id": object_id("user", view.username),
        "name": view.username,
        "user": view.username,
        "fullname": view.fullname or view.username,
        "avatarUrl": view.avatar_url or "",
        "type": view.type if view.type in ("user", "org") else "user",
        "isPro": False,
    }


# Hugging Face names a submitter on every daily item and clients read `submittedBy.name` without a check;
# some imported feeds did not record who submitted a paper, so those items name this placeholder.
UNKNOWN_SUBMITTER = UserView(id=0, username="unknown", fullname="Unknown submitter", avatar_url=None)


def organization(name: str) -> dict[str, Any]:
    return {
        "_id": object_id("org", name),
        "name": name,
        "fullname": name,
        "avatar": "",
        "avatarUrl": "",
    }


def _authors(view: PaperView) -> list[dict[str, Any]]:
    authors = []
    for index, name in enumerate(view.authors):
        author: dict[str, Any] = {
            "_id": object_id("author", view.arxiv_id, index),
            "name": name,
            "hidden": False,
        }
        claim = view.claims.get(index)
        if (
            claim is not None
        ):  # as Hugging Face marks an author whose account claimed the name and was verified
            author["user"] = user(claim.user)
            author["status"] = "claimed_verified"
            if claim.at is not None:
                author["statusLastChangedAt"] = timestamp(claim.at)
        authors.append(author)
    return authors


def _optional(view: PaperView) -> dict[str, Any]:
    """Fields sent only when known (the client treats a missing key as None)."""
    fields: dict[str, Any] = {}
    if view.ai_summary:
        fields["ai_summary"] = view.ai_summary
    if view.keywords:  # Hugging Face's when imported, else the phrases extracted at index time
        fields["ai_keywords"] = view.keywords
    if view.github_repo:
        fields["githubRepo"] = view.github_repo
    if view.github_stars is not None:
        fields["githubStars"] = view.github_stars
    if view.project_page:
        fields["projectPage"] = view.project_page
    if view.organization:
        fields["organization"] = organization(view.organization)
    return fields


def paper(view: PaperView) -> dict[str, Any]:
    """The nested `paper` object of a daily item; also the body of `GET /api/papers/{id}`."""
    body: dict[str, Any] = {
        "id": view.arxiv_id,
        "authors": _authors(view),
        "publishedAt": timestamp(view.published_at or view.submitted_at),
        "title": view.title,
        "summary": view.abstract,
        "upvotes": view.upvotes,
        "discussionId": object_id("discussion", view.arxiv_id),
    }
    if view.submitted_at is not None:
        body["submittedOnDailyAt"] = timestamp(view.submitted_at)
    if view.submitter is not None:
        body["submittedOnDailyBy"] = user(view.submitter)
    if view.withdrawn_at is not None:
        body["withdrawnAt"] = timestamp(view.withdrawn_at)
    body.update(_optional(view))
    return body


def paper_detail(view: PaperView, upvoted: bool | None = None) -> dict[str, Any]:
    """`GET /api/papers/{id}`: the flat paper, plus our extras (categories, versions, links); `upvoted` for a
    caller who is signed in or sent a token."""
    body = paper(view)
    body["numComments"] = view.num_comments  # ours; `numCommentsOnHf` (in the extras) is Hugging Face's
    body["isAuthorParticipating"] = view.author_participating
    if upvoted is not None:
        body["upvoted"] = upvoted
    body.update(_extras(view))
    if view.key_sentence:
        body["keySentence"] = view.key_sentence
    return body


def _extras(view: PaperView) -> dict[str, Any]:
    return {
        "numCommentsOnHf": view.hf_comments,
        "categories": view.categories,
        "version": view.version or None,
        "comment": view.comment,
        "doi": view.doi,
        "journalRef": view.journal_ref,
        "updatedAt": timestamp(view.updated_at),
        "arxivUrl": view.abs_url,
        "pdfUrl": view.pdf_url,
    }


def daily_item(view: PaperView, upvoted: bool | None = None) -> dict[str, Any]:
    """One element of `GET /api/daily_papers`; `upvoted` for a caller who is signed in or sent a token."""
    item: dict[str, Any] = {
        "paper": paper(view),
        "title": view.title,
        "summary": view.abstract,
        "publishedAt": timestamp(view.published_at or view.submitted_at),
        "thumbnail": "",
        # Our own discussion's count; Hugging Face's, as imported, is its own number (never added in).
        "numComments": view.num_comments,
        "numCommentsOnHf": view.hf_comments,
        "isAuthorParticipating": view.author_participating,
        # The client reads these only at the top level, and turns a nested `upvotes: 0` into None.
        "upvotes": view.upvotes,
    }
    item["submittedBy"] = user(view.submitter or UNKNOWN_SUBMITTER)
    if upvoted is not None:
        item["upvoted"] = upvoted
    if view.submitted_at is not None:
        item["submittedOnDailyAt"] = timestamp(view.submitted_at)
    item.update(_optional(view))
    return item


def search_item(
    view: PaperView,
    highlighted_title: list[dict[str, str]],
    highlighted_summary: list[dict[str, str]],
    upvoted: bool = False,
) -> dict[str, Any]:
    """One element of `GET /api/papers/search`: a daily item plus `upvoted` (for the caller; false when
    anonymous) and the highlighted segments."""
    item = daily_item(view, upvoted=upvoted)
    item["highlightedTitle"] = highlighted_title
    item["highlightedSummary"] = highlighted_summary
    return item


def markdown(view: PaperView, base_url: str) -> str:
    """`GET /papers/{id}.md`: the paper as Markdown."""
    lines = [f"# {view.title}", ""]
    lines.append(f"**Authors:** {', '.join(view.authors)}")
    if view.published_at:
        lines.append(f"**Published:** {view.published_at.date().isoformat()}")
    if view.day:
        lines.append(f"**On Daily Papers:** {view.day.isoformat()}")
    if view.categories:
        lines.append(f"**Categories:** {', '.join(view.categories)}")
    lines.append(f"**Upvotes:** {view.upvotes}")
    lines += ["", "## Abstract", "", view.abstract, "", "## Links", ""]
    lines.append(f"- arXiv: {view.abs_url}")
    lines.append(f"- PDF: {view.pdf_url}")
    if view.github_repo:
        lines.append(f"- Code: {view.github_repo}")
    if view.project_page:
        lines.append(f"- Project page: {view.project_page}")
    lines.append(f"- On {base_url}: {base_url}/papers/{view.arxiv_id}")
    return "\n".join(lines) + "\n"
