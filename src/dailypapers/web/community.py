"""Submissions, upvotes, comments and moderation on the web: forms for browsers (working without JavaScript,
each behind a CSRF check) and the JSON API for tokens (`Authorization: Bearer ...`).

Every write is rate limited per account (settings `rate_limit_submit`, `rate_limit_comment`,
`rate_limit_upvote`), and nothing changes on a GET.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dailypapers import arxiv_ids, hf_shapes, periods
from dailypapers.accounts.model import Account
from dailypapers.community.submission import MAX_SUBMISSION_COMMENT_CHARS, SubmissionRefused
from dailypapers.papers import PaperView, UserView
from dailypapers.services.submissions import Fetching, FetchStatus, Submissions, Submitted, rules_from
from dailypapers.store.community import (
    Actor,
    CommentsPage,
    CommentView,
    CommunityStore,
    Conflict,
    Forbidden,
    NotFound,
)
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
from dailypapers.web.ratelimit import check_setting, setting_in
from dailypapers.web.responses import JSONResponse

router = APIRouter()  # registered before the pages' and API's catch-all `/papers/{...:path}` routes
pages_router = APIRouter(include_in_schema=False)

COMMENTS_PAGE_SIZE = 50
MAX_COMMENT_PAGE = 10_000


def get_community(request: Request) -> CommunityStore:
    return request.app.state.community


CommunityDep = Annotated[CommunityStore, Depends(get_community)]
# On API routes after the account: no credentials at all is a 401, a session without its token a 403.
Csrf = Annotated[None, CsrfProtected]


def actor(account) -> Actor:
    """The store's view of the account; only a confirmed address may write (submit, upvote, comment)."""
    if not account.email_verified:
        raise HTTPException(403, "Confirm your e-mail address first: follow the link we sent (see Settings).")
    profile = UserView(account.id, account.username, account.fullname, account.avatar_url)
    return Actor(account.id, account.username, account.role, profile)


def _arxiv_id(value: str) -> str:
    """The arXiv id named in a path, normalized; 404 when it is none."""
    try:
        return arxiv_ids.normalize(value)
    except arxiv_ids.InvalidArxivId:
        raise HTTPException(404, "Paper not found") from None


def _paper(store, value: str) -> PaperView:
    arxiv_id = _arxiv_id(value)
    view = store.get(arxiv_id)
    if view is None:
        raise HTTPException(404, "Paper not found")
    return view


def _paper_id(request: Request, value: str) -> tuple[int, str]:
    """(internal id, arXiv id) of a paper named in a path; 404 if it is not here. One indexed lookup."""
    arxiv_id = _arxiv_id(value)
    paper_id = request.app.state.community.paper_id(arxiv_id)
    if paper_id is None:
        raise HTTPException(404, "Paper not found")
    return paper_id, arxiv_id


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


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


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


def _submit(request: Request, account, target: str | None, comment: str | None) -> Submitted | Fetching:
    """The whole submission: rate limit, then the use case (which parses, checks the rules, and puts the
    paper on today's feed or starts fetching it from arXiv)."""
    who = actor(account)
    check_setting(request, "submit", str(account.id), "submit")
    try:
        outcome = submissions_of(request).submit(who, target, comment)
    except (SubmissionRefused, NotFound) as exc:
        raise _http(exc) from None
    if isinstance(outcome, Fetching):
        jobs = getattr(request.app.state, "jobs", None)
        if jobs is not None:
            jobs.nudge()
    return outcome


def submissions_of(request: Request) -> Submissions:
    return request.app.state.submissions


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
)
def api_submit(body: SubmitIn, request: Request, account: RequiredAccount, _csrf: Csrf):
    outcome = _submit(request, account, body.arxivId or body.url or body.id, body.comment)
    if isinstance(outcome, Fetching):
        status = FetchStatus(outcome.job_id, outcome.arxiv_id, "queued", None, None)
        headers = {"Location": f"/api/papers/submit/jobs/{outcome.job_id}"}
        return JSONResponse(_fetch_json(status), status_code=202, headers=headers)
    return JSONResponse(hf_shapes.daily_item(outcome.paper, upvoted=False), status_code=201)


def _fetch_status(request: Request, account, job_id: int) -> FetchStatus:
    status = submissions_of(request).fetch_status(job_id, account.id) if 0 < job_id < 2**31 else None
    if status is None:
        raise HTTPException(404, "No such submission of yours")
    return status


@router.get(
    "/api/papers/submit/jobs/{job_id}",
    operation_id="submission_status",
    summary="Where the fetch of a submitted paper stands: queued, running, done (with the daily item) or "
    "failed (with the reason).",
    response_class=JSONResponse,
)
def api_submission_status(job_id: int, request: Request, account: RequiredAccount):
    return JSONResponse(_fetch_json(_fetch_status(request, account, job_id)))


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
    arxiv: Annotated[str, Form(max_length=300)] = "",
    comment: Annotated[str, Form(max_length=MAX_SUBMISSION_COMMENT_CHARS)] = "",
):
    try:
        outcome = _submit(request, account, arxiv, comment)
    except HTTPException as exc:
        if exc.status_code == 429 and exc.headers:
            raise
        context = {"error": exc.detail, "arxiv": arxiv, "comment": comment}
        return _submit_page(request, context, exc.status_code)
    if isinstance(outcome, Fetching):
        return RedirectResponse(f"/papers/submit/jobs/{outcome.job_id}", status_code=303)
    return RedirectResponse(f"/papers/{outcome.paper.arxiv_id}?submitted=1", status_code=303)


@pages_router.get("/papers/submit/jobs/{job_id}")
@pages_router.get("/papers/submit/jobs/{job_id}.json")
def submission_status_page(job_id: int, request: Request, account: RequiredAccount):
    """While arXiv is asked: a page that looks again every two seconds (no JavaScript needed); then the
    paper, or the form with the reason it failed."""
    status = _fetch_status(request, account, job_id)
    if request.url.path.endswith(".json"):
        return JSONResponse(_fetch_json(status))
    if status.status == "done":
        return RedirectResponse(f"/papers/{status.arxiv_id}?submitted=1", status_code=303)
    if status.status == "failed":
        context = {"error": status.error, "arxiv": status.arxiv_id, "comment": ""}
        return _submit_page(request, context, 200)
    return request.app.state.templates.TemplateResponse(
        request, "submit_fetching.html", {"status": status}, headers={"Cache-Control": "no-store"}
    )


# -- upvotes ----------------------------------------------------------------------------------------


def _set_upvote(request: Request, account, value: str, on: bool) -> dict:
    community: CommunityStore = request.app.state.community
    arxiv_id = _arxiv_id(value)
    who = actor(account)
    try:
        state = community.set_upvote(
            who, arxiv_id, on, first=setting_in(request, "upvote", str(account.id), "upvote")
        )
    except NotFound as exc:
        raise _http(exc) from None
    return {"id": arxiv_id, "upvotes": state.upvotes, "upvoted": state.upvoted}


@router.post(
    "/api/papers/{arxiv_id:path}/upvote",
    operation_id="upvote_paper",
    summary="Upvote a paper (idempotent).",
    response_class=JSONResponse,
)
async def api_upvote(arxiv_id: str, request: Request):
    return JSONResponse(
        await _api_write(request, lambda account: _set_upvote(request, account, arxiv_id, True))
    )


@router.delete(
    "/api/papers/{arxiv_id:path}/upvote",
    operation_id="remove_upvote",
    summary="Take back an upvote (idempotent).",
    response_class=JSONResponse,
)
async def api_remove_upvote(arxiv_id: str, request: Request):
    return JSONResponse(
        await _api_write(request, lambda account: _set_upvote(request, account, arxiv_id, False))
    )


@pages_router.post("/papers/{arxiv_id:path}/upvote", dependencies=[CsrfProtected])
def upvote_post(
    arxiv_id: str,
    request: Request,
    account: RequiredAccount,
    action: Annotated[str, Form()] = "add",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    """The card's button. `action` is what the reader saw the button offer ("add" or "remove"), not a
    toggle: a double click, or a page open in two tabs, asks for the same thing twice and gets it once."""
    if action not in ("add", "remove"):
        raise HTTPException(400, "action must be add or remove")
    result = _set_upvote(request, account, arxiv_id, action == "add")
    if _wants_json(request):
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
)
async def api_comments(
    arxiv_id: str,
    request: Request,
    p: Annotated[int, Query(ge=0, le=MAX_COMMENT_PAGE, description="Page, from 0.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100, description="Threads per page (1 to 100).")] = 50,
):
    def read() -> bytes:
        account = current_account(request) if _has_credentials(request) else None
        paper_id, _ = _paper_id(request, arxiv_id)
        page = request.app.state.community.comments_page(
            paper_id, offset=p * limit, limit=limit, viewer=_viewer(account)
        )
        return JSONResponse(comments_page_json(page, p))

    return await run_in_threadpool(read)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    comment: str | None = Field(None, max_length=20_000)
    body: str | None = Field(None, max_length=20_000)
    parentId: int | None = Field(None, ge=1, le=2**62)  # noqa: N815


def _add_comment(request: Request, account, arxiv_id: str, body: str | None, parent_id: int | None):
    arxiv_id = _arxiv_id(arxiv_id)
    who = actor(account)
    first = setting_in(request, "comment", str(account.id), "comment")
    try:
        # By arXiv id: the store finds the paper as it locks it, one statement instead of two.
        return request.app.state.community.add_comment(
            who, arxiv_id, body or "", parent_id=parent_id, first=first
        )
    except (NotFound, Forbidden, Conflict) as exc:
        raise _http(exc) from None


@router.post(
    "/api/papers/{arxiv_id:path}/comments",
    operation_id="add_comment",
    summary="Comment on a paper, or reply to a comment (`parentId`). Markdown.",
    status_code=201,
    response_class=JSONResponse,
)
async def api_add_comment(arxiv_id: str, body: CommentIn, request: Request):
    def write(account) -> JSONResponse:
        view = _add_comment(request, account, arxiv_id, body.comment or body.body, body.parentId)
        return JSONResponse(comment_json(view), status_code=201)

    return await _api_write(request, write)


class CommentEditIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    comment: str | None = Field(None, max_length=20_000)
    body: str | None = Field(None, max_length=20_000)


def _edit(request: Request, account, comment_id: int, body: str | None) -> CommentView:
    check_setting(request, "comment", str(account.id), "comment")
    try:
        return request.app.state.community.edit_comment(actor(account), comment_id, body or "")
    except (NotFound, Forbidden, Conflict) as exc:
        raise _http(exc) from None


def _delete(request: Request, account, comment_id: int) -> None:
    try:
        request.app.state.community.delete_comment(actor(account), comment_id)
    except (NotFound, Forbidden, Conflict) as exc:
        raise _http(exc) from None


@router.patch(
    "/api/comments/{comment_id}",
    operation_id="edit_comment",
    summary="Edit your own comment.",
    response_class=JSONResponse,
)
def api_edit_comment(
    comment_id: int, body: CommentEditIn, request: Request, account: RequiredAccount, _csrf: Csrf
):
    return JSONResponse(
        comment_json(_edit(request, account, _comment_id(comment_id), body.comment or body.body))
    )


@router.delete(
    "/api/comments/{comment_id}",
    operation_id="delete_comment",
    summary="Delete your own comment.",
    status_code=204,
)
def api_delete_comment(comment_id: int, request: Request, account: RequiredAccount, _csrf: Csrf):
    _delete(request, account, _comment_id(comment_id))
    return Response(status_code=204)


def _comment_id(value: int) -> int:
    if not 1 <= value <= 2**62:
        raise HTTPException(404, "Comment not found")
    return value


@pages_router.post("/papers/{arxiv_id:path}/comments", dependencies=[CsrfProtected])
def comment_post(
    arxiv_id: str,
    request: Request,
    account: RequiredAccount,
    body: Annotated[str, Form(max_length=20_000)] = "",
    parent_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
):
    view = _add_comment(request, account, arxiv_id, body, parent_id)
    return RedirectResponse(f"/papers/{arxiv_ids.normalize(arxiv_id)}#comment-{view.id}", status_code=303)


@pages_router.post("/comments/{comment_id}/edit", dependencies=[CsrfProtected])
def comment_edit_post(
    comment_id: int,
    request: Request,
    account: RequiredAccount,
    body: Annotated[str, Form(max_length=20_000)] = "",
):
    view = _edit(request, account, _comment_id(comment_id), body)
    return RedirectResponse(f"/papers/{_arxiv_of(request, view.paper_id)}#comment-{view.id}", status_code=303)


@pages_router.post("/comments/{comment_id}/delete", dependencies=[CsrfProtected])
def comment_delete_post(comment_id: int, request: Request, account: RequiredAccount):
    community: CommunityStore = request.app.state.community
    try:
        paper_id = community.comment(_comment_id(comment_id), viewer=actor(account)).paper_id
    except NotFound as exc:
        raise _http(exc) from None
    _delete(request, account, comment_id)
    return RedirectResponse(f"/papers/{_arxiv_of(request, paper_id)}#comments", status_code=303)


def _arxiv_of(request: Request, paper_id: int) -> str:
    views = request.app.state.store.get_many([paper_id])
    if not views:
        raise HTTPException(404, "Paper not found")
    return views[0].arxiv_id


def paper_extras(request: Request, view: PaperView) -> dict[str, Any]:
    """What the paper page shows of the community: upvoters, the discussion, the submitter's note."""
    community: CommunityStore = request.app.state.community
    account = account_of(request)
    page_number = _comment_page_number(request)
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
    }


def _comment_page_number(request: Request) -> int:
    raw = request.query_params.get("cp", "0")
    try:
        number = int(raw)
    except ValueError:
        raise HTTPException(400, "cp must be an integer") from None
    if not 0 <= number <= MAX_COMMENT_PAGE:
        raise HTTPException(400, f"cp must be between 0 and {MAX_COMMENT_PAGE}")
    return number


# -- moderation -------------------------------------------------------------------------------------


def _moderate(call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except (NotFound, Forbidden, Conflict) as exc:
        raise _http(exc) from None


@pages_router.post("/moderation/comments/{comment_id}", dependencies=[CsrfProtected])
def moderate_comment(
    comment_id: int,
    request: Request,
    account: ModeratorAccount,
    action: Annotated[str, Form()] = "hide",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ("hide", "unhide"):
        raise HTTPException(400, "action must be hide or unhide")
    community: CommunityStore = request.app.state.community
    _moderate(
        community.hide_comment,
        actor(account),
        _comment_id(comment_id),
        hidden=action == "hide",
        reason=reason,
    )
    return RedirectResponse(safe_next(next) if next else "/moderation", status_code=303)


@pages_router.post("/moderation/papers/{arxiv_id:path}", dependencies=[CsrfProtected])
def moderate_entry(
    arxiv_id: str,
    request: Request,
    account: ModeratorAccount,
    action: Annotated[str, Form()] = "remove",
    day: Annotated[str, Form(max_length=10)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ("remove", "restore"):
        raise HTTPException(400, "action must be remove or restore")
    on_day = None
    if day:
        try:
            on_day = periods.parse_date(day)
        except periods.InvalidPeriod as exc:
            raise HTTPException(400, str(exc)) from None
    view = _paper(request.app.state.store, arxiv_id)
    community: CommunityStore = request.app.state.community
    _moderate(
        community.remove_entry, actor(account), view.id, on_day, reason=reason, restore=action == "restore"
    )
    return RedirectResponse(safe_next(next) if next else "/moderation", status_code=303)


@pages_router.post("/moderation/users", dependencies=[CsrfProtected])
def moderate_user(
    request: Request,
    account: ModeratorAccount,
    username: Annotated[str, Form(max_length=64)] = "",
    action: Annotated[str, Form()] = "suspend",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    if action not in ("suspend", "unsuspend"):
        raise HTTPException(400, "action must be suspend or unsuspend")
    community: CommunityStore = request.app.state.community
    user_id = community.user_id(username[:64])
    if user_id is None:
        raise HTTPException(404, "No such user")
    _moderate(community.suspend, actor(account), user_id, suspended=action == "suspend", reason=reason)
    return RedirectResponse(safe_next(next) if next else "/moderation", status_code=303)


@pages_router.get("/moderation")
@pages_router.get("/moderation.json")
def moderation_page(request: Request, account: ModeratorAccount, community: CommunityDep):
    raw = request.query_params.get("p", "0")
    if not raw.isdigit() or int(raw) > MAX_COMMENT_PAGE:
        raise HTTPException(400, "p must be a page number")
    page = int(raw)
    entries = community.moderation_entries(offset=page * 50, limit=51)
    has_more = len(entries) > 50
    entries = entries[:50]
    if request.url.path.endswith(".json"):
        return JSONResponse(
            {
                "page": page,
                "hasMore": has_more,
                "entries": [
                    {**e, "at": hf_shapes.timestamp(e["at"]), "paper": e.pop("arxiv_id", None)}
                    for e in entries
                ],
            }
        )
    context = {"entries": entries, "page": page, "has_more": has_more, "now": datetime.now(UTC)}
    return request.app.state.templates.TemplateResponse(request, "moderation.html", context)


def install(app) -> None:
    """The community store, template globals and routes; call from `create_app` after the templates."""
    app.state.community = CommunityStore(app.state.store)
    env = app.state.templates.env
    env.globals["has_upvoted"] = has_upvoted
    app.include_router(router)
    app.include_router(pages_router)
