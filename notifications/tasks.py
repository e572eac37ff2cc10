"""Celery tasks: thin, take ids, call services."""

from celery import shared_task

from .services import notification_deliver, notifications_resend_undelivered


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=8,
)
def deliver_notification(notification_id: int) -> bool:
    return notification_deliver(notification_id=notification_id)


@shared_task
def resend_undelivered() -> int:
    return notifications_resend_undelivered()
