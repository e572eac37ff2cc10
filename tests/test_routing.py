"""Routing: every postcode of the district table reaches its office; what cannot be resolved goes to
triage with the right reason."""

import pytest

from agencies.models import Agency, AgencyKind, JurisdictionArea
from agencies.routing import TriageReason, normalize_city, route_address
from agencies.services import district_seed

# The table of the domain brief (agencies/districts/mettmann.json), written out again here on purpose:
# the seed must match it.
TABLE = {
    "Erkrath": ["40699"],
    "Haan": ["42781"],
    "Heiligenhaus": ["42579"],
    "Hilden": ["40721", "40723", "40724"],
    "Langenfeld (Rhld.)": ["40764"],
    "Mettmann": ["40822"],
    "Monheim am Rhein": ["40789"],
    "Ratingen": ["40878", "40880", "40882", "40883", "40885", "40472"],
    "Velbert": ["42549", "42551", "42553", "42555"],
    "Wülfrath": ["42489"],
}
CASES = [(city, postcode) for city, postcodes in TABLE.items() for postcode in postcodes]


@pytest.mark.parametrize("city, postcode", CASES)
def test_every_postcode_of_the_table_routes_to_its_office(district, city, postcode):
    result = route_address(postcode=postcode, city=city)
    assert result.office is not None, result
    assert result.office.name == f"Jugendamt {city}"
    assert result.reason == ""


def test_seed_matches_the_table_exactly(district):
    seeded = {(a.youth_office.city, a.postcode) for a in JurisdictionArea.objects.select_related("youth_office")}
    assert seeded == set(CASES)
    offices = Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE)
    assert offices.count() == 10
    for office in offices:
        assert office.city.split(" (")[0].split(" am ")[0] in office.name


def test_seed_is_idempotent(district):
    before = (Agency.objects.count(), JurisdictionArea.objects.count())
    district_seed(slug="mettmann", demo_users=True)
    district_seed(slug="mettmann", demo_users=True)
    assert (Agency.objects.count(), JurisdictionArea.objects.count()) == before == (21, 20)


@pytest.mark.parametrize("postcode, office", [("40721", "Hilden"), ("40472", "Ratingen")])
def test_shared_postcode_with_the_district_city(district, postcode, office):
    assert route_address(postcode=postcode, city=office).office.city == office
    assert route_address(postcode=postcode, city=f"  {office.upper()} ").office.city == office


@pytest.mark.parametrize("postcode", ["40721", "40472"])
@pytest.mark.parametrize("city", ["Düsseldorf", "Duesseldorf", "dusseldorf"])
def test_shared_postcode_with_the_outside_city_goes_to_triage(district, postcode, city):
    result = route_address(postcode=postcode, city=city)
    assert result.office is None
    assert result.reason == TriageReason.SHARED_POSTCODE
    assert "Düsseldorf" in result.detail


@pytest.mark.parametrize("postcode, city", [("10115", "Berlin"), ("40213", "Düsseldorf"), ("42103", "Wuppertal")])
def test_outside_the_district(district, postcode, city):
    result = route_address(postcode=postcode, city=city)
    assert (result.office, result.reason) == (None, TriageReason.OUTSIDE_DISTRICT)


@pytest.mark.parametrize("postcode, city", [("40725", "Hilden"), ("42550", "Velbert")])
def test_unknown_postcode_of_a_district_city(district, postcode, city):
    result = route_address(postcode=postcode, city=city)
    assert (result.office, result.reason) == (None, TriageReason.UNKNOWN_POSTCODE)


@pytest.mark.parametrize(
    "postcode, city",
    [("4072", "Hilden"), ("407211", "Hilden"), ("4O721", "Hilden"), ("", "Hilden"), ("40721", ""), (None, None)],
)
def test_malformed_address(district, postcode, city):
    result = route_address(postcode=postcode, city=city)
    assert (result.office, result.reason) == (None, TriageReason.MALFORMED)


def test_postcode_with_spaces_is_tolerated(district):
    assert route_address(postcode=" 40 723 ", city="Hilden").office.city == "Hilden"


def test_inactive_office_is_not_routed_to(district):
    Agency.objects.filter(code="JA-HAA").update(is_active=False)
    assert route_address(postcode="42781", city="Haan").office is None


@pytest.mark.parametrize(
    "a, b",
    [
        ("Langenfeld (Rhld.)", "Langenfeld"),
        ("Monheim am Rhein", "monheim"),
        ("Wülfrath", "Wuelfrath"),
        ("Düsseldorf", "Dusseldorf"),
    ],
)
def test_city_names_compare_loosely(a, b):
    assert normalize_city(a) == normalize_city(b)
