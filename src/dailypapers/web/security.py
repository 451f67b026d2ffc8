"""Security headers on every response.

- A Content-Security-Policy with no inline script anywhere: scripts, styles, images, forms and fetches come
  from this site only (the favicon is a data: URI), so an injected `<script>` or `onclick=` cannot run;
  `frame-ancestors 'none'` (and X-Frame-Options for old browsers) so no other site frames a page to trick a
  click on the upvote button.
- `nosniff`, so a user's text served as text is never run as a script; a Referrer-Policy that tells other
  sites only our origin; HSTS when the site is served over https.
The API docs pages (Swagger UI, ReDoc) set styles inline from their scripts: they alone allow inline styles.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web.apidocs import DOCS_PATHS

_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
}


def _policy(**changes: str) -> bytes:
    return "; ".join(f"{k} {v}" for k, v in {**_POLICY, **changes}.items()).encode()


PAGE_POLICY = _policy()
DOCS_POLICY = _policy(**{"style-src": "'self' 'unsafe-inline'", "worker-src": "'self' blob:"})
# The map's WebGL library (regl, under regl-scatterplot) compiles its draw calls with `new Function`: the map
# page alone allows eval, still only for scripts of this site (no inline script).
MAP_POLICY = _policy(**{"script-src": "'self' 'unsafe-eval'"})
HSTS = b"max-age=31536000; includeSubDomains"


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.fixed = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"x-frame-options", b"DENY"),
        ]
        if https:
            self.fixed.append((b"strict-transport-security", HSTS))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        policy = DOCS_POLICY if path in DOCS_PATHS else MAP_POLICY if path == "/map" else PAGE_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.fixed:
                    headers.setdefault(name.decode(), value.decode())
                headers.setdefault("content-security-policy", policy.decode())
            await send(message)

        await self.app(scope, receive, send_with_headers)
