"""A real SMTP server (aiosmtpd) in the test process that keeps the raw bytes of every message it accepts.

`SmtpSink.reply_for[address] = "451 4.3.0 try later"` makes it answer that to RCPT for an address
(a 4xx or 5xx), so tests can drive the mailer's temporary and permanent failure paths.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes  # exactly as sent, CRLF line endings

    @property
    def message(self):
        return message_from_bytes(self.data, policy=policy.default)


@dataclass
class SmtpSink:
    messages: list[Received] = field(default_factory=list)
    reply_for: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    connections: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.reply_for.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        # aiosmtpd hands over the body with CRLF kept when decode_data is False.
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 Message accepted"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.recipients]


class _CountingController(Controller):
    def factory(self):
        server = super().factory()
        sink = self.handler
        original = server.connection_made

        def connection_made(transport):
            sink.connections += 1
            return original(transport)

        server.connection_made = connection_made
        return server


def start_sink(port: int, host: str = "127.0.0.1") -> tuple[SmtpSink, Controller]:
    sink = SmtpSink()
    controller = _CountingController(sink, hostname=host, port=port)
    controller.start()
    sink.connections = 0  # start() itself connects once to check the server is up
    return sink, controller
