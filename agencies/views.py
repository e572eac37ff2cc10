"""Pages of a person's account: login with the second factor, sessions ("log out everywhere",
keep-alive), API tokens, and what an office lead does for their people (tokens, second-factor reset)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.middleware import session_activity_record

from . import mfa
from .actor import actor_of
from .models import Agency, ApiToken, BackupCodeDevice
from .services import admin_log_change, person_sessions_end, token_issue, token_revoke


def agencies_managed_by(user) -> list[int]:
    """The agencies whose people ``user`` issues API tokens for: an office lead their youth office, a
    police coordinator their police authority and its stations. Nobody else (administrators use the
    admin site). One query for the stations, on top of the memberships loaded once per request."""
    actor = actor_of(user)
    offices = sorted(actor.lead_office_ids)
    authorities = sorted(actor.authority_ids)
    stations = (
        list(Agency.objects.filter(parent_id__in=authorities, is_active=True).values_list("pk", flat=True))
        if authorities
        else []
    )
    return offices + authorities + stations


def people_managed_by(user, agency_ids=None):
    """Active people with a membership in an agency ``user`` manages (``agencies_managed_by``), with
    whether they hold an API token, since when and when it was last used. The key is not stored; its
    digest is never loaded."""
    agency_ids = agencies_managed_by(user) if agency_ids is None else agency_ids
    tokens = ApiToken.objects.filter(user=OuterRef("pk"))
    apps = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
    recovery = BackupCodeDevice.objects.filter(user=OuterRef("pk"), purpose=BackupCodeDevice.Purpose.RECOVERY)
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__agency_id__in=agency_ids, memberships__agency__is_active=True)
        .distinct()
        .annotate(
            has_token=Exists(tokens),
            token_created=Subquery(tokens.values("created_at")[:1]),
            token_last_used=Subquery(tokens.values("last_used_at")[:1]),
            has_app=Exists(apps),
            recovery_pending=Exists(recovery),
        )
        .order_by("last_name", "first_name", "username")
    )


def _managed_person(request, pk):
    """The person ``pk`` if the requester manages them: 403 for a requester who manages nobody,
    404 for a person outside their agencies (the same as one that does not exist)."""
    agency_ids = agencies_managed_by(request.user)
    if not agency_ids:
        raise PermissionDenied
    return get_object_or_404(people_managed_by(request.user, agency_ids), pk=pk)


@login_required
def account(request):
    has_token = ApiToken.objects.filter(user=request.user).exists()
    return render(
        request,
        "agencies/account.html",
        {
            "memberships": list(actor_of(request.user).memberships),
            "has_token": has_token,
            "can_manage_tokens": bool(agencies_managed_by(request.user)),
            "app": mfa.totp_device(request.user),
            "backup_codes_left": mfa.backup_codes_left(request.user),
        },
    )


# --- Login and the second factor (agencies.mfa) --------------------------------------------------


class Login(LoginView):
    """Django's login, plus the notice of the demo mode. The second factor follows as its own step
    (``mfa_verify``): config.middleware.SecondFactorMiddleware sends every unverified session there."""

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "demo_mode": settings.DEMO_MODE}


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"),
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "none",
                "spellcheck": "false",
            }
        ),
        error_messages={"required": gettext_lazy("Enter the code.")},
    )


def _next_url(request, default="referrals:home"):
    """Where to go after the second factor: ``next`` if it is a path of this site, else ``default``."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        return target
    return default


def _wrong_code(request, form, *, throttled_before: bool) -> None:
    """One wrong code is a wrong code ("Code falsch"), even though it already holds the next attempt
    for a second; only an attempt made while the wait still ran is refused as "too many" (issue 16)."""
    until = mfa.mfa_throttled_until(request.user)
    if throttled_before and until is not None:
        seconds = max(1, int((until - timezone.now()).total_seconds() + 0.999))
        message = ngettext(
            "Too many wrong codes. Wait %(seconds)d second before the next attempt.",
            "Too many wrong codes. Wait %(seconds)d seconds before the next attempt.",
            seconds,
        )
        form.add_error("code", message % {"seconds": seconds})
    else:
        form.add_error("code", _("The code is not correct or has already been used. Please try again."))


@login_required
def mfa_verify(request):
    """The second step of the login: the code of the authenticator app, a backup code or a recovery
    code. A correct code marks the session as verified and gives it a new key."""
    user = request.user
    if user.is_verified():
        return redirect(_next_url(request))
    if not user_has_device(user):
        return redirect("mfa_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttled_before = mfa.mfa_throttled_until(user) is not None
        device = mfa.mfa_verify(user=user, code=form.cleaned_data["code"])
        mfa.log_attempt(request, user, device, step="login")
        if device is not None:
            request.session.cycle_key()
            otp_login(request, device)
            if mfa.is_recovery_login(user):
                messages.info(request, _("Recovery code accepted. Now set up your authenticator app."))
                return redirect("mfa_enrol")
            if isinstance(device, BackupCodeDevice):
                left = mfa.backup_codes_left(user)
                messages.warning(
                    request,
                    _("Backup code used. %(left)d backup codes are left; you can create new ones in your account.")
                    % {"left": left},
                )
            return redirect(_next_url(request))
        _wrong_code(request, form, throttled_before=throttled_before)
    return render(request, "agencies/mfa_verify.html", {"form": form, "next": _next_url(request, default="")})


@login_required
def mfa_enrol(request):
    """Set up (or replace) the authenticator app. Without any second factor the password suffices
    (first set-up); a person who has one must have proved it in this session."""
    user = request.user
    if not user.is_verified() and user_has_device(user):
        return redirect("mfa_verify")
    device = mfa.mfa_enrol_start(user=user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttled_before = mfa.mfa_throttled_until(user) is not None
        codes = mfa.mfa_enrol_confirm(user=user, device=device, code=form.cleaned_data["code"])
        mfa.log_attempt(request, user, device if codes is not None else None, step="set-up")
        if codes is not None:
            request.session.cycle_key()
            otp_login(request, TOTPDevice.objects.get(pk=device.pk))
            context = {"codes": codes, "enrolled": True, "next": _next_url(request)}
            return render(request, "agencies/mfa_backup_codes.html", context)
        _wrong_code(request, form, throttled_before=throttled_before)
    context = {
        "form": form,
        "qr": mfa.totp_qr_data_uri(device),
        "secret": mfa.totp_secret_text(device),
        "replacing": mfa.totp_device(user) is not None,
        "next": _next_url(request, default=""),
    }
    return render(request, "agencies/mfa_enrol.html", context)


@login_required
def mfa_backup_codes(request):
    """New backup codes (the old ones stop working), shown once; asked for on a confirmation page."""
    if request.method == "POST":
        codes = mfa.backup_codes_issue(user=request.user)
        return render(request, "agencies/mfa_backup_codes.html", {"codes": codes, "enrolled": False})
    return render(request, "agencies/mfa_backup_confirm.html", {"left": mfa.backup_codes_left(request.user)})


@login_required
def mfa_reset_view(request, pk):
    """An office lead removes the second factor of one of their people who lost it, and receives a
    recovery code to hand over after checking who is asking (shown on this answer only)."""
    person = _managed_person(request, pk)
    if person.pk == request.user.pk:
        messages.error(request, _("Set up your own authenticator app in your account."))
        return redirect("token_list")
    if request.method == "POST":
        code = mfa.mfa_reset(user=person, by=request.user)
        # A forgotten password too (the box on the confirmation page): a one-time password, shown once.
        password = mfa.password_reset_by_lead(user=person, by=request.user) if request.POST.get("password") else None
        context = {"person": person, "code": code, "password": password, "hours": settings.MFA_RECOVERY_HOURS}
        return render(request, "agencies/mfa_reset_done.html", context)
    return render(request, "agencies/mfa_reset_confirm.html", {"person": person})


@login_required
@require_POST
def logout_everywhere(request):
    """End every session of the requester (this one included) and revoke their API token."""
    user = request.user
    person_sessions_end(user=user)
    logout(request)
    messages.success(request, _("You have been logged out on every device."))
    return redirect("login")


@require_POST
def keepalive(request):
    """Called by static/js/session.js while the person works and by its "Stay logged in": the request
    is recorded as activity at once (``session_activity_record``, not only once a minute like other
    requests). Answers the seconds left, or 401 when the session has ended."""
    if not request.user.is_authenticated:
        return JsonResponse({"remaining": 0}, status=401)
    session_activity_record(request)
    return JsonResponse({"remaining": request.session_remaining})


@login_required
def token_list(request):
    agency_ids = agencies_managed_by(request.user)
    if not agency_ids:
        raise PermissionDenied
    return render(request, "agencies/token_list.html", {"people": people_managed_by(request.user, agency_ids)})


@login_required
@require_POST
def token_issue_view(request, pk):
    """Issue a token and show its key on this answer only: it is not stored anywhere it could be
    shown again (no message, no session, no redirect)."""
    person = _managed_person(request, pk)
    if ApiToken.objects.filter(user=person).exists() and request.POST.get("confirm") != "1":
        # A new token replaces the old one at once: programs using it stop working. Asked first, as revoking
        # is (QA of 2026-12-05).
        return render(request, "agencies/token_replace.html", {"person": person})
    key = token_issue(user=person, by=request.user)
    admin_log_change(by=request.user, obj=person, message=_("API token issued"))
    return render(request, "agencies/token_issued.html", {"person": person, "key": key})


@login_required
def token_revoke_view(request, pk):
    person = _managed_person(request, pk)
    if request.method == "POST":
        if token_revoke(user=person, by=request.user):
            admin_log_change(by=request.user, obj=person, message=_("API token revoked"))
        messages.success(request, _("The API token has been revoked."))
        return redirect("token_list")
    return render(request, "agencies/token_revoke.html", {"person": person})


def lockout(request, original_response=None, credentials=None):
    """The page django-axes answers while a username is locked for the address (AXES_LOCKOUT_CALLABLE)."""
    context = {
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "registration/lockout.html", context, status=429)
