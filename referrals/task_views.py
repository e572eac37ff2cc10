"""Pages of the follow-through (issue 14 §§ 1–2): "Meine Aufgaben" (and the lead's office view),
marking a task done or not done, and what the case page and the casework view need for tasks and
sign-off requests. Tasks come only from ``Task.objects.visible_to`` (through
``referrals.followthrough``): a task of another office answers 404 like one that does not exist."""

from types import SimpleNamespace

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES

from . import followthrough
from .access import ReferralAccess
from .task_forms import SignOffRequestForm, SignOffReturnForm, TaskForm
from .transitions import Action

SECTIONS = (
    ("overdue", gettext_lazy("Overdue")),
    ("today", gettext_lazy("Due today")),
    ("week", gettext_lazy("Next 7 days")),
)
SECTION_SIZE = 100  # per section; the page says when there are more


def office_page_forms(version) -> dict:
    """The follow-through's forms on the office page, built when the transition table offers them
    (``views.OFFICE_PAGE_FORMS``)."""
    return {
        Action.TASK: lambda r, state: TaskForm(initial=version(r), office_ids=[r.youth_office_id]),
        Action.SIGN_OFF_REQUEST: lambda r, state: SignOffRequestForm(
            initial=version(r), office_ids=[r.youth_office_id], author=getattr(state.pending, "author", None)
        ),
        Action.SIGN_OFF_RETURN: lambda r, state: SignOffReturnForm(initial=version(r)),
    }


def page_actions(page_action, expected) -> dict:
    """The follow-through's casework actions (``views.PAGE_ACTIONS``), each posting to its own URL."""
    return {
        "tasks": page_action(
            frozenset({Action.TASK}),
            lambda referral, *a, **k: TaskForm(*a, office_ids=[referral.youth_office_id], **k),
            lambda referral, user, data: followthrough.task_create(
                referral=referral,
                user=user,
                title=data["title"],
                kind=data["kind"],
                due_at=data["due_at"],
                assignee=data["assignee"],
            ),  # fmt: skip
            lambda result, referral, data: _("Task “%(title)s” added.") % {"title": result.title},
        ),
        "sign_off_request": page_action(
            frozenset({Action.SIGN_OFF_REQUEST}),
            lambda referral, *a, **k: SignOffRequestForm(*a, office_ids=[referral.youth_office_id], **k),
            lambda referral, user, data: followthrough.signoff_request_create(
                referral=referral, user=user, to=data["to"], **expected(data)
            ),
            lambda result, referral, data: _("Sign-off requested. Your colleague has been told."),
        ),
        "sign_off_return": page_action(
            frozenset({Action.SIGN_OFF_RETURN}),
            lambda referral, *a, **k: SignOffReturnForm(*a, **k),
            lambda referral, user, data: followthrough.signoff_return(
                referral=referral, user=user, comment=data["comment"], **expected(data)
            ),
            lambda result, referral, data: _("Sent back with your comment. The author has been told."),
        ),
    }


def case_context(access: ReferralAccess) -> SimpleNamespace:
    """Tasks, the open sign-off request and the last one sent back (with its comment) of the case,
    for its office page (a fixed number of queries)."""
    if not access.case_office_ids:
        return SimpleNamespace(tasks=[], request=None, returned=None)
    latest = access.referral.signoff_requests.select_related("resolved_by").order_by("-requested_at", "-id").first()
    return SimpleNamespace(
        tasks=list(followthrough.tasks_of_case(access.referral, access.actor.user)),
        request=followthrough.open_request(access.referral),
        returned=latest if latest is not None and latest.state == latest.State.RETURNED else None,
    )


def inbox_rows(items, user) -> None:
    """Put each inbox row's next open task of the person's offices on the row (two queries a page)."""
    found = followthrough.next_tasks_for([r.pk for r in items], actor_of(user).office_ids)
    for referral in items:
        referral.next_task = found.get(referral.pk)


@login_required
def my_tasks(request):
    """ "Meine Aufgaben": the person's open tasks (overdue, due today, next 7 days) and the sign-off
    requests they may answer; ``?scope=office`` is the lead's view of every open task of the office.
    A fixed number of queries: one per section, one for the requests."""
    actor = actor_of(request.user)
    if not actor.has_role(*OFFICE_ROLES):
        raise PermissionDenied
    scope = "office" if request.GET.get("scope") == "office" else "mine"
    is_lead = bool(actor.lead_office_ids)
    if scope == "office" and not is_lead:
        raise PermissionDenied(_("Only the office lead sees all tasks of the office."))
    now = timezone.now()
    sections = []
    for key, label in SECTIONS:
        rows = list(followthrough.task_list(request.user, scope=scope, due=key, now=now)[: SECTION_SIZE + 1])
        sections.append(SimpleNamespace(key=key, label=label, tasks=rows[:SECTION_SIZE], more=len(rows) > SECTION_SIZE))
    requests = list(followthrough.signoff_requests_for(request.user)[:SECTION_SIZE]) if scope == "mine" else []
    context = {"sections": sections, "requests": requests, "scope": scope, "is_lead": is_lead, "now": now}
    return render(request, "referrals/my_tasks.html", context)


@login_required
@require_POST
def task_change(request, task_id):
    """Mark a task done (``done=1``) or not done (``done=0``); back to where the person came from."""
    task = followthrough.task_for(request.user, task_id)
    done = request.POST.get("done")
    if done not in ("0", "1"):
        messages.error(request, _("Choose whether the task is done."))
    else:
        try:
            followthrough.task_update(task=task, user=request.user, done=done == "1")
        except ValidationError as exc:
            for text in exc.messages:
                messages.error(request, text)
        else:
            messages.success(request, _("Task marked done.") if done == "1" else _("Task marked not done."))
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("referrals:detail", pk=task.referral_id)
