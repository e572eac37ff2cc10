"""Response clocks: by when a youth office has to acknowledge a referral (docs/domain.md,
"Dringlichkeit und Fristen"). Pure functions of dates and times — no database, no ``now()`` of their own.

- immediate: ``office.clock_immediate_hours`` real hours (default 1), round the clock.
- urgent / routine: ``office.clock_urgent_working_days`` / ``clock_routine_working_days`` working
  days (defaults 1 / 3). A working day is Monday to Friday and not a public holiday in North
  Rhine-Westphalia, counted in local time (Europe/Berlin) as whole days from 00:00 to 24:00.
"""

import datetime
import functools
from zoneinfo import ZoneInfo

import holidays

from .models import OPEN_STATUSES, Urgency

# The clocks follow the law of NRW, not a display setting: they always count in German local time.
LOCAL_TZ = ZoneInfo("Europe/Berlin")


@functools.cache
def _nrw_holidays(year: int) -> frozenset[datetime.date]:
    """The public holidays of North Rhine-Westphalia in ``year``, computed once per year."""
    return frozenset(holidays.Germany(subdiv="NW", years=year))


def nrw_holidays(year: int) -> frozenset[datetime.date]:
    """The public holidays of North Rhine-Westphalia in ``year`` (also closing days of the offices)."""
    return _nrw_holidays(year)


def is_working_day(day: datetime.date) -> bool:
    """Monday to Friday and not a public holiday in North Rhine-Westphalia.

    24 and 31 December are working days (not public holidays); 25/26 December, Good Friday, Easter
    Monday, Corpus Christi and All Saints' Day (1 November) are not.
    """
    return day.weekday() < 5 and day not in _nrw_holidays(day.year)


def next_working_day(day: datetime.date) -> datetime.date:
    """The first working day after ``day``."""
    day += datetime.timedelta(days=1)
    while not is_working_day(day):
        day += datetime.timedelta(days=1)
    return day


def add_working_days(start: datetime.datetime, days: int) -> datetime.datetime:
    """``start`` plus ``days`` working days, counted in local wall-clock time.

    On a working day the clock runs from ``start``: Friday 15:00 + 1 → Monday 15:00, and a public
    holiday in between is skipped. Started on a weekend or holiday, the clock starts at 00:00 of the
    next working day: Saturday 10:00 + 1 → Tuesday 00:00. The local time of day is kept across a
    change of daylight saving time (Fri 2026-10-23 15:00 CEST + 1 → Mon 2026-10-26 15:00 CET).
    The result always falls on a working day, and DST changes happen on Sundays, so the local time
    exists and is unambiguous.
    """
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    local = start.astimezone(LOCAL_TZ)
    day = local.date()
    if is_working_day(day):
        time_of_day = local.time()
    else:
        day = next_working_day(day)
        time_of_day = datetime.time(0, 0)
    for _ in range(days):
        day = next_working_day(day)
    return datetime.datetime.combine(day, time_of_day, tzinfo=LOCAL_TZ)


def acknowledgement_due(*, office, urgency: str, received_at: datetime.datetime) -> datetime.datetime:
    """By when ``office`` has to acknowledge a referral of ``urgency`` received at ``received_at``.

    immediate: ``received_at`` + ``office.clock_immediate_hours`` real hours, round the clock; added
    to the instant, so a change of daylight saving time does not change the length (a 1-hour clock
    started 2026-10-25 02:30 CEST ends at 02:30 CET, 60 minutes later).
    urgent / routine: ``office.clock_urgent_working_days`` / ``clock_routine_working_days`` working
    days (``add_working_days``): received Fri 15:00, urgent (1) → Mon 15:00, routine (3) → Wed 15:00.

    Returns an aware datetime in UTC, as the database keeps it: a local time inside the hour that
    repeats when the clocks go back never equals any UTC datetime in Python (PEP 495).
    An unknown or blank urgency raises ``ValueError``.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    if urgency == Urgency.IMMEDIATE:
        return received_at.astimezone(datetime.UTC) + datetime.timedelta(hours=office.clock_immediate_hours)
    if urgency == Urgency.URGENT:
        days = office.clock_urgent_working_days
    elif urgency == Urgency.ROUTINE:
        days = office.clock_routine_working_days
    else:
        raise ValueError(f"unknown urgency: {urgency!r}")
    return add_working_days(received_at, days).astimezone(datetime.UTC)


def triage_due(*, coordination, received_at: datetime.datetime) -> datetime.datetime:
    """By when the coordination office has to route an immediate referral out of the triage queue:
    ``coordination.clock_triage_hours`` real hours (default 1), round the clock, in UTC."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be an aware datetime")
    hours = coordination.clock_triage_hours if coordination is not None else 1
    return received_at.astimezone(datetime.UTC) + datetime.timedelta(hours=hours)


def time_left(due_at: datetime.datetime, now: datetime.datetime) -> datetime.timedelta:
    """Real time from ``now`` until ``due_at``; negative once the clock has run out.

    Computed on UTC instants: Python subtracts two datetimes of the same time zone by their wall-clock
    times, which would be an hour off across a change of daylight saving time.
    """
    return due_at.astimezone(datetime.UTC) - now.astimezone(datetime.UTC)


def is_overdue(referral, now: datetime.datetime) -> bool:
    """The office missed the clock: a deadline is set, the referral is not acknowledged
    (``acknowledged_at`` is empty), it is still open (``OPEN_STATUSES``) and ``now`` is past the
    deadline."""
    return (
        referral.due_at is not None
        and referral.acknowledged_at is None
        and referral.status in OPEN_STATUSES
        and time_left(referral.due_at, now) < datetime.timedelta(0)
    )
