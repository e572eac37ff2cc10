"""The main pages at two table sizes in one run (issue 12), over HTTP through the full Django stack.

    BENCH_N=20000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.pages
    BENCH_N=1000000 BENCH_SMALL=20000 BENCH_GROW=copy DATABASE_URL=... .venv/bin/python -m benchmarks.pages

Creates a throw-away test database (PostgreSQL only: the query shapes are PostgreSQL's), fills it to
``BENCH_N // 10`` referrals (or ``BENCH_SMALL``), measures every page, fills on to ``BENCH_N`` and
measures again — with ``BENCH_GROW=copy`` by copying the first fill in SQL (``benchmarks/replicate.py``),
which reaches 1,000,000 in minutes instead of hours. Requests
go through Django's test client: every middleware, a real session with the second factor passed, the
templates — no network and no gunicorn. Shape: ten offices, 95 % closed, 1.6 children, 1.5 persons,
7 timeline events and 5 access-log entries per referral. Prints median and p95 per page at both sizes,
the growth ratio (large / small), and at the large size:

- ``SQL ms``: all the page's queries together (session, memberships, tab counts, the page's branches,
  the access log…), median over the requests, as the database driver timed them;
- ``÷ bare``: that against ``bare`` — one hand-written indexed query of the page's rows, alone (the
  page's floor);
- ``rows ms``: only the page's ROW queries — those that read the listed referrals (on
  ``referrals_referral``, ending in ``LIMIT n``: one per branch of the scope) — exactly as the page
  sent them, re-run alone and timed like ``bare`` (the driver's own timings have 1 ms resolution);
- ``rows ÷ bare``: that against ``bare``, the figure issue 12 sets at 3× at most ("its SQL within 3×
  of the bare indexed query for the same rows"): what the ORM's row query costs beyond the bare one
  (joins for the listed names, the scope's branches, the keyset condition), without the page's other
  queries.
"""

# ruff: noqa: S608 — the bare queries are assembled from this module's constants; values are parameters.

import os
import random
import re
import statistics
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from benchmarks.replicate import replicate  # noqa: E402

N = int(os.environ.get("BENCH_N", "20000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "20"))
BATCH = 5000
LEAD_RULE_DAYS = 2030
SURNAMES = ["ber", "mann", "schu", "kow", "hoff", "wag", "mitz", "krü", "lan", "dorf", "zak", "ova", "ler", "tin"]


def timed(fn):
    fn()  # warm-up
    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)]


def people():
    from agencies.models import Agency, Membership, Role
    from agencies.services import district_seed
    from referrals.models import RetentionOutcome, RetentionRule

    district_seed(slug="mettmann")
    User = get_user_model()
    caseworker = User.objects.create_user("bench_caseworker")
    officer = User.objects.create_user("bench_officer")
    Membership.objects.create(user=caseworker, agency=Agency.objects.get(code="JA-HIL"), role=Role.CASEWORKER)
    Membership.objects.create(user=officer, agency=Agency.objects.get(code="PW-HIL"), role=Role.POLICE_OFFICER)
    # The lead of JA-HIL (access log, retention) with a rule starting tomorrow, so the retention page
    # shows its dry run: outcome "none" (no assessments here), the oldest ~1 % of closed referrals due.
    lead = User.objects.create_user("bench_lead")
    Membership.objects.create(user=lead, agency=Agency.objects.get(code="JA-HIL"), role=Role.OFFICE_LEAD)
    RetentionRule.objects.create(
        office=Agency.objects.get(code="JA-HIL"), outcome=RetentionOutcome.NONE, keep_days=LEAD_RULE_DAYS,
        valid_from=timezone.localdate() + timezone.timedelta(days=1),
    )  # fmt: skip
    return caseworker, officer


def fill(start: int, stop: int, officer, caseworker, rng: random.Random) -> None:
    from agencies.models import Agency, AgencyKind
    from referrals.models import URGENCY_RANK, AccessLogEntry, Child, Person, Referral, ReferralEvent, Status

    offices = list(Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE).order_by("pk"))
    stations = list(Agency.objects.filter(kind=AgencyKind.POLICE_STATION).order_by("pk"))
    now = timezone.now()
    for first in range(start, stop, BATCH):
        referrals = []
        for index in range(first, min(first + BATCH, stop)):
            submitted = now - timezone.timedelta(minutes=rng.randint(60, 3_000_000))
            closed = rng.random() < 0.95
            urgency = rng.choice(["immediate", "urgent", "routine", "routine"])
            station = rng.choice(stations)
            referrals.append(
                Referral(
                    reference=f"B-{index:08d}", police_case_number=f"ME-{rng.randint(10**6, 10**7)}",
                    status=Status.CLOSED if closed else rng.choice([Status.SUBMITTED, Status.IN_ASSESSMENT]),
                    police_authority_id=station.parent_id, station=station, created_by=officer,
                    urgency=urgency, urgency_rank=URGENCY_RANK[urgency], youth_office=rng.choice(offices),
                    submitted_at=submitted, received_at=submitted, due_at=submitted + timezone.timedelta(days=1),
                    # a third of the open cases are the caseworker's, a fifth still unacknowledged: the
                    # tabs "mine" and "overdue" list rows
                    assignee=caseworker if not closed and rng.random() < 0.3 else None,
                    acknowledged_at=(
                        None if not closed and rng.random() < 0.2 else submitted + timezone.timedelta(hours=3)
                    ),
                    closed_at=submitted + timezone.timedelta(days=40) if closed else None,
                    retention_outcome="none" if closed else "",
                )
            )  # fmt: skip
        Referral.objects.bulk_create(referrals)
        Referral.objects.filter(pk__in=[r.pk for r in referrals]).update(created_at=django.db.models.F("submitted_at"))
        children, persons, events, log = [], [], [], []
        for referral in referrals:
            for _ in range(1 if rng.random() < 0.4 else 2):
                name = "".join(rng.sample(SURNAMES, 3)).title()
                children.append(Child(referral=referral, first_name=rng.choice(["Mia", "Ben", "Lena"]), last_name=name))
            for _ in range(1 if rng.random() < 0.5 else 2):
                persons.append(Person(referral=referral, first_name="Eva", last_name="Muster", role="mother"))
            for offset in range(7):
                events.append(
                    ReferralEvent(referral=referral, kind="submitted", at=referral.submitted_at, data={"n": offset})
                )
            for _ in range(5):
                log.append(
                    AccessLogEntry(
                        person=caseworker, agency_id=referral.youth_office_id, office_id=referral.youth_office_id,
                        action="view", obj_type="referral",
                        obj_id=referral.pk, referral_id=referral.pk, at=referral.submitted_at,
                    )
                )  # fmt: skip
        Child.objects.bulk_create(children)
        Person.objects.bulk_create(persons)
        ReferralEvent.objects.bulk_create(events)
        AccessLogEntry.objects.bulk_create(log)
    with connection.cursor() as cursor:
        # The steady state autovacuum keeps: statistics, and the trigram indexes' pending lists empty.
        cursor.execute(
            "SELECT gin_clean_pending_list(indexrelid::regclass) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE '%%_trgm'"
        )
        cursor.execute("ANALYZE")
        cursor.execute("VACUUM referrals_referral")  # the visibility map: the inbox counts are index-only
        # The fill's gigabytes written out now, not by the checkpointer during the measurements after it
        # (needs a superuser or pg_checkpoint: without, the measurements may overlap the write-out).
        try:
            with transaction.atomic():
                cursor.execute("CHECKPOINT")
        except DatabaseError as exc:
            print(f"no CHECKPOINT ({exc}): the checkpointer may write during the measurements", flush=True)


def logged_in(user) -> Client:
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="Bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def row_query(table: str) -> re.Pattern:
    """The page's row queries: the reads of the listed rows from ``table`` (the table of the page's bare
    query: referrals, or the access log), ending in a LIMIT or an ORDER BY — not the counts."""
    return re.compile(rf'^SELECT (?!COUNT\().* FROM "{table}" .* (LIMIT \d+|ORDER BY [^()]*)\s*$', re.DOTALL)


def sql_time(page, table: str | None = None) -> tuple[float, float | None]:
    """Median milliseconds the page's queries take together, as the database driver timed them (to
    the millisecond); and, with ``table``, its row queries (``row_query``), the exact SQL the page
    sent, re-run alone and timed as ``bare`` is (``timed``)."""
    totals, row_sql = [], []
    pattern = row_query(table) if table else None
    for _ in range(min(REPEAT, 10)):
        with CaptureQueriesContext(connection) as captured:
            page()
        totals.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        if pattern:
            row_sql = [q["sql"] for q in captured.captured_queries if pattern.match(q["sql"])]
    if not pattern:
        return statistics.median(totals), None
    assert row_sql, f"no row query on {table} captured"

    def rows():
        with connection.cursor() as cursor:
            for sql in row_sql:
                cursor.execute(sql)  # the query as sent, parameters already in it
                cursor.fetchall()

    return statistics.median(totals), timed(rows)[0]


def bare(sql: str, params: list):
    """The indexed query for the same rows, alone (the page's floor)."""

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            cursor.fetchall()

    return run


# Two searches: a surname of the synthetic set (``SURNAMES``: three of fourteen syllables), whose matches
# grow with the table — at 1,000,000 referrals about 50 times as many children of the office bear it as
# at 20,000 — and the name of exactly one child at every size (``one_child_named``), as when a
# caseworker looks up the child of a call: what the search costs beyond its hits.
ONE_CHILD = "Quendolin"
RENAMED = "Anders"  # the copies of the one child in a larger fill


def one_child_named(office: int) -> None:
    """Exactly one child of ``office`` named ``ONE_CHILD`` (the copies of a larger fill renamed)."""
    from referrals.models import Child

    named = Child.objects.filter(last_name=ONE_CHILD)
    keep = named.order_by("pk").first()
    if keep is None:
        keep = Child.objects.filter(referral__youth_office_id=office).order_by("-pk").first()
        keep.last_name = ONE_CHILD
        keep.save(update_fields=["last_name"])
    named.exclude(pk=keep.pk).update(last_name=RENAMED)


def measure(caseworker, officer) -> dict:
    from agencies.models import Agency
    from referrals.models import Child

    office = Agency.objects.get(code="JA-HIL").pk
    station = Agency.objects.get(code="PW-HIL").pk
    one_child_named(office)
    synthetic = Child.objects.filter(referral__youth_office_id=office).exclude(last_name__in=[ONE_CHILD, RENAMED])
    name = synthetic.order_by("-id").values_list("last_name", flat=True)[0]  # a surname of the synthetic set
    from django.urls import reverse

    office_client, police_client = logged_in(caseworker), logged_in(officer)
    lead_client = logged_in(get_user_model().objects.get(username="bench_lead"))
    inbox, station_list = reverse("referrals:inbox"), reverse("referrals:list")
    open_ = "status IN ('submitted', 'acknowledged', 'in_assessment', 'forwarded')"
    order = "ORDER BY urgency_rank, submitted_at, id LIMIT 26"
    office_rows = "SELECT * FROM referrals_referral WHERE youth_office_id = %s AND "
    newest = "ORDER BY created_at DESC, id DESC"

    def search(term: str):
        """The inbox searched for a child's surname; bare: the office's referrals with a child of that
        name, from the office's trigram range."""
        return (
            lambda: office_client.get(inbox, {"tab": "all", "q": term}),
            f"{office_rows}status <> 'draft' AND id IN (SELECT referral_id FROM referrals_child "
            f"WHERE youth_office_id = %s::bigint AND upper(last_name::text) LIKE %s) {order}",
            [office, office, f"%{term.upper()}%"],
        )

    pages = {
        "inbox open (page 1)": (lambda: office_client.get(inbox), f"{office_rows}{open_} {order}", [office]),
        "inbox tab all": (
            lambda: office_client.get(inbox, {"tab": "all"}),
            f"{office_rows}status <> 'draft' {order}",
            [office],
        ),
        "inbox tab closed": (
            lambda: office_client.get(inbox, {"tab": "closed"}),
            f"{office_rows}status = 'closed' {order}",
            [office],
        ),
        "inbox tab mine": (
            lambda: office_client.get(inbox, {"tab": "mine"}),
            f"{office_rows}{open_} AND assignee_id = %s {order}",
            [office, caseworker.pk],
        ),
        "inbox tab unassigned": (
            lambda: office_client.get(inbox, {"tab": "unassigned"}),
            f"{office_rows}{open_} AND assignee_id IS NULL {order}",
            [office],
        ),
        "inbox tab overdue": (
            lambda: office_client.get(inbox, {"tab": "overdue"}),
            f"{office_rows}{open_} AND acknowledged_at IS NULL AND due_at < now() {order}",
            [office],
        ),
        "inbox search (child name)": search(name),
        "inbox search (one child)": search(ONE_CHILD),
        "API list page 1": (
            lambda: office_client.get("/api/v1/referrals/"),
            f"SELECT * FROM referrals_referral WHERE youth_office_id = %s {newest} LIMIT 51",
            [office],
        ),
        "police my referrals": (
            lambda: police_client.get(station_list),
            f"SELECT * FROM referrals_referral WHERE station_id = %s {newest} LIMIT 26",
            [station],
        ),
        "lead: access log": (
            lambda: lead_client.get(reverse("referrals:access_log")),
            "SELECT * FROM referrals_accesslogentry WHERE office_id = %s ORDER BY at DESC, id DESC LIMIT 100",
            [office],
        ),
        "lead: retention dry run": (
            lambda: lead_client.get(reverse("referrals:retention")),
            "SELECT id, reference, closed_at FROM referrals_referral WHERE youth_office_id = %s "
            "AND status = 'closed' AND retention_outcome = 'none' AND closed_at <= %s ORDER BY closed_at, id",
            [office, timezone.now() - timezone.timedelta(days=LEAD_RULE_DAYS - 1)],
        ),
    }
    results = {}
    for label, (page, sql, params) in pages.items():
        response = page()
        assert response.status_code == 200, (label, response.status_code)
        table = re.search(r"FROM (\w+)", sql).group(1)
        results[label] = (timed(page), timed(bare(sql, params)), sql_time(page, table))
    return results


def grow(done: int, size: int, officer, caseworker, rng: random.Random) -> None:
    """Fill from ``done`` to ``size`` referrals: through the ORM, or with ``BENCH_GROW=copy`` (after a first
    fill) by copying the first fill in SQL (benchmarks/replicate.py: for 1,000,000)."""
    t0 = time.perf_counter()
    if done and os.environ.get("BENCH_GROW") == "copy":
        replicate(done, size)
        fill(size, size, officer, caseworker, rng)  # adds nothing: settles indexes and statistics
    else:
        fill(done, size, officer, caseworker, rng)
    print(f"filled to {size:,} referrals in {time.perf_counter() - t0:.0f} s", flush=True)


def sizes_of_run() -> list[int]:
    return [int(os.environ.get("BENCH_SMALL", max(N // 10, 1000))), N]


def report(sizes: list[int], runs: list[dict]) -> None:
    print(f"\nHTTP (Django test client, full stack), PostgreSQL; median / p95 ms over {REPEAT} requests;")
    print("at the large size (median ms): SQL = all the page's queries, rows = its row queries only,")
    print("bare = one indexed query of the same rows alone; the ratios are to bare (module docstring)")
    print(
        f"{'page':28}{sizes[0]:>10,} {'':>7}{sizes[1]:>10,} {'':>7}{'growth':>8}"
        f"{'SQL ms':>8}{'÷ bare':>8}{'rows ms':>9}{'bare ms':>9}{'rows ÷ bare':>12}"
    )
    for label in runs[0]:
        (s_med, s_p95), _bare, _sql = runs[0][label]
        (l_med, l_p95), (bare_med, _p), (sql_ms, rows_ms) = runs[1][label]
        print(
            f"{label:28}{s_med:10.1f} /{s_p95:6.1f}{l_med:10.1f} /{l_p95:6.1f}{l_med / s_med:7.2f}x"
            f"{sql_ms:8.1f}{sql_ms / bare_med:7.1f}x{rows_ms:9.2f}{bare_med:9.2f}{rows_ms / bare_med:11.1f}x"
        )


def main():
    # benchmarks.reference imports this module: imported when run as a program.
    from benchmarks.reference import run

    run(with_dashboards=False)


if __name__ == "__main__":
    main()
