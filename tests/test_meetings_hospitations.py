"""Hospitations: the other side hosts, the host's lead decides, capacity per day under a lock,
confirmation with .ics, decline with reason, completion with feedback."""

import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings

from agencies.models import Agency
from meetings import services
from meetings.models import Hospitation, HospitationStatus, HostCapacity
from notifications.models import Channel, Notification

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=BERLIN)
VISIT_DAY = datetime.date(2026, 6, 10)

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def people(personas):
    for user in vars(personas).values():
        user.email = f"{user.username}@example.org"
        user.save()
    return personas


def agency(code):
    return Agency.objects.get(code=code)


def request_visit(user, host_code="JA-HIL", dates=(VISIT_DAY,)):
    return services.hospitation_request(
        user=user, host_agency=agency(host_code), wished_dates=list(dates), purpose="Abläufe kennenlernen"
    )


def test_request_goes_to_the_other_side_and_tells_the_hosts_leads(people):
    h = request_visit(people.police_hilden, dates=[VISIT_DAY, datetime.date(2026, 6, 9)])
    assert h.requester_agency == agency("PW-HIL")  # from the membership, not the request
    assert h.status == HospitationStatus.REQUESTED
    assert h.wished_dates == ["2026-06-09", "2026-06-10"]
    told = Notification.objects.filter(kind="hospitation_requested")
    assert set(told.filter(channel=Channel.IN_APP).values_list("recipient_user", flat=True)) == {people.lead_hilden.pk}
    assert set(told.filter(channel=Channel.EMAIL).values_list("recipient_email", flat=True)) == {
        people.lead_hilden.email
    }

    # A youth-office caseworker asks a police station: the police coordinator of the authority decides.
    h2 = request_visit(people.caseworker_velbert, host_code="PW-VEL")
    assert h2.requester_agency == agency("JA-VEL")
    leads = Notification.objects.filter(kind="hospitation_requested", recipient_user__isnull=False)
    assert set(leads.values_list("recipient_user", flat=True)) == {people.lead_hilden.pk, people.police_coordinator.pk}


@pytest.mark.parametrize(
    ("persona", "host", "field"),
    [
        ("police_hilden", "PW-VEL", "host_agency"),  # police to police
        ("police_hilden", "KPB-ME", "host_agency"),
        ("caseworker_hilden", "JA-VEL", "host_agency"),  # office to office
        ("caseworker_hilden", "KOORD", "host_agency"),  # the coordination office is no side
    ],
)
def test_the_host_must_be_of_the_other_side(people, persona, host, field):
    with pytest.raises(ValidationError) as error:
        request_visit(getattr(people, persona), host_code=host)
    assert field in error.value.message_dict


def test_request_input_and_rights(people):
    with pytest.raises(PermissionDenied):
        request_visit(people.district_coordinator)
    with pytest.raises(PermissionDenied):
        request_visit(people.no_role)
    for dates in (
        [],
        [NOW.date()],
        [datetime.date(2026, 5, 1)],
        [VISIT_DAY + datetime.timedelta(days=i) for i in range(6)],
        [datetime.date(9999, 6, 9)],  # beyond the two years of planning (QA of 2026-12-05)
    ):
        with pytest.raises(ValidationError) as error:
            request_visit(people.police_hilden, dates=dates)
        assert "wished_dates" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        services.hospitation_request(
            user=people.police_hilden, host_agency=agency("JA-HIL"), wished_dates=[VISIT_DAY], purpose=" "
        )
    assert "purpose" in error.value.message_dict


@pytest.mark.parametrize("persona", ["caseworker_hilden", "lead_velbert", "police_coordinator", "district_coordinator"])
def test_only_the_host_lead_approves_or_declines(people, persona):
    h = request_visit(people.police_hilden)
    user = getattr(people, persona)
    with pytest.raises(PermissionDenied):
        services.hospitation_approve(hospitation=h, user=user, date=VISIT_DAY, host_person=people.caseworker_hilden)
    with pytest.raises(PermissionDenied):
        services.hospitation_decline(hospitation=h, user=user, reason="Keine Kapazität")


def test_approval_confirms_with_calendar_entry(people):
    h = request_visit(people.police_hilden)
    with pytest.raises(ValidationError) as error:  # the host person must work for the host agency
        services.hospitation_approve(
            hospitation=h, user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_velbert
        )
    assert "host_person" in error.value.message_dict
    with pytest.raises(ValidationError):
        services.hospitation_approve(
            hospitation=h, user=people.lead_hilden, date=NOW.date(), host_person=people.caseworker_hilden
        )
    for far in (datetime.date(9999, 12, 31), NOW.date().replace(year=NOW.year + 3)):  # 9999 was a 500 (QA)
        with pytest.raises(ValidationError) as error:
            services.hospitation_approve(
                hospitation=h, user=people.lead_hilden, date=far, host_person=people.caseworker_hilden
            )
        assert list(error.value.message_dict) == ["date"]
    services.hospitation_approve(
        hospitation=h, user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_hilden
    )
    h.refresh_from_db()
    assert (h.status, h.date, h.host_person) == (HospitationStatus.APPROVED, VISIT_DAY, people.caseworker_hilden)
    mails = Notification.objects.filter(channel=Channel.EMAIL, kind="hospitation_approved")
    assert {m.recipient_email for m in mails} == {people.police_hilden.email, people.caseworker_hilden.email}
    cal = icalendar.Calendar.from_ical(mails[0].attachment_content)
    event = cal.walk("VEVENT")[0]
    assert str(cal["METHOD"]) == "REQUEST" and str(event["UID"]) == str(h.uid) and int(event["SEQUENCE"]) == 0
    assert event.decoded("DTSTART") == VISIT_DAY and event.decoded("DTEND") == VISIT_DAY + datetime.timedelta(days=1)
    with pytest.raises(ValidationError):  # decided already
        services.hospitation_approve(
            hospitation=h, user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_hilden
        )

    # The police coordinator approves visits to the authority's stations.
    h2 = request_visit(people.caseworker_hilden, host_code="PW-HIL")
    services.hospitation_approve(
        hospitation=h2, user=people.police_coordinator, date=VISIT_DAY, host_person=people.police_hilden2
    )
    assert Hospitation.objects.get(pk=h2.pk).status == HospitationStatus.APPROVED
    for notification in Notification.objects.all():
        for user in vars(people).values():
            assert user.username not in f"{notification.subject} {notification.body}"


def test_capacity_per_host_and_day(people):
    requests = [request_visit(people.police_hilden) for _ in range(3)]
    approve = services.hospitation_approve
    approve(hospitation=requests[0], user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_hilden)
    approve(hospitation=requests[1], user=people.lead_hilden, date=VISIT_DAY, host_person=people.lead_hilden)
    with pytest.raises(ValidationError) as error:  # HOSPITATION_MAX_PER_DAY = 2
        approve(hospitation=requests[2], user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_hilden)
    assert "date" in error.value.message_dict
    assert Hospitation.objects.get(pk=requests[2].pk).status == HospitationStatus.REQUESTED
    # Another day, or another host, is free.
    approve(
        hospitation=requests[2],
        user=people.lead_hilden,
        date=VISIT_DAY + datetime.timedelta(days=1),
        host_person=people.caseworker_hilden,
    )
    # An agency's own number wins over the setting; the setting is read at run time.
    HostCapacity.objects.create(agency=agency("JA-VEL"), max_visitors_per_day=1)
    first, second = (request_visit(people.police_velbert, host_code="JA-VEL") for _ in range(2))
    approve(hospitation=first, user=people.lead_velbert, date=VISIT_DAY, host_person=people.caseworker_velbert)
    with pytest.raises(ValidationError):
        approve(hospitation=second, user=people.lead_velbert, date=VISIT_DAY, host_person=people.caseworker_velbert)
    with override_settings(HOSPITATION_MAX_PER_DAY=1):
        third = request_visit(people.police_hilden2)
        with pytest.raises(ValidationError):
            approve(
                hospitation=third,
                user=people.lead_hilden,
                date=VISIT_DAY + datetime.timedelta(days=1),
                host_person=people.caseworker_hilden,
            )


def test_decline_needs_a_reason_and_withdrawing_an_approval_cancels_the_entry(people):
    h = request_visit(people.police_hilden)
    with pytest.raises(ValidationError) as error:
        services.hospitation_decline(hospitation=h, user=people.lead_hilden, reason="  ")
    assert "reason" in error.value.message_dict
    services.hospitation_decline(hospitation=h, user=people.lead_hilden, reason="Umzug der Abteilung")
    h.refresh_from_db()
    assert (h.status, h.decline_reason) == (HospitationStatus.DECLINED, "Umzug der Abteilung")
    declined = Notification.objects.filter(kind="hospitation_declined")
    assert set(declined.values_list("recipient_user", flat=True)) == {people.police_hilden.pk, None}
    assert all("Umzug" not in n.body for n in declined)

    h2 = request_visit(people.police_hilden)
    services.hospitation_approve(
        hospitation=h2, user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_hilden
    )
    Notification.objects.all().delete()
    services.hospitation_decline(hospitation=h2, user=people.lead_hilden, reason="Krankheit")
    mails = Notification.objects.filter(channel=Channel.EMAIL)
    assert {m.recipient_email for m in mails} == {people.police_hilden.email, people.caseworker_hilden.email}
    cal = icalendar.Calendar.from_ical(mails[0].attachment_content)
    assert str(cal["METHOD"]) == "CANCEL"
    assert int(cal.walk("VEVENT")[0]["SEQUENCE"]) == 1
    for mail in mails:  # the host person never asked: "abgesagt", not "Ihre Anfrage … abgelehnt" (QA)
        assert "abgesagt" in mail.subject and "Anfrage" not in mail.subject + mail.body, mail.subject
    # The day is free again.
    h3 = request_visit(people.police_hilden)
    services.hospitation_approve(
        hospitation=h3, user=people.lead_hilden, date=VISIT_DAY, host_person=people.lead_hilden
    )


def test_completion_after_the_day_by_visitor_or_host_person(people):
    h = request_visit(people.police_hilden)
    services.hospitation_approve(
        hospitation=h, user=people.lead_hilden, date=VISIT_DAY, host_person=people.caseworker_hilden
    )
    with pytest.raises(ValidationError):  # before the day
        services.hospitation_complete(hospitation=h, user=people.police_hilden, feedback="gut")
    with time_machine.travel(datetime.datetime(2026, 6, 10, 16, 0, tzinfo=BERLIN), tick=False):
        with pytest.raises(PermissionDenied):
            services.hospitation_complete(hospitation=h, user=people.lead_hilden, feedback="gut")
        with pytest.raises(ValidationError):
            services.hospitation_complete(hospitation=h, user=people.police_hilden, feedback=" ")
        services.hospitation_complete(hospitation=h, user=people.caseworker_hilden, feedback="Sehr hilfreich.")
    h.refresh_from_db()
    assert (h.status, h.feedback) == (HospitationStatus.COMPLETED, "Sehr hilfreich.")
    with pytest.raises(ValidationError):
        services.hospitation_complete(hospitation=h, user=people.police_hilden, feedback="nochmal")
