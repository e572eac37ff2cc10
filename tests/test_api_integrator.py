"""What an integrator met when trying the API from outside (QA of 2026-12-05): every answer JSON, in
the language asked for, a clear 400 for a wrong id or a malformed body, and what a per-child
assessment needs (the children's ids) in the referral itself."""

import datetime
import json

import pytest
import time_machine
from django.urls import path
from rest_framework.test import APIClient

from agencies.models import Agency
from notifications.models import Notification
from referrals import services
from referrals.models import Referral
from referrals.screening import screening_save, screening_sign_off
from tests.factories import api_token, make_referral, referral_payload
from tests.test_assessment_children import TWO_CHILDREN, acute, support


def client_for(user, **headers):
    client = APIClient(**headers)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


@pytest.fixture
def referral(personas):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden", children=TWO_CHILDREN)
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    return Referral.objects.get(pk=referral.pk)


def _post(client, referral, action, body):
    return client.post(f"/api/v1/referrals/{referral.pk}/{action}/", body, format="json")


# --- ids ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [19.5, 1.0, True, "x", [1], {"id": 1}, 2**64, -1, 0])
def test_an_office_id_that_is_no_whole_number_is_refused_and_nothing_is_forwarded(personas, referral, value):
    """DRF's own field looked 19.5 up as 19 and forwarded the case to that office."""
    velbert = Agency.objects.get(code="JA-VEL")
    body = {"to_office": velbert.pk + 0.5 if value == 19.5 else value, "reason": "Umzug", "version": referral.version}
    response = _post(client_for(personas.caseworker_hilden), referral, "forward", body)
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["to_office"]
    assert Referral.objects.get(pk=referral.pk).status == referral.status


def test_the_messages_of_a_wrong_id_are_german_and_name_the_problem(personas, referral):
    client = client_for(personas.caseworker_hilden)
    body = {"reason": "Umzug", "version": referral.version}
    assert _post(client, referral, "forward", body | {"to_office": 987654}).json() == {
        "to_office": ["Unter der Nummer 987654 gibt es hier nichts zur Auswahl."]
    }
    assert _post(client, referral, "forward", body | {"to_office": 2.5}).json() == {
        "to_office": ["Senden Sie die Nummer als ganze Zahl."]
    }


def test_a_professional_id_beyond_any_column_is_400(personas, referral):
    """It reached SQLite's integer binding and answered 500."""
    infant, teen = referral.children.order_by("id")
    body = {
        "summary": "Hausbesuch.", "measures": ["offer_of_help"], "impressions": ["home_visit"],
        "professionals": [10**23, personas.lead_hilden.pk],
        "children": [acute(infant), support(teen, birth_month=5, birth_year=2013)],
    }  # fmt: skip
    response = _post(client_for(personas.caseworker_hilden), referral, "assessment", body)
    assert response.status_code == 400, response.content
    assert "professionals" in response.json()


def test_the_referral_names_its_childrens_ids_for_the_per_child_assessment(personas, referral):
    """``children[].child`` of an assessment is the id of a child of the referral: the referral
    must say which ids its children have, or an integrator cannot send the per-child parts."""
    client = client_for(personas.caseworker_hilden)
    children = client.get(f"/api/v1/referrals/{referral.pk}/").json()["children"]
    assert [c["id"] for c in children] == list(referral.children.order_by("id").values_list("id", flat=True))
    first, second = children
    body = {
        "summary": "Hausbesuch.", "measures": ["offer_of_help"], "impressions": ["home_visit"],
        "professionals": [personas.caseworker_hilden.pk, personas.lead_hilden.pk],
        "children": [
            {**acute(referral.children.get(pk=first["id"]))},
            {**support(referral.children.get(pk=second["id"]), birth_month=5, birth_year=2013)},
        ],
    }  # fmt: skip
    assert _post(client, referral, "assessment", body).status_code == 200


# --- bodies -------------------------------------------------------------------------------------


def test_invalid_json_is_answered_in_german_with_the_place_of_the_error(personas):
    client = client_for(personas.police_hilden)
    response = client.post("/api/v1/referrals/", data='{"draft": tru}', content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Der Inhalt der Anfrage ist kein gültiges JSON (Zeile 1, Spalte 11)."}
    for body in (b'{"a": NaN}', b'{"a": "\xff"}', b'{"a": ' + b"1" * 5001 + b"}"):
        response = client.post("/api/v1/referrals/", data=body, content_type="application/json")
        assert response.status_code == 400, body[:20]
        assert response.json() == {"detail": "Der Inhalt der Anfrage ist kein gültiges JSON in UTF-8."}


def test_a_body_of_null_asks_for_an_object(personas):
    response = client_for(personas.police_hilden).post(
        "/api/v1/referrals/", data="null", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Senden Sie die Daten als JSON-Objekt."]}


def test_json_is_read_as_utf8_whatever_charset_the_client_names(personas):
    """RFC 8259: JSON is UTF-8. Read as latin-1, "Straße" was stored as "StraÃ\x9fe"."""
    client = client_for(personas.police_hilden)
    body = '{"draft": true, "household_address": {"street": "Hauptstraße 1"}}'.encode()
    response = client.post("/api/v1/referrals/", data=body, content_type="application/json; charset=latin-1")
    assert response.status_code == 201, response.content
    assert response.json()["household_address"]["street"] == "Hauptstraße 1"


# --- language -----------------------------------------------------------------------------------


def test_the_api_answers_in_english_when_asked_with_accept_language(personas):
    german = client_for(personas.police_hilden)
    english = client_for(personas.police_hilden, HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    french = client_for(personas.police_hilden, HTTP_ACCEPT_LANGUAGE="fr")
    assert german.get("/api/v1/referrals/?status=bogus").json()["status"][0].startswith("Unbekannter Wert")
    assert french.get("/api/v1/referrals/?status=bogus").json()["status"][0].startswith("Unbekannter Wert")
    response = english.get("/api/v1/referrals/?status=bogus")
    assert response.json()["status"][0].startswith("Unknown value. Allowed: draft")
    assert response["Content-Language"] == "en" and "Accept-Language" in response["Vary"]
    assert english.get("/api/v1/referrals/", {"page_size": "x"}).json() == {"page_size": ["Enter a whole number."]}


def test_pages_stay_german_whatever_the_browser_asks_for(client, personas):
    client.force_login(personas.caseworker_hilden)
    response = client.get("/inbox/", HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "de"


# --- errors outside the views -------------------------------------------------------------------


def test_an_unknown_api_address_is_a_json_404_also_in_the_demo(personas, settings):
    """The demo runs with DEBUG: Django's technical 404 page listed every URL of the system."""
    settings.DEBUG, settings.DEBUG_PAGES = True, False
    for client in (APIClient(), client_for(personas.caseworker_velbert)):
        for address in ("/api/v1/nonexistent/", "/api/v1/referrals/1.0/"):
            response = client.get(address)
            assert response.status_code == 404
            assert response.json() == {"detail": "Nicht gefunden."}


def _crash(request):
    raise RuntimeError("a bug")


urlpatterns = [path("api/v1/crash/", _crash)]


@pytest.mark.urls("tests.test_api_integrator")
def test_a_crash_under_api_is_a_json_500_without_a_traceback(personas, settings):
    settings.DEBUG, settings.DEBUG_PAGES = True, False
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/v1/crash/")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "Ein interner Fehler ist aufgetreten. Er wurde protokolliert; "
        "bitte versuchen Sie es später noch einmal."
    }
    assert b"Traceback" not in response.content and b"a bug" not in response.content


# --- drafts -------------------------------------------------------------------------------------


def _draft(client, **fields):
    response = client.post("/api/v1/referrals/", {"draft": True, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_a_draft_filed_over_the_api_is_completed_and_submitted_over_the_api(personas):
    """QA of 2026-12-05: PUT, PATCH and DELETE answered 405, so a draft filed over the API could be
    neither completed nor submitted there. PATCH changes what is sent; ``draft: false`` submits."""
    police = client_for(personas.police_hilden)
    draft = _draft(police, police_case_number="ME-2026-000001")
    url = f"/api/v1/referrals/{draft['id']}/"
    version = police.get(url).json()["version"]

    kept = police.patch(url, {"facts_observed": "Erst einmal notiert.", "version": version}, format="json")
    assert kept.status_code == 200, kept.content
    assert kept.json()["status"] == "draft" and kept.json()["facts_observed"] == "Erst einmal notiert."
    assert kept.json()["police_case_number"] == "ME-2026-000001"  # what is not sent stays

    incomplete = police.patch(url, {"draft": False, "version": kept.json()["version"]}, format="json")
    assert incomplete.status_code == 400
    # the API's path of the address, not the model's columns (household_street, ...)
    assert {"street", "postcode", "city"} <= set(incomplete.json()["household_address"])
    assert not {"household_street", "household_postcode", "household_city"} & set(incomplete.json())
    assert Referral.objects.get(pk=draft["id"]).status == "draft"

    stale = police.patch(url, {**referral_payload(), "draft": False, "version": version}, format="json")
    assert stale.status_code == 409 and stale.json()["version"] == kept.json()["version"]

    body = {**referral_payload(postcode="40723", city="Hilden"), "draft": False, "version": kept.json()["version"]}
    submitted = police.patch(url, body, format="json")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "submitted" and submitted.json()["youth_office"]["name"] == "Jugendamt Hilden"
    assert Notification.objects.filter(link=f"/referrals/{draft['id']}/").exists()  # the office is told at once

    again = police.patch(url, {**body, "version": submitted.json()["version"]}, format="json")
    assert again.status_code == 403  # submitted: no longer a draft
    office = client_for(personas.caseworker_hilden).patch(url, {"version": submitted.json()["version"]}, format="json")
    assert office.status_code == 403 and "Entwurf" in office.json()["detail"], office.json()  # not "only police file"


def test_a_draft_takes_its_version_as_if_match_too_and_says_so_in_german(personas):
    """QA of 2026-12-05: the draft's PATCH ignored If-Match, and without a version it answered in English."""
    police = client_for(personas.police_hilden)
    url = f"/api/v1/referrals/{_draft(police)['id']}/"
    missing = police.patch(url, {"incident_location": "Wohnung"}, format="json")
    assert missing.status_code == 400
    assert missing.json() == {"version": ["Senden Sie die Version, die Sie gelesen haben (`version` oder If-Match)."]}
    assert police.patch(url, {"incident_location": "x"}, format="json", HTTP_IF_MATCH='"99"').status_code == 412
    assert police.patch(url, {"incident_location": "x"}, format="json", HTTP_IF_MATCH="Unfug").status_code == 400
    changed = police.patch(url, {"incident_location": "Wohnung"}, format="json", HTTP_IF_MATCH='"1"')
    assert changed.status_code == 200 and changed.json()["incident_location"] == "Wohnung"
    listed = police.patch(url, [1], format="json")  # DRF's message named the type in English ("list")
    assert listed.status_code == 400 and "list" not in json.dumps(listed.json(), ensure_ascii=False), listed.json()


def test_ids_in_addresses_are_ascii_digits(personas):
    """QA of 2026-12-05: /api/v1/referrals/１/ (a full-width digit) answered referral 1."""
    referral = make_referral(personas.police_hilden)
    office = client_for(personas.caseworker_hilden)
    assert office.get(f"/api/v1/referrals/{referral.pk}/").status_code == 200
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in str(referral.pk))
    addresses = (f"/api/v1/referrals/{full_width}/", "/api/v1/referrals/abc/", f"/api/v1/referrals/{referral.pk}.0/")
    for address in addresses:
        answer = office.get(address)
        assert answer.status_code == 404 and answer["Content-Type"].startswith("application/json"), address


def test_nobody_but_the_author_reaches_a_draft(personas):
    draft = _draft(client_for(personas.police_hilden))
    url = f"/api/v1/referrals/{draft['id']}/"
    for person in (personas.police_hilden2, personas.police_coordinator, personas.caseworker_hilden, personas.admin):
        response = client_for(person).patch(url, {"draft": True, "version": 1}, format="json")
        assert response.status_code == 404, person.username
    for method in ("put", "delete"):
        assert getattr(client_for(personas.police_hilden), method)(url).status_code == 405


# --- plausibility and messages ------------------------------------------------------------------


def test_a_home_visit_in_the_year_1_is_refused(personas, referral):
    infant, teen = referral.children.order_by("id")
    body = {
        "summary": "Hausbesuch.", "measures": ["offer_of_help"], "home_visit_on": "0001-01-01",
        "professionals": [personas.caseworker_hilden.pk, personas.lead_hilden.pk],
        "children": [acute(infant), support(teen, birth_month=5, birth_year=2013)],
    }  # fmt: skip
    response = _post(client_for(personas.caseworker_hilden), referral, "assessment", body)
    assert response.status_code == 400
    assert response.json() == {"home_visit_on": ["Der Hausbesuch liegt vor dem 1. Januar 2000. Prüfen Sie das Jahr."]}


def test_professionals_named_with_a_single_outcome_are_checked_and_kept(personas, referral):
    """They were dropped without a word when the assessment was recorded the old way (``outcome``)."""
    client = client_for(personas.caseworker_hilden)
    body = {"summary": "Hausbesuch.", "outcome": "support_need", "measures": ["offer_of_help"]}
    refused = _post(client, referral, "assessment", body | {"professionals": [personas.caseworker_hilden.pk]})
    assert refused.status_code == 400 and "professionals" in refused.json()
    both = [personas.caseworker_hilden.pk, personas.lead_hilden.pk]
    kept = _post(client, referral, "assessment", body | {"professionals": both})
    assert kept.status_code == 200, kept.content
    assert kept.json()["professionals"] == both


def test_re_rating_to_the_same_urgency_changes_nothing(personas, referral):
    client = client_for(personas.caseworker_hilden)
    body = {"urgency": referral.urgency, "reason": "Nochmals geprüft.", "version": referral.version}
    response = _post(client, referral, "rerate", body)
    assert response.status_code == 400 and list(response.json()) == ["urgency"]
    assert Referral.objects.get(pk=referral.pk).version == referral.version


def test_a_caseworker_is_told_that_only_the_lead_reopens(personas, referral):
    closed = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    services.referral_acknowledge(referral=closed, user=personas.caseworker_hilden)
    screening_save(
        referral=closed, user=personas.caseworker_hilden, weighty_indications=False, reason="Nur Info.",
        next_step="information_only",
    )  # fmt: skip
    screening_sign_off(referral=closed, user=personas.lead_hilden)  # closes the case
    closed = Referral.objects.get(pk=closed.pk)
    assert closed.status == "closed"
    body = {"reason": "Neuer Vorfall", "version": closed.version}
    response = _post(client_for(personas.caseworker_hilden), closed, "reopen", body)
    assert response.status_code == 403
    assert response.json() == {"detail": "Nur die Leitung des zuständigen Jugendamts darf dies tun."}
    assert _post(client_for(personas.caseworker_velbert), closed, "reopen", body).status_code == 404


@pytest.mark.parametrize(
    "field,value,message",
    [
        ("incident_at", "2026-02-30T10:00:00+01:00", "Diesen Tag gibt es nicht: 2026-02-30."),
        ("incident_at", "2026-03-29T02:30:00", "Diese Ortszeit wird bei der Zeitumstellung übersprungen"),
        ("incident_at", "２０２６-11-01T10:00:00+01:00", "Datum und Uhrzeit haben das falsche Format"),
        ("residence_ban_until", "2026-02-30", "Diesen Tag gibt es nicht: 2026-02-30."),
    ],
    ids=["february-30", "skipped-by-the-clocks", "full-width-digits", "date-february-30"],
)
def test_dates_that_do_not_exist_are_named_as_such(personas, field, value, message):
    """A well-formed day that does not exist was "wrong format"; a local time the clocks skip was
    moved to 03:30 without a word; full-width digits were taken."""
    response = client_for(personas.police_hilden).post(
        "/api/v1/referrals/", {"draft": True, field: value}, format="json"
    )
    assert response.status_code == 400, response.content
    assert message in response.json()[field][0], response.json()


def test_an_ambiguous_local_time_and_an_offset_are_taken(personas):
    """02:30 on the last Sunday of October exists (twice): it is taken, as is any time with an offset."""
    client = client_for(personas.police_hilden)
    with time_machine.travel(datetime.datetime(2026, 10, 26, 12, tzinfo=datetime.UTC)):
        for value in ("2026-10-25T02:30:00", "2026-03-29T03:30:00+02:00"):
            response = client.post("/api/v1/referrals/", {"draft": True, "incident_at": value}, format="json")
            assert response.status_code == 201, (value, response.content)


def test_police_never_read_the_caseworkers_user_name(personas, referral):
    """QA of 2026-12-05: ``assignee`` carried {"name": "caseworker_hilden"} to police; they learn the
    contact person from the coded feedback (full name, else the office), never a user name."""
    services.referral_assign(referral=referral, user=personas.lead_hilden, assignee=personas.caseworker_hilden)
    for person in (personas.police_hilden, personas.police_coordinator):
        police = client_for(person)
        detail = police.get(f"/api/v1/referrals/{referral.pk}/").json()
        assert detail["assignee"] is None and "caseworker_hilden" not in str(detail)
        listed = police.get("/api/v1/referrals/").json()["results"]
        assert [row["assignee"] for row in listed if row["id"] == referral.pk] == [None]
    office = client_for(personas.lead_hilden).get(f"/api/v1/referrals/{referral.pk}/").json()
    assert office["assignee"] == {"id": personas.caseworker_hilden.pk, "name": "caseworker_hilden"}


def test_an_agency_id_that_is_no_whole_number_is_refused_in_the_cooperation_api(personas):
    hilden = Agency.objects.get(code="JA-HIL")
    body = {"host_agency": hilden.pk + 0.5, "wished_dates": ["2027-01-18"], "purpose": "Einblick"}
    response = client_for(personas.police_hilden).post("/api/v1/hospitations/", body, format="json")
    assert response.status_code == 400 and list(response.json()) == ["host_agency"]


def test_the_frameworks_own_messages_address_the_caller_formally(personas):
    """DRF's German catalogue says "du" ("Stelle sicher, …", "Nutze …") and "pk", "Object",
    "Dictionary": this project's catalogue replaces them (QA of 2026-12-05)."""
    client = client_for(personas.police_hilden)
    response = client.post("/api/v1/referrals/", [], format="json")
    assert response.json() == {"non_field_errors": ["Senden Sie die Daten als JSON-Objekt."]}
    body = {"draft": True, "incident_at": "gestern", "concerns": ["neglect"] * 21}
    errors = client.post("/api/v1/referrals/", body, format="json").json()
    assert errors["incident_at"][0].startswith("Datum und Uhrzeit haben das falsche Format. Verwenden Sie")
    assert errors["concerns"] == ["Geben Sie höchstens 20 Einträge an."]
    hospitation = {"host_agency": Agency.objects.get(code="JA-HIL").pk, "wished_dates": [], "purpose": "Einblick"}
    answer = client.post("/api/v1/hospitations/", hospitation, format="json").json()
    assert answer["wished_dates"] == ["Zu wenige Einträge: mindestens 1."], answer  # not "mindestens 1 Einträge" (QA)
