"""Writing and delivering notifications (the outbox)."""

import logging
import time

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .models import Channel, Notification

logger = logging.getLogger(__name__)


def notification_create(
    *,
    channel: str,
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    user=None,
    email: str = "",
    attachment: tuple[str, str, str] | None = None,
) -> Notification:
    """Write one notification into the outbox and enqueue its delivery once the surrounding
    transaction commits. Must be called inside the transaction of the change that causes it.
    ``attachment`` is ``(file name, content type, text)`` for an e-mail, e.g. an .ics invitation."""
    name, content_type, content = attachment or ("", "", "")
    notification = Notification.objects.create(
        channel=channel, kind=kind, subject=subject, body=body, link=link, recipient_user=user, recipient_email=email,
        attachment_name=name, attachment_type=content_type, attachment_content=content,
    )  # fmt: skip
    transaction.on_commit(lambda: notification_enqueue(notification_id=notification.pk), robust=True)
    return notification


# After a failed publish this process leaves the broker alone for a few seconds: a change that
# writes several notifications (or a sweep of many) waits for one failed attempt, not one per row.
BROKER_BACKOFF_SECONDS = 5.0
_broker_down_until = 0.0


def notification_enqueue(*, notification_id: int) -> bool:
    """Hand a notification to the broker. A broker that is down is logged and left to the sweep:
    the change that caused the notification is committed already and must not fail.
    Returns True if the message was handed over."""
    global _broker_down_until
    from .tasks import deliver_notification

    if time.monotonic() < _broker_down_until:
        logger.info("notification %s not enqueued (broker unavailable); the sweep will re-send it", notification_id)
        return False
    try:
        deliver_notification.apply_async(args=[notification_id], retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the outbox row stays for the sweep
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning(
            "notification %s not enqueued (%s); the sweep will re-send it", notification_id, type(exc).__name__
        )
        return False
    return True


def notification_deliver(*, notification_id: int) -> bool:
    """Deliver one notification exactly when it is still undelivered. Returns True if it was sent now.

    The row lock makes two workers racing on the same id send it once; an e-mail that fails leaves
    the row undelivered with the error, for the retry or the sweep.
    """
    error = None
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.delivered_at is not None:
            return False
        notification.attempts += 1
        notification.last_attempt_at = timezone.now()
        try:
            if notification.channel == Channel.EMAIL:
                link = f"{settings.SITE_URL}{notification.link}" if notification.link else ""
                body = f"{notification.body}\n\n{link}\n" if link else notification.body
                message = EmailMessage(notification.subject, body, to=[notification.recipient_email])
                if notification.attachment_content:
                    message.attach(
                        notification.attachment_name, notification.attachment_content, notification.attachment_type
                    )
                message.send()
        except Exception as exc:  # noqa: BLE001 - recorded, then raised for Celery's retry
            error = exc
            notification.last_error = type(exc).__name__
        else:
            notification.delivered_at = timezone.now()
            notification.last_error = ""
        notification.save(update_fields=["attempts", "last_attempt_at", "last_error", "delivered_at"])
    if error is not None:
        raise error
    return True


def notifications_resend_undelivered() -> int:
    """Enqueue again every notification still undelivered after the configured delay. One that failed
    ``NOTIFICATION_MAX_ATTEMPTS`` times (a mailbox that refuses it) stays with its error for an
    operator (admin: notifications) instead of being retried forever."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS)
    undelivered = (
        Notification.objects.undelivered()
        .filter(created_at__lte=cutoff, attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS)
        .order_by("created_at", "pk")
    )
    ids = list(undelivered.values_list("pk", flat=True)[:1000])
    return sum(notification_enqueue(notification_id=notification_id) for notification_id in ids)


def notification_mark_read(*, user, notification_id: int | None = None) -> int:
    """Mark one or all of a person's notifications read."""
    qs = Notification.objects.for_user(user).filter(read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    return qs.update(read_at=timezone.now())
