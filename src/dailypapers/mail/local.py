"""Mailers for development: print messages, or write each one to a directory as an .eml file; and reading
them back as a person would (decoded: quoted-printable splits long links with `=` at 76 characters, and a
link cut in two cannot be followed).
"""

from __future__ import annotations

import email
import hashlib
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TextIO

SHOWN_HEADERS = ("From", "To", "Subject", "Date")


@dataclass(frozen=True, slots=True)
class ReadMail:
    """A message as its reader sees it: the headers that matter and the text, decoded."""

    name: str  # its file name in a mail directory ("" for one that was never stored)
    sender: str
    recipient: str
    subject: str
    date: datetime | None
    text: str


def read_message(data: bytes, name: str = "") -> ReadMail:
    """The headers and the plain-text body of a message (the HTML part's text when it has no plain one)."""
    message = email.message_from_bytes(data, policy=policy.default)
    body = message.get_body(preferencelist=("plain", "html"))
    text = body.get_content() if body is not None else ""
    try:
        sent = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        sent = None
    return ReadMail(
        name=name,
        sender=str(message["From"] or ""),
        recipient=str(message["X-Envelope-To"] or message["To"] or ""),
        subject=str(message["Subject"] or ""),
        date=sent,
        text=text.replace("\r\n", "\n"),
    )


def read_mail_dir(directory: Path, *, limit: int = 100) -> list[ReadMail]:
    """The newest `limit` messages a DirectoryMailer wrote to `directory`, newest first."""
    folder = Path(directory)
    if not folder.is_dir():
        return []
    # Names start with the time in nanoseconds: the newest sort last.
    names = sorted((p.name for p in folder.glob("*.eml")), reverse=True)[:limit]
    found = []
    for name in names:
        try:
            found.append(read_message((folder / name).read_bytes(), name))
        except OSError:  # removed meanwhile
            continue
    return found


class ConsoleMailer:
    """Writes every message to a stream (stderr by default), so a developer can follow the links in it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        stream = self.stream or sys.stderr
        mail = read_message(data)
        stream.write(f"----- mail from {sender} to {recipient} -----\n")
        stream.write(f"Subject: {mail.subject}\n\n")
        stream.write(mail.text.rstrip("\n"))
        stream.write("\n----- end of mail -----\n")
        stream.flush()

    async def aclose(self) -> None:
        return None


class DirectoryMailer:
    """Writes each message to `<directory>/<time>-<hash>.eml`, whole (write to a temp name, then rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(recipient.encode() + data).hexdigest()[:16]
        name = f"{time.time_ns()}-{digest}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(f"X-Envelope-From: {sender}\r\nX-Envelope-To: {recipient}\r\n".encode() + data)
        os.replace(partial, self.directory / name)

    async def aclose(self) -> None:
        return None
