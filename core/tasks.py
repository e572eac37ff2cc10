"""Celery tasks of the shared services: thin, call services."""

from celery import shared_task

from .idempotency import idempotency_keys_purge
from .storage import file_deletions_run


@shared_task
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()


@shared_task
def retry_file_deletions() -> int:
    """Files whose deletion failed (core.storage): try them again; returns how many are still left."""
    return file_deletions_run()[1]
