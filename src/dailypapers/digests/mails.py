"""The sign-up mails: a confirmation link, or a reminder with the preferences link for an active address.

No text the requester typed goes into them (only our own words and links), so the form cannot relay spam.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import jinja2

from dailypapers.digests.compose import TEMPLATES

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=False, keep_trailing_newline=True
)


def _message(settings, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=settings.mail_from.rsplit("@", 1)[-1].strip(" >") or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def confirmation(settings, to: str, frequency: str, confirm_url: str) -> EmailMessage:
    body = _env.get_template("confirm.txt").render(
        site_name=settings.site_name,
        base_url=settings.base_url,
        frequency=frequency,
        confirm_url=confirm_url,
        hours=settings.digest_confirm_hours,
    )
    return _message(settings, to, f"Confirm your {settings.site_name} digest", body)


def already_subscribed(settings, to: str, preferences_url: str) -> EmailMessage:
    body = _env.get_template("already.txt").render(
        site_name=settings.site_name, base_url=settings.base_url, preferences_url=preferences_url
    )
    return _message(settings, to, f"Your {settings.site_name} digest", body)
