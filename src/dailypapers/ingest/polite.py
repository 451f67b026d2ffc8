"""The HTTP client every source shares: paced per host, one request at a time, retried with back-off.

Why not the `arxiv` package from PyPI (which paces and retries too): its pacing lives in one Client object
(not shared with OAI-PMH and the listings, nor between processes), it retries at once without back-off or
jitter and ignores Retry-After, its User-Agent cannot carry the deployment's contact address, and it hides
page boundaries, which a checkpoint after every page needs. Its base URL is a class attribute that could be
overridden, but the rest would have to be rebuilt around it, so this module does it with httpx and the
parsers use lxml directly.
"""

from __future__ import annotations

import fcntl
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit

import httpx

from dailypapers import __version__
from dailypapers.ingest.safexml import BadPage

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_STATUSES = {429, 500, 502, 503, 504}
MAX_BODY_BYTES = 256 * 1024 * 1024
MAX_WAIT_SECONDS = 600.0  # a Retry-After longer than this ends the run instead of stalling it


class FetchError(Exception):
    """A request that failed for good (after its retries, or at once for a 4xx): the run stops cleanly."""

    def __init__(self, message: str, *, status: int | None = None, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class Stopped(Exception):
    """The worker was asked to stop while waiting."""


def user_agent(base_url: str, contact_email: str) -> str:
    """`dailypapers/0.1.0 (+https://papers.example.org; mailto:admin@example.org)`."""
    parts = [f"+{base_url}"] + ([f"mailto:{contact_email}"] if contact_email else [])
    return f"dailypapers/{__version__} ({'; '.join(parts)})"


def pacing_key(url: str) -> str:
    """All of arXiv's hosts share one budget (its terms count them together); others go by host:port."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host == "arxiv.org" or host.endswith(".arxiv.org"):
        return "arxiv.org"
    return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


class Pacing(Protocol):
    """Spaces the requests of one pacing key: `Pacer` below (a file lock: this machine's processes), or
    dailypapers.store.pacing.DatabasePacer (a row lock: every machine on one PostgreSQL database)."""

    def slot(self, wait: Callable[[float], None] = ...) -> AbstractContextManager[None]: ...


class Pacer:
    """One request at a time per key, and `delay` seconds from the end of one to the start of the next.

    Within a process a lock serializes threads; across processes on this machine an flock on a small file
    does, and the file holds the wall-clock end of the last request. Measuring from the end (not the start)
    means two requests' starts are never closer than `delay`, as seen by the server too.
    """

    _locks: dict[str, threading.Lock] = {}
    _registry_lock = threading.Lock()

    def __init__(self, key: str, delay: float, lock_dir: Path | None = None) -> None:
        self.key = key
        self.delay = delay
        directory = lock_dir or Path(tempfile.gettempdir()) / f"dailypapers-pacing-{os.getuid()}"
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = directory / ("".join(c if c.isalnum() or c in ".-" else "_" for c in key) + ".lock")
        with Pacer._registry_lock:
            self._lock = Pacer._locks.setdefault(key, threading.Lock())

    @contextmanager
    def slot(self, wait: Callable[[float], None] = time.sleep) -> Iterator[None]:
        with self._lock:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                last = _read_float(fd)
                pause = last + self.delay - time.time()
                if pause > 0:
                    wait(min(pause, self.delay))  # a clock step back must not freeze us
                try:
                    yield
                finally:
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.ftruncate(fd, 0)
                    os.write(fd, repr(time.time()).encode())
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)


def _read_float(fd: int) -> float:
    os.lseek(fd, 0, os.SEEK_SET)
    try:
        return float(os.read(fd, 64).decode() or 0)
    except ValueError:
        return 0.0


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP-date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class PoliteClient:
    """GETs that respect a host's pacing and retry what is worth retrying. Use as a context manager."""

    def __init__(
        self,
        *,
        user_agent: str,
        delay: float,
        max_retries: int = 5,
        timeout: float = 60.0,
        stop: threading.Event | None = None,
        lock_dir: Path | None = None,
        transport: httpx.BaseTransport | None = None,
        pacer_for: Callable[[str, float], Pacing] | None = None,
    ) -> None:
        self.delay = delay
        # How requests to one pacing key are spaced: a file lock on this machine unless told otherwise (a
        # PostgreSQL deployment passes dailypapers.store.pacing's, which holds across machines).
        self.pacer_for = pacer_for or (lambda key, delay: Pacer(key, delay, lock_dir))
        self.max_retries = max_retries
        self.stop = stop or threading.Event()
        self.lock_dir = lock_dir
        self._pacers: dict[str, Pacing] = {}
        self.http = httpx.Client(
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 20.0)),
            follow_redirects=True,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
            transport=transport,
        )
        self.requests = 0

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def _pacer(self, url: str) -> Pacing:
        key = pacing_key(url)
        if key not in self._pacers:
            self._pacers[key] = self.pacer_for(key, self.delay)
        return self._pacers[key]

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Stopped()

    def get(self, url: str, params: dict | None, parse: Callable[[bytes], T]) -> T:
        """GET `url` and parse its body; retry on 429/5xx, timeouts, connection errors and pages the parser
        finds empty or truncated (BadPage with retry=True). Raise FetchError when it will not work."""
        problems: list[str] = []
        for attempt in range(self.max_retries + 1):
            if self.stop.is_set():
                raise Stopped()
            retry_after: float | None = None
            with self._pacer(url).slot(self._sleep):
                self.requests += 1
                try:
                    status, headers, body = self._fetch(url, params)
                except (httpx.TimeoutException, httpx.TransportError) as exc:
                    problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                else:
                    if status in RETRY_STATUSES:
                        retry_after = retry_after_seconds(headers.get("retry-after"))
                        problem = f"HTTP {status}"
                        if retry_after is not None:
                            problem += f" (Retry-After {retry_after:.0f}s)"
                    elif status >= 400:
                        raise FetchError(f"HTTP {status} from {url}", status=status, body=body)
                    else:
                        try:
                            return parse(body)
                        except BadPage as exc:
                            if not exc.retry:
                                raise FetchError(exc.reason, status=status, body=body) from None
                            problem = exc.reason
            problems.append(problem)
            if attempt == self.max_retries:
                break
            backoff = self.delay * (2**attempt) * random.uniform(0.5, 1.5) if self.delay else 0.05
            wait = max(backoff, retry_after or 0.0)
            if wait > MAX_WAIT_SECONDS:
                raise FetchError(f"{problem}: the server asks to wait {wait:.0f}s; stopping instead")
            log.warning("%s: %s; retry %d/%d in %.1fs", url, problem, attempt + 1, self.max_retries, wait)
            self._sleep(wait)
        raise FetchError(f"gave up after {len(problems)} tries: {problems[-1]}")

    def _fetch(self, url: str, params: dict | None) -> tuple[int, httpx.Headers, bytes]:
        with self.http.stream("GET", url, params=params) as response:
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    raise FetchError(f"response larger than {MAX_BODY_BYTES} bytes from {url}")
                chunks.append(chunk)
            return response.status_code, response.headers, b"".join(chunks)
