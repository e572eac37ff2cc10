"""Celery tasks of the referrals: thin, they call services.

Deadlines live in the database (``Referral.due_at``); nothing is scheduled as an ETA. Beat runs
``escalate_overdue`` every minute and the service finds what is overdue at that moment, so a worker
or broker that was down catches up on its next run.
"""

from celery import shared_task

from .escalation import referrals_escalate
from .followthrough import task_reminders_send
from .grants import grants_expire as referral_grants_expire
from .retention import retention_delete as delete_due


@shared_task(acks_late=True, reject_on_worker_lost=True)
def escalate_overdue() -> int:
    """Escalate every missed response clock once (beat, every 60 s); returns how many."""
    return referrals_escalate()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def retention_delete() -> int:
    """Delete the closed referrals whose retention has run out — of youth offices and, handed over
    from the triage queue, of coordination offices — and the drafts unchanged for longer than
    ``DRAFT_RETENTION_DAYS`` (beat, daily); returns how many."""
    return delete_due()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def grants_expire() -> int:
    """End the individual grants whose expiry has passed (beat, hourly); returns how many."""
    return referral_grants_expire()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def task_reminders() -> int:
    """Send the due reminders and escalations of tasks on cases, each once (beat, every 60 s)."""
    return task_reminders_send()
