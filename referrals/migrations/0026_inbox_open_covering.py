"""The inbox's open-tab counts from the index alone (issue 12).

The six open tabs are counted in one aggregate per branch over the office's open referrals
(``selectors.inbox_counts_and_branches``). From ``referral_inbox_open`` that read every open row from
the table as well — one table page per row, 8 ms for 6,000 open referrals at 1,000,000. On PostgreSQL
the index now also carries (``INCLUDE``) the columns the counts look at, so they are counted with an
index-only scan (1.3 ms for the same rows, README "The database at a million referrals"); the page of
the tab "Offen" reads it as before. SQLite has no ``INCLUDE`` and keeps the index of the model's
state (``Referral.Meta.indexes``): the columns are not part of the state, as the search indexes of
0023 are not.
"""

from django.db import migrations

OPEN = "('submitted', 'acknowledged', 'in_assessment', 'forwarded')"  # models.OPEN_STATUSES
KEY = "referrals_referral (youth_office_id, urgency_rank, submitted_at, id)"

FORWARD_SQL = (
    "DROP INDEX IF EXISTS referral_inbox_open",
    f"CREATE INDEX referral_inbox_open ON {KEY} INCLUDE (status, assignee_id, acknowledged_at, due_at) "
    f"WHERE status IN {OPEN}",
)
BACKWARD_SQL = (
    "DROP INDEX IF EXISTS referral_inbox_open",
    f"CREATE INDEX referral_inbox_open ON {KEY} WHERE status IN {OPEN}",
)


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("referrals", "0025_event_kind_indexes")]

    operations = [migrations.RunPython(_run(FORWARD_SQL), _run(BACKWARD_SQL))]
