"""Response clocks: by when a youth office has to acknowledge a referral (docs/domain.md,
"Dringlichkeit und Fristen"). Pure functions of dates and times — no database, no ``now()`` of their own.

- immediate: ``office.clock_immediate_hours`` real hours (default 1), round the clock.
- urgent / routine: ``office.clock_urgent_working_days`` / ``clock_routine_working_days`` working
  days (defaults 1 / 3). A working day is Monday to Friday and not a public holiday in North
  Rhine-Westphalia, counted in local time (Europe/Berlin) as whole days from 00:00 to 24:00 — the
  calendar of ``core.calendar``, shared with the directory and the meeting series.
"""

import datetime

from django.db.models import Q

from agencies.models import Agency
from core.calendar import LOCAL_TZ, add_working_days, is_working_day, next_working_day, nrw_holidays

from .models import OPEN_STATUSES, Referral, Urgency

__all__ = [
    "LOCAL_TZ",
    "acknowledgement_due",
    "add_working_days",
    "is_overdue",
    "is_working_day",
    "next_working_day",
    "nrw_holidays",
    "overdue_q",
    "time_left",
    "triage_due",
]


def acknowledgement_due(*, office: Agency, urgency: str, received_at: datetime.datetime) -> datetime.datetime:
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


def triage_due(*, coordination: Agency | None, received_at: datetime.datetime) -> datetime.datetime:
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


def is_overdue(referral: Referral, now: datetime.datetime) -> bool:
    """The office missed the clock: a deadline is set, the referral is not acknowledged
    (``acknowledged_at`` is empty), it is still open (``OPEN_STATUSES``) and ``now`` is past the
    deadline."""
    return (
        referral.due_at is not None
        and referral.acknowledged_at is None
        and referral.status in OPEN_STATUSES
        and time_left(referral.due_at, now) < datetime.timedelta(0)
    )


def overdue_q(now: datetime.datetime) -> Q:
    """The database form of ``is_overdue``: a deadline is set and past, the referral is not
    acknowledged and still open."""
    return Q(due_at__isnull=False, due_at__lt=now, acknowledged_at__isnull=True, status__in=OPEN_STATUSES)
