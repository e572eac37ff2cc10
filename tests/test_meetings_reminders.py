"""Reminders: at 7 days and 1 day by default, exactly once per person and offset, however often the
beat job runs and even when a run dies halfway."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.test import override_settings

from agencies.models import Agency
from meetings import notifications as meeting_notifications
from meetings import services, tasks
from meetings.models import ActionItem, Hospitation, HospitationStatus, Meeting, MeetingStatus, Reminder
from notifications.models import Channel, Notification

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime.datetime(2026, 7, 14, 10, 0, tzinfo=BERLIN)  # a Tuesday


def at(moment):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def people(personas):
    for user in vars(personas).values():
        user.email = f"{user.username}@example.org"
        user.save()
    return personas


@pytest.fixture
def meeting(people):
    with at(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)):
        series = services.series_create(
            user=people.district_coordinator,
            title="Polizei – Jugendamt Hilden",
            agencies=[Agency.objects.get(code="PW-HIL"), Agency.objects.get(code="JA-HIL")],
            invitees=[people.police_hilden, people.caseworker_hilden],
            rrule="FREQ=MONTHLY;COUNT=1",
            first_start=START,
        )
        meeting = series.meetings.get()
        services.meeting_confirm(meeting=meeting, user=people.district_coordinator)
    return meeting


def reminders(kind="reminder_meeting"):
    return Notification.objects.filter(kind=kind, channel=Channel.IN_APP)


def test_meeting_reminders_7d_and_1d_exactly_once(meeting, people):
    with at(START - datetime.timedelta(days=8)):
        assert services.reminders_send() == 0
    with at(START - datetime.timedelta(days=7) + datetime.timedelta(minutes=3)):
        assert services.reminders_send() == 2  # two invitees
        assert services.reminders_send() == 0  # the next beat run
        assert tasks.send_reminders() == 0  # the task is the same service
    with at(START - datetime.timedelta(days=3)):
        assert services.reminders_send() == 0
    with at(START - datetime.timedelta(days=1) + datetime.timedelta(minutes=1)):
        assert services.reminders_send() == 2
        assert services.reminders_send() == 0
    with at(START + datetime.timedelta(minutes=5)):
        assert services.reminders_send() == 0
    assert sorted(Reminder.objects.values_list("offset", "recipient_id")) == sorted(
        (offset, user.pk) for offset in ("1d", "7d") for user in (people.police_hilden, people.caseworker_hilden)
    )
    assert reminders().count() == 4
    assert Notification.objects.filter(kind="reminder_meeting", channel=Channel.EMAIL).count() == 4
    texts = " ".join(f"{n.subject} {n.body}" for n in reminders())
    assert "police_hilden" not in texts and "caseworker_hilden" not in texts


def test_a_late_confirmation_gets_only_the_reminder_due_now(people):
    """Confirmed 20 hours ahead: both offsets have passed, only the shortest is sent (once). A job
    that was down sends a missed reminder late, as long as no shorter one is due."""
    with at(START - datetime.timedelta(hours=20)):
        series = services.series_create(
            user=people.district_coordinator,
            title="Kurzfristig",
            agencies=[Agency.objects.get(code="JA-HIL")],
            invitees=[people.caseworker_hilden],
            rrule="FREQ=MONTHLY;COUNT=1",
            first_start=START,
        )
        services.meeting_confirm(meeting=series.meetings.get(), user=people.district_coordinator)
        assert services.reminders_send() == 1
        assert services.reminders_send() == 0
    assert list(Reminder.objects.values_list("offset", flat=True)) == ["1d"]


def test_a_missed_reminder_is_sent_late(meeting):
    with at(START - datetime.timedelta(days=5)):  # the beat was down at seven days
        assert services.reminders_send() == 2
    assert set(Reminder.objects.values_list("offset", flat=True)) == {"7d"}


def test_proposed_and_cancelled_meetings_are_not_reminded(meeting, people):
    with at(datetime.datetime(2026, 6, 2, 9, 0, tzinfo=BERLIN)):
        services.meeting_cancel(meeting=meeting, user=people.district_coordinator, reason="entfällt")
    with at(START - datetime.timedelta(hours=2)):
        assert services.reminders_send() == 0


def test_moving_a_meeting_restarts_its_reminders(meeting, people):
    with at(START - datetime.timedelta(hours=12)):
        assert services.reminders_send() == 2
        services.meeting_move(
            meeting=meeting, user=people.district_coordinator, start=START + datetime.timedelta(days=14)
        )
        assert services.reminders_send() == 0
    with at(START + datetime.timedelta(days=13, hours=12)):
        assert services.reminders_send() == 2


def test_a_run_that_dies_halfway_sends_the_rest_once(meeting, people, monkeypatch):
    original = meeting_notifications.notify_reminder
    calls = []

    def dies_on_second(kind, obj, user):
        calls.append(user.pk)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        original(kind, obj, user)

    monkeypatch.setattr(meeting_notifications, "notify_reminder", dies_on_second)
    with at(START - datetime.timedelta(hours=5)):
        with pytest.raises(RuntimeError):
            services.reminders_send()
        assert Reminder.objects.count() == 1  # the first is committed with its notification
        assert reminders().count() == 1
        monkeypatch.setattr(meeting_notifications, "notify_reminder", original)
        assert services.reminders_send() == 1  # the redelivered task sends the rest
        assert services.reminders_send() == 0
    assert reminders().count() == 2


def test_a_concurrent_run_that_inserted_first_wins(meeting, people):
    """The unique row decides, not the list read at the start of the run: a reminder recorded by
    another run in between is skipped inside a savepoint, and the transaction goes on."""
    with at(START - datetime.timedelta(hours=5)):
        Reminder.objects.create(kind="meeting", object_id=meeting.pk, offset="1d", recipient=people.police_hilden)
        with transaction.atomic():
            sent = services._remind("meeting", meeting, "1d", people.police_hilden, set())
            assert sent == 0
            assert Meeting.objects.filter(pk=meeting.pk).exists()  # the transaction is still usable
        assert reminders().count() == 0
        with pytest.raises(IntegrityError), transaction.atomic():
            Reminder.objects.create(kind="meeting", object_id=meeting.pk, offset="1d", recipient=people.police_hilden)


@override_settings(MEETING_REMINDER_OFFSETS=["2h"])
def test_offsets_are_configurable(meeting):
    with at(START - datetime.timedelta(days=1)):
        assert services.reminders_send() == 0
    with at(START - datetime.timedelta(hours=2)):
        assert services.reminders_send() == 2
    assert set(Reminder.objects.values_list("offset", flat=True)) == {"2h"}


def test_hospitation_reminded_the_day_before_to_visitor_and_host_person(people):
    day = datetime.date(2026, 7, 14)
    h = Hospitation.objects.create(
        requester=people.police_hilden, requester_agency=Agency.objects.get(code="PW-HIL"),
        host_agency=Agency.objects.get(code="JA-HIL"), purpose="Einblick", status=HospitationStatus.APPROVED,
        date=day, host_person=people.caseworker_hilden,
    )  # fmt: skip
    with at(datetime.datetime(2026, 7, 7, 9, 0, tzinfo=BERLIN)):  # a week before: only the day before counts
        assert services.reminders_send() == 0
    with at(datetime.datetime(2026, 7, 13, 8, 5, tzinfo=BERLIN)):
        assert services.reminders_send() == 2
        assert services.reminders_send() == 0
    assert set(reminders("reminder_hospitation").values_list("recipient_user", flat=True)) == {
        people.police_hilden.pk,
        people.caseworker_hilden.pk,
    }
    assert set(Reminder.objects.filter(kind="hospitation", object_id=h.pk).values_list("offset", flat=True)) == {"1d"}


def test_event_reminds_registered_people_only(people):
    with at(datetime.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)):
        event = services.event_create(
            user=people.lead_hilden, host_agency=Agency.objects.get(code="JA-HIL"), title="Fortbildung",
            description="", audience="both", start=START, end=START + datetime.timedelta(hours=2), place="Hilden",
            capacity=1, registration_deadline=START - datetime.timedelta(days=2),
        )  # fmt: skip
        services.event_register(event=event, user=people.police_hilden)
        services.event_register(event=event, user=people.police_velbert)  # waiting list
    with at(START - datetime.timedelta(days=7)):
        assert services.reminders_send() == 1
    with at(START - datetime.timedelta(days=1)):
        assert services.reminders_send() == 1
        assert services.reminders_send() == 0
    assert set(reminders("reminder_event").values_list("recipient_user", flat=True)) == {people.police_hilden.pk}


def test_open_action_items_remind_their_owner(meeting, people):
    item = ActionItem.objects.create(
        meeting=meeting, title="Liste abgleichen", owner=people.caseworker_hilden, due_on=datetime.date(2026, 8, 1)
    )
    done = ActionItem.objects.create(
        meeting=meeting,
        title="Erledigt",
        owner=people.police_hilden,
        due_on=datetime.date(2026, 8, 1),
        done_at=datetime.datetime(2026, 7, 20, tzinfo=BERLIN),
    )
    Meeting.objects.filter(pk=meeting.pk).update(status=MeetingStatus.HELD)
    with at(datetime.datetime(2026, 7, 25, 8, 30, tzinfo=BERLIN)):
        assert services.reminders_send() == 1
        assert services.reminders_send() == 0
    with at(datetime.datetime(2026, 7, 31, 8, 30, tzinfo=BERLIN)):
        assert services.reminders_send() == 1
    assert set(Reminder.objects.filter(kind="action_item").values_list("object_id", flat=True)) == {item.pk}
    assert done.pk not in set(Reminder.objects.values_list("object_id", flat=True).filter(kind="action_item"))
    text = reminders("reminder_action_item").first()
    assert "Liste abgleichen" not in text.body  # the free text stays in the application
