"""The § 8a statistics page (issue 13 §3; docs/statistik-8a.md): ``/statistics/8a/?year=2026`` — for an
office lead the records of their office with the validation report, the summary table and the CSV
(``&format=csv``); for the district coordinator the district's summary with cells below 3 suppressed.
Everyone else: 403."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import Agency
from core.text import is_number

from .statistics import COLUMNS, csv_of, district_statistics, statistics_8a, summary

FIRST_YEAR = 2000


def statistics_year(raw: str | None) -> int | None:
    """The year asked for: the current one without ``year``; None for anything that is no plausible year."""
    this_year = timezone.localdate().year
    if raw in (None, ""):
        return this_year
    if not (isinstance(raw, str) and is_number(raw) and len(raw) == 4):
        return None
    year = int(raw)
    return year if FIRST_YEAR <= year <= this_year else None


def statistics_office(user, raw: str | None) -> int | None:
    """The office whose figures a lead reads: the one asked for among the offices they lead, else the
    first of them; None if they lead none (or asked for another)."""
    offices = sorted(actor_of(user).lead_office_ids)
    if not offices:
        return None
    if raw in (None, ""):
        return offices[0]
    return int(raw) if str(raw).isdigit() and int(raw) in offices else None


@login_required
def statistics_8a_page(request):
    actor = actor_of(request.user)
    leads, districts = sorted(actor.lead_office_ids), sorted(actor.coordinator_district_ids)
    if not leads and not districts:
        raise PermissionDenied(_("Only office leads and the district coordinator read the § 8a statistic."))
    year = statistics_year(request.GET.get("year"))
    context = {"year": year, "this_year": timezone.localdate().year, "columns": COLUMNS}
    if year is None:
        context["year_error"] = _("Enter a year between %(first)s and %(last)s.") % {
            "first": FIRST_YEAR,
            "last": context["this_year"],
        }
        return render(request, "referrals/statistics_8a.html", context, status=400)
    if not leads:
        context["district_summary"] = district_statistics(district_ids=districts, year=year)
        return render(request, "referrals/statistics_8a.html", context)
    office_id = statistics_office(request.user, request.GET.get("office"))
    if office_id is None:
        raise PermissionDenied(_("Only the lead of an office reads its § 8a statistic."))
    records, problems = statistics_8a(office_id=office_id, year=year)
    if request.GET.get("format") == "csv":
        response = HttpResponse(csv_of(records), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="statistik-8a-{office_id}-{year}.csv"'
        response["X-Statistics-Complete"] = "false" if problems else "true"
        response["Cache-Control"] = "no-store"
        return response
    context.update(
        office=Agency.objects.get(pk=office_id),
        offices=Agency.objects.filter(pk__in=leads).order_by("name") if len(leads) > 1 else [],
        records=records,
        problems=problems,
        complete=not problems,
        summary=summary(records),
    )
    return render(request, "referrals/statistics_8a.html", context)
