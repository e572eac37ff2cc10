"""Routing: which youth office is responsible for a household address.

Responsibility follows the child's habitual residence (§ 86 SGB VIII), in practice the home address.
The lookup covers the whole instance, whichever district the filing police belong to: postcode and
municipality decide (one row per postcode and municipality, docs/jurisdiction.md). Where a postcode
is used by several municipalities the city name decides; an address that cannot be resolved goes to
the triage queue of the filing police's district, with a reason.
"""

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from core.text import ascii_digits

from .actor import actor_of
from .directory import coordination_office_of, sees_oncall
from .models import POLICE_ROLES, Agency, District, JurisdictionArea, Role


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


def jurisdiction_rows(*, postcode: str, city_key: str) -> QuerySet[JurisdictionArea]:
    """The one query of a routing lookup: the rows of the postcode, and the rows of the city (only
    to tell an unknown postcode of a known city from an address outside the instance). Both halves
    are index lookups (the unique index on postcode and municipality, the municipality index)."""
    return (
        JurisdictionArea.objects.select_related("youth_office")
        .filter(Q(postcode=postcode) | Q(municipality_key=city_key), youth_office__is_active=True)
        .order_by("postcode", "municipality_key")
    )


def _matches(row: JurisdictionArea, city_key: str) -> bool:
    return city_key == row.municipality_key or city_key in _names(row.city_names)


def route_address(*, postcode: str, city: str, district: District | None = None) -> RoutingResult:
    """Return the responsible youth office for an address, or the triage reason.

    Rules (docs/jurisdiction.md): among the rows of the postcode, the one whose municipality is the
    address's city decides. If none matches, the postcode alone decides when all its rows belong to
    one office and no municipality outside the instance shares it (a misspelt city does not send a
    family to triage); otherwise the address goes to triage. ``district`` limits the lookup to one
    district's offices (None, the default and what submission uses: the whole instance).
    One database query.
    """
    # Digits of other scripts (４０７２３, ٤٠٧٢٣) are read as the ASCII digits they stand for.
    postcode = ascii_digits(postcode or "").replace(" ", "")
    if not re.fullmatch(r"[0-9]{5}", postcode) or not (city or "").strip():
        return RoutingResult(None, TriageReason.MALFORMED, str(_("Postcode or city missing or malformed.")))

    city_key = normalize_city(city)
    query = jurisdiction_rows(postcode=postcode, city_key=city_key)
    if district is not None:
        query = query.filter(youth_office__district=district)
    rows = list(query)
    here = [row for row in rows if row.postcode == postcode]

    if not here:
        if any(_matches(row, city_key) for row in rows):
            return RoutingResult(
                None,
                TriageReason.UNKNOWN_POSTCODE,
                str(_("Postcode %(postcode)s is not known for %(city)s.") % {"postcode": postcode, "city": city}),
            )
        return RoutingResult(None, TriageReason.OUTSIDE_DISTRICT, str(_("The address lies outside the district.")))

    offices = {row.youth_office_id: row.youth_office for row in here if _matches(row, city_key)}
    if len(offices) == 1:
        return RoutingResult(next(iter(offices.values())))
    if not offices and len({row.youth_office_id for row in here}) == 1 and not any(row.is_shared for row in here):
        return RoutingResult(here[0].youth_office)

    names = {row.municipality for row in here}
    for row in here:
        names |= {part.strip() for part in row.shared_with.split(",") if part.strip()}
    return RoutingResult(
        None,
        TriageReason.SHARED_POSTCODE,
        str(
            _("Postcode %(postcode)s is shared with %(shared)s; the city „%(city)s“ does not decide it.")
            % {"postcode": postcode, "shared": ", ".join(sorted(names)), "city": city}
        ),
    )


def route_preview(*, postcode: str, city: str, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """What the police form shows before submission: the office the referral would go to, or that it
    goes to the coordination office's triage queue and why. The same ``route_address`` as the
    submission (one code path), over the whole instance; what cannot be resolved goes to the
    coordination office of the person's district (the police authority's, the coordinator's own)."""
    district = None
    for membership in actor_of(user).in_roles(*POLICE_ROLES, Role.DISTRICT_COORDINATOR):
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
    result = route_address(postcode=postcode, city=city)
    target = result.office or (coordination_office_of(district.pk) if district is not None else None)
    # Police see the on-call number of the office the address resolves to, also in another district
    # of the instance: filing an immediate referral there, they have to phone it (docs/jurisdiction.md).
    police_filer = result.office is not None and actor_of(user).has_role(*POLICE_ROLES)
    contacts = {
        "phone": target.phone if target else "",
        "oncall_phone": target.oncall_phone if target and (police_filer or sees_oncall(user, target)) else "",
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
