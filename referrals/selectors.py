"""Reads of referrals for pages and API. Every function starts from ``Referral.objects.visible_to``."""

from django.db.models import Q

from agencies.models import OFFICE_ROLES, Role, agency_ids_with_role, has_role

from .models import Referral, ReferralGroupObjectPermission, ReferralUserObjectPermission, Status

INBOX_ORDERING = ["urgency_rank", "submitted_at", "id"]
STATION_ORDERING = ["-created_at", "-id"]
TRIAGE_ORDERING = ["urgency_rank", "submitted_at", "id"]

LIST_RELATED = ("youth_office", "station")


def inbox_for(user):
    """The inbox of the youth offices ``user`` works in: their submitted referrals."""
    office_ids = agency_ids_with_role(user, *OFFICE_ROLES)
    return (
        Referral.objects.visible_to(user)
        .filter(youth_office_id__in=office_ids)
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
    if referral.youth_office_id and referral.youth_office_id in agency_ids_with_role(user, *OFFICE_ROLES):
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
