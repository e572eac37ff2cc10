"""Idempotent filing (core.idempotency): the API's ``Idempotency-Key`` on every POST, the token of
the referral form, and the warning about a police case number filed twice."""

import datetime
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from core.idempotency import HEADER, REPLAYED_HEADER, idempotency_keys_purge
from core.models import IdempotencyKey
from core.tasks import purge_idempotency_keys
from notifications.models import Notification
from referrals.models import Referral
from tests.factories import api_token, make_referral, referral_payload
from tests.test_pages import form_data, page_text

URL = "/api/v1/referrals/"


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient(raise_request_exception=False)
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return client

    return client_for


def _post(client, data, key, url=URL, **extra):
    headers = {HEADER: key} if key is not None else {}
    return client.post(url, data, format="json", headers=headers, **extra)


# --- the API ---------------------------------------------------------------------------------------


def test_same_key_same_body_replays_the_original_answer(api, personas):
    client, key, payload = api(personas.police_hilden), str(uuid.uuid4()), referral_payload()
    first = _post(client, payload, key)
    assert first.status_code == 201, first.content
    assert REPLAYED_HEADER not in first
    notifications = Notification.objects.count()
    again = _post(client, payload, key)
    assert again.status_code == 201
    assert again.content == first.content
    assert again[REPLAYED_HEADER] == "true"
    assert again["Content-Type"] == first["Content-Type"]
    assert Referral.objects.filter(created_by=personas.police_hilden).count() == 1
    assert Notification.objects.count() == notifications  # no second notification


def test_body_compared_as_data_not_as_bytes(api, personas):
    """A client that serialises the same JSON with other spacing or key order sends the same request."""
    client, key = api(personas.police_hilden), str(uuid.uuid4())
    import json

    payload = referral_payload()
    first = client.post(URL, json.dumps(payload), content_type="application/json", headers={HEADER: key})
    assert first.status_code == 201
    reordered = json.dumps(dict(reversed(list(payload.items()))), indent=2)
    again = client.post(URL, reordered, content_type="application/json", headers={HEADER: key})
    assert again.status_code == 201 and again[REPLAYED_HEADER] == "true"
    assert Referral.objects.count() == 1


def test_same_key_other_body_is_422_in_german(api, personas):
    client, key = api(personas.police_hilden), str(uuid.uuid4())
    assert _post(client, referral_payload(), key).status_code == 201
    other = _post(client, referral_payload(urgency="immediate"), key)
    assert other.status_code == 422
    assert other.json()["detail"] == german(
        "This Idempotency-Key was already used for a different request. Use a new key for a new request."
    )
    assert "Idempotency-Key" in other.json()["detail"] and "Anfrage" in other.json()["detail"]
    assert Referral.objects.count() == 1


def test_same_key_on_another_endpoint_is_another_request(api, personas):
    client, key = api(personas.police_hilden), str(uuid.uuid4())
    filed = _post(client, referral_payload(), key).json()
    other = _post(client, {"text": "Nachtrag"}, key, url=f"{URL}{filed['id']}/followups/")
    assert other.status_code == 422


def test_another_persons_key_is_never_replayed(api, personas):
    key = str(uuid.uuid4())
    payload = referral_payload()
    mine = _post(api(personas.police_hilden), payload, key)
    theirs = _post(api(personas.police_hilden2), payload, key)
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED_HEADER not in theirs
    assert theirs.json()["id"] != mine.json()["id"]
    assert Referral.objects.filter(created_by=personas.police_hilden2).count() == 1
    # And an officer of another station with the key of a Hilden officer learns nothing of it.
    velbert = _post(api(personas.police_velbert), payload, key)
    assert velbert.status_code == 201 and velbert.json()["id"] not in (mine.json()["id"], theirs.json()["id"])


def test_keys_are_kept_a_day_and_expired_ones_are_removed(api, personas, settings):
    settings.IDEMPOTENCY_KEY_HOURS = 1  # asking for less than a day still keeps a day
    client, key, payload = api(personas.police_hilden), str(uuid.uuid4()), referral_payload()
    first = _post(client, payload, key)
    row = IdempotencyKey.objects.get(key=key)
    assert row.expires_at - row.created_at >= datetime.timedelta(hours=24)
    assert row.status_code == 201 and row.user == personas.police_hilden

    # Within the day: replayed. After it: the key is removed when it is used again, a new request.
    IdempotencyKey.objects.filter(pk=row.pk).update(expires_at=timezone.now() + datetime.timedelta(minutes=1))
    assert _post(client, payload, key)[REPLAYED_HEADER] == "true"
    IdempotencyKey.objects.filter(pk=row.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    later = _post(client, payload, key)
    assert later.status_code == 201 and REPLAYED_HEADER not in later
    assert later.json()["id"] != first.json()["id"]

    # The beat job removes whatever expired without being used again.
    IdempotencyKey.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    _post(client, payload, str(uuid.uuid4()))  # one that is still valid
    assert purge_idempotency_keys.apply().get() == 1
    assert IdempotencyKey.objects.count() == 1
    assert idempotency_keys_purge() == 0


def test_beat_runs_the_purge(settings):
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "core.tasks.purge_idempotency_keys")
    assert entry["schedule"] <= 3600


def test_a_refusal_is_an_answer_too(api, personas):
    client, key = api(personas.police_hilden), str(uuid.uuid4())
    bad = referral_payload(children=[{"first_name": "", "last_name": "", "date_of_birth": "bad"}])
    first = _post(client, bad, key)
    assert first.status_code == 400
    again = _post(client, bad, key)
    assert again.status_code == 400 and again[REPLAYED_HEADER] == "true" and again.content == first.content


def test_a_server_error_keeps_nothing_and_the_retry_does_the_work(api, personas, monkeypatch):
    import referrals.api.views as api_views

    client, key, payload = api(personas.police_hilden), str(uuid.uuid4()), referral_payload()
    original = api_views.referral_case_number_warnings

    def crash(**kwargs):  # after the referral was saved, inside the request's transaction
        raise RuntimeError("crash after saving")

    monkeypatch.setattr(api_views, "referral_case_number_warnings", crash)
    assert _post(client, payload, key).status_code == 500
    assert not Referral.objects.exists() and not IdempotencyKey.objects.exists()
    monkeypatch.setattr(api_views, "referral_case_number_warnings", original)
    retry = _post(client, payload, key)
    assert retry.status_code == 201 and REPLAYED_HEADER not in retry
    assert Referral.objects.count() == 1


@pytest.mark.parametrize("key", ["", "a" * 256, "schlüssel", "two words"])
def test_malformed_key_is_400(api, personas, key):
    response = _post(api(personas.police_hilden), referral_payload(), key)
    assert response.status_code == 400
    assert HEADER in response.json()
    assert not Referral.objects.exists()


def test_without_a_key_filing_works_as_before(api, personas):
    response = _post(api(personas.police_hilden), referral_payload(), None)
    assert response.status_code == 201 and response.json()["warnings"] == []
    assert not IdempotencyKey.objects.exists()


@pytest.mark.parametrize("key", [None, "with-a-key"])
def test_filing_answer_is_built_before_the_commit(api, personas, key):
    """No query after the commit: the answer cannot turn into a 500 once the referral exists."""
    from django.db import connection

    client = api(personas.police_hilden)
    statements = []

    def recorder(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(recorder):
        response = _post(client, referral_payload(), key)
    assert response.status_code == 201
    # Inside the test's transaction the request's outermost atomic is a savepoint: its release is the
    # commit. After it only the session/last-use bookkeeping of the token may run, no referral query.
    release = max(i for i, sql in enumerate(statements) if sql.startswith("RELEASE SAVEPOINT"))
    after = [sql for sql in statements[release + 1 :] if "referral" in sql.lower()]
    assert after == [], after


# --- every POST operation of the API ---------------------------------------------------------------


def _post_operations():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in schema["paths"].items():
        if "post" in item:
            yield path, item["post"]


def test_every_post_operation_documents_the_header():
    operations = list(_post_operations())
    assert len(operations) >= 25, [path for path, _op in operations]
    missing = [
        path for path, operation in operations
        if not any(p["in"] == "header" and p["name"] == HEADER for p in operation.get("parameters", []))
    ]  # fmt: skip
    assert missing == []


def test_every_post_operation_honours_the_header(api, personas):
    """Each POST of the schema, called twice with one key, answers the second time from the store;
    with another body, 422. Ids in paths name nothing (404), so no operation needs its own world:
    the answer to any request is what gets replayed."""
    client = api(personas.district_coordinator)
    seen = []
    for path, operation in _post_operations():
        url = re.sub(r"\{[^}]+\}", "999999", path)
        multipart = "multipart/form-data" in operation.get("requestBody", {}).get("content", {})
        fmt = "multipart" if multipart else "json"
        key = str(uuid.uuid4())
        first = client.post(url, {"confidential": "false"}, format=fmt, headers={HEADER: key})
        again = client.post(url, {"confidential": "false"}, format=fmt, headers={HEADER: key})
        other = client.post(url, {"confidential": "true"}, format=fmt, headers={HEADER: key})
        assert first.status_code < 500, (path, first.status_code)
        assert REPLAYED_HEADER not in first, path
        assert (again.status_code, again.get(REPLAYED_HEADER)) == (first.status_code, "true"), path
        assert again.content == first.content, path
        assert other.status_code == 422, (path, other.status_code)
        seen.append(path)
    assert "/api/v1/referrals/" in seen and "/api/v1/events/{id}/register/" in seen


# --- the browser form -------------------------------------------------------------------------------


def _token_of(response) -> str:
    match = re.search(r'<input type="hidden" name="submission_id" value="([^"]+)">', response.content.decode())
    assert match, "the form carries no submission id"
    return match.group(1)


def test_each_rendered_form_has_its_own_token(client, personas):
    client.force_login(personas.police_hilden)
    first = _token_of(client.get(reverse("referrals:create")))
    second = _token_of(client.get(reverse("referrals:create")))
    assert first != second and len(first) >= 32


def test_form_sent_twice_files_one_referral(client, personas, django_capture_on_commit_callbacks):
    client.force_login(personas.police_hilden)
    token = _token_of(client.get(reverse("referrals:create")))
    data = form_data(submission_id=token)
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(reverse("referrals:create"), data)
    referral = Referral.objects.get()
    assert first.status_code == 302 and first["Location"] == reverse("referrals:detail", args=[referral.pk])
    notifications = Notification.objects.count()
    assert notifications > 0
    with django_capture_on_commit_callbacks(execute=True):
        again = client.post(reverse("referrals:create"), data, follow=True)
    assert again.redirect_chain[0][0] == reverse("referrals:detail", args=[referral.pk])
    assert german("This form was already sent; the referral was not filed a second time.") in page_text(again)
    assert Referral.objects.count() == 1
    assert Notification.objects.count() == notifications


def test_form_with_errors_keeps_its_token_and_files_once_corrected(client, personas):
    client.force_login(personas.police_hilden)
    token = _token_of(client.get(reverse("referrals:create")))
    shown = client.post(reverse("referrals:create"), form_data(submission_id=token, household_postcode=""))
    assert shown.status_code == 200 and _token_of(shown) == token
    assert not Referral.objects.exists()
    assert client.post(reverse("referrals:create"), form_data(submission_id=token)).status_code == 302
    assert client.post(reverse("referrals:create"), form_data(submission_id=token)).status_code == 302
    assert Referral.objects.count() == 1


def test_another_persons_form_token_files_their_own(client, personas):
    client.force_login(personas.police_hilden)
    token = _token_of(client.get(reverse("referrals:create")))
    client.post(reverse("referrals:create"), form_data(submission_id=token))
    client.force_login(personas.police_hilden2)
    client.post(reverse("referrals:create"), form_data(submission_id=token))
    assert Referral.objects.filter(created_by=personas.police_hilden2).count() == 1
    assert Referral.objects.count() == 2


# --- the same police case number twice -------------------------------------------------------------


def test_case_number_filed_twice_is_warned_not_refused_in_the_api(api, personas):
    client = api(personas.police_hilden)
    first = _post(client, referral_payload(police_case_number="ME-2026-777"), str(uuid.uuid4()))
    assert first.json()["warnings"] == []
    second = _post(client, referral_payload(police_case_number=" me-2026-777 "), str(uuid.uuid4()))
    assert second.status_code == 201
    [warning] = second.json()["warnings"]
    assert first.json()["reference"] in warning and "ME-2026-777" in warning.upper()
    # Another household of the same operation is filed all the same.
    assert Referral.objects.filter(police_case_number__iexact="me-2026-777").count() == 2
    # Other numbers and drafts do not count.
    assert _post(client, referral_payload(police_case_number="ME-2026-778"), None).json()["warnings"] == []


def test_case_number_of_another_station_is_counted_not_named(api, personas):
    hilden = make_referral(personas.police_hilden, police_case_number="ME-2026-900")
    response = _post(api(personas.police_velbert), referral_payload(police_case_number="ME-2026-900"), None)
    [warning] = response.json()["warnings"]
    assert hilden.reference not in warning  # Velbert's officer does not see Hilden's referral
    assert "ME-2026-900" in warning


def test_case_number_filed_twice_is_warned_on_the_form(client, personas):
    earlier = make_referral(personas.police_hilden, police_case_number="ME-2026-123456")
    client.force_login(personas.police_hilden)
    response = client.post(reverse("referrals:create"), form_data(), follow=True)
    assert Referral.objects.count() == 2
    text = page_text(response)
    assert earlier.reference in text and "ME-2026-123456" in text
    assert german("Please check that this one concerns another household.")[:20] in text or "Haushalt" in text


# --- two requests with one key at the same time (PostgreSQL) ---------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_second_request_waits_for_the_first_then_gets_409_if_it_still_runs(personas, settings):
    """The first request's uncommitted key holds the second at the unique index: it waits (here
    0.5 s), and answers 409 if the first still runs; after the first commits, it replays.
    The happy case — the retry waits and replays — runs for real in the integration test."""
    import threading

    from django.db import connection, connections, transaction

    from core.idempotency import KeyInFlight, Replay, idempotency_claim

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers itself; the wait is PostgreSQL's")
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.5
    claim = {"user": personas.police_hilden, "key": "k-1", "request_hash": "h", "method": "POST", "path": "/x"}
    holding, release = threading.Event(), threading.Event()

    def first():
        try:
            with transaction.atomic():
                idempotency_claim(**claim)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(10)
    started = timezone.now()
    with pytest.raises(KeyInFlight), transaction.atomic():
        idempotency_claim(**claim)
    assert (timezone.now() - started).total_seconds() >= 0.4  # it waited before giving up
    release.set()
    thread.join(10)
    with pytest.raises(Replay), transaction.atomic():
        idempotency_claim(**claim)
