"""Individual grants: the lead of the responsible office lets a named person of another agency read
one case, with a reason and an expiry (docs/domain.md, "Wer sieht was", relation "Freigabe").

A grant is a ``ReferralGrant`` row (the record) plus the guardian permission ``view_referral`` of
that person on that referral (what ``Referral.objects.visible_to`` honours, one subquery). Revoking
a grant, or its expiry (``grants_expire``, a beat job), deletes the permission and keeps the row.
Every grant and every end is an event in the case's history.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from notifications.models import Channel, Notification
from notifications.services import notification_create

from .access import referral_access
from .models import Referral, ReferralEvent, ReferralGrant, Status

MAX_GRANT_DAYS = 90  # a grant is for a purpose at hand, not a standing permission
REASON_LIMIT = 2_000
PERMISSION = "referrals.view_referral"


def _require_lead(user, referral: Referral) -> None:
    access = referral_access(user, referral)
    if not (access.is_lead and access.case_role == "office"):
        raise PermissionDenied(_("Only the lead of the responsible youth office grants access to a case."))


def grantable_people(referral: Referral) -> QuerySet:
    """Whom a lead may let in: active people with a membership in another active agency than the
    referral's office (a named person of the family court assistance, a neighbouring office …)."""
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__agency__is_active=True)
        .exclude(memberships__agency_id=referral.youth_office_id)
        .distinct()
        .order_by("last_name", "first_name", "username")
        .prefetch_related("memberships__agency")  # the picker names each person's agencies
    )


def grants_of(referral: Referral) -> QuerySet:
    return (
        ReferralGrant.objects.filter(referral=referral)
        .select_related("person", "granted_by", "ended_by")
        .prefetch_related("person__memberships__agency")
    )


@transaction.atomic
def grant_create(*, referral: Referral, user, person, reason: str, expires_on: datetime.date) -> ReferralGrant:
    """Let ``person`` read ``referral`` until the end of ``expires_on`` (local time), at most
    ``MAX_GRANT_DAYS`` ahead, for the written ``reason``."""
    locked = Referral.objects.select_for_update(of=("self",)).get(pk=referral.pk)
    _require_lead(user, locked)
    if locked.status == Status.DRAFT:
        raise ValidationError({"status": [_("A draft cannot be shared.")]})
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if not reason:
        errors["reason"] = [_("Give a reason.")]
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = [_("At most %(limit)d characters.") % {"limit": REASON_LIMIT}]
    today = timezone.localdate()
    if expires_on is None or expires_on < today or expires_on > today + datetime.timedelta(days=MAX_GRANT_DAYS):
        errors["expires_on"] = [_("Choose a date from today to %(days)d days ahead.") % {"days": MAX_GRANT_DAYS}]
    if person is None or not grantable_people(locked).filter(pk=person.pk).exists():
        errors["person"] = [_("Choose an active person of another agency.")]
    elif ReferralGrant.objects.filter(referral=locked, person=person, ended_at__isnull=True).exists():
        errors["person"] = [_("This person already has access to the case.")]
    if errors:
        raise ValidationError(errors)
    end_of_day = datetime.datetime.combine(
        expires_on + datetime.timedelta(days=1), datetime.time.min, tzinfo=timezone.get_current_timezone()
    )
    grant = ReferralGrant.objects.create(
        referral=locked, person=person, granted_by=user, reason=reason, expires_at=end_of_day
    )
    assign_perm(PERMISSION, person, locked)
    ReferralEvent.objects.create(
        referral=locked,
        actor=user,
        kind=ReferralEvent.Kind.GRANTED,
        data={"person": person.pk, "grant": grant.pk, "expires": expires_on.isoformat(), "reason": reason},
    )
    _tell_the_person(locked, person, expires_on)
    return grant


def _tell_the_person(referral: Referral, person, expires_on: datetime.date) -> None:
    """The person given access learns of it in the application, with the link (QA of 2026-12-05: the
    case was in no list of theirs, so they could not find it). Reference and date only."""
    with translation.override("de"):
        values = {"reference": referral.reference, "date": formats.date_format(expires_on, "SHORT_DATE_FORMAT")}
        subject = _("Read access to referral %(reference)s until %(date)s") % values
        body = (
            _("You may read referral %(reference)s until %(date)s.") % values
            + "\n"
            + _("Open it in Kinderschutz-Kooperation (login required):")
        )
    link = reverse("referrals:detail", args=[referral.pk])
    notification_create(channel=Channel.IN_APP, kind="granted", subject=subject, body=body, link=link, user=person)


def _end(grant: ReferralGrant, *, by, now: datetime.datetime, cause: str) -> None:
    remove_perm(PERMISSION, grant.person, grant.referral)
    grant.ended_at, grant.ended_by = now, by
    grant.save(update_fields=["ended_at", "ended_by"])
    # The person learns it too (QA of 2026-12-05: only the grant was told), and the grant's notice is no
    # longer "new" — its link now answers that the access ended (``handed_over``).
    link = reverse("referrals:detail", args=[grant.referral_id])
    Notification.objects.filter(recipient_user=grant.person, kind="granted", link=link, read_at__isnull=True).update(
        read_at=now
    )
    with translation.override("de"):
        subject = _("Read access to referral %(reference)s ended") % {"reference": grant.referral.reference}
    notification_create(
        channel=Channel.IN_APP, kind="grant_ended", subject=subject, body=subject, link=link, user=grant.person
    )
    ReferralEvent.objects.create(
        referral=grant.referral,
        actor=by,
        kind=ReferralEvent.Kind.GRANT_ENDED,
        data={"person": grant.person_id, "grant": grant.pk, "cause": cause},
    )


@transaction.atomic
def grant_revoke(*, grant: ReferralGrant, user) -> ReferralGrant:
    """End a running grant now (the lead of the responsible office)."""
    locked = ReferralGrant.objects.select_for_update().select_related("referral", "person").get(pk=grant.pk)
    _require_lead(user, locked.referral)
    if locked.ended_at is not None:
        raise ValidationError({"grant": [_("This access has already ended.")]})
    _end(locked, by=user, now=timezone.now(), cause="revoked")
    return locked


def grants_expire(*, now: datetime.datetime | None = None) -> int:
    """End every grant whose expiry has passed (beat, hourly): the permission goes, the record
    stays. Each in its own transaction; returns how many ended."""
    now = now or timezone.now()
    ended = 0
    due = ReferralGrant.objects.filter(ended_at__isnull=True, expires_at__lte=now).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            grant = (
                ReferralGrant.objects.select_for_update(skip_locked=True)
                .select_related("referral", "person")
                .filter(pk=pk, ended_at__isnull=True)
                .first()
            )
            if grant is not None:
                _end(grant, by=None, now=now, cause="expired")
                ended += 1
    return ended


def lead_may_grant(user, referral: Referral) -> bool:
    access = referral_access(user, referral)
    return access.is_lead and access.case_role == "office" and referral.status != Status.DRAFT


__all__ = [
    "MAX_GRANT_DAYS",
    "grant_create",
    "grant_revoke",
    "grantable_people",
    "grants_expire",
    "grants_of",
    "lead_may_grant",
]
