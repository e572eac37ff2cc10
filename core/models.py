"""Tables of the shared services. Only the idempotency keys so far (``core.idempotency``)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class IdempotencyKeyQuerySet(models.QuerySet):
    def expired(self, now):
        return self.filter(expires_at__lte=now)


class IdempotencyKey(models.Model):
    """The stored answer to one write request of one person, replayed when the same person sends the
    same request again with the same key (``Idempotency-Key`` header of the API, or the token of a
    rendered browser form). Written in the same transaction as the change the request made, so a
    committed change always has its answer here. ``request_hash`` tells a retry from another request
    that reuses the key. Kept ``IDEMPOTENCY_KEY_HOURS`` (at least 24 h); the answer can hold case
    contents, so expired rows are deleted (on access, and by a beat job)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(_("key"), max_length=300)
    request_hash = models.CharField(max_length=64)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    status_code = models.PositiveSmallIntegerField(default=0)
    response_headers = models.JSONField(default=dict)
    response_body = models.BinaryField(default=b"")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    objects = IdempotencyKeyQuerySet.as_manager()

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_per_user")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.status_code})"


class FileDeletion(models.Model):
    """A file to delete from the private storage (core.storage), written in the same transaction that
    deletes the row the file belonged to. The row is removed once the file is gone; while the store
    cannot be reached it stays, counts its attempts and is tried again by a beat job — a deletion the
    law requires (retention) is never silently dropped."""

    field = models.CharField(max_length=100)  # which model field's storage (core.storage.FIELDS)
    name = models.CharField(max_length=300)  # the file's name in that storage (random, no personal data)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=100, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("file deletion")
        verbose_name_plural = _("file deletions")

    def __str__(self) -> str:
        return f"{self.field} {self.name} ({self.attempts})"
