# Issue 12: the access log stores the office whose log shows an entry (``AccessLogEntry.office``,
# see its docstring), so the lead's page reads one index range instead of matching every entry
# against the office's referrals.
#
# The backfill gives existing entries what the page showed them under until now: the youth office
# currently responsible for their referral, else the agency the person acted in. It updates in
# batches of ids (5 M entries are a hundred statements, each an index range) inside the migration's
# transaction. The log is append-only (migration 0004): for the backfill only, PostgreSQL disables
# its trigger in this transaction (ALTER TABLE holds the table's lock until the commit, so no other
# session can change or even write the log meanwhile); SQLite drops the UPDATE trigger and creates
# it again. The indexes are created after the backfill (faster than maintaining them row by row).
import django.db.models.deletion
from django.db import migrations, models

TABLE = "referrals_accesslogentry"
BATCH = 50_000
BACKFILL = """
    UPDATE referrals_accesslogentry SET office_id = COALESCE(
        (SELECT r.youth_office_id FROM referrals_referral r WHERE r.id = referrals_accesslogentry.referral_id),
        agency_id
    )
    WHERE id >= %s AND id < %s
"""
SQLITE_NO_UPDATE = f"""
    CREATE TRIGGER referrals_accesslog_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'The access log is append-only: UPDATE refused.'); END
"""  # the same as in 0004_access_log
SQLITE_NO_DELETE = f"""
    CREATE TRIGGER referrals_accesslog_no_delete BEFORE DELETE ON {TABLE}
    WHEN access_log_flushing() = 0
    BEGIN SELECT RAISE(ABORT, 'The access log is append-only: DELETE refused.'); END
"""  # the same as in 0004_access_log


def backfill(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM referrals_accesslogentry")
        first, last = cursor.fetchone()
        if first is None:
            return
        if vendor == "postgresql":
            # The new foreign key is checked per statement: deferred checks pending at the commit
            # would make the ALTER TABLE below fail ("pending trigger events").
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER referrals_accesslog_append_only")
        elif vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS referrals_accesslog_no_update")
        for start in range(first, last + 1, BATCH):
            cursor.execute(BACKFILL, [start, start + BATCH])
        if vendor == "postgresql":
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER referrals_accesslog_append_only")
        elif vendor == "sqlite":
            cursor.execute(SQLITE_NO_UPDATE)


def sqlite_triggers_again(apps, schema_editor):
    """Reversing on SQLite: removing the column rebuilds the table without its triggers; this runs
    after that (the first operation, reversed last) and creates them as 0004 did."""
    if schema_editor.connection.vendor != "sqlite":
        return
    for statement in (SQLITE_NO_UPDATE, SQLITE_NO_DELETE):
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {statement.split()[2]}")
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0008_jurisdiction_per_municipality"),
        ("referrals", "0020_oversight_figures"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, sqlite_triggers_again),
        migrations.AddField(
            model_name="accesslogentry",
            name="office",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="agencies.agency",
                verbose_name="responsible office",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="accesslogentry",
            index=models.Index(fields=["office", "-at", "-id"], name="accesslog_office_at"),
        ),
        migrations.AddIndex(
            model_name="accesslogentry",
            index=models.Index(fields=["office", "person", "-at", "-id"], name="accesslog_office_person"),
        ),
        migrations.AddIndex(
            model_name="accesslogentry",
            index=models.Index(
                condition=models.Q(("office__isnull", False), models.Q(("office", models.F("agency")), _negated=True)),
                fields=["agency", "-at", "-id"],
                name="accesslog_agency_outside",
            ),
        ),
        migrations.AddIndex(
            model_name="accesslogentry",
            index=models.Index(
                condition=models.Q(("office__isnull", False), models.Q(("office", models.F("agency")), _negated=True)),
                fields=["agency", "person", "-at", "-id"],
                name="accesslog_outside_person",
            ),
        ),
    ]
