"""The mailer a deployment's settings ask for."""

from __future__ import annotations

from pathlib import Path

from dailypapers.mail.local import ConsoleMailer, DirectoryMailer
from dailypapers.mail.smtp import SmtpMailer
from dailypapers.mail.types import Mailer


def make_mailer(settings, *, max_connections: int = 1) -> Mailer:
    """SMTP when `smtp_url` is set; else .eml files in `mail_dir` when set; else the console."""
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, max_connections=max_connections)
    if settings.mail_dir:
        return DirectoryMailer(Path(settings.mail_dir).expanduser())
    return ConsoleMailer()
