"""Issue 9 in a real browser: a police officer files an immediate referral at night for an address
the system cannot resolve; the form says so before submitting (routing preview, no reload), the
confirmation shows the coordination office's on-call number in red with the instruction to phone
now; the coordinator's notification arrives, the coordinator assigns the referral to a youth office,
and that office's on-call mailbox receives its alert (file e-mail backend)."""

import datetime
import re
from email import message_from_bytes
from email.policy import default

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from agencies.models import Agency
from notifications.models import Channel, Notification
from notifications.services import notification_deliver

pytestmark = pytest.mark.browser

COORD_ONCALL_MAILBOX = "rufbereitschaft-kinderschutz@kreis-mettmann.example"
HILDEN_ONCALL_MAILBOX = "rufbereitschaft@jugendamt-hilden.example"


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def deliver_outbox() -> None:
    """What the Celery worker does: deliver every undelivered e-mail of the outbox."""
    for pk in Notification.objects.filter(channel=Channel.EMAIL, delivered_at__isnull=True).values_list(
        "pk", flat=True
    ):
        notification_deliver(notification_id=pk)


def mails_to(mail_dir, address):
    found = []
    for path in sorted(mail_dir.glob("*")):
        for chunk in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n"):
            if chunk.strip():
                message = message_from_bytes(chunk.strip(), policy=default)
                if message["To"] == address:
                    found.append(message)
    return found


def fill_immediate_referral(page) -> None:
    incident = (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.fill("#id_police_case_number", "ME-2026-222333")
    page.fill("#id_callback_phone", "02103 898-6410")
    page.check("input[name=urgency][value=immediate]")
    page.fill("#id_incident_at", incident)
    page.fill("#id_incident_location", "Wohnung der Familie")
    page.check("input[name=concerns][value=domestic_violence]")
    page.fill("#id_facts_observed", "Kind mit Verletzungen, Vater stark alkoholisiert.")
    page.check("input[name=children_present][value=witnessed]")
    page.fill("#id_household_street", "Mittelstraße")
    page.fill("#id_household_house_number", "12")
    page.fill("#id_children-0-first_name", "Mia")
    page.fill("#id_children-0-last_name", "Beispiel")
    page.fill("#id_children-0-date_of_birth", "2019-04-02")
    page.check("input[name=parents_informed][value=True]")


def test_immediate_referral_at_night_to_an_unresolvable_address(
    page, live_server, personas, login, logout, assert_accessible, settings, tmp_path
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    coordination = Agency.objects.get(code="KOORD")
    hilden = Agency.objects.get(code="JA-HIL")

    # --- the officer: the form says where the referral goes before it is submitted
    login(page, "police_hilden")
    page.goto(f"{live_server.url}/referrals/new/")
    fill_immediate_referral(page)
    page.fill("#id_household_postcode", "40721")
    page.fill("#id_household_city", "Hilden")
    preview = page.locator("[data-routing-preview]")
    page.wait_for_function("document.querySelector('[data-routing-preview]').dataset.routed === 'office'")
    assert "Zuständig: Jugendamt Hilden" in preview.inner_text()
    assert hilden.oncall_phone in page.locator("[data-oncall-hint]").inner_text()
    page.fill("#id_household_city", "Düsseldorf")  # the shared postcode, the other city's name
    page.wait_for_function("document.querySelector('[data-routing-preview]').dataset.routed === 'triage'")
    assert "Keine eindeutige Zuständigkeit: geht an die Koordinierungsstelle" in preview.inner_text()
    assert coordination.oncall_phone in page.locator("[data-oncall-hint]").inner_text()
    assert_accessible(page, "referral form with the routing preview")

    page.click("button[name=action][value=submit]")
    page.wait_for_url(re.compile(r".*/referrals/\d+/$"))
    reference = re.search(r"KPB-ME-\d{4}-\d{5}", page.locator("h1").inner_text()).group(0)
    instruction = page.locator("[data-oncall-now]")
    assert german("Immediate: phone the on-call service now:") in instruction.inner_text()
    assert coordination.oncall_phone in instruction.inner_text()
    assert instruction.evaluate("e => getComputedStyle(e).color") == "rgb(179, 38, 30)"  # red
    assert_accessible(page, "confirmation with the on-call instruction")
    logout(page)

    # --- the coordination office's on-call mailbox has its alert; the coordinator a notification
    deliver_outbox()
    [alert] = mails_to(tmp_path, COORD_ONCALL_MAILBOX)
    assert reference in alert["Subject"]
    body = alert.get_content()
    assert coordination.oncall_phone not in body and "Mia" not in body and "Mittelstraße" not in body
    login(page, "district_coordinator")
    page.click(".site-nav__notifications a")
    page.wait_for_url("**/notifications/")
    assert page.locator(".notification--unread", has_text=reference).count() >= 1

    # --- the coordinator assigns the referral to Jugendamt Hilden
    page.goto(f"{live_server.url}/triage/")
    page.locator("table tbody tr", has_text=reference).locator("a", has_text=reference).click()
    page.select_option("select[name=office]", str(hilden.pk))
    page.click("form[action*='/assign/'] button[type=submit]")
    assert page.locator("input[name=confirm]").count() == 1  # the confirmation: it leaves the queue
    assert "Jugendamt Hilden" in page.locator("h1").inner_text()
    page.click("form[action*='/assign/'] button[type=submit]")
    page.wait_for_url("**/triage/")
    assert reference in page.locator(".message--success").inner_text()
    logout(page)

    # --- the office's on-call mailbox receives its alert
    deliver_outbox()
    [office_alert] = mails_to(tmp_path, HILDEN_ONCALL_MAILBOX)
    assert reference in office_alert["Subject"]
    assert hilden.oncall_phone not in office_alert.get_content()

    # --- the directory, as the officer sees it
    login(page, "police_hilden")
    page.goto(f"{live_server.url}/directory/")
    assert hilden.oncall_phone in page.locator(f"[data-agency='{hilden.pk}']").inner_text()
    assert_accessible(page, "contact directory")
