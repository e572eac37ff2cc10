"""Liaison meeting series: recurrence in local time, holidays, conflict-free proposals, idempotent
materialisation, confirm / move / cancel with one e-mail and .ics per invitee, permissions."""

import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from agencies.models import Agency, AgencyKind, District
from meetings import services
from meetings.models import (
    ActionItem,
    Attendance,
    Hospitation,
    HospitationStatus,
    InfoEvent,
    Meeting,
    MeetingStatus,
    Registration,
    RegistrationStatus,
)
from notifications.models import Channel, Notification

BERLIN = ZoneInfo("Europe/Berlin")


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def people(personas):
    """Personas with names and addresses (to prove that texts carry none of them); the lead has no
    e-mail address."""
    for user, first, last in (
        (personas.police_hilden, "Paula", "Polizistin"),
        (personas.caseworker_hilden, "Carla", "Fallmann"),
        (personas.lead_hilden, "Lena", "Leitner"),
        (personas.district_coordinator, "Konrad", "Koordinator"),
    ):
        user.first_name, user.last_name = first, last
        user.email = "" if user is personas.lead_hilden else f"{user.username}@example.org"
        user.save()
    return personas


def hilden_series(people, **overrides):
    args = {
        "user": people.district_coordinator,
        "title": "Polizei – Jugendamt Hilden, Sachbearbeiter-Ebene",
        "agencies": [Agency.objects.get(code="PW-HIL"), Agency.objects.get(code="JA-HIL")],
        "invitees": [people.police_hilden, people.caseworker_hilden, people.lead_hilden],
        "rrule": "FREQ=MONTHLY;INTERVAL=3",
        "first_start": local(2026, 7, 3, 10, 0),
        "location": "Rathaus Hilden, Raum 2",
    }
    args.update(overrides)
    return services.series_create(**args)


def parsed(notification) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(notification.attachment_content)


def vevent(notification):
    return parsed(notification).walk("VEVENT")[0]


def assert_no_names(people):
    names = {
        value for user in vars(people).values() for value in (user.username, user.first_name, user.last_name) if value
    }
    for notification in Notification.objects.all():
        text = f"{notification.subject}\n{notification.body}"
        assert not [name for name in names if name in text], text


# --- recurrence -----------------------------------------------------------------------------------


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_quarterly_date_on_german_unity_day_moves_to_monday(people):
    series = hilden_series(people)
    meetings = list(series.meetings.order_by("occurrence"))
    assert [m.occurrence for m in meetings] == [local(2026, 7, 3, 10, 0), local(2026, 10, 3, 10, 0)]
    # 3 October 2026 is a Saturday and a public holiday; Sunday follows: Monday 5 October, same time.
    assert meetings[1].start == local(2026, 10, 5, 10, 0)
    assert meetings[1].end == local(2026, 10, 5, 11, 30)
    assert meetings[0].start == meetings[0].occurrence  # a Friday that is free
    assert all(m.status == MeetingStatus.PROPOSED and m.location == "Rathaus Hilden, Raum 2" for m in meetings)


@time_machine.travel(local(2026, 1, 5, 9, 0), tick=False)
def test_wall_clock_time_is_kept_across_both_dst_changes(people):
    series = hilden_series(
        people, rrule="FREQ=MONTHLY;BYDAY=2TU", first_start=local(2026, 1, 13, 10, 0), horizon_days=366
    )
    starts = {m.start.astimezone(BERLIN).date(): m.start for m in series.meetings.all()}
    assert len(starts) == 12
    assert all(start.astimezone(BERLIN).time() == datetime.time(10, 0) for start in starts.values())
    utc_hour = {day: start.astimezone(datetime.UTC).hour for day, start in starts.items()}
    assert utc_hour[datetime.date(2026, 3, 10)] == 9  # CET, before 29 March
    assert utc_hour[datetime.date(2026, 4, 14)] == 8  # CEST
    assert utc_hour[datetime.date(2026, 10, 13)] == 8  # CEST, before 25 October
    assert utc_hour[datetime.date(2026, 11, 10)] == 9  # CET again


@time_machine.travel(local(2026, 3, 2, 9, 0), tick=False)
def test_good_friday_and_easter_monday_are_skipped(people):
    series = hilden_series(people, rrule="FREQ=WEEKLY;BYDAY=FR", first_start=local(2026, 3, 27, 14, 0), horizon_days=45)
    by_occurrence = {m.occurrence.date(): m.start for m in series.meetings.all()}
    # Good Friday 3 April → Monday 6 April is Easter Monday → Tuesday 7 April.
    assert by_occurrence[datetime.date(2026, 4, 3)] == local(2026, 4, 7, 14, 0)


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_proposals_avoid_the_invitees_other_dates(people):
    first = hilden_series(people, rrule="FREQ=MONTHLY;COUNT=1", first_start=local(2026, 7, 14, 10, 0))
    assert first.meetings.get().start == local(2026, 7, 14, 10, 0)

    # Another series with one of the same people at the same time: the proposal moves a working day.
    other = hilden_series(
        people,
        title="Fallbesprechung anonymisiert",
        invitees=[people.caseworker_hilden],
        rrule="FREQ=MONTHLY;COUNT=1",
        first_start=local(2026, 7, 14, 10, 30),
    )
    assert other.meetings.get().start == local(2026, 7, 15, 10, 30)

    # An approved hospitation of an invitee (a whole day) and an event they are registered for.
    Hospitation.objects.create(
        requester=people.police_hilden, requester_agency=Agency.objects.get(code="PW-HIL"),
        host_agency=Agency.objects.get(code="JA-HIL"), purpose="Einblick", status=HospitationStatus.APPROVED,
        date=datetime.date(2026, 8, 4), host_person=people.caseworker_hilden,
    )  # fmt: skip
    event = InfoEvent.objects.create(
        host_agency=Agency.objects.get(code="JA-HIL"), title="Fortbildung", start=local(2026, 8, 5, 9, 0),
        end=local(2026, 8, 5, 12, 0), place="Hilden", capacity=10, registration_deadline=local(2026, 8, 1, 0, 0),
        created_by=people.lead_hilden,
    )  # fmt: skip
    Registration.objects.create(event=event, person=people.police_hilden, status=RegistrationStatus.REGISTERED)
    third = hilden_series(
        people,
        title="Dritte Reihe",
        invitees=[people.police_hilden],
        rrule="FREQ=MONTHLY;COUNT=1",
        first_start=local(2026, 8, 4, 11, 0),
    )
    # 4 August: hospitation day; 5 August 11:00: inside the event; 6 August is free.
    assert third.meetings.get().start == local(2026, 8, 6, 11, 0)


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_waitlisted_or_cancelled_things_do_not_block(people):
    event = InfoEvent.objects.create(
        host_agency=Agency.objects.get(code="JA-HIL"), title="Fortbildung", start=local(2026, 7, 14, 9, 0),
        end=local(2026, 7, 14, 12, 0), place="Hilden", capacity=1, registration_deadline=local(2026, 7, 1, 0, 0),
        created_by=people.lead_hilden,
    )  # fmt: skip
    Registration.objects.create(event=event, person=people.police_hilden, status=RegistrationStatus.WAITLISTED)
    series = hilden_series(people, rrule="FREQ=MONTHLY;COUNT=1", first_start=local(2026, 7, 14, 10, 0))
    assert series.meetings.get().start == local(2026, 7, 14, 10, 0)


def test_materialisation_is_idempotent_and_stays_within_the_horizon(people):
    with time_machine.travel(local(2026, 6, 1, 9, 0), tick=False):
        series = hilden_series(
            people, rrule="FREQ=WEEKLY;BYDAY=WE", first_start=local(2026, 6, 3, 9, 0), horizon_days=60
        )
        rows = list(Meeting.objects.values_list("pk", "occurrence", "start"))
        assert len(rows) == 9  # 3 June ... 29 July
        assert max(occurrence for _pk, occurrence, _start in rows) <= local(2026, 6, 1, 9, 0) + datetime.timedelta(
            days=60
        )
        assert services.meetings_materialise() == 0
        assert services.meetings_materialise(series=series) == 0
        assert list(Meeting.objects.values_list("pk", "occurrence", "start")) == rows
    # A week later the beat job adds exactly the next week; past dates are not created again.
    with time_machine.travel(local(2026, 6, 8, 9, 0), tick=False):
        assert services.meetings_materialise() == 1
        assert services.meetings_materialise() == 0
        assert Meeting.objects.count() == 10


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_a_cancelled_date_is_not_proposed_again(people):
    series = hilden_series(people)
    meeting = series.meetings.order_by("start").first()
    services.meeting_cancel(meeting=meeting, user=people.district_coordinator, reason="Urlaubszeit")
    assert services.meetings_materialise() == 0
    assert series.meetings.count() == 2


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=DAILY",  # 183 dates in half a year: refused
        "FREQ=HOURLY;INTERVAL=24",
        "FREQ=MONTHLY;BYDAY=XX",
        "nonsense",
        "",
        "DTSTART:20260101T100000\nRRULE:FREQ=WEEKLY",
        "FREQ=MONTHLY;UNTIL=20260101T000000",  # nothing in the future
    ],
)
def test_bad_cadences_are_refused(people, rule):
    with pytest.raises(ValidationError) as error:
        hilden_series(people, rrule=rule)
    assert "rrule" in error.value.message_dict
    assert not Meeting.objects.exists()


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_rrule_prefix_and_weekly_cadence_are_accepted(people):
    series = hilden_series(people, rrule="RRULE:FREQ=WEEKLY;INTERVAL=2", horizon_days=60)
    assert series.rrule == "FREQ=WEEKLY;INTERVAL=2"
    assert series.meetings.count() == 2  # 3 and 17 July; 31 July 10:00 lies past the 60 days


# --- permissions and input ------------------------------------------------------------------------


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
@pytest.mark.parametrize("persona", ["lead_hilden", "caseworker_hilden", "police_coordinator", "no_role", "admin"])
def test_only_the_district_coordinator_creates_series(people, persona):
    with pytest.raises(PermissionDenied):
        hilden_series(people, user=getattr(people, persona))


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_agencies_and_invitees_are_checked(people):
    other_district = District.objects.create(slug="elsewhere", name="Anderswo")
    foreign = Agency.objects.create(
        district=other_district, kind=AgencyKind.YOUTH_OFFICE, name="JA Anderswo", code="JA-X"
    )
    with pytest.raises(ValidationError) as error:
        hilden_series(people, agencies=[foreign])
    assert "agencies" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        hilden_series(people, invitees=[people.caseworker_velbert])
    assert "invitees" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        hilden_series(people, title=" ", duration_minutes=5, video_link="not a url")
    assert {"title", "duration_minutes", "video_link"} <= error.value.message_dict.keys()
    # The police coordinator may be invited to a series with one of the authority's stations.
    series = hilden_series(people, invitees=[people.police_coordinator, people.district_coordinator])
    assert series.invitees.count() == 2


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
@pytest.mark.parametrize("persona", ["lead_hilden", "caseworker_hilden", "police_hilden", "police_coordinator"])
def test_only_the_coordinator_confirms_moves_and_cancels(people, persona):
    meeting = hilden_series(people).meetings.first()
    user = getattr(people, persona)
    with pytest.raises(PermissionDenied):
        services.meeting_confirm(meeting=meeting, user=user)
    with pytest.raises(PermissionDenied):
        services.meeting_move(meeting=meeting, user=user, start=local(2026, 7, 6, 10, 0))
    with pytest.raises(PermissionDenied):
        services.meeting_cancel(meeting=meeting, user=user, reason="x")
    with pytest.raises(PermissionDenied):
        services.series_update(series=meeting.series, user=user, title="Neu")
    assert Meeting.objects.get(pk=meeting.pk).status == MeetingStatus.PROPOSED


# --- invitations, changes, cancellations ----------------------------------------------------------


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_confirm_move_cancel_mail_every_invitee_with_a_calendar_entry(people):
    series = hilden_series(people)
    meeting = series.meetings.order_by("start").first()
    coordinator = people.district_coordinator
    with_address = {people.police_hilden.email, people.caseworker_hilden.email}

    services.meeting_confirm(meeting=meeting, user=coordinator)
    services.meeting_move(meeting=meeting, user=coordinator, start=local(2026, 7, 6, 14, 0), location="Polizeiwache")
    services.meeting_cancel(meeting=meeting, user=coordinator, reason="Dienstliche Gründe")

    mails = list(Notification.objects.filter(channel=Channel.EMAIL).order_by("pk"))
    assert len(mails) == 3 * len(with_address)  # the lead has no address: no e-mail
    for kind, method, sequence in (
        ("meeting_invitation", "REQUEST", 0),
        ("meeting_update", "REQUEST", 1),
        ("meeting_cancellation", "CANCEL", 2),
    ):
        batch = [m for m in mails if m.kind == kind]
        assert {m.recipient_email for m in batch} == with_address
        for mail in batch:
            assert mail.attachment_type == "text/calendar" and mail.attachment_name.endswith(".ics")
            cal = parsed(mail)
            event = cal.walk("VEVENT")[0]
            assert str(cal["METHOD"]) == method
            assert str(event["UID"]) == str(meeting.uid)
            assert int(event["SEQUENCE"]) == sequence
            assert str(event["SUMMARY"]) == series.title
            assert str(event["ATTENDEE"]) == f"mailto:{mail.recipient_email}"  # the recipient alone
            if kind == "meeting_invitation":
                assert event.decoded("DTSTART") == local(2026, 7, 3, 10, 0)
                assert str(event["LOCATION"]) == "Rathaus Hilden, Raum 2"
            if kind == "meeting_update":
                assert event.decoded("DTSTART") == local(2026, 7, 6, 14, 0)
                assert event.decoded("DTEND") == local(2026, 7, 6, 15, 30)
                assert str(event["LOCATION"]) == "Polizeiwache"
    # Everyone (with or without an address) has the three messages in the application.
    for user in (people.police_hilden, people.caseworker_hilden, people.lead_hilden):
        assert Notification.objects.for_user(user).count() == 3
    meeting.refresh_from_db()
    assert (meeting.status, meeting.sequence, meeting.cancel_reason) == ("cancelled", 2, "Dienstliche Gründe")
    assert_no_names(people)
    assert "Dienstliche Gründe" not in " ".join(Notification.objects.values_list("body", flat=True))


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_a_long_title_fits_the_subject(people):
    series = hilden_series(people, title="Polizei – Jugendamt " * 10)  # 200 characters
    services.meeting_confirm(meeting=series.meetings.first(), user=people.district_coordinator)
    notification = Notification.objects.filter(channel=Channel.EMAIL).first()
    assert len(notification.subject) <= 200 and notification.subject.endswith("…")
    assert series.title.strip() in notification.body
    assert str(vevent(notification)["SUMMARY"]) == series.title.strip()


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_the_e_mail_carries_the_ics_attachment(people, mailoutbox, django_capture_on_commit_callbacks):
    meeting = hilden_series(people).meetings.order_by("start").first()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_confirm(meeting=meeting, user=people.district_coordinator)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([people.police_hilden.email, people.caseworker_hilden.email])
    name, content, mimetype = mailoutbox[0].attachments[0]
    assert name.endswith(".ics") and mimetype == "text/calendar"
    assert str(icalendar.Calendar.from_ical(content).walk("VEVENT")[0]["UID"]) == str(meeting.uid)


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_dates_lie_within_two_years_and_a_meeting_lasts_at_most_ten_hours(people):
    """QA of 2026-12-05: a meeting could be moved to last ten days, and dates were taken up to 9999."""
    meeting = hilden_series(people).meetings.order_by("start").first()
    coordinator = people.district_coordinator
    for start, end, field in (
        (local(2026, 7, 2, 10, 0), local(2026, 7, 12, 10, 0), "end"),  # ten days
        (local(2026, 7, 2, 8, 0), local(2026, 7, 2, 18, 1), "end"),  # a minute over ten hours
        (local(9999, 7, 2, 10, 0), None, "start"),
        (local(2028, 6, 2, 10, 0), None, "start"),  # a day beyond two years
    ):
        with pytest.raises(ValidationError) as error:
            services.meeting_move(meeting=meeting, user=coordinator, start=start, end=end)
        assert list(error.value.message_dict) == [field], (start, end)
    moved = services.meeting_move(
        meeting=meeting, user=coordinator, start=local(2028, 5, 31, 8, 0), end=local(2028, 5, 31, 18, 0)
    )
    assert (moved.end - moved.start) == datetime.timedelta(hours=10)
    with pytest.raises(ValidationError) as error:
        hilden_series(people, first_start=local(2030, 7, 3, 10, 0))
    assert "first_start" in error.value.message_dict
    with pytest.raises(ValidationError) as error:  # the year 1: meetings at 00:53:28, local mean time (QA)
        hilden_series(people, first_start=datetime.datetime(1, 1, 1, tzinfo=datetime.UTC))
    assert list(error.value.message_dict) == ["first_start"]
    with pytest.raises(ValidationError) as error:
        services.series_preview(rrule="FREQ=WEEKLY", first_start=datetime.datetime(1, 1, 1, tzinfo=datetime.UTC))
    assert list(error.value.message_dict) == ["first_start"]
    with pytest.raises(ValidationError) as error:  # into every invitation: http(s) only
        hilden_series(people, video_link="ftp://x.example/")
    assert list(error.value.message_dict) == ["video_link"]
    # A first date within two years, but a cadence whose first meeting lies three years ahead (QA).
    far_rule = "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=14;BYDAY=FR"  # Friday the 14th of December: 2029
    with pytest.raises(ValidationError) as error:
        hilden_series(people, rrule=far_rule, first_start=local(2027, 1, 5, 10, 0))
    assert list(error.value.message_dict) == ["rrule"] and "14. Dezember 2029" in error.value.messages[0]
    with pytest.raises(ValidationError) as error:
        services.series_preview(rrule=far_rule, first_start=local(2027, 1, 5, 10, 0))
    assert list(error.value.message_dict) == ["rrule"]


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_moving_a_proposal_tells_nobody_and_state_rules_hold(people):
    meeting = hilden_series(people).meetings.order_by("start").first()
    coordinator = people.district_coordinator
    services.meeting_move(meeting=meeting, user=coordinator, start=local(2026, 7, 2, 10, 0))
    meeting.refresh_from_db()
    assert (meeting.sequence, Notification.objects.count()) == (0, 0)
    with pytest.raises(ValidationError):
        services.meeting_move(meeting=meeting, user=coordinator, start=local(2026, 5, 1, 10, 0))  # the past
    with pytest.raises(ValidationError):
        services.meeting_move(
            meeting=meeting, user=coordinator, start=local(2026, 7, 2, 10, 0), end=local(2026, 7, 2, 9, 0)
        )
    with pytest.raises(ValidationError):
        services.meeting_cancel(meeting=meeting, user=coordinator, reason="  ")
    services.meeting_confirm(meeting=meeting, user=coordinator)
    with pytest.raises(ValidationError):
        services.meeting_confirm(meeting=meeting, user=coordinator)
    # Saving the same values again is no change: no SEQUENCE, no e-mail.
    before = Notification.objects.count()
    services.meeting_move(meeting=meeting, user=coordinator, start=local(2026, 7, 2, 10, 0))
    assert Notification.objects.count() == before


@time_machine.travel(local(2026, 6, 1, 9, 0), tick=False)
def test_series_update_tells_invitees_what_changed(people):
    series = hilden_series(people)
    first, second = series.meetings.order_by("start")
    coordinator = people.district_coordinator
    services.meeting_confirm(meeting=first, user=coordinator)
    Notification.objects.all().delete()

    services.series_update(series=series, user=coordinator, title="Neuer Titel", location="Kreishaus")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.sequence, first.location, second.location, second.sequence) == (1, "Kreishaus", "Kreishaus", 0)
    mails = Notification.objects.filter(channel=Channel.EMAIL, kind="meeting_update")
    assert mails.count() == 2 and str(vevent(mails[0])["SUMMARY"]) == "Neuer Titel"
    Notification.objects.all().delete()

    # One added, one removed: the newcomer is invited to the confirmed date, the other gets a cancellation.
    people.lead_velbert.email = "lv@example.org"
    people.lead_velbert.save()
    services.series_update(
        series=series,
        user=coordinator,
        agencies=[*series.agencies.all(), Agency.objects.get(code="JA-VEL")],
        invitees=[people.caseworker_hilden, people.lead_hilden, people.lead_velbert],
    )
    invitation = Notification.objects.get(channel=Channel.EMAIL, kind="meeting_invitation")
    cancellation = Notification.objects.get(channel=Channel.EMAIL, kind="meeting_cancellation")
    assert invitation.recipient_email == "lv@example.org"
    assert cancellation.recipient_email == people.police_hilden.email
    assert str(parsed(cancellation)["METHOD"]) == "CANCEL"
    assert str(vevent(cancellation)["UID"]) == str(first.uid)

    # A new cadence drops the future proposals (nobody was invited) and keeps the confirmed date.
    services.series_update(series=series, user=coordinator, rrule="FREQ=MONTHLY;INTERVAL=1")
    assert Meeting.objects.filter(pk=second.pk).count() == 0
    assert Meeting.objects.filter(pk=first.pk, status=MeetingStatus.CONFIRMED).exists()
    assert series.meetings.filter(status=MeetingStatus.PROPOSED).count() == 4  # 3 August ... 3 November
    with pytest.raises(ValidationError):
        services.series_update(series=series, user=coordinator, rrule="FREQ=DAILY")
    # Deactivating drops the proposals; the beat job leaves an inactive series alone.
    services.series_update(series=series, user=coordinator, is_active=False)
    assert not series.meetings.filter(status=MeetingStatus.PROPOSED).exists()
    assert services.meetings_materialise() == 0
    assert_no_names(people)


# --- agenda, minutes, action items ----------------------------------------------------------------


def test_agenda_minutes_attendance_and_action_items(people):
    with time_machine.travel(local(2026, 6, 1, 9, 0), tick=False):
        meeting = hilden_series(people).meetings.order_by("start").first()
        coordinator = people.district_coordinator
        services.meeting_confirm(meeting=meeting, user=coordinator)
        item = services.agenda_item_add(meeting=meeting, user=people.caseworker_hilden, title="Abläufe am Wochenende")
        assert item.proposed_by == people.caseworker_hilden
        services.agenda_item_add(meeting=meeting, user=people.police_coordinator, title="Leitungsthema")  # lead
        for outsider in (people.caseworker_velbert, people.police_velbert, people.no_role):
            with pytest.raises(PermissionDenied):
                services.agenda_item_add(meeting=meeting, user=outsider, title="x")
        with pytest.raises(ValidationError):
            services.agenda_item_add(meeting=meeting, user=people.caseworker_hilden, title=" ")
        with pytest.raises(ValidationError):  # not yet begun
            services.meeting_minutes_save(meeting=meeting, user=coordinator, minutes="x", present_user_ids=[])

    with time_machine.travel(local(2026, 7, 3, 12, 0), tick=False):
        with pytest.raises(PermissionDenied):
            services.meeting_minutes_save(meeting=meeting, user=people.lead_hilden, minutes="x", present_user_ids=[])
        with pytest.raises(ValidationError):
            services.meeting_minutes_save(
                meeting=meeting, user=coordinator, minutes="x", present_user_ids=[people.caseworker_velbert.pk]
            )
        services.meeting_minutes_save(
            meeting=meeting,
            user=coordinator,
            minutes="Anonymisierte Fallbesprechung; Erreichbarkeit geklärt.",
            present_user_ids=[people.police_hilden.pk, people.caseworker_hilden.pk],
        )
        meeting.refresh_from_db()
        assert meeting.status == MeetingStatus.HELD
        assert dict(Attendance.objects.filter(meeting=meeting).values_list("person_id", "present")) == {
            people.police_hilden.pk: True,
            people.caseworker_hilden.pk: True,
            people.lead_hilden.pk: False,
        }
        with pytest.raises(ValidationError):  # only coming meetings take topics
            services.agenda_item_add(meeting=meeting, user=people.caseworker_hilden, title="zu spät")

        action = services.action_item_add(
            meeting=meeting, user=coordinator, title="Rufnummern abgleichen", owner=people.police_hilden,
            due_on=datetime.date(2026, 7, 31),
        )  # fmt: skip
        assert Notification.objects.filter(kind="action_item_assigned", recipient_user=people.police_hilden).exists()
        with pytest.raises(ValidationError):  # the owner must be invited
            services.action_item_add(
                meeting=meeting,
                user=coordinator,
                title="x",
                owner=people.lead_velbert,
                due_on=datetime.date(2026, 8, 1),
            )
        with pytest.raises(ValidationError):  # due in the past
            services.action_item_add(
                meeting=meeting,
                user=coordinator,
                title="x",
                owner=people.police_hilden,
                due_on=datetime.date(2026, 7, 1),
            )
        with pytest.raises(PermissionDenied):
            services.action_item_add(
                meeting=meeting, user=people.lead_velbert, title="x", owner=people.police_hilden,
                due_on=datetime.date(2026, 8, 1),
            )  # fmt: skip
        with pytest.raises(PermissionDenied):
            services.action_item_done(item=action, user=people.caseworker_hilden)
        services.action_item_done(item=action, user=people.police_hilden)
        assert ActionItem.objects.get(pk=action.pk).done_at is not None
        with pytest.raises(ValidationError):
            services.action_item_done(item=action, user=coordinator)
    assert_no_names(people)
