"""Writes for agencies: seeding a district from its data file; ending sessions, deactivating people, API tokens."""

import datetime
import json
import logging
import secrets
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.text import slugify

from .models import (
    API_TOKEN_PREFIX_LENGTH,
    Agency,
    AgencyKind,
    ApiToken,
    ContactPerson,
    District,
    JurisdictionArea,
    Membership,
    OfficeHours,
    Role,
    ags_validator,
    api_token_digest,
    postcode_validator,
)
from .routing import normalize_city

logger = logging.getLogger(__name__)
DISTRICTS_DIR = Path(__file__).resolve().parent / "districts"

# Sent by ``district_seed`` in its transaction with ``offices``: the youth offices and the coordination
# office of the district just seeded (new or existing); receivers must be idempotent.
offices_seeded = Signal()
DEMO_PASSWORD = "Kinderschutz-Demo-2026"  # noqa: S105 - the published demo password (README)


@dataclass
class SeedReport:
    district: District
    agencies: int = 0
    postcodes: int = 0
    demo_users: list[tuple[str, str, str]] = field(default_factory=list)  # (username, role label, agency)


def available_districts() -> list[str]:
    return sorted(p.stem for p in DISTRICTS_DIR.glob("*.json"))


def _slug(text: str) -> str:
    return slugify(text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss"))


def _agency(district, kind, data, parent=None) -> Agency:
    slug = data.get("slug") or _slug(data.get("city", data["code"]))
    defaults = {
        "kind": kind,
        "name": data["name"],
        "parent": parent,
        "city": data.get("city", ""),
        "email": data.get("email", ""),
        "phone": data.get("phone", ""),
        "is_24h": data.get("is_24h", False),
        "is_active": True,
    }
    contacts = {
        "email": data.get("email", ""),
        "phone": data.get("phone", ""),
        "oncall_phone": data.get("oncall_phone", ""),
        "oncall_email": data.get("oncall_email", ""),
    }
    if kind == AgencyKind.YOUTH_OFFICE:
        contacts.update(
            email=data.get("email") or f"kinderschutz@jugendamt-{slug}.example",
            oncall_email=data.get("oncall_email") or f"rufbereitschaft@jugendamt-{slug}.example",
        )
        defaults["is_24h"] = False
    for name in ("email", "phone", "oncall_phone", "oncall_email"):
        defaults.pop(name, None)
    agency, created = Agency.objects.update_or_create(district=district, code=data["code"], defaults=defaults)
    # Contact details belong to the agency once it has edited them (page "Erreichbarkeiten"): a new
    # seed run fills in only what is new or still the seeded placeholder.
    if created or agency.contacts_updated_at is None:
        for name, value in contacts.items():
            setattr(agency, name, value)
        agency.save(update_fields=list(contacts))
    return agency


PLACEHOLDER_PERSONS = {
    AgencyKind.YOUTH_OFFICE: [
        ("Anna Beispiel (Platzhalter)", "Leitung Allgemeiner Sozialer Dienst", "-101"),
        ("Bernd Muster (Platzhalter)", "Kinderschutzfachkraft", "-102"),
    ],
    AgencyKind.COORDINATION: [("Clara Platzhalter (Platzhalter)", "Kinderschutzkoordination", "-901")],
    AgencyKind.POLICE_AUTHORITY: [("Dirk Beispiel (Platzhalter)", "Opferschutz / Kinderschutz", "-501")],
}


def _placeholder_contacts(agency: Agency, hours: list) -> None:
    """Seed office hours and named contact persons marked as placeholders, unless the agency has
    edited its entry already (``contacts_updated_at``) or has some already."""

    if agency.contacts_updated_at is not None:
        return
    agency.contacts_placeholder = True
    agency.save(update_fields=["contacts_placeholder"])
    if not agency.office_hours.exists() and not agency.is_24h:
        OfficeHours.objects.bulk_create(
            OfficeHours(
                agency=agency,
                weekday=day,
                opens=datetime.time.fromisoformat(opens),
                closes=datetime.time.fromisoformat(closes),
            )
            for day, opens, closes in hours
        )
    if not agency.contact_persons.exists():
        base = (agency.phone or "0000 0000").rsplit("-", 1)[0]
        slug = _slug(agency.city or agency.code)
        ContactPerson.objects.bulk_create(
            ContactPerson(
                agency=agency,
                name=name,
                function=function,
                phone=f"{base}{suffix}",
                email=f"{_slug(name.split(' (')[0]).replace('-', '.')}@{slug}.example",
                position=index,
            )
            for index, (name, function, suffix) in enumerate(PLACEHOLDER_PERSONS.get(agency.kind, []))
        )


def _demo_user(username: str, agency: Agency, role: str, report: SeedReport) -> None:
    """A demo person of ``agency``. A demo person belongs to one district: if the name (a city's,
    e.g. ``polizei.mettmann``) is taken by a person of another district, the district's key is
    appended rather than making that person a member of both."""
    User = get_user_model()
    if Membership.objects.filter(user__username=username).exclude(agency__district_id=agency.district_id).exists():
        username = f"{username}.{agency.district.slug}"
    user, created = User.objects.get_or_create(username=username)
    if created:  # never reset a password someone changed; hashing is slow on purpose
        user.set_password(DEMO_PASSWORD)
    user.is_active = True
    user.email = f"{username}@demo.example"
    user.save()
    Membership.objects.get_or_create(user=user, agency=agency, role=role)
    report.demo_users.append((username, str(Role(role).label), agency.name))


class SeedConflict(ValueError):
    """A district file claims a postcode and municipality that another office already holds: a data
    error to be corrected in the file (or in the other district's), never silently overwritten."""


def _postcode_claims(district, data) -> dict[tuple[str, str], dict]:
    """The file's postcode rows keyed by (postcode, normalised municipality), checked before anything
    is written: a postcode must be five ASCII digits, and no (postcode, municipality) may be claimed
    by two offices — twice in the file, or by an office of another district already in the table.
    The municipality is ``municipality``, else the first of ``city_names`` (the older format)."""

    claims: dict[tuple[str, str], dict] = {}
    problems: list[str] = []
    for office_data in data["youth_offices"]:
        for area in office_data["postcodes"]:
            names = [part.strip() for part in area.get("city_names", "").split(",") if part.strip()]
            municipality = (area.get("municipality") or (names[0] if names else "")).strip()
            try:
                postcode_validator(area["postcode"])
                if area.get("ags"):
                    ags_validator(area["ags"])
            except ValidationError as exc:
                problems.append(f"{area['postcode']} {municipality} ({office_data['name']}): {' '.join(exc.messages)}")
                continue
            key = (area["postcode"], normalize_city(municipality))
            if not key[1]:
                problems.append(f"{area['postcode']} ({office_data['name']}): municipality missing")
                continue
            if key in claims and claims[key]["office_code"] != office_data["code"]:
                problems.append(
                    f"{area['postcode']} {municipality}: claimed by {claims[key]['office_name']} and "
                    f"{office_data['name']} in {data['slug']}.json"
                )
                continue
            claims[key] = {
                **area, "municipality": municipality, "office_code": office_data["code"],
                "office_name": office_data["name"],
            }  # fmt: skip
    foreign = (
        JurisdictionArea.objects.filter(postcode__in={postcode for postcode, _key in claims})
        .exclude(youth_office__district=district)
        .select_related("youth_office__district")
    )
    for row in foreign:
        claim = claims.get((row.postcode, row.municipality_key))
        if claim is not None:
            problems.append(
                f"{row.postcode} {row.municipality}: belongs to {row.youth_office} ({row.youth_office.district}), "
                f"{data['slug']}.json claims it for {claim['office_name']}"
            )
    if problems:
        raise SeedConflict(
            f"District file {data['slug']}.json not seeded; a postcode and municipality can belong to one "
            "youth office only:\n  " + "\n  ".join(problems)
        )
    return claims


@transaction.atomic
def district_seed(*, slug: str, demo_users: bool = False) -> SeedReport:
    """Create or update a district's agencies and postcodes from ``districts/<slug>.json``.

    Idempotent: agencies are matched by code, postcode rows by postcode and municipality; running it
    twice changes nothing. Seeding one district never changes another district's rows: a postcode
    and municipality an office of another district holds is refused (``SeedConflict``, nothing
    written), so the order in which districts are seeded does not matter (docs/jurisdiction.md).
    With ``demo_users`` one demo person per role and agency is added (for demos and tests, never
    for production data); their names carry the district where a city name would not tell it.
    """
    path = DISTRICTS_DIR / f"{slug}.json"
    if not path.exists():
        raise FileNotFoundError(slug)
    data = json.loads(path.read_text(encoding="utf-8"))
    district, _ = District.objects.update_or_create(slug=data["slug"], defaults={"name": data["name"]})
    report = SeedReport(district=district)

    authority = _agency(district, AgencyKind.POLICE_AUTHORITY, data["police_authority"])
    stations = [_agency(district, AgencyKind.POLICE_STATION, s, parent=authority) for s in data["police_stations"]]
    offices = []
    claims = _postcode_claims(district, data)
    for office_data in data["youth_offices"]:
        office = _agency(district, AgencyKind.YOUTH_OFFICE, office_data)
        offices.append((office, office_data))
        for (postcode, key), area in claims.items():
            if area["office_code"] != office_data["code"]:
                continue
            JurisdictionArea.objects.update_or_create(
                postcode=postcode,
                municipality_key=key,
                defaults={
                    "youth_office": office,
                    "municipality": area["municipality"],
                    "ags": area.get("ags", ""),
                    "city_names": area.get("city_names", ""),
                    "shared_with": area.get("shared_with", ""),
                },
            )
            report.postcodes += 1
    coordination = _agency(district, AgencyKind.COORDINATION, data["coordination"])
    if data.get("contacts_placeholder"):
        hours = data.get("office_hours", {})
        for agency in (authority, *stations, *(o for o, _d in offices), coordination):
            kind_hours = hours.get(agency.kind) or hours.get("police_authority" if agency.parent_id else "", [])
            _placeholder_contacts(agency, kind_hours)
    # Apps that build on agencies add what belongs to a new office (referrals: the default retention
    # rules per outcome, also for the coordination office's hand-overs) — agencies never imports them.
    offices_seeded.send(sender=District, offices=[*(o for o, _d in offices), coordination])
    report.agencies = 2 + len(stations) + len(offices)

    if demo_users:
        # Coordinators are per district: their names carry the district's key (docs/jurisdiction.md).
        _demo_user(f"polizei.koordination.{district.slug}", authority, Role.POLICE_COORDINATOR, report)
        for station in stations:
            _demo_user(f"polizei.{_slug(station.city)}", station, Role.POLICE_OFFICER, report)
        for office, office_data in offices:
            slug_ = office_data.get("slug") or _slug(office.city)
            _demo_user(f"jugendamt.{slug_}", office, Role.CASEWORKER, report)
            _demo_user(f"jugendamt.{slug_}.leitung", office, Role.OFFICE_LEAD, report)
        _demo_user(f"kreis.koordination.{district.slug}", coordination, Role.DISTRICT_COORDINATOR, report)
    return report


# --- sessions and API tokens of a person ---------------------------------------------------------


def person_sessions_end(*, user, revoke_token: bool = True) -> int:
    """Delete every session of ``user`` (all browsers and devices) and, unless ``revoke_token`` is
    false, their API token.

    Sessions are found by decoding the unexpired rows of the session table: no session outlives
    ``SESSION_ABSOLUTE_TIMEOUT`` (12 hours), so the table holds at most the logins of half a day, and
    this runs only on a deactivation or a "log out everywhere" — a scan is cheaper than keeping a
    second record of every login. Returns the number of sessions ended.
    """
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    user_id = str(user.pk)
    unexpired = Session.objects.filter(expire_date__gt=timezone.now()).only("session_key", "session_data")
    keys = [
        session.session_key
        for session in unexpired.iterator()
        if str(store.decode(session.session_data).get(SESSION_KEY)) == user_id
    ]
    Session.objects.filter(session_key__in=keys).delete()
    if revoke_token:
        ApiToken.objects.filter(user=user).delete()
    logger.info("sessions of person %s ended (%d sessions, token revoked: %s)", user.pk, len(keys), revoke_token)
    return len(keys)


@transaction.atomic
def person_deactivate(*, user, by) -> None:
    """Deactivate a person: they can no longer log in, and lose every session and their API token at
    once. ``by`` is the administrator who does it (logged by id, never by name)."""
    User = get_user_model()
    # update(), not save(): the post_save signal for admin form saves (agencies.signals) would end the
    # sessions a second time.
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    person_sessions_end(user=user)
    logger.info("person %s deactivated by %s", user.pk, getattr(by, "pk", None))


def admin_log_change(*, by, obj, message: str) -> None:
    """Write what a lead did to a person outside the admin (token issued or revoked, second factor
    reset) into the admin log, beside the administrators' own changes: who, whom, what, when."""
    LogEntry.objects.log_actions(
        user_id=by.pk, queryset=[obj], action_flag=CHANGE, change_message=message, single_object=True
    )


def token_issue(*, user, by) -> str:
    """Issue a new API token for ``user`` (replacing any earlier one) and return its key. The key is
    shown to ``by`` once and never again: the database holds only its digest and first characters.
    Callers check that ``by`` may manage ``user``; ``by`` is None for the command line."""
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.filter(user=user).delete()
        ApiToken.objects.create(user=user, digest=api_token_digest(key), prefix=key[:API_TOKEN_PREFIX_LENGTH])
    logger.info("API token of person %s issued by %s", user.pk, getattr(by, "pk", None))
    return key


def token_revoke(*, user, by) -> bool:
    """Revoke the API token of ``user``; False if they had none."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    logger.info("API token of person %s revoked by %s", user.pk, getattr(by, "pk", None))
    return bool(deleted)


@transaction.atomic
def agency_contacts_save(*, agency: Agency, by, fields: dict, hours: dict, persons_formset) -> Agency:
    """Save an agency's directory entry as its lead or coordinator edited it: contact fields, office
    hours per weekday (replaced as a whole) and contact persons. The entry is no longer a seeded
    placeholder afterwards. Callers check ``directory.may_edit``."""

    names = ["phone", "email", "oncall_phone", "oncall_email"]
    if agency.kind == AgencyKind.COORDINATION and fields.get("clock_triage_hours"):
        names.append("clock_triage_hours")
    for name in names:
        setattr(agency, name, fields.get(name) or ("" if name != "clock_triage_hours" else 1))
    agency.contacts_placeholder = False
    agency.contacts_updated_at = timezone.now()
    agency.save(update_fields=[*names, "contacts_placeholder", "contacts_updated_at"])
    agency.office_hours.all().delete()
    OfficeHours.objects.bulk_create(
        OfficeHours(agency=agency, weekday=day, opens=opens, closes=closes)
        for day, spans in sorted(hours.items())
        for opens, closes in spans
        if isinstance(opens, datetime.time)
    )
    persons_formset.instance = agency
    for index, form in enumerate(persons_formset.forms):
        if form.instance.pk is None and not form.has_changed():
            continue
        form.instance.position = index
    persons_formset.save()
    logger.info("directory entry of agency %s saved by %s", agency.pk, getattr(by, "pk", None))
    return agency
