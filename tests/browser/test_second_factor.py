"""In a real browser: setting up the authenticator app at the first login (QR code and key, a code
computed from the key shown, backup codes), the next login with a backup code, and the warning
before an idle session ends."""

import base64

import pytest
from django.utils import translation
from django.utils.translation import gettext
from django_otp.oath import TOTP

pytestmark = pytest.mark.browser


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def code_from_key(shown_key: str) -> str:
    """What an authenticator app shows for the key the page displayed (RFC 6238, 30 s, 6 digits)."""
    secret = shown_key.replace(" ", "")
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return f"{TOTP(key).token():06d}"


def test_first_login_sets_up_the_app_then_a_backup_code_logs_in(page, live_server, personas, logout, assert_accessible):
    page.goto(f"{live_server.url}/inbox/")
    page.fill("#id_username", "caseworker_hilden")
    page.fill("#id_password", "Test-Passwort-123")
    page.click("form.login-form button[type=submit]")
    page.wait_for_url("**/accounts/second-factor/setup/**")
    assert page.locator("h1").inner_text() == german("Set up your authenticator app")
    assert page.locator("img.qr-code").get_attribute("src").startswith("data:image/svg+xml")
    assert page.evaluate("document.querySelector('img.qr-code').naturalWidth") > 100, "the QR code renders"
    assert_accessible(page, "set-up of the second factor")

    # A wrong code: the message next to the field, the page still there.
    page.fill("#id_code", "12345")
    page.click("form.login-form button[type=submit]")
    page.wait_for_load_state()
    assert german("The code is not correct or has already been used. Please try again.") in page.inner_text("main")
    assert_accessible(page, "set-up with an error")

    page.wait_for_timeout(1100)  # the wrong code holds the next attempt for a second (throttling)
    page.fill("#id_code", code_from_key(page.inner_text("#totp-secret")))
    page.click("form.login-form button[type=submit]")
    page.wait_for_load_state()
    codes = page.locator(".backup-codes code").all_inner_texts()
    assert len(codes) == 10
    assert_accessible(page, "backup codes")
    page.click("text=" + german("I have kept the codes – continue"))
    page.wait_for_url("**/inbox/")

    logout(page)
    page.fill("#id_username", "caseworker_hilden")
    page.fill("#id_password", "Test-Passwort-123")
    page.click("form.login-form button[type=submit]")
    page.wait_for_url("**/accounts/second-factor/**")
    assert_accessible(page, "code step")
    page.fill("#id_code", codes[0])
    page.click("form.login-form button[type=submit]")
    page.wait_for_url("**/inbox/**")  # the caseworker's start page
    assert german("Backup code used. %(left)d backup codes are left; you can create new ones in your account.") % {
        "left": 9
    } in page.inner_text(".messages")


def test_idle_warning_keeps_the_session_and_the_end_leads_to_the_login(page, live_server, personas, login, settings):
    settings.SESSION_IDLE_TIMEOUT = 125  # the warning comes two minutes before the end: after 5 s
    login(page, "caseworker_hilden")
    page.goto(f"{live_server.url}/inbox/")
    banner = page.locator("[data-session-banner]")
    banner.wait_for(state="visible", timeout=15_000)
    assert german("Your session ends in two minutes because of inactivity. Unsaved input would be lost.") in (
        banner.inner_text()
    )
    with page.expect_response("**/accounts/keepalive/") as answer:
        banner.locator("button").click()
    assert answer.value.status == 200 and answer.value.json()["remaining"] > 120
    assert banner.count() == 0, "staying logged in hides the warning"

    settings.SESSION_IDLE_TIMEOUT = 3
    page.goto(f"{live_server.url}/inbox/")  # this page's session has 3 seconds left
    page.wait_for_url("**/accounts/login/**", timeout=15_000)
    assert german("Your session has expired. Please log in again.") in page.inner_text("main")
