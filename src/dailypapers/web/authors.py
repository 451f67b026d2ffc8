"""Author and organization pages (each with its JSON twin), claims of authorship, follows and the Following
page: forms for browsers (CSRF-checked, working without JavaScript) and the JSON API for tokens.

`/authors/{name}` takes a name as arXiv writes it; every spelling that folds to the same key (case, accents,
punctuation: dailypapers.names) is the same page, and the page says when its papers may be several people.
`/orgs/{name}` takes an organization's name or its slug (`tencent-hunyuan`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse

from dailypapers import hf_shapes, names
from dailypapers.services.authorship import Authorship, BadTarget, NotOnPaper
from dailypapers.store.authors import AuthorPage, AuthorStore, ClaimView, Follow, OrgPage, PaperLine
from dailypapers.store.community import Conflict, Forbidden, NotFound
from dailypapers.web import params, shapes
from dailypapers.web.auth import CsrfProtected, ModeratorAccount, RequiredAccount, account_of, safe_next
from dailypapers.web.community import Csrf, actor
from dailypapers.web.openapi import BEARER, SESSION, errors, needs, reads
from dailypapers.web.pages import _card_json, _render
from dailypapers.web.responses import JSONResponse

router = APIRouter()
HTML = {"include_in_schema": False}
TWIN = {"response_class": JSONResponse, "tags": ["pages"]}
API = {"response_class": JSONResponse, "tags": ["authors"]}
WRITE = needs(BEARER, SESSION)
CLAIMS_PAGE = 50
FOLLOWING_PAGE = 30
MAX_NAME_PATH = 500
AUTHOR_PAGE = 100


def _authorship(request: Request) -> Authorship:
    return request.app.state.authorship


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, NotFound):
        return HTTPException(404, str(exc))
    if isinstance(exc, Forbidden):
        return HTTPException(403, str(exc))
    if isinstance(exc, Conflict):
        return HTTPException(409, str(exc))
    return HTTPException(400, str(exc))  # NotOnPaper, BadTarget


def _following(request: Request, kind: str, key: str) -> bool | None:
    account = account_of(request)
    if account is None:
        return None
    return _authorship(request).is_following(account.id, kind, key)


def _line_json(line: PaperLine) -> dict[str, Any]:
    return {
        "id": line.arxiv_id,
        "title": line.title,
        "url": f"/papers/{line.arxiv_id}",
        "publishedAt": hf_shapes.timestamp(line.published_at),
        "day": line.day.isoformat() if line.day else None,
        "upvotes": line.upvotes,
        "categories": line.categories,
        "organization": line.organization,
    }


def _author_line_json(line: PaperLine) -> dict[str, Any]:
    return {
        **_line_json(line),
        "name": line.name or "",
        "position": line.position or 0,
        "authorCount": line.n_authors,
        "group": line.group,
        "claimedBy": line.claimed_by,
    }


def _name_count(name: str, count: int, url: str) -> dict[str, Any]:
    return {"name": name, "url": url, "papers": count}


# -- authors ----------------------------------------------------------------------------------------


def _author_or_404(request: Request, name: str) -> AuthorPage:
    store: AuthorStore = request.app.state.authors
    page = store.author(names.key(name)) if len(name) <= MAX_NAME_PATH else None
    if page is None:
        raise HTTPException(404, f"No papers by an author named {name[:200]!r} here")
    return page


def _author(request: Request, name: str, fmt: str, number: int = 0):
    page = _author_or_404(request, name)
    following = _following(request, "author", page.key)

    def body() -> dict[str, Any]:
        out = {
            "name": page.name,
            "key": page.key,
            "spellings": page.spellings,
            "ambiguous": page.ambiguous,
            "groups": page.groups,
            "accounts": page.accounts,
            "paperCount": len(page.papers),
            "totalUpvotes": page.total_upvotes,
            "firstPaper": _author_line_json(page.first) if page.first else None,
            "lastPaper": _author_line_json(page.last) if page.last else None,
            "categories": [{"category": c, "papers": n} for c, n in page.categories],
            "coauthors": [_name_count(c.name, c.count, names.author_path(c.name)) for c in page.coauthors],
            "papers": [_author_line_json(line) for line in page.papers],
        }
        if following is not None:
            out["following"] = following
        return out

    # The page lists AUTHOR_PAGE papers at a time (`?p=`); its twin lists them all.
    shown = page.papers[number * AUTHOR_PAGE : (number + 1) * AUTHOR_PAGE]
    context = {
        "author": page,
        "following": following,
        "shown": shown,
        "page": number,
        "has_more": len(page.papers) > (number + 1) * AUTHOR_PAGE,
    }
    return _render(request, fmt, "author.html", context, body)


@router.get(
    "/authors/{name:path}.json",
    operation_id="author_json",
    summary="An author: every paper under the name (any spelling that folds to it), co-authors, categories, "
    "first and last paper, upvotes; `ambiguous` when the papers may be several people.",
    response_model=shapes.AuthorPageShape,
    responses=errors(404),
    openapi_extra=reads(SESSION),
    **TWIN,
)
def author_json(name: str, request: Request):
    return _author(request, name, "json")


@router.get("/authors/{name:path}", **HTML)
def author_page(name: str, request: Request, page: params.Page):
    return _author(request, name, "html", page)


# -- organizations ----------------------------------------------------------------------------------


def _orgs(request: Request, fmt: str):
    found = request.app.state.authors.organizations()

    def body() -> dict[str, Any]:
        return {"organizations": [_name_count(o.name, o.count, names.org_path(o.name)) for o in found]}

    return _render(request, fmt, "orgs.html", {"organizations": found}, body)


@router.get(
    "/orgs.json",
    operation_id="organizations_json",
    summary="Every organization named on a paper, most papers first.",
    response_model=shapes.OrgList,
    **TWIN,
)
def orgs_json(request: Request):
    return _orgs(request, "json")


@router.get("/orgs", **HTML)
def orgs_page(request: Request):
    return _orgs(request, "html")


def _org_days(page: OrgPage) -> list[tuple[Any, list[PaperLine]]]:
    days: list[tuple[Any, list[PaperLine]]] = []
    for line in page.papers:
        if days and days[-1][0] == line.day:
            days[-1][1].append(line)
        else:
            days.append((line.day, [line]))
    return days


def _org(request: Request, name: str, fmt: str):
    store: AuthorStore = request.app.state.authors
    page = store.organization(names.org_key_of_slug(name)) if len(name) <= MAX_NAME_PATH else None
    if page is None:
        raise HTTPException(404, f"No organization named {name[:200]!r} here")
    following = _following(request, "org", page.key)
    days = _org_days(page)

    def body() -> dict[str, Any]:
        out = {
            "name": page.name,
            "key": page.key,
            "url": names.org_path(page.name),
            "spellings": page.spellings,
            "paperCount": len(page.papers),
            "totalUpvotes": page.total_upvotes,
            "days": [
                {"day": day.isoformat() if day else None, "papers": [_line_json(x) for x in lines]}
                for day, lines in days
            ],
            "trending": [_line_json(x) for x in page.trending],
            "authors": [_name_count(a.name, a.count, names.author_path(a.name)) for a in page.authors],
        }
        if following is not None:
            out["following"] = following
        return out

    context = {"org": page, "days": days, "following": following}
    return _render(request, fmt, "org.html", context, body)


@router.get(
    "/orgs/{name}.json",
    operation_id="organization_json",
    summary="An organization: its papers by day on Daily Papers, trending within it, its authors.",
    response_model=shapes.OrgPageShape,
    responses=errors(404),
    openapi_extra=reads(SESSION),
    **TWIN,
)
def org_json(name: str, request: Request):
    return _org(request, name, "json")


@router.get("/orgs/{name}", **HTML)
def org_page(name: str, request: Request):
    return _org(request, name, "html")


# -- claims -----------------------------------------------------------------------------------------


def claim_json(claim: ClaimView) -> dict[str, Any]:
    return {
        "id": claim.id,
        "paper": claim.arxiv_id,
        "title": claim.title,
        "name": claim.name,
        "position": claim.position,
        "status": claim.status,
        "user": hf_shapes.user(claim.user),
        "createdAt": hf_shapes.timestamp(claim.created_at),
        "decidedAt": hf_shapes.timestamp(claim.decided_at),
    }


def _claim(request: Request, account, arxiv_id: str, name: str) -> ClaimView:
    arxiv_id = params.arxiv_id_or_404(arxiv_id)
    try:
        return _authorship(request).claim(actor(account), arxiv_id, name)
    except (NotFound, NotOnPaper, Conflict) as exc:
        raise _http(exc) from None


@router.post(
    "/api/papers/{arxiv_id:paper}/claims",
    operation_id="claim_authorship",
    summary="Claim an author name on a paper (as the paper writes it, up to case and accents): 201 with the "
    "pending claim, for a moderator to approve. 400: not among its authors; 409: claimed already.",
    status_code=201,
    response_model=shapes.ClaimShape,
    responses=errors(400, 401, 403, 404, 409),
    openapi_extra=WRITE,
    **API,
)
def api_claim(arxiv_id: str, body: shapes.ClaimIn, request: Request, account: RequiredAccount, _csrf: Csrf):
    return JSONResponse(claim_json(_claim(request, account, arxiv_id, body.name)), status_code=201)


@router.post("/papers/{arxiv_id:paper}/claims", dependencies=[CsrfProtected], **HTML)
def claim_post(
    arxiv_id: str,
    request: Request,
    account: RequiredAccount,
    name: Annotated[str, Form(max_length=500)] = "",
):
    claim = _claim(request, account, arxiv_id, name)
    return RedirectResponse(f"/papers/{claim.arxiv_id}?claimed={claim.id}#authors", status_code=303)


@router.get(
    "/api/claims",
    operation_id="my_claims",
    summary="Your claims of authorship, newest first.",
    response_model=shapes.ClaimList,
    responses=errors(400, 401, 403),
    openapi_extra=needs(BEARER, SESSION),
    **API,
)
def api_my_claims(request: Request, account: RequiredAccount, page: params.Page):
    found = request.app.state.authors.claims(
        user_id=account.id, offset=page * CLAIMS_PAGE, limit=CLAIMS_PAGE + 1
    )
    return JSONResponse(
        {
            "page": page,
            "hasMore": len(found) > CLAIMS_PAGE,
            "claims": [claim_json(c) for c in found[:CLAIMS_PAGE]],
        }
    )


@router.delete(
    "/api/claims/{claim_id}",
    operation_id="withdraw_claim",
    summary="Take back your own claim (pending or approved).",
    status_code=204,
    responses={204: {"description": "Withdrawn."}, **errors(400, 401, 403, 404)},
    openapi_extra=WRITE,
    tags=["authors"],
)
def api_withdraw(claim_id: int, request: Request, account: RequiredAccount, _csrf: Csrf):
    params.id_or_404(claim_id, "No such claim of yours")
    try:
        _authorship(request).withdraw(actor(account), claim_id)
    except NotFound as exc:
        raise _http(exc) from None
    return Response(status_code=204)


def _decide(request: Request, account, claim_id: int, action: str, reason: str) -> ClaimView:
    if action not in ("approve", "reject"):
        raise HTTPException(400, "action must be approve or reject")
    params.id_or_404(claim_id, "No such claim")
    try:
        return _authorship(request).decide(actor(account), claim_id, action == "approve", reason)
    except (NotFound, Forbidden, Conflict) as exc:
        raise _http(exc) from None


@router.post(
    "/api/claims/{claim_id}/decision",
    operation_id="decide_claim",
    summary="Approve or reject a pending claim (moderators). 409 when it was decided already.",
    response_model=shapes.ClaimShape,
    responses=errors(400, 401, 403, 404, 409),
    openapi_extra=WRITE,
    **API,
)
def api_decide(
    claim_id: int, body: shapes.ClaimDecisionIn, request: Request, account: ModeratorAccount, _csrf: Csrf
):
    return JSONResponse(claim_json(_decide(request, account, claim_id, body.action, body.reason)))


@router.post("/moderation/claims/{claim_id}", dependencies=[CsrfProtected], **HTML)
def decide_post(
    claim_id: int,
    request: Request,
    account: ModeratorAccount,
    action: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    _decide(request, account, claim_id, action, reason)
    return RedirectResponse(safe_next(next) if next else "/moderation/claims", status_code=303)


def _pending(request: Request, page: int, fmt: str):
    found = request.app.state.authors.claims(
        status="pending", offset=page * CLAIMS_PAGE, limit=CLAIMS_PAGE + 1
    )
    has_more = len(found) > CLAIMS_PAGE
    found = found[:CLAIMS_PAGE]
    body = {"page": page, "hasMore": has_more, "claims": [claim_json(c) for c in found]}
    return _render(request, fmt, "claims.html", {"claims": found, "page": page, "has_more": has_more}, body)


@router.get(
    "/moderation/claims.json",
    operation_id="pending_claims_json",
    summary="Claims of authorship waiting for a moderator, newest first (moderators, signed in).",
    response_model=shapes.ClaimList,
    responses=errors(400, 401, 403),
    openapi_extra=needs(SESSION),
    **TWIN,
)
def pending_json(request: Request, account: ModeratorAccount, page: params.Page):
    return _pending(request, page, "json")


@router.get("/moderation/claims", **HTML)
def pending_page(request: Request, account: ModeratorAccount, page: params.Page):
    return _pending(request, page, "html")


# -- follows ----------------------------------------------------------------------------------------


def follow_json(item: Follow) -> dict[str, Any]:
    url = {
        "author": names.author_path(item.label),
        "org": names.org_path(item.label),
        "category": f"/search?category={item.key}",
    }[item.kind]
    return {
        "kind": item.kind,
        "name": item.label,
        "key": item.key,
        "url": url,
        "createdAt": hf_shapes.timestamp(item.created_at),
    }


def _follows_json(request: Request, account) -> dict[str, Any]:
    return {"follows": [follow_json(f) for f in _authorship(request).follows(account.id)]}


def _set_follow(request: Request, account, kind: str, name: str, on: bool) -> bool:
    actor(account)  # a confirmed address, as for every other write
    try:
        if on:
            return _authorship(request).follow(account.id, kind, name)[1]
        return _authorship(request).unfollow(account.id, kind, name)
    except (NotFound, BadTarget, Conflict) as exc:
        raise _http(exc) from None


@router.get(
    "/api/follows",
    operation_id="list_follows",
    summary="The authors, organizations and arXiv categories you follow.",
    response_model=shapes.FollowList,
    responses=errors(401, 403),
    openapi_extra=needs(BEARER, SESSION),
    **API,
)
def api_follows(request: Request, account: RequiredAccount):
    return JSONResponse(_follows_json(request, account))


@router.post(
    "/api/follows",
    operation_id="follow",
    summary="Follow an author, an organization or an arXiv category (idempotent): 201 when new, 200 when "
    "followed already; the list of what you follow.",
    status_code=201,
    response_model=shapes.FollowList,
    responses={
        200: {"model": shapes.FollowList, "description": "Followed already."},
        **errors(400, 401, 403, 404, 409),
    },
    openapi_extra=WRITE,
    **API,
)
def api_follow(body: shapes.FollowIn, request: Request, account: RequiredAccount, _csrf: Csrf):
    new = _set_follow(request, account, body.kind, body.name, True)
    return JSONResponse(_follows_json(request, account), status_code=201 if new else 200)


@router.delete(
    "/api/follows/{kind}/{name:path}",
    operation_id="unfollow",
    summary="Stop following (idempotent).",
    status_code=204,
    responses={204: {"description": "Not followed (any more)."}, **errors(400, 401, 403)},
    openapi_extra=WRITE,
    tags=["authors"],
)
def api_unfollow(kind: str, name: str, request: Request, account: RequiredAccount, _csrf: Csrf):
    _set_follow(request, account, kind, name, False)
    return Response(status_code=204)


@router.post("/follows", dependencies=[CsrfProtected], **HTML)
def follow_post(
    request: Request,
    account: RequiredAccount,
    kind: Annotated[str, Form(max_length=16)] = "",
    name: Annotated[str, Form(max_length=500)] = "",
    action: Annotated[str, Form()] = "follow",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    """The Follow button: `action` is what the button offered (follow or unfollow), not a toggle."""
    if action not in ("follow", "unfollow"):
        raise HTTPException(400, "action must be follow or unfollow")
    _set_follow(request, account, kind, name, action == "follow")
    return RedirectResponse(safe_next(next) if next else "/following", status_code=303)


def _why(view, followed) -> list[str]:
    reasons = []
    keys = {names.key(a) for a in view.authors}
    reasons += [f"author {k}" for k in followed.authors if k in keys]
    if view.organization and names.key(view.organization) in followed.orgs:
        reasons.append(f"organization {view.organization}")
    reasons += [f"category {c}" for c in view.categories if c in followed.categories]
    return reasons


def _following_page(request: Request, account, page: int, fmt: str):
    service = _authorship(request)
    mine = service.follows(account.id)
    followed = service.followed(account.id)
    ids = service.following_ids(account.id, offset=page * FOLLOWING_PAGE, limit=FOLLOWING_PAGE + 1)
    views = request.app.state.store.get_many(ids[:FOLLOWING_PAGE])
    has_more = len(ids) > FOLLOWING_PAGE
    why = {v.id: _why(v, followed) for v in views}
    body = {
        "follows": [follow_json(f) for f in mine],
        "page": page,
        "hasMore": has_more,
        "papers": [{**_card_json(v), "why": why[v.id]} for v in views],
    }
    context = {"follows": mine, "papers": views, "why": why, "page": page, "has_more": has_more}
    return _render(request, fmt, "following.html", context, body)


@router.get(
    "/following.json",
    operation_id="following_json",
    summary="New papers of the authors, organizations and categories you follow, newest first.",
    response_model=shapes.FollowingPage,
    responses=errors(400, 401, 403),
    openapi_extra=needs(SESSION),
    **TWIN,
)
def following_json(request: Request, account: RequiredAccount, page: params.Page):
    return _following_page(request, account, page, "json")


@router.get("/following", **HTML)
def following_page(request: Request, account: RequiredAccount, page: params.Page):
    return _following_page(request, account, page, "html")


def install(app) -> None:
    """The author store, the use cases and the routes; call from `create_app` after `community.install`
    and before the pages' catch-all routes."""
    app.state.authors = AuthorStore(app.state.store.engine)
    app.state.authorship = Authorship(app.state.authors, app.state.community)
    env = app.state.templates.env
    env.filters["author_url"] = names.author_path
    env.filters["org_url"] = names.org_path
    app.include_router(router)
