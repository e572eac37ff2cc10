"""Follow-through of a case in its office (issue 14 §§ 1–2; rules in docs/domain.md, "Wiedervorlage
und Aufgaben" and "Bitte um Gegenzeichnung"): tasks with a due time, the home visit suggested before
a residence ban ends, reminders and escalation of tasks, hand-over of tasks with an accepted
forwarding, and requests to a colleague to sign off.

Services follow ``referrals.services``: keyword-only, one transaction, the referral's row locked where
the case changes, the transition table asked (``Action.TASK``, ``SIGN_OFF_REQUEST``,
``SIGN_OFF_RETURN``), a history event, notifications through the outbox — with a reference and a
link, never a name or a task's title (a title may name the family).
"""

from __future__ import annotations

import datetime
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from agencies.actor import actor_of
from agencies.models import OFFICE_ROLES, Membership, Role
from core.calendar import LOCAL_TZ, is_working_day
from core.queries import one_or_none
from notifications.models import Channel
from notifications.services import notification_create

from .access import referral_access
from .models import PoliceMeasure, Referral, ReferralEvent, Status
from .task_models import (
    SIGNOFF_COMMENT_MAX,
    TASK_TITLE_MAX,
    SignOffRequest,
    SignOffSubject,
    Task,
    TaskKind,
    TaskReminder,
    pending_sign_off,
)
from .transitions import Action, transition_check

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# § 34a PolG NRW: a ban on return lasts at most 10 days; without a date the office reckons with that.
RESIDENCE_BAN_DAYS = 10
SUGGESTED_VISIT_TIME = datetime.time(12, 0)  # local time on the last working day before the ban ends
BATCH_SIZE = 500
_UNSET: Any = object()


# --- Tasks ---------------------------------------------------------------------------------------


def task_for(user, pk) -> Task:
    """The task ``pk`` from ``user``'s scope (``Task.objects.visible_to``), else 404 — the same answer
    for a task of another office as for one that does not exist."""
    if not str(pk).isdigit() or len(str(pk)) > 18:
        raise Http404
    task = one_or_none(Task.objects.visible_to(user).select_related("referral", "assignee", "office").filter(pk=pk))
    if task is None:
        raise Http404
    return task


def tasks_of_case(referral: Referral, user) -> QuerySet[Task]:
    """The case's tasks for ``user`` (its office's people only): open ones by due time, then done ones."""
    return (
        Task.objects.visible_to(user)
        .filter(referral=referral)
        .select_related("assignee", "done_by")
        .order_by(F("done_at").asc(nulls_first=True), "due_at", "id")
    )


def _office_member(person, office_id: int) -> bool:
    return person is not None and person.is_active and office_id in actor_of(person).office_ids


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("Give the task a title.")]})
    if len(title) > TASK_TITLE_MAX:
        raise ValidationError({"title": [_("At most %(max)d characters.") % {"max": TASK_TITLE_MAX}]})
    return title


# A task is due within this many years (QA of 2026-12-05 set one for 9999-12-31): further ahead is a
# typo in the year, and the case would long be closed.
TASK_DUE_YEARS = 2


def _clean_due(due_at) -> datetime.datetime:
    if not isinstance(due_at, datetime.datetime) or due_at.tzinfo is None:
        raise ValidationError({"due_at": [_("Give the date and time the task is due.")]})
    if due_at > timezone.now() + datetime.timedelta(days=365 * TASK_DUE_YEARS + 1):
        message = _("A task is due at most %(years)s years ahead.") % {"years": TASK_DUE_YEARS}
        raise ValidationError({"due_at": [message]})
    return due_at


def _task_event(task: Task, user, kind: str, **data: Any) -> None:
    ReferralEvent.objects.create(
        referral_id=task.referral_id, actor=user, kind=kind, data={"task": task.pk, "task_title": task.title, **data}
    )


@transaction.atomic
def task_create(
    *, referral: Referral, user: User, title: str, kind: str, due_at: datetime.datetime, assignee: User | None = None
) -> Task:
    """A task on the case, by hand: for people of the responsible office while the case is worked on
    (``Action.TASK``). The assignee, if any, is a person of that office and is told in the application."""
    locked = Referral.objects.select_for_update(of=("self",)).select_related("youth_office").get(pk=referral.pk)
    transition_check(referral_access(user, locked), Action.TASK)
    title, due_at = _clean_title(title), _clean_due(due_at)
    if kind not in TaskKind.values:
        raise ValidationError({"kind": [_("Choose the kind of task.")]})
    if assignee is not None and not _office_member(assignee, locked.youth_office_id):
        raise ValidationError({"assignee": [_("Choose a person of the responsible youth office.")]})
    task = Task.objects.create(
        referral=locked, office_id=locked.youth_office_id, title=title, kind=kind, due_at=due_at,
        assignee=assignee, created_by=user,
    )  # fmt: skip
    _task_event(task, user, ReferralEvent.Kind.TASK_CREATED, assignee=assignee.pk if assignee else None)
    if assignee is not None and assignee.pk != user.pk:
        _notify_task(task, "task_assigned", users=[assignee])
    return task


@transaction.atomic
def task_update(
    *, task: Task, user: User, done: bool | None = None, due_at: Any = _UNSET, assignee: Any = _UNSET
) -> Task:
    """Mark a task done or not done, move its due time, (re)assign it — for people of the task's office
    (the caller found it through ``task_for``). During a pending hand-over the case is read-only for
    the sending office, its tasks too. Otherwise the transition table decides: marking done alone is
    ``Action.TASK_DONE`` (a closed case too), any other change ``Action.TASK`` (the rule of creating
    one). The referral's row is locked first, as by the services that close, forward or accept it (and
    move its tasks), so no change slips in after them."""
    referral = _lock(task.referral, None)
    locked = Task.objects.select_for_update(of=("self",)).get(pk=task.pk)
    locked.referral = referral
    if locked.office_id not in actor_of(user).office_ids:
        raise Http404
    if referral.status == Status.FORWARDED:
        message = _("The case has been forwarded; until the other office accepts or returns it, it is read-only here.")
        raise ValidationError({"status": [message]})
    ticking_off = done is True and due_at is _UNSET and assignee is _UNSET
    transition_check(referral_access(user, referral), Action.TASK_DONE if ticking_off else Action.TASK)
    if ticking_off and locked.done_at is not None:
        return locked  # done already: a retry after a timeout gets the task as it is, not a refusal
    now = timezone.now()
    changed: dict[str, Any] = {}
    if due_at is not _UNSET:
        locked.due_at = _clean_due(due_at)
        changed["due_at"] = locked.due_at.isoformat()
    if assignee is not _UNSET:
        if assignee is not None and not _office_member(assignee, locked.office_id):
            raise ValidationError({"assignee": [_("Choose a person of the responsible youth office.")]})
        locked.assignee = assignee
        changed["assignee"] = assignee.pk if assignee else None
    if changed:
        _task_event(locked, user, ReferralEvent.Kind.TASK_CHANGED, **changed)
    if done is True and locked.done_at is None:
        locked.done_at, locked.done_by = now, user
        _task_event(locked, user, ReferralEvent.Kind.TASK_DONE)
    elif done is False and locked.done_at is not None:
        locked.done_at, locked.done_by = None, None
        locked.undone_at, locked.undone_by = now, user
        _task_event(locked, user, ReferralEvent.Kind.TASK_UNDONE)
    locked.save()
    if "assignee" in changed and locked.assignee is not None and locked.assignee_id != user.pk:
        _notify_task(locked, "task_assigned", users=[locked.assignee])
    return locked


def residence_ban_end(referral: Referral) -> datetime.date | None:
    """The last day of the ban on return, if the police ordered one: the date they gave, else 10 days
    from the day of the incident (§ 34a PolG NRW), else from the receipt."""
    if PoliceMeasure.RESIDENCE_BAN not in (referral.police_measures or []):
        return None
    if referral.residence_ban_until:
        return referral.residence_ban_until
    start = referral.incident_at or referral.received_at or referral.submitted_at or timezone.now()
    return start.astimezone(LOCAL_TZ).date() + datetime.timedelta(days=RESIDENCE_BAN_DAYS)


def suggested_visit_due(ban_end: datetime.date, now: datetime.datetime) -> datetime.datetime:
    """When the suggested home visit is due: 12:00 local time on the last working day (Monday to
    Friday, no NRW public holiday) before the ban's last day — while the ban still protects the child.
    Local time, so a change of daylight saving time in between does not move it; returned in UTC. If
    that moment has passed, the visit is due now."""
    day = ban_end - datetime.timedelta(days=1)
    while not is_working_day(day):
        day -= datetime.timedelta(days=1)
    due = datetime.datetime.combine(day, SUGGESTED_VISIT_TIME, tzinfo=LOCAL_TZ).astimezone(datetime.UTC)
    return max(due, now.astimezone(datetime.UTC))


def tasks_suggest_on_acknowledge(referral: Referral, user) -> Task | None:
    """On acknowledging a referral with a residence ban: the suggested task "Hausbesuch vor Ablauf des
    Rückkehrverbots", due before the ban ends, for the case's assignee. Once per case (a second
    acknowledgement — after a hand-over — does not suggest it again). Called inside the service's
    transaction with the referral locked."""
    ban_end = residence_ban_end(referral)
    if ban_end is None or referral.youth_office_id is None:
        return None
    if Task.objects.filter(referral=referral, suggested=True, kind=TaskKind.HOME_VISIT).exists():
        return None
    with translation.override("de"):
        title = _("Home visit before the ban on return ends")
    task = Task.objects.create(
        referral=referral, office_id=referral.youth_office_id, title=title, kind=TaskKind.HOME_VISIT,
        due_at=suggested_visit_due(ban_end, timezone.now()), assignee=referral.assignee, suggested=True,
        created_by=user,
    )  # fmt: skip
    _task_event(task, None, ReferralEvent.Kind.TASK_CREATED, suggested=True, ban_end=ban_end.isoformat())
    return task


def tasks_hand_over(referral: Referral, *, from_office_id: int | None) -> int:
    """An accepted forwarding moves the case's tasks to the receiving office (open and done: the
    sending office no longer sees the case, so it sees none of its tasks). An assignee who is not a
    person of the receiving office is cleared. Called inside ``referral_accept``; returns how many."""
    tasks = list(Task.objects.select_for_update().filter(referral=referral).exclude(office_id=referral.youth_office_id))
    for task in tasks:
        task.office_id = referral.youth_office_id
        if task.assignee_id is not None and not _office_member(task.assignee, referral.youth_office_id):
            task.assignee = None
    Task.objects.bulk_update(tasks, ["office", "assignee"])
    return len(tasks)


# --- Lists: "Meine Aufgaben", the office view, the inbox ------------------------------------------

DUE_FILTERS = ("overdue", "today", "week")


def _local_day_bounds(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    today = now.astimezone(LOCAL_TZ).date()
    start = datetime.datetime.combine(today, datetime.time.min, tzinfo=LOCAL_TZ)
    end = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time.min, tzinfo=LOCAL_TZ)
    return start, end


def due_filter(due: str, now: datetime.datetime) -> Q:
    """Open tasks overdue (due before now), due today (the rest of today, local time) or in the next
    7 days (from the end of today)."""
    _start, end_of_today = _local_day_bounds(now)
    if due == "overdue":
        return Q(due_at__lt=now)
    if due == "today":
        return Q(due_at__gte=now, due_at__lt=end_of_today)
    if due == "week":
        week_end = end_of_today.astimezone(LOCAL_TZ).date() + datetime.timedelta(days=7)
        return Q(
            due_at__gte=end_of_today, due_at__lt=datetime.datetime.combine(week_end, datetime.time.min, tzinfo=LOCAL_TZ)
        )
    raise ValueError(due)


def task_list(user, *, scope: str = "mine", due: str | None = None, now=None) -> QuerySet[Task]:
    """Open tasks: ``mine`` — assigned to ``user``; ``office`` — every open task of the offices the
    user leads (the lead's view; others get ``PermissionDenied``). ``due`` narrows to overdue, today or
    the next 7 days. Read in the order of the partial indexes on open tasks (assignee or office, due)."""
    now = now or timezone.now()
    tasks = Task.objects.visible_to(user).open()
    if scope == "office":
        lead_offices = sorted(actor_of(user).lead_office_ids)
        if not lead_offices:
            raise PermissionDenied(_("Only the office lead sees all tasks of the office."))
        tasks = tasks.filter(office_id__in=lead_offices)
    else:
        tasks = tasks.filter(assignee_id=user.pk)
    if due:
        tasks = tasks.filter(due_filter(due, now))
    return tasks.select_related("referral", "assignee").order_by("due_at", "id")


def next_tasks_for(referral_ids: list[int], office_ids) -> dict[int, Task]:
    """For the inbox rows: each referral's next open task of the person's offices, in two queries
    however many rows and tasks — the page's referrals each with the id of their first open task (an
    index read on ``task_referral``: referral, open, by due time), then those tasks by id."""
    if not referral_ids or not office_ids:
        return {}
    nxt = Task.objects.filter(referral=OuterRef("pk"), done_at__isnull=True, office_id__in=list(office_ids))
    first = (
        Referral.objects.filter(pk__in=referral_ids)
        .annotate(next_task=Subquery(nxt.order_by("due_at", "id").values("pk")[:1]))
        .exclude(next_task=None)
        .values_list("next_task", flat=True)
    )
    ids = list(first)
    return {t.referral_id: t for t in Task.objects.filter(pk__in=ids)} if ids else {}


# --- Reminders and escalation (beat) --------------------------------------------------------------


def _lead_time() -> datetime.timedelta:
    return datetime.timedelta(hours=float(settings.TASK_REMINDER_LEAD_HOURS))


def _escalate_after() -> datetime.timedelta:
    return datetime.timedelta(hours=float(settings.TASK_ESCALATION_AFTER_HOURS))


# The task column that records for which due time each kind was sent (TaskReminder is the guard).
SENT_FOR = {
    TaskReminder.Kind.LEAD: "reminded_lead_for",
    TaskReminder.Kind.DUE: "reminded_due_for",
    TaskReminder.Kind.OVERDUE: "escalated_for",
}


def _reminder_candidates(kind: str, now: datetime.datetime) -> QuerySet[Task]:
    """Open tasks of cases still open whose moment for ``kind`` has come and that were not reminded of
    that kind for their current due time. Read from the open tasks alone (partial index
    ``task_open_due``), never from the reminders ever sent."""
    tasks = Task.objects.open().exclude(referral__status=Status.CLOSED).exclude(**{SENT_FOR[kind]: F("due_at")})
    if kind == TaskReminder.Kind.LEAD:
        return tasks.filter(due_at__gt=now, due_at__lte=now + _lead_time())
    if kind == TaskReminder.Kind.DUE:
        return tasks.filter(due_at__lte=now)
    return tasks.filter(due_at__lte=now - _escalate_after())


def task_reminders_send(*, now: datetime.datetime | None = None) -> int:
    """Send each reminder and escalation of open tasks exactly once (beat, every minute); returns how
    many were sent now.

    - ``lead``: ``TASK_REMINDER_LEAD_HOURS`` before the due time → the assignee (else the office's people).
    - ``due``: at the due time → the same.
    - ``overdue``: ``TASK_ESCALATION_AFTER_HOURS`` after the due time and still open → the office lead(s).
    A task whose due time moves is reminded again for the new time. A system job: it reads ids and due
    times, and writes messages with the case's reference and a link. One query per kind finds the ids
    among the open tasks (the task records for which due time each kind was sent); each reminder then
    commits on its own, recorded under the unique constraint of ``TaskReminder``, so a second run — or a
    second beat — sends nothing twice.
    """
    now = now or timezone.now()
    sent = 0
    for kind in (TaskReminder.Kind.LEAD, TaskReminder.Kind.DUE, TaskReminder.Kind.OVERDUE):
        ids = list(_reminder_candidates(kind, now).order_by("due_at", "pk").values_list("pk", flat=True)[:BATCH_SIZE])
        for task_id in ids:
            sent += _remind(task_id=task_id, kind=kind, now=now)
    return sent


def _remind(*, task_id: int, kind: str, now: datetime.datetime) -> bool:
    with transaction.atomic():
        task = (
            _reminder_candidates(kind, now)
            .filter(pk=task_id)
            .select_related("referral", "assignee")
            .select_for_update(of=("self",))
            .first()
        )
        if task is None:
            return False
        try:
            with transaction.atomic():  # a savepoint: a concurrent run may have inserted the row first
                TaskReminder.objects.create(task=task, kind=kind, due_at=task.due_at, at=now)
        except IntegrityError:
            return False
        Task.objects.filter(pk=task.pk).update(**{SENT_FOR[kind]: task.due_at})
        if kind == TaskReminder.Kind.OVERDUE:
            users = _people(task.office_id, (Role.OFFICE_LEAD,))
        else:
            users = [task.assignee] if task.assignee_id else _people(task.office_id, OFFICE_ROLES)
        _notify_task(task, f"task_{kind}", users=users)
    logger.info("task %s reminded (%s)", task_id, kind)
    return True


def _people(office_id: int, roles) -> list:
    return [
        m.user
        for m in Membership.objects.active()
        .filter(agency_id=office_id, role__in=roles)
        .select_related("user")
        .order_by("user_id")
    ]


def _due_text(moment: datetime.datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%d.%m.%Y %H:%M")


def _notify_task(task: Task, kind: str, *, users) -> None:
    """In-app messages about a task: the case's reference, the kind of task and the due time, a link —
    never the title (it may name the family)."""
    referral = task.referral
    with translation.override("de"):
        values = {
            "reference": referral.reference,
            "kind": str(TaskKind(task.kind).label),
            "due": _due_text(task.due_at),
        }
        subjects = {
            "task_assigned": _("Task on referral %(reference)s assigned to you"),
            "task_lead": _("Task on referral %(reference)s due on %(due)s"),
            "task_due": _("Task on referral %(reference)s is due now"),
            "task_overdue": _("Task on referral %(reference)s overdue since %(due)s"),
        }
        subject = subjects[kind] % values
        body = _("Task: %(kind)s, referral %(reference)s, due %(due)s.") % values
        body += "\n" + _("Open it in Kinderschutz-Kooperation (login required):")
    link = reverse("referrals:detail", args=[referral.pk])
    for user in dict.fromkeys(users):
        notification_create(channel=Channel.IN_APP, kind=kind, subject=subject, body=body, link=link, user=user)


# --- Sign-off requests -----------------------------------------------------------------------------


def _lock(referral: Referral, expected_version: int | None) -> Referral:
    from .services import Conflict  # services call this module; imported here against the cycle

    locked = Referral.objects.select_for_update(of=("self",)).select_related("youth_office").get(pk=referral.pk)
    if expected_version is not None and int(expected_version) != locked.version:
        raise Conflict(locked.version)
    return locked


def open_request(referral: Referral) -> SignOffRequest | None:
    """The open sign-off request for what currently waits for a sign-off on the case, if any."""
    pending = pending_sign_off(referral)
    if pending is None:
        return None
    subject, obj = pending
    requests = SignOffRequest.objects.filter(referral=referral, subject=subject, object_id=obj.pk)
    return requests.filter(state=SignOffRequest.State.OPEN).select_related("requested_by", "requested_to").first()


@transaction.atomic
def signoff_request_create(
    *, referral: Referral, user: User, to: User | None = None, expected_version: int | None = None
) -> SignOffRequest:
    """The author of what waits for a sign-off (the risk assessment, or the screening decision) asks a
    named colleague of the office — or, with ``to`` empty, any colleague — to sign it off. The
    colleague (or every colleague) is told in the application; a request the author made before for
    the same thing is replaced."""
    locked = _lock(referral, expected_version)
    transition_check(referral_access(user, locked), Action.SIGN_OFF_REQUEST)
    subject, obj = pending_sign_off(locked)  # the transition's precondition: something waits, by the user
    if to is not None and (to.pk == user.pk or not _office_member(to, locked.youth_office_id)):
        raise ValidationError({"to": [_("Choose a colleague of the responsible youth office, not yourself.")]})
    now = timezone.now()
    SignOffRequest.objects.filter(
        referral=locked, subject=subject, object_id=obj.pk, state=SignOffRequest.State.OPEN
    ).update(state=SignOffRequest.State.REPLACED, resolved_at=now)
    request = SignOffRequest.objects.create(
        referral=locked, office_id=locked.youth_office_id, subject=subject, object_id=obj.pk, requested_by=user,
        requested_to=to, requested_at=now,
    )  # fmt: skip
    ReferralEvent.objects.create(
        referral=locked, actor=user, kind=ReferralEvent.Kind.SIGNOFF_REQUESTED,
        data={"subject": subject, "to_person": to.pk if to else None, "request": request.pk},
    )  # fmt: skip
    colleagues = (
        [to] if to is not None else [p for p in _people(locked.youth_office_id, OFFICE_ROLES) if p.pk != user.pk]
    )
    _notify_signoff(locked, request, "signoff_requested", users=colleagues)
    return request


@transaction.atomic
def signoff_return(
    *, referral: Referral, user: User, comment: str, expected_version: int | None = None
) -> SignOffRequest:
    """The asked colleague sends it back without signing, with a comment the author reads on the case
    page; the author is told in the application (the comment stays out of the message)."""
    locked = _lock(referral, expected_version)
    transition_check(referral_access(user, locked), Action.SIGN_OFF_RETURN)
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": [_("Say what should be changed before you can sign it off.")]})
    if len(comment) > SIGNOFF_COMMENT_MAX:
        raise ValidationError({"comment": [_("At most %(max)d characters.") % {"max": SIGNOFF_COMMENT_MAX}]})
    request = open_request(locked)
    assert request is not None  # the transition's precondition: an open request to this person
    request.state, request.resolved_by, request.resolved_at = SignOffRequest.State.RETURNED, user, timezone.now()
    request.comment = comment
    request.save(update_fields=["state", "resolved_by", "resolved_at", "comment"])
    ReferralEvent.objects.create(
        referral=locked, actor=user, kind=ReferralEvent.Kind.SIGNOFF_RETURNED,
        data={"subject": request.subject, "request": request.pk, "reason": comment},
    )  # fmt: skip
    _notify_signoff(locked, request, "signoff_returned", users=[request.requested_by])
    return request


def signoff_requests_resolve(referral: Referral, user, *, subject: str, object_id: int) -> None:
    """Called by the sign-off services inside their transaction: the open request for what was just
    signed off is done, and its author is told once."""
    for request in SignOffRequest.objects.select_for_update().filter(
        referral=referral, subject=subject, object_id=object_id, state=SignOffRequest.State.OPEN
    ).select_related("requested_by"):  # fmt: skip
        request.state, request.resolved_by, request.resolved_at = SignOffRequest.State.SIGNED_OFF, user, timezone.now()
        request.save(update_fields=["state", "resolved_by", "resolved_at"])
        if request.requested_by_id != getattr(user, "pk", None):
            _notify_signoff(referral, request, "signoff_done", users=[request.requested_by])


def signoff_requests_settle(referral: Referral) -> int:
    """Called inside the transaction of every service that changes what waits for a sign-off: an open
    request stands only while it asks for what waits now (``pending_sign_off``), of the office the case
    is with, by that thing's author. Any other is withdrawn (``replaced``, no message): the case was
    accepted by another office, the screening was recorded anew, another person revised the
    assessment, the case was closed (QA of 2026-12-05 found such requests listed for good, the old
    office's even after it had lost the case). Returns how many were withdrawn."""
    stale = SignOffRequest.objects.filter(referral=referral, state=SignOffRequest.State.OPEN)
    pending = pending_sign_off(referral)
    if pending is not None:
        subject, obj = pending
        stale = stale.exclude(
            subject=subject, object_id=obj.pk, office_id=referral.youth_office_id, requested_by_id=obj.author_id
        )
    return stale.update(state=SignOffRequest.State.REPLACED, resolved_at=timezone.now())


def signoff_requests_for(user) -> QuerySet[SignOffRequest]:
    """Open requests the person may answer: addressed to them, or to any colleague of their offices
    (not their own). Read by the indexes (requested_to, state) and (office, state)."""
    office_ids = sorted(actor_of(user).office_ids)
    if not office_ids:
        return SignOffRequest.objects.none()
    return (
        SignOffRequest.objects.filter(state=SignOffRequest.State.OPEN, office_id__in=office_ids)
        .filter(Q(requested_to_id=user.pk) | Q(requested_to__isnull=True))
        .exclude(requested_by_id=user.pk)
        .select_related("referral", "requested_by")
        .order_by("requested_at", "id")
    )


def _notify_signoff(referral: Referral, request: SignOffRequest, kind: str, *, users) -> None:
    with translation.override("de"):
        values = {"reference": referral.reference, "subject": str(SignOffSubject(request.subject).label)}
        subjects = {
            "signoff_requested": _("Please sign off: %(subject)s of referral %(reference)s"),
            "signoff_returned": _("Sent back without sign-off: %(subject)s of referral %(reference)s"),
            "signoff_done": _("Signed off: %(subject)s of referral %(reference)s"),
        }
        bodies = {
            "signoff_requested": _("A colleague asks you to sign off the %(subject)s of referral %(reference)s."),
            "signoff_returned": _(
                "The %(subject)s of referral %(reference)s was sent back with a comment; read it on the case page."
            ),
            "signoff_done": _("The %(subject)s of referral %(reference)s has been signed off."),
        }
        subject = subjects[kind] % values
        body = bodies[kind] % values + "\n" + _("Open it in Kinderschutz-Kooperation (login required):")
    link = reverse("referrals:detail", args=[referral.pk])
    for user in dict.fromkeys(u for u in users if u is not None):
        notification_create(channel=Channel.IN_APP, kind=kind, subject=subject, body=body, link=link, user=user)
