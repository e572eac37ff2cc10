# Issue 15 § 3: the record of a hand-over to an office outside the system (referrals.handover_models).
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0018_police_dialogue"),
        ("agencies", "0008_jurisdiction_per_municipality"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Handover",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("recipient", models.CharField(max_length=300, verbose_name="receiving office outside the system")),
                ("at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="handed over at")),
                ("document", models.JSONField(verbose_name="structured export")),
                ("pdf", models.BinaryField(verbose_name="PDF of the case")),
                (
                    "confidential_left_out",
                    models.PositiveIntegerField(default=0, verbose_name="items confided under § 65 SGB VIII left out"),
                ),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="agencies.agency",
                        verbose_name="handed over by office",
                    ),
                ),
                (
                    "handed_over_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="handed over by",
                    ),
                ),
                (
                    "referral",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="handovers",
                        to="referrals.referral",
                    ),
                ),
            ],
            options={
                "verbose_name": "hand-over outside the system",
                "verbose_name_plural": "hand-overs outside the system",
                "ordering": ["-at", "-id"],
            },
        ),
    ]
