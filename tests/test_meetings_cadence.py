"""The cadence of a meeting series, where dates are treacherous: a first date that is not itself one
of the rule's dates, the end of a month, the changes of daylight saving time, the turn of the year —
and rules that used to hang a worker or answer 500 (issue 10 item 5). Every test sets the clock."""

import datetime
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError

from agencies.models import Agency
from meetings import services
from meetings.models import Meeting, MeetingSeries

BERLIN = ZoneInfo("Europe/Berlin")
QUARTERLY_2TU = "FREQ=MONTHLY;INTERVAL=3;BYDAY=2TU"


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BERLIN)


def days(preview) -> list[datetime.date]:
    return [d.astimezone(BERLIN).date() for d in preview.dates]


# --- the preview --------------------------------------------------------------------------------------


def test_first_start_that_is_no_occurrence_is_said_and_the_real_first_date_shown():
    """The case of the red CI of 4 December 2026: 15 December is the 3rd Tuesday, so a "quarterly,
    2nd Tuesday" series first meets on 9 March 2027."""
    preview = services.series_preview(
        rrule=QUARTERLY_2TU, first_start=local(2026, 12, 15, 10, 0), now=local(2026, 12, 4, 20, 0)
    )
    assert preview.first_start_is_occurrence is False
    assert days(preview) == [datetime.date(2027, 3, 9), datetime.date(2027, 6, 8), datetime.date(2027, 9, 14)]
    assert all(d.astimezone(BERLIN).time() == datetime.time(10, 0) for d in preview.dates)


def test_first_start_that_is_an_occurrence_comes_first():
    preview = services.series_preview(
        rrule=QUARTERLY_2TU, first_start=local(2026, 12, 8, 10, 0), now=local(2026, 12, 4, 20, 0)
    )
    assert preview.first_start_is_occurrence is True
    assert days(preview) == [datetime.date(2026, 12, 8), datetime.date(2027, 3, 9), datetime.date(2027, 6, 8)]


def test_preview_counts_from_now_when_the_first_start_is_past():
    preview = services.series_preview(
        rrule=QUARTERLY_2TU, first_start=local(2026, 3, 10, 10, 0), now=local(2026, 12, 4, 20, 0)
    )
    assert days(preview)[0] == datetime.date(2026, 12, 8)


def test_month_end_rule_skips_short_months_and_crosses_the_year():
    """BYMONTHDAY=-1 is the last day of every month (RFC 5545); the proposal moves a weekend or a
    holiday to the next working day, across the turn of the year."""
    preview = services.series_preview(
        rrule="FREQ=MONTHLY;BYMONTHDAY=-1", first_start=local(2026, 11, 30, 9, 0), now=local(2026, 11, 1, 8, 0), count=4
    )
    assert [o.date() for o in preview.occurrences] == [
        datetime.date(2026, 11, 30), datetime.date(2026, 12, 31),
        datetime.date(2027, 1, 31), datetime.date(2027, 2, 28),
    ]  # fmt: skip
    # 31 Jan 2027 is a Sunday -> Monday 1 Feb; 28 Feb 2027 a Sunday -> Monday 1 Mar.
    assert days(preview) == [
        datetime.date(2026, 11, 30), datetime.date(2026, 12, 31), datetime.date(2027, 2, 1), datetime.date(2027, 3, 1),
    ]  # fmt: skip


def test_31st_of_the_month_is_only_the_months_that_have_one():
    preview = services.series_preview(
        rrule="FREQ=MONTHLY;BYMONTHDAY=31", first_start=local(2027, 1, 29, 9, 0), now=local(2027, 1, 1, 8, 0), count=3
    )
    assert preview.first_start_is_occurrence is False
    assert [o.date() for o in preview.occurrences] == [
        datetime.date(2027, 1, 31), datetime.date(2027, 3, 31), datetime.date(2027, 5, 31),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("first", "expected_utc_hours"),
    [
        # Weekly on Monday at 10:00 across the last Sunday of March 2027 (28 March): 09:00 UTC, then 08:00 UTC.
        (local(2027, 3, 22, 10, 0), [9, 8, 8]),
        # ... and across the last Sunday of October 2026 (25 October): 08:00 UTC, then 09:00 UTC.
        (local(2026, 10, 19, 10, 0), [8, 9, 9]),
    ],
)
def test_local_time_is_kept_across_daylight_saving_changes(first, expected_utc_hours):
    preview = services.series_preview(
        rrule="FREQ=WEEKLY;BYDAY=MO", first_start=first, now=first - datetime.timedelta(days=1)
    )
    assert [d.astimezone(BERLIN).time() for d in preview.dates] == [datetime.time(10, 0)] * 3
    assert [d.astimezone(datetime.UTC).hour for d in preview.dates] == expected_utc_hours


def test_a_meeting_at_the_hour_that_does_not_exist_in_march_lands_on_real_time():
    """02:30 on Sunday 28 March 2027 does not exist in Germany. A weekly Sunday series at 02:30 is
    proposed on working days (Sunday moves to Monday; Easter Monday 29 March to Tuesday 30 March), each
    a real instant that reads back as the same wall-clock time."""
    preview = services.series_preview(
        rrule="FREQ=WEEKLY;BYDAY=SU", first_start=local(2027, 3, 21, 2, 30), now=local(2027, 3, 20, 0, 0)
    )
    assert [d.date() for d in preview.dates] == [
        datetime.date(2027, 3, 22), datetime.date(2027, 3, 30), datetime.date(2027, 4, 5),
    ]  # fmt: skip
    for date in preview.dates:
        round_trip = date.astimezone(datetime.UTC).astimezone(BERLIN)
        assert round_trip.replace(tzinfo=None) == date.replace(tzinfo=None)


def test_friday_before_a_holiday_moves_to_the_next_working_day():
    """Friday 1 January 2027 is New Year's Day: a series on the 1st Friday proposes Monday 4 January."""
    preview = services.series_preview(
        rrule="FREQ=MONTHLY;BYDAY=1FR", first_start=local(2027, 1, 1, 10, 0), now=local(2026, 12, 31, 23, 59)
    )
    assert preview.first_start_is_occurrence is True
    assert days(preview)[0] == datetime.date(2027, 1, 4)


def test_a_series_created_on_new_years_eve_proposes_the_next_years_dates(personas):
    coordinator = personas.district_coordinator
    with time_machine.travel(local(2026, 12, 31, 23, 59), tick=False):
        series = services.series_create(
            user=coordinator, title="Jahreswechsel", agencies=[Agency.objects.get(code="JA-HIL")],
            invitees=[personas.caseworker_hilden], rrule="FREQ=MONTHLY;BYDAY=2TU",
            first_start=local(2027, 1, 12, 10, 0), horizon_days=60,
        )  # fmt: skip
    starts = Meeting.objects.filter(series=series).order_by("start").values_list("start", flat=True)
    assert [s.astimezone(BERLIN).date() for s in starts] == [datetime.date(2027, 1, 12), datetime.date(2027, 2, 9)]


# --- rules that used to hang or answer 500 ----------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=MONTHLY;INTERVAL=0",  # dateutil loops for ever
        "FREQ=MONTHLY;INTERVAL=-1",
        "FREQ=MONTHLY;INTERVAL=x",
        "FREQ=MONTHLY;INTERVAL=１",  # a full-width digit
        "FREQ=MONTHLY;BYDAY=+60MO",  # parses, fails while expanding
        "FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30",  # never
        "FREQ=WEEKLY;BYMONTH=2;BYMONTHDAY=30",  # never; unbounded, dateutil searches to year 9999
        "FREQ=YEARLY;BYWEEKNO=60",
        "FREQ=MONTHLY;COUNT=0",
        "FREQ=MONTHLY;BYHOUR=3",  # the time of day comes from the first date
        "FREQ=MONTHLY;;BYDAY=2TU",
        "FREQ=MONTHLY;FREQ=WEEKLY",
        "FREQ=DAILY",
    ],
)
def test_bad_rules_are_refused_quickly_with_a_message(rule):
    started = time.monotonic()
    problem = services.rrule_problem(rule, local(2026, 12, 15, 10, 0))
    assert problem, rule
    assert time.monotonic() - started < 5  # a bound, not a benchmark: INTERVAL=0 used to never return
    with pytest.raises(ValidationError) as error:
        services.series_preview(rrule=rule, first_start=local(2026, 12, 15, 10, 0))
    assert list(error.value.message_dict) == ["rrule"]


@pytest.mark.parametrize(
    "rule",
    [
        QUARTERLY_2TU,
        "FREQ=MONTHLY;BYMONTHDAY=-1",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",  # leap years only
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;UNTIL=20301231T000000",
        "FREQ=MONTHLY;COUNT=4;BYDAY=-1FR",
        "FREQ=MONTHLY;BYDAY=TU;BYSETPOS=2",
    ],
)
def test_good_rules_pass(rule):
    assert services.rrule_problem(rule, local(2026, 12, 15, 10, 0)) is None


def test_problem_messages_are_german():
    from django.utils import translation

    with translation.override("de"):
        assert "INTERVAL" in services.rrule_problem("FREQ=MONTHLY;INTERVAL=0")
        assert "ganze Zahl" in services.rrule_problem("FREQ=MONTHLY;INTERVAL=0")
        assert "keinen Termin" in services.rrule_problem("FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30")


# --- the series form and the API show the dates before saving --------------------------------------------

NIGHT_OF_THE_RED_CI = local(2026, 12, 4, 20, 0)


def _form(personas, **overrides) -> dict:
    data = {
        "title": "Polizei – Jugendamt Velbert, Sachbearbeiter-Ebene",
        "agencies": [Agency.objects.get(code="JA-VEL").pk],
        "invitees": [personas.caseworker_velbert.pk],
        "cadence": "quarterly_2tu",
        "rrule": "",
        "first_start": "2026-12-15T10:00",
        "duration_minutes": "90",
        "location": "Rathaus Velbert, Raum 2.14",
        "video_link": "",
    }
    return data | overrides


@time_machine.travel(NIGHT_OF_THE_RED_CI, tick=False)
def test_the_form_fragment_shows_the_first_dates_and_says_the_first_start_is_none_of_them(client, personas):
    client.force_login(personas.district_coordinator)
    response = client.get(
        "/cooperation/series/preview/", {"cadence": "quarterly_2tu", "first_start": "2026-12-15T10:00"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "data-coop-preview-not-occurrence" in page
    assert "ist kein Termin dieses Rhythmus" in page
    assert 'datetime="2027-03-09T10:00:00+01:00"' in page and "9. März 2027" in page
    response = client.get(
        "/cooperation/series/preview/", {"cadence": "quarterly_2tu", "first_start": "2026-12-08T10:00"}
    )
    assert "data-coop-preview-not-occurrence" not in response.content.decode()
    custom = {"cadence": "custom", "rrule": "FREQ=MONTHLY;INTERVAL=0", "first_start": "2026-12-08T10:00"}
    page = client.get("/cooperation/series/preview/", custom).content.decode()
    assert "data-coop-preview-problem" in page and "INTERVAL" in page


@time_machine.travel(NIGHT_OF_THE_RED_CI, tick=False)
def test_show_dates_button_keeps_everything_typed_and_saves_nothing(client, personas):
    client.force_login(personas.district_coordinator)
    response = client.post("/cooperation/series/new/", _form(personas, title="", preview="1"))
    page = response.content.decode()
    assert response.status_code == 200
    assert not MeetingSeries.objects.exists()
    assert "error-summary" not in page  # asking for the dates is no failed submission
    assert "9. März 2027" in page and "Rathaus Velbert, Raum 2.14" in page
    assert f'value="{personas.caseworker_velbert.pk}" id="id_invitees_' in page


@time_machine.travel(NIGHT_OF_THE_RED_CI, tick=False)
def test_saving_with_a_first_start_that_is_no_occurrence_says_when_the_series_starts(client, personas):
    client.force_login(personas.district_coordinator)
    response = client.post("/cooperation/series/new/", _form(personas), follow=True)
    page = response.content.decode()
    assert MeetingSeries.objects.count() == 1
    assert "der erste Termin ist am Dienstag, 9. März 2027, 10:00" in page


@time_machine.travel(NIGHT_OF_THE_RED_CI, tick=False)
def test_api_answers_with_the_first_dates(personas):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(personas.district_coordinator)
    response = api.get(
        "/api/v1/meeting-series/preview/",
        {"rrule": QUARTERLY_2TU, "first_start": "2026-12-15T10:00:00+01:00"},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {
        "next_dates": ["2027-03-09T10:00:00+01:00", "2027-06-08T10:00:00+02:00", "2027-09-14T10:00:00+02:00"],
        "first_start_is_occurrence": False,
    }
    payload = {
        "title": "Reihe", "agencies": [Agency.objects.get(code="JA-VEL").pk],
        "invitees": [personas.caseworker_velbert.pk], "rrule": QUARTERLY_2TU,
        "first_start": "2026-12-15T10:00:00+01:00",
    }  # fmt: skip
    created = api.post("/api/v1/meeting-series/", payload, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["cadence"]["next_dates"][0] == "2027-03-09T10:00:00+01:00"
    assert created.json()["cadence"]["first_start_is_occurrence"] is False
    other = APIClient()
    other.force_authenticate(personas.caseworker_velbert)
    assert other.get("/api/v1/meeting-series/preview/", {"rrule": QUARTERLY_2TU, "first_start": "x"}).status_code == 403


@time_machine.travel(NIGHT_OF_THE_RED_CI, tick=False)
@pytest.mark.parametrize("rule", ["FREQ=MONTHLY;INTERVAL=0", "FREQ=MONTHLY;BYDAY=+60MO", "FREQ=MONTHLY;INTERVAL=-1"])
def test_api_refuses_bad_rules_on_rrule_on_create_patch_and_preview(personas, rule):
    from rest_framework.test import APIClient

    api = APIClient(HTTP_ACCEPT_LANGUAGE="de")
    api.force_authenticate(personas.district_coordinator)
    payload = {
        "title": "Reihe", "agencies": [Agency.objects.get(code="JA-VEL").pk],
        "invitees": [personas.caseworker_velbert.pk], "rrule": rule, "first_start": "2026-12-08T10:00:00+01:00",
    }  # fmt: skip
    response = api.post("/api/v1/meeting-series/", payload, format="json")
    assert response.status_code == 400 and list(response.json()) == ["rrule"], response.content
    good = api.post("/api/v1/meeting-series/", payload | {"rrule": QUARTERLY_2TU}, format="json")
    assert good.status_code == 201
    response = api.patch(f"/api/v1/meeting-series/{good.json()['id']}/", {"rrule": rule}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["rrule"], response.content
    response = api.get("/api/v1/meeting-series/preview/", {"rrule": rule, "first_start": "2026-12-08T10:00:00+01:00"})
    assert response.status_code == 400 and list(response.json()) == ["rrule"], response.content
