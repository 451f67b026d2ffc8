"""`/dev/mail`: in development, the mail the site sent, as its reader would see it, links clickable.

Only when `DAILYPAPERS_ENVIRONMENT=development` (a 404 otherwise: on a real site this would show anyone every
sign-up link), reading the `.eml` files that the directory mailer wrote to `DAILYPAPERS_MAIL_DIR` (where
`dailypapers demo` sends its mail). Bodies are decoded, never shown as quoted-printable.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from dailypapers.mail.local import read_mail_dir

router = APIRouter(include_in_schema=False)
SHOWN = 50


def mail_dir(settings):
    """Where this development site's mail is written, or None (SMTP, the console, or not development)."""
    if settings.environment != "development" or settings.smtp_url or not settings.mail_dir:
        return None
    return settings.mail_dir


@router.get("/dev/mail")
def dev_mail(request: Request):
    settings = request.app.state.settings
    if settings.environment != "development":
        raise HTTPException(404, "Not found")
    folder = mail_dir(settings)
    messages = read_mail_dir(folder, limit=SHOWN) if folder else []
    context = {"folder": folder, "messages": messages, "smtp": bool(settings.smtp_url)}
    return request.app.state.templates.TemplateResponse(
        request, "dev_mail.html", context, headers={"Cache-Control": "no-store"}
    )
