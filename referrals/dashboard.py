"""Figures for oversight (issue 15 §§ 1, 2, 4; docs/kennzahlen.md): the office dashboard of a youth
office, the district dashboard of the coordinators, and the referral part of the annual cooperation
report.

Every figure is an aggregate over one indexed range — an office's open referrals (partial index
``referral_inbox_open``), an office's receipts of a period (``referral_office_received_at``), an
authority's filings of a period (``referral_authority_submitted``, migration 0020) — so the cost
grows with the period and the office, never with the table. Percentiles come from the database on
PostgreSQL (``percentile_cont``) and from the same rows in Python elsewhere (SQLite has no such
aggregate); both interpolate linearly (``percentile``).

District figures hold no personal data and no case contents, and every count below
``SUPPRESS_BELOW`` (3) is shown as "< 3" — on the page, in the CSV, in the API and in the PDF of the
cooperation report (``Suppressed``); a median or share computed from fewer than three referrals is
suppressed as well; and so is, where one hidden count could be worked out from a row's total by
subtraction, the next smallest count of its group (``suppressed_cells``, secondary suppression).
"""

from __future__ import annotations

import datetime
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Aggregate, Case, Count, DurationField, Exists, F, OuterRef, Q, When
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import Agency, AgencyKind
from core.dates import plausible_day, plausible_day_message

from .clocks import overdue_q
from .models import (
    OPEN_STATUSES,
    Assessment,
    Concern,
    Outcome,
    Referral,
    ReferralEvent,
    SignOffRequest,
    Status,
    Urgency,
)
from .screening_models import Screening

SUPPRESS_BELOW = 3
MONTHS_MAX = 36  # a chosen period spans at most three years
DEFAULT_MONTHS = 12
URGENCIES = [Urgency.IMMEDIATE, Urgency.URGENT, Urgency.ROUTINE]


# --- the chosen period ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole days ``start`` to ``end`` (both included) in local time (Europe/Berlin)."""

    start: datetime.date
    end: datetime.date

    @property
    def begin_at(self) -> datetime.datetime:
        return _local_midnight(self.start)

    @property
    def end_at(self) -> datetime.datetime:
        return _local_midnight(self.end + datetime.timedelta(days=1))

    def months(self) -> list[datetime.date]:
        """First days of the months the period touches, in order."""
        first = self.start.replace(day=1)
        result = []
        while first <= self.end:
            result.append(first)
            first = _next_month(first)
        return result


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _next_month(first: datetime.date) -> datetime.date:
    return datetime.date(first.year + first.month // 12, first.month % 12 + 1, 1)


def default_period(today: datetime.date) -> Period:
    """The last twelve months: from the first day of the month eleven months back to today."""
    first = today.replace(day=1)
    for _i in range(DEFAULT_MONTHS - 1):
        first = (first - datetime.timedelta(days=1)).replace(day=1)
    return Period(first, today)


def _parse_day(value: str, *, end: bool) -> datetime.date | None:
    """``YYYY-MM-DD``, ``DD.MM.YYYY`` or a whole month ``YYYY-MM`` (its first or, for ``end``, last day)."""
    value = value.strip()
    if not value.isascii():  # strptime reads full-width and other Unicode digits as well
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.datetime.strptime(value, pattern).date()
        except ValueError:
            pass
    try:
        first = datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        return None
    return _next_month(first) - datetime.timedelta(days=1) if end else first


def parse_period(data, today: datetime.date) -> tuple[Period | None, dict[str, str]]:
    """The period of ``?from=&to=`` (either may be missing: the default period's bound is used).
    Returns the period, or None and a message per parameter (the page shows them at the field, the
    API answers 400 with them)."""
    default = default_period(today)
    errors: dict[str, str] = {}
    bounds = {}
    for name, fallback in (("from", default.start), ("to", default.end)):
        raw = (data.get(name) or "").strip()
        if not raw:
            bounds[name] = fallback
            continue
        day = _parse_day(raw, end=name == "to")
        if day is None:
            errors[name] = _("Enter a date as YYYY-MM-DD (or a month as YYYY-MM).")
        elif not plausible_day(day):  # 9999 overflowed without a field (QA)
            errors[name] = plausible_day_message()
        else:
            bounds[name] = day
    if errors:
        return None, errors
    start, end = bounds["from"], bounds["to"]
    # One bound given: the other follows it, not today's default — "to" alone is the twelve months up to
    # it, "from" alone reaches at least to it (QA of 2026-12-05: ``?to=2025-06-01`` was refused as
    # ending before the default start, ``?from=2027-01-01`` as a bad ``to`` that was never sent).
    if not (data.get("from") or "").strip() and end < start:
        start = default_period(end).start
    if not (data.get("to") or "").strip() and end < start:
        end = start
    if start > end:
        return None, {"to": _("The end of the period lies before its start.")}
    if len(Period(start, end).months()) > MONTHS_MAX:
        return None, {"to": _("Choose a period of at most %(months)s months.") % {"months": MONTHS_MAX}}
    return Period(start, end), {}


# --- percentiles ------------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``: the value at
    ``fraction`` with linear interpolation between the two nearest rows."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    allow_distinct = False

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), output_field=DurationField(), **extra)


def percentile(values: list[float], fraction: float) -> float | None:
    """``percentile_cont`` in Python: position ``(n - 1) * fraction`` in the sorted values, linearly
    interpolated. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _native_percentiles() -> bool:
    return connection.vendor == "postgresql"


def _minutes(value) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else value / 1_000_000
    return round(seconds / 60, 1)


def _durations_by(queryset, keys: Iterable[str], start: str, end: str) -> dict[tuple, list[float]]:
    """Minutes from ``start`` to ``end`` per group of ``keys``, for the Python percentiles (one query)."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    rows = queryset.filter(**{f"{end}__isnull": False, f"{start}__isnull": False}).values_list(*keys, start, end)
    for *key, begin, finish in rows:
        key = [_month_key(k) if isinstance(k, datetime.date) else k for k in key]
        groups[tuple(key)].append((finish - begin).total_seconds() / 60)
    return groups


# --- suppression ------------------------------------------------------------------------------------


class Suppressed:
    """A count below ``SUPPRESS_BELOW``: shown as "< 3" everywhere (page, CSV, API)."""

    text = f"< {SUPPRESS_BELOW}"

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return "Suppressed()"

    def __eq__(self, other) -> bool:
        return isinstance(other, Suppressed) or other == self.text

    def __hash__(self) -> int:
        return hash(Suppressed)  # equal to every other suppressed cell


SUPPRESSED = Suppressed()


class TooFewCases(Suppressed):
    """A median or share of fewer than ``SUPPRESS_BELOW`` referrals: on the page and in the CSV "n < 3"
    (a median shown as "< 3" read as "less than three minutes"); in the API "< 3" like every
    suppressed cell."""

    text = f"n < {SUPPRESS_BELOW}"


TOO_FEW_CASES = TooFewCases()


def suppress(count: int) -> int | Suppressed:
    return count if count >= SUPPRESS_BELOW else SUPPRESSED


# Groups of counts of one row whose total is shown (docs/kennzahlen.md, "Schutz vor Differenzbildung"):
# (total, cells, partition). A partition's cells add up to the total exactly (every referral has one
# urgency; it came through the triage queue or not); the concerns do not (a referral may name several),
# but "total minus the shown concerns" still bounds a hidden one from below.
SUPPRESSION_GROUPS = (
    ("filed", tuple(URGENCIES), True),
    ("filed", ("direct", "via_triage"), True),
    ("filed", tuple(f"concern_{c}" for c in Concern.values), False),
)


def suppressed_cells(counts: dict[str, int]) -> set[str]:
    """The counts of one row to show as "< 3": every count below 3 (primary suppression), and then,
    so that none of them can be worked out from a shown total by subtraction (secondary
    suppression), in each group of ``SUPPRESSION_GROUPS`` whose total is shown: if exactly one cell
    is hidden — or, in a partition, the hidden cells add up to 0, so each is 0 — the smallest shown
    cell of the group is hidden too (ties: the first column); repeated until nothing changes. A
    hidden total needs nothing more (every cell of it is at most the total, so below 3 as well)."""
    hidden = {name for name, n in counts.items() if n < SUPPRESS_BELOW}
    changed = True
    while changed:
        changed = False
        for total, cells, partition in SUPPRESSION_GROUPS:
            if total in hidden or total not in counts:
                continue
            cells = tuple(c for c in cells if c in counts)
            covered = [c for c in cells if c in hidden]
            zero = partition and covered and sum(counts[c] for c in covered) == 0
            if len(covered) != 1 and not zero:
                continue
            shown = [c for c in cells if c not in hidden]
            if shown:
                hidden.add(min(shown, key=lambda c: (counts[c], cells.index(c))))
                changed = True
    return hidden


def suppress_derived(value, base: int):
    """A median or share computed from ``base`` referrals: suppressed when ``base`` is below 3 (a
    median of one referral is that referral's time)."""
    if base < SUPPRESS_BELOW:
        return TOO_FEW_CASES
    return value


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _month_key(value) -> str:
    """``YYYY-MM`` of a truncated month (aware datetime on PostgreSQL, date or datetime on SQLite)."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value.year:04d}-{value.month:02d}"


# --- the office dashboard ---------------------------------------------------------------------------


def dashboard_offices(user) -> list[Agency]:
    """Youth offices whose dashboard ``user`` may open: the offices they work in (lead or caseworker)."""
    actor = actor_of(user)
    return sorted(actor.agencies("office_lead", "caseworker"), key=lambda a: a.name)


def dashboard_office(user, chosen: str | None) -> tuple[list[Agency], Agency]:
    """The caller's offices and the one asked for (``chosen``: an id, empty for the first by name):
    ``PermissionDenied`` for anyone who works in no youth office, ``Http404`` for an office not theirs.
    The figures are then read for that office only — the office is the scope of an aggregate."""
    offices = dashboard_offices(user)
    if not offices:
        raise PermissionDenied(_("Only people of a youth office see its overview."))
    if not chosen:
        return offices, offices[0]
    office = next((o for o in offices if str(o.pk) == chosen), None)
    if office is None:
        raise Http404
    return offices, office


def is_lead_of(user, office) -> bool:
    return office.pk in actor_of(user).lead_office_ids


def _person_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


def waiting_signoff_q() -> Q:
    """A risk assessment not yet signed off, or a screening without weighty indications whose sign-off
    (which closes the case) is still missing."""
    assessment = Assessment.objects.filter(referral=OuterRef("pk"), signed_off_at__isnull=True)
    screening = Screening.objects.filter(referral=OuterRef("pk"), weighty_indications=False, signed_off_at=None)
    return Q(Exists(assessment)) | Q(Exists(screening))


def signoff_requested_q() -> Q:
    """An open sign-off request (issue 14, ``SignOffRequest``): the author asked a colleague to sign
    off and nobody has signed off or sent it back yet. Read by the request's unique index
    (referral, subject, object_id) where state is open."""
    requests = SignOffRequest.objects.filter(referral=OuterRef("pk"), state=SignOffRequest.State.OPEN)
    return Q(Exists(requests))


def office_workload(*, office, now, assignee=None) -> dict:
    """Open cases by status and urgency, caseload per caseworker (open, overdue, sign-off requested),
    cases waiting for sign-off, open sign-off requests, pending hand-overs in and out, overdue now.
    ``assignee``: only that person's cases (a caseworker's own part). One aggregate: the office's
    open referrals (partial index ``referral_inbox_open``) grouped by person, status and urgency — the
    table by status and the caseload are both sums of its rows —, and for a lead the hand-overs
    offered to the office (index on ``forwarded_to``) counted in the same statement: their rows form
    one group without person, status or urgency, and every count but theirs is filtered to the
    office's own open cases, so nothing of the sending office's people is read."""
    own = Q(youth_office=office, status__in=OPEN_STATUSES)
    if assignee is not None:
        own &= Q(assignee=assignee)
    offered = Q(forwarded_to=office, status=Status.FORWARDED)
    base = Referral.objects.filter(own if assignee is not None else own | offered)

    def of_own(field: str):
        return Case(When(own, then=F(field)), default=None)

    by_status: dict[str, dict[str, int]] = {s: {u: 0 for u in URGENCIES} for s in OPEN_STATUSES}
    rows = (
        base.annotate(
            k_person=of_own("assignee_id"),
            k_first=of_own("assignee__first_name"),
            k_last=of_own("assignee__last_name"),
            k_username=of_own("assignee__username"),
            k_status=of_own("status"),
            k_urgency=of_own("urgency"),
        )
        .values_list("k_person", "k_first", "k_last", "k_username", "k_status", "k_urgency")
        .annotate(
            open=Count("id", filter=own),
            overdue=Count("id", filter=own & overdue_q(now)),
            signoff=Count("id", filter=own & waiting_signoff_q()),
            requested=Count("id", filter=own & signoff_requested_q()),
            offered=Count("id", filter=offered),
        )
        .order_by()
    )
    people: dict[int | None, dict] = {}
    waiting_signoff = handover_in = 0
    for person_id, first, last, username, status, urgency, n_open, n_overdue, n_signoff, n_requested, n_in in rows:
        handover_in += n_in if assignee is None else 0
        if status is None:  # the group of the hand-overs offered to the office
            continue
        if urgency in URGENCIES:
            by_status[status][urgency] += n_open
        if person_id not in people:
            name = _person_name(first or "", last or "", username or "") if person_id else _("Not assigned")
            people[person_id] = {"person_id": person_id, "name": name, "open": 0, "overdue": 0, "signoff_requests": 0}
        person = people[person_id]
        person["open"] += n_open
        person["overdue"] += n_overdue
        person["signoff_requests"] += n_requested
        waiting_signoff += n_signoff
    caseload = list(people.values())
    caseload.sort(key=lambda r: (r["person_id"] is None, r["name"].casefold()))
    return {
        "open_by_status": [
            {"status": status, "label": Status(status).label, "by_urgency": by_status[status]}
            for status in OPEN_STATUSES
        ],
        "open_total": sum(sum(v.values()) for v in by_status.values()),
        "caseload": caseload,
        "waiting_signoff": waiting_signoff,
        "signoff_requests": sum(r["signoff_requests"] for r in caseload),
        "handover_in": handover_in,
        "handover_out": sum(by_status[Status.FORWARDED].values()),
        "overdue": sum(r["overdue"] for r in caseload),
    }


def _received(office, period: Period):
    return Referral.objects.filter(
        youth_office=office, received_at__gte=period.begin_at, received_at__lt=period.end_at
    ).exclude(status=Status.DRAFT)


def clock_compliance(*, office, period: Period, now) -> list[dict]:
    """Per month of receipt and urgency: received, acknowledged within the clock (at or before
    ``due_at``), late (acknowledged after it, or not acknowledged and past it), still running,
    the share within the clock of those whose clock has ended, and the median and 90th percentile
    minutes from receipt to acknowledgement; plus the repeat-notice rate (an earlier referral of a
    child was found, ``ReferralEvent.Kind.REPEAT``). One query (two on SQLite)."""
    ack, due = F("acknowledged_at"), F("due_at")
    in_time = Q(acknowledged_at__isnull=False, acknowledged_at__lte=due) | Q(acknowledged_at__isnull=False, due_at=None)
    late = Q(acknowledged_at__gt=due) | Q(acknowledged_at__isnull=True, due_at__lt=now)
    repeat = ReferralEvent.objects.filter(referral=OuterRef("pk"), kind=ReferralEvent.Kind.REPEAT)
    queryset = _received(office, period).annotate(month=TruncMonth("received_at"))
    aggregates = {
        "n": Count("id"),
        "in_time": Count("id", filter=in_time),
        "late": Count("id", filter=late),
        "repeat": Count("id", filter=Q(Exists(repeat))),
    }
    if _native_percentiles():
        took = ack - F("received_at")
        aggregates["p50"] = PercentileCont(took, 0.5, filter=Q(acknowledged_at__isnull=False))
        aggregates["p90"] = PercentileCont(took, 0.9, filter=Q(acknowledged_at__isnull=False))
    rows = {}
    for row in queryset.values("month", "urgency").annotate(**aggregates).order_by():
        if row["urgency"] in URGENCIES:
            rows[(_month_key(row["month"]), row["urgency"])] = row
    durations = (
        {} if _native_percentiles() else _durations_by(queryset, ["month", "urgency"], "received_at", "acknowledged_at")
    )
    result = []
    for first in period.months():
        month = f"{first:%Y-%m}"
        for urgency in URGENCIES:
            row = rows.get((month, urgency), {"n": 0, "in_time": 0, "late": 0, "repeat": 0})
            if _native_percentiles():
                p50, p90 = _minutes(row.get("p50")), _minutes(row.get("p90"))
            else:
                values = durations.get((month, urgency), [])
                p50, p90 = _round(percentile(values, 0.5)), _round(percentile(values, 0.9))
            ended = row["in_time"] + row["late"]
            result.append(
                {
                    "month": month,
                    "urgency": urgency,
                    "received": row["n"],
                    "in_time": row["in_time"],
                    "late": row["late"],
                    "running": row["n"] - ended,
                    "share_in_time": _share(row["in_time"], ended),
                    "median_minutes": p50,
                    "p90_minutes": p90,
                    "repeat": row["repeat"],
                    "repeat_share": _share(row["repeat"], row["n"]),
                }
            )
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def assessment_figures(*, office, period: Period) -> dict:
    """Risk assessments of the office signed off in the period: per month the number, median and 90th
    percentile days from receipt to sign-off; and the outcomes. One query (two on SQLite), and those of
    ``screening_figures``."""
    signed = Assessment.objects.filter(
        referral__youth_office=office, signed_off_at__gte=period.begin_at, signed_off_at__lt=period.end_at
    ).annotate(month=TruncMonth("signed_off_at"))
    aggregates: dict = {"n": Count("id"), **{o: Count("id", filter=Q(outcome=o)) for o in Outcome.values}}
    if _native_percentiles():
        took = F("signed_off_at") - F("referral__received_at")
        aggregates["p50"] = PercentileCont(took, 0.5)
        aggregates["p90"] = PercentileCont(took, 0.9)
    rows = {_month_key(r["month"]): r for r in signed.values("month").annotate(**aggregates).order_by()}
    durations = (
        {} if _native_percentiles() else _durations_by(signed, ["month"], "referral__received_at", "signed_off_at")
    )
    months = []
    for first in period.months():
        month = f"{first:%Y-%m}"
        row = rows.get(month, {"n": 0})
        if _native_percentiles():
            p50, p90 = _days(row.get("p50")), _days(row.get("p90"))
        else:
            values = durations.get((month,), [])
            p50 = _round(percentile(values, 0.5) / 1440) if values else None
            p90 = _round(percentile(values, 0.9) / 1440) if values else None
        months.append({"month": month, "signed_off": row["n"], "median_days": p50, "p90_days": p90})
    outcomes = {o: sum(row[o] for row in rows.values()) for o in Outcome.values}  # from the same aggregate
    screenings = screening_figures(office=office, period=period)
    no = sum(m["no"] for m in screenings)
    return {
        "months": months,
        "screenings": screenings,
        "outcomes": [
            {"outcome": "screening_no", "label": _("Screening: no weighty indications (closed)"), "count": no},
            *({"outcome": o.value, "label": o.label, "count": outcomes.get(o.value, 0)} for o in Outcome),
        ],
    }


def _screenings_completed(office, period: Period):
    """Screenings of the office completed in the period: a "no" when it was signed off (that closes
    the case), a "yes" when it was recorded (the case goes on to the risk assessment)."""
    begin, end = period.begin_at, period.end_at
    no = Q(weighty_indications=False, signed_off_at__gte=begin, signed_off_at__lt=end)
    yes = Q(weighty_indications=True, created_at__gte=begin, created_at__lt=end)
    return (
        Screening.objects.filter(referral__youth_office=office)
        .filter(no | yes)
        .annotate(done=Case(When(weighty_indications=False, then=F("signed_off_at")), default=F("created_at")))
        .annotate(month=TruncMonth("done"))
    )


def screening_figures(*, office, period: Period) -> list[dict]:
    """Per month: screenings completed, how many found no weighty indications, and the median and 90th
    percentile days from receipt to completion. One query (two on SQLite)."""
    completed = _screenings_completed(office, period)
    aggregates: dict = {"n": Count("id"), "no": Count("id", filter=Q(weighty_indications=False))}
    if _native_percentiles():
        took = F("done") - F("referral__received_at")
        aggregates["p50"] = PercentileCont(took, 0.5)
        aggregates["p90"] = PercentileCont(took, 0.9)
    rows = {_month_key(r["month"]): r for r in completed.values("month").annotate(**aggregates).order_by()}
    durations = {} if _native_percentiles() else _durations_by(completed, ["month"], "referral__received_at", "done")
    result = []
    for first in period.months():
        month = f"{first:%Y-%m}"
        row = rows.get(month, {"n": 0, "no": 0})
        if _native_percentiles():
            p50, p90 = _days(row.get("p50")), _days(row.get("p90"))
        else:
            values = durations.get((month,), [])
            p50 = _round(percentile(values, 0.5) / 1440) if values else None
            p90 = _round(percentile(values, 0.9) / 1440) if values else None
        result.append({"month": month, "screened": row["n"], "no": row["no"], "median_days": p50, "p90_days": p90})
    return result


def _days(value) -> float | None:
    minutes = _minutes(value)
    return None if minutes is None else round(minutes / 1440, 1)


def office_dashboard(*, user, office, period: Period, now) -> dict:
    """Everything the office dashboard shows. A lead sees the whole office; a caseworker their own
    part: their open cases, overdue ones and those waiting for sign-off — not the office's
    performance figures (which are the lead's oversight)."""
    lead = is_lead_of(user, office)
    figures = {
        "office": {"id": office.pk, "name": office.name},
        "period": {"from": period.start, "to": period.end},
        "scope": "office" if lead else "own",
        "workload": office_workload(office=office, now=now, assignee=None if lead else user),
    }
    if lead:
        figures["clock"] = clock_compliance(office=office, period=period, now=now)
        figures["assessments"] = assessment_figures(office=office, period=period)
        received = sum(r["received"] for r in figures["clock"])
        repeats = sum(r["repeat"] for r in figures["clock"])
        figures["repeat"] = {"received": received, "repeat": repeats, "share": _share(repeats, received)}
    return figures


# --- the inbox filtered to one figure ---------------------------------------------------------------


def figure_q(value: str, user, now) -> Q | None:
    """The referrals behind one dashboard figure, as a filter of the inbox (``?figure=``): exactly the
    cases the figure counts. ``value`` is ``key:office[:…]``; an office the person does not work in,
    or a malformed value, yields no referrals (the inbox is the person's scope anyway). None when
    the value names no figure at all."""
    parts = (value or "").split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    key, office_id, rest = parts[0], int(parts[1]), parts[2:]
    if office_id not in actor_of(user).office_ids:
        return Q(pk__in=[])
    own = Q(youth_office_id=office_id)
    open_ = own & Q(status__in=OPEN_STATUSES)
    person = Q()
    if rest and rest[-1].startswith("p") and rest[-1][1:].isdigit():
        person = Q(assignee_id=int(rest[-1][1:]))
        rest = rest[:-1]
    if key == "open" and len(rest) <= 2:
        status, urgency = (rest + ["", ""])[:2]
        q = open_ & person
        if status:
            q &= Q(status=status)
        if urgency:
            q &= Q(urgency=urgency)
        return q
    if key == "unassigned" and not rest:
        return open_ & Q(assignee__isnull=True)
    if key == "overdue" and not rest:
        return open_ & person & overdue_q(now)
    if key == "signoff" and not rest:
        return open_ & person & waiting_signoff_q()
    if key == "signoff_request" and not rest:
        return open_ & person & signoff_requested_q()
    if key == "handover_in" and not rest:
        return Q(forwarded_to_id=office_id, status=Status.FORWARDED)
    if key == "handover_out" and not rest:
        return open_ & person & Q(status=Status.FORWARDED)
    if key == "clock" and len(rest) == 3:
        return _clock_cell_q(own, rest, now)
    if key == "outcome" and len(rest) == 3 and rest[2] == "screening_no":
        return _screening_no_q(office_id, rest)
    if key == "outcome" and len(rest) == 3:
        return _outcome_q(office_id, rest)
    return Q(pk__in=[])


def _month_bounds(month: str) -> tuple[datetime.datetime, datetime.datetime] | None:
    try:
        first = datetime.datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        return None
    return _local_midnight(first), _local_midnight(_next_month(first))


def _clock_cell_q(own: Q, rest: list[str], now) -> Q:
    month, urgency, kind = rest
    bounds = _month_bounds(month)
    if bounds is None or urgency not in URGENCIES:
        return Q(pk__in=[])
    q = own & Q(received_at__gte=bounds[0], received_at__lt=bounds[1], urgency=urgency) & ~Q(status=Status.DRAFT)
    kinds = {
        "received": Q(),
        "in_time": Q(acknowledged_at__isnull=False, acknowledged_at__lte=F("due_at"))
        | Q(acknowledged_at__isnull=False, due_at=None),
        "late": Q(acknowledged_at__gt=F("due_at")) | Q(acknowledged_at__isnull=True, due_at__lt=now),
        "repeat": Q(Exists(ReferralEvent.objects.filter(referral=OuterRef("pk"), kind=ReferralEvent.Kind.REPEAT))),
    }
    return q & kinds[kind] if kind in kinds else Q(pk__in=[])


def _outcome_q(office_id: int, rest: list[str]) -> Q:
    start, end, outcome = rest
    try:
        period = Period(datetime.date.fromisoformat(start), datetime.date.fromisoformat(end))
    except ValueError:
        return Q(pk__in=[])
    if outcome not in Outcome.values:
        return Q(pk__in=[])
    signed = Assessment.objects.filter(
        referral=OuterRef("pk"), outcome=outcome, signed_off_at__gte=period.begin_at, signed_off_at__lt=period.end_at
    )
    return Q(youth_office_id=office_id) & Q(Exists(signed))


def _screening_no_q(office_id: int, rest: list[str]) -> Q:
    try:
        period = Period(datetime.date.fromisoformat(rest[0]), datetime.date.fromisoformat(rest[1]))
    except ValueError:
        return Q(pk__in=[])
    signed = Screening.objects.filter(
        referral=OuterRef("pk"),
        weighty_indications=False,
        signed_off_at__gte=period.begin_at,
        signed_off_at__lt=period.end_at,
    )
    return Q(youth_office_id=office_id) & Q(Exists(signed))


# --- the district dashboard -------------------------------------------------------------------------


def district_authorities(user) -> list[Agency]:
    """Police authorities whose filings ``user`` may see as figures: the police coordinator their own
    authority, the district coordinator every authority of their districts. Empty for anyone else."""
    actor = actor_of(user)
    query = Q(pk__in=actor.authority_ids) | Q(district_id__in=actor.coordinator_district_ids)
    if not actor.authority_ids and not actor.coordinator_district_ids:
        return []
    return list(Agency.objects.filter(query, kind=AgencyKind.POLICE_AUTHORITY).order_by("name"))


DISTRICT_COUNTS = (
    "filed", "immediate", "urgent", "routine", *(f"concern_{c}" for c in Concern.values),
    "direct", "via_triage", "forwarded", "feedback", "immediate_ended", "immediate_within_hour", "acknowledged",
)  # fmt: skip


def _concern_q(concern: str) -> Q:
    if connection.features.supports_json_field_contains:
        return Q(concerns__contains=[concern])
    return Q(concerns__icontains=f'"{concern}"')


def district_figures(*, authority_ids: list[int], period: Period, now, by_month: bool = True) -> list[dict]:
    """Per police station × youth office (the office now responsible; none while in the triage queue or
    handed over outside the system) and per month of filing (``by_month``; else the whole period):
    referrals filed, by urgency and concern; routed directly or via the triage queue; forwarded
    afterwards (a hand-over another office accepted); acknowledged (the coded feedback with office and
    contact reached the police); immediate ones acknowledged within the hour; median minutes to
    acknowledge. Suppressed below 3. One query (two on SQLite)."""
    filed = Referral.objects.filter(
        police_authority_id__in=authority_ids, submitted_at__gte=period.begin_at, submitted_at__lt=period.end_at
    ).exclude(status=Status.DRAFT)
    keys = ["station_id", "youth_office_id"]
    if by_month:
        filed = filed.annotate(month=TruncMonth("submitted_at"))
        keys.append("month")
    accepted = ReferralEvent.objects.filter(referral=OuterRef("pk"), kind=ReferralEvent.Kind.FORWARD_ACCEPTED)
    hour = datetime.timedelta(hours=1)
    immediate = Q(urgency=Urgency.IMMEDIATE)
    aggregates = {
        "filed": Count("id"),
        **{u: Count("id", filter=Q(urgency=u)) for u in URGENCIES},
        **{f"concern_{c}": Count("id", filter=_concern_q(c)) for c in Concern.values},
        "direct": Count("id", filter=Q(triage_reason="")),
        "via_triage": Count("id", filter=~Q(triage_reason="")),
        "forwarded": Count("id", filter=Q(Exists(accepted))),
        "acknowledged": Count("id", filter=Q(acknowledged_at__isnull=False)),
        "feedback": Count("id", filter=Q(acknowledged_at__isnull=False)),
        "immediate_ended": Count(
            "id", filter=immediate & (Q(acknowledged_at__isnull=False) | Q(received_at__lte=now - hour))
        ),
        "immediate_within_hour": Count(
            "id", filter=immediate & Q(acknowledged_at__isnull=False, acknowledged_at__lte=F("received_at") + hour)
        ),
    }
    if _native_percentiles():
        aggregates["p50"] = PercentileCont(
            F("acknowledged_at") - F("received_at"), 0.5, filter=Q(acknowledged_at__isnull=False)
        )
    rows = list(filed.values(*keys).annotate(**aggregates).order_by())
    durations = {} if _native_percentiles() else _durations_by(filed, keys, "received_at", "acknowledged_at")
    names = dict(Agency.objects.filter(pk__in={r[k] for r in rows for k in keys[:2] if r[k]}).values_list("pk", "name"))
    result = []
    for row in rows:
        key = tuple(row[k] for k in keys)
        if _native_percentiles():
            median = _minutes(row.get("p50"))
        else:
            lookup = (*key[:2], _month_key(key[2])) if by_month else key
            median = _round(percentile(durations.get(lookup, []), 0.5))
        hidden = suppressed_cells({name: row[name] for name in DISTRICT_COUNTS if name in row})
        entry = {
            "station": names.get(row["station_id"], "?"),
            "office": names.get(row["youth_office_id"]) if row["youth_office_id"] else _("Triage / outside the system"),
            "month": _month_key(row["month"]) if by_month else None,
            **{name: SUPPRESSED if name in hidden else row[name] for name in DISTRICT_COUNTS if name in row},
            "median_minutes": suppress_derived(median, row["acknowledged"]),
            "immediate_within_hour_share": suppress_derived(
                _share(row["immediate_within_hour"], row["immediate_ended"]), row["immediate_ended"]
            ),
        }
        result.append(entry)
    result.sort(key=lambda r: (r["month"] or "", r["station"], r["office"]))
    return result


DISTRICT_COLUMNS = (
    "month", "station", "office", "filed", "immediate", "urgent", "routine",
    *(f"concern_{c}" for c in Concern.values),
    "direct", "via_triage", "forwarded", "median_minutes", "immediate_within_hour_share", "feedback",
)  # fmt: skip


def district_headers(*, by_month: bool = True) -> list[str]:
    labels = {
        "month": _("Month"),
        "station": _("Police station"),
        "office": _("Youth office"),
        "filed": _("Referrals filed"),
        "immediate": str(Urgency.IMMEDIATE.label),
        "urgent": str(Urgency.URGENT.label),
        "routine": str(Urgency.ROUTINE.label),
        **{f"concern_{c.value}": str(c.label) for c in Concern},
        "direct": _("Routed directly"),
        "via_triage": _("Via triage"),
        "forwarded": _("Forwarded afterwards"),
        "median_minutes": _("Median minutes to acknowledge"),
        "immediate_within_hour_share": _("Immediate acknowledged within the hour (%)"),
        "feedback": _("Feedback reached police"),
    }
    return [labels[c] for c in district_columns(by_month=by_month)]


def district_columns(*, by_month: bool = True) -> tuple[str, ...]:
    return DISTRICT_COLUMNS if by_month else DISTRICT_COLUMNS[1:]


def cell_text(value) -> str | int | float:
    """A cell for the CSV and the page: "< 3" for a suppressed one, "–" for no value."""
    if isinstance(value, Suppressed):
        return value.text
    if value is None:
        return "–"
    return value


def api_cell(value):
    """A cell for the API: the number, the string "< 3" for a suppressed one, null for no value."""
    return SUPPRESSED.text if isinstance(value, Suppressed) else value


# --- the referral part of the annual cooperation report --------------------------------------------


def cooperation_referral_figures(*, district, year: int) -> dict:
    """The referral figures of the annual cooperation report (``meetings`` reads them through the
    setting ``COOPERATION_REPORT_REFERRAL_FIGURES``, as it may not import this app): per police
    station × youth office over the year, suppressed below 3, and whether the year holds any
    referral at all (a year without data says so; no fallback to another year)."""
    authorities = list(
        Agency.objects.filter(district=district, kind=AgencyKind.POLICE_AUTHORITY).values_list("pk", flat=True)
    )
    period = Period(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    rows = district_figures(authority_ids=authorities, period=period, now=timezone.now(), by_month=False)
    columns = district_columns(by_month=False)
    return {
        "has_data": bool(rows),
        "columns": columns,
        "headers": district_headers(by_month=False),
        "rows": rows,
        "csv_rows": [[cell_text(r[c]) for c in columns] for r in rows],
        "api_rows": [{c: api_cell(r[c]) for c in columns} for r in rows],
    }


def referrals_filed_count(*, authority_ids: list[int], period: Period) -> int:
    """How many referrals the authorities filed in the period (for "no data" messages)."""
    return (
        Referral.objects.filter(
            police_authority_id__in=authority_ids, submitted_at__gte=period.begin_at, submitted_at__lt=period.end_at
        )
        .exclude(status=Status.DRAFT)
        .count()
    )
