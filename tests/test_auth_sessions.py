"""Authentication and sessions (issue 4, sections 1 and 2): lockout, Argon2, idle and absolute
timeouts, keep-alive, new session key at login, deactivation, "log out everywhere", API tokens."""

import datetime as dt
import importlib

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY, get_user_model
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils.translation import gettext
from rest_framework.test import APIClient

from agencies.models import ApiToken, api_token_digest
from agencies.services import person_deactivate, token_issue
from tests.factories import pass_second_factor

PASSWORD = "Test-Passwort-123"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _login(client, username, password=PASSWORD):
    """Log in through the login form; after a right password also through the second factor.
    Returns the answer to the password step."""
    response = client.post(reverse("login"), {"username": username, "password": password})
    if response.status_code == 302:
        pass_second_factor(client, get_user_model().objects.get(username=username))
    return response


def _sessions_of(user) -> int:
    return sum(1 for s in Session.objects.all() if s.get_decoded().get(SESSION_KEY) == str(user.pk))


# --- lockout and hashing ------------------------------------------------------------------------


def test_five_failures_lock_the_login_with_a_german_message(client, personas):
    for _ in range(4):
        response = _login(client, "police_hilden", "falsch")
        assert response.status_code == 200
    response = _login(client, "police_hilden", "falsch")
    assert response.status_code == 429
    text = response.content.decode()
    assert gettext("Login locked") in text
    assert "(5)" in text and " 15 " in text
    # Locked: even the right password is refused now.
    response = _login(client, "police_hilden")
    assert response.status_code == 429
    assert SESSION_KEY not in client.session


def test_lockout_is_per_username_and_address(client, personas):
    for _ in range(5):
        _login(client, "police_hilden", "falsch")
    # Another person at the same address still logs in.
    assert _login(client, "police_velbert").status_code == 302
    # The same person from another address too.
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert _login(other, "police_hilden").status_code == 302


def test_lockout_ends_after_the_cool_off(client, personas):
    with time_machine.travel(START, tick=False) as traveller:
        for _ in range(5):
            _login(client, "police_hilden", "falsch")
        assert _login(client, "police_hilden").status_code == 429
        traveller.shift(dt.timedelta(minutes=14))
        assert _login(client, "police_hilden").status_code == 429  # a try during the lockout restarts it
        traveller.shift(dt.timedelta(minutes=15, seconds=1))
        assert _login(client, "police_hilden").status_code == 302


def test_a_successful_login_resets_the_failures(client, personas):
    for _ in range(4):
        _login(client, "police_hilden", "falsch")
    assert _login(client, "police_hilden").status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert _login(client, "police_hilden", "falsch").status_code == 200


def test_production_settings_hash_with_argon2(monkeypatch):
    """The test suite uses a fast hasher (tests/conftest.py); the settings module itself says Argon2."""
    import config.settings as production

    monkeypatch.setenv("DEBUG", "false")
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "kinderschutz.example")
    try:
        reloaded = importlib.reload(production)
        assert reloaded.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
        assert reloaded.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    finally:
        monkeypatch.undo()
        importlib.reload(production)


def test_argon2_is_installed_and_hashes():
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("Test-Passwort-123", hasher.salt())
    assert encoded.startswith("argon2$") and hasher.verify("Test-Passwort-123", encoded)


# --- sessions -----------------------------------------------------------------------------------


def test_login_issues_a_new_session_key(client, personas):
    session = client.session  # an anonymous session, as a visitor has before logging in
    session["before_login"] = True
    session.save()
    before = session.session_key
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == before
    assert _login(client, "police_hilden").status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert Session.objects.get(session_key=after).get_decoded()[SESSION_KEY] == str(personas.police_hilden.pk)


def test_idle_session_ends_with_a_german_message(client, personas):
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "caseworker_hilden")
        assert client.get("/inbox/").status_code == 200
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/inbox/").status_code == 200  # activity: the 30 minutes start again
        traveller.shift(dt.timedelta(minutes=29))
        assert client.get("/inbox/").status_code == 200
        traveller.shift(dt.timedelta(minutes=30))
        response = client.get("/inbox/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        page = client.get(response["Location"]).content.decode()
        assert gettext("Your session has expired. Please log in again.") in page
        assert SESSION_KEY not in client.session


@pytest.mark.parametrize("idle", [600])
def test_idle_timeout_is_configurable(client, personas, settings, idle):
    settings.SESSION_IDLE_TIMEOUT = idle
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "caseworker_hilden")
        traveller.shift(dt.timedelta(seconds=idle - 1))
        assert client.get("/inbox/").status_code == 200
        traveller.shift(dt.timedelta(seconds=idle))
        assert client.get("/inbox/").status_code == 302


def test_absolute_timeout_ends_even_an_active_session(client, personas):
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "caseworker_hilden")
        for _ in range(12 * 3 - 1):  # a request every 20 minutes for almost 12 hours
            traveller.shift(dt.timedelta(minutes=20))
            assert client.get("/inbox/").status_code == 200
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get("/inbox/").status_code == 302


def test_the_last_activity_is_written_at_most_once_a_minute(client, personas):
    """A request within a minute of the recorded activity leaves the session as it is (no write);
    the idle timeout counts from the recorded activity, so the session ends up to a minute early,
    never late, and the page's remaining seconds say so."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def session_writes():
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/inbox/")
        assert page.status_code == 200
        writes = [q["sql"] for q in queries if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]
        return len(writes), page.content.decode()

    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "caseworker_hilden")
        assert session_writes()[0] == 0  # the login has just recorded the activity
        traveller.shift(dt.timedelta(seconds=59))
        writes, page = session_writes()
        assert writes == 0
        assert 'data-session-remaining="1741"' in page  # 30 minutes from the recorded activity
        traveller.shift(dt.timedelta(seconds=1))
        writes, page = session_writes()
        assert writes == 1
        assert 'data-session-remaining="1800"' in page
        traveller.shift(dt.timedelta(minutes=29, seconds=59))  # 30 minutes after the last write, minus 1 s
        assert session_writes()[0] == 1
        traveller.shift(dt.timedelta(minutes=30))
        assert client.get("/inbox/").status_code == 302


def test_page_tells_the_script_the_remaining_seconds(client, personas, settings):
    settings.SESSION_ABSOLUTE_TIMEOUT = 2400
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "caseworker_hilden")
        page = client.get("/inbox/").content.decode()
        assert 'data-session-remaining="1800"' in page
        assert 'src="/static/js/session.js"' in page
        assert f'data-session-keepalive="{reverse("keepalive")}"' in page
        traveller.shift(dt.timedelta(minutes=25))  # the absolute timeout comes first now
        assert 'data-session-remaining="900"' in client.get("/inbox/").content.decode()
    assert "data-session-remaining" not in Client().get(reverse("login")).content.decode()


def test_keepalive_extends_the_session(client, personas):
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "police_hilden")
        traveller.shift(dt.timedelta(minutes=25))
        response = client.post(reverse("keepalive"))
        assert response.status_code == 200
        assert response.json() == {"remaining": 1800}
        traveller.shift(dt.timedelta(minutes=25))
        assert client.get("/referrals/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        assert client.post(reverse("keepalive")).status_code == 401


def test_keepalive_records_the_activity_at_once(client, personas):
    """ "Stay logged in" seconds after a page gives the whole idle time again (other requests record the
    activity at most once a minute), so the page's warning does not come back at once."""
    with time_machine.travel(START, tick=False) as traveller:
        _login(client, "police_hilden")
        traveller.shift(dt.timedelta(seconds=30))
        assert client.post(reverse("keepalive")).json() == {"remaining": 1800}
        traveller.shift(dt.timedelta(minutes=29, seconds=59))
        assert client.get("/referrals/").status_code == 200  # 30 minutes counted from the keep-alive


def test_keepalive_needs_post_and_csrf(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas.police_hilden)
    assert client.get(reverse("keepalive")).status_code == 405
    assert client.post(reverse("keepalive")).status_code == 403


def test_keepalive_answers_401_to_anonymous(client, db):
    assert client.post(reverse("keepalive")).status_code == 401


# --- deactivation, log out everywhere -----------------------------------------------------------


def test_deactivation_ends_every_session_and_the_token(personas):
    user = personas.caseworker_hilden
    browsers = [Client(), Client()]
    for browser in browsers:
        assert _login(browser, "caseworker_hilden").status_code == 302
    other = Client()
    _login(other, "caseworker_velbert")
    key = token_issue(user=user, by=personas.lead_hilden)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/referrals/").status_code == 200

    person_deactivate(user=user, by=personas.admin)

    user.refresh_from_db()
    assert not user.is_active
    assert _sessions_of(user) == 0
    assert not ApiToken.objects.filter(user=user).exists()
    assert api.get("/api/v1/referrals/").status_code == 401
    for browser in browsers:
        assert browser.get("/inbox/").status_code == 302
    assert other.get("/inbox/").status_code == 200  # nobody else is logged out


def test_unchecking_active_in_the_admin_ends_the_sessions(personas):
    user = personas.caseworker_hilden
    browser = Client()
    _login(browser, "caseworker_hilden")
    token_issue(user=user, by=personas.lead_hilden)
    admin = Client()
    admin.force_login(personas.admin)
    page = admin.get(f"/admin/auth/user/{user.pk}/change/")
    form = page.context["adminform"].form
    skip = ("password", "groups", "user_permissions")
    data = {k: v for k, v in form.initial.items() if v is not None and k not in skip}
    data.update({"username": user.username, "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01"})
    data.update({"date_joined_1": "10:00:00", "memberships-TOTAL_FORMS": "0", "memberships-INITIAL_FORMS": "0"})
    data.pop("is_active", None)  # an unchecked box is not sent
    response = admin.post(f"/admin/auth/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    user.refresh_from_db()
    assert not user.is_active
    assert _sessions_of(user) == 0
    assert not ApiToken.objects.filter(user=user).exists()


def test_admin_action_deactivates_and_logs_out(personas):
    user = personas.police_hilden
    browser = Client()
    _login(browser, "police_hilden")
    admin = Client()
    admin.force_login(personas.admin)
    response = admin.post(
        "/admin/auth/user/",
        {"action": "deactivate_everywhere", "_selected_action": [user.pk, personas.admin.pk]},
        follow=True,
    )
    assert response.status_code == 200
    user.refresh_from_db()
    personas.admin.refresh_from_db()
    assert not user.is_active and personas.admin.is_active  # never oneself
    assert _sessions_of(user) == 0
    assert browser.get("/referrals/").status_code == 302


def test_a_login_updates_no_activity_flag(personas):
    """Saving last_login at login must not be mistaken for a deactivation (nor cost a query)."""
    browser = Client()
    _login(browser, "police_hilden")
    assert _sessions_of(personas.police_hilden) == 1


def test_log_out_everywhere(personas):
    user = personas.police_hilden
    browsers = [Client(), Client()]
    for browser in browsers:
        _login(browser, "police_hilden")
    token_issue(user=user, by=personas.police_coordinator)
    page = browsers[0].get(reverse("account"))
    assert page.status_code == 200
    assert reverse("logout_everywhere") in page.content.decode()
    response = browsers[0].post(reverse("logout_everywhere"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert _sessions_of(user) == 0
    assert not ApiToken.objects.filter(user=user).exists()
    assert browsers[1].get("/referrals/").status_code == 302
    user.refresh_from_db()
    assert user.is_active  # logging out is not a deactivation
    assert browsers[0].get(reverse("logout_everywhere")).status_code in (302, 405)


# --- API tokens ---------------------------------------------------------------------------------


def test_lead_issues_a_token_shown_once(client, personas):
    client.force_login(personas.lead_hilden)
    page = client.get(reverse("token_list")).content.decode()
    assert "caseworker_hilden" in page and "caseworker_velbert" not in page and "police_hilden" not in page
    response = client.post(reverse("token_issue", args=[personas.caseworker_hilden.pk]))
    assert response.status_code == 200
    key = response.context["key"]
    assert ApiToken.objects.get(user=personas.caseworker_hilden).digest == api_token_digest(key)
    assert key in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    for url in (reverse("token_list"), reverse("token_revoke", args=[personas.caseworker_hilden.pk])):
        assert key not in client.get(url).content.decode()
    admin = Client()
    admin.force_login(personas.admin)
    assert key not in admin.get("/admin/agencies/apitoken/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/referrals/").status_code == 200


def test_issuing_and_revoking_by_a_lead_is_in_the_admin_log(client, personas):
    from django.contrib.admin.models import LogEntry

    person = personas.caseworker_hilden
    client.force_login(personas.lead_hilden)
    key = client.post(reverse("token_issue", args=[person.pk])).context["key"]
    client.post(reverse("token_revoke", args=[person.pk]))
    client.post(reverse("token_revoke", args=[person.pk]))  # nothing left to revoke: no entry
    entries = LogEntry.objects.filter(user=personas.lead_hilden, object_id=str(person.pk)).order_by("id")
    assert [e.change_message for e in entries] == ["API-Token ausgestellt", "API-Token widerrufen"]
    assert all(key not in e.change_message + e.object_repr for e in entries)


def test_a_new_token_replaces_the_old(client, personas):
    client.force_login(personas.lead_hilden)
    old = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    new = client.post(reverse("token_issue", args=[personas.caseworker_hilden.pk]), {"confirm": "1"}).context["key"]
    assert new != old
    assert ApiToken.objects.get(user=personas.caseworker_hilden).digest == api_token_digest(new)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api.get("/api/v1/referrals/").status_code == 401


def test_token_for_another_office_is_404_and_for_a_caseworker_403(client, personas):
    client.force_login(personas.lead_hilden)
    assert client.post(reverse("token_issue", args=[personas.caseworker_velbert.pk])).status_code == 404
    assert client.post(reverse("token_issue", args=[987654])).status_code == 404
    assert client.get(reverse("token_issue", args=[personas.caseworker_hilden.pk])).status_code == 405
    client.force_login(personas.caseworker_hilden)
    assert client.get(reverse("token_list")).status_code == 403
    assert client.post(reverse("token_issue", args=[personas.caseworker_hilden.pk])).status_code == 403
    assert not ApiToken.objects.exists()


def test_police_coordinator_manages_the_stations_people(client, personas):
    client.force_login(personas.police_coordinator)
    page = client.get(reverse("token_list")).content.decode()
    assert "police_hilden" in page and "police_velbert" in page and "caseworker_hilden" not in page
    assert client.post(reverse("token_issue", args=[personas.police_velbert.pk])).status_code == 200
    assert client.post(reverse("token_issue", args=[personas.caseworker_hilden.pk])).status_code == 404


def test_lead_revokes_a_token_after_confirmation(client, personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    client.force_login(personas.lead_hilden)
    url = reverse("token_revoke", args=[personas.caseworker_hilden.pk])
    assert client.get(url).status_code == 200
    assert ApiToken.objects.filter(digest=api_token_digest(key)).exists()  # asking is not revoking
    response = client.post(url, follow=True)
    assert response.redirect_chain[-1][0] == reverse("token_list")
    assert not ApiToken.objects.filter(digest=api_token_digest(key)).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/referrals/").status_code == 401


def test_admin_adds_a_token_and_sees_the_key_once(personas):
    admin = Client()
    admin.force_login(personas.admin)
    response = admin.post("/admin/agencies/apitoken/add/", {"user": personas.caseworker_hilden.pk})
    assert response.status_code == 200
    key = response.context["key"]
    assert ApiToken.objects.get(user=personas.caseworker_hilden).digest == api_token_digest(key)
    assert key in response.content.decode()
    assert key not in admin.get("/admin/agencies/apitoken/").content.decode()
