"""Account pages: sign up, confirm an address, sign in and out, reset a password, settings, API tokens,
and public profiles (`/u/{username}`, with a `.json` twin).

Every form posts with a CSRF token and works without JavaScript. Mail is sent after the response, in a
background task: a sign-up or reset request takes as long whether or not the address has an account, and a
request that failed never sends mail.
"""

from __future__ import annotations

import functools
import logging
import os
from datetime import timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import RedirectResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dailypapers import hf_shapes
from dailypapers.accounts.credentials import (
    InvalidInput,
    check_password,
    has_control_characters,
    hash_password,
    needs_rehash,
    normalize_username,
    plain_line,
    verify_password,
)
from dailypapers.accounts.model import Account
from dailypapers.emails import MAX_EMAIL, InvalidEmail, normalize_email
from dailypapers.mail.builder import Mail, MailBuilder
from dailypapers.mail.types import MailError
from dailypapers.services import accounts as account_service
from dailypapers.store.accounts import (
    API_TOKEN_DAYS,
    DEFAULT_API_TOKEN_DAYS,
    AccountStore,
    EmailTaken,
    NameTaken,
)
from dailypapers.web import auth, params, shapes
from dailypapers.web.auth import AccountDep, SessionAccount, csrf_protect, safe_next
from dailypapers.web.deps import AccountsDep
from dailypapers.web.openapi import BEARER, SESSION, errors, needs
from dailypapers.web.ratelimit import check_setting, client_ip
from dailypapers.web.responses import JSONResponse

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
twins_router = APIRouter(
    tags=["accounts"]
)  # the pages' JSON twins: before `router`, whose `/u/{value}` matches them
api_router = APIRouter()
CSRF = [Depends(csrf_protect)]
MAX_FIELD = 4096  # no legitimate field of these forms is longer; longer ones are refused, not processed
MAX_TOKENS = 50
# Pages with secrets (tokens in the URL, a new API token on the page) must not leak them through the
# Referer header, be kept in caches, or be framed by another site.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
SETTINGS_NOTICES = {
    "password": "Your password is changed. Every other session is signed out.",
    "verification": "We sent a new confirmation link to your address.",
    "revoked": "The token is revoked.",
}


def _accounts(request: Request) -> AccountStore:
    return request.app.state.accounts


def _page(request: Request, template: str, context: dict | None = None, status: int = 200) -> Response:
    response = request.app.state.templates.TemplateResponse(
        request, template, context or {}, status_code=status
    )
    response.headers.update(PRIVATE_HEADERS)
    return response


def _notice(request: Request, title: str, message: str, status: int = 200, **extra) -> Response:
    return _page(request, "account_notice.html", {"title": title, "message": message, **extra}, status)


async def _form(request: Request) -> dict[str, str]:
    """The posted form's text fields; a malformed body or an over-long field is the client's error."""
    try:
        form = await request.form()
    except Exception:
        raise HTTPException(400, "The form could not be read.") from None
    fields = {}
    for key, value in form.items():
        if isinstance(value, str):
            if len(value) > MAX_FIELD:
                raise HTTPException(413, f"The field {key[:40]!r} is too long.")
            fields[key] = value
    return fields


def _mail_task(request: Request, message) -> BackgroundTask:
    """Send after the response: `message` is a built `Mail`, or an async function that makes one (so that
    the work of making it, a token written to the database, is not in the response's time either)."""
    mailer = request.app.state.mailer

    async def send() -> None:
        built = await message() if callable(message) else message
        try:
            await mailer.send(built.sender, built.recipient, built.data)
        except (MailError, OSError, ValueError):
            log.warning("could not send %r to %s", built.subject, built.recipient, exc_info=True)

    return BackgroundTask(send)


def _hash_slots() -> int:
    return max(2, os.cpu_count() or 2)


async def _argon2(request: Request, function, *args):
    """Run a password hash or verification in a worker thread, at most `_hash_slots()` at once per app.

    Each one takes 64 MiB and a core for tens of milliseconds: without a bound, a burst of sign-ins (from
    many addresses, so no rate limit trips) would run forty at once, take gigabytes and every worker thread.
    The queue waits on the event loop, not in a thread, so other requests keep their threads meanwhile."""
    limiter = getattr(request.app.state, "argon2_limiter", None)
    if limiter is None:
        limiter = request.app.state.argon2_limiter = anyio.CapacityLimiter(_hash_slots())
    return await anyio.to_thread.run_sync(functools.partial(function, *args), limiter=limiter)


async def _limit(request: Request, bucket: str, key: str, setting: str) -> None:
    """`check_setting` off the event loop: on SQLite the counter's write may wait for the lock."""
    await run_in_threadpool(check_setting, request, bucket, key, setting)


def _link(request: Request, path: str) -> str:
    return request.app.state.settings.base_url + path


def _mail(request: Request, to: str, template: str, context: dict) -> Mail:
    return MailBuilder.for_settings(request.app.state.settings).mail(to, template, context)


async def _verification_mail(request: Request, account: Account, email: str) -> Mail:
    settings = request.app.state.settings
    raw = await run_in_threadpool(
        _accounts(request).issue_token,
        account.id,
        "verify",
        email,
        timedelta(hours=settings.email_verification_hours),
    )
    context = {
        "username": account.username,
        "link": _link(request, f"/verify-email/{raw}"),
        "hours": settings.email_verification_hours,
    }
    return _mail(request, email, "confirm-address", context)


# -- sign up ----------------------------------------------------------------------------------------


@router.get("/signup")
def signup_form(request: Request, account: AccountDep):
    if account is not None:
        return RedirectResponse("/settings", status_code=303)
    return _page(request, "signup.html", {"values": {}, "errors": {}})


@router.post("/signup", dependencies=CSRF)
async def signup(request: Request):
    await _limit(request, "signup", client_ip(request), "signup")
    form = await _form(request)
    values = {"email": form.get("email", ""), "username": form.get("username", "")}
    errors: dict[str, str] = {}
    email = username = password_hash = None
    try:
        email = normalize_email(values["email"])
    except InvalidEmail as exc:
        errors["email"] = str(exc)
    try:
        username = normalize_username(values["username"])
    except InvalidInput as exc:
        errors["username"] = str(exc)
    try:
        check_password(form.get("password", ""))
    except InvalidInput as exc:
        errors["password"] = str(exc)
    if errors:
        return _page(request, "signup.html", {"values": values, "errors": errors}, 400)
    # Counted before anything is created, and the same for an address with or without an account.
    await _limit(request, "mail", email, "mail")
    password_hash = await _argon2(request, hash_password, form["password"])
    accounts = _accounts(request)
    try:
        created = await run_in_threadpool(
            lambda: accounts.create(email=email, username=username, password_hash=password_hash)
        )
    except NameTaken as exc:
        errors["username"] = str(exc)
        return _page(request, "signup.html", {"values": values, "errors": errors}, 400)
    except EmailTaken:
        # Answered exactly like a new sign-up; the address's owner learns of it by mail.
        context = {"signin_url": _link(request, "/signin"), "reset_url": _link(request, "/forgot-password")}
        message = _mail(request, email, "already-registered", context)
    else:

        async def message():
            return await _verification_mail(request, created, email)

    response = _check_your_mail(request, email)
    response.background = _mail_task(request, message)
    return response


def _check_your_mail(request: Request, email: str) -> Response:
    return _notice(
        request,
        "Check your mail",
        f"We sent a mail to {email}. Follow its link to confirm your address, then sign in.",
        links=[("/signin", "Sign in")],
    )


# -- confirming an address --------------------------------------------------------------------------


def _bad_link() -> HTTPException:
    return HTTPException(
        400, "This link is not valid: it was used already, it has expired, or it is not whole."
    )


def _token_arg(token: str) -> str:
    if not token or len(token) > 100:
        raise _bad_link()
    return token


@router.get("/verify-email/{token}")
def verify_email_form(request: Request, token: str):
    account = _accounts(request).peek_token(_token_arg(token), "verify")
    if account is None:
        raise _bad_link()
    # A button rather than confirming on GET: link scanners open links, and GET never changes anything.
    return _page(request, "verify_email.html", {"username": account.username, "token": token})


@router.post("/verify-email/{token}", dependencies=CSRF)
def verify_email(request: Request, token: str):
    accounts = _accounts(request)
    used = accounts.consume_token(_token_arg(token), "verify")
    if used is None or not accounts.mark_verified(*used):
        raise _bad_link()
    return _notice(
        request,
        "Address confirmed",
        "Thank you: your e-mail address is confirmed.",
        links=[("/settings", "Your settings")],
    )


# -- sign in and out --------------------------------------------------------------------------------


@router.get("/signin")
def signin_form(request: Request, account: AccountDep):
    next_path = safe_next(request.query_params.get("next"))
    if account is not None:
        return RedirectResponse(next_path, status_code=303)
    return _page(request, "signin.html", {"values": {}, "next": next_path, "error": None})


def _account_key(account: Account) -> str:
    return f"account:{account.id}"


def _login_key(login: str) -> str:
    """An address typed to sign in, in the form sign-up stored it (`User@Bücher.de` finds
    `user@xn--bcher-kva.de`); one the rule refuses is looked up as typed, since an older, looser rule may
    have stored it."""
    if "@" not in login:
        return login
    try:
        return normalize_email(login)
    except InvalidEmail:
        return login


@router.post("/signin", dependencies=CSRF)
async def signin(request: Request):
    await _limit(request, "signin", client_ip(request), "signin")
    form = await _form(request)
    login = form.get("login", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next"))
    context = {"values": {"login": login}, "next": next_path}
    if not login or not password:
        return _page(
            request, "signin.html", {**context, "error": "Enter your e-mail or username and password."}, 400
        )
    accounts = _accounts(request)
    plausible = len(login) <= MAX_EMAIL and not has_control_characters(login)
    found = await run_in_threadpool(accounts.by_login, _login_key(login)) if plausible else None
    # Per name typed (the address or the username, in any case), from anywhere; not per account row: if
    # attempts at "alice" counted against the account, a 429 on the next attempt at some address would say
    # that the address is alice's, which is just what an unknown address must never tell. A browser that
    # signed in to this account before is limited on its own instead: strangers failing at the name fill
    # the name's counter, never the owner's.
    browser = auth.known_browser(request, found[0].id) if found else None
    if browser is not None:
        await _limit(request, "signin-browser", f"browser:{browser}", "signin_account")
    else:
        await _limit(request, "signin-account", f"login:{login.lower()}", "signin_account")
    ok = await _argon2(request, verify_password, found[1] if found else None, password)
    if found is None or not ok:
        return _page(request, "signin.html", {**context, "error": "Wrong e-mail, username or password."}, 400)
    account, stored_hash = found
    if account.suspended:
        raise HTTPException(403, "This account is suspended.")
    if stored_hash and needs_rehash(stored_hash):
        # The hasher's parameters went up since this hash was made: store a fresh one (sessions stay).
        await run_in_threadpool(
            accounts.rehash_password, account.id, await _argon2(request, hash_password, password)
        )
    # Always a new session id: one planted in the browser before sign-in is never the signed-in one.
    lifetime = timedelta(days=request.app.state.settings.session_days)
    raw = await run_in_threadpool(
        lambda: accounts.start_session(account.id, lifetime, replacing=auth.session_id(request))
    )
    response = RedirectResponse(next_path, status_code=303)
    auth.set_session_cookie(request, response, raw)
    auth.remember_browser(request, response, account.id)
    return response


@router.post("/signout", dependencies=CSRF)
def signout(request: Request):
    raw = auth.session_id(request)
    if raw:
        _accounts(request).end_session(raw)
    response = RedirectResponse("/", status_code=303)
    auth.clear_session_cookie(request, response)
    return response


# -- password reset ---------------------------------------------------------------------------------


@router.get("/forgot-password")
def forgot_form(request: Request):
    return _page(request, "forgot_password.html", {"values": {}, "error": None})


@router.post("/forgot-password", dependencies=CSRF)
async def forgot(request: Request):
    await _limit(request, "password-reset", client_ip(request), "password_reset")
    form = await _form(request)
    try:
        email = normalize_email(form.get("email", ""))
    except InvalidEmail as exc:
        return _page(request, "forgot_password.html", {"values": form, "error": str(exc)}, 400)
    await _limit(request, "mail", email, "mail")
    settings = request.app.state.settings
    accounts = _accounts(request)

    async def send_if_registered() -> None:
        # After the response: the answer, and how long it takes, are the same for every address.
        account = await run_in_threadpool(accounts.by_email, email)
        if account is None or account.suspended:
            return
        lifetime = timedelta(minutes=settings.password_reset_minutes)
        raw = await run_in_threadpool(accounts.issue_token, account.id, "reset", email, lifetime)
        context = {
            "username": account.username,
            "link": _link(request, f"/reset-password/{raw}"),
            "minutes": settings.password_reset_minutes,
        }
        message = _mail(request, email, "reset-password", context)
        try:
            await request.app.state.mailer.send(message.sender, message.recipient, message.data)
        except (MailError, OSError, ValueError):
            log.warning("could not send a password reset mail", exc_info=True)

    response = _notice(
        request,
        "Check your mail",
        f"If an account has the address {email}, we sent it a link to choose a new password. "
        f"The link works for {settings.password_reset_minutes} minutes.",
    )
    response.background = BackgroundTask(send_if_registered)
    return response


@router.get("/reset-password/{token}")
def reset_form(request: Request, token: str):
    account = _accounts(request).peek_token(_token_arg(token), "reset")
    if account is None:
        raise _bad_link()
    return _page(
        request, "reset_password.html", {"username": account.username, "token": token, "error": None}
    )


@router.post("/reset-password/{token}", dependencies=CSRF)
async def reset(request: Request, token: str):
    token = _token_arg(token)
    form = await _form(request)
    password = form.get("password", "")
    accounts = _accounts(request)
    try:
        check_password(password)
    except InvalidInput as exc:
        account = await run_in_threadpool(accounts.peek_token, token, "reset")
        if account is None:
            raise _bad_link() from None
        context = {"username": account.username, "token": token, "error": str(exc)}
        return _page(request, "reset_password.html", context, 400)
    new_hash = await _argon2(request, hash_password, password)
    account = await run_in_threadpool(accounts.reset_password, token, new_hash)
    if account is None:
        raise _bad_link()
    response = _notice(
        request,
        "Password changed",
        "Your new password is set, and every session of your account is signed out. Sign in with it.",
        links=[("/signin", "Sign in")],
    )
    auth.clear_session_cookie(request, response)
    return response


# -- settings ---------------------------------------------------------------------------------------


def _settings_json(account: Account) -> dict:
    return {
        "id": account.id,
        "username": account.username,
        "email": account.email,
        "emailVerified": account.email_verified,
        "role": account.role,
        "suspended": account.suspended,
    }


def _private_json(body: dict) -> JSONResponse:
    response = JSONResponse(body)
    response.headers.update(PRIVATE_HEADERS)
    return response


# The twins of account pages answer a browser's session only: tokens cannot manage the account.
SESSION_TWIN = {
    "response_class": JSONResponse,
    "responses": errors(401, 403),
    "openapi_extra": needs(SESSION),
}


@twins_router.get(
    "/settings.json",
    operation_id="settings_json",
    summary="Your account.",
    response_model=shapes.AccountSettings,
    **SESSION_TWIN,
)
def settings_json(account: SessionAccount):
    return _private_json(_settings_json(account))


@router.get("/settings")
def settings_page(request: Request, account: SessionAccount):
    notice = SETTINGS_NOTICES.get(request.query_params.get("done", ""))
    return _page(request, "settings.html", {"account": account, "notice": notice, "errors": {}})


@router.post("/settings/password", dependencies=CSRF)
async def change_password(request: Request, account: SessionAccount):
    form = await _form(request)
    accounts = _accounts(request)
    await _limit(request, "signin-account", _account_key(account), "signin_account")
    stored = await run_in_threadpool(accounts.password_hash, account.id)
    errors = {}
    if not await _argon2(request, verify_password, stored, form.get("current_password", "")):
        errors["current_password"] = "That is not your current password."
    else:
        try:
            check_password(form.get("new_password", ""))
        except InvalidInput as exc:
            errors["new_password"] = str(exc)
    if errors:
        return _page(request, "settings.html", {"account": account, "notice": None, "errors": errors}, 400)
    new_hash = await _argon2(request, hash_password, form["new_password"])
    await run_in_threadpool(
        lambda: accounts.set_password(account.id, new_hash, keep_session=auth.session_id(request))
    )
    return RedirectResponse("/settings?done=password", status_code=303)


@router.post("/settings/verify-email", dependencies=CSRF)
async def resend_verification(request: Request, account: SessionAccount):
    if account.email_verified or not account.email:
        return RedirectResponse("/settings", status_code=303)
    await _limit(request, "mail", account.email, "mail")
    response = RedirectResponse("/settings?done=verification", status_code=303)
    response.background = _mail_task(request, lambda: _verification_mail(request, account, account.email))
    return response


@router.post("/settings/delete", dependencies=CSRF)
async def delete_account(request: Request, account: SessionAccount):
    form = await _form(request)
    accounts = _accounts(request)
    await _limit(request, "signin-account", _account_key(account), "signin_account")
    stored = await run_in_threadpool(accounts.password_hash, account.id)
    if not await _argon2(request, verify_password, stored, form.get("password", "")):
        errors = {"delete_password": "That is not your password; the account is not deleted."}
        return _page(request, "settings.html", {"account": account, "notice": None, "errors": errors}, 400)
    await run_in_threadpool(account_service.delete_account, accounts, request.app.state.community, account.id)
    response = _notice(
        request, "Account deleted", f"The account {account.username} and everything it owned are deleted."
    )
    auth.clear_session_cookie(request, response)
    return response


# -- personal API tokens ----------------------------------------------------------------------------


def _token_json(token) -> dict:
    return {
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "createdAt": token.created_at.isoformat(),
        "lastUsedAt": token.last_used_at.isoformat() if token.last_used_at else None,
        "expiresAt": token.expires_at.isoformat(),
        "expired": token.expired,
    }


@twins_router.get(
    "/settings/tokens.json",
    operation_id="tokens_json",
    summary="Your personal API tokens (never the tokens themselves: they are shown once, when made).",
    response_model=shapes.ApiTokens,
    **SESSION_TWIN,
)
def tokens_json(account: SessionAccount, accounts: AccountsDep):
    return _private_json({"tokens": [_token_json(t) for t in accounts.api_tokens(account.id)]})


@router.get("/settings/tokens")
def tokens_page(request: Request, account: SessionAccount, accounts: AccountsDep):
    tokens = accounts.api_tokens(account.id)
    notice = SETTINGS_NOTICES.get(request.query_params.get("done", ""))
    return _page(request, "tokens.html", _tokens_context(account, tokens, None, notice))


def _tokens_context(account: Account, tokens, new_token: str | None, notice: str | None) -> dict:
    return {
        "account": account,
        "tokens": tokens,
        "new_token": new_token,
        "notice": notice,
        "lifetimes": API_TOKEN_DAYS,
        "default_days": DEFAULT_API_TOKEN_DAYS,
    }


@router.post("/settings/tokens", dependencies=CSRF)
async def create_token(request: Request, account: SessionAccount):
    form = await _form(request)
    name = plain_line(form.get("name", ""), 100) or "API token"
    days = form.get("days", str(DEFAULT_API_TOKEN_DAYS)).strip()
    if days not in {str(d) for d in API_TOKEN_DAYS}:
        raise HTTPException(400, f"A token lasts {', '.join(map(str, API_TOKEN_DAYS))} days.")
    accounts = _accounts(request)
    tokens = await run_in_threadpool(accounts.api_tokens, account.id)
    if len(tokens) >= MAX_TOKENS:
        raise HTTPException(400, f"An account can have at most {MAX_TOKENS} tokens; revoke some first.")
    lifetime = timedelta(days=int(days))
    raw, _info = await run_in_threadpool(accounts.create_api_token, account.id, name, lifetime)
    tokens = await run_in_threadpool(accounts.api_tokens, account.id)
    return _page(request, "tokens.html", _tokens_context(account, tokens, raw, None))


@router.post("/settings/tokens/{token_id}/revoke", dependencies=CSRF)
def revoke_token(
    account: SessionAccount,
    accounts: AccountsDep,
    token_id: Annotated[int, Path(ge=1, le=params.MAX_ID)],  # out of range: 400, as this form always said
):
    if not accounts.revoke_api_token(account.id, token_id):
        raise HTTPException(404, "You have no such token.")
    return RedirectResponse("/settings/tokens?done=revoked", status_code=303)


# -- profiles ---------------------------------------------------------------------------------------


def _profile(accounts: AccountStore, username: str):
    if not username or len(username) > 64 or has_control_characters(username):
        raise HTTPException(404, "No such user")
    found = accounts.profile(username)
    if found is None:
        raise HTTPException(404, f"No user is called {username}")
    return found


@twins_router.get(
    "/u/{username}.json",
    operation_id="profile_json",
    summary="A member's public profile: the papers they submitted and upvoted.",
    response_class=JSONResponse,
    response_model=shapes.Profile,
    responses=errors(404),
)
def profile_json(username: str, accounts: AccountsDep):
    found = _profile(accounts, username)
    return JSONResponse(
        {
            "username": found.username,
            "fullname": found.fullname,
            "avatarUrl": found.avatar_url,
            "origin": found.origin,
            "createdAt": found.created_at.isoformat() if found.created_at else None,
            "submitted": [_card(v) for v in found.submitted],
            "upvoted": [_card(v) for v in found.upvoted],
        }
    )


@router.get("/u/{value}")
def profile(request: Request, value: str, accounts: AccountsDep):
    found = _profile(accounts, value)
    return request.app.state.templates.TemplateResponse(request, "profile.html", {"profile": found})


def _card(view) -> dict:
    item = hf_shapes.daily_item(view)
    item["url"] = f"/papers/{view.arxiv_id}"
    return item


# -- API --------------------------------------------------------------------------------------------


@api_router.get(
    "/api/whoami-v2",
    tags=["accounts"],
    operation_id="whoami",
    response_class=JSONResponse,
    response_model=shapes.Whoami,
    responses=errors(401, 403),
    openapi_extra=needs(BEARER, SESSION),
)
def whoami(account: auth.RequiredAccount):
    """The account a personal API token (or session) belongs to, as Hugging Face's `whoami` has it."""
    return JSONResponse(
        {
            "type": "user",
            "id": str(account.id),
            "name": account.username,
            "fullname": account.username,
            "email": account.email,
            "emailVerified": account.email_verified,
            "isModerator": account.is_moderator,
            "auth": {"type": "access_token"},
        }
    )
