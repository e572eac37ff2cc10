"""Permission-matrix rows of the screening step (issue 13 §1), merged into ``ENDPOINTS`` of
tests/test_permissions.py. The checks are that module's own (passed in, so neither imports the other):
the pages answer 404 outside the scope, 405 to a GET, 403 inside it to anyone but the responsible
office, and the form again (200) for an empty POST; the API answers 404 outside the office's casework,
404 to a GET while no screening exists, 400 to an empty or malformed body."""


def screening_endpoints(check_page_action, check_api_casework, check_api_transition) -> dict:
    return {
        "referrals:screening": check_page_action("screening"),
        "referrals:screening_sign_off": check_page_action("screening/sign-off"),
        "referral-screening": check_api_casework("screening", read_status=404, write="json"),  # none yet
        "referral-screening-sign-off": check_api_transition("screening/sign-off"),
    }
