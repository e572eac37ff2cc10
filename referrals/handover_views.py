"""The list of hand-overs outside the system (issue 15 § 3; docs/domain.md, "Übergabe nach außen"):
``/handovers/`` for the people of a youth office (their office's hand-overs) and the district
coordinator (the hand-overs from their district's triage queue). The rows come from
``referrals.handover.handover_page_of``, i.e. from ``handovers_for``, the same rule as the
confirmation page of a single hand-over, to which each row links. Everyone else: 403."""

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_GET

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, Role

from .handover import handover_page_of


def _keyset(value: str) -> tuple[datetime.datetime, int] | None:
    """``?before=<at as ISO 8601>_<id>`` (the link under a page); anything else is the first page."""
    at, _sep, pk = (value or "").rpartition("_")
    try:
        moment = datetime.datetime.fromisoformat(at)
    except ValueError:
        return None
    if not pk.isdigit() or moment.tzinfo is None:
        return None
    return moment, int(pk)


@require_GET
@login_required
def handover_list(request):
    """Hand-overs the person may read, newest first, 25 a page."""
    if not actor_of(request.user).has_role(*OFFICE_ROLES, Role.DISTRICT_COORDINATOR):
        raise PermissionDenied
    before = _keyset(request.GET.get("before", ""))
    handovers, following = handover_page_of(request.user, before)
    context = {
        "handovers": handovers,
        "next_before": f"{following[0].isoformat()}_{following[1]}" if following else "",
        "is_first_page": before is None,
    }
    return render(request, "referrals/handover_list.html", context)
