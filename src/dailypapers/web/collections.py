"""Collections on the web: Hugging Face's collections API for paper items under `/api/collections` (so the
real `huggingface_hub` client reads and writes them with a personal API token), and the pages: trending
collections, a reader's collections, a collection (with its JSON twin, BibTeX and CSL-JSON), and the
"Add to collection" form on every card and paper page (no JavaScript needed; static/collect.js sends the
same form in place).

A collection that is private and not the caller's, or not the caller's when they change it, is a 404 with
the same message as one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from dailypapers.curation import hf, rules
from dailypapers.curation.model import CollectionView
from dailypapers.curation.rules import (
    CollectionNotFound,
    DuplicateCollection,
    DuplicateItem,
    InvalidCollection,
    ItemNotFound,
)
from dailypapers.papers import PaperView
from dailypapers.services.collections import Collections
from dailypapers.store.collections import UNSET, PaperNotHere
from dailypapers.web import citations, params, shapes
from dailypapers.web.auth import CsrfProtected, RequiredAccount, account_of, current_account, safe_next
from dailypapers.web.community import actor
from dailypapers.web.openapi import BEARER, SESSION, errors, json_errors, needs, reads
from dailypapers.web.params import Page
from dailypapers.web.ratelimit import check_setting
from dailypapers.web.responses import BibtexResponse, CslJsonResponse, JSONResponse

api_router = APIRouter(tags=["collections"])
twins_router = APIRouter(tags=["pages"])
pages_router = APIRouter(include_in_schema=False)

WRITE = needs(BEARER, SESSION)
Csrf = Annotated[None, CsrfProtected]
LIST_LIMIT = 100
LIST_LIMIT_DEFAULT = 20
PAGE_SIZE = 30
HOLDING_SHOWN = 20
MAX_FIELD = 5000  # longer than any field may be: the rules' own messages speak for the shorter ones
NOT_FOUND = "Collection not found"


def collections_of(request: Request) -> Collections:
    return request.app.state.collections


def _http(exc: Exception) -> HTTPException:
    if isinstance(exc, CollectionNotFound | ItemNotFound | PaperNotHere):
        return HTTPException(404, str(exc))
    if isinstance(exc, DuplicateItem | DuplicateCollection):
        return HTTPException(409, str(exc))
    return HTTPException(400, str(exc))


_REFUSALS = (
    CollectionNotFound,
    ItemNotFound,
    PaperNotHere,
    DuplicateItem,
    DuplicateCollection,
    InvalidCollection,
)


def _call(work, *args, **kwargs):
    """The store's refusals as HTTP answers; a duplicate collection's answer names its slug (the client's
    `create_collection(exists_ok=True)` reads it)."""
    try:
        return work(*args, **kwargs)
    except DuplicateCollection as exc:
        raise _Conflict(str(exc), exc.slug) from None
    except _REFUSALS as exc:
        raise _http(exc) from None


class _Conflict(HTTPException):
    def __init__(self, message: str, slug: str) -> None:
        super().__init__(409, message)
        self.slug = slug


def _slug(owner: str, rest: str) -> rules.SlugParts:
    try:
        return rules.parse_slug(owner, rest)
    except InvalidCollection as exc:
        raise HTTPException(400, str(exc)) from None


def _viewer_id(request: Request) -> int | None:
    account = current_account(request) if _has_credentials(request) else None
    return account.id if account is not None else None


def _has_credentials(request: Request) -> bool:
    return "cookie" in request.headers or "authorization" in request.headers


def _writer(request: Request, account) -> int:
    """The account's id, once it may write (a confirmed address) and is within its rate."""
    who = actor(account)
    check_setting(request, "collection", str(account.id), "collection")
    return who.id


def _json(request: Request, view: CollectionView, status: int = 200) -> JSONResponse:
    viewer = _viewer_id(request)
    upvoted = None
    if viewer is not None:
        upvoted = view.id in collections_of(request).store.upvoted_among(viewer, [view.id])
    return JSONResponse(hf.collection(view, upvoted), status_code=status)


def _get(request: Request, slug: rules.SlugParts) -> CollectionView:
    return _call(collections_of(request).store.get, slug, _viewer_id(request))


# -- the API ----------------------------------------------------------------------------------------


class CreateIn(BaseModel):
    """`create_collection`: a title, the namespace (your username), a description, private or not."""

    model_config = ConfigDict(extra="ignore")
    title: str = Field(max_length=MAX_FIELD)
    namespace: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=MAX_FIELD)
    private: bool = False
    theme: str | None = Field(None, max_length=32)


class UpdateIn(BaseModel):
    """`update_collection_metadata`: only what is given changes."""

    model_config = ConfigDict(extra="ignore")
    title: str | None = Field(None, max_length=MAX_FIELD)
    description: str | None = Field(None, max_length=MAX_FIELD)
    position: int | None = Field(None, ge=0, le=100_000)
    private: bool | None = None
    theme: str | None = Field(None, max_length=32)


class ItemRef(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(max_length=300)
    type: str = Field(max_length=32)


class AddItemIn(BaseModel):
    """`add_collection_item`: `{"item": {"id": "2401.00001", "type": "paper"}, "note": "..."}`."""

    model_config = ConfigDict(extra="ignore")
    item: ItemRef
    note: str | None = Field(None, max_length=MAX_FIELD)


class UpdateItemIn(BaseModel):
    """`update_collection_item`: a new note and/or position (0 is first)."""

    model_config = ConfigDict(extra="ignore")
    note: str | None = Field(None, max_length=MAX_FIELD)
    position: int | None = Field(None, ge=0, le=100_000)


COLLECTION_DOCS = {"response_class": JSONResponse, "response_model": shapes.Collection}


@api_router.get(
    "/api/collections",
    operation_id="list_collections",
    summary="Collections anyone may see (and the caller's private ones), filtered by owner and by the papers "
    "they hold (`item=papers/2401.00001`); four items each, as on Hugging Face.",
    response_class=JSONResponse,
    response_model=list[shapes.Collection],
    responses={
        200: {"headers": {"Link": {"description": 'The next page: `<...&p=N+1>; rel="next"`.'}}},
        **errors(400),
    },
    openapi_extra=reads(BEARER),
)
def list_collections(
    request: Request,
    page: Page,
    size: Annotated[int, params.limit_query(LIST_LIMIT, LIST_LIMIT_DEFAULT, "Collections")],
    owner: Annotated[list[str], Query(description="Owners' usernames (any of them).", max_length=20)] = [],  # noqa: B006
    item: Annotated[
        list[str], Query(description="Items they hold, as `papers/2401.00001` (any of them).", max_length=20)
    ] = [],  # noqa: B006
    sort: Annotated[
        Literal["lastModified", "trending", "upvotes"] | None,
        Query(description="`lastModified` (default), `trending` (upvotes of the last 7 days) or `upvotes`."),
    ] = None,
):
    for name in owner:
        if len(name) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise params.bad_request("owner must be a username")
    service = collections_of(request)
    wanted, filtered = _call(service.item_filter, item)
    if filtered and not wanted:
        views: list[CollectionView] = []  # only models, datasets...: none of those here
    else:
        views = _call(
            service.store.list,
            viewer_id=_viewer_id(request),
            owners=owner,
            arxiv_ids=wanted,
            sort=sort or "lastModified",
            offset=page * size,
            limit=size,
        )
    viewer = _viewer_id(request)
    voted = service.store.upvoted_among(viewer, [v.id for v in views]) if viewer is not None else None
    response = JSONResponse(
        [hf.collection(v, None if voted is None else v.id in voted, listed=True) for v in views]
    )
    if len(views) == size:
        query = [(k, v) for k, v in request.query_params.multi_items() if k != "p"] + [("p", str(page + 1))]
        base = request.app.state.settings.base_url
        response.headers["Link"] = f'<{base}/api/collections?{urlencode(query)}>; rel="next"'
    return response


@api_router.post(
    "/api/collections",
    operation_id="create_collection",
    summary="Create a collection in your own namespace; 409 (with the existing `slug`) when you have one of "
    "that title.",
    status_code=201,
    responses={
        409: {"model": shapes.CollectionConflict, "description": "You have a collection of that title."},
        **errors(400, 401, 403, 429),
    },
    openapi_extra=WRITE,
    **COLLECTION_DOCS,
)
def create_collection(body: CreateIn, request: Request, account: RequiredAccount, _csrf: Csrf):
    owner_id = _writer(request, account)
    if body.namespace is not None and body.namespace.lower() != account.username.lower():
        raise HTTPException(403, "You can create collections in your own namespace only")
    store = collections_of(request).store
    try:
        made = _call(
            store.create,
            owner_id,
            body.title,
            description=body.description,
            private=body.private,
            theme=body.theme,
        )
    except _Conflict as exc:
        return JSONResponse({"error": exc.detail, "slug": exc.slug}, status_code=409)
    return _json(request, made, 201)


@api_router.get(
    "/api/collections/{owner}/{slug}",
    operation_id="get_collection",
    summary="A collection with all its items in order (a private one for its owner only: 404 to others).",
    responses=errors(400, 404),
    openapi_extra=reads(BEARER),
    **COLLECTION_DOCS,
)
def get_collection(owner: str, slug: str, request: Request):
    return _json(request, _get(request, _slug(owner, slug)))


@api_router.patch(
    "/api/collections/{owner}/{slug}",
    operation_id="update_collection_metadata",
    summary="Change a collection's title, description, position, privacy or theme (its slug's id stays).",
    response_class=JSONResponse,
    response_model=shapes.CollectionUpdated,
    responses=errors(400, 401, 403, 404, 409, 429),
    openapi_extra=WRITE,
)
def update_collection(
    owner: str, slug: str, body: UpdateIn, request: Request, account: RequiredAccount, _csrf: Csrf
):
    parts = _slug(owner, slug)
    actor_id = _writer(request, account)
    given = body.model_fields_set
    view = _call(
        collections_of(request).store.update,
        parts,
        actor_id,
        title=body.title,
        description=body.description if "description" in given else UNSET,
        private=body.private,
        theme=body.theme,
        position=body.position,
    )
    return JSONResponse({"success": True, "data": hf.collection(view)})


@api_router.delete(
    "/api/collections/{owner}/{slug}",
    operation_id="delete_collection",
    summary="Delete a collection of yours, with its items.",
    response_class=JSONResponse,
    response_model=shapes.Done,
    responses=errors(400, 401, 403, 404, 429),
    openapi_extra=WRITE,
)
def delete_collection(owner: str, slug: str, request: Request, account: RequiredAccount, _csrf: Csrf):
    parts = _slug(owner, slug)
    _call(collections_of(request).store.delete, parts, _writer(request, account))
    return JSONResponse({"success": True})


@api_router.post(
    "/api/collections/{owner}/{slug}/items",
    operation_id="add_collection_item",
    summary='Add a paper (`item.type` "paper") at the end, with a note of up to 500 characters; 409 if it '
    "is there already, 404 if we do not hold the paper.",
    responses=errors(400, 401, 403, 404, 409, 429),
    openapi_extra=WRITE,
    **COLLECTION_DOCS,
)
def add_item(owner: str, slug: str, body: AddItemIn, request: Request, account: RequiredAccount, _csrf: Csrf):
    parts = _slug(owner, slug)
    actor_id = _writer(request, account)
    service = collections_of(request)
    _call(service.add, parts, actor_id, body.item.id, body.item.type, body.note)
    return _json(request, _call(service.store.get, parts, actor_id))


def _item_id(value: str) -> int:
    number = hf.parse_item_object_id(value)
    if number is None or not params.in_range(number):
        raise HTTPException(404, "No such item in this collection")
    return number


@api_router.patch(
    "/api/collections/{owner}/{slug}/items/{item_id}",
    operation_id="update_collection_item",
    summary="Change an item's note (empty removes it) or move it (`position`, 0 is first).",
    responses=errors(400, 401, 403, 404, 429),
    openapi_extra=WRITE,
    **COLLECTION_DOCS,
)
def update_item(
    owner: str,
    slug: str,
    item_id: str,
    body: UpdateItemIn,
    request: Request,
    account: RequiredAccount,
    _csrf: Csrf,
):
    parts = _slug(owner, slug)
    actor_id = _writer(request, account)
    store = collections_of(request).store
    note = body.note if "note" in body.model_fields_set else UNSET
    _call(store.update_item, parts, actor_id, _item_id(item_id), note=note, position=body.position)
    return _json(request, _call(store.get, parts, actor_id))


@api_router.delete(
    "/api/collections/{owner}/{slug}/items/{item_id}",
    operation_id="delete_collection_item",
    summary="Remove an item from a collection of yours.",
    response_class=JSONResponse,
    response_model=shapes.Done,
    responses=errors(400, 401, 403, 404, 429),
    openapi_extra=WRITE,
)
def delete_item(owner: str, slug: str, item_id: str, request: Request, account: RequiredAccount, _csrf: Csrf):
    parts = _slug(owner, slug)
    actor_id = _writer(request, account)
    _call(collections_of(request).store.delete_item, parts, actor_id, _item_id(item_id))
    return JSONResponse({"success": True})


def _upvote(request: Request, account, owner: str, slug: str, on: bool) -> dict[str, Any]:
    parts = _slug(owner, slug)
    user_id = _writer(request, account)
    count, upvoted = _call(collections_of(request).store.set_upvote, parts, user_id, on)
    return {"slug": f"{owner}/{slug}", "upvotes": count, "upvoted": upvoted}


UPVOTE_DOCS = {
    "response_class": JSONResponse,
    "response_model": shapes.CollectionUpvote,
    "responses": errors(400, 401, 403, 404, 429),
    "openapi_extra": WRITE,
}


@api_router.post(
    "/api/collections/{owner}/{slug}/upvote",
    operation_id="upvote_collection",
    summary="Upvote a collection (idempotent).",
    **UPVOTE_DOCS,
)
def api_upvote(owner: str, slug: str, request: Request, account: RequiredAccount, _csrf: Csrf):
    return JSONResponse(_upvote(request, account, owner, slug, True))


@api_router.delete(
    "/api/collections/{owner}/{slug}/upvote",
    operation_id="remove_collection_upvote",
    summary="Take back an upvote of a collection (idempotent).",
    **UPVOTE_DOCS,
)
def api_remove_upvote(owner: str, slug: str, request: Request, account: RequiredAccount, _csrf: Csrf):
    return JSONResponse(_upvote(request, account, owner, slug, False))


# -- pages and their twins ----------------------------------------------------------------------------


def _render(request: Request, fmt: str, template: str, context: dict, body):
    if fmt == "json":
        return JSONResponse(body())
    return request.app.state.templates.TemplateResponse(request, template, context)


def _listing(request: Request, page: int, sort: str, fmt: str):
    store = collections_of(request).store
    views = store.list(viewer_id=None, sort=sort, offset=page * PAGE_SIZE, limit=PAGE_SIZE + 1)
    has_more = len(views) > PAGE_SIZE
    views = views[:PAGE_SIZE]
    context = {"collections": views, "page": page, "has_more": has_more, "sort": sort}

    def body() -> dict:
        return {
            "sort": sort,
            "page": page,
            "hasMore": has_more,
            "collections": [hf.collection(v, listed=True) for v in views],
        }

    return _render(request, fmt, "collections.html", context, body)


SortQuery = Annotated[
    Literal["trending", "upvotes", "lastModified"],
    Query(description="`trending` (upvotes of the last 7 days, the default), `upvotes` or `lastModified`."),
]


@twins_router.get(
    "/collections.json",
    operation_id="collections_json",
    summary="Public collections, trending first (the twin of /collections).",
    response_class=JSONResponse,
    response_model=shapes.CollectionsPage,
    responses=errors(400),
)
def collections_json(request: Request, page: Page, sort: SortQuery = "trending"):
    return _listing(request, page, sort, "json")


@pages_router.get("/collections")
def collections_page(request: Request, page: Page, sort: SortQuery = "trending"):
    return _listing(request, page, sort, "html")


def _owner_page(request: Request, owner: str, fmt: str):
    if not rules.OWNER.match(owner):
        raise HTTPException(404, "No such reader")
    me = account_of(request)
    mine = me is not None and me.username.lower() == owner.lower()
    store = collections_of(request).store
    views = store.list(
        viewer_id=me.id if mine else None, owners=[owner], limit=rules.MAX_COLLECTIONS_PER_OWNER, items_each=3
    )
    views.sort(key=lambda v: (v.position, -v.updated_at.timestamp()))
    context = {"owner": owner, "collections": views, "mine": mine, "themes": rules.THEMES}

    def body() -> dict:
        return {"owner": owner, "collections": [hf.collection(v) for v in views]}

    return _render(request, fmt, "collections_owner.html", context, body)


@twins_router.get(
    "/collections/{owner}.json",
    operation_id="owner_collections_json",
    summary="A reader's collections: the public ones, and the private ones too for the reader.",
    response_class=JSONResponse,
    response_model=shapes.OwnerCollections,
    responses=errors(404),
)
def owner_json(owner: str, request: Request):
    return _owner_page(request, owner, "json")


@pages_router.get("/collections/{owner}")
def owner_page(owner: str, request: Request):
    return _owner_page(request, owner, "html")


def _collection_page(request: Request, owner: str, slug: str, fmt: str):
    try:
        parts = rules.parse_slug(owner, slug)
    except InvalidCollection as exc:
        raise HTTPException(404 if fmt == "html" else 400, str(exc)) from None
    me = account_of(request)
    view = _call(collections_of(request).store.get, parts, me.id if me else None)
    if fmt == "html" and f"{owner}/{slug}" != view.slug:
        return RedirectResponse(view.url, status_code=301)  # renamed, or the owner's name in other case
    upvoted = bool(me) and view.id in collections_of(request).store.upvoted_among(me.id, [view.id])
    mine = me is not None and me.id == view.owner.id
    context = {"collection": view, "mine": mine, "upvoted": upvoted, "themes": rules.THEMES}
    return _render(
        request, fmt, "collection.html", context, lambda: hf.collection(view, upvoted if me else None)
    )


@twins_router.get(
    "/collections/{owner}/{slug}.bib",
    operation_id="collection_bibtex",
    summary="Every paper of a collection as BibTeX, in the collection's order.",
    response_class=BibtexResponse,
    responses=errors(400, 404),
)
def collection_bib(owner: str, slug: str, request: Request):
    view = _call(collections_of(request).store.get, _slug(owner, slug), _session_viewer(request))
    return BibtexResponse(citations.bibtex_all([i.paper for i in view.items]))


@twins_router.get(
    "/collections/{owner}/{slug}.csl.json",
    operation_id="collection_csl_json",
    summary="Every paper of a collection as CSL-JSON (Zotero, Pandoc, citeproc), in the collection's order.",
    response_class=CslJsonResponse,
    response_model=list[dict[str, Any]],
    responses=json_errors(400, 404),
)
def collection_csl(owner: str, slug: str, request: Request):
    view = _call(collections_of(request).store.get, _slug(owner, slug), _session_viewer(request))
    return CslJsonResponse(citations.csl_json_all([i.paper for i in view.items]))


def _session_viewer(request: Request) -> int | None:
    me = account_of(request)
    return me.id if me else None


@twins_router.get(
    "/collections/{owner}/{slug}.json",
    operation_id="collection_json",
    summary="A collection page's twin: the collection as `GET /api/collections/{slug}` has it.",
    response_class=JSONResponse,
    response_model=shapes.Collection,
    responses=errors(400, 404),
)
def collection_json(owner: str, slug: str, request: Request):
    return _collection_page(request, owner, slug, "json")


@pages_router.get("/collections/{owner}/{slug}")
def collection_page(owner: str, slug: str, request: Request):
    return _collection_page(request, owner, slug, "html")


# -- forms (no JavaScript needed; static/collect.js posts them in place) ---------------------------------


def _done(request: Request, back: str, body: dict[str, Any], status: int = 200):
    if params.wants_json(request):
        return JSONResponse(body, status_code=status)
    return RedirectResponse(back, status_code=303)


FormText = Annotated[str, Form(max_length=MAX_FIELD)]


@pages_router.post("/collections/add", dependencies=[CsrfProtected])
def add_post(
    request: Request,
    account: RequiredAccount,
    paper: Annotated[str, Form(max_length=300)],
    collection: Annotated[str, Form(max_length=100)] = "",
    new_title: FormText = "",
    note: FormText = "",
    private: Annotated[str, Form(max_length=10)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    """The "Add to collection" menu: a collection of yours (its slug's id), or a new one by title."""
    actor_id = _writer(request, account)
    service = collections_of(request)
    if collection:
        slug = rules.SlugParts(account.username, collection)
        if not rules.PUBLIC_ID.match(collection):
            raise HTTPException(404, NOT_FOUND)
        _call(service.add, slug, actor_id, paper, "paper", note)
        view = _call(service.store.get, slug, actor_id)
    elif new_title.strip():
        view = _call(service.add_to_new, actor_id, new_title, paper, note, private=bool(private))
    else:
        raise HTTPException(400, "Choose one of your collections, or give a new one a title")
    message = f"Added to {view.title}"
    back = safe_next(next) if next else view.url
    return _done(request, back, {"ok": True, "message": message, "collection": view.slug, "url": view.url})


@pages_router.post("/collections/new", dependencies=[CsrfProtected])
def new_post(
    request: Request,
    account: RequiredAccount,
    title: FormText = "",
    description: FormText = "",
    private: Annotated[str, Form(max_length=10)] = "",
):
    actor_id = _writer(request, account)
    made = _call(
        collections_of(request).store.create, actor_id, title, description=description, private=bool(private)
    )
    return RedirectResponse(made.url, status_code=303)


@pages_router.post("/collections/{owner}/{slug}/edit", dependencies=[CsrfProtected])
def edit_post(
    owner: str,
    slug: str,
    request: Request,
    account: RequiredAccount,
    title: FormText = "",
    description: FormText = "",
    private: Annotated[str, Form(max_length=10)] = "",
    theme: Annotated[str, Form(max_length=32)] = rules.DEFAULT_THEME,
):
    parts = _slug(owner, slug)
    view = _call(
        collections_of(request).store.update,
        parts,
        _writer(request, account),
        title=title,
        description=description,
        private=bool(private),
        theme=theme,
    )
    return RedirectResponse(view.url, status_code=303)


@pages_router.post("/collections/{owner}/{slug}/delete", dependencies=[CsrfProtected])
def delete_post(owner: str, slug: str, request: Request, account: RequiredAccount):
    parts = _slug(owner, slug)
    _call(collections_of(request).store.delete, parts, _writer(request, account))
    return RedirectResponse(f"/collections/{account.username}", status_code=303)


@pages_router.post("/collections/{owner}/{slug}/items/{item_id}", dependencies=[CsrfProtected])
def item_post(
    owner: str,
    slug: str,
    item_id: str,
    request: Request,
    account: RequiredAccount,
    action: Annotated[str, Form(max_length=16)] = "note",
    note: FormText = "",
    position: Annotated[str, Form(max_length=12)] = "",
):
    """One item's form: save its note, move it up, down or to a position, or remove it."""
    parts = _slug(owner, slug)
    actor_id = _writer(request, account)
    store = collections_of(request).store
    number = _item_id(item_id)
    if action == "remove":
        _call(store.delete_item, parts, actor_id, number)
    elif action == "note":
        _call(store.update_item, parts, actor_id, number, note=note)
    elif action in ("up", "down", "move"):
        view = _call(store.get, parts, actor_id)
        current = next((i.position for i in view.items if i.id == number), None)
        if current is None:
            raise HTTPException(404, "No such item in this collection")
        if action == "move":
            target = params.integer(position, "position", 1, rules.MAX_ITEMS, current + 1) - 1
        else:
            target = max(0, current - 1) if action == "up" else current + 1
        _call(store.update_item, parts, actor_id, number, position=target)
    else:
        raise HTTPException(400, "action must be note, up, down, move or remove")
    back = f"/collections/{owner}/{slug}#items"
    return _done(request, back, {"ok": True})


@pages_router.post("/collections/{owner}/{slug}/upvote", dependencies=[CsrfProtected])
def upvote_post(
    owner: str,
    slug: str,
    request: Request,
    account: RequiredAccount,
    action: Annotated[str, Form(max_length=10)] = "add",
):
    if action not in ("add", "remove"):
        raise HTTPException(400, "action must be add or remove")
    result = _upvote(request, account, owner, slug, action == "add")
    return _done(request, f"/collections/{owner}/{slug}", result)


# -- on cards and paper pages --------------------------------------------------------------------------


def collection_choices(request: Request, paper: PaperView, among: Any = None) -> list[tuple[Any, bool]]:
    """The signed-in reader's collections for a paper's "Add to collection" menu, each with whether it holds
    the paper already (a template global). Asked once per page, for all its papers (`among`)."""
    account = account_of(request)
    if account is None:
        return []
    memo = request.state.__dict__.setdefault("dp_collect", {})
    if "choices" not in memo or paper.id not in memo["asked"]:
        wanted = {paper.id}
        for other in among or ():
            view = getattr(other, "view", other)
            if isinstance(view, PaperView):
                wanted.add(view.id)
        choices, held = collections_of(request).store.choices(account.id, wanted)
        memo.update(choices=choices, asked=wanted | memo.get("asked", set()))
        memo.setdefault("held", set()).update(held)
    return [(c, (c.public_id, paper.id) in memo["held"]) for c in memo["choices"]]


def paper_extras(request: Request, view: PaperView) -> dict[str, Any]:
    """What the paper page shows of collections: the public ones holding it."""
    holding, total = collections_of(request).store.holding(view.id, HOLDING_SHOWN)
    return {"in_collections": holding, "in_collections_total": total}


def paper_extras_json(extras: dict[str, Any]) -> dict[str, Any]:
    """`paper_extras` as the paper page's twin says it (shapes.CollectionLink)."""
    links = [
        {
            "slug": c.slug,
            "title": c.title,
            "owner": c.owner.username,
            "upvotes": c.upvotes,
            "numItems": c.item_count,
            "url": c.url,
        }
        for c in extras["in_collections"]
    ]
    return {"inCollections": links, "inCollectionsTotal": extras["in_collections_total"]}


def install(app) -> None:
    """The service, the template global and the routes; before the routes whose paths would catch them."""
    app.state.collections = Collections(app.state.store)
    app.state.templates.env.globals["collection_choices"] = collection_choices
    app.include_router(api_router)
    app.include_router(twins_router)
    app.include_router(pages_router)
