"""Writes for agencies: seeding a district from its data file."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from .models import Agency, AgencyKind, District, JurisdictionArea, Membership, Role

DISTRICTS_DIR = Path(__file__).resolve().parent / "districts"
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
    if kind == AgencyKind.YOUTH_OFFICE:
        defaults.update(
            email=data.get("email") or f"kinderschutz@jugendamt-{slug}.example",
            phone=data.get("phone") or "",
            oncall_phone=data.get("oncall_phone") or "",
            oncall_email=data.get("oncall_email") or f"rufbereitschaft@jugendamt-{slug}.example",
            is_24h=False,
        )
    agency, _ = Agency.objects.update_or_create(district=district, code=data["code"], defaults=defaults)
    return agency


def _demo_user(username: str, agency: Agency, role: str, report: SeedReport) -> None:
    User = get_user_model()
    user, created = User.objects.get_or_create(username=username)
    if created:  # never reset a password someone changed; hashing is slow on purpose
        user.set_password(DEMO_PASSWORD)
    user.is_active = True
    user.email = f"{username}@demo.example"
    user.save()
    Membership.objects.get_or_create(user=user, agency=agency, role=role)
    report.demo_users.append((username, str(Role(role).label), agency.name))


@transaction.atomic
def district_seed(*, slug: str, demo_users: bool = False) -> SeedReport:
    """Create or update a district's agencies and postcodes from ``districts/<slug>.json``.

    Idempotent: agencies are matched by code, postcodes by postcode; running it twice changes
    nothing. With ``demo_users`` one demo person per role and agency is added (for demos and tests,
    never for production data).
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
    for office_data in data["youth_offices"]:
        office = _agency(district, AgencyKind.YOUTH_OFFICE, office_data)
        offices.append((office, office_data))
        for area in office_data["postcodes"]:
            JurisdictionArea.objects.update_or_create(
                postcode=area["postcode"],
                defaults={
                    "youth_office": office,
                    "city_names": area["city_names"],
                    "shared_with": area.get("shared_with", ""),
                },
            )
            report.postcodes += 1
    coordination = _agency(district, AgencyKind.COORDINATION, data["coordination"])
    report.agencies = 2 + len(stations) + len(offices)

    if demo_users:
        _demo_user("polizei.koordination", authority, Role.POLICE_COORDINATOR, report)
        for station in stations:
            _demo_user(f"polizei.{_slug(station.city)}", station, Role.POLICE_OFFICER, report)
        for office, office_data in offices:
            slug_ = office_data.get("slug") or _slug(office.city)
            _demo_user(f"jugendamt.{slug_}", office, Role.CASEWORKER, report)
            _demo_user(f"jugendamt.{slug_}.leitung", office, Role.OFFICE_LEAD, report)
        _demo_user("kreis.koordination", coordination, Role.DISTRICT_COORDINATOR, report)
    return report
