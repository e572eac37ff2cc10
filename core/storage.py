"""Private file storage (attachments) and the deletion of files that must not be dropped.

Which store holds the files is configuration (``STORAGES["private"]``, built in ``config.settings``):
the local folder ``PRIVATE_MEDIA_ROOT`` by default, an S3-compatible object store when ``STORAGE_URL``
says so. Either way the files are private: nothing in the store is publicly readable, and a file
reaches a person only through the scoped download views, which stream it through the application —
so every download is checked against the referral's scope and recorded in the access log at the
moment it happens (a presigned link could be passed on and used later without either).

Deleting a file (retention) can fail while the store is unreachable. A failed deletion is never just
logged: each file to delete is a ``core.FileDeletion`` row written in the same transaction as the
deletion of its database row; after the commit the file is deleted and its row removed, and a beat
job (``core.tasks.retry_file_deletions``) tries again whatever is left, until it is gone
(docs/betrieb.md, "Dateien").
"""

from __future__ import annotations

import logging
import os
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.apps import apps
from django.core.files import File
from django.core.files.storage import Storage, storages
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.utils import timezone

from .models import FileDeletion

logger = logging.getLogger("core.storage")

# Seconds a client is asked to wait before it asks for a file again while the store is unreachable.
STORE_RETRY_AFTER = 60


class StoreUnavailable(Exception):
    """The private store cannot hand out a file right now (unreachable, refusing, timing out): a
    transient failure, answered 503 with ``Retry-After`` — never a 500, and never a 404 that would
    tell the person the file is gone."""


def open_for_download(field_file: FieldFile) -> File[bytes]:
    """``field_file`` opened for reading, for a download view: a file missing from the store is
    ``Http404`` (the same answer as a file out of scope), a store that cannot be reached is
    ``StoreUnavailable``. The log line names the error's class only (the file name is a random
    token, but the message of a store error may carry the whole request)."""
    try:
        return field_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    except (OSError, BotoCoreError, ClientError) as exc:
        logger.warning("private store unreachable on download: %s", type(exc).__name__)
        raise StoreUnavailable from exc


PROBE_TIMEOUT = 2  # seconds the readiness probe waits for the object store

# Which storage each label of a FileDeletion row means: the field's storage at the time of deletion
# (resolved then, so that tests and configuration that replace the field's storage are followed).
FIELDS = {"referrals.Attachment.file": ("referrals", "Attachment", "file")}


def private_storage() -> Storage:
    """The storage of private files (``STORAGES["private"]``)."""
    return storages["private"]


def field_storage(label: str) -> Any:  # a FileSystemStorage or an S3Storage: their attributes differ
    app_label, model, field = FIELDS[label]
    return apps.get_model(app_label, model)._meta.get_field(field).storage


def private_storage_check() -> None:
    """Raise if the attachments' store cannot be reached: a HEAD request on the bucket, or the folder
    exists (created if missing, as the first upload would) and is writable."""
    storage = field_storage("referrals.Attachment.file")
    bucket_name = getattr(storage, "bucket_name", None)
    if bucket_name:
        # A client of its own with one attempt and short timeouts: the storage's client retries, and
        # a probe must answer within the load balancer's timeout. HEAD on the bucket needs
        # s3:ListBucket, which the storage needs anyway (file names are checked before saving).
        client = storage._create_session().client(
            "s3",
            endpoint_url=storage.endpoint_url,
            region_name=storage.region_name,
            config=Config(
                connect_timeout=PROBE_TIMEOUT,
                read_timeout=PROBE_TIMEOUT,
                retries={"max_attempts": 1, "mode": "standard"},
                s3={"addressing_style": storage.addressing_style},
                signature_version=storage.signature_version,
            ),
        )
        client.head_bucket(Bucket=bucket_name)
        return
    location = storage.location
    os.makedirs(location, exist_ok=True)
    if not os.access(location, os.W_OK):
        raise PermissionError("storage folder not writable")


def file_deletions_schedule(*, field: str, names: list[str]) -> None:
    """Delete the files ``names`` of ``field`` (a label of ``FIELDS``) once the current transaction
    commits; call it inside the transaction that deletes their rows. The rows written here are the
    promise: a deletion that fails stays recorded and is tried again (``file_deletions_run``)."""
    names = [name for name in names if name]
    if not names:
        return
    rows = FileDeletion.objects.bulk_create([FileDeletion(field=field, name=name) for name in names])
    ids = [row.pk for row in rows if row.pk is not None]
    # Without ids (a backend that does not return them) the beat job picks the rows up.
    if ids:
        transaction.on_commit(lambda: file_deletions_run(ids=ids), robust=True)


def file_deletions_run(*, ids: list[int] | None = None) -> tuple[int, int]:
    """Try to delete the recorded files (all of them, or those with ``ids``); a deleted file's row is
    removed, a failure is counted on its row (``attempts``, ``last_error``: the error's class only —
    the message could name a host). Rows another process is working on are skipped. Returns
    (deleted, failed)."""
    pending = FileDeletion.objects.order_by("pk")
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    deleted = failed = 0
    for pk in list(pending.values_list("pk", flat=True)):
        with transaction.atomic():
            row = FileDeletion.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            if row is None:
                continue  # done or taken by another process
            try:
                field_storage(row.field).delete(row.name)
            except Exception as exc:  # noqa: BLE001 - any failure of the store: keep the row, try again
                row.attempts += 1
                row.last_error = type(exc).__name__[:100]
                row.last_attempt_at = timezone.now()
                row.save(update_fields=["attempts", "last_error", "last_attempt_at"])
                failed += 1
                # The name is random (no personal data): the operator can find the row by it.
                logger.warning(
                    "file deletion failed (%s), attempt %d, will be retried: %s %s",
                    row.last_error,
                    row.attempts,
                    row.field,
                    row.name,
                )
            else:
                row.delete()
                deleted += 1
    return deleted, failed
