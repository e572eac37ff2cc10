"""Issue 12: the open inbox tabs read a partial index of the open referrals per office; the inbox
search finds children, references and case numbers through trigram indexes (PostgreSQL only: the
``pg_trgm`` extension; SQLite keeps the plain ``LIKE`` scan, which is fine at its sizes)."""

from django.db import migrations, models

# The expressions match what ``icontains`` sends on PostgreSQL (``UPPER(col::text) LIKE UPPER(%s)``).
TRIGRAM_INDEXES = (
    ("referral_child_first_trgm", "referrals_child", "first_name"),
    ("referral_child_last_trgm", "referrals_child", "last_name"),
    ("referral_reference_trgm", "referrals_referral", "reference"),
    ("referral_case_number_trgm", "referrals_referral", "police_case_number"),
)


def trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER("{column}"::text) gin_trgm_ops)'
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0008_jurisdiction_per_municipality"),
        ("referrals", "0011_individual_grants"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("status__in", ("submitted", "acknowledged", "in_assessment", "forwarded"))),
                fields=["youth_office", "urgency_rank", "submitted_at", "id"],
                name="referral_inbox_open",
            ),
        ),
        migrations.RunPython(trigram_indexes, drop_trigram_indexes),
    ]
