"""The admin site: technical administrators manage people, agencies, postcodes and settings.

It shows no case contents — no children, persons, facts, notes, attachments, assessments — and no
secrets (API token keys, TOTP keys, backup codes): referrals appear with their routing metadata only
(referrals.admin), the cooperation programme read-only (meetings.admin). Every change made here is in
Django's admin log (``LogEntry``): the form views write it themselves, the actions below write one
entry per object, and the log is readable by superusers only and cannot be changed or deleted here.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import NestedObjects, quote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import router
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from .mfa import mfa_reset
from .models import Agency, ApiToken, ContactPerson, District, JurisdictionArea, Membership, OfficeHours
from .services import person_deactivate, token_issue, token_revoke


def deleted_objects_summary(objs, request, admin_site):
    """``django.contrib.admin.utils.get_deleted_objects`` without the contents of what a deletion
    takes along: Django names every cascaded or protecting object by its ``str()``, which for an
    agenda item is its text (and for rest_framework's tokens, before agencies.ApiToken, was the
    key). Objects of a model the admin site manages keep their name and link; all others are named
    by their kind and number only."""
    try:
        obj = objs[0]
    except IndexError:
        return [], {}, set(), []
    collector = NestedObjects(using=router.db_for_write(obj._meta.model), origin=objs)
    collector.collect(objs)
    perms_needed = set()

    def format_callback(obj):
        opts = obj._meta
        if not admin_site.is_registered(obj.__class__):
            kind = capfirst(opts.verbose_name)
            return f"{kind}: #{obj.pk}" if isinstance(obj.pk, int) else kind  # a non-integer key may be a secret
        if not admin_site.get_model_admin(obj.__class__).has_delete_permission(request, obj):
            perms_needed.add(opts.verbose_name)
        try:
            url = reverse(f"{admin_site.name}:{opts.app_label}_{opts.model_name}_change", args=(quote(obj.pk),))
        except NoReverseMatch:
            return f"{capfirst(opts.verbose_name)}: {obj}"
        return format_html('{}: <a href="{}">{}</a>', capfirst(opts.verbose_name), url, obj)

    to_delete = collector.nested(format_callback)
    protected = [format_callback(obj) for obj in collector.protected]
    model_count = {model._meta.verbose_name_plural: len(objs) for model, objs in collector.model_objs.items()}
    return to_delete, model_count, perms_needed, protected


class NoContentsOnDeleteMixin:
    """The confirmation page of a deletion (and of the "delete selected" action) lists what goes
    with it without printing the contents of objects the admin does not manage."""

    def get_deleted_objects(self, objs, request):
        return deleted_objects_summary(objs, request, self.admin_site)


class JurisdictionAreaInline(admin.TabularInline):
    model = JurisdictionArea
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class OfficeHoursInline(admin.TabularInline):
    model = OfficeHours
    extra = 0


class ContactPersonInline(admin.TabularInline):
    model = ContactPerson
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(District)
class DistrictAdmin(NoContentsOnDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "slug"]
    search_fields = ["name", "slug"]


@admin.register(Agency)
class AgencyAdmin(NoContentsOnDeleteMixin, admin.ModelAdmin):
    list_display = ["name", "kind", "code", "district", "parent", "is_24h", "is_active"]
    list_filter = ["district", "kind", "is_active"]
    search_fields = ["name", "code", "city"]
    inlines = [JurisdictionAreaInline, MembershipInline]

    def get_inlines(self, request, obj):
        # The directory entry (issue 9) is kept by the agency itself on its page; the admin can mend it.
        if obj is not None and obj.kind == "youth_office":
            return [JurisdictionAreaInline, OfficeHoursInline, ContactPersonInline, MembershipInline]
        return [OfficeHoursInline, ContactPersonInline, MembershipInline]


@admin.register(JurisdictionArea)
class JurisdictionAreaAdmin(NoContentsOnDeleteMixin, admin.ModelAdmin):
    list_display = ["postcode", "municipality", "ags", "youth_office", "city_names", "shared_with"]
    list_filter = ["youth_office__district", "youth_office"]
    search_fields = ["postcode", "municipality", "ags", "city_names"]


@admin.register(Membership)
class MembershipAdmin(NoContentsOnDeleteMixin, admin.ModelAdmin):
    list_display = ["user", "role", "agency"]
    list_filter = ["role", "agency__kind", "agency"]
    search_fields = ["user__username", "user__last_name", "agency__name"]
    autocomplete_fields = ["user", "agency"]


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PersonAdmin(NoContentsOnDeleteMixin, UserAdmin):
    inlines = [MembershipInline]
    actions = ["deactivate_everywhere", "reset_second_factor"]

    @admin.action(description=_("Deactivate and log out everywhere"), permissions=["change"])
    def deactivate_everywhere(self, request, queryset):
        """Unchecking "active" in the form has the same effect (agencies.signals); this does it for
        several people at once. Each person gets an entry in the admin log."""
        count = 0
        for person in queryset.exclude(pk=request.user.pk):
            person_deactivate(user=person, by=request.user)
            self.log_change(request, person, gettext("Deactivated and logged out everywhere."))
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

    @admin.action(description=_("Reset second factor and issue a recovery code"), permissions=["change"])
    def reset_second_factor(self, request, queryset):
        """For one person who lost their second factor (agencies.mfa.mfa_reset, which writes the admin
        log entry): the recovery code is on this answer only, to be handed over after checking who is
        asking."""
        if len(people := list(queryset[:2])) != 1:
            self.message_user(request, _("Select exactly one person to reset their second factor."), messages.WARNING)
            return None
        person = people[0]
        if person.pk == request.user.pk:
            self.message_user(request, _("Set up your own authenticator app in your account."), messages.ERROR)
            return None
        if request.POST.get("confirm") != "yes":  # first ask, as the lead's page does
            return render(request, "agencies/mfa_reset_confirm.html", {"person": person, "admin": True})
        code = mfa_reset(user=person, by=request.user)
        context = {"person": person, "code": code, "hours": settings.MFA_RECOVERY_HOURS, "admin": True}
        return render(request, "agencies/mfa_reset_done.html", context)


# Second factors: the TOTP key is a secret of its holder, and django-otp's admin shows it (and would
# let an administrator add a device to someone else's account). A person sets up their factor at
# /accounts/second-factor/setup/; recovery is the office lead's page or PersonAdmin's action above.
# django_otp's plugin comes before "agencies" in INSTALLED_APPS, so its admin module has run when
# this one runs; should that change, unregister() fails loudly at start-up instead of leaving it.
admin.site.unregister(TOTPDevice)
# (django_otp's static plugin is not installed: backup codes are agencies.BackupCodeDevice, stored hashed.)


# API tokens: the key is shown once when it is issued (by an office lead or police coordinator on
# /accounts/tokens/, by an administrator here, or by `manage.py issue_token`) and is not stored: the
# database holds its digest, which is shown nowhere. Administrators see who holds a token (with the
# first characters of its key, when it was issued and last used) and revoke it (delete); a token
# added here replaces the person's earlier one and shows its key on the answer to the form, once.
class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user"]

    def validate_unique(self):
        """A person who holds a token gets a new one that replaces it (``token_issue``)."""


@admin.register(ApiToken)
class ApiTokenAdmin(NoContentsOnDeleteMixin, admin.ModelAdmin):
    form = ApiTokenAddForm
    list_display = ["user", "prefix", "created_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    ordering = ["-created_at"]
    autocomplete_fields = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def get_fields(self, request, obj=None):
        return ["user"] if obj is None else ["user", "prefix", "created_at", "last_used_at"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """Issue through the service: the new key goes to the answer (``response_add``) only."""
        obj.issued_key = token_issue(user=obj.user, by=request.user)
        saved = ApiToken.objects.get(user=obj.user)
        obj.digest, obj.prefix, obj.created_at = saved.digest, saved.prefix, saved.created_at
        obj._state.adding = False

    def response_add(self, request, obj, post_url_continue=None):
        context = {"person": obj.user, "key": obj.issued_key, "admin": True}
        return render(request, "agencies/token_issued.html", context)

    def delete_model(self, request, obj):
        token_revoke(user=obj.user, by=request.user)

    def delete_queryset(self, request, queryset):
        for token in queryset.select_related("user"):
            token_revoke(user=token.user, by=request.user)


# The admin log itself: read by superusers, written only by the admin site, never changed or
# deleted here (a person with entries cannot be deleted through the admin either: the log entries
# would go with them).
# Entries about rest_framework's tokens (before agencies.ApiToken) may name the token by its key.
TOKEN_MODELS = {("authtoken", "token"), ("authtoken", "tokenproxy")}


@admin.register(LogEntry)
class LogEntryAdmin(admin.ModelAdmin):
    list_display = ["action_time", "user", "content_type", "object_name", "action_flag", "change_text"]
    list_filter = [
        "action_flag",
        ("content_type", admin.RelatedOnlyFieldListFilter),
        ("user", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["object_repr", "object_id", "change_message", "user__username"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
    actions = None
    fields = ["action_time", "user", "content_type", "object_id", "object_name", "action_flag", "change_text"]
    readonly_fields = fields

    @admin.display(description=_("object"), ordering="object_repr")
    def object_name(self, entry):
        """Entries written before tokens had a name of their own carry the key: not shown."""
        ct = entry.content_type
        if ct is not None and (ct.app_label, ct.model) in TOKEN_MODELS:
            return gettext("API token of person %(id)s") % {"id": entry.object_id}
        return entry.object_repr

    def get_object(self, request, object_id, from_field=None):
        """The entry's name (page title, breadcrumbs) without a token key; the admin never saves it."""
        entry = super().get_object(request, object_id, from_field)
        if entry is not None:
            entry.object_repr = self.object_name(entry)
        return entry

    @admin.display(description=_("change message"))
    def change_text(self, entry):
        return entry.get_change_message()

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
