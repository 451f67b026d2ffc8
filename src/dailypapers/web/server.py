"""Serving the app with uvicorn: a request head (line and headers) is capped while it arrives, and proxy
headers are believed only from the addresses the settings list.

uvicorn's httptools protocol buffers a request's headers whole before the app sees them, with no bound: 200
header lines of 1 MB each took a server from 736 MB to 934 MB, then got a 200. `BoundedHttpTools` counts the
bytes of a head as they come and answers 431 (and closes) as soon as they pass the cap.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from dailypapers.settings import Settings

# Per process, set by `serve` from settings before uvicorn starts (each worker imports this module afresh
# with the same environment, so `configure` runs in the factory too).
HEAD_LIMIT = {"bytes": 65_536}


class BoundedHttpTools(HttpToolsProtocol):
    """httptools' protocol, with the request head capped at HEAD_LIMIT bytes while it arrives."""

    _head_bytes = 0
    _in_head = True

    def data_received(self, data: bytes) -> None:
        was_in_head = self._in_head
        super().data_received(data)
        # Counted after parsing: a read that ends the head (and brings the body's first bytes) is no head.
        # What the parser holds of an unfinished head is thus at most the cap plus one read.
        if was_in_head and self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > HEAD_LIMIT["bytes"]:
                self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        super().on_headers_complete()

    def _refuse_head(self) -> None:
        body = b"Request headers too large"
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: text/plain; charset=utf-8\r\n"
            b"content-length: " + str(len(body)).encode() + b"\r\nconnection: close\r\n\r\n" + body
        )
        self.transport.close()
        self._in_head = False  # nothing more is read from this connection


def configure(settings: Settings) -> None:
    HEAD_LIMIT["bytes"] = settings.max_request_header_bytes


def uvicorn_options(settings: Settings) -> dict:
    """What every uvicorn run of the site shares: the bounded protocol, and proxy headers (X-Forwarded-For,
    X-Forwarded-Proto) believed only from DAILYPAPERS_FORWARDED_ALLOW_IPS (none by default: a client could
    otherwise pose as any address and pass the per-address rate limits)."""
    configure(settings)
    trusted = settings.forwarded_allow_ips.strip()
    return {
        "http": BoundedHttpTools,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted or None,
        "log_level": "info",
        "access_log": False,
    }
