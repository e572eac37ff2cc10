"""Reads of referrals for pages and API. Every function starts from ``Referral.objects.visible_to``."""

from django.db.models import Q

from agencies.actor import actor_of
from agencies.directory import contact_person_of

from .access import ReferralAccess
from .models import Attachment, Note, Referral, ReferralEvent, Status

INBOX_ORDERING = ["urgency_rank", "submitted_at", "id"]
STATION_ORDERING = ["-created_at", "-id"]
TRIAGE_ORDERING = ["urgency_rank", "submitted_at", "id"]

LIST_RELATED = ("youth_office", "station", "assignee", "forwarded_to")


def inbox_for(user):
    """The inbox of the youth offices ``user`` works in: their referrals, and those forwarded to them
    and not yet accepted."""
    office_ids = sorted(actor_of(user).office_ids)
    return (
        Referral.objects.visible_to(user)
        .filter(Q(youth_office_id__in=office_ids) | Q(forwarded_to_id__in=office_ids))
        .exclude(status=Status.DRAFT)
        .select_related(*LIST_RELATED)
    )


def station_referrals_for(user):
    """What the person's station (officer) or authority (coordinator) filed, and their own drafts."""
    actor = actor_of(user)
    stations, authorities = sorted(actor.station_ids), sorted(actor.authority_ids)
    return (
        Referral.objects.visible_to(user)
        .filter(Q(station_id__in=stations) | Q(police_authority_id__in=authorities) | Q(created_by_id=user.pk))
        .select_related(*LIST_RELATED)
    )


def triage_queue_for(user):
    """The district coordinator's triage queue."""
    if not actor_of(user).coordinator_district_ids:
        return Referral.objects.none()
    return Referral.objects.visible_to(user).filter(status=Status.TRIAGE).select_related(*LIST_RELATED)


def notes_for(access: ReferralAccess):
    """Internal notes an office member may read: those of the referral's offices (current, receiving),
    without notes confided under § 65 SGB VIII to another office. Police and coordinators: none."""
    office_ids = access.case_office_ids
    if not office_ids:
        return Note.objects.none()
    return (
        Note.objects.filter(referral=access.referral)
        .filter(Q(confidential=False) | Q(office_id__in=office_ids))
        .select_related("author", "office")
    )


def attachments_for(access: ReferralAccess):
    """Attachments, by the same rule as notes."""
    office_ids = access.case_office_ids
    if not office_ids:
        return Attachment.objects.none()
    return (
        Attachment.objects.filter(referral=access.referral)
        .filter(Q(confidential=False) | Q(office_id__in=office_ids))
        .select_related("uploaded_by", "office")
    )


def timeline_for(access: ReferralAccess):
    """The referral's history for its offices; police get the coded feedback instead."""
    if not access.case_office_ids:
        return ReferralEvent.objects.none()
    return access.referral.events.select_related("actor").order_by("at", "id")


class FeedbackCode:
    SUBMITTED = "submitted"
    TRIAGE = "triage"
    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    FORWARDED = "forwarded"
    CLOSED = "closed"


def police_feedback(referral: Referral) -> dict | None:
    """The coded status police may learn (Rückmeldung): received, in progress (office and contact
    person), forwarded to office X, closed — never the assessment, notes or attachments."""
    status = referral.status
    if status == Status.DRAFT:
        return None
    office = referral.youth_office
    contact_user = referral.assignee or referral.acknowledged_by
    contact = None
    if contact_user is not None and office is not None:
        contact = contact_person_of(contact_user, office)
    code = {
        Status.SUBMITTED: FeedbackCode.SUBMITTED,
        Status.TRIAGE: FeedbackCode.TRIAGE,
        Status.ACKNOWLEDGED: FeedbackCode.RECEIVED,
        Status.IN_ASSESSMENT: FeedbackCode.IN_PROGRESS,
        Status.FORWARDED: FeedbackCode.FORWARDED,
        Status.CLOSED: FeedbackCode.CLOSED,
    }[status]
    if referral.assignee_id and code == FeedbackCode.RECEIVED:
        code = FeedbackCode.IN_PROGRESS
    target = referral.forwarded_to if status == Status.FORWARDED else office
    return {
        "code": code,
        "office": {"id": target.pk, "name": target.name} if target else None,
        "contact": contact if status != Status.FORWARDED else None,
    }
