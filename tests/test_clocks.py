"""Response clocks: NRW working days, weekends and holidays, daylight saving time, office tuning."""

import datetime

import pytest

from agencies.models import Agency
from referrals.clocks import LOCAL_TZ, acknowledgement_due, is_overdue, is_working_day, time_left
from referrals.models import Referral, Status

UTC = datetime.UTC
OFFICE = Agency()  # default clocks: immediate 1 hour, urgent 1 working day, routine 3 working days


def berlin(*args, **kwargs) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=LOCAL_TZ, **kwargs)


def due(urgency, received_at, office=OFFICE) -> datetime.datetime:
    return acknowledgement_due(office=office, urgency=urgency, received_at=received_at)


def wall(value: datetime.datetime) -> tuple:
    """Local wall-clock time and UTC offset: compares what a person in Hilden would read."""
    local = value.astimezone(LOCAL_TZ)
    return local.replace(tzinfo=None), local.utcoffset()


CEST, CET = datetime.timedelta(hours=2), datetime.timedelta(hours=1)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (datetime.date(2026, 6, 3), True),  # Wednesday
        (datetime.date(2026, 6, 4), False),  # Corpus Christi (Fronleichnam), a holiday in NRW
        (datetime.date(2026, 6, 5), True),  # Friday
        (datetime.date(2026, 6, 6), False),  # Saturday
        (datetime.date(2026, 6, 7), False),  # Sunday
        (datetime.date(2026, 12, 24), True),  # Christmas Eve is no public holiday
        (datetime.date(2026, 12, 25), False),
        (datetime.date(2026, 12, 31), True),  # nor is New Year's Eve
        (datetime.date(2027, 1, 1), False),
        (datetime.date(2027, 3, 26), False),  # Good Friday
        (datetime.date(2027, 3, 29), False),  # Easter Monday
        (datetime.date(2027, 11, 1), False),  # All Saints' Day, a Monday, a holiday in NRW
        (datetime.date(2027, 11, 2), True),
    ],
)
def test_is_working_day(day, working):
    assert is_working_day(day) is working


def test_urgent_on_a_weekday_is_the_next_working_day_same_time():
    assert wall(due("urgent", berlin(2026, 6, 9, 15, 0))) == (datetime.datetime(2026, 6, 10, 15, 0), CEST)


def test_routine_on_a_weekday_is_three_working_days_later():
    assert wall(due("routine", berlin(2026, 6, 8, 10, 0))) == (datetime.datetime(2026, 6, 11, 10, 0), CEST)


def test_friday_afternoon_runs_to_monday():
    assert wall(due("urgent", berlin(2026, 6, 12, 15, 0))) == (datetime.datetime(2026, 6, 15, 15, 0), CEST)
    assert wall(due("routine", berlin(2026, 6, 12, 15, 0))) == (datetime.datetime(2026, 6, 17, 15, 0), CEST)


@pytest.mark.parametrize("received_at", [berlin(2026, 6, 13, 10, 0), berlin(2026, 6, 14, 23, 59)])
def test_weekend_receipt_starts_the_clock_at_midnight_of_the_next_working_day(received_at):
    # The clock starts Monday 00:00: one working day later is Tuesday 00:00, three is Thursday 00:00.
    assert wall(due("urgent", received_at)) == (datetime.datetime(2026, 6, 16, 0, 0), CEST)
    assert wall(due("routine", received_at)) == (datetime.datetime(2026, 6, 18, 0, 0), CEST)


def test_corpus_christi_is_skipped():
    assert wall(due("urgent", berlin(2026, 6, 3, 15, 0))) == (datetime.datetime(2026, 6, 5, 15, 0), CEST)


def test_receipt_on_a_holiday_starts_the_clock_on_the_next_working_day():
    # Received on Corpus Christi (Thursday): the clock starts Friday 00:00, one working day is Monday 00:00.
    assert wall(due("urgent", berlin(2026, 6, 4, 9, 0))) == (datetime.datetime(2026, 6, 8, 0, 0), CEST)


def test_christmas_eve_counts_christmas_days_do_not():
    assert wall(due("urgent", berlin(2026, 12, 24, 15, 0))) == (datetime.datetime(2026, 12, 28, 15, 0), CET)
    # 23 December + 3: the 24th, then Monday 28th and Tuesday 29th.
    assert wall(due("routine", berlin(2026, 12, 23, 12, 0))) == (datetime.datetime(2026, 12, 29, 12, 0), CET)


def test_new_years_day_is_skipped():
    assert wall(due("urgent", berlin(2026, 12, 31, 15, 0))) == (datetime.datetime(2027, 1, 4, 15, 0), CET)


def test_all_saints_day_is_skipped():
    assert wall(due("urgent", berlin(2027, 10, 29, 15, 0))) == (datetime.datetime(2027, 11, 2, 15, 0), CET)


def test_three_working_days_across_easter():
    # Thursday before Easter: Good Friday, the weekend and Easter Monday do not count.
    assert wall(due("routine", berlin(2027, 3, 25, 10, 0))) == (datetime.datetime(2027, 4, 1, 10, 0), CEST)


def test_working_day_clock_keeps_local_time_across_spring_dst_change():
    received_at = berlin(2026, 3, 27, 15, 0)  # Friday, CET; clocks go forward on Sunday 29 March
    result = due("urgent", received_at)
    assert wall(result) == (datetime.datetime(2026, 3, 30, 15, 0), CEST)
    assert time_left(result, received_at) == datetime.timedelta(hours=71)  # the night was an hour short


def test_working_day_clock_keeps_local_time_across_autumn_dst_change():
    received_at = berlin(2026, 10, 23, 15, 0)  # Friday, CEST; clocks go back on Sunday 25 October
    result = due("urgent", received_at)
    assert wall(result) == (datetime.datetime(2026, 10, 26, 15, 0), CET)
    assert time_left(result, received_at) == datetime.timedelta(hours=73)


def test_immediate_runs_round_the_clock():
    # Saturday night counts like any other hour.
    assert wall(due("immediate", berlin(2026, 6, 13, 23, 30))) == (datetime.datetime(2026, 6, 14, 0, 30), CEST)


def test_immediate_is_sixty_real_minutes_across_autumn_dst_change():
    received_at = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first 02:30
    assert wall(received_at) == (datetime.datetime(2026, 10, 25, 2, 30), CEST)
    result = due("immediate", received_at)
    assert result == datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert wall(result) == (datetime.datetime(2026, 10, 25, 2, 30), CET)  # the same wall-clock time again
    assert time_left(result, received_at) == datetime.timedelta(hours=1)


def test_immediate_is_sixty_real_minutes_across_spring_dst_change():
    received_at = berlin(2026, 3, 29, 1, 30)  # CET; at 02:00 the clocks jump to 03:00
    result = due("immediate", received_at)
    assert wall(result) == (datetime.datetime(2026, 3, 29, 3, 30), CEST)
    assert time_left(result, received_at) == datetime.timedelta(hours=1)


def test_receipt_given_in_utc_counts_in_local_time():
    # Monday 23:30 UTC is already Tuesday 01:30 in Hilden: one working day later is Wednesday 01:30.
    received_at = datetime.datetime(2026, 6, 8, 23, 30, tzinfo=UTC)
    assert wall(due("urgent", received_at)) == (datetime.datetime(2026, 6, 10, 1, 30), CEST)


def test_offices_tune_their_clocks():
    office = Agency(clock_immediate_hours=2, clock_urgent_working_days=2, clock_routine_working_days=5)
    received_at = berlin(2026, 6, 8, 10, 0)  # Monday
    assert wall(due("routine", received_at, office)) == (datetime.datetime(2026, 6, 15, 10, 0), CEST)
    assert wall(due("urgent", received_at, office)) == (datetime.datetime(2026, 6, 10, 10, 0), CEST)
    assert wall(due("immediate", received_at, office)) == (datetime.datetime(2026, 6, 8, 12, 0), CEST)


@pytest.mark.parametrize("urgency", ["", "later", None])
def test_unknown_urgency_is_refused(urgency):
    with pytest.raises(ValueError, match="urgency"):
        due(urgency, berlin(2026, 6, 8, 10, 0))


def test_naive_receipt_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        due("urgent", datetime.datetime(2026, 6, 8, 10, 0))


def test_time_left_is_negative_once_the_clock_has_run_out():
    deadline = berlin(2026, 6, 11, 10, 0)
    assert time_left(deadline, berlin(2026, 6, 11, 9, 0)) == datetime.timedelta(hours=1)
    assert time_left(deadline, berlin(2026, 6, 11, 10, 30)) == -datetime.timedelta(minutes=30)


def _referral(**fields) -> Referral:
    defaults = {"status": Status.SUBMITTED, "due_at": berlin(2026, 6, 11, 10, 0), "acknowledged_at": None}
    return Referral(**{**defaults, **fields})


@pytest.mark.parametrize(
    ("fields", "now", "overdue"),
    [
        ({}, berlin(2026, 6, 11, 10, 1), True),
        ({}, berlin(2026, 6, 11, 10, 0), False),  # at the deadline it is not yet missed
        ({}, berlin(2026, 6, 11, 9, 59), False),
        ({"acknowledged_at": berlin(2026, 6, 10, 9, 0)}, berlin(2026, 6, 12, 10, 0), False),
        ({"due_at": None}, berlin(2026, 6, 12, 10, 0), False),
        ({"status": Status.CLOSED}, berlin(2026, 6, 12, 10, 0), False),
        ({"status": Status.TRIAGE}, berlin(2026, 6, 12, 10, 0), False),
        ({"status": Status.IN_ASSESSMENT}, berlin(2026, 6, 12, 10, 0), True),
        ({"status": Status.FORWARDED}, berlin(2026, 6, 12, 10, 0), True),
    ],
)
def test_is_overdue(fields, now, overdue):
    assert is_overdue(_referral(**fields), now) is overdue


def test_is_overdue_compares_instants_not_wall_clock_times():
    # Deadline 02:30 CET on the night clocks go back; at 02:45 CEST (an hour earlier) it is not missed.
    deadline = datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC).astimezone(LOCAL_TZ)
    now = datetime.datetime(2026, 10, 25, 0, 45, tzinfo=UTC).astimezone(LOCAL_TZ)
    assert not is_overdue(_referral(due_at=deadline), now)
    assert time_left(deadline, now) == datetime.timedelta(minutes=45)
