"""Building mail: every message is a template name plus a context, rendered, then written to bytes by one
builder. Sending is the `Mailer`'s business (`dailypapers.mail.types`).

Templates live in `mail/templates/<name>/`: `subject.txt` (one line), `body.txt`, and `body.html` when the
mail has an HTML part. The digests render their own bodies (cards cached once per run,
`dailypapers.digests.compose`) and hand them to the same builder with their list headers.

Headers are written by hand, ASCII and never folded: `EmailMessage` with `policy.SMTP` managed 80-125
messages/s here, and folded a long `List-Unsubscribe` into an RFC 2047 encoded word that mail clients do not
read as a link. Only a non-ASCII display name or subject is encoded.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2

TEMPLATES = Path(__file__).resolve().parent / "templates"


class UnsendableAddress(ValueError):
    """A recipient address that cannot go into a header or an SMTP envelope as it is."""


@dataclass(frozen=True, slots=True)
class Content:
    """What a mail says: its subject and its bodies (text, and HTML when there is one)."""

    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    """A built message with its envelope: what a `Mailer` sends (`mailer.send(sender, recipient, data)`)."""

    sender: str
    recipient: str
    subject: str
    data: bytes


@functools.cache
def _environment(directory: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=jinja2.select_autoescape(["html"]),
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,  # a context missing a value is a bug, not an empty space in a mail
    )


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF lines (lines stay under 78 characters whatever the content)."""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _header_value(value: str) -> str:
    """ASCII as it is; anything else as an RFC 2047 encoded word (only for From and Subject)."""
    if value.isascii():
        return value
    return Header(value, "utf-8").encode(maxlinelen=998)


def _from_header(mail_from: str) -> str:
    name, address = parseaddr(mail_from)
    if not address:
        raise ValueError(f"mail_from has no address: {mail_from!r}")
    if not name:
        return address
    if name.isascii():
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{address}>'
    return f"{_header_value(name)} <{address}>"


def _one_line(value: str) -> str:
    """Header text with any line break folded away: a template or a setting must not add a header."""
    return " ".join(value.split())


_PART = "Content-Type: text/{}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"


class MailBuilder:
    """Renders the site's mail templates and writes messages from `mail_from` as bytes."""

    def __init__(self, mail_from: str, *, site_name: str, base_url: str, templates: Path = TEMPLATES) -> None:
        self.sender = parseaddr(mail_from)[1]  # the envelope sender
        self.host = urlsplit(base_url).hostname or "localhost"
        self.domain = self.sender.rsplit("@", 1)[-1] or self.host
        self.site_name = site_name
        self.base_url = base_url.rstrip("/")
        self._from = _from_header(mail_from)
        self._templates = templates

    @classmethod
    def for_settings(cls, settings) -> MailBuilder:
        return cls(settings.mail_from, site_name=settings.site_name, base_url=settings.base_url)

    def render(self, name: str, context: Mapping[str, Any]) -> Content:
        """The subject and bodies of template `name`, with `site_name` and `base_url` in every context."""
        env = _environment(self._templates)
        values = {"site_name": self.site_name, "base_url": self.base_url, **context}
        subject = _one_line(env.get_template(f"{name}/subject.txt").render(values))
        text = env.get_template(f"{name}/body.txt").render(values)
        html = None
        if (self._templates / name / "body.html").exists():
            html = env.get_template(f"{name}/body.html").render(values)
        return Content(subject, text, html)

    def mail(self, to: str, name: str, context: Mapping[str, Any]) -> Mail:
        """Template `name` rendered with `context` and built for `to`, dated now with a fresh Message-ID."""
        content = self.render(name, context)
        return Mail(self.sender, to, content.subject, self.build(to, content))

    def message_id(self) -> str:
        return make_msgid(domain=self.domain)

    def build(
        self,
        to: str,
        content: Content,
        *,
        now: datetime | None = None,
        message_id: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
    ) -> bytes:
        """The message's bytes: From, To, Subject, Date, Message-ID, then `headers` (ASCII, one line each),
        then the text part, or the text and HTML parts as multipart/alternative."""
        if not to.isascii() or not to.isprintable() or " " in to or "@" not in to:
            # A line break here would end the To header and start another (header injection).
            raise UnsendableAddress(f"not a sendable address: {to!r}")
        message_id = message_id or self.message_id()
        lines = [
            f"From: {self._from}",
            f"To: {to}",
            f"Subject: {_header_value(_one_line(content.subject))}",
            f"Date: {format_datetime(now or datetime.now(UTC))}",
            f"Message-ID: {message_id}",
            *(f"{name}: {value}" for name, value in headers),
            # Automatic mail: auto-responders should stay quiet (RFC 3834).
            "Auto-Submitted: auto-generated",
            "MIME-Version: 1.0",
        ]
        if content.html is None:
            lines.append(_PART.format("plain").rstrip("\r\n"))
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
            return head + _qp(content.text)
        # "=_" cannot occur in quoted-printable text; the same message always gets the same boundary.
        boundary = "=_dp_" + hashlib.sha256(message_id.encode()).hexdigest()[:16]
        lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
        return b"".join(
            (
                head,
                f"--{boundary}\r\n{_PART.format('plain')}".encode(),
                _qp(content.text),
                f"\r\n--{boundary}\r\n{_PART.format('html')}".encode(),
                _qp(content.html),
                f"\r\n--{boundary}--\r\n".encode(),
            )
        )
