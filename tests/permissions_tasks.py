"""Permission-matrix rows of tasks and sign-off requests (issue 14 §§ 1–2), merged into ``ENDPOINTS`` of
tests/test_permissions.py. The casework URLs use that module's own checks (passed in): pages 404
outside the scope, 405 to a GET, 403 inside it to anyone but the responsible office, the form again
for an empty POST; the API 404 outside the office's casework, 400 to an empty body. The task lists and
a task itself are checked here against a task on every referral of the world, each assigned to the
persona where it belongs to the persona's office: exactly those of the own office are seen or
changed, another office's answer 404, police, coordinators and grants see none."""

from django.utils import timezone

from referrals.models import SignOffRequest, Task

TITLE = "Aufgabe zu {reference}"


def task_endpoints(check_page_action, check_api_casework, check_api_transition) -> dict:
    return {
        "referrals:tasks": check_page_action("tasks"),
        "referrals:sign_off_request": check_page_action("sign-off-request"),
        "referrals:sign_off_return": check_page_action("sign-off-return"),
        "referrals:my_tasks": check_my_tasks_page,
        "referrals:task_change": check_task_change,
        "referral-tasks": check_api_casework("tasks", write="json"),
        "referral-sign-off-request": check_api_transition("sign-off-request"),
        "referral-sign-off-return": check_api_transition("sign-off-return"),
        "task-list": check_api_task_list,
        "task-detail": check_api_task_detail,
        "sign-off-request-list": check_api_signoffs_asked,
    }


def _matrix():
    from tests import test_permissions  # the matrix module, loaded by the time a check runs

    return test_permissions


def _tasks(persona, user, referrals) -> dict:
    """One overdue task on every referral that has an office, of that office; assigned to ``user``
    where it is the persona's office. Returns {referral key: task}."""
    office_code = _matrix().OFFICE_OF.get(persona)
    tasks = {}
    for key, referral in referrals.items():
        if referral.youth_office is None:
            continue
        own = referral.youth_office.code == office_code
        tasks[key] = Task.objects.create(
            referral=referral, office=referral.youth_office, title=TITLE.format(reference=referral.reference),
            kind="other", due_at=timezone.now() - timezone.timedelta(hours=1), assignee=user if own else None,
        )  # fmt: skip
    return tasks


def _own(persona, referrals) -> set[str]:
    code = _matrix().OFFICE_OF.get(persona)
    return {k for k, r in referrals.items() if code and r.youth_office is not None and r.youth_office.code == code}


def _listed(content: bytes, referrals) -> set[str]:
    text = content.decode()
    return {k for k, r in referrals.items() if TITLE.format(reference=r.reference) in text}


def check_my_tasks_page(persona, user, referrals):
    m = _matrix()
    _tasks(persona, user, referrals)
    web = m._web(user)
    mine = web.get("/tasks/")
    office = web.get("/tasks/?scope=office")
    if persona not in m.OFFICE:
        assert mine.status_code == office.status_code == 403, ("my tasks", persona)
        return
    assert mine.status_code == 200, ("my tasks", persona)
    assert _listed(mine.content, referrals) == _own(persona, referrals), ("my tasks", persona)
    if persona.startswith("lead_"):
        assert office.status_code == 200
        assert _listed(office.content, referrals) == _own(persona, referrals), ("office tasks", persona)
    else:
        assert office.status_code == 403, ("office tasks", persona)


def check_task_change(persona, user, referrals):
    m = _matrix()
    tasks = _tasks(persona, user, referrals)
    web = m._web(user)
    own = _own(persona, referrals)
    for key, task in tasks.items():
        assert web.get(f"/tasks/{task.pk}/").status_code == 405
        status = web.post(f"/tasks/{task.pk}/", {"done": "1"}).status_code
        assert status == (302 if key in own else 404), ("task change", persona, key, status)
        done = Task.objects.get(pk=task.pk).done_at is not None
        # Read-only while the case is offered to another office (the page says why).
        assert done == (key in own and referrals[key].status != "forwarded"), ("task done", persona, key)
    assert web.post("/tasks/987654/", {"done": "1"}).status_code == 404


def check_api_task_list(persona, user, referrals):
    m = _matrix()
    _tasks(persona, user, referrals)
    api = m._api(user)

    def listed(query):
        response = api.get(f"/api/v1/tasks/{query}")
        if response.status_code != 200:
            return response.status_code
        return {
            k for k, r in referrals.items() for row in response.json()["results"] if row["reference"] == r.reference
        }

    own = _own(persona, referrals)
    assert listed("") == own, ("api tasks", persona)
    assert listed("?due=overdue") == own, ("api tasks overdue", persona)
    assert listed("?due=today") == set(), ("api tasks today", persona)
    assert listed("?scope=office") == (own if persona.startswith("lead_") else 403), ("api office tasks", persona)
    assert listed("?due=yesterday") == 400


def check_api_task_detail(persona, user, referrals):
    m = _matrix()
    tasks = _tasks(persona, user, referrals)
    api = m._api(user)
    own = _own(persona, referrals)
    for key, task in tasks.items():
        status = api.patch(f"/api/v1/tasks/{task.pk}/", {"done": True}, format="json").status_code
        if key not in own:
            expected = 404
        else:
            expected = 400 if referrals[key].status == "forwarded" else 200
        assert status == expected, ("api task", persona, key, status)
        assert api.get(f"/api/v1/tasks/{task.pk}/").status_code == 405
    assert api.patch("/api/v1/tasks/987654/", {"done": True}, format="json").status_code == 404


def check_api_signoffs_asked(persona, user, referrals):
    """An open sign-off request on every referral that has an office, asked by a person outside the
    matrix's personas of any colleague of that office: the persona's list holds exactly those of their
    own office (the casework stays with it: police, coordinators and grants get an empty list)."""
    from django.contrib.auth import get_user_model

    m = _matrix()
    asker = get_user_model().objects.create_user(username="asks_for_sign_off")
    for referral in referrals.values():
        if referral.youth_office is not None:
            SignOffRequest.objects.create(
                referral=referral, office=referral.youth_office, object_id=referral.pk, requested_by=asker
            )
    seen, url = set(), "/api/v1/sign-off-requests/?page_size=3"
    while url:
        response = m._api(user).get(url)
        assert response.status_code == 200, ("sign-offs asked", persona, response.status_code)
        seen |= {row["reference"] for row in response.json()["results"]}
        url = response.json()["next"]
    assert {k for k, r in referrals.items() if r.reference in seen} == _own(persona, referrals), ("asked", persona)
