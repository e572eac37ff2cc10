"""Routing preview (issue 9 §3): where a referral will go, before the officer submits — from the
API (police and the district coordinator only), with the same routing function as the submission,
and in the form without JavaScript ("Zuständigkeit prüfen")."""

import pytest
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from agencies.models import Agency
from referrals.models import Referral, Status
from tests.factories import make_referral

URL = "/api/v1/routing/preview/"
ADDRESSES = [
    ("40721", "Hilden", "JA-HIL"),
    ("40723", "Hilden", "JA-HIL"),
    ("40721", "Düsseldorf", None),  # shared postcode, the other city's name
    ("10115", "Berlin", None),  # outside the district
    ("40764", "Langenfeld (Rhld.)", "JA-LAN"),
    ("4072", "Hilden", None),  # malformed
]


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "persona,status",
    [
        ("police_hilden", 200),
        ("police_coordinator", 200),
        ("district_coordinator", 200),
        ("caseworker_hilden", 403),
        ("lead_hilden", 403),
        ("no_role", 403),
        ("admin", 403),
    ],
)
def test_preview_is_for_police_and_the_coordinator(personas, persona, status):
    response = api(getattr(personas, persona)).get(URL, {"postcode": "40721", "city": "Hilden"})
    assert response.status_code == status


def test_anonymous_gets_no_preview(personas):
    assert api().get(URL, {"postcode": "40721", "city": "Hilden"}).status_code in (401, 403)


def test_preview_names_the_office(personas):
    answer = api(personas.police_hilden).get(URL, {"postcode": "40721", "city": "Hilden"}).json()
    hilden = Agency.objects.get(code="JA-HIL")
    assert answer["office"] == {"id": hilden.pk, "name": "Jugendamt Hilden"}
    assert answer["triage_reason"] == "" and answer["message"] == "Zuständig: Jugendamt Hilden"
    assert answer["oncall_phone"] == hilden.oncall_phone and answer["phone"] == hilden.phone


def test_preview_of_an_unresolvable_address_says_triage(personas):
    answer = api(personas.police_hilden).get(URL, {"postcode": "40721", "city": "Düsseldorf"}).json()
    assert answer["office"] is None and answer["triage_reason"] == "shared_postcode"
    assert answer["message"].startswith(
        "Keine eindeutige Zuständigkeit: geht an die Koordinierungsstelle — bitte Anschrift prüfen"
    )
    assert answer["oncall_phone"] == Agency.objects.get(code="KOORD").oncall_phone


def test_the_coordinator_gets_no_on_call_number_in_the_preview(personas):
    answer = api(personas.district_coordinator).get(URL, {"postcode": "40721", "city": "Hilden"}).json()
    assert answer["office"]["name"] == "Jugendamt Hilden" and answer["oncall_phone"] == ""


def test_missing_or_odd_parameters_are_answered_not_failed(personas):
    client = api(personas.police_hilden)
    assert client.get(URL).json()["office"] is None
    assert client.get(URL, {"postcode": "x" * 500, "city": "ä" * 500}).status_code == 200


@pytest.mark.parametrize("postcode,city,code", ADDRESSES)
def test_preview_and_submission_agree(personas, postcode, city, code):
    """One code path: what the preview says is where the submission goes."""
    answer = api(personas.police_hilden).get(URL, {"postcode": postcode, "city": city}).json()
    assert (answer["office"] or {}).get("name") == (Agency.objects.get(code=code).name if code else None)
    if len(postcode) != 5:
        return  # a malformed postcode cannot be submitted at all
    referral = make_referral(personas.police_hilden, postcode=postcode, city=city)
    if code:
        assert referral.status == Status.SUBMITTED and referral.youth_office.code == code
    else:
        assert referral.status == Status.TRIAGE and referral.triage_reason == answer["triage_reason"]


def test_form_preview_without_javascript_keeps_the_input_and_saves_nothing(client, personas):
    client.force_login(personas.police_hilden)
    page = client.get("/referrals/new/").content.decode()
    assert "js/routing-preview.js" in page and "data-routing-preview" in page
    assert "<script>" not in page  # no inline script under the content security policy
    data = {
        "action": "preview",
        "household_postcode": "40721",
        "household_city": "Düsseldorf",
        "household_street": "Mittelstraße",
        "police_case_number": "ME-1",
        "children-TOTAL_FORMS": "1",
        "children-INITIAL_FORMS": "0",
        "persons-TOTAL_FORMS": "0",
        "persons-INITIAL_FORMS": "0",
    }
    response = client.post("/referrals/new/", data)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Keine eindeutige Zuständigkeit: geht an die Koordinierungsstelle" in text
    assert 'value="Mittelstraße"' in text and 'value="ME-1"' in text
    assert Referral.objects.count() == 0
    data.update(household_city="Hilden")
    text = client.post("/referrals/new/", data).content.decode()
    assert "Zuständig: Jugendamt Hilden" in text and Agency.objects.get(code="JA-HIL").oncall_phone in text


def test_the_script_is_served(client, personas):
    from django.contrib.staticfiles import finders

    path = finders.find("js/routing-preview.js")
    assert path and 'getAttribute("data-routing-preview")' in open(path).read()  # the URL comes from the page
