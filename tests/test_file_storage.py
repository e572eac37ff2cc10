"""Private file storage (issue 17 § 1): configuration of the store, and retention deletions that fail
are retried until the file is gone, never dropped. The object store itself (real S3 protocol against
moto's server) is tests/integration/test_object_storage.py."""

import datetime
import os

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from core.models import FileDeletion
from core.storage import file_deletions_run
from core.storage_options import s3_storage_options
from core.tasks import retry_file_deletions
from referrals.models import AccessLogEntry, Attachment, Referral
from referrals.retention import retention_delete
from referrals.services import attachment_add
from tests.factories import api_token, make_referral
from tests.test_retention import T0, _rich


@pytest.fixture
def at(time_machine):
    def move(moment):
        time_machine.move_to(moment, tick=False)
        return moment

    move(T0)
    return move


class FlakyStorage(FileSystemStorage):
    """A store that refuses deletions while ``down`` is set, as an unreachable object store would."""

    down = True

    def delete(self, name):
        if self.down:
            raise ConnectionError("store unreachable")
        super().delete(name)


@pytest.fixture
def flaky(tmp_path):
    field = Attachment._meta.get_field("file")
    original = field.storage
    field.storage = FlakyStorage(location=tmp_path)
    yield field.storage
    field.storage = original


def test_a_failed_deletion_is_recorded_and_retried_until_the_file_is_gone(
    personas, at, flaky, django_capture_on_commit_callbacks, caplog
):
    referral, attachment = _rich(personas, flaky)
    path = flaky.path(attachment.file.name)
    assert os.path.exists(path)

    at(T0 + datetime.timedelta(days=3653))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_delete() == 1
    assert not Referral.objects.filter(pk=referral.pk).exists()
    # The store refused: the file is still there, and so is the promise to delete it.
    assert os.path.exists(path)
    row = FileDeletion.objects.get()
    assert (row.field, row.name, row.attempts, row.last_error) == (
        "referrals.Attachment.file",
        attachment.file.name,
        1,
        "ConnectionError",
    )
    assert "will be retried" in caplog.text

    # Still down at the next beat run: counted again, kept.
    assert retry_file_deletions() == 1
    assert FileDeletion.objects.get().attempts == 2
    assert os.path.exists(path)

    flaky.down = False
    assert retry_file_deletions() == 0
    assert not os.path.exists(path)
    assert not FileDeletion.objects.exists()


def test_a_deletion_that_succeeds_at_once_leaves_no_row(personas, at, flaky, django_capture_on_commit_callbacks):
    flaky.down = False
    referral, attachment = _rich(personas, flaky)
    path = flaky.path(attachment.file.name)
    at(T0 + datetime.timedelta(days=3653))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention_delete() == 1
    assert not os.path.exists(path)
    assert not FileDeletion.objects.exists()
    assert file_deletions_run() == (0, 0)


def test_the_storage_is_the_private_folder_by_default(settings):
    from core.storage import private_storage

    assert settings.STORAGES["private"]["BACKEND"] == "django.core.files.storage.FileSystemStorage"
    storage = private_storage()
    assert isinstance(storage, FileSystemStorage)
    assert storage.location == str(settings.PRIVATE_MEDIA_ROOT)


def test_an_object_store_url_gives_private_objects_and_no_credentials_in_the_url():
    options = s3_storage_options("s3://kinderschutz/anlagen?endpoint_url=http://127.0.0.1:9000&region=eu-west-1")
    assert options["bucket_name"] == "kinderschutz"
    assert options["location"] == "anlagen"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert options["region_name"] == "eu-west-1"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["file_overwrite"] is False
    assert "access_key" not in options and "secret_key" not in options
    with pytest.raises(ValueError):
        s3_storage_options("http://example.invalid/bucket")


# --- downloads while the store fails (issue 17 § 1) ------------------------------------------------------------


class UnreachableStorage(FileSystemStorage):
    """A store that cannot be reached for reading while ``down`` is set."""

    down = False

    def _open(self, name, mode="rb"):
        if self.down:
            raise ConnectionError("store unreachable")
        return super()._open(name, mode)


@pytest.fixture
def unreachable(tmp_path):
    field = Attachment._meta.get_field("file")
    original = field.storage
    field.storage = UnreachableStorage(location=tmp_path)
    yield field.storage
    field.storage = original


@pytest.fixture
def stored(personas, unreachable):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    attachment = attachment_add(
        referral=referral, user=personas.caseworker_hilden, uploaded_file=SimpleUploadedFile("b.pdf", PDF)
    )
    return referral, attachment


PDF = b"%PDF-1.4\n%%EOF\n"


def _downloads(client, personas, referral, attachment):
    """(page response, API response) of the same attachment, as the Hilden caseworker."""
    client.force_login(personas.caseworker_hilden)
    page = client.get(f"/referrals/{referral.pk}/attachments/{attachment.pk}/")
    api = Client().get(
        f"/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/",
        HTTP_AUTHORIZATION=f"Token {api_token(personas.caseworker_hilden)}",
    )
    return page, api


def test_a_download_while_the_store_is_unreachable_is_503_and_not_logged_as_served(
    client, personas, stored, unreachable, caplog
):
    referral, attachment = stored
    unreachable.down = True
    page, api = _downloads(client, personas, referral, attachment)
    assert page.status_code == 503 and page["Retry-After"] == "60"
    assert "Datei vorübergehend nicht erreichbar" in page.content.decode()
    assert api.status_code == 503 and api["Retry-After"] == "60"
    assert api.json() == {
        "detail": "Der Dateispeicher ist gerade nicht erreichbar. Bitte versuchen Sie es in einer Minute erneut."
    }
    english = Client()
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch's choice
    english = english.get(
        f"/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/",
        HTTP_AUTHORIZATION=f"Token {api_token(personas.caseworker_hilden)}",
    )
    assert english.status_code == 503
    assert english.json() == {"detail": "The file store cannot be reached right now. Please try again in a minute."}
    assert not any(record.exc_info for record in caplog.records)  # one warning line, no traceback
    assert "ConnectionError" in caplog.text
    assert not AccessLogEntry.objects.filter(action=AccessLogEntry.Action.DOWNLOAD).exists()

    unreachable.down = False  # back: the same links serve the file
    page, api = _downloads(client, personas, referral, attachment)
    assert (page.status_code, api.status_code) == (200, 200)
    assert b"".join(api.streaming_content) == PDF


def test_a_file_missing_from_the_store_is_404_on_the_page_and_in_the_api(client, personas, stored, unreachable):
    referral, attachment = stored
    os.remove(unreachable.path(attachment.file.name))
    page, api = _downloads(client, personas, referral, attachment)
    assert (page.status_code, api.status_code) == (404, 404)
    assert api["Content-Type"] == "application/json"
