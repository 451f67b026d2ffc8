"""SMTP delivery with aiosmtplib: a small pool of reused connections, STARTTLS or TLS, optional auth.

`DAILYPAPERS_SMTP_URL` forms:
  smtp://host:25              plain; STARTTLS when the server offers it
  smtp+starttls://host:587    STARTTLS required
  smtps://host:465            TLS from the first byte
  user and password in the URL (`smtp+starttls://user:pass@host:587`) log in; `?timeout=30` sets the timeout.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from dailypapers.mail.types import PermanentMailError, TemporaryMailError

SCHEMES = ("smtp", "smtp+starttls", "smtps")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    mode: str  # "opportunistic", "starttls" or "tls"
    username: str | None
    password: str | None
    timeout: float


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise ValueError(f"SMTP URL scheme must be one of {', '.join(SCHEMES)}, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("SMTP URL has no host")
    mode = {"smtp": "opportunistic", "smtp+starttls": "starttls", "smtps": "tls"}[parts.scheme]
    default_port = {"opportunistic": 25, "starttls": 587, "tls": 465}[mode]
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise ValueError(f"SMTP URL has a bad port: {exc}") from None
    query = parse_qs(parts.query)
    try:
        timeout = float(query.get("timeout", ["30"])[0])
    except ValueError:
        raise ValueError("SMTP URL timeout must be a number of seconds") from None
    return SmtpTarget(
        host=parts.hostname,
        port=port,
        mode=mode,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        timeout=timeout,
    )


class SmtpMailer:
    """Up to `max_connections` SMTP connections, each sending one message at a time and reused.

    A connection that fails is dropped and opened again on the next send. SMTP replies map to
    `TemporaryMailError` (4xx, connection trouble) or `PermanentMailError` (5xx).
    """

    def __init__(
        self, url: str, *, max_connections: int = 1, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.target = parse_smtp_url(url)
        self.tls_context = tls_context
        self._idle: asyncio.Queue[aiosmtplib.SMTP] | None = None
        self._slots: asyncio.Semaphore | None = None
        self.max_connections = max(1, max_connections)
        self.connections_opened = 0

    def _pools(self) -> tuple[asyncio.Queue, asyncio.Semaphore]:
        # Made lazily: they belong to the event loop that first sends.
        if self._idle is None or self._slots is None:
            self._idle = asyncio.Queue()
            self._slots = asyncio.Semaphore(self.max_connections)
        return self._idle, self._slots

    async def _connect(self) -> aiosmtplib.SMTP:
        target = self.target
        client = aiosmtplib.SMTP(
            hostname=target.host,
            port=target.port,
            timeout=target.timeout,
            use_tls=target.mode == "tls",
            start_tls=True
            if target.mode == "starttls"
            else None
            if target.mode == "opportunistic"
            else False,
            tls_context=self.tls_context,
            username=target.username,
            password=target.password,
        )
        await client.connect()
        self.connections_opened += 1
        return client

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        idle, slots = self._pools()
        async with slots:
            client = idle.get_nowait() if not idle.empty() else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                await client.sendmail(sender, [recipient], data)
            except aiosmtplib.SMTPRecipientsRefused as exc:
                # One recipient: its refusal is the answer for the message.
                refusal = exc.recipients[0] if exc.recipients else None
                code = refusal.code if refusal else 550
                message = refusal.message if refusal else str(exc)
                self._keep(idle, client)
                raise _by_code(code, message, bounce=True) from None
            except aiosmtplib.SMTPResponseException as exc:  # sender, login, content: not the address
                self._keep(idle, client)
                raise _by_code(exc.code, exc.message, bounce=False) from None
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                await _close(client)
                raise TemporaryMailError(f"SMTP connection failed: {exc}") from None
            self._keep(idle, client)

    @staticmethod
    def _keep(idle: asyncio.Queue, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            idle.put_nowait(client)

    async def aclose(self) -> None:
        if self._idle is None:
            return
        while not self._idle.empty():
            await _close(self._idle.get_nowait())


def _by_code(code: int, message: str, *, bounce: bool) -> TemporaryMailError | PermanentMailError:
    text = f"SMTP {code}: {message}"
    return PermanentMailError(text, code, bounce=bounce) if code >= 500 else TemporaryMailError(text, code)


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is None:
        return
    try:
        if client.is_connected:
            await client.quit()
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        client.close()
