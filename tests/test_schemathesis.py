"""Property-based API tests from the OpenAPI schema (schemathesis): as caseworkers of two offices,
every GET and POST operation on referrals answers without a server error and never with the other
office's referral — also when the path names the other office's referral on purpose."""

import time

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from config.wsgi import application
from referrals.models import Referral
from tests.factories import api_token, make_referral

pytestmark = pytest.mark.schemathesis

EXAMPLES_PER_OPERATION = 10
OPERATIONS = "^/api/v1/referrals"


@pytest.fixture
def wsgi_keeps_the_test_connection():
    """The WSGI handler closes database connections at the end of each request; inside the test's
    transaction it must not (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def offices(personas, wsgi_keeps_the_test_connection):
    """Hilden's and Velbert's caseworker, each with a token and one referral of their office."""
    hilden = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    assert hilden.youth_office.code == "JA-HIL" and velbert.youth_office.code == "JA-VEL"
    return [(personas.caseworker_hilden, hilden, velbert), (personas.caseworker_velbert, velbert, hilden)]


def _token(user) -> dict[str, str]:
    return {"Authorization": f"Token {api_token(user)}"}


def _text(response) -> str:
    """The body as text, also when it is binary (the case PDF): undecodable bytes are replaced, so a
    reference in plain text is still found and a PDF does not break the check."""
    return response.content.decode("utf-8", errors="replace")


def _may_see(user, referral) -> bool:
    """A fuzzed forward may legitimately hand one office's referral to the other."""
    return Referral.objects.visible_to(user).filter(pk=referral.pk).exists()


def _operations(path_regex=OPERATIONS, exclude=None):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    schema = schema.include(path_regex=path_regex, method=["GET", "POST", "PATCH", "PUT", "DELETE"])
    if exclude:
        schema = schema.exclude(path_regex=exclude)
    return [result.ok() for result in schema.get_all_operations()]


def test_referral_operations_as_members_of_two_offices(offices):
    operations = _operations()
    assert len(operations) >= 10, [op.label for op in operations]  # the filter found the referral API
    calls, hidden_checks, statuses, started = 0, 0, {}, time.monotonic()

    def probe(case, user, own, other):
        nonlocal calls, hidden_checks
        # A generated id almost never names a referral: aim every detail operation at the other
        # office's referral (must stay hidden) and at the own one (reaches the real code paths).
        variants = [case.path_parameters]
        if "id" in (case.path_parameters or {}):
            variants = [{**case.path_parameters, "id": other.pk}, {**case.path_parameters, "id": own.pk}]
        for path_parameters in variants:
            case.path_parameters = path_parameters
            response = case.call(headers=_token(user))
            calls += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            where = f"{case.method} {case.formatted_path}"
            assert response.status_code < 500, f"{where}: {response.status_code} {_text(response)[:500]}"
            if not _may_see(user, other):
                hidden_checks += 1
                assert other.reference not in _text(response), f"{where} shows the other office's referral"

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            for user, own, other in offices:
                probe(case, user, own, other)

        run()

    took = time.monotonic() - started
    counts = f"{calls} calls, {hidden_checks} checked for the other office's data, {sorted(statuses.items())}"
    print(f"schemathesis: {len(operations)} operations, {counts}, {took:.0f}s")
    assert calls >= len(operations) * 2 and hidden_checks >= calls // 2
    assert any(200 <= status < 300 for status in statuses), "no call succeeded: the probe proved nothing"


def test_every_other_operation_as_people_of_different_agencies(offices, personas):
    """The rest of the API (cooperation, retention rules, access log, agencies): as a caseworker and a
    lead of different offices, the district coordinator and a police officer, no server error and
    never the reference of a referral the caller may not see."""
    operations = _operations(path_regex="^/api/v1/", exclude=OPERATIONS)
    assert len(operations) >= 10, [op.label for op in operations]
    hilden, velbert = offices[0][1], offices[0][2]
    callers = [personas.caseworker_hilden, personas.lead_velbert, personas.district_coordinator, personas.police_hilden]
    calls, statuses = 0, {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=5, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            nonlocal calls
            for user in callers:
                response = case.call(headers=_token(user))
                calls += 1
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                where = f"{user.username}: {case.method} {case.formatted_path}"
                assert response.status_code < 500, f"{where}: {response.status_code} {_text(response)[:500]}"
                for referral in (hilden, velbert):
                    if not _may_see(user, referral):
                        assert referral.reference not in _text(response), f"{where} shows {referral.reference}"

        run()

    print(f"schemathesis (rest of the API): {len(operations)} operations, {calls} calls, {sorted(statuses.items())}")
    assert any(200 <= status < 300 for status in statuses), "no call succeeded: the probe proved nothing"
