"""The cooperation programme in the admin site: read-only and scoped like every other interface.

State changes go through the services (pages and API), which notify the participants; an admin
edit would bypass them. Lists use the models' ``visible_to``, so an administrator without a
membership sees nothing of the programme. What an administrator configures here is the number of
visitors an agency hosts per day.
"""

from django.contrib import admin

from .models import Hospitation, HostCapacity, InfoEvent, Meeting, MeetingSeries


class ReadOnlyScopedAdmin(admin.ModelAdmin):
    scoped_model = None
    related = ()

    def get_queryset(self, request):
        return self.scoped_model.objects.visible_to(request.user).select_related(*self.related)

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MeetingSeries)
class MeetingSeriesAdmin(ReadOnlyScopedAdmin):
    scoped_model = MeetingSeries
    related = ("district",)
    list_display = ["title", "district", "rrule", "first_start", "is_active"]
    list_filter = ["is_active"]
    fields = ["title", "district", "rrule", "first_start", "duration_minutes", "location", "horizon_days", "is_active"]


@admin.register(Meeting)
class MeetingAdmin(ReadOnlyScopedAdmin):
    scoped_model = Meeting
    related = ("series",)
    list_display = ["series", "start", "status", "sequence"]
    list_filter = ["status"]
    fields = ["series", "occurrence", "start", "end", "location", "status", "sequence", "uid"]


@admin.register(Hospitation)
class HospitationAdmin(ReadOnlyScopedAdmin):
    scoped_model = Hospitation
    related = ("requester_agency", "host_agency")
    list_display = ["requester_agency", "host_agency", "status", "date", "created_at"]
    list_filter = ["status"]
    fields = ["requester_agency", "host_agency", "status", "date", "created_at"]


@admin.register(InfoEvent)
class InfoEventAdmin(ReadOnlyScopedAdmin):
    scoped_model = InfoEvent
    related = ("host_agency",)
    list_display = ["title", "host_agency", "start", "capacity", "registration_deadline", "is_cancelled"]
    list_filter = ["audience", "is_cancelled"]
    fields = ["title", "host_agency", "audience", "start", "end", "place", "capacity", "registration_deadline"]


@admin.register(HostCapacity)
class HostCapacityAdmin(admin.ModelAdmin):
    """How many visitors an agency hosts per day (without a row: ``HOSPITATION_MAX_PER_DAY``)."""

    list_display = ["agency", "max_visitors_per_day"]
    autocomplete_fields = ["agency"]
