"""Mailers for development: print messages, or write each one to a directory as an .eml file."""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path
from typing import TextIO


class ConsoleMailer:
    """Writes every message to a stream (stderr by default), so a developer can follow the links in it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        stream = self.stream or sys.stderr
        stream.write(f"----- mail from {sender} to {recipient} -----\n")
        stream.write(data.decode("utf-8", "replace").replace("\r\n", "\n"))
        stream.write("\n----- end of mail -----\n")
        stream.flush()

    async def aclose(self) -> None:
        return None


class DirectoryMailer:
    """Writes each message to `<directory>/<time>-<hash>.eml`, whole (write to a temp name, then rename)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send(self, sender: str, recipient: str, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(recipient.encode() + data).hexdigest()[:16]
        name = f"{time.time_ns()}-{digest}.eml"
        partial = self.directory / f".{name}.part"
        partial.write_bytes(f"X-Envelope-From: {sender}\r\nX-Envelope-To: {recipient}\r\n".encode() + data)
        os.replace(partial, self.directory / name)

    async def aclose(self) -> None:
        return None
