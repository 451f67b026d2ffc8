"""For you on the web (docs/foryou.md): 👍/👎 on every card, the personal feed for a day, week or month with
reasons, profiles, the signals list, cold start (paste ids, upload BibTeX or CSL-JSON, then rate a few),
and personal RSS/Atom feeds at secret addresses. Pages work without JavaScript; static/feedback.js sends the
same forms in place. Everything here is the signed-in reader's own: nothing is shown to anyone else.
"""

from __future__ import annotations

import html
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from dailypapers import hf_shapes, periods
from dailypapers.papers import PaperView
from dailypapers.recommend import seeds
from dailypapers.recommend.profiles import MAX_NAME_CHARS, InvalidProfile, spec, split_keywords
from dailypapers.search import state as search_state
from dailypapers.services.recommendations import Recommended, Recommender
from dailypapers.store.signals import PaperState, Profile, SignalStore, UnknownPaper, UnknownProfile
from dailypapers.web import feeds, params, shapes
from dailypapers.web.auth import (
    CsrfProtected,
    RequiredAccount,
    account_of,
    csrf_protect,
    current_account,
    require_account,
    safe_next,
)
from dailypapers.web.deps import SettingsDep, StoreDep
from dailypapers.web.openapi import BEARER, SESSION, errors, needs
from dailypapers.web.responses import JSONResponse

router = APIRouter()  # the API, before api.router's /api/papers/{id:path}
twins_router = APIRouter(tags=["pages"])
pages_router = APIRouter(include_in_schema=False)

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_RANGE_DAYS = 93
RATE_A_FEW = 10
TWIN = {"response_class": JSONResponse}


def _signals(request: Request) -> SignalStore:
    return request.app.state.signals


def _recommender(request: Request) -> Recommender:
    return request.app.state.recommender


# -- template globals --------------------------------------------------------------------------------


def reader_signal(request: Request, paper: PaperView, among: Any = None, profile: Profile | None = None):
    """The signed-in reader's signal on `paper` ("like", "dislike" or None) in `profile` (default: the default
    one). The first call on a page asks about `among` (the page's papers) too: one query a page."""
    account = account_of(request)
    if account is None:
        return None
    profile_id = profile.id if profile is not None else None
    memo: dict = request.state.__dict__.setdefault("dp_signals", {})
    key = (profile_id, paper.id)
    if key not in memo:
        wanted = {paper.id}
        for other in among or ():
            view = getattr(other, "view", other)
            if isinstance(view, PaperView):
                wanted.add(view.id)
        wanted = {pid for pid in wanted if (profile_id, pid) not in memo}
        if profile is not None and profile.id is None:
            found: dict[int, str] = {}
        else:
            found = _signals(request).signals_among(account.id, wanted, profile_id)
        memo.update({(profile_id, pid): found.get(pid) for pid in wanted})
    return memo[key]


# -- feedback ------------------------------------------------------------------------------------------


class FeedbackIn(BaseModel):
    """A like, a dislike, or "clear" to take either back; in `profile` (default: the reader's default)."""

    model_config = ConfigDict(extra="forbid")
    signal: Literal["like", "dislike", "clear"]
    profile: str | None = Field(None, max_length=MAX_NAME_CHARS)


def _state_json(state: PaperState) -> dict[str, Any]:
    return {
        "id": state.arxiv_id,
        "profile": state.profile,
        "signal": state.signal,
        "profiles": state.profiles,
        "upvoted": state.upvoted,
    }


def _set_signal(request: Request, account, value: str, signal: str, profile: str | None) -> dict[str, Any]:
    arxiv_id = params.arxiv_id_or_404(value)
    try:
        state = _signals(request).set_signal(account.id, arxiv_id, signal, profile or None)
    except UnknownPaper:
        raise HTTPException(404, params.PAPER_NOT_FOUND) from None
    except UnknownProfile as exc:
        raise HTTPException(404, str(exc)) from None
    return _state_json(state)


@router.post(
    "/api/papers/{arxiv_id:path}/feedback",
    operation_id="paper_feedback",
    summary="Like, dislike or clear a paper for For you (private to you); `profile` optional.",
    response_class=JSONResponse,
    response_model=shapes.FeedbackState,
    responses=errors(400, 401, 403, 404),
    openapi_extra=needs(BEARER, SESSION),
)
async def api_feedback(arxiv_id: str, body: FeedbackIn, request: Request):
    if "cookie" in request.headers:
        await csrf_protect(request)

    def run():
        account = require_account(request, current_account(request))
        return _set_signal(request, account, arxiv_id, body.signal, body.profile)

    return JSONResponse(await run_in_threadpool(run))


@pages_router.post("/papers/{arxiv_id:path}/feedback", dependencies=[CsrfProtected])
def feedback_post(
    arxiv_id: str,
    request: Request,
    account: RequiredAccount,
    signal: Annotated[str, Form()] = "",
    profile: Annotated[str, Form(max_length=MAX_NAME_CHARS)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
):
    """The 👍/👎 buttons. `signal` is what the button offers (like, dislike, or clear when it is pressed)."""
    if signal not in ("like", "dislike", "clear"):
        raise HTTPException(400, "signal must be like, dislike or clear")
    result = _set_signal(request, account, arxiv_id, signal, profile)
    if params.wants_json(request):
        return JSONResponse(result)
    return RedirectResponse(safe_next(next) if next else f"/papers/{result['id']}", status_code=303)


# -- recommendations -----------------------------------------------------------------------------------


def _profile(request: Request, account, name: str | None) -> Profile:
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise HTTPException(400, f"profile has at most {MAX_NAME_CHARS} characters")
    try:
        return _signals(request).profile(account.id, name or None)
    except UnknownProfile as exc:
        raise HTTPException(404, str(exc)) from None


def _flag(raw: str | None, name: str) -> bool:
    if raw in (None, "", "0"):
        return False
    if raw == "1":
        return True
    raise params.bad_request(f"{name} must be 0 or 1")


def _latest(store) -> date:
    return store.latest_day() or date.today()


def _recommendation_json(item: Recommended) -> dict[str, Any]:
    body = hf_shapes.paper_detail(item.view, None)
    body["score"] = round(item.score, 4)
    body["reasons"] = list(item.reasons)
    return body


@router.get(
    "/api/recommendations",
    operation_id="recommendations",
    summary="Your For you papers published in [from, to] (at most 93 days), best first, each with score and "
    "reasons; never one you have rated.",
    response_class=JSONResponse,
    response_model=list[shapes.Recommendation],
    responses=errors(400, 401, 403, 404),
    openapi_extra=needs(BEARER, SESSION),
)
def api_recommendations(
    request: Request,
    account: RequiredAccount,
    store: StoreDep,
    start: Annotated[
        str | None, Query(alias="from", description="YYYY-MM-DD; default: 6 days before `to`.")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="YYYY-MM-DD; default: the latest day.")] = None,
    limit: Annotated[str | None, Query(description=f"1..{MAX_LIMIT}, default {DEFAULT_LIMIT}.")] = None,
    profile: Annotated[str | None, Query(description="A profile's name; default: your default one.")] = None,
    daily: Annotated[str | None, Query(description="1: only papers that were on Daily Papers.")] = None,
    mix: Annotated[str | None, Query(description="1: blend the personal score with popularity.")] = None,
):
    to_day = params.date(end, "to") or _latest(store)
    from_day = params.date(start, "from") or to_day - timedelta(days=6)
    if from_day > to_day:
        raise params.bad_request("from must not be after to")
    if (to_day - from_day).days >= MAX_RANGE_DAYS:
        raise params.bad_request(f"from and to are at most {MAX_RANGE_DAYS} days apart")
    size = params.integer(limit, "limit", 1, MAX_LIMIT, DEFAULT_LIMIT)
    chosen = _profile(request, account, profile)
    items = _recommender(request).feed(
        account.id,
        chosen,
        from_day,
        to_day,
        daily=_flag(daily, "daily"),
        limit=size,
        mix=0.5 if _flag(mix, "mix") else 0.0,
    )
    return JSONResponse([_recommendation_json(item) for item in items])


# -- the For you pages -----------------------------------------------------------------------------------


def _period_url(period: periods.Period) -> str:
    return f"/foryou/{period.kind}/{period.key}"


def _query(profile: Profile, mix: bool) -> str:
    parts = []
    if not profile.is_default:
        parts.append(f"profile={quote(profile.name)}")
    if mix:
        parts.append("mix=1")
    return ("?" + "&".join(parts)) if parts else ""


def _foryou(request: Request, account, store, settings, period: periods.Period, fmt: str):
    name = request.query_params.get("profile")
    mix = _flag(request.query_params.get("mix"), "mix")
    profile = _profile(request, account, name)
    items = _recommender(request).feed(
        account.id,
        profile,
        period.start,
        period.end - timedelta(days=1),
        limit=settings.page_size,
        mix=0.5 if mix else 0.0,
    )
    query = _query(profile, mix)
    previous, following = period.previous(), period.next()
    latest = _latest(store)
    context = {
        "period": period,
        "profile": profile,
        "profiles": _signals(request).profiles(account.id),
        "mix": mix,
        "papers": [item.view for item in items],
        "reasons": {item.view.id: item.reasons for item in items},
        "scores_personal": {item.view.id: item.score for item in items},
        # Follows rank as likes do: a reader who follows something has a feed, not the cold start's.
        "has_signals": bool(_signals(request).training(account.id, profile).liked)
        or bool(request.app.state.authorship.followed(account.id)),
        "previous": previous,
        "next": following if following.start <= latest else None,
        "previous_url": _period_url(previous) + query,
        "next_url": _period_url(following) + query if following.start <= latest else None,
        "day_url": _period_url(periods.day(min(period.start, latest))) + query,
        "week_url": _period_url(periods.week_of(period.start)) + query,
        "month_url": _period_url(periods.month_of(period.start)) + query,
        "query": query,
        "mix_url": request.url.path + _query(profile, not mix),
    }
    if fmt == "json":
        return JSONResponse(
            {
                "period": {
                    "kind": period.kind,
                    "key": period.key,
                    "label": period.label,
                    "start": period.start.isoformat(),
                    "end": period.end.isoformat(),
                },
                "profile": profile.name,
                "mix": mix,
                "previous": context["previous_url"],
                "next": context["next_url"],
                "papers": [_recommendation_json(item) for item in items],
            }
        )
    return request.app.state.templates.TemplateResponse(request, "foryou.html", context)


def _period_or_404(kind: periods.Kind, key: str) -> periods.Period:
    try:
        return periods.parse(kind, key)
    except periods.InvalidPeriod as exc:
        raise HTTPException(404, str(exc)) from None


class ForYouPage(shapes.Shape):
    period: shapes.PeriodInfo
    profile: str
    mix: bool
    previous: str | None
    next: str | None
    papers: list[shapes.Recommendation]


def _default_period(store) -> periods.Period:
    return periods.week_of(_latest(store))


@twins_router.get(
    "/foryou.json",
    operation_id="foryou_json",
    summary="For you: the latest week's papers for you (`?profile=`, `?mix=1`).",
    response_model=ForYouPage,
    responses=errors(400, 401, 404),
    openapi_extra=needs(SESSION),
    **TWIN,
)
def foryou_json(request: Request, account: RequiredAccount, store: StoreDep, settings: SettingsDep):
    return _foryou(request, account, store, settings, _default_period(store), "json")


@pages_router.get("/foryou")
def foryou_page(request: Request, account: RequiredAccount, store: StoreDep, settings: SettingsDep):
    return _foryou(request, account, store, settings, _default_period(store), "html")


@twins_router.get(
    "/foryou/{kind}/{key}.json",
    operation_id="foryou_period_json",
    summary="For you for a day (`date/YYYY-MM-DD`), an ISO week (`week/YYYY-Www`) or a month "
    "(`month/YYYY-MM`).",
    response_model=ForYouPage,
    responses=errors(400, 401, 404),
    openapi_extra=needs(SESSION),
    **TWIN,
)
def foryou_period_json(
    kind: str, key: str, request: Request, account: RequiredAccount, store: StoreDep, settings: SettingsDep
):
    if kind not in ("date", "week", "month"):
        raise HTTPException(404, "Not found")
    return _foryou(request, account, store, settings, _period_or_404(kind, key), "json")


@pages_router.get("/foryou/{kind}/{key}")
def foryou_period(
    kind: str, key: str, request: Request, account: RequiredAccount, store: StoreDep, settings: SettingsDep
):
    if kind not in ("date", "week", "month"):
        raise HTTPException(404, "Not found")
    return _foryou(request, account, store, settings, _period_or_404(kind, key), "html")


# -- profiles, signals, export ----------------------------------------------------------------------------


def _profile_json(profile: Profile, base_url: str) -> dict[str, Any]:
    return {
        "name": profile.name,
        "default": profile.is_default,
        "musts": list(profile.musts),
        "excludes": list(profile.excludes),
        "categories": list(profile.categories),
        "rss": f"{base_url}/feeds/foryou/{profile.feed_key}.rss" if profile.feed_key else None,
        "atom": f"{base_url}/feeds/foryou/{profile.feed_key}.atom" if profile.feed_key else None,
    }


def _profiles_page(
    request: Request, account, settings, fmt: str, error: str | None = None, status: int = 200
):
    signals = _signals(request)
    profiles = signals.profiles(account.id)
    if fmt == "json":
        return JSONResponse({"profiles": [_profile_json(p, settings.base_url) for p in profiles]})
    rows = signals.signals(account.id, limit=500)
    context = {
        "profiles": profiles,
        "signals": rows,
        "error": error,
        "base_url": settings.base_url,
    }
    return request.app.state.templates.TemplateResponse(
        request, "foryou_profiles.html", context, status_code=status
    )


@twins_router.get(
    "/foryou/profiles.json",
    operation_id="foryou_profiles_json",
    summary="Your For you profiles: filters and personal feed addresses.",
    responses=errors(401),
    openapi_extra=needs(SESSION),
    **TWIN,
)
def profiles_json(request: Request, account: RequiredAccount, settings: SettingsDep):
    return _profiles_page(request, account, settings, "json")


@pages_router.get("/foryou/profiles")
def profiles_page(request: Request, account: RequiredAccount, settings: SettingsDep):
    return _profiles_page(request, account, settings, "html")


@twins_router.get(
    "/foryou/export.json",
    operation_id="foryou_export",
    summary="Everything For you keeps about you: profiles and every signal, as JSON.",
    responses=errors(401),
    openapi_extra=needs(BEARER, SESSION),
    **TWIN,
)
def export_json(request: Request, account: RequiredAccount):
    response = JSONResponse(_signals(request).export(account.id))
    response.headers["Content-Disposition"] = 'attachment; filename="foryou-signals.json"'
    return response


def _profile_action(request: Request, account, settings, work) -> Response:
    try:
        work()
    except InvalidProfile as exc:
        return _profiles_page(request, account, settings, "html", str(exc), 400)
    except UnknownProfile as exc:
        raise HTTPException(404, str(exc)) from None
    return RedirectResponse("/foryou/profiles", status_code=303)


@pages_router.post("/foryou/profiles", dependencies=[CsrfProtected])
def profile_create(
    request: Request,
    account: RequiredAccount,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=500)] = "",
    musts: Annotated[str, Form(max_length=5000)] = "",
    excludes: Annotated[str, Form(max_length=5000)] = "",
    categories: Annotated[str, Form(max_length=2000)] = "",
    original: Annotated[str, Form(max_length=500)] = "",
):
    """Create a profile, or (`original` set) change the one of that name."""

    def work():
        checked = spec(
            name or original or "default",
            split_keywords(musts),
            split_keywords(excludes),
            split_keywords(categories.replace(" ", ",")),
        )
        if original:
            _signals(request).update_profile(account.id, original, checked)
        else:
            _signals(request).create_profile(account.id, checked)

    return _profile_action(request, account, settings, work)


@pages_router.post("/foryou/profiles/action", dependencies=[CsrfProtected])
def profile_action(
    request: Request,
    account: RequiredAccount,
    settings: SettingsDep,
    profile: Annotated[str, Form(max_length=500)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
):
    """Reset (forget its signals), delete, or turn the personal feed on (a new secret) or off."""
    signals = _signals(request)
    actions = {
        "reset": lambda: signals.reset_profile(account.id, profile or None),
        "delete": lambda: signals.delete_profile(account.id, profile),
        "feed-on": lambda: signals.set_feed_key(account.id, profile or None, on=True),
        "feed-off": lambda: signals.set_feed_key(account.id, profile or None, on=False),
    }
    if action not in actions:
        raise HTTPException(400, "action must be reset, delete, feed-on or feed-off")
    return _profile_action(request, account, settings, actions[action])


# -- cold start: paste, upload, rate a few --------------------------------------------------------------


def _start_page(request: Request, account, context: dict, status: int = 200):
    base = {"profiles": _signals(request).profiles(account.id), "found": None, "error": None}
    return request.app.state.templates.TemplateResponse(
        request, "foryou_start.html", {**base, **context}, status_code=status
    )


@pages_router.get("/foryou/start")
def start_page(request: Request, account: RequiredAccount):
    return _start_page(request, account, {})


async def _read_upload(upload: UploadFile | None) -> tuple[str, bytes] | None:
    if upload is None or not upload.filename:
        return None
    data = await upload.read(seeds.MAX_UPLOAD_BYTES + 1)
    if len(data) > seeds.MAX_UPLOAD_BYTES:
        raise HTTPException(413, f"The file is over {seeds.MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    return upload.filename, data


@pages_router.post("/foryou/start", dependencies=[CsrfProtected])
async def start_post(
    request: Request,
    ids: Annotated[str, Form(max_length=100_000)] = "",
    profile: Annotated[str, Form(max_length=MAX_NAME_CHARS)] = "",
    file: Annotated[UploadFile | None, File()] = None,
):
    """Seeds: each arXiv paper the pasted text or the file names is liked in the profile; then rate a few."""
    upload = await _read_upload(file)

    def run():
        account = require_account(request, current_account(request))
        try:
            found = seeds.from_text(ids) if ids.strip() else seeds.Found()
            if upload is not None:
                more = seeds.from_upload(*upload)
                for arxiv_id in more.ids:
                    found.add(arxiv_id)
                for problem in more.problems:
                    found.problem(problem)
                found.more_problems += more.more_problems
        except seeds.UnreadableFile as exc:
            return _start_page(request, account, {"error": f"The file could not be read: {exc}"}, 400)
        if not found.ids:
            message = "No arXiv ids found: paste ids or arXiv links, or upload a .bib or CSL-JSON file."
            return _start_page(request, account, {"error": message, "found": found}, 400)
        chosen = _profile(request, account, profile or None)
        liked, missing = [], []
        for arxiv_id in found.ids:
            try:
                _signals(request).set_signal(account.id, arxiv_id, "like", chosen.name)
                liked.append(arxiv_id)
            except UnknownPaper:
                missing.append(arxiv_id)
        if missing:
            found.problem(
                f"not in this site's papers yet: {', '.join(missing[:20])}{' …' if len(missing) > 20 else ''}"
            )
        if not liked:
            return _start_page(
                request, account, {"error": "None of those papers is here yet.", "found": found}, 400
            )
        context = {"found": found, "liked": liked, "profile": chosen}
        if found.problems:
            return _start_page(request, account, context)
        return RedirectResponse(f"/foryou/rate{_query(chosen, False)}", status_code=303)

    return await run_in_threadpool(run)


@pages_router.get("/foryou/rate")
def rate_page(request: Request, account: RequiredAccount, store: StoreDep):
    profile = _profile(request, account, request.query_params.get("profile"))
    latest = _latest(store)
    views = _recommender(request).to_rate(
        account.id, profile, latest - timedelta(days=30), latest, limit=RATE_A_FEW
    )
    context = {"profile": profile, "papers": views, "query": _query(profile, False)}
    return request.app.state.templates.TemplateResponse(request, "foryou_rate.html", context)


# -- personal feeds ---------------------------------------------------------------------------------------


@pages_router.get("/feeds/foryou/{key}.{fmt}")
def personal_feed(key: str, fmt: str, request: Request, store: StoreDep, settings: SettingsDep) -> Response:
    """A profile's For you papers of the last week, at the profile's secret address (no sign-in: feed readers
    have none). A new secret (or turning the feed off) makes the old address a 404."""
    feeds.check_format(fmt)
    found = _signals(request).by_feed_key(key)
    if found is None:
        raise HTTPException(404, "No such feed (its address may have been replaced).")
    user_id, profile = found
    latest = _latest(store)
    items = _recommender(request).feed(user_id, profile, latest - timedelta(days=6), latest, limit=50)
    feed = feeds.generator(
        settings,
        fmt,
        f"foryou/{key}",
        f"For you: {profile.name}",
        "Papers of the last week ranked for you, with why.",
        "/foryou",
    )
    for item in items:
        entry = feeds.add(feed, settings.base_url, item.view, fmt)
        why = "Why: " + "; ".join(item.reasons) if item.reasons else ""
        if why and fmt == "rss":
            entry.description(entry.description() + "\n\n" + html.escape(feeds.xml_text(why), quote=False))
        elif why:
            entry.summary(entry.summary()["summary"] + "\n\n" + feeds.xml_text(why), type="text")
    response = feeds.respond(feed, fmt)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def install(app) -> None:
    """Stores, template globals and routes; call from `create_app` after community.install."""
    settings = app.state.settings
    store = app.state.store
    app.state.signals = SignalStore(store.engine)
    app.state.recommender = Recommender(
        store,
        app.state.signals,
        lambda: search_state.get(store.engine, search_state.ACTIVE_MODEL) or settings.embedding_model,
    )
    app.state.templates.env.globals["reader_signal"] = reader_signal
    app.include_router(router)
    app.include_router(twins_router)
    app.include_router(pages_router)
