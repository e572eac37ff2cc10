"""The goal's journey in a real browser: a Hilden police officer files a referral for a family in
Hilden through the one referral form (adding and removing a child, correcting an error), the Hilden
caseworker finds it in the inbox with a notification, and the Velbert caseworker cannot see it."""

import datetime
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

pytestmark = pytest.mark.browser


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def fill_referral(page, *, case_number: str) -> None:
    incident = (timezone.localtime() - datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_police_case_number", case_number)
    page.fill("#id_callback_phone", "02103 898-6410")
    page.check("#id_urgency_1")  # urgent
    page.fill("#id_incident_at", incident)
    page.fill("#id_incident_location", "Wohnung der Familie")
    page.fill("#id_callout_reason", "Ruhestörung, lauter Streit")
    page.check("input[name=concerns][value=domestic_violence]")
    page.fill("#id_facts_observed", "Lautstarker Streit, zerbrochenes Geschirr, Kind weinend im Flur.")
    page.fill("#id_facts_reported", "Nachbarin berichtet von wiederholtem Streit.")
    page.check("input[name=children_present][value=witnessed]")
    page.fill("#id_household_street", "Mittelstraße")
    page.fill("#id_household_house_number", "12")
    page.fill("#id_household_postcode", "40723")
    page.fill("#id_household_city", "Hilden")
    page.fill("#id_children-0-first_name", "Mia")
    page.fill("#id_children-0-last_name", "Beispiel")
    page.fill("#id_children-0-date_of_birth", "2019-04-02")
    page.select_option("#id_children-0-sex", "female")
    page.check("input[name=parents_informed][value=True]")


def test_police_files_referral_and_only_hilden_sees_it(page, live_server, personas, login, logout, assert_accessible):
    # --- the login page
    page.goto(f"{live_server.url}/")
    assert page.url.startswith(f"{live_server.url}/accounts/login/")
    assert page.get_attribute("html", "lang") == "de"
    assert_accessible(page, "login page")

    # --- the police officer files the referral
    login(page, "police_hilden")
    assert page.url == f"{live_server.url}/referrals/"
    page.click("nav.site-nav a[href='/referrals/new/']")
    page.wait_for_url("**/referrals/new/")
    assert page.locator("[data-formset=children] [data-formset-block]").count() == 1
    assert page.locator("[data-formset=persons] [data-formset-block]").count() == 0
    fill_referral(page, case_number="")  # the case number is missing on purpose

    # Add a second child with the button, then remove it again.
    children = page.locator("[data-formset=children]")
    children.locator("[data-formset-add]").click()
    assert page.input_value("#id_children-TOTAL_FORMS") == "2"
    second = page.locator("#children-1-block")
    assert second.is_visible()
    assert second.locator("[data-formset-number]").inner_text() == "2"
    page.fill("#id_children-1-first_name", "Noah")
    second.locator("[data-formset-remove]").click()
    assert page.locator("#children-1-block").count() == 0
    assert page.input_value("#id_children-TOTAL_FORMS") == "1"

    # First submission: the missing case number is reported next to the field, nothing is lost.
    page.click("button[name=action][value=submit]")
    page.wait_for_load_state()
    error = page.locator("#id_police_case_number_error")
    assert german("This field is required.") in error.inner_text()
    assert page.get_attribute("#id_police_case_number", "aria-invalid") == "true"
    assert "id_police_case_number_error" in page.get_attribute("#id_police_case_number", "aria-describedby")
    assert page.locator(".error-summary a[href='#id_police_case_number']").count() == 1
    assert page.input_value("#id_household_street") == "Mittelstraße"
    assert page.input_value("#id_household_postcode") == "40723"
    assert page.input_value("#id_children-0-first_name") == "Mia"
    assert page.input_value("#id_children-0-date_of_birth") == "2019-04-02"
    assert page.input_value("#id_facts_observed").startswith("Lautstarker Streit")
    assert page.is_checked("input[name=concerns][value=domestic_violence]")
    assert page.is_checked("#id_urgency_1")
    assert page.locator("[data-formset=children] [data-formset-block]").count() == 1
    assert_accessible(page, "referral form with an error")

    # The error summary's link takes the focus to the field.
    page.click(".error-summary a[href='#id_police_case_number']")
    assert page.evaluate("document.activeElement.id") == "id_police_case_number"

    # Fixed, submitted: the detail page shows the reference and where it went.
    page.fill("#id_police_case_number", "ME-2026-123456")
    page.click("button[name=action][value=submit]")
    page.wait_for_url(re.compile(r".*/referrals/\d+/$"))
    detail_url = page.url
    heading = page.locator("h1").inner_text()
    reference = re.search(r"KPB-ME-\d{4}-\d{5}", heading).group(0)
    message = page.locator(".message--success").inner_text()
    assert reference in message and "Jugendamt Hilden" in message
    assert "Mia" not in page.title() and reference in page.title()
    logout(page)

    # --- the Hilden caseworker finds it in the inbox, with a notification
    login(page, "caseworker_hilden")
    assert page.url == f"{live_server.url}/inbox/"
    row = page.locator("table tbody tr", has_text=reference)
    assert row.count() == 1
    counter = page.locator(".site-nav__notifications .counter")
    assert counter.is_visible()
    assert int(re.match(r"\d+", counter.inner_text()).group(0)) >= 1
    assert_accessible(page, "inbox")
    row.locator("a", has_text=reference).click()
    page.wait_for_url(detail_url)
    assert "Mia" in page.locator("main").inner_text()
    assert "Beispiel" in page.locator("main").inner_text()
    assert_accessible(page, "detail page")
    logout(page)

    # --- the Velbert caseworker sees nothing of it
    login(page, "caseworker_velbert")
    assert page.url == f"{live_server.url}/inbox/"
    assert reference not in page.locator("main").inner_text()
    response = page.goto(detail_url)
    assert response.status == 404
    assert "Mia" not in page.content()


def test_notification_opens_the_referral(page, live_server, personas, login):
    from tests.factories import make_referral

    referral = make_referral(personas.police_hilden)
    login(page, "caseworker_hilden")
    page.click(".site-nav__notifications a")
    page.wait_for_url("**/notifications/")
    item = page.locator(".notification--unread", has_text=referral.reference)
    assert item.count() == 1
    item.locator("button").click()
    page.wait_for_url(f"**/referrals/{referral.pk}/")
    assert page.locator(".site-nav__notifications .counter").count() == 0
