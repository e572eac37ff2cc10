"""The outbox: every notification is a row written in the same transaction as the change that
causes it. Celery delivers it; a beat sweep re-sends what is still undelivered. Texts carry a
reference and a link, never a name."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    IN_APP = "in_app", _("In the application")


class DeliveryState(models.TextChoices):
    """Where a notification's delivery stands. ``sending`` is recorded (and committed) before a
    message leaves the system; a row that stays in it had its last attempt's outcome lost (worker or
    database connection gone after the mail server may have accepted it) and is sent again by the
    sweep with the same Message-ID."""

    PENDING = "pending", _("waiting")
    SENDING = "sending", _("sending (outcome not yet recorded)")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed, will be retried")


class NotificationQuerySet(models.QuerySet):
    def for_user(self, user):
        """A person's own in-app notifications — the only way pages reach notifications."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(channel=Channel.IN_APP, recipient_user_id=user.pk)

    def undelivered(self):
        return self.filter(delivered_at__isnull=True)


class Notification(models.Model):
    """One message to one recipient: a person (in-app) or an address (e-mail to a functional or
    on-call mailbox). ``delivered_at`` is set by the worker; ``read_at`` by the person."""

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=50)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    recipient_email = models.EmailField(_("address"), blank=True)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"), max_length=2000)
    link = models.CharField(_("link"), max_length=300, blank=True)
    # An optional text attachment of an e-mail, e.g. a calendar entry (.ics) of an invitation.
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    attachment_content = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    # Delivery bookkeeping (see notifications.services.notification_deliver): every attempt is counted
    # in its own committed transaction before the message is handed to the mail server.
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    unconfirmed_attempts = models.PositiveSmallIntegerField(
        _("attempts without recorded outcome"),
        default=0,
        help_text=_("Attempts whose outcome was never recorded; the mail server may have received the message "
                    "once more for each of them (same Message-ID)."),
    )  # fmt: skip
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=300, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=200, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["recipient_user", "read_at"], name="notification_inbox"),
            models.Index(fields=["delivered_at", "created_at"], name="notification_undelivered"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(channel="email") & ~models.Q(recipient_email=""))
                | (models.Q(channel="in_app") & models.Q(recipient_user__isnull=False)),
                name="notification_has_recipient",
            )
        ]

    def __str__(self) -> str:
        return self.subject
