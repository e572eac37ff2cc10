"""What a person meets at a referral they no longer see (issue 16 § 4): an office that forwarded a
case and saw it accepted, following its old notification or e-mail link, learns where the case went
instead of meeting a bare "not found".

Only people who were told about the referral get this page: the person must hold a notification with
a link to it (so it reveals nothing to anybody else — everyone else gets the usual 404, as for a
referral that does not exist). The receiving office is named only to a person of the office that
forwarded the case (they chose it); anybody else learns only that the case is no longer theirs. A
person whose read grant ended learns that instead.
"""

from django.shortcuts import render
from django.urls import reverse

from agencies.actor import actor_of
from core.queries import one_or_none
from notifications.models import Notification

from .models import Referral, ReferralEvent, ReferralGrant


def handed_over_response(request, pk: int):
    """The page for referral ``pk`` if the person was notified about it, else None (a plain 404)."""
    user = request.user
    if not getattr(user, "is_authenticated", False):
        return None
    link = reverse("referrals:detail", args=[pk])
    if not Notification.objects.for_user(user).filter(link=link).exists():
        return None
    referral = one_or_none(Referral.objects.filter(pk=pk).select_related("youth_office"))
    office = None
    if referral is not None and referral.youth_office_id:
        own = actor_of(user).office_ids
        forwarded_by_own = ReferralEvent.objects.filter(
            referral=referral, kind=ReferralEvent.Kind.FORWARD_ACCEPTED, data__from_office__in=list(own)
        ).exists()
        if forwarded_by_own and referral.youth_office_id not in own:
            office = referral.youth_office
    reference = referral.reference if referral is not None else None
    # A read grant that ended: it says so, not "handed over" (QA of 2026-12-05).
    grant_ended = referral is not None and ReferralGrant.objects.filter(referral=referral, person=user).exists()
    context = {"reference": reference, "office": office, "grant_ended": grant_ended}
    # Still a 404 (out of scope answers 404 everywhere, README), but one that says where the case went.
    return render(request, "referrals/handed_over.html", context, status=404)
