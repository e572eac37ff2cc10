"""Admin of the shared services: the file deletions still waiting for their store (read-only)."""

from django.contrib import admin

from .models import FileDeletion


@admin.register(FileDeletion)
class FileDeletionAdmin(admin.ModelAdmin):
    """Files whose deletion failed and is retried by beat (core.storage): an operator sees how many,
    since when and why (the error's class). Nobody adds or removes a row by hand — a removed row
    would be a file that is never deleted."""

    list_display = ["name", "field", "attempts", "last_error", "last_attempt_at", "created_at"]
    list_filter = ["field", "last_error"]
    search_fields = ["name"]
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
