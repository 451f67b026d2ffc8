"""The mailer seam: what every implementation offers and the two ways a send can fail."""

from __future__ import annotations

from typing import Protocol


class MailError(Exception):
    """A message was not accepted. `code` is the SMTP reply code when the server gave one."""

    permanent = False

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryMailError(MailError):
    """Worth retrying later: a 4xx reply, a refused or dropped connection, a timeout."""


class PermanentMailError(MailError):
    """Retrying will not help: a 5xx reply (unknown mailbox, rejected content).

    `bounce` is True only when the server refused the recipient (at RCPT): a 5xx about our sender, our login
    or the message's content says nothing about the address, so it must not count towards suppressing it.
    """

    permanent = True

    def __init__(self, message: str, code: int | None = None, *, bounce: bool = True) -> None:
        super().__init__(message, code)
        self.bounce = bounce


class Mailer(Protocol):
    """Sends already-built messages (`MailBuilder`'s bytes), one envelope recipient each.

    Taking bytes, not `EmailMessage`, lets a digest render its body once and stamp per-recipient headers.
    """

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        """Hand one message over; raises `TemporaryMailError` or `PermanentMailError`."""
        ...

    async def aclose(self) -> None:
        """Close any open connections (the mailer can be used again afterwards)."""
        ...
