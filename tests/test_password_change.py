"""A person changes their own password (issue 16 § 5, agencies/password.py): German page, the current
password required, the password rules applied, a failed form re-rendered in place with the error
summary, every other session of the person ended (this one stays), logged without the password."""

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.urls import reverse

from agencies.models import ApiToken
from agencies.services import token_issue
from tests.test_auth_sessions import _login, _sessions_of
from tests.test_error_pattern import summary_of

pytestmark = pytest.mark.django_db

OLD = "Test-Passwort-123"
NEW = "Nachtdienst-Wache-2026"
URL = "/accounts/password/"


def change(client, old=OLD, new1=NEW, new2=NEW):
    return client.post(URL, {"old_password": old, "new_password1": new1, "new_password2": new2})


def test_the_page_is_german_and_linked_from_the_account(client, personas):
    assert reverse("password_change") == URL
    client.force_login(personas.caseworker_hilden)
    assert URL in client.get(reverse("account")).content.decode()
    page = client.get(URL).content.decode()
    assert "<title>Passwort ändern" in page
    assert 'autocomplete="current-password"' in page and 'autocomplete="new-password"' in page


def test_anonymous_is_sent_to_the_login(client, personas):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    response = change(client)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("old", "new1", "new2", "field"),
    [
        ("Geraten-0000", NEW, NEW, "old_password"),  # the current password is required
        (OLD, NEW, NEW + "x", "new_password2"),  # typed twice the same
        (OLD, "Qx7-z", "Qx7-z", "new_password2"),  # the password rules (at least 12 characters)
    ],
)
def test_a_failed_change_comes_back_in_place_and_changes_nothing(client, personas, old, new1, new2, field):
    user = personas.caseworker_hilden
    elsewhere = Client()
    _login(elsewhere, user.username)
    client.force_login(user)
    response = change(client, old, new1, new2)
    assert response.status_code == 200
    summary = summary_of(response)
    assert f'href="#id_{field}"' in summary, summary
    assert "Bitte korrigieren" in summary  # German
    user.refresh_from_db()
    assert user.check_password(OLD)
    assert elsewhere.get("/inbox/").status_code == 200  # nothing ended
    assert new1 not in response.content.decode() and old not in response.content.decode()  # never echoed


def test_a_changed_password_ends_the_other_sessions_and_keeps_this_one(client, personas, caplog):
    user = personas.caseworker_hilden
    other = personas.caseworker_velbert
    elsewhere, this, someone_else = Client(), Client(), Client()
    _login(elsewhere, user.username)
    _login(this, user.username)
    _login(someone_else, other.username)
    token_issue(user=user, by=personas.lead_hilden)
    with caplog.at_level(logging.INFO):
        response = change(this)
    assert response.status_code == 302 and response["Location"] == reverse("account")
    user.refresh_from_db()
    assert user.check_password(NEW) and not user.check_password(OLD)
    assert this.get("/inbox/").status_code == 200  # this session stays
    assert elsewhere.get("/inbox/").status_code == 302  # the other one ended
    assert someone_else.get("/inbox/").status_code == 200  # nobody else's
    assert _sessions_of(user) == 1
    assert ApiToken.objects.filter(user=user).exists()  # the token is not the password
    entry = LogEntry.objects.filter(object_id=str(user.pk)).latest("action_time")
    assert entry.user_id == user.pk and "Passwort" in entry.get_change_message() + entry.change_message
    assert any("password of person" in r.getMessage() for r in caplog.records)
    assert NEW not in caplog.text and OLD not in caplog.text
    # The new password logs in, the old one no longer does.
    assert _login(Client(), user.username, NEW).status_code == 302
    assert _login(Client(), user.username, OLD).status_code == 200
