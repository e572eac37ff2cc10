# Issue 14 part 3: questions of a youth office to the filing police station (Rückfrage) and police
# attachments that may belong to a follow-up (docs/domain.md "Rückfragen an die Polizei und Anhänge
# der Polizei").
import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0017_tasks_signoff_requests"),
        ("agencies", "0008_jurisdiction_per_municipality"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="attachment",
            name="followup",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="attachments",
                to="referrals.followup",
            ),
        ),
        migrations.CreateModel(
            name="Question",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "text",
                    models.TextField(
                        validators=[django.core.validators.MaxLengthValidator(4000)], verbose_name="question"
                    ),
                ),
                ("asked_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="asked")),
                (
                    "answer",
                    models.TextField(
                        blank=True, validators=[django.core.validators.MaxLengthValidator(4000)], verbose_name="answer"
                    ),
                ),
                ("answered_at", models.DateTimeField(blank=True, null=True, verbose_name="answered")),
                (
                    "answered_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "asked_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "office",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agencies.agency",
                        verbose_name="asking office",
                    ),
                ),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="questions", to="referrals.referral"
                    ),
                ),
                (
                    "station",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agencies.agency",
                        verbose_name="station",
                    ),
                ),
            ],
            options={
                "verbose_name": "question to the police",
                "verbose_name_plural": "questions to the police",
                "ordering": ["asked_at", "id"],
                "indexes": [
                    models.Index(
                        condition=models.Q(("answered_at__isnull", True)),
                        fields=["station", "referral"],
                        name="question_open_station",
                    )
                ],
            },
        ),
    ]
