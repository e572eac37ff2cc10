"""The dashboards at two table sizes in one run (issue 15 § 4), over HTTP through the full Django stack.

    BENCH_N=20000 DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python -m benchmarks.dashboards
    BENCH_N=1000000 BENCH_SMALL=20000 BENCH_GROW=copy DATABASE_URL=... .venv/bin/python -m benchmarks.dashboards

The same throw-away database and shape as ``benchmarks.pages`` (ten offices, 95 % closed, referrals
over about six years), filled to ``BENCH_N // 10`` (or ``BENCH_SMALL``) and then ``BENCH_N`` referrals —
with ``BENCH_GROW=copy`` by copying the first fill in SQL (``benchmarks/replicate.py``), as
``benchmarks.pages`` does. For each dashboard
(the lead's office dashboard over the last twelve months, the district dashboard and the API of each)
it prints median and p95 ms at both sizes, the growth, and at the large size the time of all the
page's SQL, of its figure queries alone, and of the bare aggregate SQL of the same figures, written by
hand and run in turns with the page (the target of issue 15: figures at most 1.5× the bare SQL).
"""

# ruff: noqa: S608 — the bare queries are this module's constants; values are parameters.

import statistics
import time

from django.db import connection
from django.utils import timezone

from benchmarks.pages import (  # also sets Django up
    REPEAT,
    bare,
    logged_in,
    sql_time,
    timed,
)

OPEN = "status IN ('submitted', 'acknowledged', 'in_assessment', 'forwarded')"
MONTH = "date_trunc('month', {} AT TIME ZONE 'Europe/Berlin')"
REPEAT_EVENT = "EXISTS (SELECT 1 FROM referrals_referralevent e WHERE e.referral_id = r.id AND e.kind = 'repeat')"
TOOK = "r.acknowledged_at - r.received_at"
CONCERNS = (
    "neglect", "sexual_abuse_indication", "domestic_violence", "guardian_alcohol_abuse", "guardian_drug_use", "other",
)  # fmt: skip

OUTCOMES = ("acute_risk", "latent_risk", "support_need", "no_risk_no_need")
OFFICE_SQL = [
    f"SELECT status, urgency, count(*) FROM referrals_referral WHERE youth_office_id = %(office)s AND {OPEN} "
    "GROUP BY 1, 2",
    "SELECT assignee_id, count(*), count(*) FILTER (WHERE due_at < now() AND acknowledged_at IS NULL), "
    "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM referrals_assessment a WHERE a.referral_id = r.id "
    "AND a.signed_off_at IS NULL) OR EXISTS (SELECT 1 FROM referrals_screening s WHERE s.referral_id = r.id AND "
    "NOT s.weighty_indications AND s.signed_off_at IS NULL)), "
    "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM referrals_signoffrequest q WHERE q.referral_id = r.id "
    "AND q.state = 'open')) "
    f"FROM referrals_referral r WHERE youth_office_id = %(office)s AND {OPEN} GROUP BY 1",
    "SELECT count(*) FROM referrals_referral WHERE forwarded_to_id = %(office)s AND status = 'forwarded'",
    f"SELECT {MONTH.format('r.received_at')}, r.urgency, count(*), "
    "count(*) FILTER (WHERE r.acknowledged_at <= r.due_at), "
    "count(*) FILTER (WHERE r.acknowledged_at > r.due_at OR (r.acknowledged_at IS NULL AND r.due_at < now())), "
    f"count(*) FILTER (WHERE {REPEAT_EVENT}), "
    f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {TOOK}) FILTER (WHERE r.acknowledged_at IS NOT NULL), "
    f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {TOOK}) FILTER (WHERE r.acknowledged_at IS NOT NULL) "
    "FROM referrals_referral r WHERE r.youth_office_id = %(office)s AND r.received_at >= %(begin)s "
    "AND r.received_at < %(end)s AND r.status <> 'draft' GROUP BY 1, 2",
    f"SELECT {MONTH.format('a.signed_off_at')}, count(*), "
    + "".join(f"count(*) FILTER (WHERE a.outcome = '{o}'), " for o in OUTCOMES)
    + "percentile_cont(0.5) WITHIN GROUP (ORDER BY a.signed_off_at - r.received_at), "
    "percentile_cont(0.9) WITHIN GROUP (ORDER BY a.signed_off_at - r.received_at) "
    "FROM referrals_assessment a JOIN referrals_referral r ON r.id = a.referral_id WHERE r.youth_office_id = "
    "%(office)s AND a.signed_off_at >= %(begin)s AND a.signed_off_at < %(end)s GROUP BY 1",
    "SELECT date_trunc('month', (CASE WHEN NOT s.weighty_indications THEN s.signed_off_at ELSE s.created_at END) "
    "AT TIME ZONE 'Europe/Berlin'), count(*), count(*) FILTER (WHERE NOT s.weighty_indications), "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY (CASE WHEN NOT s.weighty_indications THEN s.signed_off_at "
    "ELSE s.created_at END) - r.received_at), percentile_cont(0.9) WITHIN GROUP (ORDER BY (CASE WHEN NOT "
    "s.weighty_indications THEN s.signed_off_at ELSE s.created_at END) - r.received_at) "
    "FROM referrals_screening s JOIN referrals_referral r ON r.id = s.referral_id WHERE r.youth_office_id = "
    "%(office)s AND ((NOT s.weighty_indications AND s.signed_off_at >= %(begin)s AND s.signed_off_at < %(end)s) "
    "OR (s.weighty_indications AND s.created_at >= %(begin)s AND s.created_at < %(end)s)) GROUP BY 1",
]
DISTRICT_SQL = [
    f"SELECT r.station_id, r.youth_office_id, {MONTH.format('r.submitted_at')}, count(*), "
    + "".join(f"count(*) FILTER (WHERE r.urgency = '{u}'), " for u in ("immediate", "urgent", "routine"))
    + "".join(f"count(*) FILTER (WHERE r.concerns @> '[\"{c}\"]'), " for c in CONCERNS)
    + "count(*) FILTER (WHERE r.triage_reason = ''), count(*) FILTER (WHERE r.triage_reason <> ''), "
    "count(*) FILTER (WHERE EXISTS (SELECT 1 FROM referrals_referralevent e WHERE e.referral_id = r.id "
    "AND e.kind = 'forward_accepted')), count(*) FILTER (WHERE r.acknowledged_at IS NOT NULL), "
    "count(*) FILTER (WHERE r.urgency = 'immediate' AND (r.acknowledged_at IS NOT NULL "
    "OR r.received_at <= now() - interval '1 hour')), "
    "count(*) FILTER (WHERE r.urgency = 'immediate' AND r.acknowledged_at <= r.received_at + interval '1 hour'), "
    f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {TOOK}) FILTER (WHERE r.acknowledged_at IS NOT NULL) "
    "FROM referrals_referral r WHERE r.police_authority_id = %(authority)s AND r.submitted_at >= %(begin)s "
    "AND r.submitted_at < %(end)s AND r.status <> 'draft' GROUP BY 1, 2, 3",
    "SELECT id, name FROM agencies_agency WHERE district_id = %(district)s",
]


def bare_all(queries: list[str], params: dict):
    runs = [bare(sql, params) for sql in queries]

    def run():
        for query in runs:
            query()

    return run


def lead_and_coordinator():
    from django.contrib.auth import get_user_model

    from agencies.models import Agency, Membership, Role

    User = get_user_model()
    # benchmarks.pages.people() made the lead of JA-HIL already (access log, retention): the same person.
    lead = User.objects.get(username="bench_lead")
    coordinator = User.objects.create_user("bench_coordinator")
    Membership.objects.create(user=coordinator, agency=Agency.objects.get(code="KOORD"), role=Role.DISTRICT_COORDINATOR)
    return lead, coordinator


# A figure query reads FROM one of these tables. Matched on the FROM clause, not on the table's name
# anywhere in the text: the person's memberships (FROM agencies_membership JOIN agencies_agency) are
# no figure and have no bare counterpart; counted as one, they made the office dashboard's ratio
# 0.3 ms (about 10 %) worse than its figure queries are.
FIGURE_FROM = tuple(
    f'FROM "{t}"' for t in ("referrals_referral", "referrals_assessment", "referrals_screening", "agencies_agency")
)


def is_figure_query(sql: str) -> bool:
    return any(table in sql for table in FIGURE_FROM)


class FigureTimer:
    """An execute wrapper (``connection.execute_wrapper``) adding up the milliseconds of the figure
    queries, timed with ``perf_counter``. Not the test runner's captured query times: Django keeps
    those as ``"%.3f"`` seconds, whole milliseconds, and the page's figure queries take 0.1 to 1.5 ms
    each, so their sum was mostly rounding."""

    def __init__(self):
        self.ms = 0.0

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if is_figure_query(sql):
                self.ms += (time.perf_counter() - start) * 1000


def figures_and_bare(page, bare_run) -> tuple[float, float]:
    """Median ms of only the page's figure queries (those reading referrals, assessments, screenings or
    agency names: what the bare aggregate SQL stands for, without session, person, memberships and
    commit) and of the bare SQL, measured in turns — one page, then the bare queries, ``REPEAT``
    times — so that both see the same load of a shared machine."""
    page(), bare_run()  # warm-up
    figures, bares = [], []
    for _ in range(REPEAT):
        timer = FigureTimer()
        with connection.execute_wrapper(timer):
            page()
        figures.append(timer.ms)
        start = time.perf_counter()
        bare_run()
        bares.append((time.perf_counter() - start) * 1000)
    return statistics.median(figures), statistics.median(bares)


def measure(lead, coordinator) -> dict:
    from agencies.models import Agency
    from referrals.dashboard import default_period

    office = Agency.objects.get(code="JA-HIL")
    authority = Agency.objects.get(code="KPB-ME")
    period = default_period(timezone.localdate())
    params = {
        "office": office.pk, "authority": authority.pk, "district": authority.district_id,
        "begin": period.begin_at, "end": period.end_at,
    }  # fmt: skip
    lead_client, coordinator_client = logged_in(lead), logged_in(coordinator)
    pages = {
        "office dashboard (12 months)": (lambda: lead_client.get("/dashboard/"), OFFICE_SQL),
        "office dashboard API": (lambda: lead_client.get("/api/v1/dashboard/office/"), OFFICE_SQL),
        "district dashboard (12 m.)": (lambda: coordinator_client.get("/dashboard/district/"), DISTRICT_SQL),
        "district dashboard API": (lambda: coordinator_client.get("/api/v1/dashboard/district/"), DISTRICT_SQL),
    }
    results = {}
    for label, (page, queries) in pages.items():
        response = page()
        assert response.status_code == 200, (label, response.status_code)
        figures_ms, bare_ms = figures_and_bare(page, bare_all(queries, params))
        results[label] = (timed(page), bare_ms, sql_time(page)[0], figures_ms)
    return results


def report(sizes: list[int], runs: list[dict]) -> None:
    print(f"\nHTTP (Django test client, full stack), PostgreSQL; median / p95 ms over {REPEAT} requests;")
    print("SQL: all the page's queries (median ms); figures: only its figure queries; bare: the same")
    print("figures as hand-written aggregate SQL, run in turns with the page; ÷: figures ÷ bare")
    print(
        f"{'page':30}{sizes[0]:>10,} {'':>7}{sizes[1]:>10,} {'':>7}"
        f"{'growth':>8}{'SQL ms':>8}{'figures':>8}{'bare':>7}{'÷ bare':>8}"
    )
    for label in runs[0]:
        (s_med, s_p95), *_small = runs[0][label]
        (l_med, l_p95), bare_med, sql_ms, figures_ms = runs[1][label]
        print(
            f"{label:30}{s_med:10.1f} /{s_p95:6.1f}{l_med:10.1f} /{l_p95:6.1f}{l_med / s_med:7.2f}x"
            f"{sql_ms:8.1f}{figures_ms:8.1f}{bare_med:7.1f}{figures_ms / bare_med:7.2f}x"
        )


def main():
    # benchmarks.reference imports this module: imported when run as a program.
    from benchmarks.reference import run

    run(with_pages=False, seed=15)


if __name__ == "__main__":
    main()
