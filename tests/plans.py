"""What the query-plan tests share (tests/test_query_plans.py, tests/test_query_plans_lead.py): the
plans of the queries a page sends, and the check that none scans a guarded table sequentially."""

import os

from django.db import connection
from django.test.utils import CaptureQueriesContext


def page_plans(send, tables) -> list[tuple[str, str]]:
    """``send()`` through the full stack (it must answer 200); the plan of every SELECT it sent that
    reads one of ``tables``."""
    with CaptureQueriesContext(connection) as captured:
        response = send()
    assert response.status_code == 200, response
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.lstrip().upper().startswith("SELECT") or not any(f'"{t}"' in sql for t in tables):
                continue
            cursor.execute("EXPLAIN " + sql)
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    assert plans, f"the page sent no query on {', '.join(tables)}"
    return plans


def assert_no_seq_scan(plans, tables) -> None:
    for sql, plan in plans:
        if os.environ.get("SHOW_PLANS"):  # SHOW_PLANS=1 pytest -s: read what the planner chose
            print(f"\n{sql}\n{plan}")
        for table in tables:
            assert f"Seq Scan on {table}" not in plan, f"{sql}\n\n{plan}"
