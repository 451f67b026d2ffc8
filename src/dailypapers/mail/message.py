"""Sending an `EmailMessage` made elsewhere (a script, a test) through a `Mailer`: its bytes and envelope.

The site's own mail is built by `dailypapers.mail.builder`, which writes bytes directly.
"""

from __future__ import annotations

from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

# policy.SMTP folds long headers at 78 characters and, doing so, RFC 2047-encodes a long
# List-Unsubscribe URL, which mail clients then do not read as a link. 998 is RFC 5322's hard limit.
WIRE_POLICY = policy.SMTP.clone(max_line_length=998)


def serialize(message: EmailMessage) -> bytes:
    """CRLF line endings, headers unfolded up to 998 characters."""
    return message.as_bytes(policy=WIRE_POLICY)


def envelope_of(message: EmailMessage) -> tuple[str, str]:
    """(sender, recipient) addresses from the From and To headers of a one-recipient message."""
    sender = parseaddr(str(message["From"]))[1]
    recipient = parseaddr(str(message["To"]))[1]
    if not sender or not recipient:
        raise ValueError("the message needs a From and a To address")
    return sender, recipient


async def send_message(mailer, message: EmailMessage) -> None:
    """Serialize and send a one-recipient message through any `Mailer`."""
    sender, recipient = envelope_of(message)
    await mailer.send(sender, recipient, serialize(message))
