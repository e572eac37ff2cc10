"""Query plans of the task lists and jobs on PostgreSQL (issue 14 §1): "Meine Aufgaben", the lead's
office view, the API list, the inbox's next task per row, a case's tasks and the reminder job read
tasks through an index — never a sequential scan of the task table, which would make them grow with
every task ever done. The table holds a realistic shape (most tasks done, a few hundred open across
ten offices) and is ``ANALYZE``d, so the planner chooses as in production."""

import datetime
import random
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agencies.models import Agency, AgencyKind, Membership, Role
from referrals import followthrough
from referrals.models import Task, TaskReminder
from tests.factories import make_referral

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are PostgreSQL's"),
]

TASKS = 40_000
OPEN_SHARE = 0.02


@pytest.fixture
def many_tasks(personas):
    random.seed(14)
    offices = list(Agency.objects.filter(kind=AgencyKind.YOUTH_OFFICE).order_by("pk")[:10])
    hilden = Agency.objects.get(code="JA-HIL")
    people = [personas.caseworker_hilden, personas.lead_hilden]
    for index in range(20):
        user = get_user_model().objects.create_user(username=f"fachkraft{index}", password="x")
        Membership.objects.create(user=user, agency=offices[index % len(offices)], role=Role.CASEWORKER)
        people.append(user)
    referrals = [make_referral(personas.police_hilden, police_measures=[]) for _ in range(20)]
    now = timezone.now()
    rows = []
    for index in range(TASKS):
        done = random.random() > OPEN_SHARE
        due = now + datetime.timedelta(hours=random.randint(-24 * 400, 24 * 30))
        rows.append(
            Task(
                referral=referrals[index % len(referrals)],
                office=offices[index % len(offices)],
                title="Aufgabe",
                kind="other",
                due_at=due,
                assignee=random.choice(people),
                created_at=due,
                done_at=due if done else None,
                done_by=personas.caseworker_hilden if done else None,
            )  # fmt: skip
        )
    Task.objects.bulk_create(rows, batch_size=5_000)
    # Every task done by now was reminded ahead and at its due time: the reminders outnumber the tasks.
    done = Task.objects.filter(done_at__isnull=False).values_list("pk", "due_at")
    TaskReminder.objects.bulk_create(
        [TaskReminder(task_id=pk, kind=kind, due_at=due) for pk, due in done for kind in ("lead", "due")],
        batch_size=10_000,
    )
    Task.objects.filter(assignee=personas.caseworker_hilden).update(office=hilden)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Task._meta.db_table}")
        cursor.execute(f"ANALYZE {TaskReminder._meta.db_table}")
    return referrals


def _plans(call) -> list[tuple[str, str]]:
    with CaptureQueriesContext(connection) as queries:
        call()
    plans = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if Task._meta.db_table not in sql or not sql.lstrip().upper().startswith("SELECT"):
            continue
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {sql}")
            plans.append((sql, "\n".join(row[0] for row in cursor.fetchall())))
    assert plans, "no task query was sent"
    return plans


def _no_seq_scan(call, what):
    for sql, plan in _plans(call):
        for table in (Task._meta.db_table, TaskReminder._meta.db_table):
            assert not re.search(rf"Seq Scan on {table}\b", plan), f"{what}:\n{sql}\n{plan}"


def test_task_lists_and_jobs_read_tasks_by_index(many_tasks, personas):
    caseworker, lead = personas.caseworker_hilden, personas.lead_hilden
    for due in (None, *followthrough.DUE_FILTERS):
        _no_seq_scan(lambda due=due: list(followthrough.task_list(caseworker, due=due)[:101]), f"mine {due}")
        _no_seq_scan(
            lambda due=due: list(followthrough.task_list(lead, scope="office", due=due)[:101]), f"office {due}"
        )
    hilden = {Agency.objects.get(code="JA-HIL").pk}
    _no_seq_scan(lambda: followthrough.next_tasks_for([r.pk for r in many_tasks], hilden), "inbox rows")
    _no_seq_scan(lambda: list(followthrough.tasks_of_case(many_tasks[0], caseworker)), "a case's tasks")
    for kind in TaskReminder.Kind.values:
        _no_seq_scan(lambda kind=kind: _reminder_ids(kind), f"reminders {kind}")


def _reminder_ids(kind):
    candidates = followthrough._reminder_candidates(kind, timezone.now())
    return list(candidates.order_by("due_at", "pk").values_list("pk", flat=True)[: followthrough.BATCH_SIZE])
