"""Routing: which youth office is responsible for a household address.

Responsibility follows the child's habitual residence (§ 86 SGB VIII), in practice the home address.
The postcode decides; where a postcode is shared with a city outside the district the city name
decides, and an address that cannot be resolved goes to the coordination office's triage queue with
a reason.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.text import ascii_digits

from .models import Agency, JurisdictionArea


class TriageReason(models.TextChoices):
    MALFORMED = "malformed", _("Address incomplete or malformed")
    UNKNOWN_POSTCODE = "unknown_postcode", _("Postcode unknown in the district")
    SHARED_POSTCODE = "shared_postcode", _("Postcode shared with a city outside the district")
    OUTSIDE_DISTRICT = "outside_district", _("Address outside the district")


@dataclass(frozen=True)
class RoutingResult:
    """Either ``office`` is set, or ``reason`` (a TriageReason) says why a person must decide."""

    office: Agency | None
    reason: str = ""
    detail: str = ""


def normalize_city(name: str) -> str:
    """Compare city names loosely: case, umlauts, punctuation and suffixes such as "(Rhld.)" or
    "am Rhein" do not matter; "Düsseldorf", "Duesseldorf" and "dusseldorf" are equal."""
    text = (name or "").casefold().strip()
    text = re.sub(r"\(.*?\)", " ", text)
    for umlaut, plain in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(umlaut, plain)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"\b(am rhein|rhld|rheinland)\b", " ", text)
    text = re.sub(r"[^a-z]+", "", text)
    return text.replace("ae", "a").replace("oe", "o").replace("ue", "u")


def _names(csv: str) -> set[str]:
    return {normalize_city(part) for part in csv.split(",") if part.strip()}


def route_address(*, postcode: str, city: str, district=None) -> RoutingResult:
    """Return the responsible youth office for an address, or the triage reason.

    ``district`` limits the lookup to one district's postcode table (None: all districts).
    """
    # Digits of other scripts (４０７２３, ٤٠٧٢٣) are read as the ASCII digits they stand for.
    postcode = ascii_digits(postcode).replace(" ", "")
    if not re.fullmatch(r"[0-9]{5}", postcode) or not (city or "").strip():
        return RoutingResult(None, TriageReason.MALFORMED, str(_("Postcode or city missing or malformed.")))

    areas = JurisdictionArea.objects.select_related("youth_office").filter(
        postcode=postcode, youth_office__is_active=True
    )
    if district is not None:
        areas = areas.filter(youth_office__district=district)
    area = areas.first()
    city_key = normalize_city(city)

    if area is None:
        own_cities = set()
        for names in JurisdictionArea.objects.values_list("city_names", flat=True):
            own_cities |= _names(names)
        if city_key in own_cities:
            return RoutingResult(
                None,
                TriageReason.UNKNOWN_POSTCODE,
                str(_("Postcode %(postcode)s is not known for %(city)s.") % {"postcode": postcode, "city": city}),
            )
        return RoutingResult(None, TriageReason.OUTSIDE_DISTRICT, str(_("The address lies outside the district.")))

    if not area.is_shared or city_key in _names(area.city_names):
        return RoutingResult(area.youth_office)

    return RoutingResult(
        None,
        TriageReason.SHARED_POSTCODE,
        str(
            _("Postcode %(postcode)s is shared with %(shared)s; the city „%(city)s“ does not decide it.")
            % {"postcode": postcode, "shared": area.shared_with, "city": city}
        ),
    )


def route_preview(*, postcode: str, city: str, user) -> dict:
    """What the police form shows before submission: the office the referral would go to, or that it
    goes to the coordination office's triage queue and why. The same ``route_address`` as the
    submission (one code path), limited to the district of the person's police authority (the
    coordinator's district for the district coordinator)."""
    from .models import POLICE_ROLES, Role, memberships_of

    district = None
    for membership in memberships_of(user):
        if membership.role in POLICE_ROLES or membership.role == Role.DISTRICT_COORDINATOR:
            district = membership.agency.district
            break
    if not (postcode or "").strip() or not (city or "").strip():
        return {
            "office": None,
            "triage_reason": "",
            "message": str(_("Enter postcode and city.")),
            "phone": "",
            "oncall_phone": "",
        }
    from .directory import coordination_office_of, sees_oncall

    result = route_address(postcode=postcode, city=city, district=district)
    target = result.office or (coordination_office_of(district.pk) if district is not None else None)
    contacts = {
        "phone": target.phone if target else "",
        "oncall_phone": target.oncall_phone if target and sees_oncall(user, target) else "",
    }
    if result.office is not None:
        return {
            "office": {"id": result.office.pk, "name": result.office.name},
            "triage_reason": "",
            "message": str(_("Responsible: %(office)s") % {"office": result.office.name}),
            **contacts,
        }
    return {
        "office": None,
        "triage_reason": result.reason,
        "message": str(
            _("No clear responsibility: goes to the coordination office — please check the address. (%(reason)s)")
            % {"reason": TriageReason(result.reason).label}
        ),
        **contacts,
    }
