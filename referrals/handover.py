"""Hand-over to an office outside the system (issue 15 § 3; docs/domain.md, "Übergabe nach außen").

``referral_hand_over`` is the export the lead of the responsible office (or the district coordinator,
from the triage queue) makes: the existing service ``referral_export`` checks the transition, closes
the case, records the event and tells the police; here the PDF of the case and the structured export
are made from the same state and kept as one ``Handover`` record (what, to whom, when, by whom),
both without anything confided under § 65 SGB VIII.

``handovers_for`` is the one rule of who may fetch a hand-over's documents again — and of whose
hand-overs the list ``/handovers/`` shows (``handover_page_of``): the people of the
office that handed it over (the youth office's caseworkers and lead, or the coordination office's
district coordinators, who keep their copy only to answer questions about the hand-over,
docs/datenschutz.md § 4). A referral handed over from the triage queue leaves the coordinator's scope
when it is closed; its hand-over record is what the coordination office keeps of it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import Agency, Role

from .access import referral_access
from .access_log import access_log_record
from .handover_models import Handover
from .models import AccessLogEntry, Referral
from .printing import PRINT_RELATED, case_print_data, print_pdf
from .services import referral_export


def _handing_agency_id(user: Any, referral: Referral) -> int:
    """The office that hands the referral over: the responsible youth office (its lead exports), or
    the coordination office of the referral's district (its coordinator exports from triage)."""
    access = referral_access(user, referral)
    if access.is_lead:
        return referral.youth_office_id
    coordination = (
        Agency.objects.filter(
            pk__in=actor_of(user).agency_ids(Role.DISTRICT_COORDINATOR),
            district_id=referral.police_authority.district_id,
        )
        .values_list("pk", flat=True)
        .first()
    )
    if coordination is None:  # the transition table refuses anyone else; say it before anything is made
        raise PermissionDenied(_("This action is not available to you on this referral."))
    return coordination


@transaction.atomic
def referral_hand_over(
    *, referral: Referral, user: Any, recipient: str, expected_version: int | None = None
) -> Handover:
    """Hand ``referral`` over to ``recipient`` outside the system: the structured export and the PDF
    of the case, recorded together. Refusals as ``referral_export`` (403, 409, 400 for the
    recipient); nothing is recorded then."""
    agency_id = _handing_agency_id(user, referral)
    document = referral_export(referral=referral, user=user, recipient=recipient, expected_version=expected_version)
    closed = Referral.objects.select_related(*PRINT_RELATED).get(pk=referral.pk)
    office_ids = {agency_id} if agency_id == closed.youth_office_id else set()
    data = case_print_data(closed, office_ids=office_ids, include_confidential=False)
    handover = Handover(
        referral=closed,
        agency_id=agency_id,
        recipient=document["handover"]["recipient"],
        handed_over_by=user,
        at=closed.closed_at,
        document=document,
        confidential_left_out=data["confidential_left_out"],
    )
    handover.pdf = print_pdf("referrals/print.html", {**data, "handover": handover})
    handover.save()
    return handover


def handovers_for(user: Any):
    """The hand-overs whose record and documents ``user`` may read: those of the offices they work
    in — a youth office's for its caseworkers and lead, a coordination office's for its district
    coordinators (see the module docstring). An indexed ``agency`` comparison."""
    actor = actor_of(user)
    agencies = actor.office_ids | actor.agency_ids(Role.DISTRICT_COORDINATOR)
    return Handover.objects.filter(agency_id__in=agencies)


HANDOVERS_PER_PAGE = 25


def handover_page_of(user: Any, before: tuple | None) -> tuple[list[Handover], tuple | None]:
    """One page of the hand-overs ``user`` may read (``handovers_for``, the same rule as the single
    hand-over), newest first: those before the keyset ``before`` (``(at, id)`` of the last one of the
    previous page, None for the first page), and the keyset of the next page if there is one. Reads the
    index (agency, at desc, id desc): the same cost for the first page as for the thousandth."""
    handovers = handovers_for(user).select_related("referral", "handed_over_by", "agency").order_by("-at", "-id")
    if before is not None:
        at, pk = before
        handovers = handovers.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(handovers[: HANDOVERS_PER_PAGE + 1])
    if len(rows) <= HANDOVERS_PER_PAGE:
        return rows, None
    last = rows[HANDOVERS_PER_PAGE - 1]
    return rows[:HANDOVERS_PER_PAGE], (last.at, last.pk)


def handover_for(request, pk: int, handover_id: int) -> Handover:
    """The hand-over ``handover_id`` of referral ``pk`` from ``handovers_for``, else 404 — the same as
    a nonexistent one — with a "refused" entry in the access log."""
    handover = (
        handovers_for(request.user)
        .select_related("referral", "agency", "handed_over_by")
        .filter(pk=handover_id, referral_id=pk)
        .first()
    )
    if handover is None:
        access_log_record(request=request, action=AccessLogEntry.Action.DENIED, obj_id=int(pk))
        raise Http404
    return handover
