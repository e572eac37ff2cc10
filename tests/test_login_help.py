"""The login page says what to do after a failed login and how a person regains access at night
(issue 16 § 5); the access log shows compact dates."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_failed_login_says_what_to_do(client, personas):
    page = client.get(reverse("login")).content.decode()
    assert "Kein Zugang?" in page and "Polizeikoordination" in page and "Rufbereitschaft" in page
    failed = client.post(reverse("login"), {"username": "caseworker_hilden", "password": "falsch"})
    text = failed.content.decode()
    assert failed.status_code == 200
    assert "Prüfen Sie Benutzernamen und Passwort" in text and "für 15 Minuten gesperrt" in text
