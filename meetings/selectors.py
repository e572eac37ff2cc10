"""Reads of the cooperation programme: a person's calendar, the leads' hospitation programme and the
annual cooperation report. Every read of single objects goes through the models' ``visible_to``;
the totals and the report hold counts only, no names of people."""

import datetime
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.utils import formats, timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from agencies.models import OFFICE_ROLES, POLICE_ROLES, Agency, Membership
from core.calendar import LOCAL_TZ
from core.spreadsheet import csv_text

from .models import (
    Attendance,
    CalendarFeedToken,
    Hospitation,
    HospitationStatus,
    InfoEvent,
    Meeting,
    MeetingSeries,
    MeetingStatus,
    Registration,
    RegistrationStatus,
    _coordinated_district_ids,
    _lead_agency_ids,
)
from .notifications import DETAIL_URL_NAMES

OFFICE_OR_POLICE_ROLES = POLICE_ROLES + OFFICE_ROLES


def _local_bounds(year: int) -> tuple[datetime.datetime, datetime.datetime]:
    """1 January 00:00 to the next 1 January 00:00, German local time."""
    return (
        datetime.datetime(year, 1, 1, tzinfo=LOCAL_TZ),
        datetime.datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ),
    )


def _hospitation_title(h: Hospitation) -> str:
    return _("Hospitation at %(agency)s") % {"agency": h.host_agency.name}


def calendar_items_for(user, start: datetime.datetime, end: datetime.datetime) -> list[dict]:
    """A person's dates between ``start`` and ``end``, sorted by start: what ``visible_to`` allows
    *and* they take part in or lead.

    - meetings (not cancelled) of the series they are invited to, whose agencies they lead, or of their
      district (coordinator) — proposals included, with their status;
    - hospitations (approved or completed) they make or host, or of agencies they lead, or of their
      district — whole days: ``start`` and ``end`` are that ``date``;
    - information events (not cancelled) they registered for (status: their registration), or hosted
      by an agency they lead, or of their district (status "scheduled").

    Each item: ``{kind, id, title, start, end, place, status, url_name}``. Four queries.
    """
    items: list[dict] = []
    meetings = (
        Meeting.objects.visible_to(user)
        .filter(start__lt=end, end__gt=start)
        .exclude(status=MeetingStatus.CANCELLED)
        .select_related("series")
    )
    for m in meetings:
        items.append(
            {
                "kind": "meeting", "id": m.pk, "title": m.series.title, "start": m.start, "end": m.end,
                "place": m.location or m.video_link, "status": m.status, "url_name": DETAIL_URL_NAMES["meeting"],
            }
        )  # fmt: skip

    first_day = timezone.localtime(start, LOCAL_TZ).date()
    last_day = timezone.localtime(end, LOCAL_TZ).date()
    hospitations = (
        Hospitation.objects.visible_to(user)
        .filter(
            status__in=[HospitationStatus.APPROVED, HospitationStatus.COMPLETED],
            date__gte=first_day,
            date__lte=last_day,
        )
        .select_related("host_agency")
    )
    for h in hospitations:
        if datetime.datetime.combine(h.date, datetime.time.min, tzinfo=LOCAL_TZ) >= end:
            continue
        items.append(
            {
                "kind": "hospitation", "id": h.pk, "title": _hospitation_title(h), "start": h.date, "end": h.date,
                "place": h.host_agency.name, "status": h.status, "url_name": DETAIL_URL_NAMES["hospitation"],
            }
        )  # fmt: skip

    mine = dict(
        Registration.objects.filter(person=user)
        .exclude(status=RegistrationStatus.CANCELLED)
        .values_list("event_id", "status")
    )
    leads = _lead_agency_ids(user)
    districts = _coordinated_district_ids(user)
    events = InfoEvent.objects.visible_to(user).filter(
        Q(pk__in=list(mine)) | Q(host_agency_id__in=leads) | Q(host_agency__district_id__in=districts),
        is_cancelled=False,
        start__lt=end,
        end__gt=start,
    )
    for e in events:
        items.append(
            {
                "kind": "event", "id": e.pk, "title": e.title, "start": e.start, "end": e.end, "place": e.place,
                "status": mine.get(e.pk, "scheduled"), "url_name": DETAIL_URL_NAMES["event"],
            }
        )  # fmt: skip

    def sort_key(item):
        value = item["start"]
        if not isinstance(value, datetime.datetime):
            value = datetime.datetime.combine(value, datetime.time.min, tzinfo=LOCAL_TZ)
        return (value, item["kind"], item["id"])

    return sorted(items, key=sort_key)


def feed_owner(token: str):
    """The person a calendar subscription token belongs to, or None (unknown, revoked, inactive)."""
    if not token or len(token) > 64:
        return None
    found = CalendarFeedToken.objects.select_related("user").filter(token=token, user__is_active=True).first()
    return found.user if found else None


# --- the hospitation programme --------------------------------------------------------------------

HOSPITATION_STATUSES = [choice.value for choice in HospitationStatus]


def programme_agency_ids(user) -> list[int]:
    """Agencies whose hospitation programme a person oversees: those they lead, and every agency of
    the district they coordinate."""
    ids = set(_lead_agency_ids(user))
    districts = _coordinated_district_ids(user)
    if districts:
        ids |= set(Agency.objects.filter(district_id__in=districts).values_list("pk", flat=True))
    return sorted(ids)


def programme_totals(user, year: int) -> list[dict]:
    """Hospitations per agency in ``year`` for a lead (their agencies) or the district coordinator
    (every agency of the district that took part): the current status counts of the hospitations the
    agency's people asked for or the agency hosted (``requested`` ... ``cancelled``), and of those
    done, ``visited`` (as visitor) and ``hosted``. A hospitation counts in the year of its date, one
    without a date in the year it was asked for. Two grouped queries."""
    agency_ids = programme_agency_ids(user)
    if not agency_ids:
        raise PermissionDenied(_("Only leads and the district coordinator see the hospitation programme."))
    begin, end = _local_bounds(year)
    in_year = Q(date__year=year) | Q(date__isnull=True, created_at__gte=begin, created_at__lt=end)
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    base = Hospitation.objects.filter(in_year)
    for side, field in (("visited", "requester_agency_id"), ("hosted", "host_agency_id")):
        grouped = base.filter(**{f"{field}__in": agency_ids}).values(field, "status").annotate(n=Count("pk")).order_by()
        for row in grouped:
            counts[row[field]][row["status"]] += row["n"]
            if row["status"] == HospitationStatus.COMPLETED:
                counts[row[field]][side] += row["n"]
    coordinator = bool(_coordinated_district_ids(user))
    agencies = Agency.objects.filter(pk__in=agency_ids).order_by("kind", "name")
    rows = []
    for agency in agencies:
        if coordinator and agency.pk not in counts and agency.pk not in _lead_agency_ids(user):
            continue
        c = counts.get(agency.pk, {})
        row = {"agency": agency.name, "year": year}
        row.update({status: c.get(status, 0) for status in HOSPITATION_STATUSES})
        row.update({"visited": c.get("visited", 0), "hosted": c.get("hosted", 0)})
        rows.append(row)
    return rows


# --- the annual cooperation report ----------------------------------------------------------------


def _pair_label(names) -> str:
    return " – ".join(sorted(names))


def _first_agency_of(user_ids) -> dict[int, int]:
    """Each person's agency on one side (their first police or youth-office membership)."""
    first: dict[int, int] = {}
    memberships = (
        Membership.objects.filter(user_id__in=user_ids, role__in=OFFICE_OR_POLICE_ROLES)
        .order_by("pk")
        .values_list("user_id", "agency_id")
    )
    for user_id, agency_id in memberships:
        first.setdefault(user_id, agency_id)
    return first


def annual_report(*, district, year: int) -> list[dict]:
    """The yearly review the agreement asks for: one row per agency pair and a last row for the whole
    district (``is_total``).

    - ``meetings_held`` and ``attendance`` (people present per held meeting, on average) of the series
      the pair takes part in (a series of more agencies forms its own group);
    - ``hospitations_done``: completed hospitations between the two agencies (either direction);
    - ``events`` and ``participants``: information events one agency hosted and people of the other
      registered for (the total row: every event held in the district and all registered people).

    Counts only, no names of people; a fixed number of queries whatever the size. The caller checks
    that the person may see the district's figures (the district coordinator)."""
    begin, end = _local_bounds(year)
    rows: dict[tuple, dict] = {}
    names = dict(Agency.objects.filter(district=district).values_list("pk", "name"))

    def row(agency_ids) -> dict:
        key = tuple(sorted(set(agency_ids)))
        if key not in rows:
            rows[key] = {
                "pair": _pair_label(names.get(pk, "?") for pk in key), "meetings_held": 0, "attendance": 0.0,
                "hospitations_done": 0, "events": 0, "participants": 0, "is_total": False, "_present": 0,
            }  # fmt: skip
        return rows[key]

    held = list(
        Meeting.objects.filter(
            series__district=district, status=MeetingStatus.HELD, start__gte=begin, start__lt=end
        ).values_list("pk", "series_id")
    )
    present = dict(
        Attendance.objects.filter(meeting_id__in=[pk for pk, _series_id in held], present=True)
        .values("meeting_id")
        .annotate(n=Count("pk"))
        .values_list("meeting_id", "n")
    )
    series_agencies: dict[int, list[int]] = defaultdict(list)
    through = MeetingSeries.agencies.through
    for series_id, agency_id in through.objects.filter(
        meetingseries_id__in={series_id for _pk, series_id in held}
    ).values_list("meetingseries_id", "agency_id"):
        series_agencies[series_id].append(agency_id)
    for pk, series_id in held:
        r = row(series_agencies[series_id])
        r["meetings_held"] += 1
        r["_present"] += present.get(pk, 0)

    done = Hospitation.objects.filter(
        host_agency__district=district, status=HospitationStatus.COMPLETED, date__year=year
    ).values_list("requester_agency_id", "host_agency_id")
    hospitations_done = 0
    for requester_agency_id, host_agency_id in done:
        row([requester_agency_id, host_agency_id])["hospitations_done"] += 1
        hospitations_done += 1

    events = dict(
        InfoEvent.objects.filter(
            host_agency__district=district, is_cancelled=False, start__gte=begin, start__lt=end
        ).values_list("pk", "host_agency_id")
    )
    registered = list(
        Registration.objects.filter(event_id__in=list(events), status=RegistrationStatus.REGISTERED).values_list(
            "event_id", "person_id"
        )
    )
    agency_of = _first_agency_of({person_id for _event_id, person_id in registered})
    events_of_pair: dict[tuple, set] = defaultdict(set)
    for event_id, person_id in registered:
        host, guest = events[event_id], agency_of.get(person_id)
        if guest is None or guest == host:
            continue
        r = row([host, guest])
        r["participants"] += 1
        events_of_pair[tuple(sorted({host, guest}))].add(event_id)
    for key, ids in events_of_pair.items():
        rows[key]["events"] = len(ids)

    result = sorted(rows.values(), key=lambda r: r["pair"])
    meetings_held = len(held)
    total_present = sum(present.values())
    total = {
        "pair": _("%(district)s (total)") % {"district": district.name}, "meetings_held": meetings_held,
        "attendance": round(total_present / meetings_held, 1) if meetings_held else 0.0,
        "hospitations_done": hospitations_done, "events": len(events), "participants": len(registered),
        "is_total": True,
    }  # fmt: skip
    for r in result:
        r["attendance"] = round(r.pop("_present") / r["meetings_held"], 1) if r["meetings_held"] else 0.0
    return [*result, total]


REPORT_COLUMNS = ("pair", "meetings_held", "attendance", "hospitations_done", "events", "participants")


def _report_headers() -> list[str]:
    return [
        _("Agencies"),
        _("Meetings held"),
        _("Attendance (people present per meeting)"),
        _("Hospitations done"),
        _("Events"),
        _("Participants"),
    ]


def _csv_cell(value):
    return formats.number_format(value, 1) if isinstance(value, float) else value


def annual_report_csv(*, district, year: int) -> str:
    """``annual_report`` as CSV for spreadsheets: semicolon-separated (as German spreadsheet programs
    expect), decimal numbers in the active language's format, headers in the active language. The
    referral figures (``referral_figures``) follow as a second table after an empty line: one
    document, as the page; a year without any data says so in its first line."""
    report = annual_report(district=district, year=year)
    rows = [[_csv_cell(r[column]) for column in REPORT_COLUMNS] for r in report]
    text = csv_text(_report_headers(), rows, delimiter=";")
    figures = referral_figures(district=district, year=year)
    if figures is not None:
        text += "\r\n" + csv_text(
            figures["headers"], [[_csv_cell(c) for c in r] for r in figures["csv_rows"]], delimiter=";"
        )
    if not report_has_data(report, figures):
        text = (
            csv_text(
                [_("No meetings, hospitations, events or referrals recorded in %(year)s.") % {"year": year}],
                [],
                delimiter=";",
            )
            + text
        )
    return text


def referral_figures(*, district, year: int) -> dict | None:
    """The referral figures of the joint report (issue 15 § 2): per police station and youth office,
    counts below 3 suppressed. They come from the referrals app through the setting
    ``COOPERATION_REPORT_REFERRAL_FIGURES`` (a dotted path, set in ``config/settings.py``): this app
    may not import ``referrals`` (tests/test_architecture.py), and the report must not know how the
    figures are computed. None when the setting is empty."""
    path = getattr(settings, "COOPERATION_REPORT_REFERRAL_FIGURES", "")
    return import_string(path)(district=district, year=year) if path else None


def report_has_data(report: list[dict], figures: dict | None) -> bool:
    """Whether the year holds anything: a meeting, hospitation or event, or a referral."""
    total = next((r for r in report if r.get("is_total")), {})
    cooperation = any(total.get(k) for k in ("meetings_held", "hospitations_done", "events", "participants"))
    return cooperation or bool(figures and figures["has_data"])
