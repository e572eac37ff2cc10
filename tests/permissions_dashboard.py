"""Permission-matrix rows of the dashboards and the joint cooperation report (issue 15 §§ 1, 2), merged
into ``ENDPOINTS`` of tests/test_permissions.py. The office dashboard answers the people of a youth
office (200; another office's dashboard 404) and refuses everyone else (403); the district figures
answer the district coordinators and the police coordinator (200, never a child's or a person's name
and no count below 3) and refuse everyone else (403); the report's API only the district
coordinators."""

import re

from rest_framework.test import APIClient

OFFICE = {"caseworker_hilden", "lead_hilden", "caseworker_velbert", "lead_velbert", "caseworker_duesseldorf"}
LEADS = {"lead_hilden", "lead_velbert"}
DISTRICT = {"district_coordinator", "coordinator_duesseldorf", "police_coordinator"}
REPORT = {"district_coordinator", "coordinator_duesseldorf"}
# Names of the referrals' children and persons (tests.factories.referral_payload): never in any figure.
PERSONAL = ("Beispiel", "Mia", "Mittelstraße", "0170")
SMALL_COUNT = re.compile(r"(?:^|;)[12](?:;|$)")


def _web(user):
    from tests.test_permissions import _web

    return _web(user)


def _api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _no_personal_data(text, where):
    for word in PERSONAL:
        assert word not in text, (where, word)


def check_office_page(persona, user, referrals):
    web = _web(user)
    response = web.get("/dashboard/")
    assert response.status_code == (200 if persona in OFFICE else 403), ("dashboard", persona)
    if persona in OFFICE:
        _no_personal_data(response.content.decode(), "dashboard")
        from agencies.models import Agency

        other = Agency.objects.get(code="JA-VEL" if "hilden" in persona else "JA-HIL")
        assert web.get(f"/dashboard/?office={other.pk}").status_code == 404, ("other office", persona)


def check_office_csv(persona, user, referrals):
    web = _web(user)
    assert web.get("/dashboard/status.csv").status_code == (200 if persona in OFFICE else 403), persona
    expected = 200 if persona in LEADS else (404 if persona in OFFICE else 403)  # a caseworker has no clock table
    assert web.get("/dashboard/clock.csv").status_code == expected, ("clock.csv", persona)


def check_office_api(persona, user, referrals):
    assert APIClient().get("/api/v1/dashboard/office/").status_code in (401, 403)
    response = _api(user).get("/api/v1/dashboard/office/")
    assert response.status_code == (200 if persona in OFFICE else 403), ("dashboard api", persona)


def check_district_page(persona, user, referrals):
    web = _web(user)
    for path in ("/dashboard/district/", "/dashboard/district/figures.csv"):
        response = web.get(path)
        assert response.status_code == (200 if persona in DISTRICT else 403), (path, persona)
        if persona in DISTRICT:
            text = response.content.decode()
            _no_personal_data(text, path)
            if path.endswith(".csv"):
                assert not any(SMALL_COUNT.search(line) for line in text.splitlines()[1:]), text


def check_district_api(persona, user, referrals):
    assert APIClient().get("/api/v1/dashboard/district/").status_code in (401, 403)
    response = _api(user).get("/api/v1/dashboard/district/")
    assert response.status_code == (200 if persona in DISTRICT else 403), ("district api", persona)
    if persona in DISTRICT:
        _no_personal_data(response.content.decode(), "district api")
        for row in response.json()["rows"]:
            assert all(v not in (1, 2) for v in row.values()), row


def check_report_api(persona, user, referrals):
    assert APIClient().get("/api/v1/reports/cooperation/").status_code in (401, 403)
    response = _api(user).get("/api/v1/reports/cooperation/")
    assert response.status_code == (200 if persona in REPORT else 403), ("report api", persona)
    if persona in REPORT:
        _no_personal_data(response.content.decode(), "report api")


def check_report_pdf(persona, user, referrals):
    response = _web(user).get("/cooperation/report.pdf")
    assert response.status_code == (200 if persona in REPORT else 403), ("report pdf", persona)
    if persona in REPORT:
        assert response["Content-Type"] == "application/pdf" and response.content[:4] == b"%PDF"


def dashboard_endpoints() -> dict:
    return {
        "referrals:dashboard": check_office_page,
        "referrals:dashboard_csv": check_office_csv,
        "dashboard-office": check_office_api,
        "referrals:dashboard_district": check_district_page,
        "referrals:dashboard_district_csv": check_district_page,
        "dashboard-district": check_district_api,
        "cooperation-report": check_report_api,
        "meetings:report_pdf": check_report_pdf,
    }
