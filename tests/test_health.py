"""Health probes (issue 17 § 2): /health/live and /health/ready without login, second factor or
session; ready names the failing part with 503; nothing personal in the answer. The broker outage
against a real Redis that is stopped and started again is tests/integration/test_health_broker.py."""

import json
import socket
import time

import pytest
from django.test import Client

from tests.factories import make_referral
from tests.test_db_unavailable import database_refuses  # noqa: F401 (fixture)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def anonymous():
    return Client()


@pytest.mark.django_db
def test_live_answers_without_login(anonymous, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = anonymous.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_ready_checks_every_part(anonymous):
    response = anonymous.get("/health/ready")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok" and body["failing"] == []
    assert set(body["checks"]) == {"database", "migrations", "broker", "storage", "cache"}
    assert set(body["checks"].values()) == {"ok"}


@pytest.mark.django_db
def test_ready_names_the_broker_when_redis_does_not_answer(anonymous, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    response = anonymous.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["broker"]
    assert body["checks"]["broker"] == "ConnectionError"
    assert "127.0.0.1" not in response.content.decode()  # the error's class, not its message


@pytest.mark.django_db
def test_ready_names_the_storage_when_the_folder_is_not_writable(anonymous, tmp_path):
    from django.core.files.storage import FileSystemStorage

    from referrals.models import Attachment

    field = Attachment._meta.get_field("file")
    original = field.storage
    blocker = tmp_path / "file-not-folder"
    blocker.write_text("x")
    field.storage = FileSystemStorage(location=blocker / "private")  # below a file: cannot be created
    try:
        response = anonymous.get("/health/ready")
    finally:
        field.storage = original
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]


@pytest.mark.django_db
def test_ready_names_unapplied_migrations(anonymous, monkeypatch):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(MigrationExecutor, "migration_plan", lambda self, targets: [("core", "9999_new")])
    response = anonymous.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["migrations"]


@pytest.mark.django_db
def test_probes_pass_the_second_factor_and_the_session_clock(client, personas, settings):
    """A logged-in session without a second factor is sent to the code step everywhere else; the
    probes answer it like anyone (and do not extend its session)."""
    settings.DEMO_MODE = False
    from config.middleware import SESSION_LAST_ACTIVITY

    client.force_login(personas.caseworker_hilden)
    session = client.session
    earlier = int(time.time()) - 100
    session[SESSION_LAST_ACTIVITY] = earlier
    session.save()
    for path in ("/health/live", "/health/ready"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.content)
    assert client.session[SESSION_LAST_ACTIVITY] == earlier
    assert client.get("/").status_code == 302  # everything else: to the code step
    assert client.session[SESSION_LAST_ACTIVITY] > earlier


@pytest.mark.django_db
def test_probes_carry_no_personal_data(anonymous, personas):
    make_referral(personas.police_hilden)
    body = anonymous.get("/health/ready").content.decode()
    parsed = json.loads(body)
    assert set(parsed) == {"status", "failing", "checks"}
    for word in ("Mia", "Beispiel", "Hilden", "40723"):
        assert word not in body


@pytest.mark.django_db
def test_probes_are_not_redirected_to_https(anonymous, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert anonymous.get("/health/live").status_code == 200
    assert anonymous.get("/").status_code == 301


@pytest.mark.usefixtures("database_refuses")
def test_ready_names_the_database_when_it_refuses():
    """PostgreSQL port nobody listens on (tests/test_db_unavailable.py): 503 naming the database;
    the checks that need it are not run, the others still are."""
    response = Client().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"][0] == "database"
    assert body["checks"]["migrations"] == "not checked (database)"
    assert body["checks"]["storage"] == "ok"
    assert Client().get("/health/live").status_code == 200
