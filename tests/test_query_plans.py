"""Query plans of the list pages on PostgreSQL (issue 12): every query the inbox (each tab, with its
tab counts), the inbox search, the API list and the police list send reads referrals and children
through an index — no sequential scan, which would make the page grow with the table.

The database is seeded with a realistic shape (ten offices, 95 % closed, children with varied
names), the trigram indexes' pending lists cleaned as autovacuum would, and ``ANALYZE``d, so the
planner chooses as in production; nothing switches sequential scans off. The pages are requested
through the full stack and every query they send is ``EXPLAIN``ed: a search that puts the child
match back inside an OR (a sequential scan of the children) fails here, and so does a keyset
condition that is not one row-value comparison.
"""

import datetime
import random
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency, AgencyKind
from referrals.models import URGENCY_RANK, AccessLogEntry, Child, Referral, Status, Urgency
from tests.plans import assert_no_seq_scan, page_plans

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="query plans are PostgreSQL's: CI runs `make test` on PostgreSQL (DATABASE_URL); SQLite has no EXPLAIN "
        "of the same shape",
    ),
]

GUARDED_TABLES = (Referral._meta.db_table, Child._meta.db_table, AccessLogEntry._meta.db_table)
PER_OFFICE = 2_500  # ten offices, 95 % closed: each office holds about a hundred open referrals
SEARCHED = "Yilmaz"  # the surname of a handful of children; every other child has a rarer one

FIRST = ["Mia", "Tom", "Lena", "Paul", "Emma", "Ben", "Lina", "Noah", "Ella", "Finn"]
SYLLABLES = ["ber", "mann", "schu", "kow", "hoff", "wag", "mitz", "krü", "lan", "dorf", "zak", "ova", "ler", "tin"]


def _seed() -> dict:
    """The seeded world (committed: seeding once per module keeps the test quick); removed again at
    the end of the module. Returns the people who look at it."""
    from django.contrib.auth import get_user_model

    from agencies.models import Membership, Role
    from tests.conftest import district_get

    rng = random.Random(12)
    User = get_user_model()
    caseworker = User.objects.create_user("plan_caseworker")
    police = User.objects.create_user("plan_police")
    coordinator = User.objects.create_user("plan_coordinator")
    district_get()  # a transactional test on the same worker may have flushed the seeded district
    hilden = Agency.objects.get(code="JA-HIL")
    station = Agency.objects.get(code="PW-HIL")
    Membership.objects.create(user=caseworker, agency=hilden, role=Role.CASEWORKER)
    Membership.objects.create(user=police, agency=station, role=Role.POLICE_OFFICER)
    Membership.objects.create(user=coordinator, agency=station.parent, role=Role.POLICE_COORDINATOR)
    offices = list(Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE).order_by("pk"))
    stations = list(Agency.objects.filter(kind=AgencyKind.POLICE_STATION).order_by("pk"))
    now = timezone.now()
    referrals = []
    for office in offices:
        for index in range(PER_OFFICE):
            submitted = now - datetime.timedelta(days=rng.randint(1, 2000), minutes=rng.randint(0, 1440))
            closed = rng.random() < 0.95
            urgency = rng.choice(list(Urgency))
            filed_by = rng.choice(stations)
            referrals.append(
                Referral(
                    reference=f"S-{office.pk}-{index}",
                    status=Status.CLOSED if closed else rng.choice([Status.SUBMITTED, Status.IN_ASSESSMENT]),
                    police_authority_id=filed_by.parent_id,
                    station=filed_by,
                    created_by=police,
                    urgency=urgency,
                    urgency_rank=URGENCY_RANK[urgency],
                    youth_office=office,
                    submitted_at=submitted,
                    received_at=submitted,
                    due_at=submitted + datetime.timedelta(days=1),
                    # Some open cases are the caseworker's, some still unacknowledged (the tabs "mine",
                    # "unassigned" and "overdue" each have rows of their own).
                    assignee=caseworker if not closed and rng.random() < 0.3 else None,
                    acknowledged_at=None
                    if not closed and rng.random() < 0.2
                    else submitted + datetime.timedelta(hours=2),
                    closed_at=submitted + datetime.timedelta(days=30) if closed else None,
                    police_case_number=f"ME-{rng.randint(100000, 999999)}",
                )
            )
    Referral.objects.bulk_create(referrals, batch_size=2000)
    Referral.objects.filter(reference__startswith="S-").update(created_at=F("submitted_at"))
    children = [
        Child(
            referral=referral,
            first_name=rng.choice(FIRST),
            last_name=SEARCHED if rng.random() < 0.001 else "".join(rng.sample(SYLLABLES, 3)).title(),
        )
        for referral in referrals
        for _ in range(rng.randint(1, 2))
    ]
    Child.objects.bulk_create(children, batch_size=2000)
    with connection.cursor() as cursor:
        # The steady state autovacuum keeps: the rows bulk-loaded here still sit in the trigram
        # indexes' pending lists, which would make every trigram search look expensive.
        cursor.execute(
            "SELECT gin_clean_pending_list(indexrelid::regclass) FROM pg_index i JOIN pg_class c ON "
            "c.oid = i.indexrelid WHERE c.relname LIKE '%%_trgm'"
        )
        for table in GUARDED_TABLES:
            # VACUUM: the visibility map autovacuum keeps, which the index-only counts rely on
            cursor.execute(f"VACUUM ANALYZE {table}")
    return {"caseworker": caseworker, "police": police, "coordinator": coordinator}


def _unseed(people: dict) -> None:
    from django.contrib.auth import get_user_model

    Referral.objects.filter(created_by=people["police"]).delete()
    get_user_model().objects.filter(pk__in=[p.pk for p in people.values()]).delete()


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


def _assert_read_in_order(plans) -> None:
    """The page of the largest branch (the office's or the station's referrals) comes from an index
    that delivers the list's order: the query stops after one page instead of sorting all rows. With
    the scope's OR across columns in the query, every page query sorts."""
    pages = [plan for sql, plan in plans if re.search(r"LIMIT \d+\s*$", sql)]
    assert pages, "no page query"
    ordered = [plan for plan in pages if "Sort" not in plan and "Index Scan" in plan]
    assert ordered, "\n\n".join(pages)


@pytest.mark.parametrize(
    "tab", ["open", "mine", "unassigned", "overdue", "screening", "assessment", "closed", "all"]
)  # screening/assessment: issue 13
def test_inbox_tabs_and_counts_use_indexes(client, seeded, tab):
    client.force_login(seeded.caseworker)
    plans = _plans(lambda: client.get(reverse("referrals:inbox"), {"tab": tab}))
    _assert_indexed(plans)
    if tab in ("closed", "all"):  # the others read the office's open referrals only:
        _assert_read_in_order(plans)
    else:  # from a partial index of the open referrals, a few thousand at most
        assert any(re.search(OPEN_INDEXES, plan) for _sql, plan in plans), plans


OPEN_INDEXES = r"referral_inbox_(open|mine|unassigned|overdue)\b"


def test_the_open_tabs_are_counted_from_the_index_alone(client, seeded):
    """The six open tabs' counts of the office's branch: an index-only scan of ``referral_inbox_open``,
    which also holds every column the counts look at (migration 0026) — no table page per open referral."""
    client.force_login(seeded.caseworker)
    plans = _plans(lambda: client.get(reverse("referrals:inbox")))
    responsible = 'WHERE ("referrals_referral"."youth_office_id" IN'  # the office branch, not the forwarded one
    counts = [plan for sql, plan in plans if "FILTER (WHERE" in sql and responsible in sql]
    assert len(counts) == 1, plans
    assert re.search(r"Index Only Scan using referral_inbox_open\b", counts[0]), counts[0]


@pytest.mark.parametrize(
    "tab, index",
    [
        ("mine", "referral_inbox_mine"),
        ("unassigned", "referral_inbox_unassigned"),
        ("overdue", "referral_inbox_overdue"),
    ],
)
def test_inbox_tab_reads_only_its_rows_in_order(client, seeded, tab, index):
    """The page of the tabs "mine", "unassigned" and "overdue" comes from the tab's own partial index
    (issue 12; for "mine" the person is part of the index condition): it reads the tab's rows only,
    in the inbox order, instead of walking every open referral of the office and filtering."""
    client.force_login(seeded.caseworker)
    plans = _plans(lambda: client.get(reverse("referrals:inbox"), {"tab": tab}))
    _assert_indexed(plans)
    responsible = 'WHERE ("referrals_referral"."youth_office_id" IN'  # the office branch, not the forwarded one
    pages = [plan for sql, plan in plans if re.search(r"LIMIT 26\s*$", sql) and responsible in sql]
    assert pages, plans
    for plan in pages:
        # An index scan delivers the order; for a handful of rows the planner may take a bitmap
        # scan of the same index and sort them — either way only the tab's rows are read.
        assert re.search(rf"(Index Scan using|Bitmap Index Scan on) {index}\b", plan), plan
        assert tab != "mine" or "assignee_id = " in plan.split(index, 1)[1].splitlines()[1], plan


@pytest.mark.parametrize("sort", ["due", "newest"])
def test_inbox_other_sorts_read_in_order(client, seeded, sort):
    client.force_login(seeded.caseworker)
    plans = _plans(lambda: client.get(reverse("referrals:inbox"), {"tab": "all", "sort": sort}))
    _assert_indexed(plans)
    _assert_read_in_order(plans)
    cursor = client.get(reverse("referrals:inbox"), {"tab": "all", "sort": sort}).context["page"].next_cursor
    plans = _plans(lambda: client.get(reverse("referrals:inbox"), {"tab": "all", "sort": sort, "cursor": cursor}))
    _assert_read_in_order(plans)


@pytest.mark.parametrize("tab", ["open", "all"])
def test_inbox_search_uses_indexes(client, seeded, tab):
    client.force_login(seeded.caseworker)
    _assert_indexed(_plans(lambda: client.get(reverse("referrals:inbox"), {"tab": tab, "q": SEARCHED})))


@pytest.mark.parametrize("tab", ["open", "all"])
def test_inbox_search_reads_only_the_offices_children(client, seeded, tab):
    """The children are matched in the office's own range of the trigram indexes (``office =`` is
    part of every index condition on the children, migration 0023), never through an index of every
    child of the district filtered by office afterwards: the search's cost does not grow with the
    children of other offices (issue 12)."""
    client.force_login(seeded.caseworker)
    plans = _plans(lambda: client.get(reverse("referrals:inbox"), {"tab": tab, "q": SEARCHED}))
    _assert_indexed(plans)
    child_plans = [plan for sql, plan in plans if f'"{Child._meta.db_table}"' in sql]
    assert child_plans, plans
    for plan in child_plans:
        lines = plan.splitlines()
        scans = [i for i, line in enumerate(lines) if re.search(r"Index Scan on \S+ ", line) and "child" in line]
        assert scans, plan
        for i in scans:
            assert "referral_child_office_" in lines[i], plan
            assert "youth_office_id = " in lines[i + 1], plan


def test_inbox_next_page_uses_indexes(client, seeded):
    client.force_login(seeded.caseworker)
    first = client.get(reverse("referrals:inbox"), {"tab": "closed"})
    cursor = first.context["page"].next_cursor
    assert cursor
    plans = _plans(lambda: client.get(reverse("referrals:inbox"), {"tab": "closed", "cursor": cursor}))
    _assert_indexed(plans)
    # The keyset condition is one row-value comparison, not a chain of ORs (core.pagination).
    page_sql = [sql for sql, _plan in plans if sql.rstrip().endswith("LIMIT 26")]  # 25 and one more
    assert page_sql and all(
        re.search(r'\("referrals_referral"\."urgency_rank", [^)]*\) > \(', sql) for sql in page_sql
    ), page_sql


def test_api_list_uses_indexes(seeded):
    api = APIClient()
    api.force_authenticate(seeded.caseworker)
    plans = _plans(lambda: api.get("/api/v1/referrals/"))
    _assert_indexed(plans)
    _assert_read_in_order(plans)


@pytest.mark.parametrize("persona", ["police", "coordinator"])
def test_police_list_uses_indexes(client, seeded, persona):
    client.force_login(getattr(seeded, persona))
    plans = _plans(lambda: client.get(reverse("referrals:list")))
    _assert_indexed(plans)
    _assert_read_in_order(plans)
