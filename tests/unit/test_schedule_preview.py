"""Cron + timezone validation and the fire-time preview. The DST expectations are what a real
Temporal server does (tests/integration/test_temporal_schedules.py checks the same cases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter

from trawl.domain.errors import InvalidInput
from trawl.domain.reports.schedule import (
    CronSchedule,
    next_fire_times,
    parse_schedule,
    temporal_cron,
)

CRON = "schedule.cron"
TZ = "schedule.timezone"


@pytest.mark.parametrize(
    ("cron", "timezone", "field", "message"),
    [
        ("", "UTC", CRON, "cron is empty"),
        ("   ", "UTC", CRON, "cron is empty"),
        ("* * * *", "UTC", CRON, "got 4"),
        ("0 0 1 1 * * 2027", "UTC", CRON, "got 7"),
        ("60 * * * *", "UTC", CRON, "minute field '60': 60 is outside 0-59"),
        ("0 24 * * *", "UTC", CRON, "hour field '24': 24 is outside 0-23"),
        ("0 0 0 * *", "UTC", CRON, "day-of-month field '0': 0 is outside 1-31"),
        ("0 0 32 * *", "UTC", CRON, "day-of-month field '32': 32 is outside 1-31"),
        ("0 0 * 13 *", "UTC", CRON, "month field '13': 13 is outside 1-12"),
        ("0 0 * * 8", "UTC", CRON, "day-of-week field '8': 8 is outside 0-7"),
        ("60 * * * * *", "UTC", CRON, "second field '60': 60 is outside 0-59"),
        ("0 0 * FOO *", "UTC", CRON, "month field 'FOO': 'FOO' is not a value; use JAN-DEC"),
        ("0 0 * * MONDAY", "UTC", CRON, "use SUN-SAT or 0-7"),
        ("0 0 * * FRI-MON", "UTC", CRON, "range 'FRI-MON' ends before it starts"),
        ("0 22-2 * * *", "UTC", CRON, "hour field '22-2': range '22-2' ends before"),
        ("*/0 * * * *", "UTC", CRON, "minute field '*/0': a step must be at least 1"),
        ("0 0 L * *", "UTC", CRON, "day-of-month field 'L'"),
        ("0 0 ? * MON", "UTC", CRON, "day-of-month field '?': cannot read"),
        ("0 0 * * MON#2", "UTC", CRON, "day-of-week field 'MON#2': cannot read"),
        ("1,,2 * * * *", "UTC", CRON, "minute field '1,,2': cannot read ''"),
        ("0 0 30 FEB *", "UTC", CRON, "never fires: no month in 'FEB' has day '30'"),
        ("0 0 31 4,6 *", "UTC", CRON, "never fires"),
        ("@every 5m", "UTC", CRON, "@every is not supported"),
        ("@reboot", "UTC", CRON, "unknown macro '@reboot'"),
        ("TZ=Europe/Berlin 0 9 * * *", "UTC", CRON, "put the timezone in the timezone field"),
        ("0 9 * * *" + " " * 120, "UTC", CRON, None),  # trailing blanks are not length
        ("0 " * 61 + "0", "UTC", CRON, "at most 120 characters"),
        ("0 9 * * *", "", TZ, "timezone is empty"),
        ("0 9 * * *", "Mars/Olympus_Mons", TZ, "'Mars/Olympus_Mons' is not an IANA timezone"),
        ("0 9 * * *", "europe/berlin", TZ, "did you mean 'Europe/Berlin'?"),
        ("0 9 * * *", "Europe/Berln", TZ, "did you mean 'Europe/Berlin'?"),
        ("0 9 * * *", "localtime", TZ, "is not an IANA timezone"),
        ("0 9 * * *", "../../etc/passwd", TZ, "is not an IANA timezone"),
        ("0 9 * * *", "+02:00", TZ, "is not an IANA timezone"),
    ],
)
def test_invalid_schedule_names_the_field_and_the_problem(
    cron: str, timezone: str, field: str, message: str | None
) -> None:
    if message is None:
        parse_schedule(cron, timezone)
        return
    with pytest.raises(InvalidInput) as caught:
        parse_schedule(cron, timezone)
    assert caught.value.field == field
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("cron", "timezone", "normalized"),
    [
        (
            "  0   9 * *  mon-fri ",
            " Europe/Berlin ",
            CronSchedule("0 9 * * MON-FRI", "Europe/Berlin"),
        ),
        ("0 9 * jan,jul sun", "UTC", CronSchedule("0 9 * JAN,JUL SUN", "UTC")),
        ("@daily", "UTC", CronSchedule("0 0 * * *", "UTC")),
        ("@HOURLY", "UTC", CronSchedule("0 * * * *", "UTC")),
        ("@weekly", "UTC", CronSchedule("0 0 * * 0", "UTC")),
        ("*/5 * * * * *", "UTC", CronSchedule("*/5 * * * * *", "UTC")),
        ("0\t9\t*\t*\t7", "Asia/Tokyo", CronSchedule("0 9 * * 7", "Asia/Tokyo")),
    ],
)
def test_schedule_is_normalized(cron: str, timezone: str, normalized: CronSchedule) -> None:
    assert parse_schedule(cron, timezone) == normalized


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        ("0 9 * * MON-FRI", "0 9 * * MON-FRI"),
        # Temporal reads 6 fields as "... year"; seconds-first needs a 7th (year) field.
        ("*/5 * * * * *", "*/5 * * * * * *"),
    ],
)
def test_temporal_cron(cron: str, expected: str) -> None:
    assert temporal_cron(parse_schedule(cron, "UTC")) == expected


def _local(text: str, timezone: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone))


def _preview(cron: str, timezone: str, after: str, count: int) -> list[str]:
    schedule = parse_schedule(cron, timezone)
    times = next_fire_times(schedule, _local(after, timezone), count)
    assert all(t.tzinfo == ZoneInfo(timezone) for t in times)
    return [t.isoformat() for t in times]


def _times(day: str, *clock: str, offset: str = "+00:00") -> list[str]:
    return [f"{day}T{c}{offset}" for c in clock]


@pytest.mark.parametrize(
    ("cron", "timezone", "after", "expected"),
    [
        (
            "*/15 * * * *",
            "UTC",
            "2026-01-01T10:07:00",
            _times("2026-01-01", "10:15:00", "10:30:00", "10:45:00", "11:00:00", "11:15:00"),
        ),
        # Strictly after: a fire time equal to `after` is not repeated ...
        (
            "*/15 * * * *",
            "UTC",
            "2026-01-01T10:15:00",
            _times("2026-01-01", "10:30:00", "10:45:00", "11:00:00", "11:15:00", "11:30:00"),
        ),
        # ... and a fraction of a second before one still gets it.
        (
            "*/15 * * * *",
            "UTC",
            "2026-01-01T10:14:59.900",
            _times("2026-01-01", "10:15:00", "10:30:00", "10:45:00", "11:00:00", "11:15:00"),
        ),
        (
            "5/20 * * * *",
            "UTC",
            "2026-01-01T10:00:00",
            _times("2026-01-01", "10:05:00", "10:25:00", "10:45:00", "11:05:00", "11:25:00"),
        ),
        (
            "0 9 * * MON-FRI",
            "Europe/Berlin",
            "2026-01-02T10:00:00",  # a Friday
            [f"2026-01-{d:02d}T09:00:00+01:00" for d in (5, 6, 7, 8, 9)],
        ),
        (
            "30 8 1 JAN,JUL *",
            "Asia/Tokyo",
            "2026-03-01T00:00:00",
            [
                "2026-07-01T08:30:00+09:00",
                "2027-01-01T08:30:00+09:00",
                "2027-07-01T08:30:00+09:00",
                "2028-01-01T08:30:00+09:00",
                "2028-07-01T08:30:00+09:00",
            ],
        ),
        (
            "0 0 29 2 *",
            "UTC",
            "2026-01-01T00:00:00",
            [f"{y}-02-29T00:00:00+00:00" for y in (2028, 2032, 2036, 2040, 2044)],
        ),
        # Day-of-month AND day-of-week, as Temporal reads them: the first Monday of a month.
        (
            "0 9 1-7 * MON",
            "UTC",
            "2027-01-01T00:00:00",
            [f"2027-{m}T09:00:00+00:00" for m in ("01-04", "02-01", "03-01", "04-05", "05-03")],
        ),
        # 7 is Sunday, like 0.
        (
            "0 12 * * 7",
            "UTC",
            "2026-01-01T00:00:00",
            [
                "2026-01-04T12:00:00+00:00",
                "2026-01-11T12:00:00+00:00",
                "2026-01-18T12:00:00+00:00",
                "2026-01-25T12:00:00+00:00",
                "2026-02-01T12:00:00+00:00",
            ],
        ),
        # The seconds form.
        (
            "*/5 * * * * *",
            "UTC",
            "2026-01-01T12:00:03",
            _times("2026-01-01", "12:00:05", "12:00:10", "12:00:15", "12:00:20", "12:00:25"),
        ),
        (
            "*/20 59 23 * * *",
            "UTC",
            "2026-01-01T23:59:30",
            [
                "2026-01-01T23:59:40+00:00",
                "2026-01-02T23:59:00+00:00",
                "2026-01-02T23:59:20+00:00",
                "2026-01-02T23:59:40+00:00",
                "2026-01-03T23:59:00+00:00",
            ],
        ),
    ],
)
def test_next_five_times_of_ordinary_crons(
    cron: str, timezone: str, after: str, expected: list[str]
) -> None:
    assert _preview(cron, timezone, after, 5) == expected


@pytest.mark.parametrize(
    ("cron", "timezone", "after", "expected"),
    [
        # Spring forward (02:00 -> 03:00): a daily 02:30 does not fire that day at all.
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2027-03-26T12:00:00",
            ["2027-03-27T02:30:00+01:00", "2027-03-29T02:30:00+02:00", "2027-03-30T02:30:00+02:00"],
        ),
        (
            "30 2 * * *",
            "America/New_York",
            "2027-03-12T12:00:00",
            ["2027-03-13T02:30:00-05:00", "2027-03-15T02:30:00-04:00", "2027-03-16T02:30:00-04:00"],
        ),
        (
            "30 2 * * *",
            "Australia/Sydney",  # southern hemisphere: spring is in October
            "2027-10-01T12:00:00",
            ["2027-10-02T02:30:00+10:00", "2027-10-04T02:30:00+11:00", "2027-10-05T02:30:00+11:00"],
        ),
        # Lord Howe moves 30 minutes (02:00 -> 02:30): 02:15 fires at 02:45 that day.
        (
            "15 2 * * *",
            "Australia/Lord_Howe",
            "2027-10-01T12:00:00",
            ["2027-10-02T02:15:00+10:30", "2027-10-03T02:45:00+11:00", "2027-10-04T02:15:00+11:00"],
        ),
        # Hourly across spring forward: the missing hour is skipped.
        (
            "0 * * * *",
            "Europe/Berlin",
            "2027-03-28T00:30:00",
            ["2027-03-28T01:00:00+01:00", "2027-03-28T03:00:00+02:00", "2027-03-28T04:00:00+02:00"],
        ),
        (
            "0 * * * *",
            "America/New_York",
            "2027-03-14T00:30:00",
            ["2027-03-14T01:00:00-05:00", "2027-03-14T03:00:00-04:00", "2027-03-14T04:00:00-04:00"],
        ),
        # Fall back, east of UTC: a daily time in the repeated hour fires once, the second time.
        (
            "30 2 * * *",
            "Europe/Berlin",
            "2027-10-29T12:00:00",
            ["2027-10-30T02:30:00+02:00", "2027-10-31T02:30:00+01:00", "2027-11-01T02:30:00+01:00"],
        ),
        (
            "30 2 * * *",
            "Australia/Sydney",
            "2027-04-02T12:00:00",
            ["2027-04-03T02:30:00+11:00", "2027-04-04T02:30:00+10:00", "2027-04-05T02:30:00+10:00"],
        ),
        (
            "45 1 * * *",
            "Australia/Lord_Howe",  # 02:00 -> 01:30: only half an hour repeats
            "2027-04-02T12:00:00",
            ["2027-04-03T01:45:00+11:00", "2027-04-04T01:45:00+10:30", "2027-04-05T01:45:00+10:30"],
        ),
        # ... and hourly fires in the first copy of the repeated hour only.
        (
            "0 * * * *",
            "Europe/Berlin",
            "2027-10-31T00:30:00",
            ["2027-10-31T01:00:00+02:00", "2027-10-31T02:00:00+02:00", "2027-10-31T03:00:00+01:00"],
        ),
        (
            "0 * * * *",
            "Australia/Sydney",
            "2027-04-04T01:30:00",
            ["2027-04-04T02:00:00+11:00", "2027-04-04T03:00:00+10:00", "2027-04-04T04:00:00+10:00"],
        ),
        # Temporal's quirk east of UTC: after 02:15 CET it skips ahead to 03:30.
        (
            "*/15 * * * *",
            "Europe/Berlin",
            "2027-10-31T01:20:00",
            [
                "2027-10-31T01:30:00+02:00",
                "2027-10-31T01:45:00+02:00",
                "2027-10-31T02:00:00+02:00",
                "2027-10-31T02:15:00+01:00",
                "2027-10-31T03:30:00+01:00",
            ],
        ),
        # Fall back, west of UTC: the repeated hour is walked twice, so 01:30 fires twice.
        (
            "30 1 * * *",
            "America/New_York",
            "2027-11-05T12:00:00",
            [
                "2027-11-06T01:30:00-04:00",
                "2027-11-07T01:30:00-04:00",
                "2027-11-07T01:30:00-05:00",
                "2027-11-08T01:30:00-05:00",
            ],
        ),
        (
            "0 * * * *",
            "America/New_York",
            "2027-11-07T00:30:00",
            ["2027-11-07T01:00:00-04:00", "2027-11-07T01:00:00-05:00", "2027-11-07T02:00:00-05:00"],
        ),
        # The seconds form across a gap.
        (
            "*/30 * * * * *",
            "Europe/Berlin",
            "2027-03-28T01:58:50",
            ["2027-03-28T01:59:00+01:00", "2027-03-28T01:59:30+01:00", "2027-03-28T03:00:00+02:00"],
        ),
    ],
)
def test_preview_across_dst_changes_follows_temporal(
    cron: str, timezone: str, after: str, expected: list[str]
) -> None:
    assert _preview(cron, timezone, after, len(expected)) == expected


def test_preview_is_in_the_schedule_zone_whatever_the_zone_of_after() -> None:
    schedule = parse_schedule("0 9 * * *", "Asia/Kolkata")
    after = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 05:30 in Kolkata
    assert [t.isoformat() for t in next_fire_times(schedule, after, 2)] == [
        "2026-06-01T09:00:00+05:30",
        "2026-06-02T09:00:00+05:30",
    ]


def test_preview_refuses_a_naive_after() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times(parse_schedule("0 9 * * *", "UTC"), datetime(2026, 1, 1), 1)


@pytest.mark.parametrize(
    "cron",
    [
        "*/7 * * * *",
        "0 */3 * * 1-5",
        "15,45 8-18 * * SAT,SUN",
        "0 0 1,15 * *",
        "0 12 * MAR-MAY *",
        "30 4 10-20 * WED",
        "*/10 30 6 * * *",
    ],
)
@pytest.mark.parametrize("timezone", ["UTC", "Asia/Tokyo"])
def test_preview_agrees_with_croniter_where_there_is_no_dst(cron: str, timezone: str) -> None:
    """A second opinion on parsing and matching; croniter with Temporal's AND of the two day
    fields (day_or=False). Not at DST changes, where only Temporal's own answer counts."""
    schedule = parse_schedule(cron, timezone)
    start = datetime(2026, 1, 1, 0, 0, tzinfo=ZoneInfo(timezone))
    ours = next_fire_times(schedule, start, 20)
    theirs = croniter(
        cron, start, day_or=False, second_at_beginning=schedule.has_seconds, ret_type=datetime
    )
    assert ours == [theirs.get_next(datetime) for _ in ours]
    assert len(ours) == 20


def test_a_far_future_end_returns_what_there_is() -> None:
    schedule = parse_schedule("0 0 29 2 *", "UTC")
    times = next_fire_times(schedule, datetime(2090, 1, 1, tzinfo=UTC), 5)
    # Temporal's calendar stops at 2100 (which is not a leap year).
    assert [t.year for t in times] == [2092, 2096]
    assert next_fire_times(schedule, times[-1] + timedelta(days=1), 1) == []
