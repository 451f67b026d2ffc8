"""arXiv identifiers: new style (2401.00001, 0704.0001) and old style (hep-th/9901001), with versions."""

from __future__ import annotations

import re

_NEW = re.compile(r"^(?P<id>\d{4}\.\d{4,5})(?:v(?P<v>\d{1,4}))?$")
_OLD = re.compile(r"^(?P<id>[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/\d{7})(?:v(?P<v>\d{1,4}))?$")
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.I)

MAX_ID_LENGTH = 64


class InvalidArxivId(ValueError):
    pass


def parse(value: str) -> tuple[str, int | None]:
    """Split `2401.00001v2` into (`2401.00001`, 2); raise InvalidArxivId for anything else.

    Accepts an abs/pdf URL and an `arXiv:` prefix too, since users paste those.
    """
    if not isinstance(value, str) or len(value) > 200:
        raise InvalidArxivId("not an arXiv id")
    text = value.strip()
    text = _URL_PREFIX.sub("", text)
    if text.lower().startswith("arxiv:"):
        text = text[6:]
    if text.endswith(".pdf"):
        text = text[:-4]
    text = text.rstrip("/")
    for pattern in (_NEW, _OLD):
        match = pattern.match(text)
        if match:
            version = match.group("v")
            return match.group("id"), int(version) if version else None
    raise InvalidArxivId(f"not an arXiv id: {value[:80]!r}")


def normalize(value: str) -> str:
    """The id without its version."""
    return parse(value)[0]


def is_valid(value: str) -> bool:
    try:
        parse(value)
    except InvalidArxivId:
        return False
    return True
