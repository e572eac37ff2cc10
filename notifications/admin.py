from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox for operations, read-only: per notification its delivery state, attempts (each
    counted before the message left the system), attempts whose outcome was lost, the last attempt
    and the stable Message-ID — search a mailbox for it to find a copy delivered twice. Texts carry
    references only; the calendar file of an invitation (its attendees' addresses) is named, not shown."""

    list_display = [
        "subject", "channel", "kind", "state", "created_at", "delivered_at", "attempts", "unconfirmed_attempts",
        "last_attempt_at", "message_id", "last_error",
    ]  # fmt: skip
    list_filter = ["state", "channel", "kind", "delivered_at"]
    search_fields = ["message_id"]
    fields = [f.name for f in Notification._meta.fields if f.name not in ("id", "attachment_content")]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
