"""Casework journeys in a real browser (issue 3, section 8):

1. A Hilden caseworker acknowledges a referral and records the risk assessment; the office lead – a
   second professional – signs it off; the case is closed; the Hilden police officer sees only the
   coded feedback "closed".
2. The Hilden office forwards a case to Velbert; the Velbert caseworker accepts it; afterwards
   Hilden gets 404 on it.

axe-core runs on the office page with its action panel and on the other pages on the way.
"""

import datetime
import re

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from referrals.models import Referral, Status
from tests.factories import make_referral

pytestmark = pytest.mark.browser


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def submit(page, action: str) -> None:
    """Press the submit button of the form that posts to ``.../<action>/``."""
    page.locator(f"form[action$='/{action}/'] button[type=submit]").click()
    page.wait_for_load_state()


def fill_child_parts(page, referral, personas, result="support_need") -> None:
    """The shared parts and each child's part of the assessment form (issue 13 §2)."""
    page.check("input[name=impressions][value=home_visit]")
    for person in (personas.caseworker_hilden, personas.lead_hilden):
        page.check(f"input[name=professionals][value='{person.pk}']")
    for child in referral.children.all():
        prefix = f"child-{child.pk}-"
        page.check(f"input[name='{prefix}result'][value={result}]")
        page.select_option(f"select[name='{prefix}residence']", "both_parents")
        page.check(f"input[name='{prefix}foreign_origin'][value=no]")
        page.check(f"input[name='{prefix}german_spoken'][value=yes]")
        page.check(f"input[name='{prefix}help_before'][value=none]")
        page.check(f"input[name='{prefix}help_new'][value=s31]")


def test_assess_sign_off_close_and_police_sees_closed(page, live_server, personas, login, logout, assert_accessible):
    referral = make_referral(personas.police_hilden)
    detail_url = f"{live_server.url}/referrals/{referral.pk}/"

    # --- the caseworker acknowledges and records the assessment
    login(page, "caseworker_hilden")
    page.locator("table tbody tr", has_text=referral.reference).locator("a", has_text=referral.reference).click()
    page.wait_for_url(detail_url)
    assert page.locator("#actions-title").is_visible()
    assert_accessible(page, "office detail page with the action panel")

    submit(page, "acknowledge")
    assert page.url == detail_url
    assert referral.reference in page.locator(".message--success").inner_text()
    assert page.locator("form[action$='/acknowledge/']").count() == 0

    page.fill("#assessment_summary", "Hausbesuch mit zwei Fachkräften; Kind wirkt versorgt, Mutter kooperativ.")
    fill_child_parts(page, referral, personas)
    page.check("input[name=measures][value=offer_of_help]")
    page.fill("#assessment_home_visit_on", (timezone.localdate() - datetime.timedelta(days=1)).isoformat())
    page.check("#assessment_child_seen")
    assert_accessible(page, "office detail page with the assessment form filled in")
    submit(page, "assessment")
    assert page.locator(".message--success").count() == 1
    assert "Hausbesuch mit zwei Fachkräften" in page.locator("#assessment-title ~ article").first.inner_text()
    # Four eyes: the author is not offered the sign-off.
    assert page.locator("form[action$='/sign-off/']").count() == 0
    assert Referral.objects.get(pk=referral.pk).status == Status.IN_ASSESSMENT
    logout(page)

    # --- the lead signs it off and closes the case (after confirming)
    login(page, "lead_hilden")
    page.goto(detail_url)
    submit(page, "sign-off")
    assert page.locator("input[name=confirm]").count() == 1  # the confirmation page (the four-eyes sign-off)
    assert_accessible(page, "confirmation of the sign-off")
    submit(page, "sign-off")
    page.wait_for_url(detail_url)
    assert page.locator(".message--success").count() == 1
    assert page.locator(".status--signed").count() == 1
    submit(page, "close")
    assert re.search(r"/referrals/\d+/close/$", page.url)  # the confirmation page
    assert_accessible(page, "confirmation of closing")
    page.locator("form[action$='/close/'] button[type=submit]").click()
    page.wait_for_url(detail_url)
    assert page.locator(".summary-line .status--closed").count() == 1
    assert Referral.objects.get(pk=referral.pk).status == Status.CLOSED
    logout(page)

    # --- the filing officer sees the coded feedback, nothing of the casework
    login(page, "police_hilden")
    page.goto(detail_url)
    feedback = page.locator("[data-feedback]")
    assert feedback.get_attribute("data-feedback") == "closed"
    assert german("Closed") in feedback.inner_text()
    main = page.locator("main").inner_text()
    assert "Hausbesuch mit zwei Fachkräften" not in main
    assert page.locator("#notes-title").count() == 0 and page.locator("#timeline-title").count() == 0
    assert_accessible(page, "police view with the feedback")


def test_forward_to_velbert_and_accept(page, live_server, personas, login, logout, assert_accessible):
    referral = make_referral(personas.police_hilden)
    detail_url = f"{live_server.url}/referrals/{referral.pk}/"

    # --- Hilden forwards it, confirming the hand-over
    login(page, "caseworker_hilden")
    page.goto(detail_url)
    page.locator("details", has=page.locator("form[action$='/forward/']")).locator("summary").click()
    page.select_option("#forward_to_office", label="Jugendamt Velbert")
    page.fill("#forward_reason", "Die Familie wohnt seit Mai in Velbert.")
    assert_accessible(page, "office detail page with the forward form open")
    submit(page, "forward")
    assert "Jugendamt Velbert" in page.locator("h1").inner_text()  # the confirmation page
    assert Referral.objects.get(pk=referral.pk).status == Status.SUBMITTED
    # "Cancel" goes back to the form as it was filled (QA of 2026-12-05: it came back empty)
    page.locator("a[data-history-back]").click()
    page.wait_for_url(detail_url)
    assert page.input_value("#forward_reason") == "Die Familie wohnt seit Mai in Velbert."
    chosen = page.eval_on_selector("#forward_to_office", "select => select.options[select.selectedIndex].text")
    assert chosen == "Jugendamt Velbert"
    page.locator("details", has=page.locator("form[action$='/forward/']")).locator("summary").click()
    submit(page, "forward")
    page.locator("form[action$='/forward/'] button[type=submit]").click()
    page.wait_for_url(detail_url)
    banner = page.locator(".banner")
    assert "Jugendamt Velbert" in banner.inner_text()
    assert page.locator(".actions form").count() == 0  # the sender reads, read-only
    logout(page)

    # --- Velbert finds it in its inbox and accepts it
    login(page, "caseworker_velbert")
    page.locator("table tbody tr", has_text=referral.reference).locator("a", has_text=referral.reference).click()
    page.wait_for_url(detail_url)
    assert "Die Familie wohnt seit Mai in Velbert." in page.locator(".banner").inner_text()
    assert_accessible(page, "receiving office's page")
    submit(page, "accept")
    assert page.locator("input[name=confirm]").count() == 1  # the confirmation page
    assert "Jugendamt Hilden" in page.locator("main").inner_text()  # it names the office that loses the case
    submit(page, "accept")
    page.wait_for_url(detail_url)
    assert page.locator(".message--success").count() == 1
    assert page.locator("form[action$='/assessment/']").count() == 1  # now Velbert's case
    referral.refresh_from_db()
    assert referral.youth_office.code == "JA-VEL" and referral.forwarded_to is None
    logout(page)

    # --- Hilden no longer sees it at all
    login(page, "caseworker_hilden")
    assert referral.reference not in page.locator("main").inner_text()
    response = page.goto(detail_url)
    assert response.status == 404
    assert "Mia" not in page.content()
