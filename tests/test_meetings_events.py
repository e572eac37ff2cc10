"""Information events: who offers them, registration, waiting list moving up, the last-seat race
with two real concurrent transactions."""

import datetime
import threading
import time
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections

from agencies.models import Agency, Membership, Role
from agencies.services import district_seed
from meetings import services
from meetings.models import Audience, InfoEvent, Registration, RegistrationStatus
from notifications.models import Channel, Notification

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)


def local(*args):
    return datetime.datetime(*args, tzinfo=BERLIN)


def make_event(user, *, host="JA-HIL", capacity=1, audience=Audience.BOTH, **overrides):
    args = {
        "user": user,
        "host_agency": Agency.objects.get(code=host),
        "title": "Kinderschutz für Einsatzkräfte",
        "description": "Was das Jugendamt nach einer Mitteilung tut.",
        "audience": audience,
        "start": local(2026, 6, 20, 9, 0),
        "end": local(2026, 6, 20, 12, 0),
        "place": "Rathaus Hilden",
        "capacity": capacity,
        "registration_deadline": local(2026, 6, 15, 23, 59),
    }
    args.update(overrides)
    return services.event_create(**args)


@pytest.fixture
def people(personas):
    for user in vars(personas).values():
        user.email = f"{user.username}@example.org"
        user.save()
    return personas


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def status_of(event, user):
    return Registration.objects.get(event=event, person=user).status


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("persona", ["caseworker_hilden", "police_hilden", "lead_velbert", "no_role"])
def test_only_a_host_lead_or_the_coordinator_offers_events(people, persona):
    with pytest.raises(PermissionDenied):
        make_event(getattr(people, persona))


@pytest.mark.usefixtures("frozen")
def test_event_input_is_checked(people):
    assert make_event(people.lead_hilden).host_agency.code == "JA-HIL"
    assert make_event(people.police_coordinator, host="PW-VEL").host_agency.code == "PW-VEL"
    assert make_event(people.district_coordinator, host="JA-VEL").host_agency.code == "JA-VEL"
    with pytest.raises(ValidationError) as error:
        make_event(
            people.lead_hilden,
            capacity=0,
            audience="everyone",
            end=local(2026, 6, 20, 8, 0),
            registration_deadline=local(2026, 6, 21, 0, 0),
        )
    assert {"capacity", "audience"} <= error.value.message_dict.keys()
    with pytest.raises(ValidationError) as error:
        make_event(people.lead_hilden, end=local(2026, 6, 20, 8, 0), registration_deadline=local(2026, 6, 21, 0, 0))
    assert {"end", "registration_deadline"} <= error.value.message_dict.keys()
    with pytest.raises(ValidationError) as error:
        make_event(people.lead_hilden, start=local(2026, 5, 20, 9, 0))
    assert "start" in error.value.message_dict


@pytest.mark.usefixtures("frozen")
def test_an_event_lies_within_two_years_and_lasts_at_most_a_week(people):
    """QA of 2026-12-05: events were taken up to the year 9999, and of any length."""
    far = {"start": local(9999, 6, 20, 9, 0), "end": local(9999, 6, 20, 12, 0)}
    with pytest.raises(ValidationError) as error:
        make_event(people.lead_hilden, **far, registration_deadline=local(9999, 6, 15, 23, 59))
    assert list(error.value.message_dict) == ["start"]
    with pytest.raises(ValidationError) as error:
        make_event(people.lead_hilden, end=local(2026, 6, 27, 12, 1))
    assert list(error.value.message_dict) == ["end"]
    assert make_event(people.lead_hilden, end=local(2026, 6, 22, 17, 0))  # a three-day course


@pytest.mark.usefixtures("frozen")
def test_waitlist_moves_up_on_cancellation(people):
    event = make_event(people.lead_hilden, capacity=1)
    first, second, third = people.police_hilden, people.police_velbert, people.police_hilden2
    assert services.event_register(event=event, user=first).status == RegistrationStatus.REGISTERED
    assert services.event_register(event=event, user=second).status == RegistrationStatus.WAITLISTED
    assert services.event_register(event=event, user=third).status == RegistrationStatus.WAITLISTED
    # Registering twice changes nothing.
    assert services.event_register(event=event, user=first).status == RegistrationStatus.REGISTERED
    assert Registration.objects.filter(event=event).count() == 3

    Notification.objects.all().delete()
    services.event_cancel_registration(event=event, user=first)
    assert status_of(event, first) == RegistrationStatus.CANCELLED
    assert status_of(event, second) == RegistrationStatus.REGISTERED  # first in the queue
    assert status_of(event, third) == RegistrationStatus.WAITLISTED
    promoted = Notification.objects.get(channel=Channel.EMAIL, kind="event_promoted")
    assert promoted.recipient_email == second.email
    cal = icalendar.Calendar.from_ical(promoted.attachment_content)
    assert str(cal["METHOD"]) == "REQUEST" and str(cal.walk("VEVENT")[0]["UID"]) == str(event.uid)
    cancelled = Notification.objects.get(channel=Channel.EMAIL, kind="event_cancelled")
    assert cancelled.recipient_email == first.email
    assert str(icalendar.Calendar.from_ical(cancelled.attachment_content)["METHOD"]) == "CANCEL"
    assert Notification.objects.filter(channel=Channel.IN_APP, kind="event_promoted", recipient_user=second).exists()

    # The one who cancelled comes back at the end of the queue.
    assert services.event_register(event=event, user=first).status == RegistrationStatus.WAITLISTED
    services.event_cancel_registration(event=event, user=second)
    assert status_of(event, third) == RegistrationStatus.REGISTERED
    assert status_of(event, first) == RegistrationStatus.WAITLISTED
    # Leaving the waiting list frees no seat and promotes nobody.
    services.event_cancel_registration(event=event, user=first)
    assert status_of(event, third) == RegistrationStatus.REGISTERED
    with pytest.raises(ValidationError):
        services.event_cancel_registration(event=event, user=first)


@pytest.mark.usefixtures("frozen")
def test_registration_rules(people):
    police_only = make_event(people.lead_hilden, audience=Audience.POLICE, capacity=5)
    with pytest.raises(PermissionDenied):  # not offered to youth-office staff of other offices
        services.event_register(event=police_only, user=people.caseworker_velbert)
    with pytest.raises(PermissionDenied):
        services.event_register(event=police_only, user=people.no_role)
    services.event_register(event=police_only, user=people.police_velbert)
    services.event_register(event=police_only, user=people.caseworker_hilden)  # the host's own people
    InfoEvent.objects.filter(pk=police_only.pk).update(is_cancelled=True)
    with pytest.raises(ValidationError):
        services.event_register(event=police_only, user=people.police_hilden)

    event = make_event(people.lead_hilden, capacity=5)
    with time_machine.travel(local(2026, 6, 16, 0, 0), tick=False):  # after the deadline
        with pytest.raises(ValidationError) as error:
            services.event_register(event=event, user=people.police_hilden)
        assert "registration_deadline" in error.value.message_dict


@pytest.mark.usefixtures("frozen")
def test_waitlisted_people_get_no_calendar_entry_and_texts_carry_no_names(people):
    event = make_event(people.lead_hilden, capacity=1)
    services.event_register(event=event, user=people.police_hilden)
    services.event_register(event=event, user=people.police_velbert)
    waitlisted = Notification.objects.get(channel=Channel.EMAIL, kind="event_waitlisted")
    assert waitlisted.attachment_content == ""
    registered = Notification.objects.get(channel=Channel.EMAIL, kind="event_registered")
    event_entry = icalendar.Calendar.from_ical(registered.attachment_content).walk("VEVENT")[0]
    assert str(event_entry["SUMMARY"]) == event.title
    for notification in Notification.objects.all():
        for user in vars(people).values():
            assert user.username not in f"{notification.subject} {notification.body}"


# --- the last seat, raced for by two transactions at once ----------------------------------------


def _racer(event_id, user_id, barrier, results, index):
    try:
        event = InfoEvent.objects.get(pk=event_id)
        user = get_user_model().objects.get(pk=user_id)
        barrier.wait(timeout=10)
        results[index] = services.event_register(event=event, user=user).status
    except Exception as exc:  # noqa: BLE001 - reported by the test
        results[index] = exc
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_registrations_for_the_last_seat(monkeypatch):
    """Two threads, two database connections, one seat: the event row is locked before the seats are
    counted, so exactly one registers and the other waits and lands on the waiting list. The pause
    between lock and count widens the window a missing lock would let both through."""
    with time_machine.travel(NOW, tick=True):
        district_seed(slug="mettmann")
        hilden = Agency.objects.get(code="JA-HIL")
        lead = get_user_model().objects.create_user(username="lead", password="x")
        Membership.objects.create(user=lead, agency=hilden, role=Role.OFFICE_LEAD)
        racers = []
        for name in ("racer_a", "racer_b"):
            user = get_user_model().objects.create_user(username=name, password="x", email=f"{name}@example.org")
            Membership.objects.create(user=user, agency=Agency.objects.get(code="PW-HIL"), role=Role.POLICE_OFFICER)
            racers.append(user)
        event = make_event(lead, capacity=1)

        original = services._promote_waitlist

        def slow_promote(locked_event):
            promoted = original(locked_event)
            time.sleep(0.3)
            return promoted

        monkeypatch.setattr(services, "_promote_waitlist", slow_promote)
        barrier = threading.Barrier(2)
        results = [None, None]
        threads = [
            threading.Thread(target=_racer, args=(event.pk, user.pk, barrier, results, i))
            for i, user in enumerate(racers)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert not any(isinstance(r, Exception) for r in results), results
    assert sorted(results) == [RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]
    assert Registration.objects.filter(event=event, status=RegistrationStatus.REGISTERED).count() == 1
    assert Registration.objects.filter(event=event, status=RegistrationStatus.WAITLISTED).count() == 1
