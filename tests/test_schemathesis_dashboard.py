"""Property-based tests of the dashboards' API (issue 15 §§ 1-2) from the OpenAPI schema: whatever
``from``, ``to``, ``office`` or ``year`` schemathesis makes up, every caller gets no server error, never
a child's name or a referral's reference, and never a district count of 1 or 2."""

import pytest
from hypothesis import HealthCheck, given, settings

from tests import test_schemathesis as base

# The fixtures of tests/test_schemathesis.py: a caseworker of Hilden and of Velbert with a referral each.
offices = base.offices
wsgi_keeps_the_test_connection = base.wsgi_keeps_the_test_connection

pytestmark = pytest.mark.schemathesis

PERSONAL = ("Beispiel", "Mittelstraße")


def test_dashboard_and_report_operations(offices, personas):
    operations = base._operations(path_regex="^/api/v1/(dashboard|reports)/")
    assert len(operations) == 3, [op.label for op in operations]
    callers = [
        personas.lead_hilden, personas.caseworker_velbert, personas.district_coordinator,
        personas.police_coordinator, personas.police_hilden,
    ]  # fmt: skip
    references = [referral.reference for _user, referral, _other in offices]
    statuses = {}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def run(case):
            for user in callers:
                response = case.call(headers=base._token(user))
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                where = f"{user.username}: {case.method} {case.formatted_path} {case.query}"
                assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
                for text in (*PERSONAL, *references):
                    assert text not in response.text, (where, text)
                if response.status_code == 200 and "/district/" in case.formatted_path:
                    for row in response.json()["rows"]:
                        assert all(value not in (1, 2) for value in row.values()), (where, row)

        run()

    assert {200, 400, 403} <= set(statuses), statuses
