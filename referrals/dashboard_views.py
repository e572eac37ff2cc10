"""Pages and CSV files of the dashboards (issue 15 §§ 1, 2; docs/kennzahlen.md): ``/dashboard/`` for the
people of a youth office, ``/dashboard/district/`` for the district coordinator and the police
coordinator. The figures come from ``referrals.dashboard``; here they become tables — the same
tables on the page (each beside its chart) and in the CSV, so the two never differ."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES
from core.spreadsheet import csv_text

from . import charts, dashboard
from .models import Urgency


@dataclass
class Cell:
    value: object
    link: str = ""

    @property
    def text(self):
        value = dashboard.cell_text(self.value)
        return number_format(value, 1) if isinstance(value, float) else value


@dataclass
class Table:
    key: str
    caption: str
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    chart: str = ""

    def html_rows(self) -> SafeString:
        """The table body, built here rather than cell by cell in the template: a district table of a
        year holds a thousand rows of twenty cells, which the template language renders in seconds."""
        return format_html_join("\n", "<tr>{}</tr>", ((self._row_html(row),) for row in self.rows))

    @staticmethod
    def _row_html(row: list[Cell]) -> SafeString:
        cells = [format_html('<th scope="row">{}</th>', row[0].text)]
        for cell in row[1:]:
            if cell.link and cell.value:
                cells.append(format_html('<td><a href="{}">{}</a></td>', cell.link, cell.text))
            else:
                cells.append(format_html("<td>{}</td>", cell.text))
        return format_html_join("", "{}", ((c,) for c in cells))

    def csv(self) -> str:
        return csv_text(self.headers, ([c.text for c in row] for row in self.rows), delimiter=";")


def _inbox(figure: str) -> str:
    return f"{reverse('referrals:inbox')}?{urlencode({'tab': 'all', 'figure': figure})}"


def _urgency_labels() -> list[str]:
    return [str(u.label) for u in dashboard.URGENCIES]


def office_tables(figures: dict) -> list[Table]:
    """The office dashboard's tables: open cases by status and urgency, caseload, the lead's clock
    compliance, assessments and outcomes. Every count links to the inbox filtered to its cases."""
    office_id = figures["office"]["id"]
    workload = figures["workload"]
    person = "" if figures["scope"] == "office" else f":p{figures['person_id']}"
    status_table = Table(
        "status",
        _("Open cases by status and urgency"),
        [_("Status"), *_urgency_labels(), _("Total")],
    )
    for row in workload["open_by_status"]:
        cells = [Cell(str(row["label"]))]
        for urgency in dashboard.URGENCIES:
            n = row["by_urgency"][urgency]
            cells.append(Cell(n, _inbox(f"open:{office_id}:{row['status']}:{urgency}{person}")))
        total = sum(row["by_urgency"].values())
        cells.append(Cell(total, _inbox(f"open:{office_id}:{row['status']}{person}")))
        status_table.rows.append(cells)
    status_table.chart = charts.bar_chart(
        title=status_table.caption,
        description=_("Bars: open cases per status; the numbers are in the table."),
        bars=[(str(r["label"]), sum(r["by_urgency"].values())) for r in workload["open_by_status"]],
    )
    caseload = Table(
        "caseload",
        _("Caseload per caseworker"),
        [_("Caseworker"), _("Open"), _("Overdue"), _("Sign-off requested")],
    )
    for row in workload["caseload"]:
        if row["person_id"] is None:
            open_link, overdue_link, requested_link = _inbox(f"unassigned:{office_id}"), "", ""
        else:
            open_link = _inbox(f"open:{office_id}:p{row['person_id']}")
            overdue_link = _inbox(f"overdue:{office_id}:p{row['person_id']}")
            requested_link = _inbox(f"signoff_request:{office_id}:p{row['person_id']}")
        caseload.rows.append(
            [
                Cell(row["name"]),
                Cell(row["open"], open_link),
                Cell(row["overdue"], overdue_link),
                Cell(row["signoff_requests"], requested_link),
            ]
        )
    tables = [status_table, caseload]
    if "clock" not in figures:
        return tables
    clock = Table(
        "clock",
        _("Acknowledged within the clock, per month of receipt and urgency"),
        [
            _("Month"), _("Urgency"), _("Received"), _("Within the clock"), _("Late"), _("Clock running"),
            _("Share within the clock (%)"), _("Median minutes to acknowledge"),
            _("90th percentile minutes to acknowledge"), _("Earlier referral of a child found"),
        ],
    )  # fmt: skip
    for row in figures["clock"]:
        cell = f"{office_id}:{row['month']}:{row['urgency']}"
        clock.rows.append(
            [
                Cell(row["month"]),
                Cell(str(Urgency(row["urgency"]).label)),
                Cell(row["received"], _inbox(f"clock:{cell}:received")),
                Cell(row["in_time"], _inbox(f"clock:{cell}:in_time")),
                Cell(row["late"], _inbox(f"clock:{cell}:late")),
                Cell(row["running"]),
                Cell(row["share_in_time"]),
                Cell(row["median_minutes"]),
                Cell(row["p90_minutes"]),
                Cell(row["repeat"], _inbox(f"clock:{cell}:repeat")),
            ]
        )
    shares = {}
    for row in figures["clock"]:
        total = shares.setdefault(row["month"], [0, 0])
        total[0] += row["in_time"]
        total[1] += row["in_time"] + row["late"]
    clock.chart = charts.bar_chart(
        title=_("Share acknowledged within the clock per month"),
        description=_("Bars: per month the share of referrals acknowledged within the clock, all urgencies."),
        bars=[(month, dashboard._share(*v)) for month, v in shares.items()],
        unit=" %",
    )
    assessments = Table(
        "assessments",
        _("Risk assessments signed off, per month"),
        [_("Month"), _("Signed off"), _("Median days from receipt"), _("90th percentile days from receipt")],
    )
    for row in figures["assessments"]["months"]:
        assessments.rows.append(
            [Cell(row["month"]), Cell(row["signed_off"]), Cell(row["median_days"]), Cell(row["p90_days"])]
        )
    screenings = Table(
        "screenings",
        _("Screenings completed, per month"),
        [_("Month"), _("Screened"), _("No weighty indications"), _("Median days from receipt"),
         _("90th percentile days from receipt")],
    )  # fmt: skip
    for row in figures["assessments"]["screenings"]:
        screenings.rows.append(
            [
                Cell(row["month"]),
                Cell(row["screened"]),
                Cell(row["no"]),
                Cell(row["median_days"]),
                Cell(row["p90_days"]),
            ]
        )
    period = figures["period"]
    outcomes = Table("outcomes", _("Outcomes of the risk assessments"), [_("Outcome"), _("Assessments")])
    for row in figures["assessments"]["outcomes"]:
        link = _inbox(f"outcome:{office_id}:{period['from']:%Y-%m-%d}:{period['to']:%Y-%m-%d}:{row['outcome']}")
        outcomes.rows.append([Cell(str(row["label"])), Cell(row["count"], link)])
    outcomes.chart = charts.bar_chart(
        title=outcomes.caption,
        description=_("Bars: signed-off risk assessments per outcome; the numbers are in the table."),
        bars=[(str(r["label"]), r["count"]) for r in figures["assessments"]["outcomes"]],
    )
    return [*tables, clock, screenings, assessments, outcomes]


def district_table(rows: list[dict]) -> Table:
    columns = dashboard.district_columns()
    table = Table("district", _("Referrals per police station, youth office and month"), dashboard.district_headers())
    for row in rows:
        table.rows.append([Cell(row[c]) for c in columns])
    per_month: dict[str, int | None] = {}
    for row in rows:
        if isinstance(row["filed"], int):
            per_month[row["month"]] = (per_month.get(row["month"]) or 0) + row["filed"]
        else:  # a month of hidden cells only is "–", not a bar of 0 (QA of 2026-12-05)
            per_month.setdefault(row["month"], None)
    table.chart = charts.bar_chart(
        title=_("Referrals filed per month"),
        description=_(
            "Bars: referrals filed per month, summed over the cells of at least 3; the numbers are in the table."
        ),
        bars=list(per_month.items()),
    )
    return table


# --- the office dashboard ---------------------------------------------------------------------------


def _error_summary(errors: dict[str, str]) -> list[dict]:
    labels = {"from": _("From"), "to": _("To")}
    return [{"target": f"period_{name}", "label": labels[name], "message": m} for name, m in errors.items()]


def _office_context(request):
    user = request.user
    offices, office = dashboard.dashboard_office(user, request.GET.get("office"))
    now = timezone.now()
    period, errors = dashboard.parse_period(request.GET, timezone.localdate(now))
    context = {
        "offices": offices,
        "office": office,
        "errors": errors,
        "error_summary": _error_summary(errors),
        "typed": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        "period": period,
        "is_lead": dashboard.is_lead_of(user, office),
    }
    if period is not None:
        figures = dashboard.office_dashboard(user=user, office=office, period=period, now=now)
        figures["person_id"] = user.pk
        context["figures"] = figures
        context["tables"] = office_tables(figures)
        person = "" if context["is_lead"] else f":p{user.pk}"
        context["links"] = {
            key: _inbox(f"{key}:{office.pk}{'' if key == 'handover_in' else person}")
            for key in ("open", "overdue", "signoff", "signoff_request", "handover_in", "handover_out")
        }
    return context


@require_GET
@login_required
def office_dashboard(request):
    """The office dashboard: a lead's view of the whole office, a caseworker's of their own cases."""
    if not _has_office_role(request.user):
        raise PermissionDenied
    context = _office_context(request)
    return render(request, "referrals/dashboard.html", context, status=400 if context["errors"] else 200)


@require_GET
@login_required
def office_dashboard_csv(request, table):
    if not _has_office_role(request.user):
        raise PermissionDenied
    context = _office_context(request)
    if context["errors"]:
        return HttpResponse("; ".join(context["errors"].values()), status=400, content_type="text/plain; charset=utf-8")
    found = next((t for t in context["tables"] if t.key == table), None)
    if found is None:
        raise Http404
    response = HttpResponse(found.csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="ueberblick-{table}.csv"'
    return response


def _has_office_role(user) -> bool:
    return actor_of(user).has_role(*OFFICE_ROLES)


# --- the district dashboard -------------------------------------------------------------------------


def _district_context(request):
    authorities = dashboard.district_authorities(request.user)
    if not authorities:
        raise PermissionDenied
    now = timezone.now()
    period, errors = dashboard.parse_period(request.GET, timezone.localdate(now))
    context = {
        "authorities": authorities,
        "errors": errors,
        "error_summary": _error_summary(errors),
        "typed": {"from": request.GET.get("from", ""), "to": request.GET.get("to", "")},
        "period": period,
    }
    if period is not None:
        rows = dashboard.district_figures(authority_ids=[a.pk for a in authorities], period=period, now=now)
        context["rows"] = rows
        context["table"] = district_table(rows)
    return context


@require_GET
@login_required
def district_dashboard(request):
    """Figures of the cooperation for the coordinators: counts only, cells below 3 shown as "< 3"."""
    context = _district_context(request)
    return render(request, "referrals/dashboard_district.html", context, status=400 if context["errors"] else 200)


@require_GET
@login_required
def district_dashboard_csv(request):
    context = _district_context(request)
    if context["errors"]:
        return HttpResponse("; ".join(context["errors"].values()), status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(context["table"].csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="kennzahlen-kreis.csv"'
    return response
