"""Attachments in an S3-compatible object store (issue 17 § 1), real S3 protocol against moto's
standalone server: a file uploaded through web node A is downloaded through web node B (each node
with a local folder of its own, which stays empty), the object is private, and retention deletes it
from the store — a deletion that fails while the store is unreachable is recorded and retried."""

import json
import time
import urllib.error
import urllib.request

import pytest
from django.db import transaction

from core.models import FileDeletion
from core.tasks import retry_file_deletions
from referrals.models import Attachment, Referral
from referrals.retention import _purge
from tests.factories import api_token, make_referral

from .conftest import free_port
from .objectstore import create_bucket, download, local_files, moto, s3_client, s3_env, s3_storage, upload_attachment

pytestmark = pytest.mark.integration

PDF = b"%PDF-1.4\n" + b"0123456789" * 2000 + b"\n%%EOF\n"


def probe(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"{url}/health/ready", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def attachment_field_storage():
    """The test process's own view of the attachments' storage (replaced per test, put back after)."""
    field = Attachment._meta.get_field("file")
    original = field.storage
    yield field
    field.storage = original


def test_attachment_on_node_a_is_downloaded_on_node_b_and_deleted_from_the_store(
    processes, personas, broker_url, tmp_path, attachment_field_storage
):
    port = free_port()
    store_process = moto(processes, port)
    bucket = create_bucket(port)
    store = s3_env(port, bucket)
    node_a, url_a = processes.web(REDIS_URL=broker_url, VAR_DIR=str(tmp_path / "node-a"), **store)
    node_b, url_b = processes.web(REDIS_URL=broker_url, VAR_DIR=str(tmp_path / "node-b"), **store)

    referral = make_referral(personas.police_hilden)
    token = api_token(personas.caseworker_hilden)
    status, body = upload_attachment(url_a, referral.pk, token, PDF)
    assert status == 201, body
    attachment = Attachment.objects.get(pk=body["id"])

    # The object is in the bucket under the configured prefix, readable by its owner only.
    client = s3_client(port)
    key = f"anlagen/{attachment.file.name}"
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == PDF
    grants = client.get_object_acl(Bucket=bucket, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants), grants
    # Neither node kept anything on its own disk.
    for node in ("node-a", "node-b"):
        assert local_files(tmp_path / node / "private") == []

    status, content = download(f"{url_b}/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/", token)
    assert status == 200 and content == PDF
    # Out of scope on node B as on node A: 404, the object is not handed out.
    other = api_token(personas.caseworker_velbert)
    status, _ = download(f"{url_b}/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/", other)
    assert status == 404

    # Retention while the store is unreachable: the referral goes, the deletion is kept for later.
    attachment_field_storage.storage = s3_storage(free_port(), bucket)  # nobody listens there
    with transaction.atomic():
        _purge(Referral.objects.get(pk=referral.pk))
    assert not Referral.objects.filter(pk=referral.pk).exists()
    row = FileDeletion.objects.get()
    assert row.name == attachment.file.name and row.attempts == 1, (row.attempts, row.last_error)
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == PDF

    # The beat job's next run, with the store back: the object is gone, and so is the row.
    attachment_field_storage.storage = s3_storage(port, bucket)
    assert retry_file_deletions() == 0
    assert not FileDeletion.objects.exists()
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert node_a.alive() and node_b.alive()

    # The store goes away: the nodes are not ready, and say why within a probe's time.
    status, ready = probe(url_b)
    assert status == 200, ready
    store_process.stop()
    started = time.monotonic()
    status, ready = probe(url_b)
    took = time.monotonic() - started
    assert status == 503 and ready["failing"] == ["storage"], ready
    assert took < 5, f"the probe took {took:.1f} s with the store gone"
