"""Escalation of missed response clocks (docs/domain.md "Dringlichkeit und Fristen"): first to the
office lead, then — immediate referrals only — to the on-call contact (Rufbereitschaft).

Deadlines live in the database (``Referral.due_at``, set from ``clocks.acknowledgement_due``); a beat
job (``tasks.escalate_overdue``, every minute) calls ``referrals_escalate``, which finds what is
overdue now. ``Escalation`` rows are unique per referral, kind and deadline, so a job that runs twice,
or two workers at once, escalate every missed clock once.
"""

import datetime
import logging

from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.directory import coordination_office_of
from agencies.models import Membership, Role
from notifications.models import Channel
from notifications.services import notification_create

from .clocks import LOCAL_TZ
from .models import OPEN_STATUSES, Escalation, Referral, ReferralEvent, Status, Urgency

logger = logging.getLogger(__name__)

# An immediate referral not acknowledged this long after receipt goes to the on-call contact too:
# real time, round the clock, whatever the office's own immediate clock says.
IMMEDIATE_ESCALATION_AFTER = datetime.timedelta(hours=1)
# A forwarded referral waits for the other office to accept it; its clock starts again there.
ESCALATING_STATUSES = [status for status in OPEN_STATUSES if status != Status.FORWARDED]
# Escalations handled per run and kind; anything beyond is picked up by the next run a minute later.
BATCH_SIZE = 500


def _unacknowledged() -> QuerySet[Referral]:
    return Referral.objects.filter(
        acknowledged_at__isnull=True, status__in=ESCALATING_STATUSES, youth_office__isnull=False
    )


def _overdue(now: datetime.datetime) -> QuerySet[Referral]:
    """Referrals whose clock ran out before ``now`` and that were not escalated for this deadline."""
    done = Escalation.objects.filter(referral=OuterRef("pk"), kind=Escalation.Kind.OVERDUE, due_at=OuterRef("due_at"))
    return _unacknowledged().filter(due_at__lt=now).filter(~Exists(done)).annotate(escalation_due=F("due_at"))


def _immediate_unacknowledged(now: datetime.datetime) -> QuerySet[Referral]:
    """Immediate referrals received more than an hour before ``now`` and not escalated for this
    receipt; the escalation's deadline is ``received_at`` + 1 hour."""
    due = ExpressionWrapper(F("received_at") + IMMEDIATE_ESCALATION_AFTER, output_field=DateTimeField())
    done = Escalation.objects.filter(
        referral=OuterRef("pk"), kind=Escalation.Kind.IMMEDIATE_UNACKNOWLEDGED, due_at=OuterRef("escalation_due")
    )
    return (
        _unacknowledged()
        .filter(urgency=Urgency.IMMEDIATE, received_at__lt=now - IMMEDIATE_ESCALATION_AFTER)
        .annotate(escalation_due=due)
        .filter(~Exists(done))
    )


def _triage_overdue(now: datetime.datetime) -> QuerySet[Referral]:
    """Immediate referrals still in the triage queue after the coordination office's triage clock
    (``due_at``, set on submission) and not escalated for this deadline."""
    done = Escalation.objects.filter(
        referral=OuterRef("pk"), kind=Escalation.Kind.TRIAGE_OVERDUE, due_at=OuterRef("due_at")
    )
    return (
        Referral.objects.filter(status=Status.TRIAGE, urgency=Urgency.IMMEDIATE, due_at__lt=now)
        .filter(~Exists(done))
        .annotate(escalation_due=F("due_at"))
    )


def _forward_pending(now: datetime.datetime) -> QuerySet[Referral]:
    """Hand-overs neither accepted nor returned when the clock ran out: the case's own clock if it
    was never acknowledged (it keeps running during the hand-over), or — for an acknowledged
    immediate case — the hand-over clock set by ``referral_forward`` (later than the acknowledgement)."""
    done = Escalation.objects.filter(
        referral=OuterRef("pk"), kind=Escalation.Kind.FORWARD_PENDING, due_at=OuterRef("due_at")
    )
    running = Q(acknowledged_at__isnull=True) | Q(urgency=Urgency.IMMEDIATE, due_at__gt=F("acknowledged_at"))
    return (
        Referral.objects.filter(status=Status.FORWARDED, forwarded_to__isnull=False, due_at__lt=now)
        .filter(running)
        .filter(~Exists(done))
        .annotate(escalation_due=F("due_at"))
    )


CANDIDATES = {
    Escalation.Kind.OVERDUE: _overdue,
    Escalation.Kind.IMMEDIATE_UNACKNOWLEDGED: _immediate_unacknowledged,
    Escalation.Kind.TRIAGE_OVERDUE: _triage_overdue,
    Escalation.Kind.FORWARD_PENDING: _forward_pending,
}


def referrals_escalate(*, now: datetime.datetime | None = None) -> int:
    """Escalate every missed clock once; returns how many escalations were recorded now.

    (a) ``OVERDUE``: not acknowledged, ``due_at`` before ``now``, open and not forwarded → the
        office lead(s) in the application and the office's functional mailbox.
    (b) ``IMMEDIATE_UNACKNOWLEDGED``: immediate, not acknowledged one hour after ``received_at``
        (round the clock) → the office's on-call mailbox and the office lead(s) in the application.
    With the default clocks an immediate referral gets both at the same moment: two kinds, each once.

    A system job: there is no user, so it does not go through ``Referral.objects.for_user``. It
    reads only ids, deadlines and the office's recipients and writes messages with a reference, the
    urgency and a link — never a name. Bounded: one query per kind finds the ids (an ``Exists`` on
    the escalations leaves out what is done already, so a quiet minute costs two queries), then
    each escalation runs in its own transaction with a fixed number of queries.
    """
    now = now or timezone.now()
    escalated = 0
    for kind, candidates in CANDIDATES.items():
        ids = list(candidates(now).order_by("escalation_due", "pk").values_list("pk", flat=True)[:BATCH_SIZE])
        for referral_id in ids:
            escalated += _escalate(referral_id=referral_id, kind=kind, now=now)
    return escalated


def _escalate(*, referral_id: int, kind: str, now: datetime.datetime) -> bool:
    """Record one escalation with its event and notifications, unless it exists already or the
    referral has been acknowledged, closed or forwarded since the ids were read."""
    with transaction.atomic():
        referral = (
            CANDIDATES[kind](now)
            .filter(pk=referral_id)
            .select_related("youth_office", "forwarded_to", "police_authority")
            .select_for_update(of=("self",))
            .first()
        )
        if referral is None:
            return False
        due_at = referral.escalation_due
        try:
            with transaction.atomic():  # a savepoint: a concurrent run may have inserted the row first
                Escalation.objects.create(referral=referral, kind=kind, due_at=due_at, at=now)
        except IntegrityError:
            return False
        ReferralEvent.objects.create(
            referral=referral,
            kind=ReferralEvent.Kind.ESCALATED,
            at=now,
            data={"kind": kind, "due_at": due_at.isoformat()},
        )
        _notify(referral, kind=kind, due_at=due_at)
    logger.info("referral %s escalated (%s)", referral_id, kind)
    return True


def _leads(agency_ids, role=Role.OFFICE_LEAD):
    return [
        m.user
        for m in Membership.objects.active()
        .filter(agency_id__in=agency_ids, role=role)
        .select_related("user")
        .order_by("user_id")
    ]


def _send(referral, *, kind, subject, body, emails, users) -> None:
    link = reverse("referrals:detail", args=[referral.pk])
    notification_kind = f"referral_{kind}"
    for email in dict.fromkeys(e for e in emails if e):
        notification_create(
            channel=Channel.EMAIL, kind=notification_kind, subject=subject, body=body, link=link, email=email
        )
    for user in dict.fromkeys(users):
        notification_create(
            channel=Channel.IN_APP, kind=notification_kind, subject=subject, body=body, link=link, user=user
        )


def _notify_triage_overdue(referral: Referral, *, values: dict) -> None:
    """Missed triage clock: the coordination office's on-call and functional mailboxes, and the
    district coordinators in the application."""
    coordination = coordination_office_of(referral.police_authority.district_id)
    with translation.override("de"):
        subject = _("Immediate referral %(reference)s still in triage after the deadline") % values
        body = (
            _(
                "The immediate police referral %(reference)s has not been assigned to a youth office in time.\n"
                "Assign by: %(due)s\nOpen it in Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    if coordination is None:
        return
    users = _leads([coordination.pk], Role.DISTRICT_COORDINATOR)
    _send(referral, kind=Escalation.Kind.TRIAGE_OVERDUE, subject=subject, body=body,
          emails=[coordination.oncall_email, coordination.email], users=users)  # fmt: skip


def _notify_forward_pending(referral: Referral, *, values: dict) -> None:
    """A hand-over pending past the clock: the leads of both offices in the application, both
    functional mailboxes, and for an immediate case the receiving office's on-call mailbox."""
    sender, receiver = referral.youth_office, referral.forwarded_to
    with translation.override("de"):
        subject = _("Hand-over of referral %(reference)s pending past the deadline (%(urgency)s)") % values
        body = (
            _(
                "Referral %(reference)s (urgency: %(urgency)s) was handed over and has been neither accepted nor "
                "returned in time.\nDeadline: %(due)s\nOpen it in Kinderschutz-Kooperation (login required):"
            )
            % values
        )
    emails = [sender.email, receiver.email]
    if referral.urgency == Urgency.IMMEDIATE:
        emails.append(receiver.oncall_email)
    _send(referral, kind=Escalation.Kind.FORWARD_PENDING, subject=subject, body=body, emails=emails,
          users=_leads([sender.pk, receiver.pk]))  # fmt: skip


def _notify(referral: Referral, *, kind: str, due_at: datetime.datetime) -> None:
    office = referral.youth_office
    if kind in (Escalation.Kind.TRIAGE_OVERDUE, Escalation.Kind.FORWARD_PENDING):
        values = {
            "reference": referral.reference,
            "urgency": str(Urgency(referral.urgency).label) if referral.urgency in Urgency.values else "",
            "due": due_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M"),
        }
        if kind == Escalation.Kind.TRIAGE_OVERDUE:
            _notify_triage_overdue(referral, values=values)
        else:
            _notify_forward_pending(referral, values=values)
        return
    deadline = due_at.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")
    with translation.override("de"):
        values = {"reference": referral.reference, "urgency": str(Urgency(referral.urgency).label), "due": deadline}
        if kind == Escalation.Kind.OVERDUE:
            subject = _("Referral %(reference)s not acknowledged in time (%(urgency)s)") % values
            body = (
                _(
                    "The police referral %(reference)s (urgency: %(urgency)s) has not been acknowledged in time.\n"
                    "Acknowledge by: %(due)s\nOpen it in Kinderschutz-Kooperation (login required):"
                )
                % values
            )
            emails = [office.email]
        else:
            subject = _("Immediate referral %(reference)s not acknowledged after one hour") % values
            body = (
                _(
                    "The immediate police referral %(reference)s has not been acknowledged one hour after receipt.\n"
                    "Acknowledge by: %(due)s\nOpen it in Kinderschutz-Kooperation (login required):"
                )
                % values
            )
            emails = [office.oncall_email]
    link = reverse("referrals:detail", args=[referral.pk])
    notification_kind = f"referral_{kind}"
    for email in emails:
        if email:
            notification_create(
                channel=Channel.EMAIL, kind=notification_kind, subject=subject, body=body, link=link, email=email
            )
    leads = (
        Membership.objects.active()
        .filter(agency_id=office.pk, role=Role.OFFICE_LEAD)
        .select_related("user")
        .order_by("user_id")
    )
    for membership in leads:
        notification_create(
            channel=Channel.IN_APP, kind=notification_kind, subject=subject, body=body, link=link, user=membership.user
        )
