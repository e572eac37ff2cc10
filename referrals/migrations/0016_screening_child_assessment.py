# Issue 13 (screening step, per-child assessment, statistics rows): all its schema operations.

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import referrals.assessment_models
import referrals.models


def child_parts_from_single_outcome(apps, schema_editor):
    """Assessments recorded before issue 13 had one outcome for the whole referral: it becomes each
    child's result (the other fields of the children's parts stay empty, so the § 8a statistics'
    validation report lists them for completion), and what was saved becomes the assessment's
    version 1 (docs/statistik-8a.md, "Umstellung")."""
    Assessment = apps.get_model("referrals", "Assessment")
    AssessmentChild = apps.get_model("referrals", "AssessmentChild")
    AssessmentVersion = apps.get_model("referrals", "AssessmentVersion")
    Child = apps.get_model("referrals", "Child")
    old = Assessment.objects.filter(child_parts__isnull=True).order_by("pk")
    for assessment in old.iterator(chunk_size=500):
        children = list(
            Child.objects.filter(referral_id=assessment.referral_id).order_by("pk").values_list("pk", flat=True)
        )
        parts = [AssessmentChild(assessment=assessment, child_id=pk, result=assessment.outcome) for pk in children]
        AssessmentChild.objects.bulk_create(parts)
        if not AssessmentVersion.objects.filter(assessment=assessment).exists():
            AssessmentVersion.objects.create(
                assessment=assessment,
                number=assessment.revision,
                author_id=assessment.author_id,
                written_at=assessment.updated_at,
                data={
                    "summary": assessment.summary,
                    "outcome": assessment.outcome,
                    "measures": list(assessment.measures or []),
                    "home_visit_on": assessment.home_visit_on.isoformat() if assessment.home_visit_on else None,
                    "child_seen": assessment.child_seen,
                    "impressions": [],
                    "professionals": [],
                    "children": [{"child": pk, "result": assessment.outcome} for pk in children],
                },
            )


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0015_authority_created_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="referralevent",
            name="kind",
            field=models.CharField(
                choices=[
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
                ],
                max_length=32,
            ),
        ),
        migrations.CreateModel(
            name="Screening",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("weighty_indications", models.BooleanField(verbose_name="weighty indications of a risk")),
                (
                    "reason",
                    models.TextField(
                        validators=[django.core.validators.MaxLengthValidator(10000)], verbose_name="reason"
                    ),
                ),
                (
                    "next_step",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("information_only", "Closed as information only"),
                            ("help_outside_8a", "Help offered outside § 8a"),
                            ("general_social_service", "Handed to the general social service"),
                        ],
                        max_length=30,
                        verbose_name="next step",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="recorded")),
                ("signed_off_at", models.DateTimeField(blank=True, null=True, verbose_name="signed off")),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="screenings", to="referrals.referral"
                    ),
                ),
                (
                    "signed_off_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "screening",
                "verbose_name_plural": "screenings",
                "ordering": ["created_at", "id"],
            },
        ),
        migrations.AddField(
            model_name="assessment",
            name="impressions",
            field=models.JSONField(
                blank=True,
                default=list,
                validators=[referrals.models.ChoicesListValidator("Impression")],
                verbose_name="direct impression of the child",
            ),
        ),
        migrations.AddField(
            model_name="assessment",
            name="professionals",
            field=models.JSONField(blank=True, default=list, verbose_name="professionals who took part"),
        ),
        migrations.AddField(
            model_name="assessment",
            name="revision",
            field=models.PositiveIntegerField(default=1, verbose_name="version"),
        ),
        migrations.CreateModel(
            name="AssessmentChild",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "result",
                    models.CharField(
                        choices=[
                            ("acute_risk", "Acute risk to the child's welfare"),
                            ("latent_risk", "Latent risk to the child's welfare"),
                            ("support_need", "No risk, but need for support"),
                            ("no_risk_no_need", "Neither risk nor need for support"),
                        ],
                        max_length=20,
                        verbose_name="result",
                    ),
                ),
                (
                    "kinds",
                    models.JSONField(
                        blank=True,
                        default=list,
                        validators=[referrals.assessment_models.CodeListValidator("kinds")],
                        verbose_name="kinds of endangerment",
                    ),
                ),
                (
                    "danger_from",
                    models.JSONField(
                        blank=True,
                        default=list,
                        validators=[referrals.assessment_models.CodeListValidator("danger_from")],
                        verbose_name="danger mainly from",
                    ),
                ),
                (
                    "residence",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("both_parents", "With both parents"),
                            ("single_parent", "With a single parent"),
                            ("parent_new_partner", "With a parent and a new partner"),
                            ("relatives", "With grandparents or other relatives"),
                            ("foster_family", "In a foster family"),
                            ("residential_care", "In residential care"),
                            ("other_unknown", "Elsewhere or unknown"),
                        ],
                        max_length=20,
                        verbose_name="where the child lived",
                    ),
                ),
                (
                    "foreign_origin",
                    models.CharField(
                        blank=True,
                        choices=[("yes", "yes"), ("no", "no"), ("unknown", "unknown")],
                        max_length=10,
                        verbose_name="at least one parent of foreign origin",
                    ),
                ),
                (
                    "german_spoken",
                    models.BooleanField(blank=True, null=True, verbose_name="German mainly spoken in the family"),
                ),
                (
                    "help_before",
                    models.JSONField(
                        blank=True,
                        default=list,
                        validators=[referrals.assessment_models.CodeListValidator("help_before")],
                        verbose_name="help received at the time",
                    ),
                ),
                (
                    "help_new",
                    models.JSONField(
                        blank=True,
                        default=list,
                        validators=[referrals.assessment_models.CodeListValidator("help_new")],
                        verbose_name="help newly started",
                    ),
                ),
                (
                    "birth_month",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        null=True,
                        validators=[
                            django.core.validators.MinValueValidator(1),
                            django.core.validators.MaxValueValidator(12),
                        ],
                        verbose_name="estimated month of birth",
                    ),
                ),
                (
                    "birth_year",
                    models.PositiveSmallIntegerField(
                        blank=True,
                        null=True,
                        validators=[django.core.validators.MinValueValidator(1900)],
                        verbose_name="estimated year of birth",
                    ),
                ),
                (
                    "assessment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="child_parts",
                        to="referrals.assessment",
                    ),
                ),
                (
                    "child",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="assessment_parts",
                        to="referrals.child",
                    ),
                ),
            ],
            options={
                "verbose_name": "assessment of a child",
                "verbose_name_plural": "assessments of the children",
                "ordering": ["child_id", "id"],
                "constraints": [models.UniqueConstraint(fields=("assessment", "child"), name="assessment_child_once")],
            },
        ),
        migrations.CreateModel(
            name="AssessmentVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("number", models.PositiveIntegerField(verbose_name="version")),
                ("written_at", models.DateTimeField(verbose_name="written")),
                ("data", models.JSONField(default=dict)),
                (
                    "assessment",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="versions", to="referrals.assessment"
                    ),
                ),
                (
                    "author",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "assessment version",
                "verbose_name_plural": "assessment versions",
                "ordering": ["assessment", "-number"],
                "constraints": [
                    models.UniqueConstraint(fields=("assessment", "number"), name="assessment_version_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="StatisticRecord",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("jahr_ende", models.CharField(max_length=4)),
                ("monat_ende", models.CharField(max_length=2)),
                ("geschlecht", models.CharField(max_length=1)),
                ("geburtsmonat", models.CharField(blank=True, max_length=2)),
                ("geburtsjahr", models.CharField(blank=True, max_length=4)),
                ("aufenthalt", models.CharField(blank=True, max_length=1)),
                ("alter_mutter", models.CharField(max_length=1)),
                ("alter_vater", models.CharField(max_length=1)),
                ("herkunft_ausland", models.CharField(blank=True, max_length=1)),
                ("deutsch", models.CharField(blank=True, max_length=1)),
                ("quelle", models.CharField(max_length=2)),
                ("wiederholt", models.CharField(max_length=1)),
                ("hilfe_vorher", models.CharField(blank=True, max_length=200)),
                ("ergebnis", models.CharField(blank=True, max_length=1)),
                ("vernachlaessigung", models.CharField(max_length=1)),
                ("koerperlich", models.CharField(max_length=1)),
                ("psychisch", models.CharField(max_length=1)),
                ("sexuell", models.CharField(max_length=1)),
                ("gefahr_von", models.CharField(blank=True, max_length=200)),
                ("hilfe_neu", models.CharField(blank=True, max_length=200)),
                (
                    "office",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="agencies.agency"
                    ),
                ),
            ],
            options={
                "verbose_name": "§ 8a statistics record of a deleted case",
                "verbose_name_plural": "§ 8a statistics records of deleted cases",
                "indexes": [models.Index(fields=["office", "jahr_ende"], name="statisticrecord_office_year")],
            },
        ),
        migrations.RunPython(child_parts_from_single_outcome, migrations.RunPython.noop),
    ]
