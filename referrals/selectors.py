"""Reads of referrals for pages and API. Every function starts from ``Referral.objects.visible_to``."""

from django.db.models import Q

from agencies.models import OFFICE_ROLES, Role, agency_ids_with_role, has_role

from .models import Referral, ReferralGroupObjectPermission, ReferralUserObjectPermission, Status

INBOX_ORDERING = ["urgency_rank", "submitted_at", "id"]
STATION_ORDERING = ["-created_at", "-id"]
TRIAGE_ORDERING = ["urgency_rank", "submitted_at", "id"]

LIST_RELATED = ("youth_office", "station", "assignee", "forwarded_to")


def inbox_for(user):
    """The inbox of the youth offices ``user`` works in: their referrals, and those forwarded to them
    and not yet accepted."""
    office_ids = agency_ids_with_role(user, *OFFICE_ROLES)
    return (
        Referral.objects.visible_to(user)
        .filter(Q(youth_office_id__in=office_ids) | Q(forwarded_to_id__in=office_ids))
        .exclude(status=Status.DRAFT)
        .select_related(*LIST_RELATED)
    )


def station_referrals_for(user):
    """What the person's station (officer) or authority (coordinator) filed, and their own drafts."""
    stations = agency_ids_with_role(user, Role.POLICE_OFFICER)
    authorities = agency_ids_with_role(user, Role.POLICE_COORDINATOR)
    return (
        Referral.objects.visible_to(user)
        .filter(Q(station_id__in=stations) | Q(police_authority_id__in=authorities) | Q(created_by_id=user.pk))
        .select_related(*LIST_RELATED)
    )


def triage_queue_for(user):
    """The district coordinator's triage queue."""
    if not has_role(user, Role.DISTRICT_COORDINATOR):
        return Referral.objects.none()
    return Referral.objects.visible_to(user).filter(status=Status.TRIAGE).select_related(*LIST_RELATED)


def can_read_contents(user, referral: Referral) -> bool:
    """Whether ``user`` may read the full referral (children, persons, facts) — given that it is
    visible at all. The district coordinator sees a triaged referral only as a summary (reference,
    urgency, concerns, address and triage reason): enough to route it, no case contents."""
    if referral.created_by_id == user.pk:
        return True
    office_ids = agency_ids_with_role(user, *OFFICE_ROLES)
    if referral.youth_office_id in office_ids or (referral.forwarded_to_id and referral.forwarded_to_id in office_ids):
        return True
    if referral.station_id in agency_ids_with_role(user, Role.POLICE_OFFICER):
        return True
    if referral.police_authority_id in agency_ids_with_role(user, Role.POLICE_COORDINATOR):
        return True
    # Individual guardian grants open the whole case (queried directly: guardian's checker would
    # also say yes to any superuser, and administrators do not read case contents).
    return (
        ReferralUserObjectPermission.objects.filter(
            user_id=user.pk, content_object=referral, permission__codename="view_referral"
        ).exists()
        or ReferralGroupObjectPermission.objects.filter(
            group__user=user.pk, content_object=referral, permission__codename="view_referral"
        ).exists()
    )


def office_role_for(user, referral: Referral) -> str | None:
    """How ``user`` works on a visible referral: "office" (the responsible office), "receiving" (an
    office it was forwarded to, read-only until it accepts) or None (police, coordinator, grant)."""
    office_ids = set(agency_ids_with_role(user, *OFFICE_ROLES))
    if referral.youth_office_id in office_ids and referral.status != Status.FORWARDED:
        return "office"
    if referral.forwarded_to_id and referral.forwarded_to_id in office_ids:
        return "receiving"
    if referral.youth_office_id in office_ids:
        return "sender"  # forwarded away, not yet accepted: read-only
    return None


def notes_for(user, referral: Referral):
    """Internal notes an office member may read: those of the referral's offices (current, receiving),
    without notes confided under § 65 SGB VIII to another office. Police and coordinators: none."""
    from .models import Note

    office_ids = set(agency_ids_with_role(user, *OFFICE_ROLES))
    if not office_ids & {referral.youth_office_id, referral.forwarded_to_id}:
        return Note.objects.none()
    return (
        Note.objects.filter(referral=referral)
        .filter(Q(confidential=False) | Q(office_id__in=office_ids))
        .select_related("author", "office")
    )


def attachments_for(user, referral: Referral):
    """Attachments, by the same rule as notes."""
    from .models import Attachment

    office_ids = set(agency_ids_with_role(user, *OFFICE_ROLES))
    if not office_ids & {referral.youth_office_id, referral.forwarded_to_id}:
        return Attachment.objects.none()
    return (
        Attachment.objects.filter(referral=referral)
        .filter(Q(confidential=False) | Q(office_id__in=office_ids))
        .select_related("uploaded_by", "office")
    )


def timeline_for(user, referral: Referral):
    """The referral's history for its offices; police get the coded feedback instead."""
    from .models import ReferralEvent

    office_ids = set(agency_ids_with_role(user, *OFFICE_ROLES))
    if not office_ids & {referral.youth_office_id, referral.forwarded_to_id}:
        return ReferralEvent.objects.none()
    return referral.events.select_related("actor").order_by("at", "id")


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
        from agencies.directory import contact_person_of

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


def visible_referral_or_404(request, pk, *, queryset=None) -> Referral:
    """The referral ``pk`` from ``request.user``'s scope (``queryset``, by default
    ``Referral.objects.visible_to``), else 404 — the same answer as for a nonexistent id. A refused
    attempt is written to the access log ("denied", with the requested id): the one place where
    pages and API look a referral up by id, so no view logs it on its own."""
    from django.http import Http404

    from .access_log import access_log_record
    from .models import AccessLogEntry

    if queryset is None:
        queryset = Referral.objects.visible_to(request.user)
    wellformed = str(pk).isdigit() and len(str(pk)) <= 18  # fits the log's integer column
    referral = queryset.filter(pk=pk).first() if wellformed else None
    if referral is None:
        if wellformed:
            access_log_record(request=request, action=AccessLogEntry.Action.DENIED, obj_id=int(pk))
        raise Http404
    return referral
