"""Caps on what a request may send, enforced as it arrives: before any route, sign-in check or parser runs.

A body larger than the cap is refused from its Content-Length at once (413, nothing read), or, sent in chunks
without one, as soon as the bytes read pass the cap: memory stays flat whatever a client sends. Header count
and size are checked here too (431), but their bytes are already in memory by then: the server protocol
(`web.server`) refuses oversized heads while they arrive.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.web import errors


class RequestLimits:
    def __init__(self, app: ASGIApp, *, max_body: int, max_headers: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_body = max_body
        self.max_headers = max_headers
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope["headers"]
        if (
            len(headers) > self.max_headers
            or sum(len(k) + len(v) for k, v in headers) > self.max_header_bytes
        ):
            await self._refuse(scope, receive, send, 431, "Request headers too large")
            return
        declared = next((v for k, v in headers if k == b"content-length"), None)
        if declared is not None:
            if not declared.isdigit():
                await self._refuse(scope, receive, send, 400, "Content-Length must be a number")
                return
            if int(declared) > self.max_body:
                await self._refuse(scope, receive, send, 413, self._too_large())
                return
        await self.app(scope, self._counting(receive), send)

    def _too_large(self) -> str:
        return f"Request body too large: at most {self.max_body:,} bytes"

    def _counting(self, receive: Receive) -> Receive:
        """`receive` that stops a body sent in chunks as soon as it passes the cap."""
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    # Raised into whatever reads the body (a route, a form parser): answered 413 by the
                    # app's error handlers, as JSON or a page like every other error.
                    # Connection: close, so the server stops reading the rest instead of draining it.
                    raise HTTPException(413, self._too_large(), headers={"Connection": "close"})
            return message

        return counted

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
        response = errors.error_response(Request(scope), status, message)
        response.headers["Connection"] = "close"  # the unread body must not be taken for the next request
        await response(scope, receive, send)
