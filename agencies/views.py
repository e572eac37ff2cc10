"""Pages of a person's account: sessions ("log out everywhere", keep-alive) and API tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Subquery
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from .models import Agency, Role, memberships_of
from .services import person_sessions_end, token_issue, token_revoke


def agencies_managed_by(user) -> list[int]:
    """The agencies whose people ``user`` issues API tokens for: an office lead their youth office, a
    police coordinator their police authority and its stations. Nobody else (administrators use the
    admin site). One query for the stations, on top of the memberships loaded once per request."""
    offices = [m.agency_id for m in memberships_of(user) if m.role == Role.OFFICE_LEAD]
    authorities = [m.agency_id for m in memberships_of(user) if m.role == Role.POLICE_COORDINATOR]
    stations = (
        list(Agency.objects.filter(parent_id__in=authorities, is_active=True).values_list("pk", flat=True))
        if authorities
        else []
    )
    return offices + authorities + stations


def people_managed_by(user, agency_ids=None):
    """Active people with a membership in an agency ``user`` manages (``agencies_managed_by``), with
    whether they hold an API token and since when. The key itself is never loaded."""
    agency_ids = agencies_managed_by(user) if agency_ids is None else agency_ids
    tokens = Token.objects.filter(user=OuterRef("pk"))
    return (
        get_user_model()
        .objects.filter(is_active=True, memberships__agency_id__in=agency_ids, memberships__agency__is_active=True)
        .distinct()
        .annotate(has_token=Exists(tokens), token_created=Subquery(tokens.values("created")[:1]))
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
    has_token = Token.objects.filter(user=request.user).exists()
    return render(
        request,
        "agencies/account.html",
        {
            "memberships": memberships_of(request.user),
            "has_token": has_token,
            "can_manage_tokens": bool(agencies_managed_by(request.user)),
        },
    )


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
    """Called by static/js/session.js while the person works: the request itself counts as activity
    (config.middleware.SessionTimeoutMiddleware). Answers the seconds left, or 401 when the session
    has ended."""
    if not request.user.is_authenticated:
        return JsonResponse({"remaining": 0}, status=401)
    return JsonResponse({"remaining": getattr(request, "session_remaining", 0)})


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
    token = token_issue(user=person, by=request.user)
    return render(request, "agencies/token_issued.html", {"person": person, "key": token.key})


@login_required
def token_revoke_view(request, pk):
    person = _managed_person(request, pk)
    if request.method == "POST":
        token_revoke(user=person, by=request.user)
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
