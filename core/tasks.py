"""Celery tasks of the shared services: thin, call services."""

from celery import shared_task

from .idempotency import idempotency_keys_purge


@shared_task
def purge_idempotency_keys() -> int:
    return idempotency_keys_purge()
