"""Issue 12, constant-time pages: the inbox search and the tabs "mine", "unassigned", "overdue".

Search: each child carries its referral's responsible office (``Child.youth_office``), and the
trigram indexes of the children's names lead with that office (``btree_gin``), so an office's search
reads the matches of that office only — not every matching child of the district, filtered by office
afterwards. PostgreSQL keeps the copy equal to ``referral.youth_office`` with two triggers, in the
same transaction as every write that routes, forwards or adds a child (the ORM, bulk loads and plain
SQL alike). SQLite has neither extension nor triggers here: the column stays empty there and the
search keeps its ``EXISTS`` fallback (``referrals.selectors.search_q``).

Tabs: partial indexes of the open referrals that are assigned (per person), unassigned, or not yet
acknowledged with a deadline (the candidates for "overdue"), each in the inbox order.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

OPEN = ("submitted", "acknowledged", "in_assessment", "forwarded")

# The expressions match what ``icontains`` sends on PostgreSQL (``UPPER(col::text) LIKE UPPER(%s)``),
# as in migration 0012; the names end in ``_trgm`` like those, so the benchmarks' and tests' cleaning
# of the GIN pending lists covers them.
OFFICE_TRIGRAM_INDEXES = (
    ("referral_child_office_first_trgm", "first_name"),
    ("referral_child_office_last_trgm", "last_name"),
)

FORWARD_SQL = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    """
    CREATE OR REPLACE FUNCTION referrals_child_office() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        SELECT youth_office_id INTO NEW.youth_office_id FROM referrals_referral WHERE id = NEW.referral_id;
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER referrals_child_office BEFORE INSERT OR UPDATE ON referrals_child
    FOR EACH ROW EXECUTE FUNCTION referrals_child_office()
    """,
    """
    CREATE OR REPLACE FUNCTION referrals_referral_office() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE referrals_child SET youth_office_id = NEW.youth_office_id WHERE referral_id = NEW.id;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER referrals_referral_office AFTER UPDATE OF youth_office_id ON referrals_referral
    FOR EACH ROW WHEN (OLD.youth_office_id IS DISTINCT FROM NEW.youth_office_id)
    EXECUTE FUNCTION referrals_referral_office()
    """,
    """
    UPDATE referrals_child c SET youth_office_id = r.youth_office_id FROM referrals_referral r
    WHERE r.id = c.referral_id AND c.youth_office_id IS DISTINCT FROM r.youth_office_id
    """,
    # The first-name index of migration 0012 served only the inbox search, which now reads the
    # office's one; the last-name one stays for the police list's search (``police_list``).
    "DROP INDEX IF EXISTS referral_child_first_trgm",
    *(
        f'CREATE INDEX IF NOT EXISTS {name} ON referrals_child USING gin (youth_office_id, UPPER("{column}"::text) '
        "gin_trgm_ops)"
        for name, column in OFFICE_TRIGRAM_INDEXES
    ),
]

BACKWARD_SQL = [
    *(f"DROP INDEX IF EXISTS {name}" for name, _column in OFFICE_TRIGRAM_INDEXES),
    'CREATE INDEX IF NOT EXISTS referral_child_first_trgm ON referrals_child USING gin (UPPER("first_name"::text) '
    "gin_trgm_ops)",
    "DROP TRIGGER IF EXISTS referrals_referral_office ON referrals_referral",
    "DROP FUNCTION IF EXISTS referrals_referral_office()",
    "DROP TRIGGER IF EXISTS referrals_child_office ON referrals_child",
    "DROP FUNCTION IF EXISTS referrals_child_office()",
]


def office_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD_SQL:
        schema_editor.execute(statement)


def drop_office_search(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD_SQL:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("agencies", "0008_jurisdiction_per_municipality"),
        ("referrals", "0022_retention_outcome"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="child",
            name="youth_office",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.DO_NOTHING,
                related_name="+",
                to="agencies.agency",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("status__in", OPEN)),
                fields=["youth_office", "assignee", "urgency_rank", "submitted_at", "id"],
                name="referral_inbox_mine",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("assignee__isnull", True), ("status__in", OPEN)),
                fields=["youth_office", "urgency_rank", "submitted_at", "id"],
                name="referral_inbox_unassigned",
            ),
        ),
        migrations.AddIndex(
            model_name="referral",
            index=models.Index(
                condition=models.Q(("acknowledged_at__isnull", True), ("due_at__isnull", False), ("status__in", OPEN)),
                fields=["youth_office", "urgency_rank", "submitted_at", "id"],
                name="referral_inbox_overdue",
            ),
        ),
        migrations.RunPython(office_search, drop_office_search),
    ]
