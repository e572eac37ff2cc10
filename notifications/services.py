"""Writing and delivering notifications (the outbox)."""

import datetime
import logging
import time
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import Channel, DeliveryState, Notification

logger = logging.getLogger(__name__)


def notification_create(
    *,
    channel: str,
    kind: str,
    subject: str,
    body: str,
    link: str = "",
    user: Any = None,
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
    from .tasks import deliver_notification  # the task module imports this one: imported when used

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


def notification_message_id(notification_id: int) -> str:
    """The Message-ID of a notification's e-mail: the same for every attempt, so a copy the mail
    server got twice (see ``notification_deliver``) is recognisable as one message."""
    return f"<notification-{notification_id}@{settings.MESSAGE_ID_DOMAIN}>"


def notification_deliver(*, notification_id: int) -> bool:
    """Deliver one notification if it is still undelivered. Returns True if it was sent now.

    Two transactions, because no database can commit together with a mail server:

    1. The attempt is recorded and committed before anything is sent (``attempts`` + 1,
       ``last_attempt_at``, state ``sending``, the stable ``message_id``). If the row is still in
       ``sending`` from an earlier attempt, that attempt's outcome was lost after it may have reached
       the mail server: it is counted in ``unconfirmed_attempts`` (an upper bound: a second worker
       that takes the row up in the same moment is counted too, though it then sends nothing).
    2. Under the row lock the e-mail is sent with that Message-ID and the row marked delivered (or
       the error recorded, state ``failed``). A second worker on the same id waits for the lock and
       then finds it delivered.

    If the connection to the database drops after the mail server accepted the message and before
    step 2 commits, the row stays in ``sending`` and the retry or the sweep sends it again with the
    same Message-ID: delivery to the mail server is at least once, and every copy is counted —
    copies ≤ ``attempts`` and, for a delivered row, copies ≤ 1 + ``unconfirmed_attempts``.
    """
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.delivered_at is not None:
            return False
        if notification.state == DeliveryState.SENDING:
            notification.unconfirmed_attempts += 1
        notification.attempts += 1
        notification.last_attempt_at = timezone.now()
        notification.state = DeliveryState.SENDING
        notification.message_id = notification.message_id or notification_message_id(notification.pk)
        notification.save(update_fields=["attempts", "unconfirmed_attempts", "last_attempt_at", "state", "message_id"])

    error = None
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.delivered_at is not None:
            return False
        try:
            if notification.channel == Channel.EMAIL:
                _send_email(notification)
        except Exception as exc:  # noqa: BLE001 - recorded, then raised for Celery's retry
            error = exc
            notification.state = DeliveryState.FAILED
            notification.last_error = type(exc).__name__
        else:
            notification.state = DeliveryState.DELIVERED
            notification.delivered_at = timezone.now()
            notification.last_error = ""
        notification.save(update_fields=["state", "last_error", "delivered_at"])
    if error is not None:
        raise error
    return True


def _send_email(notification: Notification) -> None:
    link = f"{settings.SITE_URL}{notification.link}" if notification.link else ""
    body = f"{notification.body}\n\n{link}\n" if link else notification.body
    message = EmailMessage(
        notification.subject, body, to=[notification.recipient_email], headers={"Message-ID": notification.message_id}
    )
    if notification.attachment_content:
        message.attach(notification.attachment_name, notification.attachment_content, notification.attachment_type)
    message.send()


def notifications_resend_undelivered() -> int:
    """Enqueue again every notification still undelivered after the configured delay — also one left
    in ``sending`` by an attempt whose outcome was lost (re-sent with its Message-ID). One that failed
    ``NOTIFICATION_MAX_ATTEMPTS`` times (a mailbox that refuses it) stays with its error for an
    operator (admin: notifications) instead of being retried forever."""
    cutoff = timezone.now() - datetime.timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS)
    undelivered = (
        Notification.objects.undelivered()
        .filter(created_at__lte=cutoff, attempts__lt=settings.NOTIFICATION_MAX_ATTEMPTS)
        # A row attempted moments ago is probably still in a worker's hands; it is picked up one
        # delay after its last attempt (state ``sending`` or ``failed``), with the same Message-ID.
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=cutoff))
        .order_by("created_at", "pk")
    )
    ids = list(undelivered.values_list("pk", flat=True)[:1000])
    return sum(notification_enqueue(notification_id=notification_id) for notification_id in ids)


def notification_mark_read(*, user: Any, notification_id: int | None = None) -> int:
    """Mark one or all of a person's notifications read."""
    qs = Notification.objects.for_user(user).filter(read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    updated: int = qs.update(read_at=timezone.now())
    return updated
