"""Outgoing mail: one builder (`builder.MailBuilder`: a template name and a context to bytes), one `Mailer`
interface to send them, an SMTP implementation and local ones for development.

Accounts (verification, password reset), digest sign-ups and the digests themselves are all built by the
builder and sent through `make_mailer(settings)`.
"""

from dailypapers.mail.builder import Content, Mail, MailBuilder, UnsendableAddress
from dailypapers.mail.factory import make_mailer
from dailypapers.mail.message import serialize
from dailypapers.mail.types import Mailer, MailError, PermanentMailError, TemporaryMailError

__all__ = [
    "Content",
    "Mail",
    "MailBuilder",
    "Mailer",
    "MailError",
    "PermanentMailError",
    "TemporaryMailError",
    "UnsendableAddress",
    "make_mailer",
    "serialize",
]
