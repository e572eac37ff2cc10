"""Celery tasks of the cooperation module (queue ``scheduling``): thin, they call services.

Dates and reminders live in the database and are found by these beat jobs, never scheduled as
ETAs. Both jobs are idempotent (unique occurrences; one ``Reminder`` row per reminder), so a task
redelivered after a worker died (``acks_late`` + ``reject_on_worker_lost``) repeats nothing.
"""

from celery import shared_task

from .services import meetings_materialise, reminders_send


@shared_task(acks_late=True, reject_on_worker_lost=True)
def materialise_meetings() -> int:
    """Propose the missing dates of every active series up to its horizon (beat, hourly)."""
    return meetings_materialise()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_reminders() -> int:
    """Send the reminders that are due, each once (beat, every 5 minutes)."""
    return reminders_send()
