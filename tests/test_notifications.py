"""The outbox: written with the change, delivered once, re-sent by the sweep, never with a name."""

import datetime
import socket

import pytest
from django.core import mail
from django.utils import timezone

from notifications.models import Channel, Notification
from notifications.services import notification_deliver, notifications_resend_undelivered
from tests.factories import make_referral


def test_submission_writes_and_eagerly_delivers_notifications(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        referral = make_referral(personas.police_hilden, urgency="routine")
    notifications = Notification.objects.all()
    assert notifications.count() == 3  # office mailbox + caseworker + lead (routine: no on-call)
    assert all(n.delivered_at is not None for n in notifications)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["kinderschutz@jugendamt-hilden.example"]
    assert referral.reference in message.subject
    assert f"/referrals/{referral.pk}/" in message.body
    for name in ("Mia", "Tom", "Beispiel", "Mittelstraße"):
        assert name not in message.subject + message.body


def test_immediate_referral_also_alerts_on_call(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_referral(personas.police_hilden, urgency="immediate")
    assert sorted(m.to[0] for m in mail.outbox) == [
        "kinderschutz@jugendamt-hilden.example",
        "rufbereitschaft@jugendamt-hilden.example",
    ]


def test_triage_notifies_the_coordination_office(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        make_referral(personas.police_hilden, postcode="10115", city="Berlin")
    assert [m.to[0] for m in mail.outbox] == ["koordination-kinderschutz@kreis-mettmann.example"]
    assert Notification.objects.filter(channel=Channel.IN_APP, recipient_user=personas.district_coordinator).exists()


def test_delivery_happens_once(personas):
    make_referral(personas.police_hilden)  # on_commit not run: nothing delivered yet
    notification = Notification.objects.filter(channel=Channel.EMAIL).first()
    assert notification.delivered_at is None
    assert notification_deliver(notification_id=notification.pk) is True
    assert notification_deliver(notification_id=notification.pk) is False
    assert len(mail.outbox) == 1
    notification.refresh_from_db()
    assert notification.attempts == 1 and notification.delivered_at is not None


def test_failed_delivery_is_recorded_and_raised(personas, settings):
    # A real SMTP backend against a port where nothing listens: the connection is refused.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _closed_port(), 2
    make_referral(personas.police_hilden)
    notification = Notification.objects.filter(channel=Channel.EMAIL).first()
    with pytest.raises(ConnectionRefusedError):
        notification_deliver(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.delivered_at is None
    assert notification.attempts == 1 and notification.last_error == "ConnectionRefusedError"


def test_sweep_resends_only_old_undelivered(personas, django_capture_on_commit_callbacks):
    make_referral(personas.police_hilden)
    assert notifications_resend_undelivered() == 0  # younger than a minute
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    assert notifications_resend_undelivered() == 3  # eager: delivered right away
    assert Notification.objects.undelivered().count() == 0
    assert len(mail.outbox) == 1
    assert notifications_resend_undelivered() == 0


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_sweep_gives_up_after_max_attempts(personas, settings):
    make_referral(personas.police_hilden)
    Notification.objects.update(created_at=timezone.now() - datetime.timedelta(minutes=2))
    Notification.objects.filter(channel=Channel.EMAIL).update(attempts=settings.NOTIFICATION_MAX_ATTEMPTS)
    assert notifications_resend_undelivered() == 2  # the two in-app ones; the e-mail is left alone
    assert Notification.objects.undelivered().get().channel == Channel.EMAIL


def test_email_carries_its_calendar_attachment(personas):
    from django.db import transaction

    from notifications.services import notification_create

    with transaction.atomic():
        notification = notification_create(
            channel=Channel.EMAIL, kind="meeting_invitation", subject="Einladung", body="Termin",
            email="jugendamt@example.org",
            attachment=("einladung.ics", "text/calendar; method=REQUEST", "BEGIN:VCALENDAR\\r\\nEND:VCALENDAR\\r\\n"),
        )  # fmt: skip
    notification_deliver(notification_id=notification.pk)
    [message] = mail.outbox
    [(name, content, content_type)] = message.attachments
    assert name == "einladung.ics" and content_type.startswith("text/calendar") and "VCALENDAR" in content
