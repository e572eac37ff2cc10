"""Grow a benchmark database by copying what is there, in SQL (issue 12: pages at 1,000,000 referrals).

``benchmarks.pages`` fills its first size through the ORM (every referral built in Python: about
100 referrals a second on a busy 2-core machine, three hours for a million). To reach the large size
this copies the referrals the ORM made — with their children, persons, timeline events and
access-log entries — as often as needed, in ``INSERT … SELECT`` statements inside PostgreSQL: the
copies keep the shape of the original (offices, statuses, urgencies, dates, names), get new ids and
references, and point to their own copies of the rows that hang on them. Every index is maintained
as on a real insert; ``ANALYZE`` runs at the end as autovacuum would.
"""

# ruff: noqa: S608 — table and column names come from Django's model metadata, not from input.

from django.db import connection

# The tables that hang on a referral, and which of their columns hold a referral's id.
CHILD_TABLES = {
    "referrals.Child": ("referral_id",),
    "referrals.Person": ("referral_id",),
    "referrals.ReferralEvent": ("referral_id",),
    "referrals.AccessLogEntry": ("referral_id", "obj_id"),
}


def _columns(model) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


def replicate(base: int, target: int, *, progress=print) -> None:
    """Copy referrals ``1..base`` (ids as the ORM gave them in the empty test database) until there
    are ``target`` referrals: copy k has ids ``id + k * base`` and references ``<reference>-k``."""
    from django.apps import apps

    from referrals.models import Referral

    referral_table = Referral._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(id), max(id), count(*) FROM {referral_table}")
        low, high, count = cursor.fetchone()
        assert (low, high, count) == (1, base, base), "replicate needs referrals with ids 1..base"
        copies = -(-target // base) - 1
        columns = [c for c in _columns(Referral) if c not in ("id", "reference")]
        for k in range(1, copies + 1):
            shift = k * base
            last = min(base, target - shift)
            cursor.execute(
                f"INSERT INTO {referral_table} (id, reference, {', '.join(columns)}) "
                f"SELECT id + %s, reference || %s, {', '.join(columns)} FROM {referral_table} WHERE id <= %s",
                [shift, f"-{k}", last],
            )
            for label, referral_columns in CHILD_TABLES.items():
                model = apps.get_model(label)
                table = model._meta.db_table
                kept = [c for c in _columns(model) if c != "id"]
                selected = [f"{c} + %s" if c in referral_columns else c for c in kept]
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(kept)}) SELECT {', '.join(selected)} FROM {table} "
                    f"WHERE referral_id <= %s",
                    [shift] * len(referral_columns) + [last],
                )
            progress(f"  copied to {shift + last:,} referrals")
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{referral_table}', 'id'), (SELECT max(id) FROM {referral_table}))"
        )
