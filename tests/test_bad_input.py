"""Bad input that used to be a 500 (issue 10 § 6): deeply nested JSON on every JSON endpoint of the
API, and a crafted pagination cursor of nested brackets, are answered 400 with a German message."""

import base64
import json
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from core.parsers import MAX_JSON_DEPTH
from referrals.models import Referral
from tests.factories import api_token, make_referral, referral_payload

NESTED_OPEN = "[" * 5000  # the body of the fault-injection run: never closed
NESTED_CLOSED = "[" * 5000 + "]" * 5000
NESTED_BELOW_RECURSION_LIMIT = "[" * 200 + "]" * 200  # parses, but is deeper than any request needs
NESTED_OBJECTS = '{"a":' * 3000 + "1" + "}" * 3000
GERMAN = "zu tief verschachtelt"


def client_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


def post_raw(client, url, body, method="post"):
    return getattr(client, method)(url, data=body, content_type="application/json")


@pytest.mark.parametrize(
    "body",
    [NESTED_OPEN, NESTED_CLOSED, NESTED_BELOW_RECURSION_LIMIT, NESTED_OBJECTS],
    ids=["open-5000", "closed-5000", "closed-200", "objects-3000"],
)
def test_nested_json_filing_a_referral_is_400_with_a_german_message(personas, body):
    response = post_raw(client_for(personas.police_hilden), "/api/v1/referrals/", body)
    assert response.status_code == 400, response.content[:300]
    assert GERMAN in response.json()["detail"]
    assert Referral.objects.count() == 0


def test_nesting_inside_a_valid_referral_is_refused_too(personas):
    deep = ["x"]
    for _ in range(MAX_JSON_DEPTH + 5):
        deep = [deep]
    payload = referral_payload(concerns=deep)
    response = client_for(personas.police_hilden).post("/api/v1/referrals/", payload, format="json")
    assert response.status_code == 400
    assert GERMAN in response.json()["detail"]


def test_an_ordinary_referral_is_not_caught_by_the_limit(personas):
    response = client_for(personas.police_hilden).post("/api/v1/referrals/", referral_payload(), format="json")
    assert response.status_code == 201, response.content


def test_nested_json_on_casework_and_cooperation_endpoints(personas):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    caseworker = client_for(personas.caseworker_hilden)
    for action in ("acknowledge", "assign", "rerate", "forward", "assessment", "notes"):
        response = post_raw(caseworker, f"/api/v1/referrals/{referral.pk}/{action}/", NESTED_OPEN)
        assert response.status_code == 400, (action, response.content[:300])
        assert GERMAN in response.json()["detail"], action
    patch = post_raw(client_for(personas.police_hilden), f"/api/v1/referrals/{referral.pk}/", NESTED_OPEN, "patch")
    assert patch.status_code in (400, 403, 405), patch.content[:300]
    response = post_raw(client_for(personas.district_coordinator), "/api/v1/meeting-series/", NESTED_OPEN)
    assert response.status_code == 400, response.content[:300]
    assert GERMAN in response.json()["detail"]


def _api_routes():
    """Every URL pattern under /api/ as a concrete path (``<pk>`` and friends filled in later)."""

    def walk(patterns, prefix):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    for route in walk(get_resolver().url_patterns, "/"):
        if route.startswith("/api/") and "(?P<format>" not in route and "\\.(?P" not in route:
            yield route


def _concrete(route: str, referral_id: int) -> str:
    path = route.lstrip("^").rstrip("$").replace("\\Z", "").replace("^", "")
    path = re.sub(r"<[^>]+>|\(\?P<[^>]+>[^)]*\)", str(referral_id), path)
    return path.replace("\\", "")


def test_no_json_endpoint_answers_500_to_nested_json(personas):
    """Every API route, every writing method, as people of every kind: never a server error (the
    parser is DRF's default, so no endpoint escapes it)."""
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    people = [personas.police_hilden, personas.caseworker_hilden, personas.lead_hilden, personas.district_coordinator]
    routes = sorted({_concrete(route, referral.pk) for route in _api_routes()})
    assert len(routes) > 20, routes
    refused = 0
    for user in people:
        client = client_for(user)
        for path in routes:
            for method in ("post", "put", "patch"):
                response = post_raw(client, path, NESTED_OPEN, method)
                assert response.status_code < 500, (user.username, method, path, response.content[:300])
                refused += response.status_code == 400
    assert refused > 20  # the parser was reached, not just refusals before it


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_of_nested_brackets_is_400_in_the_api_and_ignored_on_pages(client, personas):
    make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    cursor = _cursor("[" * 3000)
    response = client_for(personas.caseworker_hilden).get("/api/v1/referrals/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()
    client.force_login(personas.caseworker_hilden)
    page = client.get("/inbox/", {"cursor": cursor})
    assert page.status_code == 200


def test_a_cursor_with_a_number_beyond_a_bigint_is_400_in_the_api_and_ignored_on_pages(client, personas):
    """No id is that large: the cursor is refused before it reaches the database (SQLite cannot bind
    such an integer and would fail with a 500)."""
    make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    cursor = _cursor(json.dumps(["2026-01-01T00:00:00+00:00", 2**64]))
    response = client_for(personas.caseworker_hilden).get("/api/v1/referrals/", {"cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()
    client.force_login(personas.caseworker_hilden)
    assert client.get("/referrals/", {"cursor": cursor}).status_code in (200, 403)
    assert (
        client.get("/inbox/", {"cursor": _cursor(json.dumps([0, "2026-01-01T00:00:00+00:00", 2**64]))}).status_code
        == 200
    )


EDITED_CURSORS = {  # each value of the sort key checked against its field's type (core.pagination._decode)
    "numbers": [5, 5],
    "booleans": [True, False],
    "before the first instant in UTC": ["0001-01-01T00:00:00+14:00", 1],
    "two timestamps": ["2026-12-05T13:34:58+00:00", "2026-12-05T13:34:58+00:00"],
    "text for a timestamp": ["abc", 5],
    "a timestamp without time zone": ["2026-12-05T13:34:58", 5],
    "month 13": ["2026-13-05T13:34:58+00:00", 5],
    "null for an id": ["2026-12-05T13:34:58+00:00", None],
}
LISTS = ["/api/v1/referrals/", "/api/v1/tasks/", "/api/v1/meetings/", "/api/v1/hospitations/", "/api/v1/events/"]


@pytest.mark.parametrize("values", EDITED_CURSORS.values(), ids=EDITED_CURSORS.keys())
def test_an_edited_cursor_is_400_with_a_german_message_on_every_api_list(personas, values):
    """Before, a number where a timestamp belongs (or a date that overflows in UTC) reached the
    database and answered 500 with the debug page."""
    cursor = _cursor(json.dumps(values))
    for user in (personas.police_hilden, personas.caseworker_hilden, personas.district_coordinator):
        client = client_for(user)
        for path in LISTS:
            response = client.get(path, {"cursor": cursor})
            if response.status_code == 403:  # a list that is not this person's (tasks: the offices')
                continue
            assert response.status_code == 400, (user.username, path, response.content[:300])
            assert response.json() == {"cursor": ["Ungültiger Cursor: Laden Sie die Liste neu."]}, path


@pytest.mark.parametrize("values", EDITED_CURSORS.values(), ids=EDITED_CURSORS.keys())
def test_an_edited_cursor_starts_a_page_from_the_beginning(client, personas, values):
    make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    cursor = _cursor(json.dumps(values))
    pages = {personas.caseworker_hilden: "/inbox/", personas.police_hilden: "/referrals/"}
    pages[personas.district_coordinator] = "/triage/"
    for user, path in pages.items():
        client.force_login(user)
        assert client.get(path, {"cursor": cursor}).status_code == 200, (user.username, path)
    client.force_login(personas.caseworker_hilden)
    for path in ("/cooperation/series/", "/cooperation/hospitations/", "/cooperation/events/"):
        assert client.get(path, {"cursor": cursor}).status_code == 200, path
