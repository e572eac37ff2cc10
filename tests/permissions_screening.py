"""Permission-matrix rows of issue 13 (screening step, § 8a statistic), merged into ``ENDPOINTS`` of
tests/test_permissions.py. The casework checks are that module's own (passed in, so neither imports the
other): the pages answer 404 outside the scope, 405 to a GET, 403 inside it to anyone but the
responsible office, and the form again (200) for an empty POST; the API answers 404 outside the office's
casework, 404 to a GET while no screening exists, 400 to an empty or malformed body. The statistic
(page and API) answers 200 to office leads and district coordinators only, 403 to everyone else, and
names no referral of the matrix's world (none has a signed-off assessment)."""

from rest_framework.test import APIClient

STATISTICS_READERS = {"lead_hilden", "lead_velbert", "district_coordinator", "coordinator_duesseldorf"}


def _client(user, api):
    client = APIClient()
    if api:
        client.force_authenticate(user)
    else:
        client.force_login(user)
    return client


def check_statistics(path, *, api):
    def check(persona, user, referrals):
        response = _client(user, api).get(f"{path}?year=2026")
        assert response.status_code == (200 if persona in STATISTICS_READERS else 403), (path, persona)
        text = response.content.decode()
        assert not [key for key, referral in referrals.items() if referral.reference in text], (path, persona)
        if persona in STATISTICS_READERS:
            assert _client(user, api).get(f"{path}?year=19x5").status_code == 400, (path, persona)

    return check


def screening_endpoints(check_page_action, check_api_casework, check_api_transition) -> dict:
    return {
        "referrals:screening": check_page_action("screening"),
        "referrals:screening_sign_off": check_page_action("screening/sign-off"),
        "referral-screening": check_api_casework("screening", read_status=404, write="json"),  # none yet
        "referral-screening-sign-off": check_api_transition("screening/sign-off"),
        "referrals:statistics_8a": check_statistics("/statistics/8a/", api=False),
        "statistics-8a": check_statistics("/api/v1/statistics/8a/", api=True),
    }
