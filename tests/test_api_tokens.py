"""API tokens are stored as a digest of the key (agencies.ApiToken): a copy of the database gives no
access to the interface. The key is shown once; ``Authorization: Token <key>`` as before."""

import datetime as dt
import importlib
import io

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from rest_framework.test import APIClient

from agencies.authentication import ApiTokenAuthentication
from agencies.models import ApiToken, api_token_digest
from agencies.services import person_sessions_end, token_issue, token_revoke

URL = "/api/v1/referrals/"
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
drf_migration = importlib.import_module("agencies.migrations.0006_api_tokens_from_drf")


def _get(key, **cookies):
    client = APIClient()
    for name, value in cookies.items():
        client.cookies[name] = value
    return client.get(URL, HTTP_AUTHORIZATION=f"Token {key}")


def _refused(response, message):
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    with translation.override("de"):
        assert response.json()["detail"] == translation.gettext(message)


def test_replacing_a_token_asks_first(client, personas):
    """A new token ends the old one at once: the page asks before (QA of 2026-12-05: it did not)."""
    client.force_login(personas.lead_hilden)
    url = reverse("token_issue", args=[personas.caseworker_hilden.pk])
    first = client.post(url).context["key"]  # no token yet: issued at once
    asked = client.post(url)
    assert asked.templates[0].name == "agencies/token_replace.html"
    assert 'name="confirm" value="1"' in asked.content.decode()
    assert ApiToken.objects.get(user=personas.caseworker_hilden).digest == api_token_digest(first)  # unchanged
    second = client.post(url, {"confirm": "1"}).context["key"]
    assert ApiToken.objects.get(user=personas.caseworker_hilden).digest == api_token_digest(second) != first


def test_the_database_holds_no_key(client, personas):
    client.force_login(personas.lead_hilden)
    key = client.post(reverse("token_issue", args=[personas.caseworker_hilden.pk])).context["key"]
    token = ApiToken.objects.get(user=personas.caseworker_hilden)
    assert token.digest == api_token_digest(key) and len(token.digest) == 64
    assert token.prefix == key[:8] and len(key) >= 43
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(key not in str(value) for value in row.values()), row
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608 - a table name of ours
        table = repr(cursor.fetchall())
    assert key[8:16] not in table and key not in table
    dump = io.StringIO()
    call_command("dumpdata", "agencies.apitoken", "admin.logentry", stdout=dump)
    assert token.digest in dump.getvalue()  # the dump is the table
    assert key not in dump.getvalue() and key[8:16] not in dump.getvalue()


def test_a_key_works_and_the_person_is_who_it_was_issued_for(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    response = _get(key)
    assert response.status_code == 200
    assert response.wsgi_request.user == personas.caseworker_hilden


def test_a_wrong_key_is_401(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    _refused(_get(key[:-1] + ("A" if key[-1] != "A" else "B")), "Invalid token.")
    _refused(_get(api_token_digest(key)), "Invalid token.")  # the digest is no key
    response = _get("x", **{settings.LANGUAGE_COOKIE_NAME: "en"})
    assert response.status_code == 401 and response.json()["detail"] == "Invalid token."
    assert APIClient().get(URL, HTTP_AUTHORIZATION="Token").status_code == 401


def test_a_revoked_key_is_401(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    assert _get(key).status_code == 200
    assert token_revoke(user=personas.caseworker_hilden, by=personas.lead_hilden)
    _refused(_get(key), "Invalid token.")
    assert not token_revoke(user=personas.caseworker_hilden, by=personas.lead_hilden)


def test_ending_the_sessions_revokes_the_key(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    person_sessions_end(user=personas.caseworker_hilden, revoke_token=False)
    assert _get(key).status_code == 200
    person_sessions_end(user=personas.caseworker_hilden)
    _refused(_get(key), "Invalid token.")


def test_an_inactive_persons_key_is_401(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    # update(): without the deactivation service, which would revoke the token as well
    type(personas.caseworker_hilden).objects.filter(pk=personas.caseworker_hilden.pk).update(is_active=False)
    _refused(_get(key), "User inactive or deleted.")


def test_the_authentication_class_is_configured_first():
    assert settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"][0] == (
        f"{ApiTokenAuthentication.__module__}.{ApiTokenAuthentication.__name__}"
    )
    assert "rest_framework.authtoken" not in settings.INSTALLED_APPS


def test_the_schema_still_describes_the_token_header(client, personas):
    client.force_login(personas.caseworker_hilden)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "tokenAuth" in schema and "Authorization" in schema


def test_last_used_is_written_at_most_once_a_minute(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    assert ApiToken.objects.get().last_used_at is None

    def use():
        with CaptureQueriesContext(connection) as queries:
            assert _get(key).status_code == 200
        return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and ApiToken._meta.db_table in q["sql"]]

    with time_machine.travel(START, tick=False) as clock:
        assert len(use()) == 1
        assert ApiToken.objects.get().last_used_at == START
        clock.shift(dt.timedelta(seconds=30))
        assert use() == []
        clock.shift(dt.timedelta(seconds=29))
        assert use() == []
        assert ApiToken.objects.get().last_used_at == START
        clock.shift(dt.timedelta(seconds=1))
        assert len(use()) == 1
        assert ApiToken.objects.get().last_used_at == START + dt.timedelta(minutes=1)


def test_the_lead_sees_when_a_token_was_last_used(client, personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    client.force_login(personas.lead_hilden)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "last used" not in client.get(reverse("token_list")).content.decode()
    assert _get(key).status_code == 200
    assert "last used" in client.get(reverse("token_list")).content.decode()


def test_a_key_issued_under_an_earlier_secret_key_keeps_working(personas):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    old_secret, new_secret = settings.SECRET_KEY, "a-new-secret-key-of-more-than-32-characters"
    with override_settings(SECRET_KEY=new_secret, SECRET_KEY_FALLBACKS=[old_secret]):
        assert _get(key).status_code == 200
        assert ApiToken.objects.get().digest == api_token_digest(key)  # now under the new secret
    with override_settings(SECRET_KEY=new_secret, SECRET_KEY_FALLBACKS=[]):
        assert _get(key).status_code == 200
    with override_settings(SECRET_KEY=old_secret, SECRET_KEY_FALLBACKS=[]):
        _refused(_get(key), "Invalid token.")


# --- tokens of rest_framework.authtoken (before agencies.ApiToken) --------------------------------

OLD_KEYS = ("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b", "401f7ac837da42b97f613d789819ff93537bee6a")


def _old_table(rows):
    """rest_framework.authtoken's table as a database migrated before agencies 0006 has it."""
    table = connection.ops.quote_name(drf_migration.OLD_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} ({connection.ops.quote_name('key')} varchar(40) NOT NULL PRIMARY KEY, "
            "created timestamp NOT NULL, user_id integer NOT NULL UNIQUE)"
        )
        for key, user, created in rows:
            cursor.execute(
                f"INSERT INTO {table} ({connection.ops.quote_name('key')}, created, user_id) VALUES (%s, %s, %s)",  # noqa: S608
                [key, created, user.pk],
            )


@pytest.mark.django_db(transaction=True)  # SQLite changes its schema only outside a transaction
def test_old_drf_tokens_are_migrated_and_keep_working(personas):
    from django.apps import apps
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    try:
        _old_table(
            [
                (OLD_KEYS[0], personas.caseworker_hilden, "2025-06-01 10:00:00"),
                (OLD_KEYS[1], personas.police_hilden, "2025-07-01 12:30:00"),
            ]
        )
        recorder.record_applied("authtoken", "0001_initial")
        with connection.schema_editor() as editor:
            drf_migration.tokens_from_drf(apps, editor)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(drf_migration.OLD_TABLE)}")
        recorder.migration_qs.filter(app="authtoken").delete()

    assert drf_migration.OLD_TABLE not in connection.introspection.table_names()
    assert not recorder.migration_qs.filter(app="authtoken").exists()
    hilden = ApiToken.objects.get(user=personas.caseworker_hilden)
    assert hilden.digest == api_token_digest(OLD_KEYS[0]) and hilden.prefix == OLD_KEYS[0][:8]
    assert hilden.created_at == dt.datetime(2025, 6, 1, 10, 0, tzinfo=dt.UTC)
    assert ApiToken.objects.count() == 2
    for key in OLD_KEYS:
        assert _get(key).status_code == 200
    dump = io.StringIO()
    call_command("dumpdata", "agencies.apitoken", stdout=dump)
    assert all(key not in dump.getvalue() for key in OLD_KEYS)


@pytest.mark.django_db(transaction=True)
def test_without_the_old_table_the_migration_does_nothing(personas):
    from django.apps import apps

    token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    with connection.schema_editor() as editor:
        drf_migration.tokens_from_drf(apps, editor)
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize("path", ["/admin/agencies/apitoken/"])
def test_the_admin_lists_holders_with_the_prefix_never_the_digest(client, personas, path):
    key = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    _get(key)
    token = ApiToken.objects.get()
    client.force_login(personas.admin)
    for url in (path, f"{path}{personas.caseworker_hilden.pk}/change/"):
        html = client.get(url).content.decode()
        assert personas.caseworker_hilden.username in html and token.prefix in html, url
        assert token.digest not in html and key not in html, url


def test_the_admin_replaces_an_earlier_token(client, personas):
    old = token_issue(user=personas.caseworker_hilden, by=personas.lead_hilden)
    client.force_login(personas.admin)
    response = client.post("/admin/agencies/apitoken/add/", {"user": personas.caseworker_hilden.pk})
    assert response.status_code == 200
    new = response.context["key"]
    assert new != old and ApiToken.objects.get().digest == api_token_digest(new)
    assert _get(old).status_code == 401 and _get(new).status_code == 200
