"""Issue 13 in a real browser:

1. Screening: a Hilden caseworker records "no weighty indications"; the lead – a second professional –
   signs it off and the case is closed without an assessment; the police see only "closed".
2. Concurrency: the caseworker and the lead edit the same assessment at the same time; the lead saves
   second and sees both versions, nothing is lost; saving again makes theirs current, the caseworker's
   stays in the history.
"""

import pytest

from referrals import services
from referrals.models import Assessment, Referral, Status
from tests.browser.test_casework_journey import fill_child_parts, submit
from tests.factories import make_referral

pytestmark = pytest.mark.browser


def test_screening_no_is_signed_off_and_closes_the_case(page, live_server, personas, login, logout, assert_accessible):
    referral = make_referral(personas.police_hilden)
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    detail_url = f"{live_server.url}/referrals/{referral.pk}/"

    login(page, "caseworker_hilden")
    page.goto(detail_url)
    page.check("input[name=weighty_indications][value=no]")
    page.fill("#screening_reason", "Einmaliger Streit, Kinder schliefen, Eltern nehmen Beratung an.")
    page.select_option("#screening_next_step", "help_outside_8a")
    assert_accessible(page, "office detail page with the screening form filled in")
    submit(page, "screening")
    assert page.locator(".message--success").count() == 1
    assert page.locator("form[action$='/screening/sign-off/']").count() == 0  # not the author
    logout(page)

    login(page, "lead_hilden")
    page.goto(detail_url)
    assert_accessible(page, "office detail page with the screening to sign off")
    submit(page, "screening/sign-off")
    assert page.locator("input[name=confirm]").count() == 1  # closing the case is confirmed first
    submit(page, "screening/sign-off")
    page.wait_for_url(detail_url)
    assert page.locator(".summary-line .status--closed").count() == 1
    assert Referral.objects.get(pk=referral.pk).status == Status.CLOSED
    assert not Assessment.objects.filter(referral=referral).exists()
    logout(page)

    login(page, "police_hilden")
    page.goto(detail_url)
    assert page.locator("[data-feedback]").get_attribute("data-feedback") == "closed"
    assert "Beratung" not in page.locator("main").inner_text()


def test_two_people_edit_the_same_assessment(browser, page, live_server, personas, login, assert_accessible):
    referral = make_referral(personas.police_hilden)
    services.referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    detail_url = f"{live_server.url}/referrals/{referral.pk}/"
    other_context = browser.new_context(locale="de-DE", viewport={"width": 1280, "height": 900}, bypass_csp=True)
    other = other_context.new_page()
    try:
        login(page, "caseworker_hilden")
        page.goto(detail_url)
        login(other, "lead_hilden")
        other.goto(detail_url)
        # Both open the form; the caseworker saves first.
        page.fill("#assessment_summary", "Fassung der Fachkraft")
        fill_child_parts(page, referral, personas, result="latent_risk")
        page.check("input[name=measures][value=offer_of_help]")
        child = referral.children.get().pk
        page.locator(f"input[name='child-{child}-kinds'][value=neglect]").check()
        page.locator(f"input[name='child-{child}-danger_from'][value=father]").check()
        submit(page, "assessment")
        assert page.locator(".message--success").count() == 1
        # The lead, on the page loaded before, saves theirs: both versions are shown, nothing saved.
        other.fill("#assessment_summary", "Fassung der Leitung")
        fill_child_parts(other, referral, personas)
        other.check("input[name=measures][value=offer_of_help]")
        submit(other, "assessment")
        text = other.locator("main").inner_text()
        assert "Fassung der Fachkraft" in text
        assert other.locator("#assessment_summary").input_value() == "Fassung der Leitung"
        assert Assessment.objects.get(referral=referral).summary == "Fassung der Fachkraft"
        assert_accessible(other, "the assessment form showing the other version")
        # Saving again makes the lead's version current; the caseworker's stays in the history.
        submit(other, "assessment")
        assert other.locator(".message--success").count() == 1
        assessment = Assessment.objects.get(referral=referral)
        assert assessment.summary == "Fassung der Leitung"
        assert [v.data["summary"] for v in assessment.versions.order_by("number")] == [
            "Fassung der Fachkraft",
            "Fassung der Leitung",
        ]
    finally:
        other_context.close()
