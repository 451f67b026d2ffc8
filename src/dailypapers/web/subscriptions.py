"""Digest subscriptions on the web: sign up (the banner form, `POST /api/subscriptions`, account settings),
confirm, preferences and unsubscribe (RFC 8058 one-click).

Links in mails carry a signed token (dailypapers.digests.tokens): it is the proof, so the pages they lead to
need no sign-in, cookie or CSRF token; a GET only ever shows a page whose button POSTs (link scanners fetch
every link). The sign-up answer is the same whether or not the address is known, and the mail goes out after
the response (a background task), so the timing tells nothing either.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from dailypapers.digests import tokens as links
from dailypapers.digests.subscriptions import (
    MAX_PAPERS,
    MAX_SEARCHES,
    MIN_PAPERS,
    InvalidInput,
    check_frequency,
    parse_preferences,
)
from dailypapers.emails import InvalidEmail, normalize_email
from dailypapers.mail.builder import MailBuilder
from dailypapers.store.subscriptions import Preferences, SqlSubscriptionStore, Subscription
from dailypapers.web import auth, params, ratelimit, shapes
from dailypapers.web.openapi import errors, json_body
from dailypapers.web.responses import JSONResponse

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
api_router = APIRouter(tags=["digests"])

ACCEPTED = (
    "Thanks! If that address can receive mail, a message with a confirmation link is on its way. "
    "Nothing will be sent to it until the link is used."
)
MAX_BODY = 16_384


def _subscriptions(request: Request) -> SqlSubscriptionStore:
    settings = request.app.state.settings
    return SqlSubscriptionStore(request.app.state.store.engine, confirm_hours=settings.digest_confirm_hours)


def _tokens(request: Request) -> links.Tokens:
    return links.tokens_for(request.app.state.settings)


def _url(request: Request, path: str) -> str:
    return request.app.state.settings.base_url + path


def preferences_url(settings, key: str) -> str:
    token = links.tokens_for(settings).make(links.PREFERENCES, key)
    return f"{settings.base_url}/subscriptions/preferences/{token}"


def _page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(request, template, context, status_code=status)


def _notice(request: Request, title: str, message: str, status: int = 200, **extra) -> Response:
    return _page(request, "digest/notice.html", {"title": title, "message": message, **extra}, status)


def _client_ip(request: Request) -> str:
    return ratelimit.client_ip(request)


def _sign_up(
    request: Request, email: str, frequency: str, *, user_id: int | None = None
) -> BackgroundTask | None:
    """Record the sign-up and return the mail to send after the response (None: nothing to send)."""
    settings = request.app.state.settings
    ratelimit.check_setting(request, "digest-subscribe", _client_ip(request), "subscribe")
    outcome = _subscriptions(request).request(email, frequency, user_id=user_id)
    if settings.rate_limit_enabled:
        limit, per_seconds = settings.rate("subscribe_address")
        hits, _ = ratelimit.hit(request.app.state.store.engine, "digest-address", email, per_seconds)
        if hits > limit:
            return None  # answered like any other, but this address has had enough mail for now
    # No text the requester typed goes into these mails (only our words and links): no relaying spam.
    builder = MailBuilder.for_settings(settings)
    if outcome.action == "confirm":
        token = _tokens(request).make(links.CONFIRM, outcome.key)
        context = {
            "frequency": frequency,
            "confirm_url": _url(request, f"/subscriptions/confirm/{token}"),
            "hours": settings.digest_confirm_hours,
        }
        mail = builder.mail(email, "confirm-digest", context)
    elif outcome.action == "already":
        mail = builder.mail(
            email, "already-subscribed", {"preferences_url": preferences_url(settings, outcome.key)}
        )
    else:
        return None
    mailer = request.app.state.mailer

    async def send() -> None:
        try:
            await mailer.send(mail.sender, mail.recipient, mail.data)
        except Exception:  # the reader has had their answer; a mail failure is ours to log
            log.exception("could not send a digest sign-up mail")

    return BackgroundTask(send)


# -- signing up ---------------------------------------------------------------------------------------------


@api_router.post(
    "/api/subscriptions",
    status_code=202,
    operation_id="subscribe",
    response_class=JSONResponse,
    response_model=shapes.SubscriptionAccepted,
    responses=errors(400, 413, 415, 429),
    openapi_extra=json_body(shapes.SubscribeIn),
)
async def subscribe_api(request: Request):
    """Ask for the digest: `{"email": ..., "frequency": "daily" | "weekly"}`; 202 whatever the address.

    JSON only: a browser cannot send it from another site without CORS, which we never grant.
    """
    if not request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        raise HTTPException(415, "Send JSON: Content-Type: application/json")
    data = await _json(request)
    if not isinstance(data, dict):
        raise HTTPException(400, 'Send an object: {"email": ..., "frequency": "daily" | "weekly"}')
    try:
        email = normalize_email(data.get("email"))
        frequency = check_frequency(data.get("frequency", "daily"))
    except (InvalidEmail, InvalidInput) as exc:
        raise HTTPException(400, str(exc)) from None
    task = _sign_up(request, email, frequency)
    return JSONResponse({"status": "accepted", "message": ACCEPTED}, status_code=202, background=task)


async def _json(request: Request) -> Any:
    """The JSON body, at most MAX_BODY bytes (orjson: deep nesting is a 400, not a RecursionError)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(413, "Request body too large")
    try:
        return orjson.loads(body)
    except ValueError:
        raise HTTPException(400, "The body is not valid JSON") from None


async def _form(request: Request) -> dict[str, str]:
    try:
        if int(request.headers.get("content-length") or 0) > MAX_BODY:
            raise HTTPException(413, "Request body too large")
    except ValueError:
        raise HTTPException(400, "Bad Content-Length") from None
    try:
        form = await request.form(max_fields=50)
    except Exception:
        raise HTTPException(400, "The form could not be read.") from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/subscribe")
def subscribe_form(request: Request, email: str = "", frequency: str = "daily"):
    """The sign-up page (the banner's form, when the browser had no CSRF token yet, ends here)."""
    return _page(
        request,
        "digest/subscribe.html",
        {"email": email[:254], "frequency": frequency if frequency in ("daily", "weekly") else "daily"},
    )


def same_origin(request: Request) -> bool:
    """Whether the browser says this request comes from a page of this site: `Sec-Fetch-Site` (every
    current browser sends it), else an `Origin` equal to ours. Another site's page cannot make either."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("origin")
    ours = f"{request.url.scheme}://{request.url.netloc}"
    return origin is not None and origin.rstrip("/") in (ours, request.app.state.settings.base_url)


@router.post("/subscribe")
async def subscribe(request: Request):
    form = await _form(request)
    try:
        await auth.csrf_protect(request)
    except HTTPException:
        # Pages served from the cache carry no CSRF token. The banner's form on them signs up in one step
        # all the same when the browser says it comes from our own page; otherwise ask once more, on a
        # page that has a token.
        if not same_origin(request):
            return subscribe_form(request, form.get("email", ""), form.get("frequency", "daily"))
    try:
        email = normalize_email(form.get("email"))
        frequency = check_frequency(form.get("frequency", "daily"))
    except (InvalidEmail, InvalidInput) as exc:
        context = {"email": form.get("email", "")[:254], "frequency": "daily", "error": str(exc)}
        return _page(request, "digest/subscribe.html", context, 400)
    task = _sign_up(request, email, frequency)
    response = _notice(
        request,
        "Check your inbox",
        f"We sent a confirmation link to {email}. Open it and press the button on the page it opens: the "
        f"{frequency} digest starts then, and nothing is sent before. {UNTIL_CONFIRMED}",
        links=[("/", "Back to the papers")],
    )
    response.background = task
    _hide_banner(request, response, "subscribed")
    return response


# -- the banner ---------------------------------------------------------------------------------------------

BANNER_COOKIE = "dp_banner"
BANNER_DAYS = 365
UNTIL_CONFIRMED = "No mail? Look in your spam folder, or sign up again in an hour."


def _hide_banner(request: Request, response: Response, why: str) -> None:
    """Remember in this browser that the banner is not wanted (dismissed, or subscribed from here)."""
    response.set_cookie(
        BANNER_COOKIE,
        why,
        max_age=BANNER_DAYS * 86_400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
    )


def digest_banner(request: Request) -> dict | None:
    """What the banner under the header offers (a template global): None when it is not shown (dismissed,
    subscribed from this browser, or a signed-in reader whose address has the digest); else the account of
    a signed-in reader (subscribed in one click) or None for a visitor (who types an address)."""
    if request.cookies.get(BANNER_COOKIE):
        return None
    account = auth.account_of(request)
    if account is None:
        return {"account": None}
    digest = digest_settings(request, account)
    if digest is None or digest["status"] != "none":
        return None
    return {"account": account}


@router.post("/digest-banner/dismiss")
async def dismiss_banner(request: Request):
    """Hide the banner in this browser (a cookie: nothing changes on the server, so no CSRF token)."""
    form = await _form(request)
    if params.wants_json(request):
        response: Response = Response(status_code=204)
    else:
        response = RedirectResponse(auth.safe_next(form.get("next")), status_code=303)
    _hide_banner(request, response, "dismissed")
    return response


# -- confirming ---------------------------------------------------------------------------------------------


def _key(request: Request, purpose: str, token: str) -> str:
    try:
        return _tokens(request).read(purpose, token)
    except links.InvalidToken as exc:
        raise HTTPException(400, str(exc)) from None


@router.get("/subscriptions/confirm/{token}")
def confirm_form(request: Request, token: str):
    _key(request, links.CONFIRM, token)
    return _page(request, "digest/confirm.html", {"action": f"/subscriptions/confirm/{token}"})


@router.post("/subscriptions/confirm/{token}")
def confirm(request: Request, token: str):
    subscription = _subscriptions(request).confirm(_key(request, links.CONFIRM, token))
    if subscription is None:
        raise HTTPException(400, "This link is no longer valid: subscribe again to get a new one.")
    settings = request.app.state.settings
    return _notice(
        request,
        "You are subscribed",
        f"The {subscription.preferences.frequency} digest will come to {subscription.email}. "
        "Choose its topics and size on your preferences page.",
        links=[(preferences_url(settings, subscription.key), "Your digest preferences")],
    )


# -- preferences ------------------------------------------------------------------------------------------


def _subscription(request: Request, token: str) -> Subscription:
    subscription = _subscriptions(request).get(_key(request, links.PREFERENCES, token))
    if subscription is None:
        raise HTTPException(404, "This subscription no longer exists.")
    return subscription


def _preferences_json(subscription: Subscription) -> dict:
    return {"email": subscription.email, "status": subscription.status, **subscription.preferences.as_json()}


def _preferences_page(
    request: Request, token: str, subscription: Subscription, *, notice: str = "", error: str = "", status=200
) -> Response:
    prefs = subscription.preferences
    searches = list(prefs.searches) + [{"q": "", "mode": "keyword"}] * (MAX_SEARCHES - len(prefs.searches))
    context = {
        "subscription": subscription,
        "prefs": prefs,
        "searches": searches,
        "action": f"/subscriptions/preferences/{token}",
        "unsubscribe": "/unsubscribe/" + _tokens(request).make(links.UNSUBSCRIBE, subscription.key),
        "min_papers": MIN_PAPERS,
        "max_papers": MAX_PAPERS,
        "notice": notice,
        "error": error,
    }
    return _page(request, "digest/preferences.html", context, status)


@api_router.get(
    "/subscriptions/preferences/{token}.json",
    operation_id="digest_preferences",
    summary="A digest subscription's preferences; the token is the one in the link of every digest.",
    response_class=JSONResponse,
    response_model=shapes.DigestPreferences,
    responses=errors(400, 404),
)
def preferences_json(request: Request, token: str):
    return JSONResponse(_preferences_json(_subscription(request, token)))


@api_router.post(
    "/subscriptions/preferences/{token}.json",
    operation_id="save_digest_preferences",
    summary="Change a digest subscription's preferences (what is left out stays as it was).",
    response_class=JSONResponse,
    response_model=shapes.DigestPreferences,
    responses=errors(400, 404, 413),
    openapi_extra=json_body(shapes.PreferencesIn),
)
async def save_preferences_json(request: Request, token: str):
    return await _save_preferences(request, token, as_json=True)


@router.get("/subscriptions/preferences/{token}")
def preferences_page(request: Request, token: str):
    return _preferences_page(request, token, _subscription(request, token))


def _form_preferences(form: dict[str, str]) -> dict:
    searches = [
        {"q": form.get(f"q{i}", ""), "mode": form.get(f"mode{i}", "keyword")} for i in range(MAX_SEARCHES)
    ]
    return {
        "frequency": form.get("frequency"),
        "maxPapers": form.get("max_papers", ""),
        "categories": form.get("categories", ""),
        "searches": searches,
    }


@router.post("/subscriptions/preferences/{token}")
async def save_preferences(request: Request, token: str):
    """Save preferences from the page's form, or from a JSON body (answered with JSON)."""
    as_json = request.headers.get("content-type", "").startswith("application/json")
    return await _save_preferences(request, token, as_json=as_json)


async def _save_preferences(request: Request, token: str, *, as_json: bool) -> Response:
    subscription = _subscription(request, token)
    if as_json:
        data = await _json(request)
        if not isinstance(data, dict):
            raise HTTPException(400, "Send an object with frequency, maxPapers, categories and searches")
    else:
        data = _form_preferences(await _form(request))
    try:
        preferences = parse_preferences({**subscription.preferences.as_json(), **data})
    except InvalidInput as exc:
        if as_json:
            raise HTTPException(400, str(exc)) from None
        return _preferences_page(request, token, subscription, error=str(exc), status=400)
    saved = _subscriptions(request).save_preferences(subscription.key, preferences)
    if saved is None:
        raise HTTPException(404, "This subscription no longer exists.")
    if as_json:
        response = JSONResponse(_preferences_json(saved))
    else:
        response = _preferences_page(
            request, token, saved, notice="Saved. The next digest follows these choices."
        )
    response.background = _embed_semantic_searches(request, preferences)
    return response


def _embed_semantic_searches(request: Request, preferences: Preferences) -> BackgroundTask | None:
    """Embed new semantic saved searches now, with this process's search model, so that digest runs only
    read their vectors (the sender embeds any that are missing in a child process)."""
    queries = {s["q"] for s in preferences.searches if s.get("mode") == "semantic"}
    if not queries:
        return None
    settings, engine, search = (
        request.app.state.settings,
        request.app.state.store.engine,
        request.app.state.search,
    )

    def embed() -> None:
        from dailypapers.digests.candidates import ensure_query_vectors

        try:
            service = search.get()
            embedder = service.embedder(service.model)
            ensure_query_vectors(
                settings, engine, queries, embed=lambda qs: [embedder.embed_query(q) for q in qs]
            )
        except Exception:  # best effort: the next digest run embeds what is missing
            log.warning("could not embed saved searches now", exc_info=True)

    return BackgroundTask(run_in_threadpool, embed)


# -- unsubscribing ----------------------------------------------------------------------------------------


@router.get("/unsubscribe/{token}")
def unsubscribe_form(request: Request, token: str):
    _key(request, links.UNSUBSCRIBE, token)
    return _page(request, "digest/unsubscribe.html", {"action": f"/unsubscribe/{token}"})


@router.post("/unsubscribe/{token}")
def unsubscribe(request: Request, token: str):
    """RFC 8058 one-click: no cookie, no CSRF token, no redirect; a 200 at once, whatever the body."""
    if not _subscriptions(request).unsubscribe(_key(request, links.UNSUBSCRIBE, token)):
        raise HTTPException(404, "This subscription no longer exists.")
    return _notice(
        request, "You are unsubscribed", "No more digests will be sent to this address. Sorry to see you go."
    )


# -- account settings ---------------------------------------------------------------------------------------


def digest_settings(request: Request, account) -> dict | None:
    """What the settings page shows about the account's digest (a template global)."""
    if account is None or not account.email:
        return None
    subscription = _subscriptions(request).by_email(account.email.lower())
    if subscription is None or subscription.status in ("unsubscribed",):
        return {"status": "none"}
    return {
        "status": subscription.status,
        "frequency": subscription.preferences.frequency,
        "preferences_url": preferences_url(request.app.state.settings, subscription.key),
    }


@router.post("/settings/digest", dependencies=[auth.CsrfProtected])
async def settings_subscribe(request: Request, account: auth.SessionAccount):
    """Subscribe the account's own address: a confirmed address needs no second confirmation."""
    form = await _form(request)
    try:
        email = normalize_email(account.email or "")
        frequency = check_frequency(form.get("frequency", "daily"))
    except (InvalidEmail, InvalidInput) as exc:
        raise HTTPException(400, str(exc)) from None
    # From the banner (`next`): a page that says what happened; from the settings page: back there.
    back = auth.safe_next(form["next"]) if form.get("next") else None
    if account.email_verified:
        subs = _subscriptions(request)
        outcome = subs.request(email, frequency, user_id=account.id)
        if outcome.action == "confirm":  # new, pending or lapsed: on at once, earlier choices kept
            confirmed = subs.confirm(outcome.key)
            if confirmed is not None:
                kept = confirmed.preferences
                subs.save_preferences(
                    outcome.key, Preferences(frequency, kept.max_papers, kept.categories, kept.searches)
                )
        if back is None:
            return RedirectResponse("/settings", status_code=303)
        return _notice(
            request,
            "You are subscribed",
            f"The {frequency} digest of trending papers will come to {email}. Change what it holds, or "
            "stop it, in your settings.",
            links=[(back, "Back to the papers"), ("/settings#digest", "Digest settings")],
        )
    if back is None:
        response = RedirectResponse("/settings", status_code=303)
    else:
        response = _notice(
            request,
            "Check your inbox",
            f"We sent a link to {email}: the digest starts when you confirm it. {UNTIL_CONFIRMED}",
            links=[(back, "Back to the papers")],
        )
    response.background = _sign_up(request, email, frequency, user_id=account.id)
    return response


def install(app: FastAPI) -> None:
    app.state.templates.env.globals["digest_settings"] = digest_settings
    app.state.templates.env.globals["digest_banner"] = digest_banner
    app.include_router(api_router)
    app.include_router(router)
