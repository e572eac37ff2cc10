"""Query plans of the lead's pages on PostgreSQL (issue 12): the access log (page, person filter, CSV)
and the retention dry run read the access log and the referrals through an index — no sequential
scan, which would make the page grow with the table.

As in tests/test_query_plans.py: the database is seeded with a realistic shape (ten offices, 95 %
closed, a few log entries per referral, outsiders' reads), ``ANALYZE``d (the referrals also
``VACUUM``ed, as autovacuum would), so the planner chooses
as in production; nothing switches sequential scans off. The pages are requested through the full
stack and every query they send on a guarded table is ``EXPLAIN``ed. A person filter that goes back
to a DISTINCT over the log, an OR across ``office`` and ``agency``, or a dry run that computes the
outcome per referral again fails here.
"""

import datetime
import random
from types import SimpleNamespace

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from agencies.models import Agency, AgencyKind
from referrals.models import URGENCY_RANK, AccessLogEntry, Referral, RetentionOutcome, RetentionRule, Status, Urgency
from referrals.retention import DRY_RUN_SHOWN
from tests.plans import assert_no_seq_scan, page_plans

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="query plans are PostgreSQL's: CI runs `make test` on PostgreSQL (DATABASE_URL); SQLite has no EXPLAIN "
        "of the same shape",
    ),
]

GUARDED_TABLES = (Referral._meta.db_table, AccessLogEntry._meta.db_table)
PER_OFFICE = 2_500
READS = 3  # log entries per referral
RULE_DAYS = 1_950  # the dry run's rule: the oldest few percent of an office's closed referrals are due
LONG_RULE_DAYS = 1_000  # a second rule: about half of its outcome's closed referrals due, more than a page


def _seed() -> dict:
    """The seeded world (committed, once per module); removed again at the end of the module."""
    from django.contrib.auth import get_user_model

    from agencies.models import Membership, Role
    from tests.conftest import district_get

    rng = random.Random(12)
    User = get_user_model()
    lead = User.objects.create_user("plan_lead")
    caseworker = User.objects.create_user("plan_lead_caseworker")
    police = User.objects.create_user("plan_lead_police")
    district_get()  # a transactional test on the same worker may have flushed the seeded district
    hilden = Agency.objects.get(code="JA-HIL")
    station = Agency.objects.get(code="PW-HIL")
    Membership.objects.create(user=lead, agency=hilden, role=Role.OFFICE_LEAD)
    Membership.objects.create(user=caseworker, agency=hilden, role=Role.CASEWORKER)
    Membership.objects.create(user=police, agency=station, role=Role.POLICE_OFFICER)
    offices = list(Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE).order_by("pk"))
    now = timezone.now()
    referrals = []
    for office in offices:
        for index in range(PER_OFFICE):
            submitted = now - datetime.timedelta(days=rng.randint(1, 2000), minutes=rng.randint(0, 1440))
            closed = rng.random() < 0.95
            urgency = rng.choice(list(Urgency))
            referrals.append(
                Referral(
                    reference=f"L-{office.pk}-{index}",
                    status=Status.CLOSED if closed else rng.choice([Status.SUBMITTED, Status.IN_ASSESSMENT]),
                    police_authority_id=station.parent_id,
                    station=station,
                    created_by=police,
                    urgency=urgency,
                    urgency_rank=URGENCY_RANK[urgency],
                    youth_office=office,
                    submitted_at=submitted,
                    received_at=submitted,
                    closed_at=submitted + datetime.timedelta(days=30) if closed else None,
                    retention_outcome=rng.choice(list(RetentionOutcome)) if closed else "",
                    police_case_number=f"ME-{rng.randint(100000, 999999)}",
                )
            )
    Referral.objects.bulk_create(referrals, batch_size=2000)
    Referral.objects.filter(reference__startswith="L-").update(created_at=F("submitted_at"))
    log = []
    for referral in referrals:
        for _ in range(READS):
            at = referral.submitted_at + datetime.timedelta(hours=rng.randint(1, 2000))
            if rng.random() < 0.02:  # police read the case they filed: an outsider in the office's log
                person, agency = police, station.pk
            elif rng.random() < 0.02:  # Hilden's caseworker tries another office's case
                person, agency = caseworker, hilden.pk
            else:  # the office's own staff (here: one person per office stands for them)
                person, agency = caseworker, referral.youth_office_id
            log.append(
                AccessLogEntry(
                    person=person, agency_id=agency, office_id=referral.youth_office_id, action="view",
                    obj_type="referral", obj_id=referral.pk, referral_id=referral.pk, at=at, role="",
                )
            )  # fmt: skip
    AccessLogEntry.objects.bulk_create(log, batch_size=5000)
    RetentionRule.objects.create(
        office=hilden, outcome=RetentionOutcome.NONE, keep_days=RULE_DAYS,
        valid_from=timezone.localdate() + datetime.timedelta(days=1),
    )  # fmt: skip
    RetentionRule.objects.create(
        office=hilden, outcome=RetentionOutcome.SUPPORT_NEED, keep_days=LONG_RULE_DAYS,
        valid_from=timezone.localdate() + datetime.timedelta(days=1),
    )  # fmt: skip
    with connection.cursor() as cursor:
        for table in GUARDED_TABLES:
            cursor.execute(f"ANALYZE {table}")
        # The visibility map autovacuum keeps in production: without it an index-only count (the dry
        # run's number due) is costed as if every row were fetched from the table.
        cursor.execute(f"VACUUM {Referral._meta.db_table}")
    return {"lead": lead, "caseworker": caseworker, "police": police}


def _unseed(people: dict) -> None:
    from django.contrib.auth import get_user_model

    ids = [p.pk for p in people.values()]
    table = AccessLogEntry._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # The log is append-only (migration 0004): the trigger is lifted for this cleanup only,
        # inside its transaction (the table stays locked until the commit).
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER referrals_accesslog_append_only")
        AccessLogEntry.objects.filter(person_id__in=ids).delete()
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER referrals_accesslog_append_only")
    RetentionRule.objects.filter(keep_days__in=[RULE_DAYS, LONG_RULE_DAYS], office__code="JA-HIL").delete()
    Referral.objects.filter(created_by=people["police"]).delete()
    get_user_model().objects.filter(pk__in=ids).delete()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        people = _seed()
    yield SimpleNamespace(**people)
    with django_db_blocker.unblock():
        _unseed(people)


def _plans(send) -> list[tuple[str, str]]:
    return page_plans(send, GUARDED_TABLES)


def _assert_indexed(plans) -> None:
    assert_no_seq_scan(plans, GUARDED_TABLES)


def _uses(plans, index: str) -> list[str]:
    return [plan for _sql, plan in plans if index in plan]


def test_access_log_page_reads_the_office_from_its_index(client, seeded):
    client.force_login(seeded.lead)
    plans = _plans(lambda: client.get(reverse("referrals:access_log")))
    _assert_indexed(plans)
    pages = _uses(plans, "accesslog_office_at")
    assert pages, plans
    assert any("Sort" not in plan for plan in pages), pages  # newest first straight from the index
    assert _uses(plans, "accesslog_agency_outside"), plans  # own members' reads of other offices' cases
    assert not [sql for sql, _plan in plans if "DISTINCT" in sql.upper()], plans


def test_access_log_person_filter_uses_indexes(client, seeded):
    """A rare person (the police officer) is read from the office-and-person index; for the person of
    most entries the planner may as well walk the office's index and filter — either way the rows
    come in order from an index, no sort."""
    client.force_login(seeded.lead)
    for person in (seeded.police, seeded.caseworker):
        plans = _plans(lambda person=person: client.get(reverse("referrals:access_log"), {"person": person.pk}))
        _assert_indexed(plans)
        pages = [plan for sql, plan in plans if "accesslogentry" in sql and sql.rstrip().endswith("LIMIT 100")]
        assert len(pages) == 2, plans  # the office's entries, its members' entries elsewhere
        assert all("Sort" not in plan and "Index Scan using accesslog_" in plan for plan in pages), pages
        if person == seeded.police:
            assert _uses(plans, "accesslog_office_person"), pages


def test_access_log_csv_uses_indexes(client, seeded):
    client.force_login(seeded.lead)
    _assert_indexed(_plans(lambda: client.get(reverse("referrals:access_log_csv"))))


def test_retention_dry_run_reads_the_stored_outcome_from_its_index(client, seeded):
    client.force_login(seeded.lead)
    response = client.get(reverse("referrals:retention"))
    listed = [row.dry_run for section in response.context["sections"] for row in section.rows if row.dry_run]
    assert listed and all(run.referrals for run in listed), "the rules list a few of the oldest"
    plans = _plans(lambda: client.get(reverse("referrals:retention")))
    _assert_indexed(plans)
    dry_runs = _uses(plans, "referral_retention")
    assert dry_runs, plans
    assert not [sql for sql, _plan in plans if "referrals_assessment" in sql], "outcome computed per referral"


def test_retention_dry_run_counts_one_range_and_reads_one_page_of_it(client, seeded):
    """A rule with hundreds due: the number is one count over a range of ``referral_retention`` and
    the list one page of ``DRY_RUN_SHOWN`` read in order from it (no sort) — also the keyset page
    after it, which starts inside the range instead of reading the referrals before it (issue 12)."""
    client.force_login(seeded.lead)
    response = client.get(reverse("referrals:retention"))
    rows = [row for section in response.context["sections"] for row in section.rows]
    row = next(row for row in rows if row.rule.keep_days == LONG_RULE_DAYS)
    run = row.dry_run
    assert run.count > DRY_RUN_SHOWN and len(run.referrals) == DRY_RUN_SHOWN and run.next_after, run
    for params in ({}, {"rule": row.rule.pk, "after": run.next_after}):
        plans = _plans(lambda params=params: client.get(reverse("referrals:retention"), params))
        _assert_indexed(plans)
        counts = [plan for sql, plan in plans if "COUNT(" in sql.upper()]
        # a page reads one row more than it shows: is there a next page?
        pages = [plan for sql, plan in plans if sql.rstrip().endswith(f"LIMIT {DRY_RUN_SHOWN + 1}")]
        assert counts and all("Index Only Scan using referral_retention" in plan for plan in counts), plans
        assert pages and all("referral_retention" in plan and "Sort" not in plan for plan in pages), pages
        if params:  # the keyset bounds the index range: the page and the rest's count start at the cursor
            keyset = [plan for _sql, plan in plans if "ROW(closed_at, id) >" in plan]
            bounded = [line for plan in keyset for line in plan.splitlines() if "ROW(closed_at, id) >" in line]
            assert len(keyset) == 2 and all("Index Cond" in line for line in bounded), plans
