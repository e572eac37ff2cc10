"""HTML pages of referrals. Views parse, call a selector or service and render; every referral comes
from ``Referral.objects.visible_to`` (through the selectors), so anything outside a person's scope
answers 404 like a referral that does not exist."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from agencies.models import OFFICE_ROLES, POLICE_ROLES, Role, has_role

from . import selectors
from .forms import AssignOfficeForm, ReferralForms
from .models import Referral, Status
from .pagination import InvalidCursor, keyset_page
from .services import referral_assign_office, referral_save

PAGE_SIZE = 25


def _require_role(user, *roles) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied


def _page(request, queryset, ordering):
    """One keyset page; an invalid cursor (edited or stale link) shows the first page instead."""
    cursor = request.GET.get("cursor") or None
    try:
        return keyset_page(queryset, ordering=ordering, cursor=cursor, size=PAGE_SIZE), bool(cursor)
    except InvalidCursor:
        messages.warning(request, _("The page link was invalid; showing the first page."))
        return keyset_page(queryset, ordering=ordering, cursor=None, size=PAGE_SIZE), False


@login_required
def home(request):
    """Send each person to the page of their role."""
    user = request.user
    if has_role(user, *POLICE_ROLES):
        return redirect("referrals:list")
    if has_role(user, *OFFICE_ROLES):
        return redirect("referrals:inbox")
    if has_role(user, Role.DISTRICT_COORDINATOR):
        return redirect("referrals:triage")
    return render(request, "referrals/no_role.html")


@login_required
def referral_create(request):
    _require_role(request.user, *POLICE_ROLES)
    return _referral_form(request, referral=None)


@login_required
def referral_edit(request, pk):
    drafts = Referral.objects.visible_to(request.user).filter(status=Status.DRAFT, created_by=request.user)
    referral = get_object_or_404(drafts.prefetch_related("children", "persons"), pk=pk)
    return _referral_form(request, referral=referral)


def _referral_form(request, *, referral: Referral | None):
    """The one form of a referral (new or draft). On any error the page comes back with everything
    typed still in it; nothing is saved unless the whole referral is."""
    forms = ReferralForms(request.POST if request.method == "POST" else None, referral=referral)
    if request.method == "POST":
        submit = request.POST.get("action") == "submit"
        if forms.is_valid(submit=submit):
            try:
                saved = referral_save(user=request.user, referral=referral, submit=submit, **forms.service_args())
            except ValidationError as exc:
                forms.add_service_errors(exc)
            else:
                messages.success(request, _success_message(saved, submitted=submit))
                return redirect("referrals:detail", pk=saved.pk)
    context = {"forms": forms, "referral": referral, "error_summary": forms.error_summary()}
    return render(request, "referrals/referral_form.html", context)


def _success_message(referral: Referral, *, submitted: bool) -> str:
    values = {"reference": referral.reference}
    if not submitted:
        return _("Draft %(reference)s saved.") % values
    if referral.status == Status.TRIAGE:
        return (
            _(
                "Referral %(reference)s submitted. The address could not be assigned to a youth office; "
                "it is in the triage queue of the district coordination office."
            )
            % values
        )
    return _("Referral %(reference)s submitted to %(office)s.") % {**values, "office": referral.youth_office.name}


@login_required
def station_list(request):
    _require_role(request.user, *POLICE_ROLES)
    page, paged = _page(request, selectors.station_referrals_for(request.user), selectors.STATION_ORDERING)
    return render(request, "referrals/station_list.html", {"page": page, "paged": paged})


@login_required
def inbox(request):
    _require_role(request.user, *OFFICE_ROLES)
    page, paged = _page(request, selectors.inbox_for(request.user), selectors.INBOX_ORDERING)
    return render(request, "referrals/inbox.html", {"page": page, "paged": paged})


@login_required
def triage_queue(request):
    _require_role(request.user, Role.DISTRICT_COORDINATOR)
    page, paged = _page(request, selectors.triage_queue_for(request.user), selectors.TRIAGE_ORDERING)
    return render(request, "referrals/triage.html", {"page": page, "paged": paged})


@login_required
def referral_detail(request, pk):
    """The referral as filed — or, for the district coordinator on a triaged referral, only the
    summary needed to route it."""
    visible = Referral.objects.visible_to(request.user).select_related(
        "station", "police_authority", "youth_office", "created_by"
    )
    referral = get_object_or_404(visible, pk=pk)
    if selectors.can_read_contents(request.user, referral):
        prefetch_related_objects([referral], "children", "persons")
        context = {
            "referral": referral,
            "can_edit": referral.is_draft and referral.created_by_id == request.user.pk,
        }
        return render(request, "referrals/detail.html", context)
    return render(request, "referrals/triage_summary.html", {"referral": referral, "form": AssignOfficeForm()})


@login_required
@require_POST
def assign_office(request, pk):
    referral = get_object_or_404(selectors.triage_queue_for(request.user), pk=pk)
    form = AssignOfficeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a youth office from the list."))
        return redirect("referrals:detail", pk=referral.pk)
    office = form.cleaned_data["office"]
    try:
        referral_assign_office(referral=referral, user=request.user, office=office)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("referrals:detail", pk=referral.pk)
    messages.success(
        request,
        _("Referral %(reference)s assigned to %(office)s.") % {"reference": referral.reference, "office": office.name},
    )
    return redirect("referrals:triage")
