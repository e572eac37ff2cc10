"""Tasks in a real browser (issue 14 §1): the Hilden caseworker acknowledges a referral with a
residence ban and finds the suggested home visit on the case page, adds a task of their own, marks
the home visit done and sees their open task under "Meine Aufgaben"; the lead sees it in the office
view. axe-core runs on the case page with the task forms and on both lists."""

import datetime

import pytest
from django.utils import timezone

from referrals.models import Task
from tests.factories import make_referral

pytestmark = pytest.mark.browser


def test_suggested_home_visit_own_task_done_and_my_tasks(page, live_server, personas, login, logout, assert_accessible):
    referral = make_referral(personas.police_hilden)  # with a residence ban
    detail_url = f"{live_server.url}/referrals/{referral.pk}/"
    login(page, "caseworker_hilden")
    page.goto(detail_url)
    page.locator("form[action$='/acknowledge/'] button[type=submit]").click()
    page.wait_for_load_state()
    tasks = page.locator("section[aria-labelledby=tasks-title]")
    assert "Hausbesuch vor Ablauf des Rückkehrverbots" in tasks.inner_text()
    assert "vorgeschlagen" in tasks.inner_text()

    due = (timezone.localtime() + datetime.timedelta(hours=2)).replace(second=0, microsecond=0)
    page.fill("#task_title", "Kita anrufen")
    page.select_option("#task_kind", "contact_school")
    page.fill("#task_due_at", due.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("#task_assignee", str(personas.caseworker_hilden.pk))
    assert_accessible(page, "case page with the task form filled in")
    page.locator("form[action$='/tasks/'] button[type=submit]").click()
    page.wait_for_load_state()
    assert "Kita anrufen" in page.locator(".message--success").inner_text()
    task = Task.objects.get(title="Kita anrufen")
    assert task.due_at == due and task.assignee == personas.caseworker_hilden

    suggested = Task.objects.get(suggested=True)
    page.locator(f"form[action='/tasks/{suggested.pk}/'] button[type=submit]").click()
    page.wait_for_load_state()
    assert page.url.startswith(detail_url)
    assert "Erledigt von" in page.locator("section[aria-labelledby=tasks-title]").inner_text()
    assert Task.objects.get(pk=suggested.pk).done_by == personas.caseworker_hilden

    page.locator(".site-nav a", has_text="Meine Aufgaben").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Meine Aufgaben"
    assert "Kita anrufen" in page.locator("main").inner_text()
    assert_accessible(page, "my tasks")
    logout(page)

    login(page, "lead_hilden")
    page.goto(f"{live_server.url}/tasks/?scope=office")
    assert page.locator("h1").inner_text() == "Aufgaben des Amts"
    assert "Kita anrufen" in page.locator("main").inner_text()
    assert_accessible(page, "the office's tasks")
