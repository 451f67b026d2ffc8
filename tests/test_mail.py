"""The mailer against a real SMTP server (aiosmtpd): bytes on the wire, connection reuse, 4xx and 5xx."""

from __future__ import annotations

import asyncio
import io
from email.message import EmailMessage

import pytest

from conftest import make_settings
from dailypapers.mail import PermanentMailError, TemporaryMailError, make_mailer, serialize
from dailypapers.mail.local import ConsoleMailer, DirectoryMailer
from dailypapers.mail.message import send_message
from dailypapers.mail.smtp import SmtpMailer, parse_smtp_url

LONG_URL = "https://papers.example.org/unsubscribe/" + "t" * 120


def _message(to: str, subject: str = "Hello") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "dailypapers <noreply@example.org>"
    message["To"] = to
    message["Subject"] = subject
    message["List-Unsubscribe"] = f"<{LONG_URL}>"
    message.set_content("plain body ünïcode\n")
    return message


def test_long_headers_are_not_encoded_or_folded():
    raw = serialize(_message("a@example.org"))
    assert f"List-Unsubscribe: <{LONG_URL}>\r\n".encode() in raw
    assert b"=?utf-8?" not in raw.split(b"\r\n\r\n", 1)[0]


def test_smtp_delivers_raw_bytes_and_reuses_one_connection(smtp_sink):
    mailer = SmtpMailer(smtp_sink.url)

    async def run():
        for n in range(5):
            await send_message(mailer, _message(f"user{n}@example.org", subject=f"n{n}"))
        await mailer.aclose()

    asyncio.run(run())
    assert [m.recipients for m in smtp_sink.messages] == [[f"user{n}@example.org"] for n in range(5)]
    assert smtp_sink.messages[0].sender == "noreply@example.org"
    assert f"List-Unsubscribe: <{LONG_URL}>".encode() in smtp_sink.messages[0].data
    assert smtp_sink.messages[3].message["Subject"] == "n3"
    assert smtp_sink.connections == 1
    assert mailer.connections_opened == 1


def test_4xx_is_temporary_5xx_permanent_and_the_connection_survives(smtp_sink):
    smtp_sink.reply_for["later@example.org"] = "451 4.3.0 try again later"
    smtp_sink.reply_for["nobody@example.org"] = "550 5.1.1 no such user"
    mailer = SmtpMailer(smtp_sink.url)

    async def run():
        with pytest.raises(TemporaryMailError) as temporary:
            await send_message(mailer, _message("later@example.org"))
        with pytest.raises(PermanentMailError) as permanent:
            await send_message(mailer, _message("nobody@example.org"))
        await send_message(mailer, _message("fine@example.org"))
        await mailer.aclose()
        return temporary.value, permanent.value

    temporary, permanent = asyncio.run(run())
    assert temporary.code == 451 and not temporary.permanent
    assert permanent.code == 550 and permanent.permanent
    assert [m.recipients for m in smtp_sink.messages] == [["fine@example.org"]]


def test_unreachable_server_is_a_temporary_error():
    from conftest import free_port

    mailer = SmtpMailer(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with pytest.raises(TemporaryMailError):
        asyncio.run(send_message(mailer, _message("a@example.org")))


@pytest.mark.parametrize(
    "url, host, port, mode, user",
    [
        ("smtp://mail.example.org", "mail.example.org", 25, "opportunistic", None),
        ("smtp+starttls://u%40x:p%3Aw@mail.example.org:2525", "mail.example.org", 2525, "starttls", "u@x"),
        ("smtps://mail.example.org", "mail.example.org", 465, "tls", None),
    ],
)
def test_smtp_urls(url, host, port, mode, user):
    target = parse_smtp_url(url)
    assert (target.host, target.port, target.mode, target.username) == (host, port, mode, user)


@pytest.mark.parametrize("url", ["http://x", "smtp://", "smtp://host:99999", "smtp://h?timeout=soon"])
def test_bad_smtp_urls_are_clear_errors(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)


def test_factory_and_local_mailers(tmp_path):
    base = make_settings(f"sqlite:///{tmp_path / 'x.db'}")
    assert isinstance(make_mailer(base), ConsoleMailer)
    assert isinstance(make_mailer(base.model_copy(update={"mail_dir": tmp_path / "mail"})), DirectoryMailer)
    assert isinstance(make_mailer(base.model_copy(update={"smtp_url": "smtp://localhost"})), SmtpMailer)

    directory = DirectoryMailer(tmp_path / "mail")
    asyncio.run(send_message(directory, _message("a@example.org")))
    (written,) = list((tmp_path / "mail").glob("*.eml"))
    assert b"X-Envelope-To: a@example.org" in written.read_bytes()

    stream = io.StringIO()
    asyncio.run(send_message(ConsoleMailer(stream), _message("b@example.org")))
    assert "to b@example.org" in stream.getvalue() and "plain body" in stream.getvalue()
