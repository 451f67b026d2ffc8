"""Outgoing mail: one `Mailer` interface, an SMTP implementation and local ones for development.

Accounts (verification, password reset) and digests both send through `make_mailer(settings)`.
"""

from dailypapers.mail.factory import make_mailer
from dailypapers.mail.message import serialize
from dailypapers.mail.types import Mailer, MailError, PermanentMailError, TemporaryMailError

__all__ = [
    "Mailer",
    "MailError",
    "PermanentMailError",
    "TemporaryMailError",
    "make_mailer",
    "serialize",
]
