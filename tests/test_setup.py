"""Settings, commands and admin pages that the two commands and operators rely on."""

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from agencies.models import Agency, ApiToken, Membership, api_token_digest


def _settings_load(**env):
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('loaded')"],
        env=environment,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
        timeout=60,
    )


def test_production_mode_refuses_to_start_without_secrets():
    result = _settings_load(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
    result = _settings_load(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode != 0
    assert "ALLOWED_HOSTS" in result.stderr
    result = _settings_load(DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="kinderschutz.example")
    assert result.returncode == 0, result.stderr
    assert "loaded" in result.stdout


def test_strict_boolean_setting():
    result = _settings_load(DEBUG="maybe")
    assert result.returncode != 0


def test_defaults_are_german_and_berlin():
    assert settings.LANGUAGE_CODE == "de"
    assert settings.TIME_ZONE == "Europe/Berlin"
    assert [code for code, _ in settings.LANGUAGES] == ["de", "en"]


def test_seed_command_prints_demo_logins(db):
    out = io.StringIO()
    call_command("seed_district", "mettmann", "--demo-users", stdout=out)
    text = out.getvalue()
    assert "Kinderschutz-Demo-2026" in text
    assert "polizei.hilden" in text and "jugendamt.hilden.leitung" in text
    assert "polizei.koordination.mettmann" in text and "kreis.koordination.mettmann" in text
    # one person per role that fits each agency: 9 officers, 1 police coordinator, 10 caseworkers,
    # 10 leads, 1 district coordinator
    assert Membership.objects.count() == 31
    call_command("seed_district", "mettmann", "--demo-users", stdout=io.StringIO())
    assert Membership.objects.count() == 31


def test_seed_without_flag_creates_no_people(db):
    call_command("seed_district", "mettmann", stdout=io.StringIO())
    assert Agency.objects.count() == 21
    assert not Membership.objects.exists()


def test_unknown_district_is_a_clear_error(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="mettmann"):
        call_command("seed_district", "atlantis", stdout=io.StringIO())


def test_issue_token_command_prints_the_key_once(personas):
    out = io.StringIO()
    call_command("issue_token", "police_hilden", stdout=out)
    key = out.getvalue().strip()
    assert ApiToken.objects.filter(user=personas.police_hilden).exists()
    assert ApiToken.objects.get(user=personas.police_hilden).digest == api_token_digest(key)
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/referrals/").status_code == 200


def test_issue_token_command_refuses_unknown_and_deactivated_people(personas):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="atlantis"):
        call_command("issue_token", "atlantis", stdout=io.StringIO())
    personas.police_hilden.is_active = False
    personas.police_hilden.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="police_hilden"):
        call_command("issue_token", "police_hilden", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/agencies/agency/",
        "/admin/agencies/jurisdictionarea/",
        "/admin/agencies/membership/",
        "/admin/agencies/district/",
        "/admin/auth/user/",
        "/admin/notifications/notification/",
        "/admin/referrals/referral/",
    ],
)
def test_admin_pages_load(client, personas, path):
    client.force_login(personas.admin)
    assert client.get(path).status_code == 200


def test_admin_agency_change_page_with_postcodes(client, personas):
    client.force_login(personas.admin)
    office = Agency.objects.get(code="JA-HIL")
    response = client.get(f"/admin/agencies/agency/{office.pk}/change/")
    assert response.status_code == 200
    assert b"40723" in response.content


def test_membership_role_must_fit_agency_kind(personas):
    from django.core.exceptions import ValidationError

    membership = Membership(user=personas.no_role, agency=Agency.objects.get(code="PW-HIL"), role="caseworker")
    with pytest.raises(ValidationError):
        membership.full_clean()


def test_german_by_default_even_for_english_browsers(client):
    response = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response["Content-Language"] == "de"
    assert "Anmelden" in response.content.decode()


def test_english_when_chosen(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    response = client.get("/accounts/login/")
    assert response["Content-Language"] == "en"
    assert "Log in" in response.content.decode()
