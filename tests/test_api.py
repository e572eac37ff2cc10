"""The referral API: filing, routing answer, validation with field paths, scoping."""

import json

import pytest
from rest_framework.test import APIClient

from notifications.models import Channel, Notification
from referrals.models import Child, Person, Referral
from tests.factories import api_token, make_referral, referral_payload

URL = "/api/v1/referrals/"


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return client

    return client_for


def test_police_files_referral_and_it_is_routed_to_hilden(api, personas):
    response = api(personas.police_hilden).post(URL, referral_payload(postcode="40723", city="Hilden"), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "submitted"
    assert body["youth_office"]["name"] == "Jugendamt Hilden"
    assert body["triage_reason"] == ""
    assert body["reference"].startswith("KPB-ME-")
    assert body["station"]["name"] == "Polizeiwache Hilden"
    referral = Referral.objects.get(pk=body["id"])
    assert referral.created_by == personas.police_hilden
    assert referral.children.count() == 1 and referral.persons.count() == 1


def test_station_comes_from_membership_not_body(api, personas):
    payload = referral_payload(station=999, youth_office=1, status="closed", reference="X")
    response = api(personas.police_velbert).post(URL, payload, format="json")
    assert response.status_code == 201
    referral = Referral.objects.get(pk=response.json()["id"])
    assert referral.station.code == "PW-VEL"
    assert referral.status == "submitted" and referral.reference != "X"


def test_unroutable_address_goes_to_triage(api, personas):
    response = api(personas.police_hilden).post(
        URL, referral_payload(postcode="40721", city="Düsseldorf"), format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "triage" and body["youth_office"] is None
    assert body["triage_reason"] == "shared_postcode"


def test_draft_may_be_incomplete(api, personas):
    response = api(personas.police_hilden).post(URL, {"draft": True, "police_case_number": "ME-1"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "draft"
    assert response.json()["youth_office"] is None


@pytest.mark.parametrize("who", ["caseworker_hilden", "lead_hilden", "district_coordinator", "no_role", "admin"])
def test_only_police_may_file(api, personas, who):
    response = api(getattr(personas, who)).post(URL, referral_payload(), format="json")
    assert response.status_code == 403
    assert Referral.objects.count() == 0


def test_police_coordinator_may_file(api, personas):
    response = api(personas.police_coordinator).post(URL, referral_payload(), format="json")
    assert response.status_code == 201
    assert Referral.objects.get().station.code == "KPB-ME"


def test_anonymous_is_refused(personas):
    assert APIClient().get(URL).status_code in (401, 403)
    assert APIClient().post(URL, referral_payload(), format="json").status_code in (401, 403)


@pytest.mark.parametrize(
    "change, path",
    [
        ({"children": []}, ["children"]),
        (
            {"children": [{"first_name": "A", "last_name": "B", "date_of_birth": "2999-01-01"}]},
            ["children", 0, "date_of_birth"],
        ),
        (
            {"household_address": {"street": "X", "house_number": "1", "postcode": "4072", "city": "Hilden"}},
            ["household_address", "postcode"],
        ),
        ({"urgency": "very"}, ["urgency"]),
        ({"concerns": ["neglect", "aliens"]}, ["concerns"]),
        ({"police_measures": "custody"}, ["police_measures"]),
        ({"incident_at": 12345}, ["incident_at"]),
        ({"incident_at": "yesterday"}, ["incident_at"]),
        ({"parents_informed": "maybe"}, ["parents_informed"]),
        ({"police_case_number": 42}, ["police_case_number"]),
        ({"facts_observed": "x" * 10_001}, ["facts_observed"]),
        ({"children": "Mia"}, ["children"]),
        (
            {"persons": [{"role": "father", "first_name": "T", "last_name": "B", "has_custody": "perhaps"}]},
            ["persons", 0, "has_custody"],
        ),
        ({"parents_informed": False, "parents_not_informed_reason": ""}, ["parents_not_informed_reason"]),
        ({"concerns": []}, ["concerns"]),
        ({"children": [{"first_name": "", "last_name": "", "sex": "female"}]}, ["children", 0, "first_name"]),
        ({"callback_phone": "call me"}, ["callback_phone"]),
        ({"incident_at": "2999-01-01T10:00:00+01:00"}, ["incident_at"]),
    ],
)
def test_bad_input_answers_400_with_field_path_and_saves_nothing(api, personas, change, path):
    response = api(personas.police_hilden).post(URL, referral_payload(**change), format="json")
    assert response.status_code == 400, response.content
    node = response.json()
    for part in path:
        node = node[part]
    assert node, response.json()
    assert Referral.objects.count() == Child.objects.count() == Person.objects.count() == 0


def test_malformed_json_and_oversized_body(api, personas):
    client = api(personas.police_hilden)
    response = client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400
    big = json.dumps(referral_payload(facts_observed="x" * (2 * 1024 * 1024)))
    response = client.post(URL, data=big, content_type="application/json")
    assert response.status_code in (400, 413)
    assert Referral.objects.count() == 0


def test_submitting_notifies_office_in_the_same_transaction(api, personas):
    response = api(personas.police_hilden).post(URL, referral_payload(urgency="immediate"), format="json")
    referral = Referral.objects.get(pk=response.json()["id"])
    emails = set(Notification.objects.filter(channel=Channel.EMAIL).values_list("recipient_email", flat=True))
    assert emails == {referral.youth_office.email, referral.youth_office.oncall_email}
    in_app = set(Notification.objects.filter(channel=Channel.IN_APP).values_list("recipient_user__username", flat=True))
    assert in_app == {"caseworker_hilden", "lead_hilden"}
    for notification in Notification.objects.all():
        text = notification.subject + notification.body + notification.link
        assert referral.reference in notification.subject
        for name in ("Mia", "Tom", "Beispiel"):
            assert name not in text


def test_list_is_scoped_filtered_and_cursor_paginated(api, personas):
    for _ in range(3):
        make_referral(personas.police_hilden, urgency="routine")
    make_referral(personas.police_hilden, urgency="immediate")
    make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    client = api(personas.caseworker_hilden)
    seen, url = [], URL + "?page_size=2"
    while url:
        body = client.get(url).json()
        seen += [r["reference"] for r in body["results"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 4
    immediate = client.get(URL + "?urgency=immediate").json()["results"]
    assert len(immediate) == 1
    assert client.get(URL + "?urgency=later").status_code == 400
    assert client.get(URL + "?cursor=garbage").status_code == 400
    assert client.get(URL + "?page_size=abc").status_code == 400
    assert client.get(URL + "?page_size=\uff12").status_code == 400  # full-width digits


def test_detail_is_404_outside_scope(api, personas):
    referral = make_referral(personas.police_hilden)
    assert api(personas.caseworker_hilden).get(f"{URL}{referral.pk}/").status_code == 200
    assert api(personas.caseworker_velbert).get(f"{URL}{referral.pk}/").status_code == 404
    assert api(personas.caseworker_velbert).get(f"{URL}999999/").status_code == 404


def test_coordinator_sees_triage_summary_without_names_and_assigns(api, personas):
    referral = make_referral(personas.police_hilden, postcode="40472", city="Düsseldorf")
    client = api(personas.district_coordinator)
    body = client.get(f"{URL}{referral.pk}/").json()
    assert body["status"] == "triage" and "children" not in body and "facts_observed" not in body
    assert "Mia" not in json.dumps(body)
    response = client.post(f"{URL}{referral.pk}/assign-office/", {"youth_office": referral.station.pk}, format="json")
    assert response.status_code == 400  # a police station is no youth office
    office = referral.station.district.agencies.get(code="JA-RAT")
    response = client.post(f"{URL}{referral.pk}/assign-office/", {"youth_office": office.pk}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "submitted"
    assert client.get(f"{URL}{referral.pk}/").status_code == 404  # out of the queue, out of sight
    assert (
        api(personas.caseworker_velbert)
        .post(f"{URL}{referral.pk}/assign-office/", {"youth_office": office.pk}, format="json")
        .status_code
        == 404
    )


def test_schema_and_docs_are_served(client, personas):
    client.force_login(personas.caseworker_hilden)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/referrals/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()


def _list_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL + "?page_size=100").status_code == 200
    return len(ctx.captured_queries)


def test_list_query_count_does_not_grow_with_rows(api, personas):
    client = api(personas.caseworker_hilden)
    make_referral(personas.police_hilden)
    _list_queries(client)  # the token's first use records it (a write at most once a minute): not counted
    one = _list_queries(client)
    for _ in range(29):
        make_referral(personas.police_hilden)
    assert _list_queries(client) == one


def test_detail_query_count_does_not_grow_with_children(api, personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    few = make_referral(personas.police_hilden)
    many = make_referral(
        personas.police_hilden,
        children=[{"first_name": f"K{i}", "last_name": "B", "sex": "unknown"} for i in range(8)],
    )
    client = api(personas.caseworker_hilden)
    assert client.get(URL).status_code == 200  # the token's first use records it (at most once a minute)
    counts = []
    for referral in (few, many):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"{URL}{referral.pk}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
