from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from .models import Agency, District, JurisdictionArea, Membership


class JurisdictionAreaInline(admin.TabularInline):
    model = JurisdictionArea
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "code", "district", "parent", "is_24h", "is_active"]
    list_filter = ["district", "kind", "is_active"]
    search_fields = ["name", "code", "city"]
    inlines = [JurisdictionAreaInline, MembershipInline]

    def get_inlines(self, request, obj):
        if obj is not None and obj.kind == "youth_office":
            return [JurisdictionAreaInline, MembershipInline]
        return [MembershipInline]


@admin.register(JurisdictionArea)
class JurisdictionAreaAdmin(admin.ModelAdmin):
    list_display = ["postcode", "youth_office", "city_names", "shared_with"]
    list_filter = ["youth_office"]
    search_fields = ["postcode", "city_names"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "agency"]
    list_filter = ["role", "agency__kind", "agency"]
    search_fields = ["user__username", "user__last_name", "agency__name"]
    autocomplete_fields = ["user", "agency"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(UserAdmin):
    inlines = [MembershipInline]
