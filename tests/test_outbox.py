"""The outbox's delivery guarantee: every attempt is recorded (committed) before the message leaves
the system, every e-mail carries the notification's stable Message-ID, and a delivery whose outcome
was lost is sent again with the same Message-ID — at least once to the mail server, every copy
counted and recognisable."""

import datetime

import pytest
from django.core import mail
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from notifications.models import Channel, DeliveryState, Notification
from notifications.services import notification_deliver, notifications_resend_undelivered
from tests.factories import make_referral


def _email_notification(personas) -> Notification:
    make_referral(personas.police_hilden)  # on_commit not run: nothing delivered yet
    return Notification.objects.get(channel=Channel.EMAIL)


def test_email_carries_a_stable_message_id(personas, settings):
    settings.MESSAGE_ID_DOMAIN = "kinderschutz.example"
    notification = _email_notification(personas)
    assert notification.state == DeliveryState.PENDING and notification.message_id == ""
    assert notification_deliver(notification_id=notification.pk) is True
    [message] = mail.outbox
    expected = f"<notification-{notification.pk}@kinderschutz.example>"
    assert message.message()["Message-ID"] == expected
    notification.refresh_from_db()
    assert notification.message_id == expected
    assert notification.state == DeliveryState.DELIVERED
    assert notification.attempts == 1 and notification.unconfirmed_attempts == 0
    assert notification.last_attempt_at is not None


class _DatabaseGoneAtTheMark:
    """Stands for the database connection dropping after the mail server accepted the message: the
    save that marks the row delivered raises the error psycopg raises for a terminated backend. A
    real termination is in tests/integration/test_filing_under_faults.py."""

    def __init__(self, monkeypatch):
        self.failures = 0
        original = Notification.save

        def save(notification, *args, **kwargs):
            if "delivered_at" in (kwargs.get("update_fields") or ()) and notification.delivered_at is not None:
                self.failures += 1
                raise OperationalError("terminating connection due to administrator command")
            return original(notification, *args, **kwargs)

        monkeypatch.setattr(Notification, "save", save)
        self.undo = lambda: monkeypatch.setattr(Notification, "save", original)


def test_attempt_is_counted_when_the_delivery_transaction_fails_after_sending(personas, monkeypatch):
    notification = _email_notification(personas)
    failure = _DatabaseGoneAtTheMark(monkeypatch)
    with pytest.raises(OperationalError):
        notification_deliver(notification_id=notification.pk)
    assert failure.failures == 1
    assert len(mail.outbox) == 1  # the mail server has it ...
    notification.refresh_from_db()
    # ... and the outbox says an attempt was made whose outcome is unknown.
    assert notification.attempts == 1
    assert notification.state == DeliveryState.SENDING
    assert notification.delivered_at is None and notification.last_attempt_at is not None
    first_id = mail.outbox[0].message()["Message-ID"]
    assert first_id == notification.message_id

    # The retry sends it again — with the same Message-ID — and the outbox shows the lost outcome.
    failure.undo()
    assert notification_deliver(notification_id=notification.pk) is True
    assert [m.message()["Message-ID"] for m in mail.outbox] == [first_id, first_id]
    notification.refresh_from_db()
    assert notification.state == DeliveryState.DELIVERED
    assert notification.attempts == 2 and notification.unconfirmed_attempts == 1
    # The bound the README states: copies <= attempts, and <= 1 + unconfirmed attempts.
    assert len(mail.outbox) <= notification.attempts
    assert len(mail.outbox) <= 1 + notification.unconfirmed_attempts


def test_sweep_resends_a_row_left_sending_with_the_same_message_id(personas, monkeypatch, settings):
    notification = _email_notification(personas)
    failure = _DatabaseGoneAtTheMark(monkeypatch)
    with pytest.raises(OperationalError):
        notification_deliver(notification_id=notification.pk)
    failure.undo()
    # Not yet: the attempt is younger than the resend delay (a worker may still hold it).
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=5))
    assert notifications_resend_undelivered() == 2  # the two in-app ones, never attempted
    assert len(mail.outbox) == 1
    past = timezone.now() - datetime.timedelta(seconds=settings.NOTIFICATION_RESEND_AFTER_SECONDS + 1)
    Notification.objects.filter(pk=notification.pk).update(last_attempt_at=past)
    assert notifications_resend_undelivered() == 1  # eager in tests: delivered right away
    assert len({m.message()["Message-ID"] for m in mail.outbox}) == 1 and len(mail.outbox) == 2
    assert Notification.objects.undelivered().count() == 0


def test_failed_send_is_recorded_as_failed_and_retried_with_the_same_message_id(personas, monkeypatch):
    from django.core.mail.backends.locmem import EmailBackend

    notification = _email_notification(personas)
    original = EmailBackend.send_messages

    def refuse(self, messages):
        raise ConnectionRefusedError

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with pytest.raises(ConnectionRefusedError):
        notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.state == DeliveryState.FAILED and notification.attempts == 1
    assert notification.last_error == "ConnectionRefusedError" and notification.unconfirmed_attempts == 0
    monkeypatch.setattr(EmailBackend, "send_messages", original)
    assert notification_deliver(notification_id=notification.pk) is True
    notification.refresh_from_db()
    assert notification.attempts == 2 and notification.unconfirmed_attempts == 0
    assert mail.outbox[0].message()["Message-ID"] == notification.message_id


def test_in_app_notification_goes_through_the_same_states(personas):
    make_referral(personas.police_hilden)
    notification = Notification.objects.filter(channel=Channel.IN_APP).first()
    assert notification_deliver(notification_id=notification.pk) is True
    notification.refresh_from_db()
    assert notification.state == DeliveryState.DELIVERED and notification.attempts == 1
    assert not mail.outbox


def test_outbox_admin_shows_state_attempts_last_attempt_and_message_id(personas, client, monkeypatch):
    notification = _email_notification(personas)
    failure = _DatabaseGoneAtTheMark(monkeypatch)
    with pytest.raises(OperationalError):
        notification_deliver(notification_id=notification.pk)
    failure.undo()
    notification.refresh_from_db()
    client.force_login(personas.admin)
    page = client.get(reverse("admin:notifications_notification_changelist")).content.decode()
    with translation.override("de"):
        labels = [str(DeliveryState.SENDING.label), gettext("attempts"), gettext("last attempt"), "Message-ID"]
    for text in (notification.message_id.replace("<", "&lt;").replace(">", "&gt;"), *labels):
        assert text.lower() in page.lower(), text
    page = client.get(reverse("admin:notifications_notification_change", args=[notification.pk])).content.decode()
    assert notification.message_id.replace("<", "&lt;").replace(">", "&gt;") in page
    # Searching the outbox by the Message-ID a mailbox shows finds the row.
    found = client.get(
        reverse("admin:notifications_notification_changelist"), {"q": notification.message_id}
    ).content.decode()
    assert notification.subject in found
