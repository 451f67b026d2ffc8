"""arXiv identifiers: new style (2401.00001, 0704.0001) and old style (hep-th/9901001), with versions."""

from __future__ import annotations

import re

# ASCII digits only (`\d` would also take Arabic-Indic or full-width digits), and the whole string.
_NEW = re.compile(r"(?P<id>(?P<yy>[0-9]{2})(?P<mm>[0-9]{2})\.(?P<n>[0-9]{4,5}))(?:v(?P<v>[0-9]{1,4}))?", re.A)
_OLD = re.compile(
    r"(?P<id>[a-z]+(?:-[a-z]+)?(?:\.[A-Z]{2})?/(?P<yy>[0-9]{2})(?P<mm>[0-9]{2})[0-9]{3})"
    r"(?:v(?P<v>[0-9]{1,4}))?",
    re.A,
)
_URL_PREFIX = re.compile(r"^(?:https?://)?(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/", re.I)

MAX_ID_LENGTH = 64


class InvalidArxivId(ValueError):
    pass


def _plausible(match: re.Match, new_style: bool) -> bool:
    """The month is a month; new-style numbers have 4 digits up to 1412 and 5 from 1501 (arXiv's rule)."""
    if not 1 <= int(match.group("mm")) <= 12:
        return False
    if new_style:
        yymm = int(match.group("yy") + match.group("mm"))
        if yymm < 704 or len(match.group("n")) != (5 if yymm >= 1501 else 4):
            return False
    version = match.group("v")
    return version is None or int(version) >= 1


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
    for pattern, new_style in ((_NEW, True), (_OLD, False)):
        match = pattern.fullmatch(text)
        if match and _plausible(match, new_style):
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
