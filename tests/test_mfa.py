"""The second factor (issue 4 § 1): set-up with a QR code, the code step after the password, backup
codes, throttling, recovery by the office lead that never bypasses the factor, the demo mode."""

import base64
import datetime as dt
import re
import time

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from agencies import mfa
from agencies.checks import demo_mode_off
from agencies.models import ApiToken, BackupCode, BackupCodeDevice
from config.middleware import SecondFactorMiddleware
from tests.factories import api_token, totp_code_now

PASSWORD = "Test-Passwort-123"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _password(client, username):
    return client.post(reverse("login"), {"username": username, "password": PASSWORD})


def _code(client, code, next_url=""):
    return client.post(reverse("mfa_verify"), {"code": code, "next": next_url})


def _app(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="App", confirmed=True)


def _sessions_of(user) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get(SESSION_KEY) == str(user.pk))


# --- every page needs the second factor ------------------------------------------------------------


def _sample_paths():
    """One concrete path for every route of the URL resolver (ids 1, strings "x"), so that a new page
    is covered without a row here. Regex routes (the admin's) are represented by the admin index."""
    values = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001"}

    def walk(patterns, prefix):
        for entry in patterns:
            route = getattr(entry.pattern, "_route", None)
            if route is None:
                continue
            path = prefix + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: values.get(m.group(1) or "str", "x"), route)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, path)
            elif isinstance(entry, URLPattern):
                yield path, entry.name

    yield from walk(get_resolver().url_patterns, "/")
    yield "/admin/", "index"


@pytest.mark.django_db
def test_without_a_second_factor_every_page_leads_to_the_set_up(client, personas):
    assert _password(client, "caseworker_hilden").status_code == 302
    checked = 0
    for path, name in _sample_paths():
        if name in SecondFactorMiddleware.OPEN_VIEWS:
            continue
        response = client.get(path)
        checked += 1
        if path.startswith("/api/"):
            assert response.status_code == 403, path
            assert response.json()["detail"] == "Bestätigen Sie Ihre Anmeldung zuerst mit Ihrem zweiten Faktor."
        else:
            assert response.status_code == 302, path
            assert response["Location"].startswith(reverse("mfa_enrol")), path
        assert client.post(path, {}).status_code in (302, 403), path
    assert checked > 100  # the resolver walk found the application's pages


def test_with_an_app_every_page_leads_to_the_code_step(client, personas):
    _app(personas.caseworker_hilden)
    _password(client, "caseworker_hilden")
    for path in ("/inbox/", "/accounts/", "/admin/", reverse("mfa_enrol"), "/cooperation/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith(reverse("mfa_verify")), path
    assert client.get("/api/v1/referrals/").status_code == 403


def test_an_api_token_is_a_credential_of_its_own(personas):
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token(personas.caseworker_hilden)}")
    assert api.get("/api/v1/referrals/").status_code == 200


# --- set-up ------------------------------------------------------------------------------------------


def test_set_up_with_qr_code_confirms_with_a_code_and_shows_backup_codes_once(client, personas):
    user = personas.caseworker_hilden
    _password(client, "caseworker_hilden")
    page = client.get(reverse("mfa_enrol"))
    html = page.content.decode()
    assert page.status_code == 200 and "Authenticator-App einrichten" in html
    assert 'src="data:image/svg+xml' in html
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    secret = re.search(r'id="totp-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    assert "issuer=Kinderschutz-Kooperation" in device.config_url
    assert client.get(reverse("mfa_enrol")).status_code == 200
    assert TOTPDevice.objects.filter(user=user).count() == 1, "a reload keeps the device being set up"

    wrong = client.post(reverse("mfa_enrol"), {"code": "000000" if totp_code_now(device) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert "Der Code ist nicht korrekt oder wurde bereits verwendet." in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    key_before = client.session.session_key
    time.sleep(1.1)  # the wrong code above holds the next attempt for one second (throttling)
    done = client.post(reverse("mfa_enrol"), {"code": totp_code_now(TOTPDevice.objects.get(pk=device.pk))})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z2-9]{5}-[a-z2-9]{5})</code>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.session.session_key != key_before, "a new session key once the factor is proved"
    assert client.get("/inbox/").status_code == 200
    # Only digests are stored.
    digests = set(BackupCode.objects.filter(device__user=user).values_list("digest", flat=True))
    assert len(digests) == 10 and not digests & set(codes)
    assert {mfa.code_digest(c) for c in codes} == digests


def test_enrol_form_keeps_the_page_on_an_empty_code(client, personas):
    _password(client, "caseworker_hilden")
    response = client.post(reverse("mfa_enrol"), {"code": ""})
    assert response.status_code == 200 and "Geben Sie den Code ein." in response.content.decode()


def test_a_password_alone_adds_no_app_to_an_account_that_has_one(client, personas):
    user = personas.caseworker_hilden
    _app(user)
    _password(client, "caseworker_hilden")
    response = client.post(reverse("mfa_enrol"), {"code": "123456"})
    assert response.status_code == 302 and response["Location"] == reverse("mfa_verify")
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_replacing_the_app_keeps_the_old_one_until_the_new_one_is_confirmed(client, personas):
    user = personas.caseworker_hilden
    old = _app(user)
    client.force_login(user)
    client.get(reverse("mfa_enrol"))
    new = TOTPDevice.objects.get(user=user, confirmed=False)
    assert TOTPDevice.objects.filter(pk=old.pk, confirmed=True).exists()
    client.post(reverse("mfa_enrol"), {"code": totp_code_now(new)})
    assert list(TOTPDevice.objects.filter(user=user).values_list("pk", "confirmed")) == [(new.pk, True)]


# --- the code step -----------------------------------------------------------------------------------


def test_app_code_verifies_once_and_not_again(personas):
    user = personas.caseworker_hilden
    device = _app(user)
    with time_machine.travel(START, tick=False):
        first, second = Client(), Client()
        _password(first, "caseworker_hilden")
        _password(second, "caseworker_hilden")
        code = totp_code_now(device)
        response = _code(first, code, next_url="/inbox/")
        assert response.status_code == 302 and response["Location"] == "/inbox/"
        assert first.get("/inbox/").status_code == 200
        replay = _code(second, code)
        assert replay.status_code == 200, "a code is accepted once (replay)"
        assert second.get("/inbox/").status_code == 302


def test_every_attempt_is_logged_without_the_code(client, personas, caplog):
    user = personas.caseworker_hilden
    device = _app(user)
    codes = mfa.backup_codes_issue(user=user)
    _password(client, "caseworker_hilden")
    with caplog.at_level("INFO", logger="agencies.mfa"):
        _code(client, "000000" if totp_code_now(device) != "000000" else "111111")
        time.sleep(1.1)
        _code(client, codes[0])
    lines = [r.getMessage() for r in caplog.records if r.name == "agencies.mfa" and "second factor" in r.getMessage()]
    assert len(lines) == 2, lines
    assert lines[0].startswith(f"second factor refused (login) for person {user.pk}")
    assert lines[1].startswith(f"second factor accepted (login) for person {user.pk} [BackupCodeDevice/backup]")
    assert not any(codes[0] in line or "000000" in line or "caseworker_hilden" in line for line in lines)


def test_wrong_codes_are_throttled_with_a_german_message(client, personas):
    device = _app(personas.caseworker_hilden)
    with time_machine.travel(START, tick=False) as traveller:
        _password(client, "caseworker_hilden")
        for _ in range(3):  # each after the wait of the one before: three failures in a row
            _code(client, "999999" if totp_code_now(device) != "999999" else "888888")
            traveller.shift(dt.timedelta(seconds=5))
        traveller.shift(dt.timedelta(seconds=-5))
        refused = _code(client, totp_code_now(device))
        assert refused.status_code == 200
        assert "Zu viele falsche Codes. Warten Sie 4 Sekunden" in refused.content.decode()
        traveller.shift(dt.timedelta(seconds=31))
        assert _code(client, totp_code_now(TOTPDevice.objects.get(pk=device.pk))).status_code == 302


def test_next_must_stay_on_this_site(client, personas):
    device = _app(personas.caseworker_hilden)
    _password(client, "caseworker_hilden")
    response = _code(client, totp_code_now(device), next_url="https://evil.example/")
    assert response.status_code == 302 and response["Location"] == reverse("referrals:home")


def test_backup_code_works_once_and_says_how_many_are_left(client, personas):
    user = personas.caseworker_hilden
    _app(user)
    codes = mfa.backup_codes_issue(user=user)
    _password(client, "caseworker_hilden")
    response = _code(client, codes[3].upper().replace("-", " "), next_url="/inbox/")  # typed loosely
    assert response.status_code == 302
    assert "Noch 9 Ersatzcodes" in client.get("/inbox/").content.decode()
    other = Client()
    _password(other, "caseworker_hilden")
    assert _code(other, codes[3]).status_code == 200, "a used backup code is gone"


def test_new_backup_codes_replace_the_old_ones(client, personas):
    user = personas.caseworker_hilden
    client.force_login(user)
    old = mfa.backup_codes_issue(user=user)
    account = client.get(reverse("account")).content.decode()
    assert "10 Ersatzcodes sind übrig." in account
    assert "Wollen Sie neue Ersatzcodes erzeugen?" in client.get(reverse("mfa_backup_codes")).content.decode()
    new = re.findall(r"<code>([a-z2-9-]+)</code>", client.post(reverse("mfa_backup_codes")).content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert BackupCode.objects.filter(digest=mfa.code_digest(old[0])).count() == 0
    assert client.get("/inbox/").status_code == 200, "the session stays verified"


# --- recovery ----------------------------------------------------------------------------------------


def test_lead_resets_the_factor_and_the_recovery_code_only_allows_a_new_set_up(client, personas):
    person = personas.caseworker_hilden
    _app(person)
    mfa.backup_codes_issue(user=person)
    victim = Client()
    victim.force_login(person)
    assert victim.get("/inbox/").status_code == 200
    api_token(person)

    lead = Client()
    lead.force_login(personas.lead_hilden)
    listing = lead.get(reverse("token_list")).content.decode()
    assert reverse("mfa_reset", args=[person.pk]) in listing and "eingerichtet" in listing
    assert "Zweiten Faktor von" in lead.get(reverse("mfa_reset", args=[person.pk])).content.decode()
    done = lead.post(reverse("mfa_reset", args=[person.pk]))
    code = re.search(r'id="recovery-code"[^>]*value="([a-z2-9-]+)"', done.content.decode()).group(1)
    assert "Wiederherstellungscode" in done.content.decode()

    assert not TOTPDevice.objects.filter(user=person).exists()
    assert list(BackupCodeDevice.objects.filter(user=person).values_list("purpose", flat=True)) == ["recovery"]
    assert _sessions_of(person) == 0 and victim.get("/inbox/").status_code == 302
    assert ApiToken.objects.filter(user=person).exists(), "a reset is no token revocation"
    entry = LogEntry.objects.get(user=personas.lead_hilden, object_id=str(person.pk))
    assert entry.change_message and code not in entry.change_message
    assert "Wiederherstellungscode ausgegeben" in lead.get(reverse("token_list")).content.decode()

    # The password alone reaches nothing, not even the set-up.
    _password(client, "caseworker_hilden")
    assert client.get("/inbox/")["Location"].startswith(reverse("mfa_verify"))
    assert client.get(reverse("mfa_enrol"))["Location"] == reverse("mfa_verify")
    # The recovery code leads to the set-up, and nowhere else until it is done.
    response = _code(client, code, next_url="/inbox/")
    assert response["Location"] == reverse("mfa_enrol")
    assert client.get("/inbox/")["Location"].startswith(reverse("mfa_enrol"))
    assert client.get("/api/v1/referrals/").status_code == 403
    client.get(reverse("mfa_enrol"))
    device = TOTPDevice.objects.get(user=person, confirmed=False)
    client.post(reverse("mfa_enrol"), {"code": totp_code_now(device)})
    assert client.get("/inbox/").status_code == 200
    assert not BackupCodeDevice.objects.filter(user=person, purpose="recovery").exists()


def test_a_recovery_code_expires(client, personas):
    person = personas.caseworker_hilden
    with time_machine.travel(START, tick=False) as traveller:
        code = mfa.mfa_reset(user=person, by=personas.lead_hilden)
        traveller.shift(dt.timedelta(hours=72, seconds=1))
        _password(client, "caseworker_hilden")
        assert _code(client, code).status_code == 200
        assert client.get("/inbox/").status_code == 302


@pytest.mark.parametrize(
    ("who", "whom", "status"),
    [
        ("lead_velbert", "caseworker_hilden", 404),  # not one of their people
        ("caseworker_hilden", "police_hilden", 403),  # manages nobody
        ("district_coordinator", "caseworker_hilden", 403),
    ],
)
def test_only_the_lead_of_the_person_resets(client, personas, who, whom, status):
    target = getattr(personas, whom)
    _app(target)
    client.force_login(getattr(personas, who))
    assert client.get(reverse("mfa_reset", args=[target.pk])).status_code == status
    assert client.post(reverse("mfa_reset", args=[target.pk])).status_code == status
    assert TOTPDevice.objects.filter(user=target).exists()


def test_a_lead_does_not_reset_their_own_factor(client, personas):
    lead = personas.lead_hilden
    client.force_login(lead)
    response = client.post(reverse("mfa_reset", args=[lead.pk]), follow=True)
    assert "Richten Sie Ihre eigene Authenticator-App in Ihrem Konto ein." in response.content.decode()
    assert TOTPDevice.objects.filter(user=lead, confirmed=True).exists()


# --- demo mode -----------------------------------------------------------------------------------


def test_login_page_names_the_second_factor_and_no_demo_mode(client, db):
    html = client.get(reverse("login")).content.decode()
    assert "Demo-Modus" not in html and "Authenticator-App" in html


@override_settings(DEMO_MODE=True)
def test_demo_mode_lets_people_without_a_factor_in_and_says_so(client, personas):
    assert "Demo-Modus" in client.get(reverse("login")).content.decode()
    _password(client, "caseworker_hilden")
    assert client.get("/inbox/").status_code == 200
    # Whoever has set up a factor is asked for it in the demo mode too.
    _app(personas.caseworker_velbert)
    other = Client()
    _password(other, "caseworker_velbert")
    assert other.get("/inbox/")["Location"].startswith(reverse("mfa_verify"))


def test_check_deploy_warns_about_the_demo_mode():
    with override_settings(DEMO_MODE=True):
        assert [w.id for w in demo_mode_off(None)] == ["kinderschutz.W001"]
    with override_settings(DEMO_MODE=False):
        assert demo_mode_off(None) == []


def test_one_wrong_code_says_the_code_is_wrong(client, personas):
    """Issue 16: a single wrong code is "Code falsch", not "Zu viele falsche Codes"."""
    device = _app(personas.caseworker_hilden)
    with time_machine.travel(START, tick=False):
        _password(client, "caseworker_hilden")
        wrong = _code(client, "999999" if totp_code_now(device) != "999999" else "888888")
        text = wrong.content.decode()
        assert "Der Code ist nicht korrekt oder wurde bereits verwendet." in text
        assert "Zu viele falsche Codes" not in text


def test_lead_sets_a_one_time_password_for_a_forgotten_password(client, personas):
    """Issue 16: at night the lead restores access completely — second factor and password — logged."""
    person = personas.caseworker_hilden
    person.set_password("Altes-Passwort-123")
    person.save()
    _app(person)
    lead = Client()
    lead.force_login(personas.lead_hilden)
    assert "Einmalpasswort vergeben" in lead.get(reverse("mfa_reset", args=[person.pk])).content.decode()
    done = lead.post(reverse("mfa_reset", args=[person.pk]), {"password": "1"}).content.decode()
    password = re.search(r'id="one-time-password"[^>]*value="([a-z2-9-]+)"', done).group(1)
    person.refresh_from_db()
    assert person.check_password(password) and not person.check_password("Altes-Passwort-123")
    messages = list(
        LogEntry.objects.filter(user=personas.lead_hilden, object_id=str(person.pk)).values_list(
            "change_message", flat=True
        )
    )
    assert any("Einmalpasswort" in m or "one-time password" in m for m in messages)
    assert not any(password in m for m in messages)
    # Without the box only the second factor is reset.
    again = lead.post(reverse("mfa_reset", args=[person.pk])).content.decode()
    assert 'id="one-time-password"' not in again
    person.refresh_from_db()
    assert person.check_password(password)
