"""The API answers what its OpenAPI schema says (QA of 2026-12-05): drafts, the triage queue, a
pending hand-over, a person without a phone number, the questions in the timeline and the access
log — the cases where the answers and the schema used to differ (null offices and assignees, an
empty urgency, an empty phone number, two kinds missing from the enum, an array documented as an
object). Each answer is validated against the schema served at /api/schema/."""

import pytest
from jsonschema import Draft7Validator
from rest_framework.test import APIClient

from agencies.models import Agency
from referrals.dialogue import question_ask
from referrals.services import referral_forward
from tests.factories import api_token, make_referral, referral_payload


def _json_schema(node):
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes "null or the rest"."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _json_schema(value) for key, value in node.items() if key not in ("nullable", "example")}
    if node.get("nullable"):
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


@pytest.fixture
def schema(client, personas):
    client.force_login(personas.caseworker_hilden)
    served = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return served


def _validator(schema, path, method="get"):
    response = schema["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    root = {"allOf": [_json_schema(response)], "components": _json_schema(schema["components"])}
    return Draft7Validator(root)


def _client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


def _conforms(validator, body, what):
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    details = [
        f"{list(e.absolute_path)} {list(sub.absolute_path)}: {sub.message[:150]}"
        for e in errors[:3]
        for sub in (e.context or [e])
    ]
    assert not errors, (what, details[:12])


def test_answers_conform_to_the_schema(schema, personas):
    police = _client(personas.police_hilden)
    draft = police.post("/api/v1/referrals/", {"draft": True}, format="json").json()
    payload = referral_payload(postcode="40723", city="Hilden")
    payload["persons"][0]["phone"] = ""
    filed = police.post("/api/v1/referrals/", payload, format="json").json()
    triage = make_referral(personas.police_hilden, postcode="10115", city="Berlin")
    pending = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_forward(
        referral=pending, user=personas.caseworker_hilden, to_office=Agency.objects.get(code="JA-VEL"), reason="x"
    )
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    question_ask(referral=referral, user=personas.caseworker_hilden, text="Gibt es weitere Kinder?")

    listed = _validator(schema, "/api/v1/referrals/")
    detail = _validator(schema, "/api/v1/referrals/{id}/")
    _conforms(listed, police.get("/api/v1/referrals/").json(), "police list with a draft and a triaged referral")
    for pk in (draft["id"], filed["id"], triage.pk, pending.pk):
        _conforms(detail, police.get(f"/api/v1/referrals/{pk}/").json(), ("police detail", pk))
    office = _client(personas.caseworker_hilden)
    for pk in (filed["id"], pending.pk):
        _conforms(detail, office.get(f"/api/v1/referrals/{pk}/").json(), ("office detail", pk))
    _conforms(detail, _client(personas.district_coordinator).get(f"/api/v1/referrals/{triage.pk}/").json(), "triage")
    timeline = office.get(f"/api/v1/referrals/{referral.pk}/timeline/").json()
    assert "question_asked" in {event["kind"] for event in timeline}
    _conforms(_validator(schema, "/api/v1/referrals/{id}/timeline/"), timeline, "timeline with a question")
    log = _client(personas.lead_hilden).get(f"/api/v1/referrals/{filed['id']}/access-log/")
    assert log.status_code == 200 and isinstance(log.json(), list)
    _conforms(_validator(schema, "/api/v1/referrals/{id}/access-log/"), log.json(), "access log")
