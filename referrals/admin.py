"""Referrals in the admin site: routing metadata only, scoped like every other interface.

Administrators manage accounts and agencies; they do not read case contents. The list and change
views use ``Referral.objects.visible_to`` (an administrator without a membership sees nothing) and
show no children, persons or facts, and nothing here changes a referral: state changes go through
the services (referrals.services), which write the case history and notify the participants.
"""

from django.contrib import admin

from .models import Referral

METADATA = ["reference", "status", "urgency", "station", "youth_office", "triage_reason", "created_at", "submitted_at"]


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = METADATA
    list_filter = ["status", "urgency"]
    fields = METADATA
    readonly_fields = METADATA

    def get_queryset(self, request):
        return Referral.objects.visible_to(request.user).select_related("station", "youth_office")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
