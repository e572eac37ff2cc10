"""The dashboards in a real browser (issue 15 §§ 1-2): the lead's office dashboard, the district figures
and the joint cooperation report with data in place pass axe-core (no serious or critical violation),
their charts are SVG images with a name, and each prints (Chromium's PDF of the page, print media)."""

import pytest

from tests.factories import make_referral

pytestmark = pytest.mark.browser

PAGES = {
    "lead_hilden": ["/dashboard/", "/dashboard/?from=2020-13-01"],  # the second with an error at the field
    "caseworker_hilden": ["/dashboard/"],
    "district_coordinator": ["/dashboard/district/", "/cooperation/report/"],
    "police_coordinator": ["/dashboard/district/"],
}


def test_dashboards_pass_axe_and_print(page, live_server, personas, login, logout, assert_accessible):
    for _ in range(3):
        make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency="immediate")
    make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    for persona, paths in PAGES.items():
        login(page, persona)
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response.status in (200, 400), (persona, path, response.status)
            assert_accessible(page, f"{path} as {persona}")
            charts = page.locator("svg.chart")
            for index in range(charts.count()):
                chart = charts.nth(index)
                assert chart.get_attribute("role") == "img"
                assert chart.locator("title").text_content().strip()
            page.emulate_media(media="print")
            assert page.pdf(format="A4")[:4] == b"%PDF"
            page.emulate_media(media="screen")
        logout(page)
