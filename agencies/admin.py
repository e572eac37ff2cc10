from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from .models import Agency, District, JurisdictionArea, Membership
from .services import person_deactivate


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
    actions = ["deactivate_everywhere"]

    @admin.action(description=_("Deactivate and log out everywhere"), permissions=["change"])
    def deactivate_everywhere(self, request, queryset):
        """Unchecking "active" in the form has the same effect (agencies.signals); this does it for
        several people at once."""
        count = 0
        for person in queryset.exclude(pk=request.user.pk):
            person_deactivate(user=person, by=request.user)
            count += 1
        if queryset.filter(pk=request.user.pk).exists():
            messages.warning(request, _("You cannot deactivate yourself."))
        self.message_user(
            request,
            ngettext(
                "%(count)d person deactivated and logged out everywhere.",
                "%(count)d people deactivated and logged out everywhere.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


# API tokens: the key is shown once when it is issued (by an office lead or police coordinator on
# /accounts/tokens/) and never listed afterwards, not even here. Administrators see who holds a token
# and revoke it (delete); a token added here shows its key on the answer to the form, once.
admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class ApiTokenAdmin(TokenAdmin):
    list_display = ("user", "created")

    def has_change_permission(self, request, obj=None):
        return False

    def response_add(self, request, obj, post_url_continue=None):
        return render(request, "agencies/token_issued.html", {"person": obj.user, "key": obj.key, "admin": True})
