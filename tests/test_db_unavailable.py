"""The database unavailable (issue 10 § 7): API clients get JSON 503 with ``Retry-After``, pages the
German 503 page, and the log ONE record per request — against a real database that is not there
(a PostgreSQL port nobody listens on) or whose connection is cut under the request (the backend
terminated with ``pg_terminate_backend``, as the fault-injection run did), not a mocked exception.

These tests use no test database: they swap the ``default`` connection for one to an unreachable
or doomed PostgreSQL server and put the real one back afterwards."""

import logging
import socket

import pytest
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper
from django.db.backends.signals import connection_created
from django.test import Client

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_answers() -> bool:
    try:
        import psycopg2

        psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=2).close()
    except Exception:  # noqa: BLE001 - any failure: no server to run against
        return False
    return True


def swap_default_connection(*, port: int):
    """Replace ``connections['default']`` by a PostgreSQL connection to ``port``; returns the original."""
    original = connections["default"]
    settings = {
        **original.settings_dict,
        "ENGINE": "django.db.backends.postgresql",
        "HOST": PG_HOST,
        "PORT": str(port),
        "NAME": "postgres",
        "USER": PG_USER,
        "PASSWORD": "",
        "OPTIONS": {"connect_timeout": 2},
    }
    connections["default"] = DatabaseWrapper(settings, alias="default")
    return original


@pytest.fixture
def database_refuses(django_db_blocker):
    """The database server does not answer at all (nobody listens on the port)."""
    with django_db_blocker.unblock():
        original = swap_default_connection(port=free_port())
        try:
            yield
        finally:
            connections["default"].close()
            connections["default"] = original


@pytest.fixture
def connection_cut(django_db_blocker):
    """Every new connection is terminated by the server right after it was opened: the request's
    first query meets a dead connection (``connection_created`` fires inside the request)."""
    if not postgres_answers():
        pytest.skip(f"no PostgreSQL at {PG_HOST}:{PG_PORT}")
    import psycopg2

    def terminate(sender, connection, **kwargs):
        pid = connection.connection.info.backend_pid
        killer = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres")
        try:
            with killer.cursor() as cursor:  # waits (up to 5 s) until the backend is gone
                cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
        finally:
            killer.close()

    with django_db_blocker.unblock():
        original = swap_default_connection(port=PG_PORT)
        connection_created.connect(terminate, dispatch_uid="test-db-unavailable")
        try:
            yield
        finally:
            connection_created.disconnect(dispatch_uid="test-db-unavailable")
            connections["default"].close()
            connections["default"] = original


def records_of(caplog):
    return [r for r in caplog.records if r.levelno >= logging.INFO]


def assert_api_503(response):
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    assert "Datenbank" in response.json()["detail"]  # German, like every API message


def assert_page_503(response):
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("text/html")
    text = response.content.decode()
    assert "Vorübergehend nicht erreichbar" in text and 'lang="de"' in text
    assert "css/app.css" in text  # the site's look
    assert int(response["Retry-After"]) > 0


def test_api_answers_json_503_with_retry_after_and_logs_one_line(database_refuses, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/referrals/", HTTP_AUTHORIZATION="Token abcdefgh" + "x" * 32)
    assert_api_503(response)
    records = records_of(caplog)
    print(f"log records for one API request with the database down: {len(records)}")
    assert len(records) == 1, [r.getMessage() for r in records]
    assert records[0].name == "config.database" and "503" in records[0].getMessage()
    assert records[0].exc_info is None  # no traceback


def test_api_post_answers_json_503(database_refuses, caplog):
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO):
        response = client.post(
            "/api/v1/referrals/",
            {"draft": True},
            content_type="application/json",
            HTTP_AUTHORIZATION="Token " + "z" * 40,
        )
    assert_api_503(response)
    assert len(records_of(caplog)) == 1


def test_page_answers_the_german_503_page_and_logs_one_line(database_refuses, caplog):
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "k" * 32  # a logged-in browser: the session must be loaded
    with caplog.at_level(logging.INFO):
        response = client.get("/inbox/?q=Name")
    assert_page_503(response)
    records = records_of(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    assert "q=Name" not in records[0].getMessage() and "Name" not in records[0].getMessage()


def test_a_connection_cut_under_a_page_request_is_a_503(connection_cut, caplog):
    """The connection opens, then dies before the session is loaded: the sessions middleware fails
    (Django's error handling, ``handler500``), the answer is still the 503 page and one line."""
    client = Client(raise_request_exception=False)
    client.cookies["sessionid"] = "k" * 32
    with caplog.at_level(logging.INFO):
        response = client.get("/inbox/")
    assert_page_503(response)
    records = records_of(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]


def test_a_connection_cut_under_an_api_request_is_a_503(connection_cut, caplog):
    """Token requests reach the view before the first query (DRF authenticates there): the view
    fails (``process_exception``)."""
    client = Client(raise_request_exception=False)
    with caplog.at_level(logging.INFO):
        response = client.get("/api/v1/referrals/", HTTP_AUTHORIZATION="Token " + "y" * 40)
    assert_api_503(response)
    records = records_of(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]


def test_what_needs_no_database_is_served_as_usual(database_refuses, settings):
    """The 503 page's stylesheet (whitenoise) and the login form need no database."""
    settings.WHITENOISE_USE_FINDERS = True  # as after collectstatic in production
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client(raise_request_exception=False)
    assert client.get("/static/css/app.css").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
