"""Tasks on a case and Wiedervorlage (issue 14 §1): created by hand or suggested on acknowledging a
referral with a residence ban (due before the ban ends, across weekends, holidays and DST), reminded
once ahead and once at the due time, escalated once to the lead, handed over with an accepted
forwarding, and never visible outside the office."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.models import Agency
from notifications.models import Notification
from referrals import followthrough
from referrals.clocks import LOCAL_TZ
from referrals.followthrough import suggested_visit_due, task_reminders_send
from referrals.models import Referral, ReferralEvent, Status, Task, TaskReminder
from referrals.services import (
    referral_accept,
    referral_acknowledge,
    referral_assign,
    referral_forward,
    referral_reopen,
)
from referrals.tasks import task_reminders
from tests.factories import make_referral

MONDAY = datetime.datetime(2026, 6, 8, 10, 0, tzinfo=LOCAL_TZ)
HOUR = datetime.timedelta(hours=1)


def _local(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("ban_end", "expected"),
    [
        # Ends on a Monday: the visit is due on the Friday before, at 12:00.
        (datetime.date(2026, 12, 14), _local(2026, 12, 11)),
        # Ends on a Wednesday: the Tuesday before.
        (datetime.date(2026, 6, 10), _local(2026, 6, 9)),
        # Christmas: 25/26 December are holidays, 26-27 a weekend: Thursday 24 December.
        (datetime.date(2026, 12, 28), _local(2026, 12, 24)),
        # Summer time ends on Sunday 25 October 2026: Friday 12:00 CEST is 10:00 UTC.
        (datetime.date(2026, 10, 26), _local(2026, 10, 23)),
        # Summer time begins on Sunday 28 March 2027 (Easter): Good Friday is a holiday, so Thursday
        # 25 March 12:00 CET, 11:00 UTC.
        (datetime.date(2027, 3, 29), _local(2027, 3, 25)),
    ],
)
def test_suggested_visit_is_due_on_the_last_working_day_before_the_ban_ends(ban_end, expected):
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    due = suggested_visit_due(ban_end, now)
    assert due == expected
    assert due.astimezone(LOCAL_TZ).hour == 12
    assert due.utcoffset() == datetime.timedelta(0)  # stored in UTC


def test_dst_offsets_are_the_local_ones():
    assert suggested_visit_due(datetime.date(2026, 10, 26), MONDAY - 200 * 24 * HOUR).hour == 10  # CEST
    assert suggested_visit_due(datetime.date(2027, 3, 29), MONDAY - 200 * 24 * HOUR).hour == 11  # CET


def test_a_ban_about_to_end_makes_the_visit_due_now():
    now = _local(2026, 6, 9, 15)
    assert suggested_visit_due(datetime.date(2026, 6, 10), now) == now


def test_acknowledging_a_referral_with_a_residence_ban_suggests_the_home_visit(personas, time_machine):
    time_machine.move_to(_local(2026, 6, 5, 9), tick=False)  # a Friday
    referral = make_referral(personas.police_hilden)  # the payload has the residence ban, incident 3 h ago
    assert referral.residence_ban_until is None
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    task = Task.objects.get(referral=referral)
    assert task.suggested and task.kind == "home_visit"
    assert task.title == "Hausbesuch vor Ablauf des Rückkehrverbots"
    assert task.office.code == "JA-HIL"
    # No date given: 10 days from the incident (Friday 5 June) ends Monday 15 June → due Friday 12 June 12:00.
    assert task.due_at == _local(2026, 6, 12)
    event = ReferralEvent.objects.get(referral=referral, kind=ReferralEvent.Kind.TASK_CREATED)
    assert event.data["suggested"] is True and event.data["ban_end"] == "2026-06-15"


def test_the_police_date_of_the_ban_decides(personas, time_machine):
    time_machine.move_to(_local(2026, 6, 5, 9), tick=False)
    referral = make_referral(personas.police_hilden, residence_ban_until=datetime.date(2026, 6, 10))
    referral = Referral.objects.get(pk=referral.pk)
    assert referral.residence_ban_until == datetime.date(2026, 6, 10)
    referral_assign(referral=referral, user=personas.lead_hilden, assignee=personas.caseworker_hilden)
    task = Task.objects.get(referral=referral)
    assert task.due_at == _local(2026, 6, 9)
    assert task.assignee == personas.caseworker_hilden  # the case's assignee


def test_no_ban_no_suggestion(personas):
    referral = make_referral(personas.police_hilden, police_measures=["criminal_complaint"])
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    assert not Task.objects.filter(referral=referral).exists()


def _task(personas, *, due_at, assignee="caseworker_hilden", referral=None):
    referral = referral or make_referral(personas.police_hilden, police_measures=[])
    return followthrough.task_create(
        referral=referral,
        user=personas.lead_hilden,
        title="Familie Beispiel anrufen",
        kind="contact_school",
        due_at=due_at,
        assignee=getattr(personas, assignee) if assignee else None,
    )


def test_task_by_hand_done_and_undone_with_who_and_when(personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    task = _task(personas, due_at=MONDAY + 48 * HOUR)
    assert Notification.objects.filter(kind="task_assigned", recipient_user=personas.caseworker_hilden).count() == 1
    task = followthrough.task_update(task=task, user=personas.caseworker_hilden, done=True)
    assert task.done_at == MONDAY and task.done_by == personas.caseworker_hilden
    time_machine.move_to(MONDAY + HOUR, tick=False)
    task = followthrough.task_update(task=task, user=personas.lead_hilden, done=False)
    assert task.done_at is None and task.undone_by == personas.lead_hilden and task.undone_at == MONDAY + HOUR
    kinds = list(ReferralEvent.objects.filter(referral=task.referral).values_list("kind", flat=True))
    assert kinds[-3:] == ["task_created", "task_done", "task_undone"]


def test_task_input_is_checked(personas):
    referral = make_referral(personas.police_hilden)
    with pytest.raises(ValidationError) as error:
        followthrough.task_create(referral=referral, user=personas.caseworker_hilden, title=" ", kind="other",
                                  due_at=MONDAY)  # fmt: skip
    assert "title" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        followthrough.task_create(referral=referral, user=personas.caseworker_hilden, title="x", kind="other",
                                  due_at=MONDAY, assignee=personas.caseworker_velbert)  # fmt: skip
    assert "assignee" in error.value.message_dict


def test_only_the_office_creates_and_sees_tasks(personas):
    referral = make_referral(personas.police_hilden)
    for outsider in (personas.police_hilden, personas.caseworker_velbert, personas.district_coordinator):
        with pytest.raises(PermissionDenied):
            followthrough.task_create(referral=referral, user=outsider, title="x", kind="other", due_at=MONDAY)
    task = _task(personas, due_at=MONDAY, referral=referral)
    outsiders = ("police_hilden", "police_coordinator", "caseworker_velbert", "lead_velbert", "district_coordinator",
                 "no_role", "admin")  # fmt: skip
    for outsider in (getattr(personas, name) for name in outsiders):
        assert not Task.objects.visible_to(outsider).exists()
        with pytest.raises(Http404):
            followthrough.task_for(outsider, task.pk)
    assert followthrough.task_for(personas.lead_hilden, task.pk) == task


def test_office_view_is_for_leads(personas):
    _task(personas, due_at=MONDAY)
    with pytest.raises(PermissionDenied):
        followthrough.task_list(personas.caseworker_hilden, scope="office")
    assert followthrough.task_list(personas.lead_hilden, scope="office").count() == 1
    assert followthrough.task_list(personas.caseworker_hilden, scope="mine").count() == 1
    assert followthrough.task_list(personas.lead_hilden, scope="mine").count() == 0


def test_due_filters_in_local_time(personas):
    now = _local(2026, 6, 8, 10)
    dues = {
        "overdue": now - HOUR,
        "today": _local(2026, 6, 8, 23, 30),
        "week": _local(2026, 6, 15, 23, 0),
        "later": _local(2026, 6, 16, 0, 0),  # beyond the next 7 days
    }
    tasks = {name: _task(personas, due_at=due) for name, due in dues.items()}
    for due in followthrough.DUE_FILTERS:
        listed = set(followthrough.task_list(personas.caseworker_hilden, due=due, now=now))
        assert listed == {tasks[due]}, due


def _reminders(kind):
    return Notification.objects.filter(kind=f"task_{kind}")


def test_reminders_and_escalation_each_exactly_once(personas, time_machine, settings):
    settings.TASK_REMINDER_LEAD_HOURS = 24
    settings.TASK_ESCALATION_AFTER_HOURS = 24
    due = _local(2026, 6, 10, 9)
    time_machine.move_to(MONDAY, tick=False)
    task = _task(personas, due_at=due)

    time_machine.move_to(due - 24 * HOUR - datetime.timedelta(minutes=1), tick=False)
    assert task_reminders_send() == 0
    time_machine.move_to(due - 24 * HOUR, tick=False)
    assert task_reminders_send() == 1
    assert task_reminders_send() == 0  # run twice → once
    lead = _reminders("lead").get()
    assert lead.recipient_user == personas.caseworker_hilden
    assert lead.link == f"/referrals/{task.referral_id}/"
    assert "Beispiel" not in lead.subject + lead.body  # the title may name the family: never in a message

    time_machine.move_to(due, tick=False)
    assert task_reminders() == 1  # the beat's task
    assert task_reminders() == 0
    assert _reminders("due").get().recipient_user == personas.caseworker_hilden

    time_machine.move_to(due + 24 * HOUR - datetime.timedelta(minutes=1), tick=False)
    assert task_reminders_send() == 0
    time_machine.move_to(due + 24 * HOUR, tick=False)
    assert task_reminders_send() == 1
    assert task_reminders_send() == 0
    assert set(_reminders("overdue").values_list("recipient_user", flat=True)) == {personas.lead_hilden.pk}
    assert TaskReminder.objects.filter(task=task).count() == 3
    assert _reminders("lead").count() == _reminders("due").count() == 1


def test_a_new_due_time_is_reminded_again_and_done_tasks_are_not(personas, time_machine):
    due = _local(2026, 6, 10, 9)
    time_machine.move_to(due, tick=False)
    task = _task(personas, due_at=due, assignee=None)
    assert task_reminders_send() == 1  # at the due time; nobody assigned: the office's people
    assert set(_reminders("due").values_list("recipient_user", flat=True)) >= {
        personas.caseworker_hilden.pk, personas.lead_hilden.pk,
    }  # fmt: skip
    later = due + 2 * HOUR
    followthrough.task_update(task=task, user=personas.lead_hilden, due_at=later)
    time_machine.move_to(later, tick=False)
    assert task_reminders_send() == 1
    followthrough.task_update(task=task, user=personas.lead_hilden, done=True)
    time_machine.move_to(later + 48 * HOUR, tick=False)
    assert task_reminders_send() == 0  # done: no escalation


def test_reminder_job_query_count_does_not_grow(personas, time_machine, django_assert_max_num_queries):
    time_machine.move_to(MONDAY, tick=False)
    referral = make_referral(personas.police_hilden, police_measures=[])
    for _ in range(5):
        _task(personas, due_at=MONDAY + 100 * HOUR, referral=referral)
    with django_assert_max_num_queries(3):  # a quiet minute: one query per kind
        assert task_reminders_send() == 0


def test_accepted_forwarding_moves_the_tasks_to_the_receiving_office(personas):
    referral = make_referral(personas.police_hilden, postcode="40724", city="Hilden")
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)  # suggests the home visit
    _task(personas, due_at=MONDAY, referral=referral)
    done = _task(personas, due_at=MONDAY, referral=referral)
    followthrough.task_update(task=done, user=personas.caseworker_hilden, done=True)
    velbert = Agency.objects.get(code="JA-VEL")
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    # Pending: the tasks stay with Hilden, read-only; Velbert does not see them yet.
    assert Task.objects.visible_to(personas.caseworker_hilden).filter(referral=referral).count() == 3
    assert not Task.objects.visible_to(personas.caseworker_velbert).exists()
    with pytest.raises(ValidationError):
        followthrough.task_update(task=done, user=personas.caseworker_hilden, done=False)
    referral_accept(referral=Referral.objects.get(pk=referral.pk), user=personas.caseworker_velbert)
    assert not Task.objects.visible_to(personas.caseworker_hilden).exists()
    moved = Task.objects.visible_to(personas.lead_velbert).filter(referral=referral)
    assert moved.count() == 3 and moved.filter(done_at__isnull=True).count() == 2
    assert not moved.filter(assignee__isnull=False).exists()  # Hilden's people are not Velbert's
    # Accepting is Velbert's acknowledgement: the home visit was suggested once already.
    assert moved.filter(suggested=True).count() == 1


def test_next_task_for_the_inbox_is_two_queries(personas, django_assert_num_queries):
    referrals = [make_referral(personas.police_hilden, police_measures=[]) for _ in range(3)]
    first = _task(personas, due_at=MONDAY, referral=referrals[0])
    _task(personas, due_at=MONDAY + HOUR, referral=referrals[0])
    _task(personas, due_at=MONDAY + HOUR, referral=referrals[1])
    ids = [r.pk for r in referrals]
    with django_assert_num_queries(2):
        found = followthrough.next_tasks_for(ids, {first.office_id})
    assert found[referrals[0].pk] == first and referrals[2].pk not in found
    assert followthrough.next_tasks_for(ids, {Agency.objects.get(code="JA-VEL").pk}) == {}


# --- Pages and API ----------------------------------------------------------------------------------


def test_page_add_task_with_german_date_mark_done_and_police_see_nothing(client, personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    referral = make_referral(personas.police_hilden, police_measures=[])
    client.force_login(personas.lead_hilden)
    url = f"/referrals/{referral.pk}/tasks/"
    data = {"version": referral.version, "title": "", "kind": "see_child", "due_at": "10.06.2026 14:30"}
    page = client.post(url, data)  # no title: the form again, with what was typed
    assert page.status_code == 200 and not Task.objects.exists()
    assert 'value="10.06.2026 14:30"' in page.content.decode()  # what was typed stays
    data.update(title="Familie Beispiel besuchen", assignee=personas.caseworker_hilden.pk)
    assert client.post(url, data).status_code == 302
    task = Task.objects.get()
    assert task.due_at == _local(2026, 6, 10, 14, 30) and task.kind == "see_child"
    assert task.assignee == personas.caseworker_hilden and task.created_by == personas.lead_hilden
    detail = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Familie Beispiel besuchen" in detail and "Aufgabe angelegt" in detail

    client.force_login(personas.caseworker_hilden)
    assert client.post(f"/tasks/{task.pk}/", {"done": "1", "next": "https://evil.example/"}).status_code == 302
    task.refresh_from_db()
    assert task.done_by == personas.caseworker_hilden

    client.force_login(personas.police_hilden)
    police_page = client.get(f"/referrals/{referral.pk}/").content.decode()
    assert "Familie Beispiel besuchen" not in police_page
    assert client.post(url, data).status_code == 403
    assert client.post(f"/tasks/{task.pk}/", {"done": "0"}).status_code == 404
    assert client.get("/tasks/").status_code == 403
    api = APIClient()
    api.force_authenticate(personas.police_hilden)
    assert "tasks" not in api.get(f"/api/v1/referrals/{referral.pk}/").json()
    assert api.get(f"/api/v1/referrals/{referral.pk}/tasks/").status_code == 404


def _queries(client, path):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return len(queries)


def test_my_tasks_and_inbox_cost_the_same_for_one_task_or_many(client, personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    referrals = [make_referral(personas.police_hilden, police_measures=[]) for _ in range(6)]
    _task(personas, due_at=MONDAY - HOUR, referral=referrals[0])
    client.force_login(personas.lead_hilden)
    client.get("/tasks/")  # warm the caches of the first request (session, site)
    one = {path: _queries(client, path) for path in ("/tasks/", "/tasks/?scope=office", "/inbox/")}
    for referral in referrals:
        for hours in (-2, 3, 30, 100):
            _task(personas, due_at=MONDAY + hours * HOUR, referral=referral)
    many = {path: _queries(client, path) for path in one}
    assert many == one
    inbox = client.get("/inbox/").content.decode()
    assert "Nächste Aufgabe" in inbox
    mine = client.get("/tasks/?scope=office").content.decode()
    assert "Überfällig" in mine and "Heute fällig" in mine and "Nächste 7 Tage" in mine


def test_api_tasks_of_a_case_and_patch(personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    referral = make_referral(personas.police_hilden, police_measures=[])
    api = APIClient()
    api.force_authenticate(personas.caseworker_hilden)
    url = f"/api/v1/referrals/{referral.pk}/tasks/"
    bad = api.post(url, {"title": "x", "kind": "nonsense", "due_at": "morgen"}, format="json")
    assert bad.status_code == 400 and set(bad.json()) >= {"kind", "due_at"}
    due = "2026-06-10T12:00:00+02:00"
    other_office = api.post(
        url, {"title": "x", "kind": "other", "due_at": due, "assignee": personas.lead_velbert.pk}, format="json"
    )
    assert other_office.status_code == 400 and "assignee" in other_office.json()
    created = api.post(
        url, {"title": "Hausbesuch", "kind": "home_visit", "due_at": "2026-06-10T12:00:00+02:00"}, format="json"
    )
    assert created.status_code == 201, created.json()
    task_id = created.json()["id"]
    assert [row["id"] for row in api.get(url).json()] == [task_id]
    assert api.get("/api/v1/tasks/").json()["results"] == []  # nobody assigned yet
    patched = api.patch(
        f"/api/v1/tasks/{task_id}/",
        {"assignee": personas.caseworker_hilden.pk, "due_at": "2026-06-08T18:00:00+02:00"},
        format="json",
    )
    assert patched.status_code == 200 and patched.json()["assignee"] == personas.caseworker_hilden.pk
    assert [row["id"] for row in api.get("/api/v1/tasks/?due=today").json()["results"]] == [task_id]
    assert api.get("/api/v1/tasks/?due=week").json()["results"] == []
    assert api.get("/api/v1/tasks/?scope=office").status_code == 403  # a caseworker, not the lead
    done = api.patch(f"/api/v1/tasks/{task_id}/", {"done": True}, format="json")
    assert done.json()["done"] is True and done.json()["done_by"] == personas.caseworker_hilden.pk
    assert api.get("/api/v1/tasks/").json()["results"] == []  # done: no longer open
    velbert = APIClient()
    velbert.force_authenticate(personas.lead_velbert)
    assert velbert.patch(f"/api/v1/tasks/{task_id}/", {"done": False}, format="json").status_code == 404
    assert velbert.get(url).status_code == 404


def test_police_form_takes_the_end_of_the_ban_and_checks_it(personas):
    from tests.factories import referral_payload

    api = APIClient()
    api.force_authenticate(personas.police_hilden)
    incident = timezone.now() - HOUR
    payload = referral_payload(incident_at=incident.isoformat())
    too_late = (timezone.localdate(incident) + datetime.timedelta(days=11)).isoformat()
    response = api.post("/api/v1/referrals/", {**payload, "residence_ban_until": too_late}, format="json")
    assert response.status_code == 400 and "residence_ban_until" in response.json()
    no_ban = {**payload, "police_measures": ["custody"], "residence_ban_until": timezone.localdate().isoformat()}
    assert api.post("/api/v1/referrals/", no_ban, format="json").status_code == 400
    end = (timezone.localdate(incident) + datetime.timedelta(days=10)).isoformat()
    response = api.post("/api/v1/referrals/", {**payload, "residence_ban_until": end}, format="json")
    assert response.status_code == 201, response.json()
    assert Referral.objects.get(reference=response.json()["reference"]).residence_ban_until.isoformat() == end


def test_beat_sends_the_reminders_every_minute_on_the_scheduling_queue():
    from django.conf import settings as django_settings

    entry = django_settings.CELERY_BEAT_SCHEDULE["referrals-task-reminders"]
    assert entry["task"] == task_reminders.name == "referrals.tasks.task_reminders"
    assert entry["schedule"] == 60 and entry["options"] == {"expires": 60}
    assert django_settings.CELERY_TASK_ROUTES["referrals.tasks.*"] == {"queue": "scheduling"}


def test_the_case_page_costs_the_same_for_one_task_or_many(client, personas):
    referral = make_referral(personas.police_hilden, police_measures=[])
    _task(personas, due_at=MONDAY, referral=referral)
    client.force_login(personas.caseworker_hilden)
    path = f"/referrals/{referral.pk}/"
    client.get(path)
    one = _queries(client, path)
    for hours in range(10):
        task = _task(personas, due_at=MONDAY + hours * HOUR, referral=referral)
    followthrough.task_update(task=task, user=personas.lead_hilden, done=True)
    assert _queries(client, path) == one


def test_reassigning_an_acknowledged_case_suggests_nothing(personas):
    referral = make_referral(personas.police_hilden)  # with a residence ban
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    Task.objects.filter(referral=referral).delete()  # the office dropped the suggestion
    referral_assign(referral=Referral.objects.get(pk=referral.pk), user=personas.lead_hilden,
                    assignee=personas.caseworker_hilden)  # fmt: skip
    assert not Task.objects.filter(referral=referral).exists()


def test_reading_a_cases_tasks_through_the_api_is_logged(personas):
    from referrals.models import AccessLogEntry

    referral = make_referral(personas.police_hilden, police_measures=[])
    api = APIClient()
    api.force_authenticate(personas.caseworker_hilden)
    assert api.get(f"/api/v1/referrals/{referral.pk}/tasks/").status_code == 200
    entry = AccessLogEntry.objects.get(referral_id=referral.pk, obj_type=AccessLogEntry.ObjectType.TASK)
    assert entry.action == AccessLogEntry.Action.VIEW and entry.person == personas.caseworker_hilden


# --- A closed case: its tasks stand as they were ----------------------------------------------------

CLOSED_REFUSAL = "Nicht möglich, solange die Mitteilung den Status „Abgeschlossen“ hat."


def _closed_with_tasks(personas):
    """A case of Hilden with an open and a done task, then closed."""
    referral = make_referral(personas.police_hilden, police_measures=[])
    open_task = _task(personas, due_at=MONDAY + HOUR, referral=referral)
    done_task = _task(personas, due_at=MONDAY + HOUR, referral=referral)
    followthrough.task_update(task=done_task, user=personas.caseworker_hilden, done=True)
    Referral.objects.filter(pk=referral.pk).update(status=Status.CLOSED, closed_at=timezone.now())
    return Referral.objects.get(pk=referral.pk), open_task, Task.objects.get(pk=done_task.pk)


def _unchanged(task):
    fresh = Task.objects.get(pk=task.pk)
    return (fresh.done_at, fresh.due_at, fresh.assignee_id) == (task.done_at, task.due_at, task.assignee_id)


def test_a_closed_cases_tasks_are_not_changed_or_added(personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    referral, open_task, done_task = _closed_with_tasks(personas)
    events = ReferralEvent.objects.filter(referral=referral).count()
    for task, changes in (
        (done_task, {"done": False}),
        (open_task, {"done": True, "due_at": MONDAY + 48 * HOUR}),
        (open_task, {"due_at": MONDAY + 48 * HOUR}),
        (open_task, {"assignee": None}),
        (open_task, {"assignee": personas.lead_hilden}),
    ):
        with pytest.raises(ValidationError) as error:
            followthrough.task_update(task=task, user=personas.lead_hilden, **changes)
        assert error.value.message_dict == {"status": [CLOSED_REFUSAL]}, changes
        assert _unchanged(task), changes
    with pytest.raises(ValidationError) as error:
        followthrough.task_create(referral=referral, user=personas.lead_hilden, title="Noch ein Hausbesuch",
                                  kind="home_visit", due_at=MONDAY + HOUR)  # fmt: skip
    assert error.value.message_dict == {"status": [CLOSED_REFUSAL]}
    assert Task.objects.filter(referral=referral).count() == 2
    assert ReferralEvent.objects.filter(referral=referral).count() == events  # nothing in the history
    # An open task may still be ticked off: else it stays overdue in "Meine Aufgaben" for good.
    ticked = followthrough.task_update(task=open_task, user=personas.caseworker_hilden, done=True)
    assert ticked.is_done and ReferralEvent.objects.filter(referral=referral).count() == events + 1
    with pytest.raises(ValidationError) as error:  # … and not opened again
        followthrough.task_update(task=ticked, user=personas.caseworker_hilden, done=False)
    assert error.value.message_dict == {"status": [CLOSED_REFUSAL]}
    # Reopened by the lead, the case is worked on again, its tasks with it.
    referral_reopen(referral=referral, user=personas.lead_hilden, reason="Neue Hinweise")
    assert not followthrough.task_update(task=ticked, user=personas.caseworker_hilden, done=False).is_done


def test_api_refuses_to_change_or_add_tasks_of_a_closed_case(personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    referral, open_task, done_task = _closed_with_tasks(personas)
    api = APIClient()
    api.force_authenticate(personas.caseworker_hilden)
    for task, body in (
        (done_task, {"done": False}),
        (open_task, {"due_at": "2026-06-12T12:00:00+02:00"}),
        (open_task, {"assignee": personas.lead_hilden.pk}),
    ):
        response = api.patch(f"/api/v1/tasks/{task.pk}/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json() == {"status": [CLOSED_REFUSAL]}, body
        assert _unchanged(task), body
    created = api.post(f"/api/v1/referrals/{referral.pk}/tasks/",
                       {"title": "Hausbesuch", "kind": "home_visit", "due_at": "2026-06-10T12:00:00+02:00"},
                       format="json")  # fmt: skip
    assert created.status_code == 400 and created.json() == {"status": [CLOSED_REFUSAL]}
    ticked = api.patch(f"/api/v1/tasks/{open_task.pk}/", {"done": True}, format="json")  # ticking off: allowed
    assert ticked.status_code == 200 and ticked.json()["done"] is True
    again = api.patch(f"/api/v1/tasks/{open_task.pk}/", {"done": True}, format="json")  # a retry (QA): no refusal
    assert again.status_code == 200 and again.json() == ticked.json()
    # Another office's task of a closed case stays out of scope: 404, as before.
    velbert = APIClient()
    velbert.force_authenticate(personas.lead_velbert)
    assert velbert.patch(f"/api/v1/tasks/{open_task.pk}/", {"done": True}, format="json").status_code == 404


def test_pages_refuse_to_change_tasks_of_a_closed_case_and_say_why(client, personas, time_machine):
    time_machine.move_to(MONDAY, tick=False)
    referral, open_task, done_task = _closed_with_tasks(personas)
    client.force_login(personas.caseworker_hilden)
    case_page = f"/referrals/{referral.pk}/"
    detail = client.get(case_page).content.decode()
    assert "Familie Beispiel anrufen" in detail  # the tasks are still shown …
    assert f"/tasks/{done_task.pk}/" not in detail  # … a done one is not opened again …
    assert f"/tasks/{open_task.pk}/" in detail  # … an open one may still be ticked off
    response = client.post(f"/tasks/{done_task.pk}/", {"done": "0", "next": case_page}, follow=True)
    assert response.redirect_chain == [(case_page, 302)]
    assert CLOSED_REFUSAL in response.content.decode()
    assert _unchanged(done_task)
    # From "Meine Aufgaben", where the overdue task of the closed case is still listed: ticked off.
    assert f"/tasks/{open_task.pk}/" in client.get("/tasks/").content.decode()
    response = client.post(f"/tasks/{open_task.pk}/", {"done": "1", "next": "/tasks/"}, follow=True)
    assert response.redirect_chain == [("/tasks/", 302)] and CLOSED_REFUSAL not in response.content.decode()
    assert Task.objects.get(pk=open_task.pk).is_done
    assert f"/tasks/{open_task.pk}/" not in client.get("/tasks/").content.decode()
    # Adding a task on the closed case's page: refused on top of the page, nothing added.
    data = {"version": referral.version, "title": "Hausbesuch", "kind": "home_visit", "due_at": "10.06.2026 14:30"}
    page = client.post(f"/referrals/{referral.pk}/tasks/", data)
    assert page.status_code == 200 and CLOSED_REFUSAL in page.content.decode()
    assert Task.objects.filter(referral=referral).count() == 2


def test_a_task_is_due_at_most_two_years_ahead(personas, time_machine):
    """QA of 2026-12-05: a task due on 9999-12-31 was taken."""
    time_machine.move_to(MONDAY, tick=False)
    referral = make_referral(personas.police_hilden, police_measures=[])
    for due in (MONDAY.replace(year=9999), MONDAY + datetime.timedelta(days=365 * 2 + 2)):
        with pytest.raises(ValidationError) as error:
            followthrough.task_create(referral=referral, user=personas.caseworker_hilden, title="Hausbesuch",
                                      kind="home_visit", due_at=due)  # fmt: skip
        assert list(error.value.message_dict) == ["due_at"]
    task = followthrough.task_create(referral=referral, user=personas.caseworker_hilden, title="Hausbesuch",
                                     kind="home_visit", due_at=MONDAY + datetime.timedelta(days=365 * 2))  # fmt: skip
    with pytest.raises(ValidationError) as error:
        followthrough.task_update(task=task, user=personas.caseworker_hilden, due_at=MONDAY.replace(year=2030))
    assert list(error.value.message_dict) == ["due_at"]
