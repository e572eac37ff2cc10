# Issue 12: the outcome that decides a closed referral's retention is stored on the referral when it
# is closed (``Referral.retention_outcome``, ``referrals.retention_outcome``), so the dry run and the
# daily job read one range of ``referral_retention`` instead of computing it per referral.
#
# The backfill computes it for the closed referrals with the same rule as
# ``retention_outcome_expression`` (last signed-off assessment's outcome, else ``handed_over`` if
# exported, else ``none``), in batches of ids; the index is created afterwards.
from django.db import migrations, models

BATCH = 20_000
BACKFILL = """
    UPDATE referrals_referral SET retention_outcome = COALESCE(
        (SELECT a.outcome FROM referrals_assessment a
         WHERE a.referral_id = referrals_referral.id AND a.signed_off_at IS NOT NULL
         ORDER BY a.signed_off_at DESC, a.id DESC LIMIT 1),
        CASE WHEN EXISTS (
            SELECT 1 FROM referrals_referralevent e WHERE e.referral_id = referrals_referral.id AND e.kind = 'exported'
        ) THEN 'handed_over' ELSE 'none' END
    )
    WHERE status = 'closed' AND id >= %s AND id < %s
"""


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM referrals_referral WHERE status = 'closed'")
        first, last = cursor.fetchone()
        if first is None:
            return
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # nothing pending for the CREATE INDEX below
        for start in range(first, last + 1, BATCH):
            cursor.execute(BACKFILL, [start, start + BATCH])


class Migration(migrations.Migration):
    dependencies = [("referrals", "0021_access_log_office")]

    operations = [
        migrations.AddField(
            model_name="referral",
            name="retention_outcome",
            field=models.CharField(blank=True, default="", max_length=20, verbose_name="retention outcome"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("status", "closed")),
                fields=["youth_office", "retention_outcome", "closed_at", "id"],
                name="referral_retention",
            ),
        ),
    ]
