"""The contact directory (Erreichbarkeiten): who may see which contact details, office hours, and
who keeps an agency's entry. Rules in docs/domain.md, section "Sofort-Fälle".

- Office phone, functional mailbox, office hours and contact persons: every logged-in member of an
  agency of the same district.
- On-call phone and mailbox (Rufbereitschaft) are confidential: members of police agencies and
  youth offices of the same district, and the members of the agency itself (who keep them). Never
  anonymous visitors, never another district, never in an e-mail.
"""

import datetime
from typing import Any

from django.db.models import Prefetch, QuerySet

from core.calendar import LOCAL_TZ, nrw_holidays  # the one working-day calendar

from .actor import actor_of
from .models import (
    OFFICE_ROLES,
    Agency,
    AgencyKind,
    ContactPerson,
    OfficeHours,
    Role,
    Weekday,
)

ONCALL_KINDS = (AgencyKind.POLICE_AUTHORITY, AgencyKind.POLICE_STATION, AgencyKind.YOUTH_OFFICE)
# An agency without recorded office hours counts as open Monday to Friday 08:00–16:00 (working days).
DEFAULT_HOURS = (datetime.time(8, 0), datetime.time(16, 0))


def district_ids_of(user: Any) -> set[int]:
    """The districts in which ``user`` holds an active membership."""
    return actor_of(user).district_ids()


def oncall_district_ids_of(user: Any) -> set[int]:
    """Districts whose on-call numbers ``user`` may see: those of their police or youth office memberships."""
    return {m.agency.district_id for m in actor_of(user).memberships if m.agency.kind in ONCALL_KINDS}


def sees_oncall(user: Any, agency: Agency) -> bool:
    """May ``user`` see the on-call phone and mailbox of ``agency``?"""
    if agency.district_id in oncall_district_ids_of(user):
        return True
    return agency.pk in actor_of(user).agency_ids()


def directory_for(user: Any) -> QuerySet[Agency]:
    """The agencies whose directory entry ``user`` may read: every active agency of their districts
    (none for anonymous people or people without a membership). The one scoping function of the
    directory; pages and API use it, anything else answers 404."""
    districts = district_ids_of(user)
    if not districts:
        return Agency.objects.none()
    return (
        Agency.objects.filter(district_id__in=districts, is_active=True)
        .select_related("district", "parent")
        .prefetch_related(
            Prefetch("office_hours", queryset=OfficeHours.objects.order_by("weekday", "opens")),
            Prefetch("contact_persons", queryset=ContactPerson.objects.order_by("position", "id")),
        )
        .order_by("kind", "name")
    )


def editable_by(user: Any) -> list[Agency]:
    """The agencies whose entry ``user`` keeps: an office lead their youth office, a police
    coordinator the authority and its stations, the district coordinator the coordination office."""
    agencies: dict[int, Agency] = {}
    for membership in actor_of(user).memberships:
        agency = membership.agency
        if membership.role == Role.OFFICE_LEAD and agency.kind == AgencyKind.YOUTH_OFFICE:
            agencies[agency.pk] = agency
        elif membership.role == Role.DISTRICT_COORDINATOR and agency.kind == AgencyKind.COORDINATION:
            agencies[agency.pk] = agency
        elif membership.role == Role.POLICE_COORDINATOR and agency.kind == AgencyKind.POLICE_AUTHORITY:
            agencies[agency.pk] = agency
            for station in Agency.objects.filter(parent=agency, is_active=True):
                agencies[station.pk] = station
    return sorted(agencies.values(), key=lambda a: (a.kind != AgencyKind.POLICE_AUTHORITY, a.name))


def may_edit(user: Any, agency: Agency) -> bool:
    return any(a.pk == agency.pk for a in editable_by(user))


def is_office_member(user: Any) -> bool:
    return actor_of(user).has_role(*OFFICE_ROLES)


# --- office hours ---------------------------------------------------------------------------------


def _spans(agency: Agency) -> dict[int, list[tuple[datetime.time, datetime.time]]]:
    rows = list(agency.office_hours.all())
    if not rows:
        return {day: [DEFAULT_HOURS] for day in range(5)}
    spans: dict[int, list[tuple[datetime.time, datetime.time]]] = {}
    for row in sorted(rows, key=lambda r: (r.weekday, r.opens)):
        spans.setdefault(row.weekday, []).append((row.opens, row.closes))
    return spans


def is_open(agency: Agency, at: datetime.datetime) -> bool:
    """Is ``agency`` within its office hours at ``at`` (local time in NRW)? Public holidays of NRW
    and weekends without recorded hours are closed; an agency staffed round the clock is always open."""
    if agency.is_24h:
        return True
    local = at.astimezone(LOCAL_TZ)
    if local.date() in _holidays(local.date()):
        return False
    return any(opens <= local.time() < closes for opens, closes in _spans(agency).get(local.weekday(), []))


def _holidays(day: datetime.date) -> frozenset[datetime.date]:
    return nrw_holidays(day.year)


def next_opening(agency: Agency, at: datetime.datetime) -> datetime.datetime | None:
    """When ``agency`` next opens after ``at`` (local time), skipping NRW public holidays; None if it
    has no office hours at all within two weeks."""
    local = at.astimezone(LOCAL_TZ)
    spans = _spans(agency)
    for offset in range(15):
        day = local.date() + datetime.timedelta(days=offset)
        if day in _holidays(day):
            continue
        for opens, _closes in spans.get(day.weekday(), []):
            start = datetime.datetime.combine(day, opens, tzinfo=LOCAL_TZ)
            if start > local:
                return start
    return None


def hours_by_weekday(agency: Agency) -> list[tuple[str, str]]:
    """(weekday label, "08:00–12:00, 13:00–15:00") for each weekday with recorded hours."""
    rows: dict[int, list[str]] = {}
    for row in agency.office_hours.all():
        rows.setdefault(row.weekday, []).append(f"{row.opens:%H:%M}–{row.closes:%H:%M}")
    return [(str(Weekday(day).label), ", ".join(spans)) for day, spans in sorted(rows.items())]


def contact_card(agency: Agency, user: Any) -> dict[str, Any]:
    """The directory entry of ``agency`` as ``user`` may see it (on-call only where allowed)."""
    oncall = sees_oncall(user, agency)
    return {
        "id": agency.pk,
        "name": agency.name,
        "kind": agency.kind,
        "kind_label": str(AgencyKind(agency.kind).label),
        "city": agency.city,
        "phone": agency.phone,
        "email": agency.email,
        "is_24h": agency.is_24h,
        "oncall_visible": oncall,
        "oncall_phone": agency.oncall_phone if oncall else None,
        "oncall_email": agency.oncall_email if oncall else None,
        "office_hours": [
            {"weekday": row.weekday, "opens": f"{row.opens:%H:%M}", "closes": f"{row.closes:%H:%M}"}
            for row in agency.office_hours.all()
        ],
        "office_hours_display": hours_by_weekday(agency),
        "contact_persons": [
            {"name": p.name, "role": p.function, "phone": p.phone, "email": p.email}
            for p in agency.contact_persons.all()
        ],
        "placeholder": agency.contacts_placeholder,
    }


def coordination_office_of(district_id: int) -> Agency | None:
    return Agency.objects.filter(kind=AgencyKind.COORDINATION, district_id=district_id, is_active=True).first()


def contact_person_of(user: Any, agency: Agency) -> dict[str, Any]:
    """Whom police may call about a case: the person who acknowledged or works on it, by full name
    (never a user name) with the direct phone of their directory entry, else the office's phone.
    Someone without a full name and without an entry is named by the office instead."""
    entry = ContactPerson.objects.filter(agency=agency, user=user).order_by("position", "id").first()
    name = (entry.name if entry else "") or user.get_full_name() or agency.name
    return {
        "name": name,
        "phone": (entry.phone if entry else "") or agency.phone,
        "email": (entry.email if entry else "") or agency.email,
    }


def submission_contacts(referral: Any, user: Any, now: datetime.datetime) -> dict[str, Any] | None:
    """What the officer sees after submitting (and on the referral's page until an office has
    acknowledged it): the responsible office (or the coordination office for triage) with its phone,
    and — for an immediate referral — its on-call number with the instruction to phone now; for an
    urgent referral outside the office's hours, when the office will see it and the on-call number
    to phone if it cannot wait. None once acknowledged (the feedback names the contact person)."""
    if referral.in_triage:
        agency = coordination_office_of(referral.police_authority.district_id)
    elif referral.awaiting_office:
        agency = referral.youth_office
    else:
        return None
    if agency is None:
        return None
    # Police of the filing station or authority see the on-call number of the office their referral
    # went to, also in another district of the instance (docs/jurisdiction.md): they may have to phone now.
    filed_by_them = bool({referral.station_id, referral.police_authority_id} & actor_of(user).police_agency_ids)
    oncall = sees_oncall(user, agency) or filed_by_them
    contacts = {
        "agency": agency,
        "triage": referral.in_triage,
        "phone": agency.phone,
        "oncall_phone": agency.oncall_phone if oncall else "",
        "immediate": referral.is_immediate,
        "after_hours": False,
        "next_opening": None,
    }
    # Filed outside the office's hours: until the office opens again, say when it will see it.
    filed = referral.submitted_at or now
    if referral.is_urgent and not is_open(agency, filed):
        opening = next_opening(agency, filed)
        if opening is None or opening > now:
            contacts["after_hours"] = True
            contacts["next_opening"] = opening
    return contacts
