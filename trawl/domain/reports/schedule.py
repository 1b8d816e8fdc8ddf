"""Report schedules: a cron expression plus an IANA timezone, validated and previewed exactly
as Temporal's scheduler will fire them. Pure functions, no I/O.

The dialect is the part of Temporal's cron syntax that people expect from cron:
- 5 fields `minute hour day-of-month month day-of-week`, or 6 with a leading `second`;
- each field a comma list of `*`, `N`, `N-M`, any of those with `/STEP` (`N/STEP` = N to max);
- JAN-DEC and SUN-SAT names; 0 or 7 is Sunday;
- @yearly @annually @monthly @weekly @daily @midnight @hourly, expanded as Temporal does.
Refused: @every (an interval, not a calendar), `TZ=` prefixes (the timezone is its own field),
`#` comments, Quartz's `? L W #`, and ranges that wrap around (`22-2`), which Temporal rejects.

Day-of-month and day-of-week: Temporal fires only when BOTH match (`0 9 1-7 * MON` is the
first Monday of the month), where Vixie cron fires when either does. The preview follows
Temporal, so what a user sees is what runs.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from trawl.domain.errors import InvalidInput

CRON_FIELD = "schedule.cron"
TIMEZONE_FIELD = "schedule.timezone"
MAX_CRON_LENGTH = 120  # the width of reports.schedule_cron

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_ITEM = re.compile(r"^(?P<base>\*|[A-Z0-9]+(?:-[A-Z0-9]+)?)(?:/(?P<step>[0-9]+))?$")
# Zone files that exist on disk but name no place: their meaning depends on the host.
_NOT_PLACES = frozenset({"localtime", "posixrules", "Factory"})
# Temporal's calendar stops looking after this year.
_LAST_YEAR = 2100


@dataclass(frozen=True)
class CronSchedule:
    """A validated schedule: `cron` normalized (single spaces, upper-case names), an IANA zone."""

    cron: str
    timezone: str

    @property
    def has_seconds(self) -> bool:
        return len(self.cron.split()) == 6


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    first_name_value: int = 0


_SECOND = _Field("second", 0, 59)
_MINUTE = _Field("minute", 0, 59)
_HOUR = _Field("hour", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS, 1)
_DOW = _Field("day-of-week", 0, 7, _DAYS, 0)
_FIVE = (_MINUTE, _HOUR, _DOM, _MONTH, _DOW)


@dataclass(frozen=True)
class _Compiled:
    """The set of matching values per field; day-of-week uses 0..6 with 0 = Sunday."""

    second: frozenset[int]
    minute: frozenset[int]
    hour: frozenset[int]
    dom: frozenset[int]
    month: frozenset[int]
    dow: frozenset[int]


def parse_schedule(cron: str, timezone: str) -> CronSchedule:
    """Validate and normalize; raises InvalidInput naming the cron or timezone field."""
    fields = _split(cron)
    _compile(" ".join(fields))
    zone = _zone_name(timezone)
    return CronSchedule(" ".join(fields), zone)


def temporal_cron(schedule: CronSchedule) -> str:
    """The string for ScheduleSpec.cron_expressions. Temporal reads 6 fields as ending in a
    year and wants 7 (second first, year last) for seconds, so the seconds form gets a year."""
    return f"{schedule.cron} *" if schedule.has_seconds else schedule.cron


def _split(cron: str) -> list[str]:
    text = cron.strip()
    if not text:
        raise InvalidInput(CRON_FIELD, "cron is empty: give 5 fields, e.g. '0 9 * * MON-FRI'")
    if len(text) > MAX_CRON_LENGTH:
        raise InvalidInput(CRON_FIELD, f"cron must be at most {MAX_CRON_LENGTH} characters")
    if text.startswith("@"):
        return _macro(text).split()
    if text.upper().startswith(("TZ=", "CRON_TZ=")):
        raise InvalidInput(CRON_FIELD, "put the timezone in the timezone field, not in the cron")
    fields = text.upper().split()
    if len(fields) not in (5, 6):
        raise InvalidInput(
            CRON_FIELD,
            "cron needs 5 fields (minute hour day-of-month month day-of-week), or 6 with "
            f"seconds first; got {len(fields)}",
        )
    return fields


def _macro(text: str) -> str:
    expansion = _MACROS.get(text.lower())
    if expansion is not None:
        return expansion
    if text.lower().startswith("@every"):
        raise InvalidInput(CRON_FIELD, "@every is not supported; use a cron such as '*/15 * * * *'")
    names = " ".join(sorted(_MACROS))
    raise InvalidInput(CRON_FIELD, f"unknown macro {text!r}; use one of {names} or 5 fields")


@lru_cache(maxsize=256)
def _compile(cron: str) -> _Compiled:
    fields = cron.split()
    seconds = _values(_SECOND, fields.pop(0)) if len(fields) == 6 else frozenset({0})
    minute, hour, dom, month, dow = (_values(f, t) for f, t in zip(_FIVE, fields, strict=True))
    compiled = _Compiled(seconds, minute, hour, dom, month, frozenset(d % 7 for d in dow))
    _require_possible_day(compiled, fields[2], fields[3])
    return compiled


def _values(field: _Field, token: str) -> frozenset[int]:
    values: set[int] = set()
    for item in token.split(","):
        values.update(_item_values(field, token, item))
    return frozenset(values)


def _item_values(field: _Field, token: str, item: str) -> range:
    match = _ITEM.match(item)
    if match is None:
        raise _field_error(field, token, f"cannot read {item!r}; use *, N, N-M and /STEP")
    step = int(match["step"]) if match["step"] is not None else 1
    if step < 1:
        raise _field_error(field, token, "a step must be at least 1")
    base = match["base"]
    if base == "*":
        return range(field.low, field.high + 1, step)
    start_text, _, end_text = base.partition("-")
    start = _value(field, token, start_text)
    if not end_text:
        return range(start, (field.high if match["step"] else start) + 1, step)
    end = _value(field, token, end_text)
    if end < start:
        raise _field_error(
            field, token, f"range {base!r} ends before it starts; ranges do not wrap, split it"
        )
    return range(start, end + 1, step)


def _value(field: _Field, token: str, text: str) -> int:
    if text.isascii() and text.isdigit():
        value = int(text)
        if not field.low <= value <= field.high:
            raise _field_error(field, token, f"{value} is outside {field.low}-{field.high}")
        return value
    if text in field.names:
        return field.names.index(text) + field.first_name_value
    hint = f"{field.names[0]}-{field.names[-1]} or " if field.names else ""
    raise _field_error(field, token, f"{text!r} is not a value; use {hint}{field.low}-{field.high}")


def _field_error(field: _Field, token: str, problem: str) -> InvalidInput:
    return InvalidInput(CRON_FIELD, f"{field.name} field {token!r}: {problem}")


def _require_possible_day(compiled: _Compiled, dom_token: str, month_token: str) -> None:
    longest = {2: 29, 4: 30, 6: 30, 9: 30, 11: 30}
    if any(day <= longest.get(m, 31) for m in compiled.month for day in compiled.dom):
        return
    raise InvalidInput(
        CRON_FIELD,
        f"this cron never fires: no month in {month_token!r} has day {dom_token!r}",
    )


def _zone_name(timezone: str) -> str:
    name = timezone.strip()
    if not name:
        raise InvalidInput(TIMEZONE_FIELD, "timezone is empty: give an IANA name such as 'UTC'")
    zones = _known_zones()
    if name in zones:
        return name
    close = [z for z in zones if z.lower() == name.lower()]
    close = close or difflib.get_close_matches(name, zones, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ", e.g. 'Europe/Berlin' or 'UTC'"
    raise InvalidInput(TIMEZONE_FIELD, f"{name!r} is not an IANA timezone name{hint}")


@lru_cache(maxsize=1)
def _known_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones() - _NOT_PLACES)


def next_fire_times(schedule: CronSchedule, after: datetime, count: int = 5) -> list[datetime]:
    """The next `count` times the schedule fires strictly after `after` (aware), as aware
    datetimes in the schedule's timezone — the times Temporal will fire it (see _next)."""
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("after must be timezone-aware")
    zone = zoneinfo.ZoneInfo(schedule.timezone)
    compiled = _compile(schedule.cron)
    # Temporal works in whole seconds: a fractional `after` counts as its second.
    cursor = int(after.timestamp() // 1)
    times: list[datetime] = []
    while len(times) < count:
        found = _next(compiled, zone, cursor)
        if found is None:
            break
        times.append(datetime.fromtimestamp(found, zone))
        cursor = found
    return times


# --- Temporal's calendar search, ported --------------------------------------------------
# A port of `compiledCalendar.next` in temporalio/temporal service/worker/scheduler/
# calendar.go (unchanged through server 1.32) and of the Go `time.Date` it relies on.
# croniter would disagree with Temporal exactly where it matters, at DST changes, so the
# preview would show times that never run. What Temporal does, checked against a real server
# for 16 zones x 15 crons from starts before, at and inside every 2027 transition (about
# 3,500 cases; tests/integration keeps a sample):
# - Spring-forward gap: a wall time that does not exist is resolved as Go's time.Date does
#   and dropped if that lands in another hour. With a one-hour shift it always does: Berlin's
#   daily 02:30 does not fire on that day at all (no 03:30 substitute). With Lord Howe's
#   30-minute shift, 02:15 resolves to 02:45 of the same hour and fires then.
# - Fall-back repeat: a daily time in the repeated hour fires once at the occurrence Go picks,
#   the later one east of UTC (Berlin 02:30 CET) and the earlier one west of it (New York
#   01:30 EDT), and west of UTC Temporal then walks the hour again, one hour later, so New
#   York's daily 01:30 fires twice (EDT and EST) and its hourly crons fire in both copies.
#   East of UTC an hourly cron fires in the first copy only (Berlin 02:00 CEST, 03:00 CET),
#   and finer crons lose part of the next hour (Berlin */15: 02:00 CEST, 02:15 CET, 03:30
#   CET): after 02:15 CET Temporal believes it is in the second copy and adds an hour.
# We reproduce all of it, quirks included: the preview must show what will run.


@dataclass
class _Cursor:
    y: int
    mo: int
    d: int
    h: int
    m: int
    s: int
    shift: int  # 3600 while re-walking the second copy of a repeated hour, else 0


def _next(c: _Compiled, zone: zoneinfo.ZoneInfo, after: int) -> int | None:
    wall = datetime.fromtimestamp(after, zone)
    repeated = datetime.fromtimestamp(after - 3600, zone).hour == wall.hour
    cur = _Cursor(wall.year, wall.month, wall.day, wall.hour, wall.minute, wall.second + 1, 0)
    cur.shift = 3600 if repeated else 0
    while True:
        _carry(cur, zone)
        if cur.y > _LAST_YEAR:
            return None
        if not _seek(c, zone, cur):
            continue
        found = _go_date(zone, cur.y, cur.mo, cur.d, cur.h, cur.m, cur.s)
        if datetime.fromtimestamp(found, zone).hour != cur.h:  # inside a gap: next hour
            cur.h, cur.m, cur.s = cur.h + 1, 0, 0
            continue
        return found + cur.shift


def _carry(cur: _Cursor, zone: zoneinfo.ZoneInfo) -> None:
    if cur.s >= 60:
        cur.m, cur.s = cur.m + 1, 0
    if cur.m >= 60:
        before = _go_date(zone, cur.y, cur.mo, cur.d, cur.h)
        cur.h, cur.m = cur.h + 1, 0
        after = _go_date(zone, cur.y, cur.mo, cur.d, cur.h)
        if cur.shift == 0 and after - before > 3600:  # stepped over a repeated hour
            cur.h, cur.shift = cur.h - 1, 3600
        else:
            cur.shift = 0
    if cur.h >= 24:
        cur.d, cur.h = cur.d + 1, 0
    if cur.d > _days_in_month(cur.y, cur.mo):
        cur.mo, cur.d = cur.mo + 1, 1
    if cur.mo > 12:
        cur.y, cur.mo = cur.y + 1, 1


def _seek(c: _Compiled, zone: zoneinfo.ZoneInfo, cur: _Cursor) -> bool:
    """Match fields from the outside in; False means "carry and start over"."""
    while cur.mo not in c.month:
        cur.mo, cur.d, cur.h, cur.m, cur.s, cur.shift = cur.mo + 1, 1, 0, 0, 0, 0
        if cur.mo > 12:
            return False
    while cur.d not in c.dom or _weekday(zone, cur) not in c.dow:
        cur.d, cur.h, cur.m, cur.s, cur.shift = cur.d + 1, 0, 0, 0, 0
        if cur.d > _days_in_month(cur.y, cur.mo):
            return False
    while cur.h not in c.hour:
        cur.h, cur.m, cur.s, cur.shift = cur.h + 1, 0, 0, 0
        if cur.h >= 24:
            return False
    while cur.m not in c.minute:
        cur.m, cur.s = cur.m + 1, 0
        if cur.m >= 60:
            return False
    while cur.s not in c.second:
        cur.s += 1
        if cur.s >= 60:
            return False
    return True


def _weekday(zone: zoneinfo.ZoneInfo, cur: _Cursor) -> int:
    """Go's Weekday (0 = Sunday) of time.Date at the cursor, as Temporal computes it."""
    found = _go_date(zone, cur.y, cur.mo, cur.d, cur.h, cur.m, cur.s)
    return (datetime.fromtimestamp(found, zone).weekday() + 1) % 7


_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()


def _go_date(
    zone: zoneinfo.ZoneInfo, y: int, mo: int, d: int, h: int = 0, m: int = 0, s: int = 0
) -> int:
    """Go's time.Date as Unix seconds (fields may overflow, e.g. hour 24). Go reads the wall
    time as UTC, takes the zone offset there, and if the instant that gives lies in another
    offset period it uses that period's offset; this is what decides gaps and repeats."""
    days = datetime(y, mo, 1).toordinal() - _EPOCH_ORDINAL + d - 1
    wall = days * 86400 + h * 3600 + m * 60 + s
    return wall - _offset(zone, wall - _offset(zone, wall))


def _offset(zone: zoneinfo.ZoneInfo, instant: int) -> int:
    offset = datetime.fromtimestamp(instant, zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _days_in_month(y: int, mo: int) -> int:
    if mo == 2:
        return 29 if y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 28
    return 30 if mo in (4, 6, 9, 11) else 31
