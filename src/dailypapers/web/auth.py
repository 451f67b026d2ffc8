"""Who is asking, and may they: sessions, personal API tokens, CSRF.

- A browser is signed in by the `dp_session` cookie: a random id whose SHA-256 names a row of `sessions`
  (HttpOnly, SameSite=Lax, Secure when the site is https). Each session has its own CSRF token.
- An API client sends `Authorization: Bearer dp_...`; tokens count on `/api/...` paths only, so a leaked
  token cannot change a password, delete the account or make more tokens.
- Every state-changing route reachable from a browser depends on `csrf_protect`. Anonymous visitors (the
  sign-in and sign-up forms) get their CSRF token from a cookie signed with the secret key.
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, Signer, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.accounts.credentials import new_token
from dailypapers.accounts.model import Account
from dailypapers.store.accounts import AccountStore
from dailypapers.web import params

log = logging.getLogger(__name__)

SESSION_COOKIE = "dp_session"
CSRF_COOKIE = "dp_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_NEW_CSRF_COOKIE = "dailypapers.new_csrf_cookie"  # key in the ASGI scope's state
_UNSET = object()
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class SignInRequired(Exception):
    """A page needs a signed-in person: answered with a redirect to /signin that comes back here."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def accounts_of(request: Request) -> AccountStore:
    return request.app.state.accounts


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def session_id(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    return raw if raw and len(raw) <= 100 else None


def _session(request: Request) -> tuple[Account, str] | None:
    """(account, CSRF token) of the browser's live session; looked up once per request."""
    memo = getattr(request.state, "dp_session", _UNSET)
    if memo is not _UNSET:
        return memo
    raw = session_id(request)
    found = accounts_of(request).session(raw) if raw else None
    request.state.dp_session = found
    return found


def current_account(request: Request) -> Account | None:
    """The account making this request (session cookie, or a Bearer token on /api/ paths), or None."""
    memo = getattr(request.state, "account", _UNSET)
    if memo is not _UNSET:
        return memo
    account = None
    token = _bearer(request) if params.is_api(request.url.path) else None
    if token:
        account = accounts_of(request).token_account(token)
        request.state.via_token = account is not None
    if account is None:
        session = _session(request)
        account = session[0] if session else None
    request.state.account = account
    return account


AccountDep = Annotated[Account | None, Depends(current_account)]


def _next_path(request: Request) -> str:
    """Where to come back after signing in: this page, or for a form post the page the form was on."""
    if request.method in SAFE_METHODS:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return safe_next(path)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc == request.url.netloc and referer.path:
        return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    return "/"


def safe_next(value: str | None) -> str:
    """A local path to redirect to; anything else (another site, `//host`, `/\\host`, junk) is `/`."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ord(c) < 32 or c == "\\" for c in value) or urlsplit(value).netloc:
        return "/"
    return value


def require_account(request: Request, account: AccountDep) -> Account:
    """A signed-in, unsuspended account: else 401 (API) or a redirect to sign in (pages); 403 if suspended."""
    if account is None:
        path = request.url.path
        if params.is_api(path) or params.is_json_twin(path):  # programs get a status, not a page
            raise HTTPException(401, "Sign in, or send a personal API token", {"WWW-Authenticate": "Bearer"})
        raise SignInRequired(_next_path(request))
    if account.suspended:
        raise HTTPException(403, "This account is suspended.")
    return account


RequiredAccount = Annotated[Account, Depends(require_account)]


def require_moderator(account: RequiredAccount) -> Account:
    if not account.is_moderator:
        raise HTTPException(403, "Only moderators can do that.")
    return account


ModeratorAccount = Annotated[Account, Depends(require_moderator)]


def require_session_account(request: Request, account: RequiredAccount) -> Account:
    """As `require_account`, but only a browser session counts: settings and tokens are not for tokens."""
    if getattr(request.state, "via_token", False):
        raise HTTPException(403, "Personal API tokens cannot manage the account; sign in on the site.")
    return account


SessionAccount = Annotated[Account, Depends(require_session_account)]


# -- CSRF -------------------------------------------------------------------------------------------


def _signer(request: Request) -> Signer:
    return Signer(request.app.state.settings.secret_key, salt="dailypapers.csrf")


def _anonymous_csrf(request: Request) -> str | None:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw or len(raw) > 200:
        return None
    try:
        return _signer(request).unsign(raw).decode()
    except (BadSignature, UnicodeDecodeError):
        return None


def csrf_token(request: Request) -> str:
    """The CSRF token to put in this browser's forms (a template global).

    The session's token when signed in; else the anonymous one from the signed cookie, made (and the
    cookie set on this response) the first time a form is shown.
    """
    session = _session(request)
    if session is not None:
        return session[1]
    token = _anonymous_csrf(request)
    if token is None:
        state = request.scope.setdefault("state", {})
        token = state.get(_NEW_CSRF_COOKIE + ".value")
        if token is None:
            token = new_token()
            state[_NEW_CSRF_COOKIE + ".value"] = token
            state[_NEW_CSRF_COOKIE] = _signer(request).sign(token).decode()
    return token


def _expected_csrf(request: Request) -> str | None:
    session = _session(request)
    return session[1] if session is not None else _anonymous_csrf(request)


async def csrf_protect(request: Request) -> None:
    """Refuse (403) a state-changing request whose CSRF token does not match the one bound to this browser.

    A request with a Bearer token and no cookies carries no ambient credential another site could ride on,
    so it passes (whether the token is any good is for `require_account` to say).
    """
    if request.method in SAFE_METHODS:
        return
    if "cookie" not in request.headers and _bearer(request):
        return
    supplied = request.headers.get(CSRF_HEADER)
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                form = await request.form()
            except Exception:  # malformed body: a client error, not ours
                raise HTTPException(400, "The form could not be read.") from None
            value = form.get(CSRF_FIELD)
            supplied = value if isinstance(value, str) else None
    expected = await run_in_threadpool(_expected_csrf, request)
    if not supplied or not expected or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(
            403, "This form has expired or did not come from this site. Go back, reload the page, try again."
        )


CsrfProtected = Depends(csrf_protect)


def account_of(request: Request) -> Account | None:
    """The signed-in account, for templates (the header, upvote state); None if that cannot be known."""
    try:
        return current_account(request)
    except Exception:  # an error page must render even when the database is what failed
        log.warning("could not look up the account of a request", exc_info=True)
        return None


# -- cookies ----------------------------------------------------------------------------------------


def set_session_cookie(request: Request, response: Response, raw: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        raw,
        max_age=settings.session_days * 86_400,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


# A browser that signed in to an account before carries this (signed, HttpOnly) for a year: its sign-ins to
# that account are limited per browser, not per name typed, so that strangers failing at the name cannot
# lock its owner out (docs: README, Accounts).
KNOWN_BROWSER_COOKIE = "dp_known"
KNOWN_BROWSER_DAYS = 365


def _browser_serializer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.settings.secret_key, salt="dailypapers.known-browser")


def known_browser(request: Request, user_id: int) -> str | None:
    """The id of this browser if it signed in to `user_id` before (a valid cookie naming that account)."""
    raw = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not raw or len(raw) > 300:
        return None
    try:
        data = _browser_serializer(request).loads(raw, max_age=KNOWN_BROWSER_DAYS * 86_400)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("u") != user_id or not isinstance(data.get("b"), str):
        return None
    return data["b"]


def remember_browser(request: Request, response: Response, user_id: int) -> None:
    browser = known_browser(request, user_id) or new_token()[:16]
    response.set_cookie(
        KNOWN_BROWSER_COOKIE,
        _browser_serializer(request).dumps({"u": user_id, "b": browser}),
        max_age=KNOWN_BROWSER_DAYS * 86_400,
        path="/signin",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.cookie_secure,
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    secure = request.app.state.settings.cookie_secure
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=secure)


class CsrfCookie:
    """Sets the anonymous CSRF cookie on the response of a request that rendered a new token."""

    def __init__(self, app: ASGIApp, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start" and state.get(_NEW_CSRF_COOKIE):
                headers = MutableHeaders(scope=message)
                cookie = f"{CSRF_COOKIE}={state[_NEW_CSRF_COOKIE]}; HttpOnly; Path=/; SameSite=Lax"
                headers.append("set-cookie", cookie + ("; Secure" if self.secure else ""))
            await send(message)

        await self.app(scope, receive, send_with_cookie)


async def _sign_in_required(request: Request, exc: SignInRequired) -> Response:
    return RedirectResponse(f"/signin?next={quote(exc.next_path, safe='/')}", status_code=303)


def install(app: FastAPI) -> None:
    """Template globals, the CSRF cookie middleware and the sign-in redirect; call from `create_app`."""
    env = app.state.templates.env
    env.globals["csrf_token"] = csrf_token
    env.globals["account_of"] = account_of
    app.add_exception_handler(SignInRequired, _sign_in_required)
    app.add_middleware(CsrfCookie, secure=app.state.settings.cookie_secure)
