"""Issue 16 in a real browser, the rest of its proof:

- a failed bulk assignment in the inbox comes back in place with the shared error summary (focused,
  linking to the field), the ticked rows still ticked and the chosen person still chosen;
- German dates and times ("21.11.2026 23:40") typed where the browser has no picker arrive correctly,
  on the police form and on the casework forms (static/js/german-dates.js, referrals/forms.py).

Chromium has pickers; a browser without them reports such a field's type as "text". The init script
below makes chromium answer the same way, so static/js/german-dates.js turns the fields into text
fields that ask for German dates, as it does in such a browser.
"""

import datetime

import pytest
from django.utils import timezone

from referrals.models import Referral, ReferralGrant
from referrals.services import referral_assign
from tests.browser.test_referral_journey import fill_referral
from tests.factories import make_referral

pytestmark = pytest.mark.browser

NO_PICKER = """
(() => {
  const type = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "type");
  Object.defineProperty(HTMLInputElement.prototype, "type", {
    configurable: true,
    get() {
      const value = type.get.call(this);
      return value === "date" || value === "datetime-local" ? "text" : value;
    },
    set(value) { type.set.call(this, value); },
  });
})();
"""


def ticked(page) -> set[str]:
    return set(page.eval_on_selector_all("input[name=referral]:checked", "boxes => boxes.map(b => b.value)"))


def test_a_failed_bulk_assignment_keeps_the_ticks_and_the_person(page, live_server, personas, login, assert_accessible):
    referrals = [make_referral(personas.police_hilden) for _ in range(3)]
    login(page, "lead_hilden")
    assert page.url.endswith("/inbox/")
    chosen = {str(referrals[0].pk), str(referrals[2].pk)}
    for pk in chosen:
        page.check(f"#select-{pk}")
    page.select_option("#bulk_assignee", str(personas.caseworker_hilden.pk))
    # Meanwhile a colleague takes one of them: all or nothing, so nothing is assigned.
    referral_assign(referral=referrals[2], user=personas.lead_hilden, assignee=personas.lead_hilden)
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert page.url.endswith("/inbox/assign/")
    summary = page.locator("#bulk-form .error-summary")
    assert summary.count() == 1
    assert referrals[2].reference in summary.inner_text()
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    assert ticked(page) == chosen, "the ticked rows were lost"
    assert page.input_value("#bulk_assignee") == str(personas.caseworker_hilden.pk), "the chosen person was lost"
    assert_accessible(page, "inbox after a failed bulk assignment")
    assert Referral.objects.get(pk=referrals[0].pk).assignee is None

    # Sent without a person (a browser that does not check required fields): the summary links to it.
    page.select_option("#bulk_assignee", "")
    page.evaluate("document.getElementById('bulk-form').noValidate = true")
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    summary = page.locator("#bulk-form .error-summary")
    assert ticked(page) == chosen
    summary.locator("a[href='#bulk_assignee']").click()
    assert page.evaluate("document.activeElement.id") == "bulk_assignee"

    # Without the one taken meanwhile, and with the person: assigned, back at the inbox (POST/redirect/GET).
    page.uncheck(f"#select-{referrals[2].pk}")
    page.select_option("#bulk_assignee", str(personas.caseworker_hilden.pk))
    with page.expect_navigation():
        page.click("#bulk-form button[type=submit]")
    assert page.url.endswith("/inbox/")
    assert page.locator(".message--success").count() == 1
    assert Referral.objects.get(pk=referrals[0].pk).assignee == personas.caseworker_hilden


def test_german_dates_typed_without_a_picker_arrive(page, live_server, personas, login):
    page.add_init_script(NO_PICKER)
    login(page, "police_hilden")
    page.goto(f"{live_server.url}/referrals/new/")
    incident = page.locator("#id_incident_at")
    # Without a picker the field is text, asks for the German format and shows the prefilled time so.
    assert incident.get_attribute("type") == "text"
    assert incident.get_attribute("placeholder") == "TT.MM.JJJJ hh:mm"
    now = timezone.localtime()
    assert incident.input_value()[:10] == now.strftime("%d.%m.%Y"), incident.input_value()
    fill_referral(page, case_number="ME-2026-777001")
    yesterday = now - datetime.timedelta(days=1)
    page.fill("#id_incident_at", yesterday.strftime("%d.%m.%Y") + " 23:40")
    page.fill("#id_children-0-date_of_birth", "02.04.2019")
    with page.expect_navigation():
        page.click("button[name=action][value=submit]")
    referral = Referral.objects.get(police_case_number="ME-2026-777001")
    assert timezone.localtime(referral.incident_at).strftime("%Y-%m-%d %H:%M") == yesterday.strftime("%Y-%m-%d 23:40")
    assert referral.children.get().date_of_birth == datetime.date(2019, 4, 2)

    # The police's follow-up (a casework form of the police) with the time of a new incident.
    page.fill("#followup_text", "Erneuter Einsatz: Streit im Treppenhaus.")
    assert page.get_attribute("#followup_incident_at", "type") == "text"
    page.fill("#followup_incident_at", now.strftime("%d.%m.%Y") + " 00:15")
    with page.expect_navigation():
        page.locator("form[action$='/followups/'] button[type=submit]").click()
    followup = referral.followups.get()
    assert timezone.localtime(followup.incident_at).strftime("%Y-%m-%d %H:%M") == now.strftime("%Y-%m-%d 00:15")


def test_german_date_on_the_leads_grant_form(page, live_server, personas, login):
    """A casework form of the office: the lead lets a named person of another agency read the case
    until a date typed in German."""
    referral = make_referral(personas.police_hilden)
    page.add_init_script(NO_PICKER)
    login(page, "lead_hilden")
    page.goto(f"{live_server.url}/referrals/{referral.pk}/grants/")
    assert page.get_attribute("#grant_expires_on", "type") == "text"
    assert page.get_attribute("#grant_expires_on", "placeholder") == "TT.MM.JJJJ"
    page.select_option("#grant_person", str(personas.caseworker_velbert.pk))
    page.fill("#grant_reason", "Vertretung während der Urlaubszeit.")
    until = timezone.localdate() + datetime.timedelta(days=14)
    page.fill("#grant_expires_on", until.strftime("%d.%m.%Y"))
    with page.expect_navigation():
        page.locator("form.stacked-form button[type=submit]").click()
    assert page.locator(".message--success").count() == 1, page.locator("main").inner_text()[:500]
    grant = ReferralGrant.objects.get(referral=referral)
    # Access ends at the end of the typed day.
    assert grant.person == personas.caseworker_velbert
    assert timezone.localtime(grant.expires_at).date() == until + datetime.timedelta(days=1)
