"""The transition table (issue 11 §2): for every status × relation, the actions a page offers are
exactly the actions the services accept.

"Offered" is read from what the detail page renders for the person (the forms of the office page,
the coordinator's summary, the police follow-up form); "accepted" is whether the service, called
with valid input, goes through (each attempt in a savepoint that is rolled back).
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm

from agencies.models import Agency
from referrals import followthrough, services
from referrals.access import referral_access
from referrals.dialogue import police_attachment_add, question_answer, question_ask
from referrals.dialogue_models import Question
from referrals.forms import office_people
from referrals.models import Referral, Status, Task
from referrals.screening import screening_save, screening_sign_off
from referrals.transitions import TRANSITIONS, Action, transitions_offered
from tests.factories import make_referral

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
PERSONAS = (
    "caseworker_hilden", "lead_hilden", "caseworker_velbert", "lead_velbert", "police_hilden", "police_hilden2",
    "police_velbert", "police_coordinator", "district_coordinator", "no_role", "admin",
)  # fmt: skip


class _Rollback(Exception):
    pass


def _assess(referral, user):
    return services.assessment_save(
        referral=referral, user=user, summary="Hausbesuch", outcome="support_need", measures=["offer_of_help"],
        home_visit_on=datetime.date(2026, 1, 5), child_seen=True,
    )  # fmt: skip


def _build(state, p):
    """A referral of Hilden in ``state`` (built through the services, as it would come about)."""
    if state == "draft":
        return make_referral(p.police_hilden, submit=False)
    if state == "triage":
        return make_referral(p.police_hilden, postcode="99999", city="Nirgendwo")
    referral = make_referral(p.police_hilden)
    if state == "submitted_assigned":
        services.referral_assign(referral=referral, user=p.lead_hilden, assignee=p.caseworker_hilden)
    if state == "forwarded":
        velbert = Agency.objects.get(code="JA-VEL")
        services.referral_forward(referral=referral, user=p.caseworker_hilden, to_office=velbert, reason="Umzug")
    if state in ("acknowledged", "pending", "signed", "closed", "reopened", "screened_no", "screened_yes", "requested"):
        services.referral_acknowledge(referral=referral, user=p.caseworker_hilden)
    if state in ("screened_no", "screened_yes"):  # issue 13 §1
        screening_save(
            referral=referral, user=p.caseworker_hilden, weighty_indications=state == "screened_yes", reason="Grund",
            next_step="" if state == "screened_yes" else "information_only",
        )  # fmt: skip
    if state in ("pending", "signed", "closed", "reopened", "requested"):
        _assess(referral, p.caseworker_hilden)
    if state == "requested":  # issue 14 §2: the author asked any colleague to sign off
        followthrough.signoff_request_create(referral=referral, user=p.caseworker_hilden)
    if state in ("signed", "closed", "reopened"):
        services.assessment_sign_off(referral=referral, user=p.lead_hilden)
    if state in ("closed", "reopened"):
        services.referral_close(referral=referral, user=p.caseworker_hilden)
    if state == "reopened":
        services.referral_reopen(referral=referral, user=p.lead_hilden, reason="Neuer Vorfall")
    return Referral.objects.get(pk=referral.pk)


def _calls(referral, user):
    """Each action as its service with valid input."""
    fresh = Referral.objects.get(pk=referral.pk)
    other_office = (
        Agency.objects.youth_offices().exclude(pk__in=[fresh.youth_office_id or 0, fresh.forwarded_to_id or 0]).first()
    )
    colleague = office_people([fresh.youth_office_id or 0]).exclude(pk=user.pk).first()
    upload = SimpleUploadedFile("scan.pdf", PDF, content_type="application/pdf")
    now = timezone.now()
    kw = {"referral": fresh, "user": user}
    return {
        Action.ACKNOWLEDGE: lambda: services.referral_acknowledge(**kw),
        Action.ASSIGN: lambda: colleague is not None and services.referral_assign(**kw, assignee=colleague),
        Action.TAKE_OVER: lambda: services.referral_assign(**kw, assignee=user),
        Action.RERATE: lambda: services.referral_rerate(**kw, urgency="immediate", reason="Neu bewertet"),
        Action.FORWARD: lambda: services.referral_forward(**kw, to_office=other_office, reason="Umzug"),
        Action.ACCEPT: lambda: services.referral_accept(**kw),
        Action.RETURN: lambda: services.referral_return(**kw, reason="Nicht zuständig"),
        Action.SCREENING: lambda: screening_save(
            **kw, weighty_indications=False, reason="Keine Anhaltspunkte", next_step="information_only"
        ),
        Action.SCREENING_SIGN_OFF: lambda: screening_sign_off(**kw),
        Action.ASSESSMENT: lambda: _assess(fresh, user),
        Action.SIGN_OFF: lambda: services.assessment_sign_off(**kw),
        Action.CLOSE: lambda: services.referral_close(**kw),
        Action.REOPEN: lambda: services.referral_reopen(**kw, reason="Neuer Vorfall"),
        Action.EXPORT: lambda: services.referral_export(**kw, recipient="Jugendamt Köln"),
        Action.NOTE: lambda: services.note_add(**kw, text="Notiz"),
        Action.ATTACHMENT: lambda: services.attachment_add(**kw, uploaded_file=upload),
        Action.FOLLOWUP: lambda: services.followup_add(**kw, text="Nachtrag"),
        Action.ASSIGN_OFFICE: lambda: services.referral_assign_office(**kw, office=other_office),
        Action.TASK: lambda: followthrough.task_create(**kw, title="Hausbesuch", kind="home_visit", due_at=now),
        Action.TASK_DONE: lambda: _tick_off(fresh, user),
        Action.SIGN_OFF_REQUEST: lambda: followthrough.signoff_request_create(**kw),
        Action.SIGN_OFF_RETURN: lambda: followthrough.signoff_return(**kw, comment="Bitte ergänzen"),
        Action.QUESTION: lambda: question_ask(**kw, text="Rückfrage"),
        # no open question in these states: refused (403 wrong relation, else 400 by the precondition)
        Action.ANSWER: lambda: question_answer(question=Question(referral=fresh), user=user, text="Antwort"),
        Action.POLICE_ATTACHMENT: lambda: police_attachment_add(
            **kw, uploaded_file=SimpleUploadedFile("bericht.pdf", PDF, content_type="application/pdf")
        ),
    }


def _tick_off(referral, user):
    """Mark an open task of the case done (False where the case has no office to hold a task; a task of
    an office not the person's is 404 to them, as from the page)."""
    if referral.youth_office_id is None:
        return False
    task = Task.objects.create(
        referral=referral, office_id=referral.youth_office_id, title="Anruf", kind="other", due_at=timezone.now()
    )
    try:
        return followthrough.task_update(task=task, user=user, done=True)
    except Http404:
        return False


def _accepted(referral, user) -> set[Action]:
    accepted = set()
    for action, call in _calls(referral, user).items():
        try:
            with transaction.atomic():
                if call() is False:  # no colleague to assign: nothing to accept
                    continue
                raise _Rollback
        except _Rollback:
            accepted.add(action)
        except (PermissionDenied, ValidationError):
            pass
    # "Take over" is the caseworker's form of assigning: a lead assigns anyone, themselves included.
    if Action.ASSIGN in accepted:
        accepted.discard(Action.TAKE_OVER)
    return accepted


def _offered(client, referral, user) -> set[Action]:
    client.force_login(user)
    response = client.get(reverse("referrals:detail", args=[referral.pk]))
    if response.status_code == 404:
        return set()
    assert response.status_code == 200
    context = response.context
    offered = set()
    if "forms" in context:
        offered |= {Action(key) for key in context["forms"]}
    if "export_form" in context and context["export_form"] is not None:
        offered.add(Action.EXPORT)
    if "form" in context and context["form"] is not None and "export_form" in context:
        offered.add(Action.ASSIGN_OFFICE)
    if "followup_form" in context:
        offered.add(Action.FOLLOWUP)
    if context.get("police_attachment_form") is not None:
        offered.add(Action.POLICE_ATTACHMENT)
    if context.get("answer_forms"):
        offered.add(Action.ANSWER)
    if context.get("tasks_done_offered"):  # the "mark done" button of an open task
        offered.add(Action.TASK_DONE)
    return offered


STATES = (
    "draft", "triage", "submitted", "submitted_assigned", "acknowledged", "pending", "signed", "forwarded",
    "closed", "reopened", "screened_no", "screened_yes", "requested",
)  # fmt: skip


@pytest.mark.parametrize("state", STATES)
def test_offered_equals_accepted_for_every_relation(client, personas, state):
    referral = _build(state, personas)
    if state != "draft":  # the grant relation: a person with no membership, one case opened to them
        assign_perm("referrals.view_referral", personas.no_role, referral)
    mismatches = {}
    for name in PERSONAS:
        user = getattr(personas, name)
        offered, accepted = _offered(client, referral, user), _accepted(referral, user)
        table = transitions_offered(referral_access(user, Referral.objects.get(pk=referral.pk)))
        if not offered == accepted == table:
            mismatches[name] = {"page": sorted(offered), "service": sorted(accepted), "table": sorted(table)}
    assert mismatches == {}


def test_every_action_is_declared_and_reachable():
    """Each action has a row, and each row names statuses and relations."""
    assert {t.action for t in TRANSITIONS} == set(Action)
    assert all(t.statuses and t.relations for t in TRANSITIONS)


def test_a_signed_off_assessment_stands_until_close_or_reopen(personas):
    referral = _build("signed", personas)
    with pytest.raises(ValidationError):
        _assess(referral, personas.caseworker_hilden)
    reopened = _build("reopened", personas)
    assert _assess(reopened, personas.caseworker_hilden).signed_off_by is None
    assert Referral.objects.get(pk=reopened.pk).status == Status.IN_ASSESSMENT
