from django.contrib import admin

from .models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """Delivery status of the outbox, for operations. Texts carry references only."""

    list_display = ["subject", "channel", "kind", "created_at", "delivered_at", "attempts", "last_error"]
    list_filter = ["channel", "kind", "delivered_at"]
    readonly_fields = [f.name for f in Notification._meta.fields]

    def has_add_permission(self, request):
        return False
