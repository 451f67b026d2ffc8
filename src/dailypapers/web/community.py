"""Submissions, upvotes, comments and moderation on the web: forms for browsers (working without JavaScript,
each behind a CSRF check) and the JSON API for tokens (`Authorization: Bearer ...`).

Every write is rate limited per account (settings `rate_limit_submit`, `rate_limit_comment`,
`rate_limit_upvote`), and nothing changes on a GET.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dailypapers import hf_shapes
from dailypapers.accounts.model import Account
from dailypapers.community.submission import MAX_SUBMISSION_COMMENT_CHARS, SubmissionRefused
from dailypapers.papers import PaperView, UserView
from dailypapers.services.submissions import Fetching, FetchStatus, Submitted, rules_from
from dailypapers.store.community import (
    Actor,
    CommentsPage,
    CommentView,
    CommunityStore,
    Conflict,
    Forbidden,
    InvalidComment,
    NotFound,
)
from dailypapers.web import params, shapes
from dailypapers.web.auth import (
    CsrfProtected,
    ModeratorAccount,
    RequiredAccount,
    account_of,
    csrf_protect,
    current_account,
    require_account,
    safe_next,
)
from dailypapers.web.deps import CommunityDep, StoreDep, SubmissionsDep
from dailypapers.web.openapi import BEARER, SESSION, errors, needs, reads
from dailypapers.web.ratelimit import check_setting, setting_in
from dailypapers.web.responses import JSONResponse

# Registered before the pages' and API's catch-all `/papers/{...:path}` routes.
router = APIRouter()
twins_router = APIRouter(tags=["pages"])  # JSON twins of pages, in the schema
pages_router = APIRouter(include_in_schema=False)

COMMENTS_PAGE_SIZE = 50
MAX_COMMENT_PAGE = 10_000
MODERATION_PAGE_SIZE = 50
COMMENT_NOT_FOUND = "Comment not found"
PARENT_NOT_FOUND = "The comment you reply to is not on this paper"
# An API write: a Bearer token, or a session's cookie with its CSRF token in `X-CSRF-Token`.
WRITE = needs(BEARER, SESSION)
# On API routes after the account: no credentials at all is a 401, a session without its token a 403.
Csrf = Annotated[None, CsrfProtected]


def actor(account) -> Actor:
    """The store's view of the account; only a confirmed address may write (submit, upvote, comment)."""
    if not account.email_verified:
        raise HTTPException(403, "Confirm your e-mail address first: follow the link we sent (see Settings).")
    profile = UserView(account.id, account.username, account.fullname, account.avatar_url)
    return Actor(account.id, account.username, account.role, profile)


def _paper_id(community: CommunityStore, value: str) -> int:
    """The internal id of a paper named in a path; 404 if it is not here. One indexed lookup."""
    paper_id = community.paper_id(params.arxiv_id_or_404(value))
    if paper_id is None:
        raise HTTPException(404, params.PAPER_NOT_FOUND)
    return paper_id


async def _api_write(request: Request, work: Callable[[Account], Any]) -> Any:
    """An API write: the CSRF check when the request carries cookies (a Bearer token alone needs none), then
    the account (401 without one, 403 if suspended) and the work, together in one worker thread: the busiest
    routes pay one thread hand-off, not one per dependency."""
    if "cookie" in request.headers:
        await csrf_protect(request)

    def run():
        return work(require_account(request, current_account(request)))

    return await run_in_threadpool(run)


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, NotFound):
        return HTTPException(404, str(exc))
    if isinstance(exc, Forbidden):
        return HTTPException(403, str(exc))
    if isinstance(exc, SubmissionRefused):
        return HTTPException(exc.status, exc.message)
    return HTTPException(400 if not isinstance(exc, Conflict) else 409, str(exc))


# -- per-request state for templates ----------------------------------------------------------------


def has_upvoted(request: Request, paper: PaperView, among: Any = None) -> bool:
    """Whether the signed-in reader upvoted `paper` (a template global). The first call on a page asks about
    `among` (the page's papers) too, so a page costs one query, not one per card."""
    account = account_of(request)
    if account is None:
        return False
    memo: dict[int, bool] = request.state.__dict__.setdefault("dp_upvoted", {})
    if paper.id not in memo:
        wanted = {paper.id}
        for other in among or ():
            view = getattr(other, "view", other)  # search results wrap their view
            if isinstance(view, PaperView):
                wanted.add(view.id)
        wanted -= memo.keys()
        found = request.app.state.community.upvoted_among(account.id, wanted)
        memo.update({pid: pid in found for pid in wanted})
    return memo[paper.id]


def upvoted_ids(request: Request, views: list[PaperView]) -> set[int] | None:
    """For the API: the caller's upvotes among these papers, or None when the caller is anonymous."""
    account = current_account(request) if _has_credentials(request) else None
    if account is None:
        return None
    return request.app.state.community.upvoted_among(account.id, [v.id for v in views])


def _has_credentials(request: Request) -> bool:
    return "cookie" in request.headers or "authorization" in request.headers


# -- submissions ------------------------------------------------------------------------------------


def _submit(
    request: Request, submissions, account, target: str | None, comment: str | None
) -> Submitted | Fetching:
    """The whole submission: rate limit, then the use case (which parses, checks the rules, and puts the
    paper on today's feed or starts fetching it from arXiv)."""
    who = actor(account)
    check_setting(request, "submit", str(account.id), "submit")
    try:
        outcome = submissions.submit(who, target, comment)
    except (SubmissionRefused, NotFound) as exc:
        raise _http(exc) from None
    if isinstance(outcome, Fetching):
        jobs = getattr(request.app.state, "jobs", None)
        if jobs is not None:
            jobs.nudge()
    return outcome


class SubmitIn(BaseModel):
    """`POST /api/papers/submit`: an arXiv id (or a URL of an arXiv or paper page), and an optional note."""

    model_config = ConfigDict(extra="ignore")
    arxivId: str | None = Field(None, max_length=300)  # noqa: N815 (Hugging Face's name)
    url: str | None = Field(None, max_length=300)
    id: str | None = Field(None, max_length=300)
    comment: str | None = Field(None, max_length=MAX_SUBMISSION_COMMENT_CHARS)


def _fetch_json(status: FetchStatus) -> dict[str, Any]:
    return {
        "id": status.job_id,
        "arxivId": status.arxiv_id,
        "status": status.status,
        "error": status.error,
        "statusUrl": f"/api/papers/submit/jobs/{status.job_id}",
        "paper": hf_shapes.daily_item(status.paper, upvoted=False) if status.paper is not None else None,
    }


@router.post(
    "/api/papers/submit",
    operation_id="submit_paper",
    summary="Submit an arXiv paper to today's Daily Papers (token or session): 201 with the daily item, or "
    "202 while a paper we do not hold yet is fetched from arXiv (poll `statusUrl`).",
    status_code=201,
    response_class=JSONResponse,
    response_model=shapes.DailyItem,
    responses={
        202: {
            "model": shapes.SubmissionJob,
            "description": "Fetching the paper from arXiv: poll `statusUrl` (also in `Location`).",
            "headers": {"Location": {"description": "The job's `statusUrl`.", "schema": {"type": "string"}}},
        },
        **errors(400, 401, 403, 404, 409, 422, 429),
    },
    openapi_extra=WRITE,
)
def api_submit(
    body: SubmitIn, request: Request, account: RequiredAccount, _csrf: Csrf, submissions: SubmissionsDep
):
    outcome = _submit(request, submissions, account, body.arxivId or body.url or body.id, body.comment)
    if isinstance(outcome, Fetching):
        status = FetchStatus(outcome.job_id, outcome.arxiv_id, "queued", None, None)
        headers = {"Location": f"/api/papers/submit/jobs/{outcome.job_id}"}
        return JSONResponse(_fetch_json(status), status_code=202, headers=headers)
    return JSONResponse(hf_shapes.daily_item(outcome.paper, upvoted=False), status_code=201)


def _fetch_status(submissions, account, job_id: int) -> FetchStatus:
    status = submissions.fetch_status(job_id, account.id) if params.in_range(job_id) else None
    if status is None:
        raise HTTPException(404, "No such submission of yours")
    return status


@router.get(
    "/api/papers/submit/jobs/{job_id}",
    operation_id="submission_status",
    summary="Where the fetch of a submitted paper stands: queued, running, done (with the daily item) or "
    "failed (with the reason).",
    response_class=JSONResponse,
    response_model=shapes.SubmissionJob,
    responses=errors(400, 401, 403, 404),
    openapi_extra=needs(BEARER, SESSION),
)
def api_submission_status(job_id: int, account: RequiredAccount, submissions: SubmissionsDep):
    return JSONResponse(_fetch_json(_fetch_status(submissions, account, job_id)))


@pages_router.get("/papers/submit")
def submit_form(request: Request, account: RequiredAccount):
    return _submit_page(request, {})


def _submit_page(request: Request, context: dict, status: int = 200):
    rules = rules_from(request.app.state.settings)
    context = {"rules": rules, "max_comment": MAX_SUBMISSION_COMMENT_CHARS, **context}
    return request.app.state.templates.TemplateResponse(request, "submit.html", context, status_code=status)


@pages_router.post("/papers/submit", dependencies=[CsrfProtected])
def submit_post(
    request: Request,
    account: RequiredAccount,
    submissions: SubmissionsDep,
    arxiv: Annotated[str, Form(max_length=300)] = "",
    comment: Annotated[str, Form(max_length=MAX_SUBMISSION_COMMENT_CHARS)] = "",
):
    try:
        outcome = _submit(request, submissions, account, arxiv, comment)
    except HTTPException as exc:
        if exc.status_code == 429 and exc.headers:
            raise
        context = {"error": exc.detail, "arxiv": arxiv, "comment": comment}
        return _submit_page(request, context, exc.status_code)
    if isinstance(outcome, Fetching):
        return RedirectResponse(f"/papers/submit/jobs/{outcome.job_id}", status_code=303)
    return RedirectResponse(f"/papers/{outcome.paper.arxiv_id}?submitted=1", status_code=303)


@twins_router.get(
    "/papers/submit/jobs/{job_id}.json",
    operation_id="submission_status_page_json",
    summary="The twin of the page that watches a submission: `GET /api/papers/submit/jobs/{id}` for a "
    "session.",
    response_class=JSONResponse,
    response_model=shapes.SubmissionJob,
    responses=errors(400, 401, 403, 404),
    openapi_extra=needs(SESSION),
)
def submission_status_json(job_id: int, account: RequiredAccount, submissions: SubmissionsDep):
    return JSONResponse(_fetch_json(_fetch_status(submissions, account, job_id)))


@pages_router.get("/papers/submit/jobs/{job_id}")
def submission_status_page(
    job_id: int, request: Request, account: RequiredAccount, submissions: SubmissionsDep
):
    """While arXiv is asked: a page that looks again every two seconds (no JavaScript needed); then the
    paper, or the form with the reason it failed."""
    status = _fetch_status(submissions, account, job_id)
    if status.status == "done":
        return RedirectResponse(f"/papers/{status.arxiv_id}?submitted=1", status_code=303)
    if status.status == "failed":
        context = {"error": status.error, "arxiv": status.arxiv_id, "comment": ""}
        return _submit_page(request, context, 200)
    return request.app.state.templates.TemplateResponse(
        request, "submit_fetching.html", {"status": status}, headers={"Cache-Control": "no-store"}
    )


# -- upvotes ----------------------------------------------------------------------------------------


def _set_upvote(request: Request, community: CommunityStore, account, value: str, on: bool) -> dict:
    arxiv_id = params.arxiv_id_or_404(value)
    who = actor(account)
    try:
        state = community.set_upvote(
            who, arxiv_id, on, first=setting_in(request, "upvote", str(account.id), "upvote")
        )
    except NotFound as exc:
        raise _http(exc) from None
    return {"id": arxiv_id, "upvotes": state.upvotes, "upvoted": state.upvoted}


UPVOTE_DOCS = {
    "response_class": JSONResponse,
    "response_model": shapes.UpvoteState,
    "responses": errors(401, 403, 404, 429),
    "openapi_extra": WRITE,
}


@router.post(
    "/api/papers/{arxiv_id:path}/upvote",
    operation_id="upvote_paper",
    summary="Upvote a paper (idempotent).",
    **UPVOTE_DOCS,
)
async def api_upvote(arxiv_id: str, request: Request, community: CommunityDep):
    return JSONResponse(
        await _api_write(request, lambda account: _set_upvote(request, community, account, arxiv_id, True))
    )


@router.delete(
    "/api/papers/{arxiv_id:path}/upvote",
    operation_id="remove_upvote",
    summary="Take back an upvote (idempotent).",
    **UPVOTE_DOCS,
)
async def api_remove_upvote(arxiv_id: str, request: Request, community: CommunityDep):
    return JSONResponse(
        await _api_write(request, lambda account: _set_upvote(request, community, account, arxiv_id, False))
    )


@pages_router.post("/papers/{arxiv_id:path}/upvote", dependencies=[CsrfProtected])
def upvote_post(
    arxiv_id: str,
    request: Request,
    account: RequiredAccount,
    community: CommunityDep,
    action: Annotated[str, Form()] = "add",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    """The card's button. `action` is what the reader saw the button offer ("add" or "remove"), not a
    toggle: a double click, or a page open in two tabs, asks for the same thing twice and gets it once."""
    if action not in ("add", "remove"):
        raise HTTPException(400, "action must be add or remove")
    result = _set_upvote(request, community, account, arxiv_id, action == "add")
    if params.wants_json(request):
        return JSONResponse(result)
    back = safe_next(next) if next else f"/papers/{result['id']}"
    return RedirectResponse(back, status_code=303)


# -- comments ---------------------------------------------------------------------------------------


def comment_json(view: CommentView) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": view.id,
        "parentId": view.parent_id,
        "author": hf_shapes.user(view.author),
        "isPaperAuthor": view.is_paper_author,
        "createdAt": hf_shapes.timestamp(view.created_at),
        "editedAt": hf_shapes.timestamp(view.edited_at),
        "deleted": view.deleted,
        "hidden": view.hidden,
        "body": view.body,
        "html": view.html,
    }
    if view.parent_id is None:
        body["replies"] = [comment_json(r) for r in view.replies]
    return body


def comments_page_json(page: CommentsPage, number: int) -> dict[str, Any]:
    return {
        "comments": [comment_json(c) for c in page.comments],
        "total": page.total,
        "page": number,
        "limit": page.limit,
        "hasMore": page.has_more,
    }


def _viewer(account) -> Actor | None:
    """Who reads (moderators also see hidden comments); reading needs no confirmed address."""
    return Actor(account.id, account.username, account.role) if account is not None else None


@router.get(
    "/api/papers/{arxiv_id:path}/comments",
    operation_id="list_comments",
    summary="A paper's discussion: top-level comments oldest first, each with its replies, paginated.",
    response_class=JSONResponse,
    response_model=shapes.CommentsPage,
    responses=errors(400, 404),
    openapi_extra=reads(BEARER, SESSION),
)
async def api_comments(
    arxiv_id: str,
    request: Request,
    community: CommunityDep,
    page: Annotated[int, params.page_query(MAX_COMMENT_PAGE)],
    limit: Annotated[int, params.limit_query(100, COMMENTS_PAGE_SIZE, "Threads")],
):
    def read() -> JSONResponse:
        account = current_account(request) if _has_credentials(request) else None
        paper_id = _paper_id(community, arxiv_id)
        found = community.comments_page(paper_id, offset=page * limit, limit=limit, viewer=_viewer(account))
        return JSONResponse(comments_page_json(found, page))

    return await run_in_threadpool(read)


class CommentIn(BaseModel):
    """A comment: Markdown in `comment` (or `body`); `parentId` to reply to a top-level comment."""

    model_config = ConfigDict(extra="ignore")
    comment: str | None = Field(None, max_length=20_000)
    body: str | None = Field(None, max_length=20_000)
    parentId: int | None = Field(None, description="The comment replied to.")  # noqa: N815


def _add_comment(
    request: Request,
    community: CommunityStore,
    account,
    arxiv_id: str,
    body: str | None,
    parent_id: int | None,
):
    arxiv_id = params.arxiv_id_or_404(arxiv_id)
    if parent_id is not None:
        params.id_or_404(parent_id, PARENT_NOT_FOUND)
    who = actor(account)
    first = setting_in(request, "comment", str(account.id), "comment")
    try:
        # By arXiv id: the store finds the paper as it locks it, one statement instead of two.
        return community.add_comment(who, arxiv_id, body or "", parent_id=parent_id, first=first)
    except (NotFound, Forbidden, Conflict, InvalidComment) as exc:
        raise _http(exc) from None


@router.post(
    "/api/papers/{arxiv_id:path}/comments",
    operation_id="add_comment",
    summary="Comment on a paper, or reply to a comment (`parentId`). Markdown.",
    status_code=201,
    response_class=JSONResponse,
    response_model=shapes.Comment,
    responses=errors(400, 401, 403, 404, 409, 429),
    openapi_extra=WRITE,
)
async def api_add_comment(arxiv_id: str, body: CommentIn, request: Request, community: CommunityDep):
    def write(account) -> JSONResponse:
        view = _add_comment(request, community, account, arxiv_id, body.comment or body.body, body.parentId)
        return JSONResponse(comment_json(view), status_code=201)

    return await _api_write(request, write)


class CommentEditIn(BaseModel):
    """The comment's new Markdown, in `comment` (or `body`)."""

    model_config = ConfigDict(extra="ignore")
    comment: str | None = Field(None, max_length=20_000)
    body: str | None = Field(None, max_length=20_000)


def _edit(
    request: Request, community: CommunityStore, account, comment_id: int, body: str | None
) -> CommentView:
    params.id_or_404(comment_id, COMMENT_NOT_FOUND)
    check_setting(request, "comment", str(account.id), "comment")
    try:
        return community.edit_comment(actor(account), comment_id, body or "")
    except (NotFound, Forbidden, Conflict, InvalidComment) as exc:
        raise _http(exc) from None


def _delete(community: CommunityStore, account, comment_id: int) -> None:
    params.id_or_404(comment_id, COMMENT_NOT_FOUND)
    try:
        community.delete_comment(actor(account), comment_id)
    except (NotFound, Forbidden, Conflict, InvalidComment) as exc:
        raise _http(exc) from None


@router.patch(
    "/api/comments/{comment_id}",
    operation_id="edit_comment",
    summary="Edit your own comment.",
    response_class=JSONResponse,
    response_model=shapes.Comment,
    responses=errors(400, 401, 403, 404, 409, 429),
    openapi_extra=WRITE,
)
def api_edit_comment(
    comment_id: int,
    body: CommentEditIn,
    request: Request,
    account: RequiredAccount,
    _csrf: Csrf,
    community: CommunityDep,
):
    return JSONResponse(
        comment_json(_edit(request, community, account, comment_id, body.comment or body.body))
    )


@router.delete(
    "/api/comments/{comment_id}",
    operation_id="delete_comment",
    summary="Delete your own comment.",
    status_code=204,
    responses={204: {"description": "Deleted."}, **errors(400, 401, 403, 404, 409)},
    openapi_extra=WRITE,
)
def api_delete_comment(comment_id: int, account: RequiredAccount, _csrf: Csrf, community: CommunityDep):
    _delete(community, account, comment_id)
    return Response(status_code=204)


# A comment form that fails for a reason its writer can fix (empty, too long, a reply to a comment deleted
# meanwhile, an address not confirmed yet) shows the paper page again, the text kept and the reason next to
# the field, with the error's status; a missing paper or a rate limit stays a page of its own.
FIXABLE = (400, 403, 409, 422)


def _comment_form_failed(request: Request, exc: HTTPException, arxiv_id: str, target: str, body: str):
    if exc.status_code not in FIXABLE:
        raise exc
    request.state.comment_form = {"target": target, "body": body, "error": exc.detail}
    return request.app.state.render_paper(request, arxiv_id, exc.status_code)


@pages_router.post("/papers/{arxiv_id:path}/comments", dependencies=[CsrfProtected])
def comment_post(
    arxiv_id: str,
    request: Request,
    account: RequiredAccount,
    community: CommunityDep,
    body: Annotated[str, Form(max_length=20_000)] = "",
    parent_id: Annotated[int | None, Form()] = None,
):
    try:
        view = _add_comment(request, community, account, arxiv_id, body, parent_id)
    except HTTPException as exc:
        target = "new" if parent_id is None else f"reply-{parent_id}"
        return _comment_form_failed(request, exc, params.arxiv_id_or_404(arxiv_id), target, body)
    return RedirectResponse(f"/papers/{params.arxiv_id_or_404(arxiv_id)}#comment-{view.id}", status_code=303)


@pages_router.post("/comments/{comment_id}/edit", dependencies=[CsrfProtected])
def comment_edit_post(
    comment_id: int,
    request: Request,
    account: RequiredAccount,
    community: CommunityDep,
    store: StoreDep,
    body: Annotated[str, Form(max_length=20_000)] = "",
):
    try:
        view = _edit(request, community, account, comment_id, body)
    except HTTPException as exc:
        paper_id = _own_comment_paper(community, account, comment_id) if exc.status_code in FIXABLE else None
        if paper_id is None:
            raise
        return _comment_form_failed(request, exc, _arxiv_of(store, paper_id), f"edit-{comment_id}", body)
    return RedirectResponse(f"/papers/{_arxiv_of(store, view.paper_id)}#comment-{view.id}", status_code=303)


def _own_comment_paper(community: CommunityStore, account, comment_id: int) -> int | None:
    """The paper of a comment the account wrote and may still see, else None."""
    try:
        found = community.comment(comment_id, viewer=_viewer(account))
    except NotFound:
        return None
    return found.paper_id if found.author.id == account.id else None


@pages_router.get("/comments/{comment_id}/delete")
def comment_delete_form(comment_id: int, request: Request, account: RequiredAccount, community: CommunityDep):
    """The question before a comment goes: the comment, a button that deletes it, a way back."""
    params.id_or_404(comment_id, COMMENT_NOT_FOUND)
    try:
        found = community.comment(comment_id, viewer=_viewer(account))
    except NotFound as exc:
        raise _http(exc) from None
    if found.author.id != account.id or found.deleted:
        raise HTTPException(403, "You can only delete your own comments.")
    context = {"comment": found, "arxiv_id": _arxiv_of(request.app.state.store, found.paper_id)}
    return request.app.state.templates.TemplateResponse(request, "comment_delete.html", context)


@pages_router.post("/comments/{comment_id}/delete", dependencies=[CsrfProtected])
def comment_delete_post(comment_id: int, account: RequiredAccount, community: CommunityDep, store: StoreDep):
    params.id_or_404(comment_id, COMMENT_NOT_FOUND)
    try:
        paper_id = community.comment(comment_id, viewer=actor(account)).paper_id
    except NotFound as exc:
        raise _http(exc) from None
    _delete(community, account, comment_id)
    return RedirectResponse(f"/papers/{_arxiv_of(store, paper_id)}#comments", status_code=303)


def _arxiv_of(store, paper_id: int) -> str:
    views = store.get_many([paper_id])
    if not views:
        raise HTTPException(404, params.PAPER_NOT_FOUND)
    return views[0].arxiv_id


def paper_extras(request: Request, view: PaperView) -> dict[str, Any]:
    """What the paper page shows of the community: upvoters, the discussion, the submitter's note."""
    community: CommunityStore = request.app.state.community
    account = account_of(request)
    page_number = params.query_integer(request, "cp", 0, MAX_COMMENT_PAGE, 0)
    upvoters, total = community.upvoters(view.id, limit=60)
    comments = community.comments_page(
        view.id, offset=page_number * COMMENTS_PAGE_SIZE, limit=COMMENTS_PAGE_SIZE, viewer=_viewer(account)
    )
    return {
        "upvoters": upvoters,
        "upvoter_count": total,
        "comments": comments,
        "comments_page": page_number,
        "submission_note": community.submission_note(view.id),
        "comment_form": getattr(request.state, "comment_form", None),
    }


# -- moderation -------------------------------------------------------------------------------------


def _moderate(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except (NotFound, Forbidden, Conflict, InvalidComment) as exc:
        raise _http(exc) from None


@pages_router.post("/moderation/comments/{comment_id}", dependencies=[CsrfProtected])
def moderate_comment(
    comment_id: int,
    account: ModeratorAccount,
    community: CommunityDep,
    action: Annotated[str, Form()] = "hide",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ("hide", "unhide"):
        raise HTTPException(400, "action must be hide or unhide")
    _moderate(
        community.hide_comment,
        actor(account),
        params.id_or_404(comment_id, COMMENT_NOT_FOUND),
        hidden=action == "hide",
        reason=reason,
    )
    return RedirectResponse(safe_next(next) if next else "/moderation", status_code=303)


@pages_router.post("/moderation/papers/{arxiv_id:path}", dependencies=[CsrfProtected])
def moderate_entry(
    arxiv_id: str,
    account: ModeratorAccount,
    store: StoreDep,
    community: CommunityDep,
    action: Annotated[str, Form()] = "remove",
    day: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ("remove", "restore"):
        raise HTTPException(400, "action must be remove or restore")
    on_day = params.date(day, "day")
    view = params.paper_or_404(store, arxiv_id)
    _moderate(
        community.remove_entry, actor(account), view.id, on_day, reason=reason, restore=action == "restore"
    )
    return RedirectResponse(safe_next(next) if next else "/moderation", status_code=303)


@pages_router.post("/moderation/users", dependencies=[CsrfProtected])
def moderate_user(
    account: ModeratorAccount,
    community: CommunityDep,
    username: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[str, Form()] = "suspend",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ("suspend", "unsuspend"):
        raise HTTPException(400, "action must be suspend or unsuspend")
    user_id = community.user_id(username[:64])
    if user_id is None:
        raise HTTPException(404, "No such user")
    _moderate(community.suspend, actor(account), user_id, suspended=action == "suspend", reason=reason)
    return RedirectResponse(safe_next(next) if next else "/moderation", status_code=303)


def _moderation_entries(community: CommunityStore, page: int) -> tuple[list[dict[str, Any]], bool]:
    entries = community.moderation_entries(offset=page * MODERATION_PAGE_SIZE, limit=MODERATION_PAGE_SIZE + 1)
    return entries[:MODERATION_PAGE_SIZE], len(entries) > MODERATION_PAGE_SIZE


def moderation_entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    """A log entry for the twin: the paper named once (as `paper`), the time as Hugging Face writes it; the
    store's row is left as it was."""
    body = {key: value for key, value in entry.items() if key != "arxiv_id"}
    body["at"] = hf_shapes.timestamp(entry["at"])
    body["paper"] = entry.get("arxiv_id")
    return body


ModerationPage = Annotated[int, params.page_query(MAX_COMMENT_PAGE)]


@twins_router.get(
    "/moderation.json",
    operation_id="moderation_log_json",
    summary="The moderation log, newest first (moderators, signed in on the site).",
    response_class=JSONResponse,
    response_model=shapes.ModerationPage,
    responses=errors(400, 401, 403),
    openapi_extra=needs(SESSION),
)
def moderation_json(account: ModeratorAccount, community: CommunityDep, page: ModerationPage):
    entries, has_more = _moderation_entries(community, page)
    return JSONResponse(
        {"page": page, "hasMore": has_more, "entries": [moderation_entry_json(e) for e in entries]}
    )


@pages_router.get("/moderation")
def moderation_page(
    request: Request, account: ModeratorAccount, community: CommunityDep, page: ModerationPage
):
    entries, has_more = _moderation_entries(community, page)
    context = {"entries": entries, "page": page, "has_more": has_more, "now": datetime.now(UTC)}
    return request.app.state.templates.TemplateResponse(request, "moderation.html", context)


def install(app) -> None:
    """The community store, template globals and routes; call from `create_app` after the templates."""
    app.state.community = CommunityStore(app.state.store)
    env = app.state.templates.env
    env.globals["has_upvoted"] = has_upvoted
    app.include_router(router)
    app.include_router(twins_router)
    app.include_router(pages_router)
