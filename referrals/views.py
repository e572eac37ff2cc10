"""HTML pages of referrals. Views parse, call a selector or service and render; every referral comes
from ``Referral.objects.visible_to`` (through the selectors), so anything outside a person's scope
answers 404 like a referral that does not exist."""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, prefetch_related_objects
from django.http import FileResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, POLICE_ROLES, Agency, AgencyKind, Role
from agencies.routing import route_preview
from core.idempotency import Replay, form_claim, form_token, idempotency_store
from core.pagination import InvalidCursor, keyset_page
from core.storage import STORE_RETRY_AFTER, StoreUnavailable, open_for_download

from . import selectors
from .access import ReferralAccess, referral_access, referral_for
from .access_log import access_log_record, access_log_search_hits, attachment_or_denied
from .assessment_forms import ChildAssessmentForm, assessment_people, child_assessment_form
from .dialogue import open_question_counts, questions_for, station_open_questions
from .dialogue_forms import QuestionForm
from .dialogue_pages import police_dialogue_context
from .forms import (
    INBOX_TABS,
    AcceptForm,
    AcknowledgeForm,
    AssessmentForm,
    AssignForm,
    AssignOfficeForm,
    AttachmentForm,
    BulkAssignForm,
    CloseForm,
    ExportForm,
    FollowUpForm,
    ForwardForm,
    GrantForm,
    InboxFilterForm,
    InboxTab,
    NoteForm,
    ReferralForms,
    ReopenForm,
    RerateForm,
    RetentionRuleForm,
    ReturnForm,
    SignOffForm,
    TakeOverForm,
    office_people,
)
from .grants import grant_create, grant_revoke, grantable_people, grants_of, lead_may_grant
from .handover import referral_hand_over
from .models import AccessLogEntry, Referral, ReferralEvent, Status
from .police_list import police_search
from .presenters import (
    assessment_state,
    describe_events,
    feedback_label,
    person_name,
    police_badge,
    repeat_hints,
    repeat_total,
)
from .retention import (
    draft_retention_days,
    retention_dry_run,
    retention_office_ids,
    retention_rule_check,
    retention_rule_create,
    retention_rule_withdraw,
    rules_for_lead,
    rules_in_force,
)
from .screening import screening_save, screening_sign_off
from .screening_forms import ScreeningForm, ScreeningSignOffForm
from .services import (
    Conflict,
    assessment_save,
    assessment_sign_off,
    attachment_add,
    followup_add,
    note_add,
    referral_accept,
    referral_acknowledge,
    referral_assign,
    referral_assign_office,
    referral_case_number_warnings,
    referral_close,
    referral_forward,
    referral_reopen,
    referral_rerate,
    referral_return,
    referral_save,
)
from .task_views import case_context as followthrough_context
from .task_views import inbox_rows as followthrough_inbox_rows
from .task_views import office_page_forms as followthrough_page_forms
from .task_views import page_actions as followthrough_page_actions
from .transitions import Action, latest_assessment, transition_check, transitions_of, transitions_offered

PAGE_SIZE = 25
SUBMISSION_ID_FIELD = "submission_id"


def _require_role(user, *roles) -> None:
    if not actor_of(user).has_role(*roles):
        raise PermissionDenied


def _at_cursor(request, read):
    """``read(cursor)`` for the request's cursor, and whether there was one; an invalid cursor (edited
    or stale link) shows the first page instead."""
    cursor = request.GET.get("cursor") or None
    try:
        return read(cursor), bool(cursor)
    except InvalidCursor:
        messages.warning(request, _("The page link was invalid; showing the first page."))
        return read(None), False


def _page(request, queryset, ordering, branches=()):
    """One keyset page (``_at_cursor``). ``branches``: the scope's branches, read apart and merged
    (``core.pagination.keyset_page``)."""
    return _at_cursor(
        request,
        lambda cursor: keyset_page(queryset, ordering=ordering, cursor=cursor, size=PAGE_SIZE, branches=branches),
    )


@login_required
def home(request):
    """Send each person to the page of their role."""
    actor = actor_of(request.user)
    if actor.has_role(*POLICE_ROLES):
        return redirect("referrals:list")
    if actor.has_role(*OFFICE_ROLES):
        return redirect("referrals:inbox")
    if actor.has_role(Role.DISTRICT_COORDINATOR):
        return redirect("referrals:triage")
    if actor.has_role(Role.DATA_PROTECTION_OFFICER):
        return redirect("referrals:access_log")
    return render(request, "referrals/no_role.html")


@login_required
def referral_create(request):
    _require_role(request.user, *POLICE_ROLES)
    return _referral_form(request, referral=None)


@login_required
def referral_edit(request, pk):
    drafts = Referral.objects.visible_to(request.user).filter(status=Status.DRAFT, created_by=request.user)
    referral = referral_for(request, pk, queryset=drafts.prefetch_related("children", "persons")).referral
    if request.method == "GET":  # the page shows the children and persons: a read (a save is not)
        access_log_record(request=request, action=AccessLogEntry.Action.VIEW, referral=referral)
    return _referral_form(request, referral=referral)


def _referral_form(request, *, referral: Referral | None):
    """The one form of a referral (new or draft). On any error the page comes back with everything
    typed still in it; nothing is saved unless the whole referral is."""
    forms = ReferralForms(request.POST if request.method == "POST" else None, referral=referral, filer=request.user)
    # A token per rendered form: the same form sent twice (double click, reload, a retry after a
    # timeout) files one referral and shows it (core.idempotency).
    posted_token = request.POST.get(SUBMISSION_ID_FIELD) if request.method == "POST" else None
    token = form_token(posted_token)
    # "Zuständigkeit prüfen" (the routing preview without JavaScript): nothing is saved.
    previewing = request.method == "POST" and request.POST.get("action") == "preview"
    if request.method == "POST" and not previewing:
        submit = request.POST.get("action") == "submit"
        if forms.is_valid(submit=submit):
            try:
                with transaction.atomic():
                    claim = form_claim(user=request.user, token=posted_token, path=request.path)
                    saved = referral_save(user=request.user, referral=referral, submit=submit, **forms.service_args())
                    response = redirect("referrals:detail", pk=saved.pk)
                    if claim is not None:
                        idempotency_store(claim, response)
                    warnings = referral_case_number_warnings(referral=saved, user=request.user)
            except Replay as replay:
                messages.info(request, _("This form was already sent; the referral was not filed a second time."))
                return redirect(replay.stored.response_headers["Location"])
            except ValidationError as exc:
                forms.add_service_errors(exc)
            else:
                messages.success(request, _success_message(saved, submitted=submit))
                for warning in warnings:
                    messages.warning(request, warning)
                return response
    context = {
        "forms": forms,
        "referral": referral,
        "routing_preview": _routing_preview(request) if previewing else None,
        "submission_id": token,
        "submission_id_field": SUBMISSION_ID_FIELD,
        "error_summary": forms.error_summary(),
        "draft_retention_days": draft_retention_days(),
    }
    return render(request, "referrals/referral_form.html", context)


def _routing_preview(request) -> dict:
    """Where the typed household address would go (the submission's routing function), for the
    form's "Zuständigkeit prüfen" button; everything typed stays in the form."""
    postcode = request.POST.get("household_postcode", "")[:10]
    city = request.POST.get("household_city", "")[:100]
    return route_preview(postcode=postcode, city=city, user=request.user)


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
    """What the station (or authority) filed, newest first, with search (police case number,
    reference, child's family name: ``referrals.police_list``) and a badge on each referral with a
    question of the youth office waiting for an answer. A constant number of queries per page."""
    _require_role(request.user, *POLICE_ROLES)
    user = request.user
    if request.method == "POST":
        # The search may be a child's name: kept in the session, never put in the URL (as the inbox).
        request.session["station_q"] = request.POST.get("q", "")[:100]
        return redirect("referrals:list")
    if request.GET.get("reset"):
        request.session.pop("station_q", None)
    query = request.session.get("station_q", "").strip()
    branches = [selectors.station_referrals_for(user, scope) for scope in selectors.list_branches(user)]
    page, paged = _page(
        request,
        police_search(selectors.station_referrals_for(user), query),
        selectors.STATION_ORDERING,
        [police_search(branch, query) for branch in branches],
    )
    if query:  # a search term may be a child's name: every case it lists is logged
        access_log_search_hits(request=request, referrals=page.items)
    waiting = open_question_counts([r.pk for r in page.items])
    for referral in page.items:
        referral.open_questions = waiting.get(referral.pk, 0)
        referral.police_code, referral.police_status_label = police_badge(referral)
    context = {
        "page": page,
        "paged": paged,
        "draft_retention_days": draft_retention_days(),
        "query": query,
        "open_questions": station_open_questions(user),
        "authority_wide": bool(actor_of(user).authority_ids),  # a police coordinator: the whole authority
    }
    return render(request, "referrals/station_list.html", context)


@login_required
def triage_queue(request):
    _require_role(request.user, Role.DISTRICT_COORDINATOR)
    page, paged = _page(request, selectors.triage_queue_for(request.user), selectors.TRIAGE_ORDERING)
    return render(request, "referrals/triage.html", {"page": page, "paged": paged})


def _triage_summary_again(request, referral, form):
    """A failed assignment comes back in place, the error at the field (issue 16 § 3: one pattern)."""
    offered = transitions_offered(referral_access(request.user, referral))
    export_form = ExportForm(initial=_v(referral)) if Action.EXPORT in offered else None
    context = {"referral": referral, "form": form, "export_form": export_form}
    return render(request, "referrals/triage_summary.html", context)


@login_required
@require_POST
def assign_office(request, pk):
    referral = referral_for(request, pk, queryset=selectors.triage_queue_for(request.user)).referral
    form = AssignOfficeForm(request.POST)
    if not form.is_valid():
        return _triage_summary_again(request, referral, form)
    office = form.cleaned_data["office"]
    if not form.cleaned_data["confirm"]:  # the referral leaves the queue and the coordinator's sight: ask first
        context = {"referral": referral, "form": form, "confirm": _confirm_assign_office(referral, office)}
        return render(request, "referrals/confirm_action.html", context)
    try:
        referral_assign_office(referral=referral, user=request.user, office=office)
    except ValidationError as exc:
        form.add_error("office", exc.messages)
        return _triage_summary_again(request, referral, form)
    messages.success(
        request,
        _("Referral %(reference)s assigned to %(office)s.") % {"reference": referral.reference, "office": office.name},
    )
    return redirect("referrals:triage")


def _confirm_assign_office(referral, office) -> dict:
    return {
        "title": _("Assign the referral?"),
        "heading": _("Assign referral %(reference)s to %(office)s?") % {**_ref(referral), "office": office.name},
        "points": [
            _("%(office)s becomes responsible, sees the contents of the referral and is notified at once.")
            % {"office": office.name},
            _("The referral leaves the triage queue; you no longer see it."),
        ],
        "hidden": {"office": office.pk},
        "yes": _("Yes, assign to %(office)s") % {"office": office.name},
    }


# --- Inbox ------------------------------------------------------------------------------------------


def _bulk_people(user):
    """Whom ``user`` may assign in bulk: everyone of the offices they lead, and themselves."""
    return office_people(sorted(actor_of(user).lead_office_ids), include_user=user)


@login_required
def inbox(request):
    """The office inbox: tabs with counts, search, filters, sorting, keyset pages, time left and bulk
    assignment. A constant number of queries whatever the number of rows."""
    user = request.user
    _require_role(user, *OFFICE_ROLES)
    if request.method == "POST":
        # The search term may be a child's name: it is kept in the session, never put in the URL
        # (URLs end up in access logs and browser histories). The other filters are codes and dates.
        request.session["inbox_q"] = request.POST.get("q", "")[:100]
        params = request.POST.copy()
        for name in ("q", "csrfmiddlewaretoken", "cursor"):
            params.pop(name, None)
        if request.session["inbox_q"].strip():
            params["tab"] = InboxTab.ALL  # a search looks in every tab; each hit says in which (issue 16)
        return redirect(f"{reverse('referrals:inbox')}?{params.urlencode()}")
    return _inbox_page(request, BulkAssignForm(people=_bulk_people(user)))


def _inbox_page(request, bulk_form, *, selected=(), next_url=None, status=200):
    """The inbox for ``request.GET``; after a failed bulk assignment (``next_url``: the inbox address
    the form was sent from) with its error summary, the ticked rows and the chosen person kept."""
    user = request.user
    data = request.GET.copy()
    if data.get("reset"):
        request.session.pop("inbox_q", None)
    elif "q" not in data and request.session.get("inbox_q"):
        data["q"] = request.session["inbox_q"]
    now = timezone.now()
    form = InboxFilterForm(data)
    filtered = selectors.inbox_filtered(user, form)
    if form.value("q").split():  # a search: its page and every tab's count in one query (issue 12)
        (page, counts), paged = _at_cursor(
            request, lambda cursor: selectors.inbox_search_page(filtered, user, now, form, cursor, PAGE_SIZE)
        )
    else:
        branches = [selectors.inbox_filtered(user, form, branch) for branch in selectors.inbox_branches(user)]
        counts, occupied = selectors.inbox_counts_and_branches(filtered, user, now, branches)
        tab = selectors.inbox_tab_q(form.current_tab, user, now)
        # Only the branches that hold rows are read (issue 12): mostly the office's own, read alone.
        read = [branch.filter(tab) for branch in occupied] or [filtered.none()]
        page, paged = _page(request, read[0], form.ordering, read if len(read) > 1 else [])
    selectors.with_list_names(page.items)  # two queries a page, not four joins a row query (issue 12)
    followthrough_inbox_rows(page.items, user)  # each row's next task: two queries a page (issue 14)
    if form.value("q").strip():  # a search term may be a child's name: every case it lists is logged
        access_log_search_hits(request=request, referrals=page.items)
    tabs = [
        SimpleNamespace(
            key=key, label=label, count=selectors.tab_count_shown(counts[key]), current=key == form.current_tab
        )
        for key, label in INBOX_TABS
    ]
    context = {
        "page": page,
        "paged": paged,
        "form": form,
        "tabs": tabs,
        "current_tab": next(t for t in tabs if t.current),
        "now": now,
        "bulk_form": bulk_form,
        "selected": set(selected),
        "inbox_next": next_url or request.get_full_path(),
        "office_ids": actor_of(user).office_ids,
    }
    return render(request, "referrals/inbox.html", context, status=status)


class _Rollback(Exception):
    """Raised inside the bulk assignment's transaction to undo every assignment made so far."""


def _inbox_next(request) -> str:
    """The inbox address (tab, filters, page) the bulk form was sent from; the inbox itself otherwise."""
    target = request.POST.get("next", "")
    if target.startswith(reverse("referrals:inbox")) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return reverse("referrals:inbox")


def _back_to_inbox(request):
    return redirect(_inbox_next(request))


def _bulk_assign_again(request, form, ids, *, status=200):
    """A failed bulk assignment comes back in place (issue 16 § 3: one error pattern): the inbox page
    it was sent from, with the error summary above the table, the rows still ticked and the person
    still chosen. Reloading it or going back never re-assigns: nothing was assigned."""
    target = _inbox_next(request)
    request.GET = QueryDict(urlsplit(target).query)
    return _inbox_page(request, form, selected=ids, next_url=target, status=status)


@login_required
@require_POST
def bulk_assign(request):
    """Assign every checked referral to one person — all or nothing, in one transaction: if a single
    one fails (permission, status, someone else's change), nothing is assigned and the page says
    which referral failed and why."""
    user = request.user
    _require_role(user, *OFFICE_ROLES)
    ids = list(dict.fromkeys(int(v) for v in request.POST.getlist("referral") if v.isdigit()))
    form = BulkAssignForm(request.POST, people=_bulk_people(user))
    valid = form.is_valid()
    if not ids:
        form.add_error(None, _("Select at least one referral."))
    if not valid:
        form.errors["assignee"] = form.error_class([_("Choose the person to assign the referrals to.")])
    if not ids or not valid:
        return _bulk_assign_again(request, form, ids)
    assignee = form.cleaned_data["assignee"]
    found = {r.pk: r for r in selectors.inbox_for(user).filter(pk__in=ids)}
    if len(found) != len(ids):
        form.add_error(None, _("Nothing was assigned: a selected referral is no longer in your inbox."))
        return _bulk_assign_again(request, form, list(found))
    failures = []
    try:
        with transaction.atomic():
            for pk in ids:
                referral = found[pk]
                version = request.POST.get(f"version_{pk}", "")
                try:
                    if not version.isdigit():
                        raise Conflict(referral.version)
                    referral_assign(referral=referral, user=user, assignee=assignee, expected_version=int(version))
                except Conflict:
                    failures.append((referral.reference, _("changed by someone else in the meantime")))
                except PermissionDenied as exc:
                    failures.append((referral.reference, str(exc) or _("not allowed for you")))
                except ValidationError as exc:
                    failures.append((referral.reference, " ".join(exc.messages)))
            if failures:
                raise _Rollback
    except _Rollback:
        form.add_error(None, _("Nothing was assigned, because not every selected referral could be assigned:"))
        for reference, reason in failures:
            form.add_error(None, f"{reference}: {reason}")
        return _bulk_assign_again(request, form, ids)
    name = person_name(assignee)
    if len(ids) == 1:
        message = _("Referral %(reference)s assigned to %(name)s.") % {
            "reference": found[ids[0]].reference,
            "name": name,
        }
    else:
        message = ngettext(
            "%(count)d referral assigned to %(name)s.", "%(count)d referrals assigned to %(name)s.", len(ids)
        ) % {"count": len(ids), "name": name}
    messages.success(request, message)
    return _back_to_inbox(request)


# --- Detail -------------------------------------------------------------------------------------------

DETAIL_RELATED = (
    "station", "police_authority", "youth_office", "created_by", "assignee", "acknowledged_by", "forwarded_to",
)  # fmt: skip


def _visible(request, pk) -> Referral:
    """The referral, if ``request.user`` may see it at all; 404 otherwise (the same as nonexistent)."""
    queryset = Referral.objects.visible_to(request.user).select_related(*DETAIL_RELATED)
    return referral_for(request, pk, queryset=queryset).referral


@login_required
def referral_detail(request, pk):
    """The referral as filed — for its offices with the casework, for police with the coded
    feedback, for the district coordinator on a triaged referral only the summary to route it."""
    referral = _visible(request, pk)
    access_log_record(request=request, action=AccessLogEntry.Action.VIEW, referral=referral)
    return _render_detail(request, referral)


def _render_detail(request, referral: Referral, *, bound=None, followup_form=None, status=200):
    user = request.user
    access = referral_access(user, referral)
    if not access.reads_contents:  # the district coordinator's summary of a triaged referral
        offered = transitions_offered(access)
        return render(
            request,
            "referrals/triage_summary.html",
            {
                "referral": referral,
                "form": AssignOfficeForm() if Action.ASSIGN_OFFICE in offered else None,
                "export_form": ExportForm(initial=_v(referral)) if Action.EXPORT in offered else None,
            },
        )
    prefetch_related_objects([referral], "children", "persons")
    if access.case_role is not None:
        context = _office_context(request, access, bound or {})
        return render(request, "referrals/office_detail.html", context, status=status)
    # The badge says what the coded feedback says, never the office's step ("In Prüfung"; QA of 2026-12-05).
    police_code, police_status_label = police_badge(referral)
    context = {
        "referral": referral,
        "can_edit": referral.is_draft and referral.created_by_id == user.pk,
        "police_code": police_code,
        "police_status_label": police_status_label,
    }
    offered = transitions_offered(access)
    if Action.FOLLOWUP in offered:  # police of the filing station or authority
        feedback = selectors.police_feedback(referral)
        context.update(
            feedback=feedback,
            feedback_label=feedback_label(feedback),
            followups=list(referral.followups.select_related("author")),
            followup_form=followup_form or FollowUpForm(),
        )
    context.update(police_dialogue_context(access, offered, bound or {}))  # questions, police files
    return render(request, "referrals/detail.html", context, status=status)


def _v(referral: Referral) -> dict:
    return {"version": referral.version}


# The form the office page shows for each action the transition table offers (take-over posts to the
# assign URL, export to the export URL; both are also API actions). Order: as on the page.
OFFICE_PAGE_FORMS: dict[Action, Callable[[Referral, SimpleNamespace], Any]] = {
    Action.ACKNOWLEDGE: lambda r, state: AcknowledgeForm(initial=_v(r)),
    Action.ASSIGN: lambda r, state: AssignForm(
        initial={**_v(r), "assignee": r.assignee_id}, office_ids=[r.youth_office_id]
    ),
    Action.TAKE_OVER: lambda r, state: TakeOverForm(initial=_v(r)),
    Action.RERATE: lambda r, state: RerateForm(initial={**_v(r), "urgency": r.urgency}),
    Action.FORWARD: lambda r, state: ForwardForm(initial=_v(r), own_office_id=r.youth_office_id),
    Action.EXPORT: lambda r, state: ExportForm(initial=_v(r)),
    Action.SCREENING: lambda r, state: ScreeningForm(initial=_v(r)),
    Action.SCREENING_SIGN_OFF: lambda r, state: ScreeningSignOffForm(initial=_v(r)),
    Action.ASSESSMENT: lambda r, state: ChildAssessmentForm(
        initial={**_v(r), **AssessmentForm.initial_from(state.pending)}, referral=r, pending=state.pending
    ),
    Action.SIGN_OFF: lambda r, state: SignOffForm(initial=_v(r)),
    Action.CLOSE: lambda r, state: CloseForm(initial=_v(r)),
    Action.REOPEN: lambda r, state: ReopenForm(initial=_v(r)),
    Action.NOTE: lambda r, state: NoteForm(),
    Action.ATTACHMENT: lambda r, state: _attachment_form(r),
    Action.ACCEPT: lambda r, state: AcceptForm(initial=_v(r)),
    Action.RETURN: lambda r, state: ReturnForm(initial=_v(r)),
    Action.QUESTION: lambda r, state: QuestionForm(),  # the question to the police (referrals.dialogue_views)
    **followthrough_page_forms(_v),  # tasks and sign-off requests (issue 14, referrals.task_views)
}


def _office_context(request, access: ReferralAccess, bound: dict) -> dict:
    """Everything the office page shows, in a fixed number of queries: the action forms the
    person's role and the referral's status allow, and the casework sections."""
    user, referral, role = request.user, access.referral, access.case_role
    events = list(selectors.timeline_for(access))
    assessments = list(
        referral.assessments.select_related("author", "signed_off_by")
        .prefetch_related("child_parts__child", "versions__author")
        .order_by("-created_at", "-id")
    )
    state = assessment_state(referral, assessments)
    is_lead = access.is_lead

    offered = transitions_offered(access, latest=state.latest)
    forms = {
        form.key: form
        for action, build in OFFICE_PAGE_FORMS.items()
        if action in offered
        for form in [build(referral, state)]
    }
    for key, form in bound.items():
        if key in forms:
            forms[key] = form
        else:  # the action is not offered (any more): say on top what went wrong
            for name, errors in form.errors.items():
                if name in form.fields and form.fields[name].widget.is_hidden:
                    continue  # already said by _hidden_errors_to_messages
                for error in errors:
                    messages.error(request, error)

    forwarded = [e for e in events if e.kind == ReferralEvent.Kind.FORWARDED]
    return {
        "referral": referral,
        "role": role,
        "is_lead": is_lead,
        "forms": forms,
        "has_actions": any(k not in ("note", "attachment", "assessment") for k in forms),
        "assessments": assessments,
        "assessment": state,
        "assessment_people": assessment_people(assessments),
        "screenings": list(
            referral.screenings.select_related("author", "signed_off_by").order_by("-created_at", "-id")
        ),
        "events": describe_events(events),
        "repeats": repeat_hints(user, events),
        "repeat_total": repeat_total(events),
        "forward_reason": forwarded[-1].data.get("reason", "") if forwarded else "",
        "notes": list(selectors.notes_for(access)),
        "attachments": list(selectors.attachments_for(access)),
        "followups": list(referral.followups.select_related("author")),
        "questions": list(questions_for(access)),
        "followthrough": followthrough_context(access),
        # A task's button as the transition table offers it (referrals.followthrough.task_update asks the
        # same): "not done" with the tasks (``TASK``), "done" also on a closed case (``TASK_DONE``).
        "tasks_changeable": Action.TASK in offered,
        "tasks_done_offered": Action.TASK_DONE in offered,
        "now": timezone.now(),
    }


# --- Casework actions -----------------------------------------------------------------------------------
# Each POSTs to its own URL. The referral comes through ``visible_to`` (404 outside), the person's
# role on it is checked (403 inside the scope), the form is parsed, the service is called with the
# version the page was built on. A conflict reloads the page with a clear message and keeps what was
# typed; a refusal of the service is shown next to the field or on top; success redirects.


def _conflict_message() -> str:
    return _(
        "This referral was changed by someone else in the meantime. The page has been reloaded with the current "
        "state; nothing of yours was saved. Check it and try again."
    )


def _casework_referral(request, pk, actions) -> Referral:
    """The referral from the person's scope (404 outside) on which they hold the relation and role of
    one of ``actions`` (403; ``referrals.transitions``, whatever the status — the service answers a
    wrong status). A form built on an older version passes the check: the service then answers it
    as a conflict (409, the page reloaded), since the competing change may be what took the relation
    away — a forward, say (issue 10 § 9)."""
    referral = _visible(request, pk)
    if not actions & transitions_of(referral_access(request.user, referral)):
        posted = request.POST.get("version", "")
        if not (posted.isdigit() and int(posted) != referral.version):
            raise PermissionDenied(_("This action is not available to you on this referral."))
    return referral


def _show_errors(request, form, exc: ValidationError) -> None:
    """Put a service's refusal next to the field it concerns, or on top of the page."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, texts in errors.items():
        field = form.fields.get(name)
        if field is not None and not field.widget.is_hidden:
            for text in texts:
                form.add_error(name, text)
        else:
            for text in texts:
                messages.error(request, text)


def _hidden_errors_to_messages(request, form) -> None:
    """Errors of hidden fields (a missing version) are not visible next to anything: say them on top."""
    for name, field in form.fields.items():
        if field.widget.is_hidden and name in form.errors:
            for text in form.errors[name]:
                messages.error(request, text)


def _perform(request, referral, form, make_form, call, *, success):
    """Run ``call`` (the service) for a valid ``form``. On success add the message and return None
    (the caller redirects); on a conflict or a refusal return the re-rendered page."""
    try:
        result = call()
    except Conflict:
        messages.error(request, _conflict_message())
        fresh = _visible(request, referral.pk)
        data = form.data.copy()
        data["version"] = str(fresh.version)
        data.pop("confirm", None)
        return _render_detail(request, fresh, bound={form.key: make_form(data)}, status=409)
    except ValidationError as exc:
        _show_errors(request, form, exc)
        return _render_detail(request, _visible(request, referral.pk), bound={form.key: form})
    message = success(result) if callable(success) else success
    messages.success(request, message)
    return None


def _close_context(referral, data) -> dict:
    """What the close confirmation says: the assessment's outcome, and the case's open tasks, which
    stay open (QA of 2026-12-05: the page did not mention two open tasks, one overdue)."""
    counts = referral.tasks.open().aggregate(open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=timezone.now())))
    return {"latest": latest_assessment(referral), "open_tasks": counts["open"], "overdue_tasks": counts["overdue"]}


def _transition_check_any(access, actions) -> None:
    """``transition_check`` for a page action that stands for several transitions: passes if one
    is allowed, else raises the first refusal."""
    refusals = []
    for action in sorted(actions):
        try:
            transition_check(access, action)
        except (PermissionDenied, ValidationError) as exc:
            refusals.append(exc)
        else:
            return
    raise refusals[0]


def _invalid(request, referral, form):
    _hidden_errors_to_messages(request, form)
    return _render_detail(request, referral, bound={form.key: form})


def _version(data: dict) -> dict:
    return {"expected_version": data["version"]}


@dataclass(frozen=True)
class PageAction:
    """One casework action of the office page, posting to its own URL: the transitions it stands for
    (``referrals.transitions``; the page offers its form only when the table allows it), how its form
    is built, which service it calls with the parsed data, what it says on success and where it goes
    then. ``confirm``: the template and context of the confirmation step a first POST gets."""

    actions: frozenset[Action]
    form: Callable[..., Any]  # form(referral, *args, **kwargs)
    call: Callable[[Referral, Any, dict], Any]  # call(referral, user, cleaned_data) -> result
    success: Callable[[Any, Referral, dict], str]
    confirm: tuple[str, Callable[[Referral, dict], dict]] | None = None
    done: str = "referrals:detail"


def _confirm_accept(referral) -> dict:
    office = referral.youth_office.name
    return {
        "title": _("Take over the case?"),
        "heading": _("Take over referral %(reference)s for your office?") % _ref(referral),
        "points": [
            _("Your office becomes responsible for the case and its deadlines."),
            _("%(office)s no longer has access to the case.") % {"office": office},
            _("This cannot be undone; to hand the case on, forward it again."),
        ],
        "yes": _("Yes, take over the case"),
    }


def _confirm_return(referral) -> dict:
    office = referral.youth_office.name
    return {
        "title": _("Return the case?"),
        "heading": _("Return referral %(reference)s to %(office)s?") % {**_ref(referral), "office": office},
        "points": [
            _("%(office)s is notified and sees your reason.") % {"office": office},
            _("Your office no longer has access to the case."),
        ],
        "yes": _("Yes, return the case"),
        "danger": True,
    }


def _confirm_sign_off(referral) -> dict:
    return {
        "title": _("Sign off the risk assessment?"),
        "heading": _("Sign off the risk assessment of referral %(reference)s?") % _ref(referral),
        "points": [
            _("You confirm the risk assessment as the second professional (four-eyes principle)."),
            _("A signed-off assessment can no longer be changed; a revision needs a new sign-off."),
            _("The case can then be closed."),
        ],
        "yes": _("Yes, sign off"),
    }


def _confirm_screening_sign_off(referral) -> dict:
    return {
        "title": _("Sign off the screening?"),
        "heading": _("Sign off the screening of referral %(reference)s?") % _ref(referral),
        "points": [
            _("You confirm as the second professional that there are no weighty indications."),
            _("The case is closed without a risk assessment; the police learn only that it is closed."),
            _("Only the office lead can reopen a closed case."),
        ],
        "yes": _("Yes, sign off and close"),
    }


def _attachment_form(referral, *args, **kwargs):
    return AttachmentForm(*args, max_bytes=settings.ATTACHMENT_MAX_BYTES, **kwargs)


PAGE_ACTIONS: dict[str, PageAction] = {
    "acknowledge": PageAction(
        frozenset({Action.ACKNOWLEDGE}),
        lambda referral, *a, **k: AcknowledgeForm(*a, **k),
        lambda referral, user, data: referral_acknowledge(referral=referral, user=user, **_version(data)),
        lambda result, referral, data: _(
            "Receipt of referral %(reference)s acknowledged. The police have been informed."
        )
        % _ref(result),
    ),
    "accept": PageAction(
        frozenset({Action.ACCEPT}),
        lambda referral, *a, **k: AcceptForm(*a, **k),
        lambda referral, user, data: referral_accept(referral=referral, user=user, **_version(data)),
        lambda result, referral, data: _("Your office has taken over referral %(reference)s.") % _ref(result),
        confirm=("referrals/confirm_action.html", lambda referral, data: {"confirm": _confirm_accept(referral)}),
    ),
    "sign_off": PageAction(
        frozenset({Action.SIGN_OFF}),
        lambda referral, *a, **k: SignOffForm(*a, **k),
        lambda referral, user, data: assessment_sign_off(referral=referral, user=user, **_version(data)),
        lambda result, referral, data: _("Risk assessment signed off. The case can now be closed."),
        confirm=("referrals/confirm_action.html", lambda referral, data: {"confirm": _confirm_sign_off(referral)}),
    ),
    # The lead assigns a caseworker; a caseworker takes an unassigned case (sends their own id).
    "assign": PageAction(
        frozenset({Action.ASSIGN, Action.TAKE_OVER}),
        lambda referral, *a, **k: AssignForm(*a, office_ids=[referral.youth_office_id], **k),
        lambda referral, user, data: referral_assign(
            referral=referral, user=user, assignee=data["assignee"], **_version(data)
        ),
        lambda result, referral, data: _("Referral %(reference)s assigned to %(name)s.")
        % {"reference": result.reference, "name": person_name(data["assignee"])},
    ),
    "rerate": PageAction(
        frozenset({Action.RERATE}),
        lambda referral, *a, **k: RerateForm(*a, **k),
        lambda referral, user, data: referral_rerate(
            referral=referral, user=user, urgency=data["urgency"], reason=data["reason"], **_version(data)
        ),
        lambda result, referral, data: _("Urgency of referral %(reference)s changed to “%(urgency)s”.")
        % {"reference": result.reference, "urgency": result.get_urgency_display()},
    ),
    # Hand the case to another office: the first POST shows what will happen and asks to confirm.
    "forward": PageAction(
        frozenset({Action.FORWARD}),
        lambda referral, *a, **k: ForwardForm(*a, own_office_id=referral.youth_office_id, **k),
        lambda referral, user, data: referral_forward(
            referral=referral, user=user, to_office=data["to_office"], reason=data["reason"], **_version(data)
        ),
        lambda result, referral, data: _(
            "Referral %(reference)s forwarded to %(office)s. Your office can read it, but no longer change it, "
            "until %(office)s accepts or returns it."
        )
        % {"reference": result.reference, "office": data["to_office"].name},
        confirm=("referrals/confirm_forward.html", lambda referral, data: {"office": data["to_office"]}),
    ),
    # The receiving office declines the hand-over; afterwards the case is no longer visible to it.
    "return": PageAction(
        frozenset({Action.RETURN}),
        lambda referral, *a, **k: ReturnForm(*a, **k),
        lambda referral, user, data: referral_return(
            referral=referral, user=user, reason=data["reason"], **_version(data)
        ),
        lambda result, referral, data: _("Referral %(reference)s returned to %(office)s.")
        % {"reference": result.reference, "office": referral.youth_office.name},
        confirm=("referrals/confirm_action.html", lambda referral, data: {"confirm": _confirm_return(referral)}),
        done="referrals:inbox",
    ),
    # The screening (issue 13 §1): "yes" opens the assessment, "no" waits for a second professional.
    "screening": PageAction(
        frozenset({Action.SCREENING}),
        lambda referral, *a, **k: ScreeningForm(*a, **k),
        lambda referral, user, data: screening_save(
            referral=referral,
            user=user,
            weighty_indications=data["weighty_indications"],
            reason=data["reason"],
            next_step=data["next_step"],
            **_version(data),
        ),
        lambda result, referral, data: _("Screening saved. Now record the risk assessment.")
        if result.weighty_indications
        else _("Screening saved. A second professional of your office must sign it off; then the case is closed."),
    ),
    "screening_sign_off": PageAction(
        frozenset({Action.SCREENING_SIGN_OFF}),
        lambda referral, *a, **k: ScreeningSignOffForm(*a, **k),
        lambda referral, user, data: screening_sign_off(referral=referral, user=user, **_version(data)),
        lambda result, referral, data: _(
            "Screening signed off. Referral %(reference)s is closed; the police have been informed."
        )
        % _ref(referral),
        confirm=(
            "referrals/confirm_action.html",
            lambda referral, data: {"confirm": _confirm_screening_sign_off(referral)},
        ),
    ),
    # One part per child and the shared parts (issue 13 §2, referrals/assessment_forms.py).
    "assessment": PageAction(
        frozenset({Action.ASSESSMENT}),
        child_assessment_form,
        lambda referral, user, data: assessment_save(
            referral=referral,
            user=user,
            summary=data["summary"],
            measures=data["measures"],
            home_visit_on=data["home_visit_on"],
            child_seen=data["child_seen"],
            children=data["children"],
            impressions=data["impressions"],
            professionals=[person.pk for person in data["professionals"]],
            **_version(data),
        ),
        lambda result, referral, data: _(
            "Risk assessment saved. A second professional of your office must sign it off."
        ),
    ),
    # Close the case (after a signed-off assessment): the first POST asks to confirm.
    "close": PageAction(
        frozenset({Action.CLOSE}),
        lambda referral, *a, **k: CloseForm(*a, **k),
        lambda referral, user, data: referral_close(referral=referral, user=user, **_version(data)),
        lambda result, referral, data: _("Referral %(reference)s closed. The police have been informed.")
        % _ref(result),
        confirm=("referrals/confirm_close.html", _close_context),
    ),
    "reopen": PageAction(
        frozenset({Action.REOPEN}),
        lambda referral, *a, **k: ReopenForm(*a, **k),
        lambda referral, user, data: referral_reopen(
            referral=referral, user=user, reason=data["reason"], **_version(data)
        ),
        lambda result, referral, data: _("Referral %(reference)s reopened.") % _ref(result),
    ),
    "notes": PageAction(
        frozenset({Action.NOTE}),
        lambda referral, *a, **k: NoteForm(*a, **k),
        lambda referral, user, data: note_add(
            referral=referral, user=user, text=data["text"], confidential=data["confidential"]
        ),
        lambda result, referral, data: _("Note added."),
    ),
    "attachments": PageAction(
        frozenset({Action.ATTACHMENT}),
        _attachment_form,
        lambda referral, user, data: attachment_add(
            referral=referral, user=user, uploaded_file=data["file"], confidential=data["confidential"]
        ),
        lambda result, referral, data: _("File “%(name)s” attached.") % {"name": result.original_name},
    ),
    **followthrough_page_actions(PageAction, _version),  # tasks and sign-off requests (referrals.task_views)
}


def _ref(referral) -> dict:
    return {"reference": referral.reference}


@login_required
@require_POST
def casework(request, pk, key):
    """Every casework action of the office page (``PAGE_ACTIONS[key]``): the referral from the scope
    (404), the transition's relation and role (403), the form parsed, the optional confirmation, the
    service called with the version the page was built on."""
    page_action = PAGE_ACTIONS[key]
    referral = _casework_referral(request, pk, page_action.actions)

    def make(data, files=None):
        return page_action.form(referral, data, files)

    form = make(request.POST, request.FILES)
    if not form.is_valid():
        return _invalid(request, referral, form)
    data = form.cleaned_data
    if page_action.confirm is not None and not data.get("confirm"):
        # Asked to confirm only what the service would accept now: a refusal (the author signing their
        # own assessment, no signed-off assessment to close on) is answered at once, as the service would.
        try:
            _transition_check_any(referral_access(request.user, referral), page_action.actions)
        except ValidationError as exc:
            _show_errors(request, form, exc)
            return _render_detail(request, referral, bound={form.key: form})
        template, confirm_context = page_action.confirm
        return render(request, template, {"referral": referral, "form": form, **confirm_context(referral, data)})
    response = _perform(
        request,
        referral,
        form,
        make,
        lambda: page_action.call(referral, request.user, data),
        success=lambda result: page_action.success(result, referral, data),
    )
    if response is not None:
        return response
    return (
        redirect(page_action.done, pk=referral.pk)
        if page_action.done == "referrals:detail"
        else redirect(page_action.done)
    )


def store_unavailable_page(request, referral):
    """503 for a download while the file store cannot be reached: the German page says the file is
    there and to try again, and who to call meanwhile — not a 500, and not a 404 (the file is not
    gone)."""
    response = render(request, "referrals/attachment_unavailable.html", {"referral": referral}, status=503)
    response["Retry-After"] = str(STORE_RETRY_AFTER)
    return response


@login_required
def attachment_download(request, pk, attachment_id):
    """An attachment, only through its referral's scope and ``selectors.attachments_for``: 404 for
    anyone else, the same as a file that does not exist."""
    referral = _visible(request, pk)
    attachment = attachment_or_denied(request, referral_access(request.user, referral), attachment_id)
    try:
        handle = open_for_download(attachment.file)
    except StoreUnavailable:
        return store_unavailable_page(request, referral)
    access_log_record(
        request=request,
        action=AccessLogEntry.Action.DOWNLOAD,
        referral=referral,
        obj_type=AccessLogEntry.ObjectType.ATTACHMENT,
        obj_id=attachment.pk,
    )
    return FileResponse(
        handle, as_attachment=True, filename=attachment.original_name, content_type=attachment.content_type
    )


@login_required
@require_POST
def followup_create(request, pk):
    """Police add a follow-up (Nachtrag) to a referral of their station."""
    referral = _visible(request, pk)
    if not referral_access(request.user, referral).is_police:
        raise PermissionDenied(_("Only police of the filing station add follow-ups."))
    form = FollowUpForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            followup_add(referral=referral, user=request.user, text=data["text"], incident_at=data["incident_at"])
        except ValidationError as exc:
            _show_errors(request, form, exc)
        else:
            messages.success(request, _("Follow-up sent to the youth office."))
            return redirect("referrals:detail", pk=referral.pk)
    return _render_detail(request, referral, followup_form=form)


@login_required
@require_POST
def export(request, pk):
    """Hand a referral over to an office outside the system: the lead of the responsible office, or
    the district coordinator for a referral in triage. The PDF and the structured export (without data
    confided under § 65 SGB VIII) are recorded with the hand-over and the case closed here; the
    confirmation page (``print_views.handover_page``) offers both documents."""
    referral = _visible(request, pk)
    form = ExportForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            field = form.fields.get(name)
            label = field.label if field is not None and not field.widget.is_hidden else None
            for error in errors:  # the field named (QA of 2026-12-05: a bare "This field is required.")
                messages.error(request, f"{label}: {error}" if label else error)
        return redirect("referrals:detail", pk=referral.pk)
    # The case is closed and its data leave the system: ask first — whoever the table offers the export
    # (anyone else goes on to the service, which refuses).
    offered = Action.EXPORT in transitions_offered(referral_access(request.user, referral))
    if offered and request.POST.get("confirm") != "1":
        context = {"referral": referral, "recipient": form.cleaned_data["recipient"], "form": form}
        return render(request, "referrals/confirm_export.html", context)
    try:
        handover = referral_hand_over(
            referral=referral,
            user=request.user,
            recipient=form.cleaned_data["recipient"],
            expected_version=form.cleaned_data["version"],
        )
    except Conflict:
        messages.error(request, _conflict_message())
        return redirect("referrals:detail", pk=referral.pk)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
        return redirect("referrals:detail", pk=referral.pk)
    access_log_record(
        request=request,
        action=AccessLogEntry.Action.EXPORT,
        referral=referral,
        obj_type=AccessLogEntry.ObjectType.EXPORT,
        obj_id=handover.pk,
    )
    return redirect("referrals:handover", pk=referral.pk, handover_id=handover.pk)


# --- Individual grants (office leads) -----------------------------------------------------------------


def _grantable(request, pk) -> Referral:
    """The referral from the scope (404) whose responsible office the person leads (403)."""
    referral = _visible(request, pk)
    if not lead_may_grant(request.user, referral):
        raise PermissionDenied(_("Only the lead of the responsible youth office grants access to a case."))
    return referral


@login_required
def grants(request, pk):
    """Who besides the office may read the case: running and ended grants, and a form to let a named
    person of another agency read it, with a reason and until a date (``referrals.grants``)."""
    referral = _grantable(request, pk)
    form = GrantForm(request.POST or None, people=grantable_people(referral))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            grant_create(
                referral=referral,
                user=request.user,
                person=data["person"],
                reason=data["reason"],
                expires_on=data["expires_on"],
            )
        except ValidationError as exc:
            _show_errors(request, form, exc)
        else:
            messages.success(
                request,
                _("%(name)s may read referral %(reference)s until %(date)s.")
                % {
                    "name": person_name(data["person"]),
                    "reference": referral.reference,
                    "date": date_format(data["expires_on"], "SHORT_DATE_FORMAT"),
                },
            )
            return redirect("referrals:grants", pk=referral.pk)
    context = {"referral": referral, "form": form, "grants": list(grants_of(referral)), "now": timezone.now()}
    return render(request, "referrals/grants.html", context)


@login_required
@require_POST
def grant_end(request, pk, grant_id):
    referral = _grantable(request, pk)
    grant = get_object_or_404(grants_of(referral), pk=grant_id)
    if request.POST.get("confirm") != "1" and grant.is_running:  # ask first (QA of 2026-12-05)
        name = person_name(grant.person)
        confirm = {
            "title": _("End the access?"),
            "heading": _("End the access of %(name)s to referral %(reference)s?")
            % {"name": name, "reference": referral.reference},
            "points": [
                _("%(name)s can no longer open the case, at once.") % {"name": name},
                _("To give access again, grant it anew."),
            ],
            "yes": _("Yes, end the access"),
            "danger": True,
            "back": reverse("referrals:grants", args=[referral.pk]),
        }
        return render(request, "referrals/confirm_action.html", {"referral": referral, "confirm": confirm})
    try:
        grant_revoke(grant=grant, user=request.user)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(request, _("Access of %(name)s ended.") % {"name": person_name(grant.person)})
    return redirect("referrals:grants", pk=referral.pk)


# --- Retention (office leads) ------------------------------------------------------------------------


@login_required
@require_POST
def retention_withdraw(request, pk):
    """Withdraw a rule that is not yet in force (``retention_rule_withdraw``); 404 for a rule of an
    office whose rules the person does not set."""
    rule = get_object_or_404(rules_for_lead(request.user), pk=pk)
    try:
        retention_rule_withdraw(user=request.user, rule=rule)
    except ValidationError as exc:
        for text in exc.messages:
            messages.error(request, text)
    else:
        messages.success(
            request,
            _("The rule from %(date)s has been withdrawn; it deletes nothing.")
            % {"date": rule.valid_from.strftime("%d.%m.%Y")},
        )
    return redirect("referrals:retention")


@login_required
def retention(request):
    """The retention rules of the offices whose rules the person sets — the youth offices they lead,
    the coordination office of a district coordinator (referrals handed over from the triage queue);
    a new rule (starting in the future) is added here, and for every rule not yet in force the page
    says how many referrals it would delete on its first day and lists the oldest of them
    (``DRY_RUN_SHOWN``, further pages by keyset). Everyone else gets 403."""
    user = request.user
    office_ids = retention_office_ids(user)
    if not office_ids:
        raise PermissionDenied
    offices = Agency.objects.filter(pk__in=office_ids).order_by("kind", "name")
    form = RetentionRuleForm(request.POST if request.method == "POST" else None, offices=offices)
    if request.method == "POST" and form.is_valid():
        data = {name: value for name, value in form.cleaned_data.items() if name != "confirm"}
        try:
            if not form.cleaned_data["confirm"]:  # a rule deletes cases: its dry run first, then confirm
                rule = retention_rule_check(user=user, **data)
                context = {"form": form, "rule": rule, "dry_run": retention_dry_run(rule=rule)}
                return render(request, "referrals/confirm_retention_rule.html", context)
            rule = retention_rule_create(user=user, **data)
        except ValidationError as exc:
            _show_errors(request, form, exc)
        else:
            messages.success(
                request,
                _("Retention rule saved. It applies from %(date)s; check below which referrals it will delete then.")
                % {"date": rule.valid_from.strftime("%d.%m.%Y")},
            )
            return redirect("referrals:retention")
    today = timezone.localdate()
    rules = list(rules_for_lead(user).order_by("outcome", "-valid_from", "-id"))
    # "Show more" of one rule's dry run: ?rule=<id>&after=<cursor> (keyset, referrals.retention.DRY_RUN_SHOWN a page).
    paged = {}
    if request.GET.get("rule", "").isdecimal() and request.GET.get("after"):
        paged = {int(request.GET["rule"]): request.GET["after"]}
    sections = []
    for office in offices:
        in_force = {r.pk for r in rules_in_force(office=office, day=today).values()}
        rows = []
        for rule in (r for r in rules if r.office_id == office.pk):
            future = rule.valid_from > today
            rows.append(
                SimpleNamespace(
                    rule=rule,
                    in_force=rule.pk in in_force,
                    future=future,
                    years=round(rule.keep_days / 365.25, 1),
                    dry_run=retention_dry_run(rule=rule, after=paged.get(rule.pk)) if future else None,
                    paged=rule.pk in paged,
                )
            )
        # A district coordinator cannot open a closed referral: the dry run lists references without links.
        coordination = office.kind == AgencyKind.COORDINATION
        sections.append(SimpleNamespace(office=office, rows=rows, coordination=coordination))
    only_coordination = all(section.coordination for section in sections)
    context = {"sections": sections, "form": form, "today": today, "only_coordination": only_coordination}
    return render(request, "referrals/retention.html", context)
