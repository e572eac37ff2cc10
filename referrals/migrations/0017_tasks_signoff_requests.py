# Issue 14 parts 1-2 (tasks and Wiedervorlage, sign-off requests): all their schema operations.
# The history's kinds (ReferralEvent.kind) are listed with those of issue 13 (0016) before them; a later
# migration that adds kinds lists these too.

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

EVENT_KINDS = [
    ("created", "Draft created"),
    ("updated", "Draft updated"),
    ("submitted", "Submitted and routed"),
    ("triaged", "Placed in the triage queue"),
    ("office_assigned", "Assigned to a youth office"),
    ("acknowledged", "Receipt acknowledged"),
    ("assigned", "Caseworker assigned"),
    ("rerated", "Urgency re-rated"),
    ("forwarded", "Forwarded to another office"),
    ("forward_accepted", "Forwarded case accepted"),
    ("forward_returned", "Forwarded case returned"),
    ("exported", "Handed over outside the system"),
    ("screened", "Screening recorded"),
    ("screening_signed_off", "Screening signed off"),
    ("assessment_saved", "Risk assessment recorded"),
    ("signed_off", "Risk assessment signed off"),
    ("closed", "Closed"),
    ("reopened", "Reopened"),
    ("followup", "Follow-up from police"),
    ("note", "Internal note"),
    ("attachment", "Attachment added"),
    ("escalated", "Escalated"),
    ("repeat", "Earlier referral of a child found"),
    ("alerted", "On-call service alerted"),
    ("granted", "Read access granted to a person"),
    ("grant_ended", "Read access of a person ended"),
    ("task_created", "Task created"),
    ("task_done", "Task done"),
    ("task_undone", "Task marked not done"),
    ("task_changed", "Task changed"),
    ("signoff_requested", "Sign-off requested"),
    ("signoff_returned", "Sent back without sign-off"),
]
USER = settings.AUTH_USER_MODEL
PROTECT = django.db.models.deletion.PROTECT


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0016_screening_child_assessment"),
        ("agencies", "0008_jurisdiction_per_municipality"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="residence_ban_until",
            field=models.DateField(blank=True, null=True, verbose_name="ban on return until"),
        ),
        migrations.AlterField(
            model_name="referralevent",
            name="kind",
            field=models.CharField(choices=EVENT_KINDS, max_length=32),
        ),
        # Reads of a case's tasks through the API are logged like notes (referrals/api/tasks.py).
        migrations.AlterField(
            model_name="accesslogentry",
            name="obj_type",
            field=models.CharField(
                choices=[
                    ("referral", "Referral"),
                    ("note", "Internal notes"),
                    ("attachment", "Attachment"),
                    ("followup", "Follow-ups"),
                    ("timeline", "Case history"),
                    ("assessment", "Risk assessment"),
                    ("export", "Export"),
                    ("task", "Tasks"),
                ],
                max_length=12,
                verbose_name="object",
            ),
        ),
        migrations.CreateModel(
            name="Task",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("title", models.CharField(max_length=200, verbose_name="title")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("home_visit", "Home visit"),
                            ("see_child", "See the child"),
                            ("safety_plan_review", "Safety-plan review"),
                            ("contact_school", "Contact the school or Kita"),
                            ("court", "Court"),
                            ("other", "Other"),
                        ],
                        default="other",
                        max_length=30,
                        verbose_name="kind",
                    ),
                ),
                ("due_at", models.DateTimeField(verbose_name="due")),
                ("suggested", models.BooleanField(default=False, verbose_name="suggested by the system")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created")),
                ("done_at", models.DateTimeField(blank=True, null=True, verbose_name="done")),
                ("undone_at", models.DateTimeField(blank=True, null=True)),
                ("reminded_lead_for", models.DateTimeField(blank=True, editable=False, null=True)),
                ("reminded_due_for", models.DateTimeField(blank=True, editable=False, null=True)),
                ("escalated_for", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "assignee",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=PROTECT, related_name="+", to=USER, verbose_name="assigned to"
                    ),
                ),
                ("created_by", models.ForeignKey(null=True, on_delete=PROTECT, related_name="+", to=USER)),
                ("done_by", models.ForeignKey(blank=True, null=True, on_delete=PROTECT, related_name="+", to=USER)),
                (
                    "office",
                    models.ForeignKey(
                        on_delete=PROTECT, related_name="+", to="agencies.agency", verbose_name="youth office"
                    ),
                ),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="tasks", to="referrals.referral"
                    ),
                ),
                ("undone_by", models.ForeignKey(blank=True, null=True, on_delete=PROTECT, related_name="+", to=USER)),
            ],
            options={
                "verbose_name": "task",
                "verbose_name_plural": "tasks",
                "ordering": ["due_at", "id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("done_at__isnull", True)),
                        fields=["assignee", "due_at", "id"],
                        name="task_open_assignee",
                    ),
                    models.Index(
                        condition=models.Q(("done_at__isnull", True)),
                        fields=["office", "due_at", "id"],
                        name="task_open_office",
                    ),
                    models.Index(
                        condition=models.Q(("done_at__isnull", True)), fields=["due_at", "id"], name="task_open_due"
                    ),
                    models.Index(fields=["referral", "done_at", "due_at"], name="task_referral"),
                ],
            },
        ),
        migrations.CreateModel(
            name="TaskReminder",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("lead", "Reminder ahead of the due time"),
                            ("due", "Reminder at the due time"),
                            ("overdue", "Overdue, escalated to the office lead"),
                        ],
                        max_length=10,
                    ),
                ),
                ("due_at", models.DateTimeField()),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "task",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="reminders", to="referrals.task"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("task", "kind", "due_at"), name="task_reminder_once"),
                ],
            },
        ),
        migrations.CreateModel(
            name="SignOffRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "subject",
                    models.CharField(
                        choices=[("assessment", "Risk assessment"), ("screening", "Screening decision")],
                        default="assessment",
                        max_length=20,
                    ),
                ),
                ("object_id", models.PositiveBigIntegerField()),
                ("requested_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("open", "open"),
                            ("signed_off", "signed off"),
                            ("returned", "sent back"),
                            ("replaced", "replaced by a new request"),
                        ],
                        default="open",
                        max_length=12,
                    ),
                ),
                ("resolved_at", models.DateTimeField(blank=True, null=True)),
                (
                    "comment",
                    models.TextField(
                        blank=True,
                        validators=[django.core.validators.MaxLengthValidator(2000)],
                        verbose_name="comment",
                    ),
                ),
                ("office", models.ForeignKey(on_delete=PROTECT, related_name="+", to="agencies.agency")),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="signoff_requests",
                        to="referrals.referral",
                    ),
                ),
                ("requested_by", models.ForeignKey(on_delete=PROTECT, related_name="+", to=USER)),
                (
                    "requested_to",
                    models.ForeignKey(blank=True, null=True, on_delete=PROTECT, related_name="+", to=USER),
                ),
                ("resolved_by", models.ForeignKey(blank=True, null=True, on_delete=PROTECT, related_name="+", to=USER)),
            ],
            options={
                "ordering": ["requested_at", "id"],
                "indexes": [
                    models.Index(fields=["office", "state", "requested_at"], name="signoff_request_office"),
                    models.Index(fields=["requested_to", "state", "requested_at"], name="signoff_request_to"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("state", "open")),
                        fields=("referral", "subject", "object_id"),
                        name="signoff_request_one_open",
                    )
                ],
            },
        ),
    ]
