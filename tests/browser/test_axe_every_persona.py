"""axe on every page each persona reaches (issue 16 proof): the browser follows every link from the
start page as police officer, police coordinator, caseworker, office lead and district coordinator,
with referrals (Hilden office, triage queue, a draft) and cooperation data (series with meetings and an
action item, a hospitation, events) in place, and runs axe-core on each page: 0 serious or critical
violations. One page per address pattern (/referrals/5/ stands for every referral page). The account
pages that are not linked from a start page (second-factor setup, backup codes, password change, the
lead's second-factor reset) and the branded error pages are visited explicitly."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.factories import make_referral
from tests.test_error_pages import SKIP
from tests.test_meetings_api import meetings_world

pytestmark = pytest.mark.browser

PERSONAS = ["police_hilden", "police_coordinator", "caseworker_hilden", "lead_hilden", "district_coordinator"]
ACCOUNT_PAGES = [
    "/accounts/", "/accounts/password/", "/accounts/second-factor/setup/", "/accounts/second-factor/backup-codes/",
    "/accounts/tokens/", "/notifications/", "/directory/", "/cooperation/", "/cooperation/report/",
    "/gibt-es-nicht/",  # the branded 404
]  # fmt: skip
LIMIT = 60


def pattern(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def test_axe_on_every_page_of_every_persona(page, live_server, personas, login, logout, assert_accessible):
    make_referral(personas.police_hilden)  # to Jugendamt Hilden
    make_referral(personas.police_hilden, postcode="99999", city="Nirgendwo")  # triage
    make_referral(personas.police_hilden, submit=False)  # a draft
    meetings_world(personas)
    checked, findings = {}, []
    for persona in PERSONAS:
        login(page, persona)
        queue = [urlsplit(page.url).path, *ACCOUNT_PAGES]
        if persona == "lead_hilden":  # the confirmation before a lead resets a person's second factor
            queue.append(f"/accounts/people/{personas.caseworker_hilden.pk}/second-factor-reset/")
        seen = set()
        while queue and len(seen) < LIMIT:
            path = queue.pop(0)
            if pattern(path) in seen or SKIP.search(path):
                continue
            seen.add(pattern(path))
            try:
                response = page.goto(f"{live_server.url}{path}")
            except PlaywrightError as error:  # a link to a file (PDF, calendar entry) is no page
                if "Download is starting" in str(error):
                    continue
                raise
            # A page that is not the persona's answers with the branded 403/404, which must pass axe too.
            assert response.status in (200, 403, 404), (persona, path, response.status)
            try:
                assert_accessible(page, f"{path} as {persona}")
            except AssertionError as failure:  # every page's findings at once, not only the first
                findings.append(str(failure))
            checked.setdefault(persona, []).append(path)
            for href in page.eval_on_selector_all("a[href^='/']", "links => links.map(a => a.getAttribute('href'))"):
                target = urlsplit(href).path
                if pattern(target) not in seen and not SKIP.search(target):
                    queue.append(target)
        logout(page)
    assert not findings, "\n\n".join(findings)
    for persona in PERSONAS:
        assert len(checked.get(persona, [])) >= 8, (persona, checked.get(persona))
    # The cooperation and account pages were among them for every persona.
    for persona in PERSONAS:
        paths = {pattern(p) for p in checked[persona]}
        for required in ("/cooperation/", "/cooperation/report/", "/accounts/", "/accounts/password/"):
            assert required in paths, (persona, required)
