"""Private date helpers of ``data.datetime``: time zones, reading and writing, durations.

Durations split into a *calendar* part (years, months, weeks, days), applied on the wall clock of
the value's time zone so that "+1 day" keeps the local time across a daylight-saving change, and
an *exact* part (hours, minutes, seconds), applied on the UTC time line so that "+1 hour" is
always 3,600 real seconds. Month arithmetic clamps the day (Jan 31 + 1 month = Feb 28/29).
"""

from __future__ import annotations

import calendar
import difflib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

__all__ = [
    "DateError",
    "Duration",
    "add_duration",
    "parse_duration",
    "read_datetime",
    "unit_duration",
    "write_datetime",
    "zone",
]

_ISO_DURATION: Final = re.compile(
    r"P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?!$)(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)


class DateError(ValueError):
    """A date, zone, format or duration given by the user is not usable (message says why)."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A duration with a calendar part (wall clock) and an exact part (real seconds)."""

    years: int = 0
    months: int = 0
    days: int = 0
    seconds: float = 0.0

    def scaled(self, factor: int) -> Duration:
        """The same duration times ``factor`` (``-1`` to subtract)."""
        return Duration(
            self.years * factor, self.months * factor, self.days * factor, self.seconds * factor
        )


@cache
def _zone_names() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``UTC`` included).

    Raises:
        DateError: unknown name; the message suggests the closest known ones.
    """
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        close = difflib.get_close_matches(name, _zone_names(), n=3)
        hint = f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""
        raise DateError(
            f"unknown time zone '{name}'{hint}; use an IANA name such as 'Europe/Berlin' or 'UTC'"
        ) from err


def read_datetime(value: Any, input_format: str, assume: tzinfo) -> datetime:
    """Read ``value`` as an aware datetime.

    Args:
        value: ISO 8601 text (``input_format`` ``iso``), epoch seconds or milliseconds (number or
            numeric text; ``epoch``/``epoch_ms``), or text matching a ``strftime`` pattern.
        input_format: ``iso``, ``epoch``, ``epoch_ms`` or a pattern such as ``%d/%m/%Y %H:%M``.
        assume: Zone given to values that carry no offset (date-only values mean midnight).

    Raises:
        DateError: the value does not match the format.
    """
    if isinstance(value, bool) or value is None:
        raise DateError(f"expected a date or time, got {value!r}")
    if input_format in ("epoch", "epoch_ms") or isinstance(value, int | float):
        return _from_epoch(value, 1000 if input_format == "epoch_ms" else 1)
    if not isinstance(value, str):
        raise DateError(f"expected a date text or a number, got {type(value).__name__}")
    text = value.strip()
    try:
        if input_format == "iso":
            parsed = datetime.fromisoformat(text)
        else:
            parsed = datetime.strptime(text, input_format)
    except ValueError as err:
        shown = (
            "ISO 8601 (e.g. '2024-05-01T09:30:00+02:00')"
            if input_format == "iso"
            else (f"'{input_format}'")
        )
        raise DateError(f"'{text}' does not match the input format {shown}") from err
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=assume)


def _from_epoch(value: Any, divisor: int) -> datetime:
    try:
        number = float(value)
        return datetime.fromtimestamp(number / divisor, UTC)
    except (ValueError, OverflowError, OSError) as err:
        raise DateError(f"{value!r} is not an epoch timestamp") from err


def write_datetime(moment: datetime, output_format: str) -> str | int | float:
    """Write ``moment`` as ISO 8601 (``iso``), ``date`` (YYYY-MM-DD), epoch seconds (``epoch``,
    an int when whole), epoch milliseconds (``epoch_ms``, an int) or a ``strftime`` pattern."""
    if output_format == "iso":
        return moment.isoformat()
    if output_format == "date":
        return moment.date().isoformat()
    if output_format == "epoch":
        stamp = moment.timestamp()
        return int(stamp) if stamp.is_integer() else stamp
    if output_format == "epoch_ms":
        return round(moment.timestamp() * 1000)
    return moment.strftime(output_format)


def parse_duration(text: str) -> Duration:
    """Parse an ISO 8601 duration such as ``P1Y2M``, ``P3W``, ``PT1H30M`` or ``P1DT0.5S``.

    Raises:
        DateError: the text is not an ISO 8601 duration.
    """
    match = _ISO_DURATION.fullmatch(text.strip().upper())
    if match is None:
        raise DateError(
            f"'{text}' is not an ISO 8601 duration; write it like 'P1D', 'PT2H30M' or 'P1Y2M'"
        )
    part = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return Duration(
        years=int(part["years"]),
        months=int(part["months"]),
        days=int(part["weeks"] * 7 + part["days"]),
        seconds=part["hours"] * 3600 + part["minutes"] * 60 + part["seconds"],
    )


def unit_duration(amount: float, unit: str) -> Duration:
    """A duration of ``amount`` ``unit`` (seconds ... years; calendar units must be whole)."""
    exact = {"seconds": 1, "minutes": 60, "hours": 3600}
    if unit in exact:
        return Duration(seconds=amount * exact[unit])
    if not float(amount).is_integer():
        raise DateError(f"{unit} must be a whole number, got {amount}; use a smaller unit")
    whole = int(amount)
    return {
        "days": Duration(days=whole),
        "weeks": Duration(days=7 * whole),
        "months": Duration(months=whole),
        "years": Duration(years=whole),
    }[unit]


def add_duration(moment: datetime, duration: Duration) -> datetime:
    """``moment`` plus ``duration``: calendar part on the wall clock, exact part in UTC."""
    total_months = moment.month - 1 + duration.months + 12 * duration.years
    year, month = moment.year + total_months // 12, total_months % 12 + 1
    if not 1 <= year <= 9999:
        raise DateError(f"the result year {year} is out of range (1-9999)")
    day = min(moment.day, calendar.monthrange(year, month)[1])
    try:
        wall = moment.replace(year=year, month=month, day=day) + timedelta(days=duration.days)
        shifted = (wall.astimezone(UTC) + timedelta(seconds=duration.seconds)).astimezone(
            moment.tzinfo
        )
    except (OverflowError, ValueError) as err:
        raise DateError("the result is out of the supported range (years 1-9999)") from err
    return shifted
