"""Plausible input (issue 10 §8): postcodes in digits of other scripts are turned into ASCII digits
and routed; implausible birth and incident dates are refused with a message, in the police form and
in the API (docs/domain.md, "Plausible Angaben")."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.routing import route_address
from referrals.models import FollowUp, Referral
from tests.factories import api_token, make_referral, referral_payload
from tests.test_pages import CHILD, PERSON, error_of, form_data, german, input_value, page_text

URL = "/api/v1/referrals/"
BIRTH_TOO_EARLY = "The date of birth lies before 1 January 1900. Check the year."
IN_FUTURE = "The date lies in the future."


@pytest.fixture
def api(personas):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(personas.police_hilden)}")
    return client


@pytest.fixture
def police(client, personas):
    client.force_login(personas.police_hilden)
    return client


def address(postcode):
    return {"street": "Mittelstraße", "house_number": "12", "postcode": postcode, "city": "Hilden"}


# --- postcodes ----------------------------------------------------------------------------------------

OTHER_DIGITS = ["４０７２３", "٤٠٧٢٣", "۴۰۷۲۳", "४०७२३", "4０7２3"]


@pytest.mark.parametrize("postcode", OTHER_DIGITS)
def test_api_turns_digits_of_other_scripts_into_ascii_and_routes(api, postcode):
    response = api.post(URL, referral_payload(household_address=address(postcode)), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted" and body["youth_office"]["name"] == "Jugendamt Hilden"
    assert body["household_address"]["postcode"] == "40723"
    assert Referral.objects.get(pk=body["id"]).household_postcode == "40723"


@pytest.mark.parametrize("postcode", ["4⁰723", "4072٣3", "40７2", "abcde", "４０７２３４"])
def test_api_refuses_what_is_not_five_digits(api, postcode):
    response = api.post(URL, referral_payload(household_address=address(postcode)), format="json")
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["household_address"]
    assert german("A German postcode has exactly five digits.") in response.json()["household_address"]["postcode"]
    assert Referral.objects.count() == 0


@pytest.mark.parametrize("postcode", OTHER_DIGITS)
def test_form_turns_digits_of_other_scripts_into_ascii_and_routes(police, postcode):
    response = police.post(reverse("referrals:create"), form_data(household_postcode=postcode))
    assert response.status_code == 302, page_text(response)[:2000]
    referral = Referral.objects.get()
    assert referral.household_postcode == "40723" and referral.youth_office.name == "Jugendamt Hilden"


def test_form_keeps_a_postcode_of_superscript_digits_and_says_why(police):
    response = police.post(reverse("referrals:create"), form_data(household_postcode="4⁰723"))
    assert response.status_code == 200
    assert german("A German postcode has exactly five digits.") in error_of(response, "household_postcode")
    assert input_value(response, "household_postcode") == "4⁰723"
    assert Referral.objects.count() == 0


def test_routing_reads_digits_of_other_scripts_too(district):
    assert route_address(postcode="４０７２３", city="Hilden").office.name == "Jugendamt Hilden"
    assert route_address(postcode="4⁰723", city="Hilden").reason == "malformed"


# --- birth dates --------------------------------------------------------------------------------------

TOMORROW = "tomorrow"  # resolved when the test runs, not when it is collected (TEST_CLOCK, a run at midnight)


def day(value: str) -> str:
    return (timezone.localdate() + datetime.timedelta(days=1)).isoformat() if value == TOMORROW else value


@pytest.mark.parametrize(
    ("born", "message"),
    [("0001-01-01", BIRTH_TOO_EARLY), ("1800-05-01", BIRTH_TOO_EARLY), ("1899-12-31", BIRTH_TOO_EARLY),
     (TOMORROW, IN_FUTURE)],
)  # fmt: skip
def test_api_refuses_implausible_birth_dates_of_children_and_persons(api, born, message):
    born = day(born)
    child = {"first_name": "Mia", "last_name": "Beispiel", "date_of_birth": born, "sex": "female"}
    response = api.post(URL, referral_payload(children=[child]), format="json")
    assert response.status_code == 400
    assert response.json() == {"children": [{"date_of_birth": [german(message)]}]}
    person = {"role": "father", "last_name": "Beispiel", "date_of_birth": born}
    response = api.post(URL, referral_payload(persons=[person]), format="json")
    assert response.status_code == 400
    assert response.json() == {"persons": [{"date_of_birth": [german(message)]}]}
    assert Referral.objects.count() == 0


def test_api_accepts_birth_dates_from_1900_to_today(api):
    children = [
        {"first_name": "Mia", "last_name": "Beispiel", "date_of_birth": "1900-01-01", "sex": "female"},
        {"first_name": "Ben", "last_name": "Beispiel", "date_of_birth": timezone.localdate().isoformat()},
    ]
    persons = [{"role": "father", "last_name": "Beispiel", "date_of_birth": "1900-01-01"}]
    response = api.post(URL, referral_payload(children=children, persons=persons), format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("born", ["0001-01-01", "1800-05-01", TOMORROW])
def test_form_refuses_implausible_birth_dates_and_keeps_what_was_typed(police, born):
    message = IN_FUTURE if born == TOMORROW else BIRTH_TOO_EARLY
    born = day(born)
    data = form_data(children=({**CHILD, "date_of_birth": born},), persons=({**PERSON, "date_of_birth": born},))
    response = police.post(reverse("referrals:create"), data)
    assert response.status_code == 200
    assert german(message) in error_of(response, "children-0-date_of_birth")
    assert german(message) in error_of(response, "persons-0-date_of_birth")
    assert input_value(response, "children-0-date_of_birth") == born
    assert input_value(response, "persons-0-date_of_birth") == born
    assert Referral.objects.count() == 0


def test_birth_date_inputs_say_the_earliest_date(police):
    content = police.get(reverse("referrals:create")).content.decode()
    assert 'name="children-0-date_of_birth"' in content and 'min="1900-01-01"' in content


# --- incident dates -----------------------------------------------------------------------------------


def too_early_incident(settings):
    earliest = timezone.localdate() - datetime.timedelta(days=settings.INCIDENT_MAX_AGE_DAYS)
    with_translation = german("The date lies before %(date)s. Check the year.")
    return with_translation, earliest


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "1900-01-01T00:00:00+01:00", "2010-06-01T12:00:00+02:00"])
def test_api_refuses_an_incident_outside_the_window(api, settings, when):
    response = api.post(URL, referral_payload(incident_at=when), format="json")
    assert response.status_code == 400
    [message] = response.json()["incident_at"]
    assert message.startswith(german("The date lies before %(date)s. Check the year.").split("%")[0])
    assert Referral.objects.count() == 0


def test_the_incident_window_is_a_setting(api, settings):
    when = (timezone.now() - datetime.timedelta(days=40)).isoformat()
    assert api.post(URL, referral_payload(incident_at=when), format="json").status_code == 201
    settings.INCIDENT_MAX_AGE_DAYS = 30
    response = api.post(URL, referral_payload(incident_at=when), format="json")
    assert response.status_code == 400 and "incident_at" in response.json()


def test_api_refuses_an_incident_in_the_future(api):
    when = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    response = api.post(URL, referral_payload(incident_at=when), format="json")
    assert response.status_code == 400
    assert response.json() == {"incident_at": [german("The date and time lie in the future.")]}


@pytest.mark.parametrize("when", ["0001-01-01T00:00", "1900-01-01T10:00", "2010-06-01T12:00"])
def test_form_refuses_an_incident_outside_the_window_and_keeps_it(police, when):
    response = police.post(reverse("referrals:create"), form_data(incident_at=when))
    assert response.status_code == 200
    assert german("The date lies before %(date)s. Check the year.").split("%")[0] in error_of(response, "incident_at")
    assert input_value(response, "incident_at") == when
    assert Referral.objects.count() == 0


def test_form_refuses_an_incident_in_the_future(police):
    when = (timezone.localtime() + datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = police.post(reverse("referrals:create"), form_data(incident_at=when))
    assert response.status_code == 200
    assert german("The date and time lie in the future.") in error_of(response, "incident_at")


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00Z", "1900-01-01T00:00:00Z"])
def test_a_followup_with_an_implausible_incident_is_refused(api, personas, when):
    referral = make_referral(personas.police_hilden)
    response = api.post(f"{URL}{referral.pk}/followups/", {"text": "Neuer Einsatz", "incident_at": when}, format="json")
    assert response.status_code == 400 and "incident_at" in response.json()
    assert not FollowUp.objects.exists()


def test_the_followup_form_refuses_an_implausible_incident(client, personas):
    referral = make_referral(personas.police_hilden)
    client.force_login(personas.police_hilden)
    response = client.post(
        reverse("referrals:followups", args=[referral.pk]), {"text": "Neuer Einsatz", "incident_at": "1900-01-01T10:00"}
    )
    assert response.status_code == 200
    assert german("The date lies before %(date)s. Check the year.").split("%")[0] in page_text(response)
    assert not FollowUp.objects.exists()


def test_the_migration_rewrites_stored_postcodes_as_ascii(personas):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("referrals.migrations.0009_household_postcode_ascii")
    stored = make_referral(personas.police_hilden, submit=False)
    Referral.objects.filter(pk=stored.pk).update(household_postcode="٤٠٧٢٣")
    other = make_referral(personas.police_hilden, submit=False, household_address=address("40723"))
    migration.postcodes_to_ascii(apps, None)
    assert Referral.objects.get(pk=stored.pk).household_postcode == "40723"
    assert Referral.objects.get(pk=other.pk).household_postcode == "40723"
