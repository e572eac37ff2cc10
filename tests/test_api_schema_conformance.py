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


def _validator(schema, path, method="get", status="200"):
    response = schema["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
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


def test_every_operation_documents_its_error_answers(schema):
    """401 and 403 everywhere, 404 on every object, 400 wherever the caller sends something — as
    ``ValidationError``, which takes both ``{"detail"}`` and field messages (core.api.standard_error_responses)."""
    operations = 0
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            operations += 1
            codes, where = operation["responses"], f"{method.upper()} {path}"
            assert {"401", "403"} <= set(codes), where
            assert "{" not in path or "404" in codes, where
            takes_input = "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", []))
            if takes_input or "400" in codes:
                shape = codes["400"]["content"]["application/json"]["schema"]
                assert shape == {"$ref": "#/components/schemas/ValidationError"}, where
            if method == "post":  # every POST takes an Idempotency-Key (core.idempotency)
                assert {"409", "422"} <= set(codes), where
            if "requestBody" in operation:
                assert {"413", "415"} <= set(codes), where
            for code in ("401", "403", "404"):
                if code in codes:
                    assert codes[code]["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"
                    }, (where, code)
    assert operations >= 70
    for path, method in (("/api/v1/referrals/{id}/sign-off-request/", "post"), ("/api/v1/referrals/{id}/", "patch")):
        operation = schema["paths"][path][method]  # they take If-Match (QA: undocumented, 412 a surprise)
        assert "If-Match" in {p["name"] for p in operation["parameters"]} and "412" in operation["responses"]
    listed = schema["paths"]["/api/v1/sign-off-requests/"]["get"]["parameters"]  # every keyset list pages alike
    assert {"cursor", "page_size"} <= {parameter["name"] for parameter in listed}


def test_error_answers_conform_to_the_schema(schema, personas):
    """The error answers the QA of 2026-12-05 found undocumented or documented in another shape."""
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    office, coordinator = _client(personas.caseworker_hilden), _client(personas.district_coordinator)
    tasks = f"/api/v1/referrals/{referral.pk}/tasks/"
    cases = [  # (path of the schema, method, answer, status expected)
        ("/api/v1/referrals/{id}/tasks/", "post", office.post(tasks, {"due_on": "morgen"}, format="json"), 400),
        ("/api/v1/meeting-series/", "post", coordinator.post("/api/v1/meeting-series/", [], format="json"), 400),
        ("/api/v1/referrals/", "get", APIClient().get("/api/v1/referrals/"), 401),
        ("/api/v1/retention-rules/", "get", office.get("/api/v1/retention-rules/"), 403),
        ("/api/v1/agencies/{id}/", "get", office.get("/api/v1/agencies/999999/"), 404),
        (
            "/api/v1/referrals/{id}/assign-office/",
            "post",
            coordinator.post(f"/api/v1/referrals/{referral.pk}/assign-office/", {}, format="json"),
            404,  # not in the triage queue: outside the coordinator's scope
        ),
    ]
    for path, method, answer, status in cases:
        assert answer.status_code == status, (path, method, answer.status_code, answer.content[:300])
        _conforms(_validator(schema, path, method, str(status)), answer.json(), (path, method, status))
    notes, key = f"/api/v1/referrals/{referral.pk}/notes/", {"HTTP_IDEMPOTENCY_KEY": "schema-conformance-1"}
    assert office.post(notes, {"text": "Erste Notiz"}, format="json", **key).status_code == 201
    reused = office.post(notes, {"text": "Andere Notiz"}, format="json", **key)
    assert reused.status_code == 422, reused.content[:300]
    _conforms(_validator(schema, "/api/v1/referrals/{id}/notes/", "post", "422"), reused.json(), "key reused")
    unsupported = office.post(notes, "<xml/>", content_type="text/xml")
    assert unsupported.status_code == 415
    _conforms(_validator(schema, "/api/v1/referrals/{id}/notes/", "post", "415"), unsupported.json(), "415")
    field_errors = cases[0][2].json()
    assert "detail" not in field_errors and field_errors, field_errors  # fields, not {detail}


def test_a_screening_with_weighty_indications_conforms(schema, personas):
    """Its ``next_step`` is empty, which the schema's enum lacked."""
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    office = _client(personas.caseworker_hilden)
    assert office.post(f"/api/v1/referrals/{referral.pk}/acknowledge/", {}, format="json").status_code == 200
    body = {"weighty_indications": True, "reason": "Säugling, Verletzungen."}
    answer = office.post(f"/api/v1/referrals/{referral.pk}/screening/", body, format="json")
    assert answer.status_code in (200, 201) and answer.json()["next_step"] == "", answer.content[:300]
    validator = _validator(schema, "/api/v1/referrals/{id}/screening/", "post", str(answer.status_code))
    _conforms(validator, answer.json(), "screening with weighty indications")
