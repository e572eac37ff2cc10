"""The on-call safety net (issue 9 §1, docs/domain.md "Sofort-Fälle"): every immediate referral has
an awake owner from the first second — in triage, after assignment, during a hand-over and after a
re-rating — with frozen clocks. Each alert is one outbox row, in the case history, without a name
or a phone number."""

import datetime

import pytest

from agencies.models import Agency
from notifications.models import Channel, Notification
from referrals import selectors
from referrals.access import referral_access
from referrals.clocks import LOCAL_TZ
from referrals.escalation import referrals_escalate
from referrals.models import Escalation, Referral, ReferralEvent, Status
from referrals.services import (
    referral_accept,
    referral_acknowledge,
    referral_assign_office,
    referral_forward,
    referral_rerate,
    referral_return,
)
from tests.factories import make_referral

FRIDAY_NIGHT = datetime.datetime(2026, 6, 12, 22, 13, tzinfo=LOCAL_TZ)  # a Friday
MINUTE = datetime.timedelta(minutes=1)
HOUR = datetime.timedelta(hours=1)
COORD_ONCALL = "rufbereitschaft-kinderschutz@kreis-mettmann.example"
COORD_MAILBOX = "koordination-kinderschutz@kreis-mettmann.example"
HILDEN_ONCALL = "rufbereitschaft@jugendamt-hilden.example"
VELBERT_ONCALL = "rufbereitschaft@jugendamt-velbert.example"
NAMES = ("Mia", "Tom", "Beispiel", "Mittelstraße")


def oncall_mails(cause=None):
    kinds = [f"oncall_{cause}"] if cause else None
    qs = Notification.objects.filter(channel=Channel.EMAIL, kind__startswith="oncall_")
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return sorted(qs.values_list("recipient_email", flat=True))


def alerted_events(referral):
    return list(ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.ALERTED).order_by("at", "id"))


def escalation_mails(kind):
    qs = Notification.objects.filter(kind=f"referral_{kind}", channel=Channel.EMAIL)
    return sorted(qs.values_list("recipient_email", flat=True))


def escalation_users(kind):
    qs = Notification.objects.filter(kind=f"referral_{kind}", channel=Channel.IN_APP)
    return set(qs.values_list("recipient_user__username", flat=True))


def assert_no_names_or_numbers():
    """No child or family name, no address and no on-call phone number in any message."""
    numbers = [n for n in Agency.objects.values_list("oncall_phone", flat=True) if n]
    assert numbers  # the seed has on-call numbers: the check below is not vacuous
    for notification in Notification.objects.all():
        text = notification.subject + notification.body + notification.link
        for secret in (*NAMES, *numbers):
            assert secret not in text, (notification.kind, secret)


@pytest.fixture
def night_triage(personas, time_machine):
    """Friday 22:13: an immediate referral for an address outside the district → triage."""
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="10115", city="Berlin")
    assert referral.status == Status.TRIAGE
    return referral


def test_immediate_to_triage_alerts_the_coordination_on_call_at_once(night_triage, personas):
    referral = night_triage
    assert oncall_mails("triage") == [COORD_ONCALL]
    # the coordinator in the application, the coordination office's functional mailbox too
    triage = Notification.objects.filter(kind="referral_triage")
    assert set(triage.filter(channel=Channel.IN_APP).values_list("recipient_user", flat=True)) == {
        personas.district_coordinator.pk
    }
    assert list(triage.filter(channel=Channel.EMAIL).values_list("recipient_email", flat=True)) == [COORD_MAILBOX]
    assert "23:13" in triage.first().body  # the triage deadline, in local time
    # the coordinator's clock: 1 hour, round the clock (a Friday night)
    assert referral.due_at == FRIDAY_NIGHT + HOUR
    assert referral.received_at is None
    [event] = alerted_events(referral)
    coordination = Agency.objects.get(code="KOORD")
    assert event.data == {"to_office": coordination.pk, "cause": "triage", "mailbox": "oncall"}
    assert_no_names_or_numbers()


def test_missed_triage_clock_escalates_once(night_triage, personas, time_machine):
    referral = night_triage
    time_machine.move_to(FRIDAY_NIGHT + HOUR - MINUTE, tick=False)
    assert referrals_escalate() == 0
    time_machine.move_to(FRIDAY_NIGHT + HOUR + MINUTE, tick=False)
    assert referrals_escalate() == 1
    assert referrals_escalate() == 0  # the beat job runs again: nothing more
    [row] = Escalation.objects.filter(referral=referral)
    assert row.kind == Escalation.Kind.TRIAGE_OVERDUE and row.due_at == FRIDAY_NIGHT + HOUR
    assert escalation_mails(Escalation.Kind.TRIAGE_OVERDUE) == sorted([COORD_ONCALL, COORD_MAILBOX])
    assert escalation_users(Escalation.Kind.TRIAGE_OVERDUE) == {"district_coordinator"}
    assert ReferralEvent.objects.filter(referral=referral, kind=ReferralEvent.Kind.ESCALATED).count() == 1
    time_machine.move_to(FRIDAY_NIGHT + 5 * HOUR, tick=False)
    assert referrals_escalate() == 0
    assert_no_names_or_numbers()


def test_triage_clock_is_a_setting_of_the_coordination_office(personas, time_machine):
    Agency.objects.filter(code="KOORD").update(clock_triage_hours=2)
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="40721", city="Düsseldorf")
    assert referral.status == Status.TRIAGE and referral.due_at == FRIDAY_NIGHT + 2 * HOUR


def test_urgent_triage_has_no_clock_and_no_on_call_alert(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="urgent", postcode="10115", city="Berlin")
    assert referral.status == Status.TRIAGE and referral.due_at is None
    assert oncall_mails() == [] and alerted_events(referral) == []
    time_machine.move_to(FRIDAY_NIGHT + 3 * HOUR, tick=False)
    assert referrals_escalate() == 0


def test_assignment_alerts_the_office_on_call_and_starts_the_clock(night_triage, personas, time_machine):
    referral = night_triage
    assigned_at = FRIDAY_NIGHT.replace(hour=23, minute=5)
    time_machine.move_to(assigned_at, tick=False)
    hilden = Agency.objects.get(code="JA-HIL")
    referral_assign_office(referral=referral, user=personas.district_coordinator, office=hilden)
    referral.refresh_from_db()
    assert oncall_mails("assigned") == [HILDEN_ONCALL]
    assert referral.received_at == assigned_at and referral.due_at == assigned_at + HOUR
    events = alerted_events(referral)
    assert [e.data["cause"] for e in events] == ["triage", "assigned"]
    assert events[1].data["to_office"] == hilden.pk and events[1].actor == personas.district_coordinator
    # The triage clock is done: no triage escalation after 23:13; the office's hour runs from 23:05.
    time_machine.move_to(assigned_at + HOUR - MINUTE, tick=False)
    assert referrals_escalate() == 0
    time_machine.move_to(assigned_at + HOUR + MINUTE, tick=False)
    kinds = set()
    assert referrals_escalate() == 2  # overdue (lead, mailbox) and immediate (on-call, lead)
    kinds = set(Escalation.objects.filter(referral=referral).values_list("kind", flat=True))
    assert kinds == {Escalation.Kind.OVERDUE, Escalation.Kind.IMMEDIATE_UNACKNOWLEDGED}
    assert referrals_escalate() == 0
    assert_no_names_or_numbers()


def test_directly_routed_immediate_referral_alerts_once_and_is_in_the_history(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="40723", city="Hilden")
    assert referral.status == Status.SUBMITTED
    assert oncall_mails() == [HILDEN_ONCALL]
    assert [e.data["cause"] for e in alerted_events(referral)] == ["received"]
    timeline = selectors.timeline_for(referral_access(personas.caseworker_hilden, referral))
    assert ReferralEvent.Kind.ALERTED in {e.kind for e in timeline}


@pytest.fixture
def immediate_hilden(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="40723", city="Hilden")
    Notification.objects.all().delete()
    ReferralEvent.objects.filter(kind=ReferralEvent.Kind.ALERTED).delete()
    return referral


def test_forwarding_an_unacknowledged_immediate_case_alerts_the_receiving_on_call(
    immediate_hilden, personas, time_machine
):
    referral = immediate_hilden
    time_machine.move_to(FRIDAY_NIGHT + 20 * MINUTE, tick=False)
    velbert = Agency.objects.get(code="JA-VEL")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    referral.refresh_from_db()
    assert oncall_mails("forwarded") == [VELBERT_ONCALL]
    assert referral.due_at == FRIDAY_NIGHT + HOUR  # the clock keeps running
    [event] = alerted_events(referral)
    assert event.data["to_office"] == velbert.pk and event.data["cause"] == "forwarded"
    # Both offices see it as theirs while the hand-over is pending.
    assert selectors.inbox_for(personas.caseworker_hilden).filter(pk=referral.pk).exists()
    assert selectors.inbox_for(personas.caseworker_velbert).filter(pk=referral.pk).exists()
    # Neither accepted nor returned within the clock: both leads, once.
    time_machine.move_to(FRIDAY_NIGHT + HOUR + MINUTE, tick=False)
    assert referrals_escalate() == 1
    assert referrals_escalate() == 0
    pending = Escalation.Kind.FORWARD_PENDING
    assert escalation_users(pending) == {"lead_hilden", "lead_velbert"}
    assert VELBERT_ONCALL in escalation_mails(pending)
    assert_no_names_or_numbers()


def test_accepting_or_returning_in_time_stops_the_hand_over_escalation(immediate_hilden, personas, time_machine):
    referral = immediate_hilden
    velbert = Agency.objects.get(code="JA-VEL")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    referral_return(referral=referral, user=personas.caseworker_velbert, reason="nicht zuständig")
    time_machine.move_to(FRIDAY_NIGHT + HOUR + MINUTE, tick=False)
    referrals_escalate()
    assert not Escalation.objects.filter(kind=Escalation.Kind.FORWARD_PENDING).exists()
    # returned, still not acknowledged: the sending office's own escalation applies again
    assert Escalation.objects.filter(referral=referral, kind=Escalation.Kind.IMMEDIATE_UNACKNOWLEDGED).exists()


def test_forwarding_an_acknowledged_immediate_case_starts_a_hand_over_clock(immediate_hilden, personas, time_machine):
    referral = immediate_hilden
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    forwarded_at = FRIDAY_NIGHT + 3 * HOUR
    time_machine.move_to(forwarded_at, tick=False)
    velbert = Agency.objects.get(code="JA-VEL")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    referral.refresh_from_db()
    assert oncall_mails("forwarded") == [VELBERT_ONCALL]
    assert referral.due_at == forwarded_at + HOUR
    time_machine.move_to(forwarded_at + HOUR + MINUTE, tick=False)
    assert referrals_escalate() == 1
    assert referrals_escalate() == 0
    referral_accept(referral=referral, user=personas.caseworker_velbert)
    time_machine.move_to(forwarded_at + 5 * HOUR, tick=False)
    assert referrals_escalate() == 0


def test_forwarding_a_routine_case_in_time_alerts_no_on_call(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="routine", postcode="40723", city="Hilden")
    velbert = Agency.objects.get(code="JA-VEL")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    assert oncall_mails() == []


def test_forwarding_an_overdue_case_alerts_the_receiving_on_call(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="urgent", postcode="40723", city="Hilden")
    time_machine.move_to(referral.due_at + HOUR, tick=False)
    velbert = Agency.objects.get(code="JA-VEL")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    assert oncall_mails("forwarded") == [VELBERT_ONCALL]
    time_machine.move_to(referral.due_at + 2 * HOUR, tick=False)
    assert referrals_escalate() == 1  # pending past its (running) clock: both leads
    assert escalation_users(Escalation.Kind.FORWARD_PENDING) == {"lead_hilden", "lead_velbert"}


def test_rerating_to_immediate_alerts_and_restarts_the_clock(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="routine", postcode="40723", city="Hilden")
    rerated_at = FRIDAY_NIGHT + 2 * HOUR
    time_machine.move_to(rerated_at, tick=False)
    referral_rerate(referral=referral, user=personas.caseworker_hilden, urgency="immediate", reason="Lage verschärft")
    referral.refresh_from_db()
    assert oncall_mails("rerated") == [HILDEN_ONCALL]
    assert referral.due_at == rerated_at + HOUR and referral.received_at == rerated_at
    assert [e.data["cause"] for e in alerted_events(referral)] == ["rerated"]
    time_machine.move_to(rerated_at + HOUR - MINUTE, tick=False)
    assert referrals_escalate() == 0  # the hour counts from the re-rating, not from the submission
    time_machine.move_to(rerated_at + HOUR + MINUTE, tick=False)
    assert referrals_escalate() == 2
    assert_no_names_or_numbers()


def test_rerating_an_acknowledged_case_alerts_nobody(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="routine", postcode="40723", city="Hilden")
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    referral_rerate(referral=referral, user=personas.caseworker_hilden, urgency="immediate", reason="Lage verschärft")
    assert oncall_mails() == []


def test_an_agency_without_on_call_mailbox_is_alerted_through_its_functional_mailbox(personas, time_machine):
    Agency.objects.filter(code="KOORD").update(oncall_email="")
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="immediate", postcode="10115", city="Berlin")
    assert oncall_mails("triage") == [COORD_MAILBOX]
    assert alerted_events(referral)[0].data["mailbox"] == "functional"


def test_assignment_of_a_non_immediate_triage_referral_alerts_no_on_call(personas, time_machine):
    time_machine.move_to(FRIDAY_NIGHT, tick=False)
    referral = make_referral(personas.police_hilden, urgency="routine", postcode="10115", city="Berlin")
    hilden = Agency.objects.get(code="JA-HIL")
    referral_assign_office(referral=referral, user=personas.district_coordinator, office=hilden)
    assert oncall_mails() == []
    assert Referral.objects.get(pk=referral.pk).status == Status.SUBMITTED
