"""The casework API (issue 3): every transition's rules through HTTP, four eyes, forwarding,
office-only casework data, attachments checked from their content, concurrent edits, the coded
feedback to police and the OpenAPI description of every action."""

import datetime
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from agencies.models import Agency, Membership, Role
from referrals.models import Attachment, Note, Referral, ReferralEvent
from tests.factories import api_token, make_referral

URL = "/api/v1/referrals/"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def private_files(tmp_path, monkeypatch):
    """Attachments into a temporary directory instead of ``PRIVATE_MEDIA_ROOT``."""
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


@pytest.fixture
def api():
    def client_for(user):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
        return client

    return client_for


@pytest.fixture
def caseworker_hilden2(personas):
    user = get_user_model().objects.create_user(username="caseworker_hilden2", password="Test-Passwort-123")
    Membership.objects.create(user=user, agency=Agency.objects.get(code="JA-HIL"), role=Role.CASEWORKER)
    return user


@pytest.fixture
def referral(personas):
    """A submitted referral of the Hilden station, routed to the youth office of Hilden."""
    return make_referral(personas.police_hilden)


def url(referral, action=""):
    return f"{URL}{referral.pk}/{action}/" if action else f"{URL}{referral.pk}/"


def post(client, referral, action, data=None, **headers):
    return client.post(url(referral, action), data or {}, format="json", headers=headers)


def fresh(referral):
    return Referral.objects.get(pk=referral.pk)


def velbert():
    return Agency.objects.get(code="JA-VEL")


def acknowledged(api, personas, referral):
    assert post(api(personas.caseworker_hilden), referral, "acknowledge").status_code == 200
    return fresh(referral)


def assessed(api, personas, referral, author=None):
    response = post(
        api(author or personas.caseworker_hilden),
        referral,
        "assessment",
        {"summary": "Hausbesuch, Kind wohlauf.", "outcome": "support_need", "measures": ["offer_of_help"]},
    )
    assert response.status_code == 200, response.content
    return response.json()


def upload(client, referral, name, content, **extra):
    return client.post(
        url(referral, "attachments"), {"file": SimpleUploadedFile(name, content), **extra}, format="multipart"
    )


# --- transitions --------------------------------------------------------------------------------


def test_acknowledge_by_the_office_only_and_once(api, personas, referral):
    assert post(api(personas.police_hilden), referral, "acknowledge").status_code == 403
    assert post(api(personas.police_velbert), referral, "acknowledge").status_code == 404
    assert post(api(personas.caseworker_velbert), referral, "acknowledge").status_code == 404
    assert post(api(personas.district_coordinator), referral, "acknowledge").status_code == 404
    assert fresh(referral).status == "submitted"

    response = post(api(personas.caseworker_hilden), referral, "acknowledge")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "acknowledged"
    assert body["version"] == referral.version + 1
    assert response["ETag"] == f'"{body["version"]}"'
    assert "feedback" not in body

    again = post(api(personas.lead_hilden), referral, "acknowledge")
    assert again.status_code == 400 and "status" in again.json()


def test_assign_rules(api, personas, referral, caseworker_hilden2):
    ref = acknowledged(api, personas, referral)
    caseworker, colleague, lead = (
        api(personas.caseworker_hilden),
        api(caseworker_hilden2),
        api(personas.lead_hilden),
    )
    # A caseworker assigns nobody but themselves.
    assert post(caseworker, ref, "assign", {"assignee": caseworker_hilden2.pk}).status_code == 403
    response = post(caseworker, ref, "assign", {"assignee": personas.caseworker_hilden.pk})
    assert response.status_code == 200
    assert response.json()["assignee"] == {"id": personas.caseworker_hilden.pk, "name": "caseworker_hilden"}
    # ... and only an unassigned case.
    assert post(colleague, ref, "assign", {"assignee": caseworker_hilden2.pk}).status_code == 403
    # The lead reassigns anyone of the office.
    response = post(lead, ref, "assign", {"assignee": caseworker_hilden2.pk})
    assert response.status_code == 200 and response.json()["assignee"]["id"] == caseworker_hilden2.pk
    # Nobody of another office, and no telling which ids exist.
    for assignee in (personas.caseworker_velbert.pk, personas.police_hilden.pk, 987654):
        response = post(lead, ref, "assign", {"assignee": assignee})
        assert response.status_code == 400 and "assignee" in response.json(), assignee
    assert post(lead, ref, "assign", {}).status_code == 400
    assert post(api(personas.police_hilden), ref, "assign", {"assignee": personas.police_hilden.pk}).status_code == 403
    assert fresh(ref).assignee == caseworker_hilden2


def test_rerate_needs_a_reason_and_moves_the_clock(api, personas, referral):
    client = api(personas.caseworker_hilden)
    before = fresh(referral)
    for data in ({"urgency": "immediate"}, {"urgency": "immediate", "reason": " "}, {"urgency": "soon", "reason": "x"}):
        response = post(client, referral, "rerate", data)
        assert response.status_code == 400, data
        assert set(response.json()) & {"reason", "urgency"}
    assert fresh(referral).due_at == before.due_at

    response = post(client, referral, "rerate", {"urgency": "immediate", "reason": "Kind allein in der Wohnung."})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["urgency"] == "immediate"
    due = parse_datetime(body["due_at"])
    after = fresh(referral)
    assert due != before.due_at and due == after.due_at
    assert due == after.received_at + datetime.timedelta(hours=after.youth_office.clock_immediate_hours)
    event = ReferralEvent.objects.get(referral=referral, kind="rerated")
    assert event.data["previous"] == "urgent" and event.data["reason"] == "Kind allein in der Wohnung."


def test_forward_and_accept_moves_access(api, personas, referral):
    sender, receiver = api(personas.caseworker_hilden), api(personas.caseworker_velbert)
    ref = acknowledged(api, personas, referral)
    for data in (
        {"to_office": velbert().pk},  # no reason
        {"to_office": ref.youth_office.pk, "reason": "x"},  # own office
        {"to_office": ref.station.pk, "reason": "x"},  # no youth office
    ):
        response = post(sender, ref, "forward", data)
        assert response.status_code == 400, data
        assert set(response.json()) & {"reason", "to_office"}
    assert post(receiver, ref, "forward", {"to_office": velbert().pk, "reason": "x"}).status_code == 404

    response = post(sender, ref, "forward", {"to_office": velbert().pk, "reason": "Familie nach Velbert verzogen."})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "forwarded"
    assert response.json()["forwarded_to"] == {"id": velbert().pk, "name": velbert().name}

    # Both offices see it; the sender only reads.
    assert sender.get(url(ref)).status_code == 200
    assert receiver.get(url(ref)).status_code == 200
    assert api(personas.lead_velbert).get(url(ref, "notes")).status_code == 200
    assert post(sender, ref, "assign", {"assignee": personas.caseworker_hilden.pk}).status_code == 403
    assert post(sender, ref, "notes", {"text": "Nachtrag"}).status_code == 403
    assert post(sender, ref, "accept").status_code == 403
    assert post(api(personas.lead_hilden), ref, "rerate", {"urgency": "routine", "reason": "x"}).status_code == 403
    # Nor does the receiver work on it before accepting.
    assert post(receiver, ref, "assign", {"assignee": personas.caseworker_velbert.pk}).status_code == 403

    response = post(receiver, ref, "accept")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["youth_office"]["id"] == velbert().pk and body["forwarded_to"] is None
    assert body["status"] == "acknowledged" and body["assignee"] is None

    for path in ("", "notes", "attachments", "timeline", "assessment"):
        assert sender.get(url(ref, path)).status_code == 404, path
    assert post(sender, ref, "acknowledge").status_code == 404
    response = post(receiver, ref, "assign", {"assignee": personas.caseworker_velbert.pk})
    assert response.status_code == 200
    assert post(receiver, ref, "notes", {"text": "Übernommen."}).status_code == 201


def test_return_goes_back_to_the_senders_previous_status(api, personas, referral):
    sender, receiver = api(personas.caseworker_hilden), api(personas.caseworker_velbert)
    ref = acknowledged(api, personas, referral)
    assert post(sender, ref, "forward", {"to_office": velbert().pk, "reason": "Umzug."}).status_code == 200
    assert post(receiver, ref, "return").status_code == 400
    assert post(sender, ref, "return", {"reason": "x"}).status_code == 403

    response = post(receiver, ref, "return", {"reason": "Gewöhnlicher Aufenthalt weiter in Hilden."})
    assert response.status_code == 204  # the receiver no longer sees it
    assert receiver.get(url(ref)).status_code == 404
    body = sender.get(url(ref)).json()
    assert body["status"] == "acknowledged" and body["forwarded_to"] is None
    assert body["youth_office"]["id"] == ref.youth_office_id


def test_four_eyes_sign_off(api, personas, referral, caseworker_hilden2):
    ref = acknowledged(api, personas, referral)
    author = api(personas.caseworker_hilden)
    assert author.get(url(ref, "assessment")).status_code == 404  # none yet
    for data in (
        {"summary": "x", "outcome": "maybe", "measures": ["none"]},
        {"summary": "x", "outcome": "acute_risk", "measures": []},
        {"summary": "x", "outcome": "acute_risk", "measures": ["pray"]},
        {"summary": "", "outcome": "acute_risk", "measures": ["none"]},
        {"summary": "x", "outcome": "acute_risk", "measures": ["none"], "home_visit_on": "2999-01-01"},
    ):
        response = post(author, ref, "assessment", data)
        assert response.status_code == 400, data
        assert set(response.json()) & {"summary", "outcome", "measures", "home_visit_on"}, response.json()

    body = assessed(api, personas, ref)
    assert body["is_complete"] is False and body["author"]["id"] == personas.caseworker_hilden.pk
    assert body["referral_version"] == fresh(ref).version
    assert author.get(url(ref, "assessment")).json()["id"] == body["id"]

    assert post(author, ref, "sign-off").status_code == 403  # not the author
    assert post(api(personas.caseworker_velbert), ref, "sign-off").status_code == 404  # not another office
    assert post(api(personas.police_hilden), ref, "sign-off").status_code == 403
    response = post(api(caseworker_hilden2), ref, "sign-off")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["is_complete"] is True and body["signed_off_by"]["id"] == caseworker_hilden2.pk
    assert post(api(personas.lead_hilden), ref, "sign-off").status_code == 400  # nothing left to sign


def test_assessment_is_office_only(api, personas, referral):
    ref = acknowledged(api, personas, referral)
    assessed(api, personas, ref)
    data = {"summary": "x", "outcome": "acute_risk", "measures": ["none"]}
    for who in ("police_hilden", "police_coordinator", "caseworker_velbert", "district_coordinator", "admin"):
        client = api(getattr(personas, who))
        assert client.get(url(ref, "assessment")).status_code == 404, who
        assert post(client, ref, "assessment", data).status_code == 404, who


def test_close_needs_a_signed_off_assessment_and_reopen_the_lead(api, personas, referral, caseworker_hilden2):
    ref = acknowledged(api, personas, referral)
    caseworker, lead = api(personas.caseworker_hilden), api(personas.lead_hilden)
    assert post(caseworker, ref, "close").status_code == 400  # no assessment yet
    assessed(api, personas, ref)
    response = post(caseworker, ref, "close")
    assert response.status_code == 400 and "assessment" in response.json()
    assert post(api(caseworker_hilden2), ref, "sign-off").status_code == 200
    response = post(caseworker, ref, "close")
    assert response.status_code == 200 and response.json()["status"] == "closed"

    assert post(caseworker, ref, "reopen", {"reason": "Neue Meldung."}).status_code == 403
    assert post(lead, ref, "reopen", {"reason": " "}).status_code == 400
    response = post(lead, ref, "reopen", {"reason": "Neue Meldung der Schule."})
    assert response.status_code == 200 and response.json()["status"] == "in_assessment"
    assert post(caseworker, ref, "close").status_code == 400  # needs a new sign-off


def test_police_read_the_coded_status_not_the_step_of_the_assessment(api, personas, referral):
    """QA of 2026-12-05: the police API gave ``status: in_assessment`` (the screening said "yes") where
    the README and docs/domain.md promise police only the coded status. Police read ``acknowledged``
    for both steps; ``?status=`` answers them as they read it; the offices keep the real one."""
    other = make_referral(personas.police_hilden)
    acknowledged(api, personas, referral)
    acknowledged(api, personas, other)
    assessed(api, personas, referral)
    police, office = api(personas.police_hilden), api(personas.caseworker_hilden)
    assert office.get(url(referral)).json()["status"] == "in_assessment"
    for client in (police, api(personas.police_coordinator)):
        assert client.get(url(referral)).json()["status"] == "acknowledged"
        rows = {row["id"]: row["status"] for row in client.get(URL).json()["results"]}
        assert rows[referral.pk] == rows[other.pk] == "acknowledged"
        acked = {row["id"] for row in client.get(URL + "?status=acknowledged").json()["results"]}
        assert {referral.pk, other.pk} <= acked
        assert client.get(URL + "?status=in_assessment").json()["results"] == []
    assert {row["id"] for row in office.get(URL + "?status=in_assessment").json()["results"]} == {referral.pk}
    assert referral.pk not in {row["id"] for row in office.get(URL + "?status=acknowledged").json()["results"]}


# --- follow-ups, notes, attachments, timeline ----------------------------------------------------


def test_followups_by_police_of_the_station_appear_in_the_office_timeline(api, personas, referral):
    data = {"text": "Erneuter Einsatz, Vater trotz Rückkehrverbot in der Wohnung."}
    response = post(api(personas.police_hilden2), referral, "followups", data)
    assert response.status_code == 201, response.content
    assert response.json()["author"]["id"] == personas.police_hilden2.pk
    assert post(api(personas.police_coordinator), referral, "followups", data).status_code == 201
    assert post(api(personas.police_velbert), referral, "followups", data).status_code == 404
    assert post(api(personas.caseworker_hilden), referral, "followups", data).status_code == 403
    assert post(api(personas.district_coordinator), referral, "followups", data).status_code == 404
    assert post(api(personas.police_hilden), referral, "followups", {"text": " "}).status_code == 400
    future = (timezone.now() + datetime.timedelta(days=2)).isoformat()
    response = post(api(personas.police_hilden), referral, "followups", {**data, "incident_at": future})
    assert response.status_code == 400 and "incident_at" in response.json()

    assert len(api(personas.police_hilden).get(url(referral, "followups")).json()) == 2
    assert len(api(personas.caseworker_hilden).get(url(referral, "followups")).json()) == 2
    assert api(personas.police_velbert).get(url(referral, "followups")).status_code == 404

    timeline = api(personas.caseworker_hilden).get(url(referral, "timeline"))
    assert timeline.status_code == 200
    kinds = [event["kind"] for event in timeline.json()]
    assert kinds[0] == "created" and kinds.count("followup") == 2
    for who in ("police_hilden", "police_coordinator", "caseworker_velbert", "district_coordinator"):
        assert api(getattr(personas, who)).get(url(referral, "timeline")).status_code == 404, who


def test_notes_are_office_only(api, personas, referral):
    office = api(personas.caseworker_hilden)
    response = post(office, referral, "notes", {"text": "Schule informiert.", "confidential": False})
    assert response.status_code == 201, response.content
    assert response.json()["office"]["id"] == referral.youth_office_id
    assert post(office, referral, "notes", {"text": ""}).status_code == 400
    assert [n["text"] for n in office.get(url(referral, "notes")).json()] == ["Schule informiert."]
    # A grant opens the referral as filed, not the office's casework.
    from django.contrib.auth.models import Permission

    from referrals.models import ReferralUserObjectPermission

    ReferralUserObjectPermission.objects.create(
        user=personas.caseworker_velbert,
        permission=Permission.objects.get(codename="view_referral"),
        content_object=referral,
    )
    for who in ("police_hilden", "police_coordinator", "caseworker_velbert", "lead_velbert", "admin"):
        client = api(getattr(personas, who))
        assert client.get(url(referral, "notes")).status_code == 404, who
        assert post(client, referral, "notes", {"text": "x"}).status_code == 404, who
    assert api(personas.caseworker_velbert).get(url(referral)).status_code == 200
    assert Note.objects.count() == 1


def test_confidential_data_stays_with_its_office_after_forward_and_accept(api, personas, referral):
    hilden, velbert_client = api(personas.caseworker_hilden), api(personas.caseworker_velbert)
    ref = acknowledged(api, personas, referral)
    post(hilden, ref, "notes", {"text": "Allgemein."})
    post(hilden, ref, "notes", {"text": "Mutter vertraut an: ...", "confidential": True})
    assert upload(hilden, ref, "offen.pdf", PDF).status_code == 201
    secret = upload(hilden, ref, "vertraulich.pdf", PDF, confidential=True)
    assert secret.status_code == 201 and secret.json()["confidential"] is True
    assert len(hilden.get(url(ref, "notes")).json()) == 2

    post(hilden, ref, "forward", {"to_office": velbert().pk, "reason": "Umzug."})
    for step in ("forwarded", "accepted"):
        notes = velbert_client.get(url(ref, "notes")).json()
        assert [n["text"] for n in notes] == ["Allgemein."], step
        files = velbert_client.get(url(ref, "attachments")).json()
        assert [f["original_name"] for f in files] == ["offen.pdf"], step
        assert velbert_client.get(url(ref, f"attachments/{secret.json()['id']}")).status_code == 404, step
        assert "vertraut" not in json.dumps(velbert_client.get(url(ref, "timeline")).json())
        if step == "forwarded":
            assert len(hilden.get(url(ref, "notes")).json()) == 2  # the sender still reads its own
            assert post(velbert_client, ref, "accept").status_code == 200


def test_attachment_type_is_checked_from_the_content(api, personas, referral):
    client = api(personas.caseworker_hilden)
    response = upload(client, referral, "bericht.pdf", b"Das ist nur Text, kein PDF.")
    assert response.status_code == 400 and "file" in response.json()
    assert client.post(url(referral, "attachments"), {}, format="multipart").status_code == 400

    response = upload(client, referral, "bericht.pdf", PDF)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["content_type"] == "application/pdf" and body["size"] == len(PDF)
    assert [a["id"] for a in client.get(url(referral, "attachments")).json()] == [body["id"]]

    download = client.get(url(referral, f"attachments/{body['id']}"), HTTP_ACCEPT="application/pdf")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == f'attachment; filename="anlage-{body["id"]}.pdf"'
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Cache-Control"] == "no-store"

    image = upload(client, referral, "foto.pdf", PNG).json()  # the name lies, the content decides
    assert image["content_type"] == "image/png"
    download = client.get(url(referral, f"attachments/{image['id']}"))
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"] == f'attachment; filename="anlage-{image["id"]}.png"'


def test_attachment_size_limit(api, personas, referral):
    client = api(personas.caseworker_hilden)
    with override_settings(ATTACHMENT_MAX_BYTES=1000):
        response = upload(client, referral, "gross.pdf", PDF + b"0" * 1500)
        assert response.status_code == 400 and "file" in response.json()
        assert upload(client, referral, "klein.pdf", PDF).status_code == 201
    with override_settings(ATTACHMENT_MAX_BYTES=1000, DATA_UPLOAD_MAX_MEMORY_SIZE=1000):
        assert upload(client, referral, "riesig.pdf", PDF + b"0" * 5000).status_code == 413
    assert Attachment.objects.count() == 1


def test_attachments_are_office_only(api, personas, referral):
    other = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    own = upload(api(personas.caseworker_hilden), referral, "a.pdf", PDF).json()
    foreign = upload(api(personas.caseworker_velbert), other, "b.pdf", PDF).json()
    for who in ("police_hilden", "police_coordinator", "caseworker_velbert", "district_coordinator", "admin"):
        client = api(getattr(personas, who))
        listed = client.get(url(referral, "attachments"))
        if who.startswith("police"):  # their referral's files, but only what police attached (issue 14 §3)
            assert (listed.status_code, listed.json()) == (200, []), who
        else:
            assert listed.status_code == 404, who
            assert upload(client, referral, "c.pdf", PDF).status_code == 404, who
        assert client.get(url(referral, f"attachments/{own['id']}")).status_code == 404, who
    client = api(personas.caseworker_hilden)
    # Another referral's file through a referral of one's own: 404, as if it did not exist.
    assert client.get(url(referral, f"attachments/{foreign['id']}")).status_code == 404
    assert client.get(url(referral, "attachments/987654")).status_code == 404
    assert Attachment.objects.count() == 2


# --- concurrency ---------------------------------------------------------------------------------


def test_concurrent_edit_with_if_match(api, personas, referral):
    first, second = api(personas.caseworker_hilden), api(personas.lead_hilden)
    etag = first.get(url(referral))["ETag"]
    assert second.get(url(referral))["ETag"] == etag == f'"{referral.version}"'
    events = ReferralEvent.objects.count()

    response = post(first, referral, "rerate", {"urgency": "immediate", "reason": "Akut."}, **{"If-Match": etag})
    assert response.status_code == 200
    new_etag = response["ETag"]
    assert new_etag == f'"{referral.version + 1}"'

    response = post(second, referral, "rerate", {"urgency": "routine", "reason": "Doch nicht."}, **{"If-Match": etag})
    assert response.status_code == 412
    assert response.json()["version"] == referral.version + 1 and response.json()["detail"]
    assert response["ETag"] == new_etag
    after = fresh(referral)
    assert after.urgency == "immediate" and after.version == referral.version + 1
    assert ReferralEvent.objects.count() == events + 2  # re-rated, and the on-call alerted (not acknowledged)

    response = post(second, referral, "acknowledge", {"version": referral.version})
    assert response.status_code == 409 and response.json()["version"] == referral.version + 1
    assert fresh(referral).status == "submitted"
    assert post(second, referral, "acknowledge", **{"If-Match": "yesterday"}).status_code == 400
    assert fresh(referral).status == "submitted"
    response = post(second, referral, "acknowledge", {"version": referral.version + 1}, **{"If-Match": new_etag})
    assert response.status_code == 200


def test_assessment_respects_the_version_too(api, personas, referral):
    ref = acknowledged(api, personas, referral)
    data = {"summary": "x", "outcome": "acute_risk", "measures": ["none"]}
    response = post(api(personas.caseworker_hilden), ref, "assessment", data, **{"If-Match": f'"{ref.version - 1}"'})
    assert response.status_code == 412
    assert not ref.assessments.exists()
    response = post(api(personas.caseworker_hilden), ref, "assessment", {**data, "version": ref.version})
    assert response.status_code == 200 and response["ETag"] == f'"{ref.version + 1}"'


# --- what the detail carries ---------------------------------------------------------------------


def test_police_follow_the_coded_feedback_and_never_see_casework(api, personas, referral):
    police = api(personas.police_hilden)

    def feedback():
        body = police.get(url(referral)).json()
        for field in ("assessment", "assessments", "notes", "attachments", "timeline"):
            assert field not in body
        return body["feedback"]

    assert feedback()["code"] == "submitted"
    acknowledged(api, personas, referral)
    assert feedback() == {
        "code": "received",
        "office": {"id": referral.youth_office_id, "name": "Jugendamt Hilden"},
        "contact": {
            "name": "Jugendamt Hilden",  # never a user name
            "phone": referral.youth_office.phone,
            "email": referral.youth_office.email,
        },
    }
    post(api(personas.lead_hilden), referral, "assign", {"assignee": personas.lead_hilden.pk})
    current = feedback()
    assert current["code"] == "in_progress"
    assert current["office"]["name"] == "Jugendamt Hilden" and current["contact"]["name"] == "Jugendamt Hilden"

    post(api(personas.lead_hilden), referral, "notes", {"text": "Geheime Notiz"})
    post(api(personas.lead_hilden), referral, "forward", {"to_office": velbert().pk, "reason": "Umzug."})
    assert feedback() == {"code": "forwarded", "office": {"id": velbert().pk, "name": velbert().name}, "contact": None}

    receiver, colleague = api(personas.caseworker_velbert), api(personas.lead_velbert)
    assert post(receiver, referral, "accept").status_code == 200
    assessed(api, personas, referral, author=personas.caseworker_velbert)
    assert feedback()["code"] == "in_progress"
    assert post(colleague, referral, "sign-off").status_code == 200
    assert post(receiver, referral, "close").status_code == 200
    body = police.get(url(referral)).json()
    assert body["feedback"]["code"] == "closed"
    assert body["feedback"]["office"]["name"] == velbert().name
    text = json.dumps(body)
    assert "Hausbesuch" not in text and "Geheime Notiz" not in text and "support_need" not in text

    # Same for the authority's coordinator; the offices never get the feedback block.
    assert api(personas.police_coordinator).get(url(referral)).json()["feedback"]["code"] == "closed"
    assert "feedback" not in receiver.get(url(referral)).json()


def test_a_submitted_referral_shows_its_running_clock(api, personas, referral):
    body = api(personas.caseworker_hilden).get(url(referral)).json()
    due = parse_datetime(body["due_at"])
    assert due is not None and due > timezone.now()
    assert body["overdue"] is False


def test_office_detail_and_list_carry_the_casework_state(api, personas, referral):
    client = api(personas.caseworker_hilden)
    response = client.get(url(referral))
    body = response.json()
    assert response["ETag"] == f'"{body["version"]}"'
    for field in ("status", "youth_office", "assignee", "due_at", "overdue", "version", "forwarded_to"):
        assert field in body, field
    assert body["overdue"] is False and body["assignee"] is None and body["forwarded_to"] is None
    assert "feedback" not in body

    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    assert client.get(url(referral)).json()["overdue"] is True
    row = client.get(URL).json()["results"][0]
    assert row["overdue"] is True and row["assignee"] is None and row["due_at"]
    acknowledged(api, personas, referral)
    assert client.get(url(referral)).json()["overdue"] is False  # acknowledged in the end


def test_list_query_count_stays_constant_with_assignees(api, personas, caseworker_hilden2):
    client = api(personas.lead_hilden)

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(URL + "?page_size=100")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["results"]

    def add(assignee):
        ref = make_referral(personas.police_hilden)
        post(client, ref, "acknowledge")
        post(client, ref, "assign", {"assignee": assignee.pk})

    add(personas.caseworker_hilden)
    one, _ = queries()
    for index in range(12):
        add((personas.caseworker_hilden, caseworker_hilden2, personas.lead_hilden)[index % 3])
    count, rows = queries()
    assert count == one
    assert len(rows) == 13 and all(row["assignee"] for row in rows)


# --- OpenAPI -------------------------------------------------------------------------------------

ACTIONS = {
    "acknowledge": ["post"],
    "assign": ["post"],
    "rerate": ["post"],
    "forward": ["post"],
    "accept": ["post"],
    "return": ["post"],
    "assessment": ["get", "post"],
    "sign-off": ["post"],
    "close": ["post"],
    "reopen": ["post"],
    "followups": ["get", "post"],
    "notes": ["get", "post"],
    "attachments": ["get", "post"],
    "attachments/{attachment_id}": ["get"],
    "timeline": ["get"],
}


def test_every_casework_action_is_described_with_examples(client, personas):
    client.force_login(personas.caseworker_hilden)
    schema = client.get("/api/schema/?format=json").json()
    for name, methods in ACTIONS.items():
        path = schema["paths"][f"/api/v1/referrals/{{id}}/{name}/"]
        for method in methods:
            operation = path[method]
            assert operation.get("summary"), (name, method)
            if method == "post":
                (request,) = operation["requestBody"]["content"].values()
                assert request["schema"] and request["examples"], (name, method)
            ok = next(operation["responses"][code] for code in ("200", "201") if code in operation["responses"])
            assert all(c["schema"] for c in ok["content"].values()), (name, method)
            examples = [
                example
                for response in operation["responses"].values()
                for content in response.get("content", {}).values()
                for example in content.get("examples", {}).values()
            ]
            assert examples, (name, method)
            assert "404" in operation["responses"], (name, method)
    detail = schema["components"]["schemas"]
    for field in ("status", "youth_office", "assignee", "due_at", "overdue", "version", "forwarded_to"):
        assert field in detail["ReferralDetail"]["properties"], field
    assert "feedback" not in detail["ReferralDetail"]["properties"]
    assert "feedback" in detail["ReferralPoliceDetail"]["properties"]


def test_export_hands_over_outside_the_system(api, personas, referral):
    from referrals.services import note_add

    note_add(referral=referral, user=personas.caseworker_hilden, text="Anvertraut", confidential=True)
    assert (
        api(personas.caseworker_hilden)
        .post(url(referral, "export"), {"recipient": "JA Solingen"}, format="json")
        .status_code
        == 403
    )
    assert api(personas.lead_hilden).post(url(referral, "export"), {"recipient": ""}, format="json").status_code == 400
    assert (
        api(personas.lead_velbert).post(url(referral, "export"), {"recipient": "X"}, format="json").status_code == 404
    )
    response = api(personas.lead_hilden).post(
        url(referral, "export"), {"recipient": "Jugendamt Solingen"}, format="json"
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = response.json()
    assert body["referral"]["reference"] == referral.reference
    assert body["handover"]["recipient"] == "Jugendamt Solingen" and body["handover"]["by"] == "lead_hilden"
    assert "Anvertraut" not in response.content.decode()
    # The police learn where the case went (issue 15 § 3), not merely that it is closed.
    feedback = api(personas.police_hilden).get(url(referral)).json()["feedback"]
    assert (feedback["code"], feedback["handed_over_to"]) == ("handed_over", "Jugendamt Solingen")


def test_coordinator_exports_a_triaged_referral(api, personas):
    triaged = make_referral(personas.police_hilden, postcode="40213", city="Düsseldorf")
    response = api(personas.district_coordinator).post(
        url(triaged, "export"), {"recipient": "Jugendamt Düsseldorf"}, format="json"
    )
    assert response.status_code == 200
    assert api(personas.district_coordinator).get(url(triaged)).status_code == 404  # out of the queue
