"""The one working-day calendar (docs/domain.md, "Dringlichkeit und Fristen"): German local time,
Monday to Friday without the public holidays of North Rhine-Westphalia. The response clocks
(``referrals.clocks``), the office hours of the directory (``agencies.directory``) and the proposed
dates of meeting series (``meetings.services``) all count with it. Pure functions, no database.
"""

import datetime
import functools
from zoneinfo import ZoneInfo

import holidays

# The clocks follow the law of NRW, not a display setting: they always count in German local time.
LOCAL_TZ = ZoneInfo("Europe/Berlin")


@functools.cache
def nrw_holidays(year: int) -> frozenset[datetime.date]:
    """The public holidays of North Rhine-Westphalia in ``year`` (also closing days of the offices),
    computed once per year."""
    return frozenset(holidays.country_holidays("DE", subdiv="NW", years=year))


def is_working_day(day: datetime.date) -> bool:
    """Monday to Friday and not a public holiday in North Rhine-Westphalia.

    24 and 31 December are working days (not public holidays); 25/26 December, Good Friday, Easter
    Monday, Corpus Christi and All Saints' Day (1 November) are not.
    """
    return day.weekday() < 5 and day not in nrw_holidays(day.year)


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
