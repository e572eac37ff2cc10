# Retention (issue 4 §5): rules of the coordination office for referrals handed over from the triage
# queue, and deletion records of drafts (no rule: DRAFT_RETENTION_DAYS).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("referrals", "0004_access_log"),
    ]

    operations = [
        migrations.AlterField(
            model_name="retentionrule",
            name="office",
            field=models.ForeignKey(
                limit_choices_to={"kind__in": ["youth_office", "coordination"]},
                on_delete=django.db.models.deletion.PROTECT,
                related_name="retention_rules",
                to="agencies.agency",
                verbose_name="youth office or coordination office",
            ),
        ),
        migrations.AlterField(
            model_name="deletionrecord",
            name="rule",
            field=models.ForeignKey(
                blank=True,
                help_text="Empty for a draft deleted after DRAFT_RETENTION_DAYS without a change.",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="deletions",
                to="referrals.retentionrule",
            ),
        ),
    ]
