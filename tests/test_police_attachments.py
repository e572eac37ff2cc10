"""Police attachments (issue 14 §3): police attach files to their referral and its follow-ups through
the referral's attachments endpoint and page — the same content sniffing, size limit and private
storage as the office's files; the office reads them; police read only what police attached; anyone
outside the referral's scope gets 404."""

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from notifications.models import Channel, Notification
from referrals.models import Attachment, FollowUp, ReferralEvent
from referrals.services import attachment_add, followup_add
from tests.factories import make_referral

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def private_files(tmp_path, monkeypatch):
    """Attachments into a temporary directory instead of ``PRIVATE_MEDIA_ROOT``."""
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden, postcode="40723", city="Hilden")


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _upload(user, referral, content=PDF, name="Bericht Beispiel.pdf", **extra):
    return _api(user).post(
        f"/api/v1/referrals/{referral.pk}/attachments/",
        {"file": SimpleUploadedFile(name, content), **extra},
        format="multipart",
    )


def _listed(user, referral):
    response = _api(user).get(f"/api/v1/referrals/{referral.pk}/attachments/")
    return response.status_code, [a["original_name"] for a in response.json()] if response.status_code == 200 else []


def test_police_attach_and_the_office_sees_it(personas, referral, private_files):
    response = _upload(personas.police_hilden2, referral)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["office"]["name"] == "Polizeiwache Hilden" and body["confidential"] is False
    assert body["content_type"] == "application/pdf" and body["followup"] is None
    attachment = Attachment.objects.get(pk=body["id"])
    # scoped, random storage name: no name of the file or the family in the path
    assert attachment.file.name.startswith(f"attachments/{referral.pk}/") and "Beispiel" not in attachment.file.name
    assert (private_files / attachment.file.name).read_bytes() == PDF

    assert _listed(personas.caseworker_hilden, referral) == (200, ["Bericht Beispiel.pdf"])
    assert _listed(personas.police_hilden, referral) == (200, ["Bericht Beispiel.pdf"])
    assert _listed(personas.police_coordinator, referral) == (200, ["Bericht Beispiel.pdf"])
    download = _api(personas.caseworker_hilden).get(f"/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == PDF

    # the office is told once, in the application, without the file's name
    told = Notification.objects.filter(kind="police_attachment")
    assert told.filter(channel=Channel.IN_APP).count() == 2  # caseworker and lead of Hilden, nobody assigned yet
    assert not told.filter(channel=Channel.EMAIL).exists()
    assert all("Beispiel" not in n.subject + n.body and "Bericht" not in n.subject + n.body for n in told)
    event = referral.events.get(kind=ReferralEvent.Kind.ATTACHMENT)
    assert event.data == {"attachment": attachment.pk, "police": True, "followup": None}


def test_police_see_only_what_police_attached(personas, referral):
    office_file = attachment_add(
        referral=referral, user=personas.caseworker_hilden, uploaded_file=SimpleUploadedFile("Arztbericht.pdf", PDF)
    )
    assert _upload(personas.police_hilden, referral, name="Polizeibericht.pdf").status_code == 201
    assert _listed(personas.police_hilden, referral) == (200, ["Polizeibericht.pdf"])
    assert _listed(personas.caseworker_hilden, referral) == (200, ["Arztbericht.pdf", "Polizeibericht.pdf"])
    response = _api(personas.police_hilden).get(f"/api/v1/referrals/{referral.pk}/attachments/{office_file.pk}/")
    assert response.status_code == 404
    page = APIClient()
    page.force_login(personas.police_hilden)
    assert page.get(f"/referrals/{referral.pk}/attachments/{office_file.pk}/").status_code == 404
    police_file = Attachment.objects.get(original_name="Polizeibericht.pdf")
    response = page.get(f"/referrals/{referral.pk}/attachments/{police_file.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


@pytest.mark.parametrize("outsider", ["police_velbert", "caseworker_velbert", "lead_velbert", "district_coordinator"])
def test_other_station_or_office_gets_404(personas, referral, outsider):
    assert _upload(personas.police_hilden, referral).status_code == 201
    attachment = Attachment.objects.get()
    user = getattr(personas, outsider)
    assert _upload(user, referral).status_code == 404
    assert _listed(user, referral) == (404, [])
    assert _api(user).get(f"/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/").status_code == 404
    assert Attachment.objects.count() == 1


@pytest.mark.parametrize(
    "content, name",
    [
        (b"MZ\x90\x00 not a pdf", "bericht.pdf"),  # an executable named .pdf
        (b"<html><script>alert(1)</script>", "bericht.pdf"),
        (b"", "leer.pdf"),
    ],
)
def test_the_content_decides_not_the_name(personas, referral, content, name):
    response = _upload(personas.police_hilden, referral, content=content, name=name)
    assert response.status_code == 400
    assert "file" in response.json()
    assert not Attachment.objects.exists()


def test_an_image_is_sniffed_as_such(personas, referral):
    response = _upload(personas.police_hilden, referral, content=PNG, name="foto.pdf")
    assert response.status_code == 201 and response.json()["content_type"] == "image/png"


def test_the_size_limit_applies_to_police_too(personas, referral, settings):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    response = _upload(personas.police_hilden, referral, content=PDF + b"0" * (1024 * 1024))
    assert response.status_code in (400, 413)
    assert not Attachment.objects.exists()


def test_police_cannot_mark_a_file_confided(personas, referral):
    response = _upload(personas.police_hilden, referral, confidential="true")
    assert response.status_code == 400 and "confidential" in response.json()
    assert not Attachment.objects.exists()


def test_a_file_to_a_follow_up(personas, referral):
    followup = followup_add(referral=referral, user=personas.police_hilden, text="Neuer Vorfall am Abend.")
    response = _upload(personas.police_hilden, referral, followup=followup.pk)
    assert response.status_code == 201 and response.json()["followup"] == followup.pk
    assert list(FollowUp.objects.get(pk=followup.pk).attachments.values_list("pk", flat=True)) == [
        response.json()["id"]
    ]

    other = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    foreign = followup_add(referral=other, user=personas.police_hilden, text="Anderer Fall.")
    response = _upload(personas.police_hilden, referral, followup=foreign.pk)
    assert response.status_code == 400 and "followup" in response.json()


def test_no_police_file_on_a_draft(personas):
    draft = make_referral(personas.police_hilden, submit=False)
    response = _upload(personas.police_hilden, draft)
    assert response.status_code == 400 and "status" in response.json()
    assert not Attachment.objects.exists()


def test_the_office_still_attaches_its_own_files(personas, referral):
    response = _upload(personas.caseworker_hilden, referral, confidential="true")
    assert response.status_code == 201
    assert response.json()["office"]["name"] == "Jugendamt Hilden" and response.json()["confidential"] is True
    assert _listed(personas.police_hilden, referral) == (200, [])
