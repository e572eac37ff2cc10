"""The interface at 2 a.m. (issue 16) in a real browser: the police form on a 390 px phone without
horizontal scrolling, sent; no blank 405 after a failed form is reloaded or reached again; the branded
German 404 in the demo settings (DEBUG on, as `make run`)."""

import re

import pytest
from django.test import override_settings

from tests.browser.test_referral_journey import fill_referral
from tests.factories import make_referral

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def scroll_width(page) -> int:
    return page.evaluate("document.scrollingElement.scrollWidth")


def test_police_form_on_a_phone_without_horizontal_scrolling(page, live_server, personas, login, assert_accessible):
    page.set_viewport_size(PHONE)
    login(page, "police_hilden")
    assert scroll_width(page) <= PHONE["width"]
    page.goto(f"{live_server.url}/referrals/new/")
    assert scroll_width(page) <= PHONE["width"], "the form is wider than the phone"
    # Prefilled: the time (now) and the station's callback number.
    assert page.input_value("#id_incident_at")
    assert page.input_value("#id_callback_phone")
    # A section link takes the person there; in the middle of the long form the submit bar is on screen.
    page.click(".form-jump a[href='#household-section']")
    assert page.evaluate("document.activeElement.id") == "household-section"
    bar = page.locator(".form-actions--sticky").bounding_box()
    assert 0 <= bar["y"] and bar["y"] + bar["height"] <= PHONE["height"] + 1, bar
    assert_accessible(page, "police form at 390 px")

    fill_referral(page, case_number="ME-2026-654321")
    assert scroll_width(page) <= PHONE["width"]
    with page.expect_navigation():
        page.click("button[name=action][value=submit]")
    assert re.search(r"/referrals/\d+/(#.*)?$", page.url), page.url
    assert page.locator(".message--success").count() == 1
    assert scroll_width(page) <= PHONE["width"], "the referral page is wider than the phone"


def test_reload_after_a_failed_form_shows_no_405(page, live_server, personas, login):
    referral = make_referral(personas.police_hilden)
    detail = f"{live_server.url}/referrals/{referral.pk}/"
    login(page, "caseworker_hilden")
    page.goto(detail)
    # The re-rating without a reason fails and comes back in place, at the form's address.
    form = page.locator("form[action$='/rerate/']")
    page.locator("details", has=form).locator("summary").click()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.endswith("/rerate/")
    # The same error summary as the police form, with the focus on it and links to the fields.
    summary = page.locator(".error-summary")
    assert summary.count() == 1
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    link = summary.locator("a").first
    target = link.get_attribute("href")[1:]
    link.click()
    assert page.evaluate("document.activeElement.id") == target
    # Reloading, going back to it or opening the address again never meets a blank 405.
    response = page.reload()
    assert response.status != 405
    response = page.goto(page.url)
    assert response.status != 405
    assert page.url == detail
    assert "405" not in page.locator("body").inner_text()


def test_the_demo_shows_the_branded_german_404(page, live_server, personas, login):
    login(page, "caseworker_hilden")
    with override_settings(DEBUG=True, DEBUG_PAGES=False):
        response = page.goto(f"{live_server.url}/gibt-es-nicht/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Nicht gefunden"
    assert "Akute Gefährdung eines Kindes?" in page.locator("main").inner_text()
    assert "URLconf" not in page.content()


@pytest.mark.parametrize("width", [1440, 1920])
def test_inbox_shows_every_column(page, live_server, personas, login, assert_accessible, width):
    for _ in range(3):
        make_referral(personas.police_hilden)
    page.set_viewport_size({"width": width, "height": 900})
    login(page, "caseworker_hilden")
    assert page.url.endswith("/inbox/")
    headers = page.locator(".inbox-table thead th")
    assert headers.count() == 9
    for index in range(headers.count()):
        box = headers.nth(index).bounding_box()
        name = headers.nth(index).inner_text() or "select all"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (name, box)
    assert page.evaluate("document.scrollingElement.scrollWidth") <= width
    # The table region can be reached with the keyboard (axe: scrollable-region-focusable).
    wrap = page.locator(".table-wrap--inbox")
    assert wrap.get_attribute("tabindex") == "0" and wrap.get_attribute("role") == "region"
    assert_accessible(page, f"inbox at {width} px")


def test_inbox_on_a_phone_is_a_list_of_cards_with_the_deadline(page, live_server, personas, login, assert_accessible):
    for _ in range(2):
        make_referral(personas.police_hilden)
    page.set_viewport_size(PHONE)
    login(page, "caseworker_hilden")
    assert scroll_width(page) <= PHONE["width"]
    rows = page.locator(".inbox-table tbody tr")
    assert rows.count() == 2
    assert (
        not page.locator(".inbox-table thead").is_visible()
        or page.locator(".inbox-table thead").bounding_box()["width"] <= 1
    )
    for index in range(rows.count()):
        card = rows.nth(index).bounding_box()
        deadline = rows.nth(index).locator(".inbox-table__deadline")
        assert deadline.is_visible()
        box = deadline.bounding_box()
        # The deadline is near the top of its card (right after the reference) and fully on screen.
        assert box["y"] - card["y"] < 120, (box, card)
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert_accessible(page, "inbox on a phone")


def test_lists_badges_and_long_headings_fit_a_phone(page, live_server, personas, login):
    """QA of 2026-12-05 at 390 px: the police list scrolled sideways to 1185 px (a visually hidden header
    text outside the table's scroll area), the sign-off badge ran out of the case page, and the event
    form's heading ("Neue Informationsveranstaltung") was cut off."""
    import datetime

    from referrals.services import assessment_save, assessment_sign_off, referral_acknowledge

    referral = make_referral(personas.police_hilden)
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assessment_save(
        referral=referral, user=personas.caseworker_hilden, summary="Hausbesuch, Kind gesehen",
        outcome="support_need", measures=["offer_of_help"], home_visit_on=datetime.date(2026, 1, 5), child_seen=True,
    )  # fmt: skip
    assessment_sign_off(referral=referral, user=personas.lead_hilden)
    page.set_viewport_size(PHONE)
    for persona, path in (
        ("police_hilden", "/referrals/"),
        ("caseworker_hilden", f"/referrals/{referral.pk}/"),
        ("lead_hilden", "/cooperation/events/new/"),
    ):
        login(page, persona)
        page.goto(f"{live_server.url}{path}")
        assert scroll_width(page) <= PHONE["width"], (persona, path, scroll_width(page))
        heading = page.locator("h1").first.bounding_box()
        assert heading["x"] + heading["width"] <= PHONE["width"], (path, heading)
        page.context.clear_cookies()


@pytest.mark.parametrize("persona", ["caseworker_hilden", "district_coordinator"])
def test_cooperation_and_account_pages_pass_axe(page, live_server, personas, login, assert_accessible, persona):
    login(page, persona)
    pages = ["/cooperation/", "/cooperation/list/", "/cooperation/series/", "/cooperation/hospitations/",
             "/cooperation/hospitations/new/", "/cooperation/events/", "/cooperation/subscription/", "/accounts/",
             "/directory/", "/notifications/"]  # fmt: skip
    if persona == "district_coordinator":
        pages += ["/cooperation/series/new/", "/cooperation/events/new/"]
    for path in pages:
        response = page.goto(f"{live_server.url}{path}")
        # A page that is not the persona's answers with the branded 403, which must pass axe as well.
        assert response.status in (200, 403), (path, response.status)
        assert_accessible(page, f"{path} as {persona}")
