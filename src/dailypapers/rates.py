"""Rate limit values as settings write them: `COUNT/PERIOD`, e.g. `10/5m` (pure)."""

from __future__ import annotations

import re

_RATE = re.compile(r"\s*(\d+)\s*/\s*(\d*)\s*([smhd]?)\s*")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(value: str) -> tuple[int, int]:
    """`"10/5m"` -> (10, 300): at most 10 in any 5-minute window. Units s, m, h, d; no unit is seconds."""
    match = _RATE.fullmatch(value)
    if not match:
        raise ValueError(f"rate limit {value!r} must look like COUNT/PERIOD, e.g. 10/5m, 100/1h or 5/30s")
    count, number, unit = match.groups()
    seconds = int(number or 1) * _UNIT[unit]
    if int(count) < 1 or seconds < 1:
        raise ValueError(f"rate limit {value!r} must allow at least 1 per at least 1 second")
    return int(count), seconds
