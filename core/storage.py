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

import logging
from urllib.parse import parse_qsl, urlsplit

from botocore.exceptions import BotoCoreError, ClientError
from django.http import Http404

logger = logging.getLogger("core.storage")

# Seconds a client is asked to wait before it asks for a file again while the store is unreachable.
STORE_RETRY_AFTER = 60


class StoreUnavailable(Exception):
    """The private store cannot hand out a file right now (unreachable, refusing, timing out): a
    transient failure, answered 503 with ``Retry-After`` — never a 500, and never a 404 that would
    tell the person the file is gone."""


def open_for_download(field_file):
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


def s3_storage_options(url: str) -> dict:
    """django-storages ``S3Storage`` options from ``s3://BUCKET[/PREFIX]?endpoint_url=...&region=...``.

    Query parameters: ``endpoint_url`` (any S3-compatible store; unset: AWS), ``region`` (default
    ``eu-central-1``), ``addressing_style`` (``path`` for most self-hosted stores, the default, or
    ``virtual``), ``sse`` (server-side encryption, e.g. ``AES256``). Credentials are not part of the
    URL: boto3 reads ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (or an instance role)."""
    from botocore.config import Config

    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError("STORAGE_URL must look like s3://BUCKET[/PREFIX]?endpoint_url=https://...")
    query = dict(parse_qsl(parts.query))
    options = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        "region_name": query.get("region", "eu-central-1"),
        "default_acl": "private",  # never publicly readable, whatever the bucket's default is
        "querystring_auth": True,  # url() would only ever give a signed, short-lived link
        "querystring_expire": 60,
        "file_overwrite": False,
        "signature_version": "s3v4",
        "addressing_style": query.get("addressing_style", "path"),
        # A store that does not answer fails fast (the health probe, a download) instead of hanging.
        "client_config": Config(
            connect_timeout=2,
            read_timeout=20,
            retries={"max_attempts": 3, "mode": "standard"},
            s3={"addressing_style": query.get("addressing_style", "path")},
            signature_version="s3v4",
        ),
    }
    if query.get("endpoint_url"):
        options["endpoint_url"] = query["endpoint_url"]
    if query.get("sse"):
        options["object_parameters"] = {"ServerSideEncryption": query["sse"]}
    return options


def private_storage():
    """The storage of private files (``STORAGES["private"]``)."""
    from django.core.files.storage import storages

    return storages["private"]


def field_storage(label: str):
    from django.apps import apps

    app_label, model, field = FIELDS[label]
    return apps.get_model(app_label, model)._meta.get_field(field).storage


def private_storage_check() -> None:
    """Raise if the attachments' store cannot be reached: a HEAD request on the bucket, or the folder
    exists (created if missing, as the first upload would) and is writable."""
    import os

    storage = field_storage("referrals.Attachment.file")
    bucket_name = getattr(storage, "bucket_name", None)
    if bucket_name:
        from botocore.config import Config

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
    from django.db import transaction

    from .models import FileDeletion

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
    from django.db import transaction
    from django.utils import timezone

    from .models import FileDeletion

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
