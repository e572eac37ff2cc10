"""Escalation of missed clocks: to the office lead and mailbox, immediate ones to the on-call
mailbox; each once, with no name in any message."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agencies.models import Agency
from notifications.models import Channel, Notification
from referrals import escalation
from referrals.clocks import LOCAL_TZ, acknowledgement_due
from referrals.escalation import referrals_escalate
from referrals.models import Escalation, Referral, ReferralEvent, Status
from referrals.tasks import escalate_overdue
from tests.factories import make_referral

HILDEN_MAILBOX = "kinderschutz@jugendamt-hilden.example"
HILDEN_ONCALL = "rufbereitschaft@jugendamt-hilden.example"
OVERDUE = Escalation.Kind.OVERDUE
IMMEDIATE = Escalation.Kind.IMMEDIATE_UNACKNOWLEDGED
MONDAY = datetime.datetime(2026, 6, 8, 10, 0, tzinfo=LOCAL_TZ)
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def file_referral(personas, time_machine):
    """File a referral to Hilden at ``received_at`` (frozen time) with its deadline set by the clocks,
    independent of what the submission service sets itself."""

    def file(*, urgency="routine", received_at=MONDAY) -> Referral:
        time_machine.move_to(received_at, tick=False)
        referral = make_referral(personas.police_hilden, urgency=urgency)
        assert referral.youth_office.code == "JA-HIL"
        due_at = acknowledgement_due(office=referral.youth_office, urgency=urgency, received_at=received_at)
        Referral.objects.filter(pk=referral.pk).update(received_at=received_at, due_at=due_at)
        referral.refresh_from_db()
        return referral

    return file


def escalation_notifications(kind=None):
    kinds = [f"referral_{kind}"] if kind else [f"referral_{k}" for k in Escalation.Kind.values]
    return Notification.objects.filter(kind__in=kinds)


def in_app_recipients(kind):
    return set(escalation_notifications(kind).filter(channel=Channel.IN_APP).values_list("recipient_user", flat=True))


def mail_recipients(kind):
    emails = escalation_notifications(kind).filter(channel=Channel.EMAIL)
    return sorted(emails.values_list("recipient_email", flat=True))


def test_overdue_routine_referral_goes_to_the_lead_and_mailbox(personas, file_referral, time_machine):
    referral = file_referral(urgency="routine")
    assert referral.due_at == datetime.datetime(2026, 6, 11, 10, 0, tzinfo=LOCAL_TZ)  # Thursday
    time_machine.move_to(referral.due_at + MINUTE, tick=False)

    assert referrals_escalate() == 1

    escalation_row = Escalation.objects.get()
    assert (escalation_row.referral_id, escalation_row.kind, escalation_row.due_at) == (
        referral.pk,
        OVERDUE,
        referral.due_at,
    )
    event = ReferralEvent.objects.get(referral=referral, kind=ReferralEvent.Kind.ESCALATED)
    assert event.actor is None
    assert event.data["kind"] == OVERDUE
    assert datetime.datetime.fromisoformat(event.data["due_at"]) == referral.due_at
    # Only the lead of the receiving office: not its caseworker, not the other office.
    assert in_app_recipients(OVERDUE) == {personas.lead_hilden.pk}
    assert mail_recipients(OVERDUE) == [HILDEN_MAILBOX]
    assert not escalation_notifications(IMMEDIATE).exists()


def test_running_twice_escalates_once(file_referral, time_machine):
    referral = file_referral(urgency="urgent")
    time_machine.move_to(referral.due_at + MINUTE, tick=False)
    assert referrals_escalate() == 1
    notifications = escalation_notifications().count()

    time_machine.move_to(referral.due_at + datetime.timedelta(hours=5), tick=False)
    assert referrals_escalate() == 0
    assert Escalation.objects.count() == 1
    assert ReferralEvent.objects.filter(kind=ReferralEvent.Kind.ESCALATED).count() == 1
    assert escalation_notifications().count() == notifications == 2  # lead + mailbox


def test_a_run_racing_another_is_stopped_by_the_unique_escalation(file_referral, time_machine, monkeypatch):
    # As if a second worker had read the ids before the first one committed: the candidates no
    # longer leave out what is done, the unique constraint does.
    referral = file_referral(urgency="routine")
    time_machine.move_to(referral.due_at + MINUTE, tick=False)
    monkeypatch.setitem(
        escalation.CANDIDATES,
        OVERDUE,
        lambda now: escalation._unacknowledged().filter(due_at__lt=now).annotate(escalation_due=F("due_at")),
    )
    assert referrals_escalate() == 1
    assert referrals_escalate() == 0
    assert Escalation.objects.count() == 1
    assert ReferralEvent.objects.filter(kind=ReferralEvent.Kind.ESCALATED).count() == 1
    assert escalation_notifications().count() == 2


def test_acknowledged_referral_is_not_escalated(file_referral, time_machine):
    referral = file_referral(urgency="routine")
    Referral.objects.filter(pk=referral.pk).update(
        status=Status.ACKNOWLEDGED, acknowledged_at=referral.received_at + datetime.timedelta(hours=2)
    )
    time_machine.move_to(referral.due_at + datetime.timedelta(days=2), tick=False)
    assert referrals_escalate() == 0
    assert not Escalation.objects.exists()
    assert not escalation_notifications().exists()


@pytest.mark.parametrize("status", [Status.CLOSED, Status.FORWARDED])
def test_closed_or_forwarded_referral_is_not_escalated(file_referral, time_machine, status):
    referral = file_referral(urgency="routine")
    Referral.objects.filter(pk=referral.pk).update(status=status)
    time_machine.move_to(referral.due_at + datetime.timedelta(days=2), tick=False)
    assert referrals_escalate() == 0


def test_not_yet_due_is_not_escalated(file_referral, time_machine):
    referral = file_referral(urgency="routine")
    time_machine.move_to(referral.due_at - MINUTE, tick=False)
    assert referrals_escalate() == 0
    time_machine.move_to(referral.due_at, tick=False)  # at the deadline the clock is not yet missed
    assert referrals_escalate() == 0
    assert not Escalation.objects.exists()


def test_a_new_deadline_is_escalated_again(file_referral, time_machine):
    referral = file_referral(urgency="urgent")
    time_machine.move_to(referral.due_at + MINUTE, tick=False)
    assert referrals_escalate() == 1
    # Re-rated to routine: a new, later deadline that is missed too.
    new_due = acknowledgement_due(office=referral.youth_office, urgency="routine", received_at=referral.received_at)
    Referral.objects.filter(pk=referral.pk).update(urgency="routine", due_at=new_due)
    time_machine.move_to(new_due + MINUTE, tick=False)
    assert referrals_escalate() == 1
    assert sorted(Escalation.objects.values_list("due_at", flat=True)) == [referral.due_at, new_due]


def test_immediate_unacknowledged_after_an_hour_alerts_the_on_call_mailbox(
    personas, file_referral, time_machine, django_assert_num_queries
):
    # Saturday night, and a receipt time with microseconds as the database keeps it.
    received_at = datetime.datetime(2026, 6, 13, 23, 30, 12, 345678, tzinfo=LOCAL_TZ)
    referral = file_referral(urgency="immediate", received_at=received_at)
    time_machine.move_to(referral.received_at + datetime.timedelta(minutes=59), tick=False)
    assert referrals_escalate() == 0

    time_machine.move_to(referral.received_at + datetime.timedelta(minutes=61), tick=False)
    # With the default clock (1 hour) the office clock has run out at the same moment: two kinds.
    assert referrals_escalate() == 2
    escalation_row = Escalation.objects.get(kind=IMMEDIATE)
    assert escalation_row.due_at == referral.received_at + datetime.timedelta(hours=1)
    assert mail_recipients(IMMEDIATE) == [HILDEN_ONCALL]
    assert in_app_recipients(IMMEDIATE) == {personas.lead_hilden.pk}
    assert mail_recipients(OVERDUE) == [HILDEN_MAILBOX]
    assert in_app_recipients(OVERDUE) == {personas.lead_hilden.pk}

    time_machine.move_to(referral.received_at + datetime.timedelta(hours=3), tick=False)
    with django_assert_num_queries(4):  # one per kind (4): what is done is left out by the queries, not retried
        assert referrals_escalate() == 0


def test_on_call_is_alerted_after_an_hour_even_when_the_office_clock_is_longer(file_referral, time_machine):
    Agency.objects.filter(code="JA-HIL").update(clock_immediate_hours=4)
    referral = file_referral(urgency="immediate")
    assert referral.due_at == referral.received_at + datetime.timedelta(hours=4)

    time_machine.move_to(referral.received_at + datetime.timedelta(minutes=61), tick=False)
    assert referrals_escalate() == 1
    assert list(Escalation.objects.values_list("kind", flat=True)) == [IMMEDIATE]


def test_immediate_escalation_is_delivered_by_mail(file_referral, time_machine, django_capture_on_commit_callbacks):
    referral = file_referral(urgency="immediate")
    mail.outbox.clear()  # the notice of the new referral itself
    time_machine.move_to(referral.received_at + datetime.timedelta(minutes=61), tick=False)
    with django_capture_on_commit_callbacks(execute=True):
        referrals_escalate()
    assert sorted(m.to[0] for m in mail.outbox) == [HILDEN_MAILBOX, HILDEN_ONCALL]
    for message in mail.outbox:
        assert referral.reference in message.subject
        assert reverse("referrals:detail", args=[referral.pk]) in message.body


def test_notification_texts_carry_a_reference_and_link_but_no_name(file_referral, time_machine):
    referral = file_referral(urgency="immediate")
    time_machine.move_to(referral.due_at + datetime.timedelta(minutes=5), tick=False)
    referrals_escalate()
    notifications = list(escalation_notifications())
    assert len(notifications) == 4  # overdue: lead + mailbox; immediate: lead + on-call
    for notification in notifications:
        assert referral.reference in notification.subject
        assert notification.link == reverse("referrals:detail", args=[referral.pk])
        for name in ("Mia", "Tom", "Beispiel", "Mittelstraße"):
            assert name not in notification.subject + notification.body


def test_the_celery_task_escalates(file_referral, time_machine):
    referral = file_referral(urgency="routine")
    time_machine.move_to(referral.due_at + MINUTE, tick=False)
    assert settings.CELERY_TASK_ALWAYS_EAGER
    escalate_overdue.delay()
    assert Escalation.objects.filter(referral=referral, kind=OVERDUE).exists()


def test_beat_runs_the_job_every_minute_on_the_scheduling_queue():
    entry = settings.CELERY_BEAT_SCHEDULE["referrals-escalate-overdue"]
    assert entry["task"] == escalate_overdue.name == "referrals.tasks.escalate_overdue"
    assert entry["schedule"] == 60
    assert entry["options"] == {"expires": 60}
    assert settings.CELERY_TASK_ROUTES["referrals.tasks.*"] == {"queue": "scheduling"}


def test_queries_are_bounded(file_referral, time_machine, django_assert_num_queries):
    referrals = [file_referral(urgency="routine") for _ in range(3)]
    time_machine.move_to(referrals[0].due_at - MINUTE, tick=False)
    with django_assert_num_queries(4):  # a quiet minute: one query per kind (4 kinds)
        assert referrals_escalate() == 0

    Referral.objects.filter(pk__in=[r.pk for r in referrals[1:]]).update(due_at=referrals[0].due_at + MINUTE)
    time_machine.move_to(referrals[0].due_at + MINUTE, tick=False)
    with CaptureQueriesContext(connection) as one:
        assert referrals_escalate() == 1
    time_machine.move_to(referrals[0].due_at + 2 * MINUTE, tick=False)
    with CaptureQueriesContext(connection) as two:
        assert referrals_escalate() == 2
    per_escalation = len(one) - 4  # 4 kinds: one query each
    assert len(two) == 4 + 2 * per_escalation
