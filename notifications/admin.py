from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Delivery status of the outbox, for operations, read-only. Texts carry references only; the
    calendar file of an invitation (its attendees' addresses) is named, not shown."""

    list_display = ["subject", "channel", "kind", "created_at", "delivered_at", "attempts", "last_error"]
    list_filter = ["channel", "kind", "delivered_at"]
    fields = [f.name for f in Notification._meta.fields if f.name not in ("id", "attachment_content")]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
