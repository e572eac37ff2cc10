"""The access log (issue 4 § 3): every read of a referral and its parts writes one entry, refused
attempts too; the log is append-only in the database; only the office lead and the office's data
protection officer read it."""

import csv
import importlib
import io
import uuid
from types import SimpleNamespace

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError, IntegrityError, connection, transaction
from rest_framework.test import APIClient

from agencies.models import Agency, Membership, Role
from referrals import access_log
from referrals.models import AccessLogEntry, Attachment
from referrals.services import attachment_add, note_add
from tests.conftest import _person
from tests.factories import make_referral

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_storage(monkeypatch, tmp_path):
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden, postcode="40723", city="Hilden")


@pytest.fixture
def dpo_hilden(personas):
    return _person("dpo_hilden", "JA-HIL", Role.DATA_PROTECTION_OFFICER)


def web(user):
    client = APIClient()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def only_new(before: int, **expected) -> AccessLogEntry:
    """Exactly one entry was written since ``before`` (an id), and it has ``expected``."""
    entries = list(AccessLogEntry.objects.filter(pk__gt=before))
    assert len(entries) == 1, entries
    entry = entries[0]
    for name, value in expected.items():
        assert getattr(entry, name) == value, (name, getattr(entry, name), value)
    return entry


def last_id() -> int:
    return AccessLogEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def test_page_view_writes_one_entry(personas, referral):
    before = last_id()
    response = web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    entry = only_new(
        before,
        person=personas.caseworker_hilden,
        agency=Agency.objects.get(code="JA-HIL"),
        role=Role.CASEWORKER,
        action="view",
        obj_type="referral",
        obj_id=referral.pk,
        referral_id=referral.pk,
        address="10.1.2.3",
    )
    assert entry.request_id == uuid.UUID(response["X-Request-ID"])


def test_api_read_writes_one_entry(personas, referral):
    before = last_id()
    response = api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/", REMOTE_ADDR="10.9.8.7")
    assert response.status_code == 200
    entry = only_new(
        before,
        person=personas.police_hilden,
        agency=Agency.objects.get(code="PW-HIL"),
        role=Role.POLICE_OFFICER,
        action="view",
        referral_id=referral.pk,
        address="10.9.8.7",
    )
    assert entry.request_id == uuid.UUID(response["X-Request-ID"])


def test_a_404_by_scope_is_logged_as_denied(personas, referral):
    before = last_id()
    assert web(personas.caseworker_velbert).get(f"/referrals/{referral.pk}/").status_code == 404
    only_new(before, person=personas.caseworker_velbert, role=Role.CASEWORKER, action="denied", referral_id=referral.pk)
    before = last_id()
    assert api(personas.police_velbert).get(f"/api/v1/referrals/{referral.pk}/notes/").status_code == 404
    only_new(before, person=personas.police_velbert, action="denied", referral_id=referral.pk)
    before = last_id()  # inside the scope, but not the office's casework: refused and logged as well
    assert api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/notes/").status_code == 404
    only_new(before, person=personas.police_hilden, action="denied", referral_id=referral.pk)
    before = last_id()
    assert web(personas.lead_velbert).post(f"/referrals/{referral.pk}/acknowledge/", {}).status_code == 404
    only_new(before, person=personas.lead_velbert, action="denied", referral_id=referral.pk)


def test_the_draft_form_is_a_read_and_other_peoples_drafts_are_refused(personas):
    draft = make_referral(personas.police_hilden, submit=False)
    before = last_id()
    assert web(personas.police_hilden).get(f"/referrals/{draft.pk}/edit/").status_code == 200
    only_new(before, person=personas.police_hilden, role=Role.POLICE_OFFICER, action="view", referral_id=draft.pk)
    before = last_id()
    assert web(personas.police_hilden2).get(f"/referrals/{draft.pk}/edit/").status_code == 404
    only_new(before, person=personas.police_hilden2, action="denied", referral_id=draft.pk)


def test_assigning_a_referral_outside_the_triage_queue_is_refused_and_logged(personas, referral):
    before = last_id()
    office = Agency.objects.get(code="JA-VEL")
    response = web(personas.district_coordinator).post(
        f"/triage/{referral.pk}/assign/", {"office": office.pk, "confirm": "1"}
    )
    assert response.status_code == 404
    only_new(before, person=personas.district_coordinator, action="denied", referral_id=referral.pk)


def test_a_search_logs_every_case_it_lists_but_not_the_term(personas, referral):
    other = make_referral(personas.police_hilden, postcode="40721", city="Hilden")
    client = web(personas.caseworker_hilden)
    before = last_id()
    assert client.get("/inbox/").status_code == 200
    assert last_id() == before, "the inbox without a search term logs nothing"
    child = referral.children.first()
    client.post("/inbox/", {"q": child.first_name})
    response = client.get("/inbox/?tab=all")
    assert response.status_code == 200
    entries = list(AccessLogEntry.objects.filter(id__gt=before))
    listed = {r.pk for r in (referral, other) if r.reference in response.content.decode()}
    assert listed and {e.referral_id for e in entries} == listed
    expected = {("search", personas.caseworker_hilden.pk, "caseworker")}
    assert {(e.action, e.person_id, e.role) for e in entries} == expected
    for entry in entries:
        assert child.first_name not in str(entry.__dict__)


def test_note_attachment_timeline_assessment_followup_reads_are_logged(personas, referral):
    note_add(referral=referral, user=personas.caseworker_hilden, text="Schule informiert.", confidential=False)
    attachment = attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"),
    )
    client = api(personas.caseworker_hilden)
    base = f"/api/v1/referrals/{referral.pk}"
    for path, obj_type, action, obj_id in (
        ("notes/", "note", "view", None),
        ("attachments/", "attachment", "view", None),
        (f"attachments/{attachment.pk}/", "attachment", "download", attachment.pk),
        ("timeline/", "timeline", "view", None),
        ("followups/", "followup", "view", None),
    ):
        before = last_id()
        response = client.get(f"{base}/{path}")
        assert response.status_code == 200, path
        if response.streaming:
            b"".join(response.streaming_content)
        only_new(before, obj_type=obj_type, action=action, obj_id=obj_id, referral_id=referral.pk)
    before = last_id()
    response = web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/attachments/{attachment.pk}/")
    b"".join(response.streaming_content)
    assert response.status_code == 200
    only_new(before, obj_type="attachment", action="download", obj_id=attachment.pk)
    # A file the person may not download (here: none with that id) is refused and logged as such, on
    # the page and in the API (QA of 2026-12-05: the refusal left no entry).
    for get in (web(personas.caseworker_hilden).get, client.get):
        before = last_id()
        url = f"/referrals/{referral.pk}/attachments/987654/" if get != client.get else f"{base}/attachments/987654/"
        assert get(url).status_code == 404
        only_new(before, obj_type="attachment", action="denied", obj_id=987654, referral_id=referral.pk)
    # An id beyond a bigint is no file either (CI's schemathesis found a 500 on PostgreSQL).
    assert client.get(f"{base}/attachments/{2**100}/").status_code == 404
    before = last_id()
    assert client.get(f"{base}/assessment/").status_code == 404  # none yet: nothing read
    assert last_id() == before


def test_exports_are_logged(personas, referral):
    before = last_id()
    response = web(personas.lead_hilden).post(
        f"/referrals/{referral.pk}/export/",
        {"recipient": "Jugendamt Düsseldorf", "version": referral.version, "confirm": "1"},
    )
    assert response.status_code == 302  # to the hand-over's confirmation (issue 15 § 3)
    only_new(before, person=personas.lead_hilden, role=Role.OFFICE_LEAD, obj_type="export", action="export")
    other = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    before = last_id()
    response = api(personas.lead_hilden).post(
        f"/api/v1/referrals/{other.pk}/export/", {"recipient": "Jugendamt Solingen"}, format="json"
    )
    assert response.status_code == 200
    only_new(before, obj_type="export", action="export", referral_id=other.pk)


def _an_entry(personas, referral) -> AccessLogEntry:
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    return AccessLogEntry.objects.latest("id")


def test_the_log_is_append_only_in_the_database(personas, referral):
    entry = _an_entry(personas, referral)
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).update(action="view", role="office_lead")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        entry.address = "10.0.0.1"
        entry.save()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AccessLogEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        entry.delete()
    entry.refresh_from_db()
    assert (entry.action, entry.role, entry.address) == ("view", Role.CASEWORKER, "127.0.0.1")


# The CSV's German headings (QA of 2026-12-05: it was English), by the keys the tests read.
CSV_HEADINGS = {
    "at": "Zeitpunkt", "person": "Person", "referral_id": "Mitteilungs-Nr.", "action": "Art des Zugriffs",
    "request_id": "Anfrage-ID",
}  # fmt: skip
ACTION_LABELS = {"view": "Angesehen", "denied": "Verweigert"}


def _log_rows(response) -> list[dict]:
    """The CSV's rows by the keys of ``CSV_HEADINGS``, actions as codes again (``ACTION_LABELS``)."""
    codes = {label: code for code, label in ACTION_LABELS.items()}
    rows = list(csv.DictReader(io.StringIO(response.content.decode()), delimiter=";"))
    return [
        {key: codes.get(row[heading], row[heading]) for key, heading in CSV_HEADINGS.items()} | {"_row": row}
        for row in rows
    ]


def test_lead_and_dpo_see_their_office_log_and_csv(personas, referral, dpo_hilden):
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    web(personas.caseworker_velbert).get(f"/referrals/{velbert.pk}/")
    web(personas.caseworker_hilden).get(f"/referrals/{velbert.pk}/")  # refused: their own member's attempt
    for reader in (personas.lead_hilden, dpo_hilden):
        client = web(reader)
        page = client.get("/access-log/")
        assert page.status_code == 200
        text = page.content.decode()
        assert referral.reference in text and velbert.reference not in text
        csv_response = client.get("/access-log.csv")
        assert csv_response.content.decode().startswith("Zeitpunkt;Person;")  # German, like the page
        rows = _log_rows(csv_response)
        assert {r["_row"]["Rolle"] for r in rows} == {"Fachkraft"}
        seen = {(r["referral_id"], r["action"]) for r in rows}
        assert seen == {(str(referral.pk), "view"), (str(velbert.pk), "denied")}
        assert all(r["request_id"] for r in rows)
        filtered = _log_rows(client.get(f"/access-log.csv?action=denied&person={personas.caseworker_hilden.pk}"))
        assert [r["referral_id"] for r in filtered] == [str(velbert.pk)]
        by_reference = _log_rows(client.get(f"/access-log.csv?reference={referral.reference}"))
        assert {r["referral_id"] for r in by_reference} == {str(referral.pk)}
        response = api(reader).get(f"/api/v1/referrals/{referral.pk}/access-log/")
        assert response.status_code == 200
        assert [(e["person"]["id"], e["action"]) for e in response.json()] == [(personas.caseworker_hilden.pk, "view")]
    for reader in (personas.lead_hilden, dpo_hilden):  # another office's log: 404, and logged as refused
        assert api(reader).get(f"/api/v1/referrals/{velbert.pk}/access-log/").status_code == 404
    assert AccessLogEntry.objects.filter(referral_id=velbert.pk, action="denied", person=dpo_hilden).count() == 1


def test_a_refused_look_at_a_referrals_log_is_logged(personas, referral):
    """QA of 2026-12-05: a 404 on ``…/access-log/`` left no trace, unlike every other refused attempt."""
    for person in (personas.caseworker_hilden, personas.police_hilden, personas.lead_velbert):
        assert api(person).get(f"/api/v1/referrals/{referral.pk}/access-log/").status_code == 404
    denied = AccessLogEntry.objects.filter(referral_id=referral.pk, action=AccessLogEntry.Action.DENIED)
    assert set(denied.values_list("person", flat=True)) == {
        personas.caseworker_hilden.pk, personas.police_hilden.pk, personas.lead_velbert.pk
    }  # fmt: skip
    assert api(personas.caseworker_hilden).get("/api/v1/referrals/987654321/access-log/").status_code == 404


def test_a_filter_that_cannot_be_read_lists_nothing(personas, referral):
    """QA of 2026-12-05: ``?person=abc`` showed the error above the whole unfiltered log, and the CSV
    gave the whole log."""
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    client = web(personas.lead_hilden)
    assert _log_rows(client.get("/access-log.csv")) != []
    for query in ("person=abc", "date_from=xx", "date_from=2026-12-05&date_to=2026-12-01"):
        page = client.get(f"/access-log/?{query}")
        assert page.status_code == 200 and page.context["rows"] == [], query
        csv_response = client.get(f"/access-log.csv?{query}")
        assert csv_response.status_code == 400 and csv_response["Content-Type"].startswith("text/plain"), query


def test_date_filter(personas, referral):
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    client = web(personas.lead_hilden)
    assert len(_log_rows(client.get("/access-log.csv?date_from=2000-01-01&date_to=2000-01-02"))) == 0
    assert len(_log_rows(client.get("/access-log.csv?date_from=2000-01-01"))) == 1


def test_csv_names_no_child(personas, referral):
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    api(personas.caseworker_hilden).get(f"/api/v1/referrals/{referral.pk}/")
    for path in ("/access-log.csv", "/access-log/", f"/api/v1/referrals/{referral.pk}/access-log/"):
        content = web(personas.lead_hilden).get(path).content.decode()
        for name in ("Mia", "Beispiel", "Mittelstraße"):
            assert name not in content, (path, name)


def test_another_office_sees_nothing(personas, referral):
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    client = web(personas.lead_velbert)
    assert client.get("/access-log/").status_code == 200
    assert _log_rows(client.get("/access-log.csv")) == []
    dpo_velbert = _person("dpo_velbert", "JA-VEL", Role.DATA_PROTECTION_OFFICER)
    assert _log_rows(web(dpo_velbert).get("/access-log.csv")) == []
    for reader in (personas.lead_velbert, dpo_velbert):  # 404 (and logged as refused: Hilden's log shows it)
        assert api(reader).get(f"/api/v1/referrals/{referral.pk}/access-log/").status_code == 404


def test_others_get_403_and_404(personas, referral):
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    for persona in ("police_hilden", "police_coordinator", "caseworker_hilden", "district_coordinator", "no_role"):
        user = getattr(personas, persona)
        assert web(user).get("/access-log/").status_code == 403, persona
        assert web(user).get("/access-log.csv").status_code == 403, persona
        assert api(user).get(f"/api/v1/referrals/{referral.pk}/access-log/").status_code == 404, persona
    assert api(personas.admin).get(f"/api/v1/referrals/{referral.pk}/access-log/").status_code == 404


def test_dpo_reads_the_log_but_no_referral(personas, referral, dpo_hilden):
    assert web(dpo_hilden).get(f"/referrals/{referral.pk}/").status_code == 404
    assert api(dpo_hilden).get(f"/api/v1/referrals/{referral.pk}/").status_code == 404
    assert api(dpo_hilden).get("/api/v1/referrals/").json()["results"] == []
    assert api(dpo_hilden).get(f"/api/v1/referrals/{referral.pk}/access-log/").status_code == 200
    assert not Membership.objects.filter(user=dpo_hilden).exclude(role=Role.DATA_PROTECTION_OFFICER).exists()


def test_lead_page_links_to_who_viewed_this(personas, referral):
    link = f'href="/access-log/?reference={referral.pk}"'
    assert link in web(personas.lead_hilden).get(f"/referrals/{referral.pk}/").content.decode()
    assert link not in web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/").content.decode()


def test_every_response_has_a_request_id(client):
    first, second = client.get("/accounts/login/"), client.get("/accounts/login/")
    assert uuid.UUID(first["X-Request-ID"]) != uuid.UUID(second["X-Request-ID"])


# --- rows of the permission matrix (tests/test_permissions.py) ----------------------------------
# Among the matrix personas only the two office leads read the log: the page for their office, the
# per-referral API for the referrals their office is responsible for. Everyone else: 403 / 404.

LOG_READERS = {"lead_hilden": "JA-HIL", "lead_velbert": "JA-VEL"}


def check_access_log_page(path):
    def check(persona, user, referrals):
        response = web(user).get(path)
        assert response.status_code == (200 if persona in LOG_READERS else 403), (path, persona)

    return check


def check_access_log_api(persona, user, referrals):
    client = api(user)
    for key, referral in referrals.items():
        office = referral.youth_office.code if referral.youth_office_id else None
        allowed = office is not None and LOG_READERS.get(persona) == office
        status = client.get(f"/api/v1/referrals/{referral.pk}/access-log/").status_code
        assert status == (200 if allowed else 404), ("access log", persona, key, status)
    assert client.get("/api/v1/referrals/987654/access-log/").status_code == 404


def test_data_protection_officer_lands_on_the_access_log(client, personas):
    from django.contrib.auth import get_user_model

    from agencies.models import Agency, Membership

    dpo = get_user_model().objects.create_user(username="dpo_home", password="Test-Passwort-123")
    Membership.objects.create(user=dpo, agency=Agency.objects.get(code="JA-HIL"), role="data_protection_officer")
    client.force_login(dpo)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].endswith("/access-log/")
    page = client.get(response["Location"])
    assert page.status_code == 200 and 'href="/access-log/"' in page.content.decode()


# --- the responsible office on each entry (issue 12) ------------------------------------------------

MIGRATION_0021 = importlib.import_module("referrals.migrations.0021_access_log_office")


def test_each_entry_stores_the_office_whose_log_shows_it(personas, referral):
    hilden, velbert = Agency.objects.get(code="JA-HIL"), Agency.objects.get(code="JA-VEL")
    before = last_id()
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    only_new(before, agency=hilden, office=hilden)
    before = last_id()
    api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/")
    only_new(before, agency=Agency.objects.get(code="PW-HIL"), office=hilden)  # an outsider's read
    before = last_id()
    web(personas.caseworker_velbert).get(f"/referrals/{referral.pk}/")  # refused: still Hilden's referral
    only_new(before, action="denied", agency=velbert, office=hilden)
    before = last_id()
    web(personas.caseworker_velbert).get("/referrals/987654/")  # no such referral: the acting agency
    only_new(before, action="denied", agency=velbert, office=velbert)
    triage = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    before = last_id()
    web(personas.district_coordinator).get(f"/referrals/{triage.pk}/")
    coordination = Agency.objects.get(code="KOORD")
    new = AccessLogEntry.objects.filter(pk__gt=before)  # in triage: no youth office yet, the acting agency
    assert new.exists() and not new.exclude(office=coordination).exists()


def test_the_page_reads_by_office_and_keeps_outsiders_and_own_members_elsewhere(personas, referral):
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/")  # outsider reads Hilden's case
    web(personas.caseworker_hilden).get(f"/referrals/{velbert.pk}/")  # own member, Velbert's case
    web(personas.caseworker_velbert).get(f"/referrals/{velbert.pk}/")  # Velbert only
    client = web(personas.lead_hilden)
    rows = _log_rows(client.get("/access-log.csv"))
    assert {(r["person"], r["referral_id"], r["action"]) for r in rows} == {
        (personas.police_hilden.get_username(), str(referral.pk), "view"),
        (personas.caseworker_hilden.get_username(), str(velbert.pk), "denied"),
    }
    assert [r["at"] for r in rows] == sorted((r["at"] for r in rows), reverse=True)
    # The person filter names the office's members and the outsider who read its referral.
    page = client.get("/access-log/").content.decode()
    assert f'value="{personas.police_hilden.pk}"' in page and f'value="{personas.lead_hilden.pk}"' in page
    assert f'value="{personas.caseworker_velbert.pk}"' not in page
    only_police = _log_rows(client.get(f"/access-log.csv?person={personas.police_hilden.pk}"))
    assert [r["referral_id"] for r in only_police] == [str(referral.pk)]


def test_the_person_filter_reaches_an_outsider_beyond_the_newest_entries(personas, referral, monkeypatch):
    monkeypatch.setattr(access_log, "PEOPLE_FROM_NEWEST", 1)
    api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/")
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")  # newer: the police read is beyond 1
    client = web(personas.lead_hilden)
    assert f'value="{personas.police_hilden.pk}"' not in client.get("/access-log/").content.decode()
    page = client.get(f"/access-log/?person={personas.police_hilden.pk}").content.decode()
    assert f'value="{personas.police_hilden.pk}" selected' in page
    rows = _log_rows(client.get(f"/access-log.csv?person={personas.police_hilden.pk}"))
    assert [r["person"] for r in rows] == [personas.police_hilden.get_username()]


def test_the_migration_fills_the_office_and_the_log_stays_append_only(personas, referral, monkeypatch):
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    hilden_agency, velbert_agency = Agency.objects.get(code="JA-HIL"), Agency.objects.get(code="JA-VEL")
    old = [  # entries as written before the column existed
        AccessLogEntry(person=personas.police_hilden, agency=Agency.objects.get(code="PW-HIL"), action="view",
                       obj_type="referral", obj_id=referral.pk, referral_id=referral.pk),
        AccessLogEntry(person=personas.caseworker_hilden, agency=hilden_agency, action="denied",
                       obj_type="referral", obj_id=velbert.pk, referral_id=velbert.pk),
        AccessLogEntry(person=personas.caseworker_velbert, agency=velbert_agency, action="denied",
                       obj_type="referral", obj_id=987654, referral_id=987654),
    ]  # fmt: skip
    AccessLogEntry.objects.bulk_create(old)
    monkeypatch.setattr(MIGRATION_0021, "BATCH", 1)  # one statement per entry: the batches cover every id
    MIGRATION_0021.backfill(None, SimpleNamespace(connection=connection))
    offices = dict(AccessLogEntry.objects.filter(pk__in=[e.pk for e in old]).values_list("pk", "office_id"))
    assert [offices[e.pk] for e in old] == [hilden_agency.pk, velbert_agency.pk, velbert_agency.pk]
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AccessLogEntry.objects.filter(pk=old[0].pk).update(role="office_lead")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        AccessLogEntry.objects.filter(pk=old[0].pk).delete()


def test_the_pages_parts_are_the_scoping_rule(personas, referral, dpo_hilden):
    """``_log_branches`` (what the page and the CSV read) holds exactly ``access_log_for``'s entries."""
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/")
    web(personas.caseworker_hilden).get(f"/referrals/{referral.pk}/")
    web(personas.caseworker_hilden).get(f"/referrals/{velbert.pk}/")
    web(personas.caseworker_velbert).get(f"/referrals/{velbert.pk}/")
    web(personas.caseworker_velbert).get(f"/referrals/{referral.pk}/")
    for reader in (personas.lead_hilden, dpo_hilden, personas.lead_velbert):
        offices = access_log.log_office_ids(reader)
        parts = [e.pk for branch in access_log._log_branches(offices) for e in branch]
        assert len(parts) == len(set(parts))  # no entry in two parts of one office
        assert set(parts) == set(access_log.access_log_for(reader).values_list("pk", flat=True)) != set()
