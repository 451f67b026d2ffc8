"""The mails accounts send, built (not sent) from a few facts: pure, so tests and previews need no server."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr


def _message(site: str, sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    name, address = parseaddr(sender)
    message["From"] = formataddr((name, address)) if address else sender
    message["To"] = to
    message["Subject"] = f"[{site}] {subject}"
    message["Message-ID"] = make_msgid(domain=address.rpartition("@")[2] or "localhost")
    # Account mail is personal: auto-responders should stay quiet and lists should not archive it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body)
    return message


def verification(site: str, sender: str, to: str, username: str, link: str, hours: int) -> EmailMessage:
    body = (
        f"Hello {username},\n\n"
        f"Confirm that this is your e-mail address for {site} by opening this link:\n\n"
        f"{link}\n\n"
        f"The link works once, for {hours} hours. If you did not sign up, ignore this mail: "
        "nothing happens without the link.\n"
    )
    return _message(site, sender, to, "Confirm your e-mail address", body)


def already_registered(site: str, sender: str, to: str, signin: str, reset: str) -> EmailMessage:
    """Sent instead of a confirmation when someone signs up with an address that has an account, so the
    sign-up page never tells who is registered."""
    body = (
        f"Someone (perhaps you) tried to sign up for {site} with this e-mail address, which already has an "
        "account.\n\n"
        f"To sign in: {signin}\n"
        f"Forgot your password? {reset}\n\n"
        "If it was not you, ignore this mail: nothing changed.\n"
    )
    return _message(site, sender, to, "You already have an account", body)


def password_reset(site: str, sender: str, to: str, username: str, link: str, minutes: int) -> EmailMessage:
    body = (
        f"Hello {username},\n\n"
        f"Someone (perhaps you) asked to reset the password of your {site} account. To choose a new one, "
        f"open this link:\n\n{link}\n\n"
        f"The link works once, for {minutes} minutes; setting a new password signs you out everywhere else. "
        "If you did not ask, ignore this mail: your password stays as it is.\n"
    )
    return _message(site, sender, to, "Reset your password", body)
