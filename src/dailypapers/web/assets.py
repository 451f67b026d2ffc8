"""Static files with fingerprinted names, so that browsers may keep them for a year.

Pages link `static_url("site.css")`, which is `/static/site.<hash>.css`: the hash of the file's bytes, taken
once when the app is built. An address with the current hash is answered with `Cache-Control: public,
max-age=31536000, immutable` (a changed file gets a new name, so a kept copy is never stale); the plain name,
or a hash from another release, with the file as it is now and a short lifetime.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

LONG = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
_FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{12})(?P<suffix>\.[A-Za-z0-9]+)$")


def fingerprints(directory: Path) -> dict[str, str]:
    """The first 12 hex digits of the SHA-256 of every file directly in `directory`, by name."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in sorted(Path(directory).iterdir())
        if path.is_file()
    }


class Assets(StaticFiles):
    """The `/static` mount: fingerprinted names served with a long lifetime, the rest with a short one."""

    def __init__(self, directory: Path, prefix: str = "/static") -> None:
        super().__init__(directory=directory)
        self.prefix = prefix
        self.hashes = fingerprints(directory)

    def url(self, name: str) -> str:
        """The address of static file `name` (a template global, `static_url`)."""
        digest = self.hashes.get(name)
        if digest is None:
            return f"{self.prefix}/{name}"
        stem, dot, suffix = name.rpartition(".")
        return f"{self.prefix}/{stem}.{digest}.{suffix}" if dot else f"{self.prefix}/{name}.{digest}"

    async def get_response(self, path: str, scope: Scope) -> Response:
        lifetime = SHORT
        match = _FINGERPRINTED.match(path)
        if match is not None:
            name = match["stem"] + match["suffix"]
            if name in self.hashes:
                path = name
                if self.hashes[name] == match["hash"]:
                    lifetime = LONG
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = lifetime
        return response
