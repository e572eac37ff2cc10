"""The print of a case in a real browser (issue 15 § 3): the caseworker opens the print view from the
case page, chromium prints it to PDF (Playwright's ``page.pdf``, print media), and the printed text
holds the reference and both signatures but nothing confided under § 65 SGB VIII; the bar above the
page is not printed. The lead then hands the case over to an office outside the system and lands on
the confirmation. axe-core runs on the print view and on the confirmation."""

import io

import pypdf
import pytest
from django.utils import translation
from django.utils.translation import gettext

from referrals.services import assessment_save, assessment_sign_off, note_add, referral_acknowledge
from tests.factories import make_referral

pytestmark = pytest.mark.browser

CONFIDED = "Anvertraut: Tante nimmt das Kind auf"


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


@pytest.fixture
def case(personas):
    for user, first, last in (
        (personas.caseworker_hilden, "Carla", "Fallwerk"),
        (personas.lead_hilden, "Lea", "Leitwerk"),
    ):
        user.first_name, user.last_name = first, last
        user.save()
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assessment_save(
        referral=referral, user=personas.caseworker_hilden, summary="Hausbesuch, Kind versorgt",
        outcome="no_risk_no_need", measures=["none"],
    )  # fmt: skip
    assessment_sign_off(referral=referral, user=personas.lead_hilden)
    note_add(referral=referral, user=personas.caseworker_hilden, text=CONFIDED, confidential=True)
    referral.refresh_from_db()
    return referral


def test_the_print_view_prints_to_pdf_without_what_was_confided(page, live_server, case, login, assert_accessible):
    login(page, "caseworker_hilden")
    page.goto(f"{live_server.url}/referrals/{case.pk}/")
    page.get_by_role("link", name=german("Print view")).click()
    page.wait_for_url(f"{live_server.url}/referrals/{case.pk}/print/")
    assert page.locator("h1").inner_text() == german("Referral %(reference)s") % {"reference": case.reference}
    assert page.locator(".print-toolbar").is_visible()
    assert_accessible(page, "print view of a case")

    page.emulate_media(media="print")
    assert not page.locator(".print-toolbar").is_visible()  # the bar is not printed
    pdf = pypdf.PdfReader(io.BytesIO(page.pdf(format="A4", print_background=False)))
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in pdf.pages)
    assert case.reference in text
    assert "Carla Fallwerk" in text and f"{german('Signed off by')} Lea Leitwerk" in text
    assert CONFIDED not in text
    assert "§ 65 SGB VIII" in text  # the remark that something was left out


def test_the_lead_hands_the_case_over_and_gets_the_confirmation(page, live_server, case, login, assert_accessible):
    login(page, "lead_hilden")
    page.goto(f"{live_server.url}/referrals/{case.pk}/")
    export = page.locator("form[action$='/export/']")
    page.locator("summary", has_text=german("Hand over to an office outside the system")).click()
    export.locator("input[name=recipient]").fill("Jugendamt Solingen")
    export.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert "Jugendamt Solingen" in page.locator("h1").inner_text()  # asked first
    assert_accessible(page, "confirmation step before a hand-over")
    page.locator("form[action$='/export/'] button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/referrals/{case.pk}/handovers/**")
    confirmation = page.locator("[data-handover]").inner_text()
    assert "Jugendamt Solingen" in confirmation and "Lea Leitwerk" in confirmation
    assert page.locator("a[href$='/pdf/']").count() == 1 and page.locator("a[href$='/json/']").count() == 1
    assert_accessible(page, "confirmation of a hand-over outside the system")
