"""Feed periods: a day, an ISO week or a month, with their bounds and neighbours."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Kind = Literal["date", "week", "month"]

# ASCII digits only, matched against the whole text (`$` would also accept a trailing newline).
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.A)
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})", re.A)
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})", re.A)


class InvalidPeriod(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Period:
    kind: Kind
    start: date  # inclusive
    end: date  # exclusive

    @property
    def key(self) -> str:
        if self.kind == "date":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year:04d}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.kind == "date":
            return self.start.strftime("%A, %B %-d, %Y")
        if self.kind == "week":
            last = self.end - timedelta(days=1)
            return f"Week {self.key[-2:]}, {self.start.strftime('%b %-d')} – {last.strftime('%b %-d, %Y')}"
        return self.start.strftime("%B %Y")

    def previous(self) -> Period:
        if self.kind == "date":
            return day(self.start - timedelta(days=1))
        if self.kind == "week":
            return week_of(self.start - timedelta(days=7))
        last_month_day = self.start - timedelta(days=1)
        return month_of(last_month_day)

    def next(self) -> Period:
        if self.kind == "month":
            return month_of(self.end)
        if self.kind == "week":
            return week_of(self.end)
        return day(self.end)


def day(value: date) -> Period:
    return Period("date", value, value + timedelta(days=1))


def week_of(value: date) -> Period:
    start = value - timedelta(days=value.weekday())
    return Period("week", start, start + timedelta(days=7))


def month_of(value: date) -> Period:
    start = value.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return Period("month", start, end)


def parse_date(text: str) -> date:
    if not isinstance(text, str) or not _DATE.fullmatch(text):
        raise InvalidPeriod("date must be YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidPeriod(f"invalid date: {exc}") from None


def parse(kind: Kind, text: str) -> Period:
    """Parse `2026-08-21`, `2026-W34` or `2026-08` into a Period; raise InvalidPeriod otherwise.

    A period is valid only when it and its neighbours are representable dates (years 1 to 9999), so that
    `previous()` and `next()` of a parsed period never overflow.
    """
    if kind == "date":
        value = parse_date(text)
        try:
            period = day(value)
        except OverflowError:
            raise InvalidPeriod(f"date {text} is out of range") from None
    elif kind == "week":
        match = _WEEK.fullmatch(text) if isinstance(text, str) else None
        if not match:
            raise InvalidPeriod("week must be YYYY-Www")
        year, number = int(match.group(1)), int(match.group(2))
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError:
            raise InvalidPeriod(f"week {text} does not exist") from None
        try:
            period = week_of(monday)
        except OverflowError:
            raise InvalidPeriod(f"week {text} is out of range") from None
    elif kind == "month":
        match = _MONTH.fullmatch(text) if isinstance(text, str) else None
        if not match:
            raise InvalidPeriod("month must be YYYY-MM")
        year, number = int(match.group(1)), int(match.group(2))
        if not 1 <= number <= 12 or year < 1:
            raise InvalidPeriod(f"month {text} does not exist")
        try:
            period = month_of(date(year, number, 1))
        except (ValueError, OverflowError):
            raise InvalidPeriod(f"month {text} is out of range") from None
    else:
        raise InvalidPeriod(f"unknown period kind {kind!r}")
    try:
        period.previous()
        period.next()
    except (ValueError, OverflowError):
        raise InvalidPeriod(f"{text} is out of range") from None
    return period
