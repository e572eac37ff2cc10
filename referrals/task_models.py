"""Follow-through of a case in its office (issue 14 §§ 1–2; rules in docs/domain.md,
"Wiedervorlage und Aufgaben", "Bitte um Gegenzeichnung"): tasks with a due time (Wiedervorlage),
their reminders, and requests to a colleague to sign something off.

Tasks belong to an office, not to a person or the case as such: only people of ``Task.office`` see
them (never police, never another office, never an individual grant); an accepted hand-over moves
them to the receiving office with the case (``referrals.followthrough.tasks_hand_over``).
"""

from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from agencies.actor import actor_of
from agencies.models import Agency

TASK_TITLE_MAX = 200
SIGNOFF_COMMENT_MAX = 2_000


class TaskKind(models.TextChoices):
    HOME_VISIT = "home_visit", _("Home visit")
    SEE_CHILD = "see_child", _("See the child")
    SAFETY_PLAN_REVIEW = "safety_plan_review", _("Safety-plan review")
    CONTACT_SCHOOL = "contact_school", _("Contact the school or Kita")
    COURT = "court", _("Court")
    OTHER = "other", _("Other")


class TaskQuerySet(models.QuerySet):
    def visible_to(self, user):
        """The tasks ``user`` may see: those of the youth offices they work in (caseworker or lead) —
        the one scope of tasks for pages, API and counts. Police, coordinators, other offices and
        people with an individual grant on the case see none (docs/domain.md, "Wiedervorlage und
        Aufgaben"). Fast: one indexed comparison on ``office`` against the memberships loaded once
        per request (``agencies.actor``)."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        office_ids = sorted(actor_of(user).office_ids)
        return self.filter(office_id__in=office_ids) if office_ids else self.none()

    def open(self):
        return self.filter(done_at__isnull=True)


class Task(models.Model):
    """A task on a case with a due time (Wiedervorlage): created by hand, or suggested by the
    system (``suggested``) — on acknowledging a referral with a residence ban, the home visit before
    the ban ends. ``office`` is the office whose task it is; reminders are ``TaskReminder`` rows."""

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="tasks")
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("youth office"))
    title = models.CharField(_("title"), max_length=TASK_TITLE_MAX)
    kind = models.CharField(_("kind"), max_length=30, choices=TaskKind.choices, default=TaskKind.OTHER)
    due_at = models.DateTimeField(_("due"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    suggested = models.BooleanField(_("suggested by the system"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Who last marked it undone, and when (the history keeps every change as an event).
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The due time each reminder was last sent for (``TaskReminder`` is the record and the guard):
    # the reminder job finds what is due from the open tasks alone, without reading every reminder
    # ever sent (tests/test_task_query_plans.py).
    reminded_lead_for = models.DateTimeField(null=True, blank=True, editable=False)
    reminded_due_for = models.DateTimeField(null=True, blank=True, editable=False)
    escalated_for = models.DateTimeField(null=True, blank=True, editable=False)

    objects = TaskQuerySet.as_manager()

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_at", "id"]
        indexes = [
            # "Meine Aufgaben", the office view and the reminder jobs read open tasks by due time.
            models.Index(
                fields=["assignee", "due_at", "id"], condition=Q(done_at__isnull=True), name="task_open_assignee"
            ),
            models.Index(fields=["office", "due_at", "id"], condition=Q(done_at__isnull=True), name="task_open_office"),
            models.Index(fields=["due_at", "id"], condition=Q(done_at__isnull=True), name="task_open_due"),
            # A case's tasks, and its next due one in the inbox row.
            models.Index(fields=["referral", "done_at", "due_at"], name="task_referral"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk}"

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class TaskReminder(models.Model):
    """A reminder or escalation sent for a task: unique per task, kind and due time, so that a beat
    job running twice sends once, and a task given a new due time is reminded again."""

    class Kind(models.TextChoices):
        LEAD = "lead", _("Reminder ahead of the due time")
        DUE = "due", _("Reminder at the due time")
        OVERDUE = "overdue", _("Overdue, escalated to the office lead")

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="reminders")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    due_at = models.DateTimeField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "kind", "due_at"], name="task_reminder_once")]

    def __str__(self) -> str:
        return f"{self.task_id}: {self.kind}"


class SignOffSubject(models.TextChoices):
    """What a sign-off request asks to sign: the risk assessment — or, where the case has one, the
    screening decision (docs/domain.md, "Bitte um Gegenzeichnung")."""

    ASSESSMENT = "assessment", _("Risk assessment")
    SCREENING = "screening", _("Screening decision")


class SignOffRequest(models.Model):
    """The author's request that a colleague of the office sign off (four eyes): to a named person
    (``requested_to``) or to any colleague (empty). Open until someone signs off (``signed_off``) or
    sends it back with a comment (``returned``); a new request of the same author replaces an open one
    (``replaced``)."""

    class State(models.TextChoices):
        OPEN = "open", _("open")
        SIGNED_OFF = "signed_off", _("signed off")
        RETURNED = "returned", _("sent back")
        REPLACED = "replaced", _("replaced by a new request")

    referral = models.ForeignKey("referrals.Referral", on_delete=models.CASCADE, related_name="signoff_requests")
    office = models.ForeignKey(Agency, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(max_length=20, choices=SignOffSubject.choices, default=SignOffSubject.ASSESSMENT)
    # The id of the assessment (or screening) asked about: a plain id, so the request needs no
    # foreign key to each kind of thing that can be signed off.
    object_id = models.PositiveBigIntegerField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, validators=[MaxLengthValidator(SIGNOFF_COMMENT_MAX)])

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [
            models.Index(fields=["office", "state", "requested_at"], name="signoff_request_office"),
            models.Index(fields=["requested_to", "state", "requested_at"], name="signoff_request_to"),
        ]
        constraints = [
            # One open request per thing to sign.
            models.UniqueConstraint(
                fields=["referral", "subject", "object_id"], condition=Q(state="open"), name="signoff_request_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"{self.referral_id}: {self.subject} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN


def pending_sign_off(referral, latest_assessment=None) -> tuple[str, Any] | None:
    """What waits for a second professional's sign-off on the case now, as ``(subject, object)``: the
    latest risk assessment, not yet signed off, of a case in assessment; or the latest screening
    decision without weighty indications, not yet signed off (docs/domain.md, "Bitte um
    Gegenzeichnung"). ``latest_assessment``: if the caller has read it already."""
    # referrals.models imports this module at its end (the models of one app): imported when used.
    from referrals.models import Status
    from referrals.screening_models import latest_screening

    if referral.status == Status.IN_ASSESSMENT:
        latest = latest_assessment or referral.assessments.order_by("-created_at", "-id").first()
        if latest is not None and not latest.is_complete:
            return SignOffSubject.ASSESSMENT, latest
    if referral.status == Status.ACKNOWLEDGED:
        screening = latest_screening(referral)
        if screening is not None and screening.awaits_sign_off:
            return SignOffSubject.SCREENING, screening
    return None
