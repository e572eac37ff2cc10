"""The casework pages of the youth offices (§ 8a SGB VIII) and the police's view of their referral:
every action's own POST URL (happy path, refusal by role and by status, stale version, confirmation
steps), internal notes and attachments, follow-ups, the coded feedback, and the inbox's search,
filters, tabs with counts, sorting, bulk assignment and pinned query counts."""

import datetime
import html
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from agencies.models import Agency
from referrals.models import Assessment, Attachment, Note, Referral, ReferralEvent, Status, Task
from referrals.presenters import feedback_label
from referrals.services import (
    assessment_save,
    assessment_sign_off,
    attachment_add,
    note_add,
    referral_acknowledge,
    referral_assign,
    referral_close,
    referral_forward,
    referral_rerate,
)
from tests.factories import make_referral

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
CONFLICT = (
    "This referral was changed by someone else in the meantime. The page has been reloaded with the current "
    "state; nothing of yours was saved. Check it and try again."
)
SUMMARY = "Hausbesuch mit zwei Fachkräften, Kind wirkt versorgt, Mutter kooperativ."


def german(msgid: str) -> str:
    """A message as the German page shows it (whether or not the catalog translates it yet)."""
    with translation.override("de"):
        return gettext(msgid)


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def url(name: str, referral, *args) -> str:
    return reverse(f"referrals:{name}", args=[referral.pk, *args])


def fresh(referral) -> Referral:
    return Referral.objects.get(pk=referral.pk)


CONFIRMED = {"accept", "return", "sign_off", "screening_sign_off"}  # close and forward: their tests confirm


def act(client, name, referral, version=None, **data):
    """POST an action form as the page sends it: with the referral's current version; an action
    that asks to confirm (``CONFIRMED``) is confirmed on the page it answers with."""
    data.setdefault("version", version if version is not None else fresh(referral).version)
    if name in CONFIRMED and "confirm" not in data:
        first = client.post(url(name, referral), data)
        if first.status_code != 200 or first.templates[0].name != "referrals/confirm_action.html":
            return first
        data["confirm"] = "1"
    return client.post(url(name, referral), data)


def office_of(code: str) -> Agency:
    return Agency.objects.get(code=code)


@pytest.fixture(autouse=True)
def _private_storage(monkeypatch, tmp_path):
    """Attachments into a temporary directory instead of ``PRIVATE_MEDIA_ROOT``."""
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))


@pytest.fixture
def referral(personas):
    """A referral of Hilden police for a family in Hilden, routed to the Hilden youth office."""
    return make_referral(personas.police_hilden)


@pytest.fixture
def caseworker(client, personas):
    client.force_login(personas.caseworker_hilden)
    return client


def acknowledged(referral, personas):
    return referral_acknowledge(referral=referral, user=personas.caseworker_hilden)


def assessed(referral, personas, *, author=None):
    acknowledged(referral, personas)
    return assessment_save(
        referral=referral,
        user=author or personas.caseworker_hilden,
        summary=SUMMARY,
        outcome="support_need",
        measures=["offer_of_help"],
    )


def signed(referral, personas):
    assessed(referral, personas)
    return assessment_sign_off(referral=referral, user=personas.lead_hilden)


# --- every action URL is POST-only ------------------------------------------------------------------

ACTIONS = [
    "acknowledge", "assign", "rerate", "forward", "accept", "return", "assessment", "sign_off", "close", "reopen",
    "notes", "attachments", "followups",
]  # fmt: skip


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_answer_405_to_get(caseworker, referral, name):
    assert caseworker.get(url(name, referral)).status_code == 405


@pytest.mark.parametrize("name", ACTIONS)
def test_actions_outside_scope_are_404_and_change_nothing(client, personas, referral, name):
    client.force_login(personas.caseworker_velbert)
    response = act(client, name, referral, reason="x", text="x", urgency="immediate")
    assert response.status_code == 404
    assert fresh(referral).version == referral.version
    assert client.post(f"/referrals/987654/{url(name, referral).split('/')[-2]}/", {}).status_code == 404


def test_a_form_without_version_changes_nothing(caseworker, referral):
    stale_form = german("The form was incomplete. Reload the page and try again.")
    for name, data in (("acknowledge", {}), ("assign", {"assignee": "1"}), ("rerate", {"urgency": "routine"})):
        response = caseworker.post(url(name, referral), data)
        assert response.status_code == 200
        assert messages_of(response).count(stale_form) == 1, name
    assert fresh(referral).version == referral.version


# --- the office page ------------------------------------------------------------------------------


def test_confirmation_pages_have_no_inline_code(caseworker, personas, referral):
    forward = act(caseworker, "forward", referral, to_office=office_of("JA-VEL").pk, reason="Umzug")
    signed(referral, personas)
    close = act(caseworker, "close", referral)
    for response in (forward, close):
        content = response.content.decode()
        assert response.status_code == 200
        assert " style=" not in content and not re.search(r"<script(?![^>]*\bsrc=)", content)
        assert content.count("<h1") == 1


def test_office_page_offers_the_actions_of_a_new_referral(caseworker, referral):
    response = caseworker.get(url("detail", referral))
    text = text_of(response)
    assert response.status_code == 200
    assert response.templates[0].name == "referrals/office_detail.html"
    for name in ("acknowledge", "assign", "rerate", "forward", "notes", "attachments"):
        assert f'action="{url(name, referral)}"' in text, name
    for name in ("accept", "return", "sign_off", "close", "reopen", "assessment"):
        assert f'action="{url(name, referral)}"' not in text, name
    assert f'name="version" value="{referral.version}"' in text
    assert 'name="assignee" value="' in text  # a caseworker takes an unassigned case over
    assert " style=" not in text and not re.search(r"<script(?![^>]*\bsrc=)", text)
    assert not re.search(r"\son[a-z]+=", text)


def test_lead_gets_a_select_of_the_office_people(client, personas, referral):
    client.force_login(personas.lead_hilden)
    text = text_of(client.get(url("detail", referral)))
    select = re.search(r'<select name="assignee".*?</select>', text, re.S).group(0)
    assert "caseworker_hilden" in select and "lead_hilden" in select
    assert "caseworker_velbert" not in select


def test_office_page_shows_the_clock_and_overdue(caseworker, referral):
    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() + datetime.timedelta(hours=5))
    text = text_of(caseworker.get(url("detail", referral)))
    assert 'class="clock clock--running"' in text
    Referral.objects.filter(pk=referral.pk).update(due_at=timezone.now() - datetime.timedelta(hours=2))
    text = text_of(caseworker.get(url("detail", referral)))
    assert 'class="clock clock--overdue"' in text


# --- acknowledge ----------------------------------------------------------------------------------


def test_acknowledge(caseworker, personas, referral):
    response = act(caseworker, "acknowledge", referral)
    assert response.status_code == 302
    assert response["Location"] == url("detail", referral)
    after = fresh(referral)
    assert after.status == Status.ACKNOWLEDGED
    assert after.acknowledged_by == personas.caseworker_hilden
    assert after.version == referral.version + 1
    [message] = messages_of(response)
    assert referral.reference in message


def test_acknowledge_twice_says_why_not(caseworker, referral):
    act(caseworker, "acknowledge", referral)
    response = act(caseworker, "acknowledge", referral)
    assert response.status_code == 200
    expected = german("Not possible while the referral’s status is “%(status)s”.") % {"status": german("Acknowledged")}
    assert expected in messages_of(response)
    assert fresh(referral).version == referral.version + 1


@pytest.mark.parametrize(("persona", "status"), [("police_hilden", 403), ("caseworker_velbert", 404)])
def test_acknowledge_refused_by_role(client, personas, referral, persona, status):
    client.force_login(getattr(personas, persona))
    assert act(client, "acknowledge", referral).status_code == status
    assert fresh(referral).status == Status.SUBMITTED


def test_stale_version_is_a_conflict_and_saves_nothing(caseworker, personas, referral):
    stale = referral.version
    referral_rerate(referral=referral, user=personas.lead_hilden, urgency="immediate", reason="x")  # someone else
    response = act(caseworker, "acknowledge", referral, version=stale)
    assert response.status_code == 409
    assert german(CONFLICT) in messages_of(response)
    after = fresh(referral)
    assert after.status == Status.SUBMITTED
    # The page is reloaded: it carries the current version.
    assert f'name="version" value="{after.version}"' in text_of(response)


# --- assign -----------------------------------------------------------------------------------------


def test_lead_assigns_a_caseworker(client, personas, referral):
    client.force_login(personas.lead_hilden)
    response = act(client, "assign", referral, assignee=personas.caseworker_hilden.pk)
    assert response.status_code == 302
    assert fresh(referral).assignee == personas.caseworker_hilden


def test_caseworker_takes_over_an_unassigned_case_only(caseworker, personas, referral):
    assert act(caseworker, "assign", referral, assignee=personas.caseworker_hilden.pk).status_code == 302
    assert fresh(referral).assignee == personas.caseworker_hilden
    # Not someone else's: only the lead (re)assigns.
    response = act(caseworker, "assign", referral, assignee=personas.lead_hilden.pk)
    assert response.status_code == 403
    assert fresh(referral).assignee == personas.caseworker_hilden


def test_assign_to_someone_of_another_office_is_refused(client, personas, referral):
    client.force_login(personas.lead_hilden)
    response = act(client, "assign", referral, assignee=personas.caseworker_velbert.pk)
    assert response.status_code == 200
    assert 'id="assign_assignee_error"' in response.content.decode()
    assert fresh(referral).assignee is None


# --- re-rate -----------------------------------------------------------------------------------------


def test_rerate_with_reason(caseworker, referral):
    response = act(caseworker, "rerate", referral, urgency="immediate", reason="Neue Hinweise auf akute Gefahr")
    assert response.status_code == 302
    after = fresh(referral)
    assert after.urgency == "immediate"
    event = after.events.get(kind=ReferralEvent.Kind.RERATED)
    assert event.data["reason"] == "Neue Hinweise auf akute Gefahr"
    timeline = text_of(caseworker.get(url("detail", referral)))
    assert "Neue Hinweise auf akute Gefahr" in timeline


def test_rerate_without_reason_keeps_the_choice(caseworker, referral):
    response = act(caseworker, "rerate", referral, urgency="immediate", reason="  ")
    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="rerate_reason_error"' in content
    assert re.search(r'<input type="radio" name="urgency" value="immediate" id="rerate_urgency_0"[^>]*checked', content)
    assert re.search(r'<details class="action action--disclosure" open>\s*<summary>', content)
    assert fresh(referral).urgency == "urgent"


def test_rerate_conflict_keeps_the_typed_reason(caseworker, personas, referral):
    stale = referral.version
    acknowledged(referral, personas)
    response = act(caseworker, "rerate", referral, version=stale, urgency="routine", reason="Lage entspannt")
    assert response.status_code == 409
    content = text_of(response)
    assert re.search(r'<textarea name="reason"[^>]*id="rerate_reason">\s*Lage entspannt</textarea>', content)
    assert 'id="rerate_version"' in content
    assert re.search(rf'name="version" value="{fresh(referral).version}" id="rerate_version"', content)
    assert fresh(referral).urgency == "urgent"


# --- forward, accept, return ---------------------------------------------------------------------------


def test_forward_asks_to_confirm_then_forwards(caseworker, personas, referral):
    velbert = office_of("JA-VEL")
    data = {"to_office": velbert.pk, "reason": "Familie wohnt seit Mai in Velbert"}
    response = act(caseworker, "forward", referral, **data)
    assert response.status_code == 200
    assert response.templates[0].name == "referrals/confirm_forward.html"
    text = text_of(response)
    assert "Jugendamt Velbert" in text and 'name="confirm" value="1"' in text
    assert "Familie wohnt seit Mai in Velbert" in text
    assert fresh(referral).status == Status.SUBMITTED  # nothing yet

    response = act(caseworker, "forward", referral, confirm="1", **data)
    assert response.status_code == 302
    after = fresh(referral)
    assert (after.status, after.forwarded_to) == (Status.FORWARDED, velbert)

    # The sender reads it, read-only, with the banner.
    page = caseworker.get(url("detail", referral))
    text = text_of(page)
    assert page.context["role"] == "sender"
    assert german("Forwarded to %(office)s, waiting for acceptance.") % {"office": "Jugendamt Velbert"} in text
    assert f'action="{url("acknowledge", referral)}"' not in text
    assert f'action="{url("notes", referral)}"' not in text
    assert act(caseworker, "notes", referral, text="noch etwas").status_code == 403
    assert act(caseworker, "rerate", referral, urgency="routine", reason="x").status_code == 403


def test_forward_without_reason_or_to_own_office_is_refused(caseworker, referral):
    response = act(caseworker, "forward", referral, to_office=office_of("JA-VEL").pk, reason="")
    assert response.status_code == 200
    assert 'id="forward_reason_error"' in response.content.decode()
    response = act(caseworker, "forward", referral, to_office=office_of("JA-HIL").pk, reason="x", confirm="1")
    assert response.status_code == 200
    assert 'id="forward_to_office_error"' in response.content.decode()
    assert fresh(referral).status == Status.SUBMITTED


def test_forward_conflict_after_confirmation_page(caseworker, personas, referral):
    velbert = office_of("JA-VEL")
    confirm_page = act(caseworker, "forward", referral, to_office=velbert.pk, reason="Umzug")
    stale = confirm_page.context["form"].cleaned_data["version"]
    acknowledged(referral, personas)  # a colleague acts in between
    response = act(caseworker, "forward", referral, version=stale, to_office=velbert.pk, reason="Umzug", confirm="1")
    assert response.status_code == 409
    assert fresh(referral).status == Status.ACKNOWLEDGED
    # The form comes back with the typed reason, without the confirmation (it must be confirmed again).
    assert 'name="confirm" value="1"' not in response.content.decode()
    assert "Umzug" in text_of(response)


def test_receiving_office_accepts_and_the_sender_loses_access(client, personas, referral):
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="Umzug")
    client.force_login(personas.caseworker_velbert)
    page = client.get(url("detail", referral))
    text = text_of(page)
    assert page.context["role"] == "receiving"
    assert "Umzug" in text  # the reason given
    assert f'action="{url("accept", referral)}"' in text and f'action="{url("return", referral)}"' in text
    assert f'action="{url("acknowledge", referral)}"' not in text

    response = act(client, "accept", referral)
    assert response.status_code == 302
    after = fresh(referral)
    assert after.youth_office.code == "JA-VEL" and after.status == Status.ACKNOWLEDGED

    client.force_login(personas.caseworker_hilden)
    assert client.get(url("detail", referral)).status_code == 404
    assert act(client, "acknowledge", referral).status_code == 404


def test_accept_only_by_the_receiving_office(client, personas, referral):
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    client.force_login(personas.caseworker_hilden)
    assert act(client, "accept", referral).status_code == 403
    client.force_login(personas.police_hilden)
    assert act(client, "accept", referral).status_code == 403
    client.force_login(personas.caseworker_velbert)
    assert act(client, "acknowledge", referral).status_code == 403
    assert fresh(referral).status == Status.FORWARDED


def test_return_with_reason(client, personas, referral):
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    client.force_login(personas.caseworker_velbert)
    response = act(client, "return", referral, reason="")
    assert response.status_code == 200
    assert 'id="return_reason_error"' in response.content.decode()
    assert fresh(referral).status == Status.FORWARDED

    response = act(client, "return", referral, reason="Adresse liegt in Hilden")
    assert response.status_code == 302
    assert response["Location"] == reverse("referrals:inbox")  # the case is no longer visible here
    after = fresh(referral)
    assert (after.status, after.forwarded_to, after.youth_office.code) == (Status.SUBMITTED, None, "JA-HIL")
    assert client.get(url("detail", referral)).status_code == 404


# --- risk assessment, four eyes, close, reopen --------------------------------------------------------------


def assessment_data(referral, **overrides):
    """The assessment form as posted: the shared parts and one part per child (issue 13 §2)."""
    from django.contrib.auth import get_user_model

    people = get_user_model().objects.filter(username__in=["caseworker_hilden", "lead_hilden"])
    data = {
        "summary": SUMMARY,
        "measures": ["offer_of_help", "safety_plan"],
        "home_visit_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "child_seen": "on",
        "impressions": ["home_visit"],
        "professionals": sorted(p.pk for p in people),
    }
    for child in referral.children.all():
        part = {
            "result": "latent_risk", "kinds": ["neglect"], "danger_from": ["father"], "residence": "both_parents",
            "foreign_origin": "no", "german_spoken": "yes", "help_before": ["none"], "help_new": ["s31"],
        }  # fmt: skip
        data.update({f"child-{child.pk}-{key}": value for key, value in part.items()})
    data.update(overrides)
    return data


def test_assessment_is_recorded(caseworker, personas, referral):
    acknowledged(referral, personas)
    text = text_of(caseworker.get(url("detail", referral)))
    assert f'action="{url("assessment", referral)}"' in text
    response = act(caseworker, "assessment", referral, **assessment_data(referral))
    assert response.status_code == 302
    saved = Assessment.objects.get(referral=referral)
    assert (saved.outcome, saved.measures, saved.child_seen) == ("latent_risk", ["offer_of_help", "safety_plan"], True)
    assert list(saved.child_parts.values_list("result", flat=True)) == ["latent_risk"]  # one child, its part
    assert fresh(referral).status == Status.IN_ASSESSMENT
    # The author cannot sign it off; the page says it waits for a second professional.
    text = text_of(caseworker.get(url("detail", referral)))
    assert f'action="{url("sign_off", referral)}"' not in text
    assert SUMMARY in text


def test_assessment_is_not_possible_before_acknowledgement(caseworker, referral):
    response = act(caseworker, "assessment", referral, **assessment_data(referral))
    assert response.status_code == 200
    expected = german("Not possible while the referral’s status is “%(status)s”.") % {"status": german("Submitted")}
    assert expected in messages_of(response)
    assert not Assessment.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"professionals": []}, "professionals"),
        ({"summary": ""}, "summary"),
        ({"measures": []}, "measures"),
        ({"measures": ["none", "safety_plan"]}, "measures"),
        ({"home_visit_on": "2999-01-01"}, "home_visit_on"),
    ],
    ids=["no-professionals", "no-summary", "no-measure", "none-with-others", "visit-in-future"],
)
def test_assessment_errors_keep_what_was_typed(caseworker, personas, referral, overrides, field):
    acknowledged(referral, personas)
    data = assessment_data(referral, **overrides)
    response = act(caseworker, "assessment", referral, **data)
    content = response.content.decode()
    assert response.status_code == 200
    assert f'id="assessment_{field}_error"' in content
    if data["summary"]:
        assert SUMMARY in text_of(response)
    child = referral.children.get()
    assert re.search(rf'name="child-{child.pk}-result" value="latent_risk"[^>]*checked', content)
    for measure in data["measures"]:
        assert re.search(rf'name="measures" value="{measure}"[^>]*checked', content)
    assert re.search(r'name="child_seen"[^>]*checked', content)
    assert not Assessment.objects.exists()


def test_assessment_conflict_keeps_the_typed_text(caseworker, personas, referral):
    acknowledged(referral, personas)
    stale = fresh(referral).version
    referral_rerate(referral=referral, user=personas.lead_hilden, urgency="immediate", reason="x")
    response = act(caseworker, "assessment", referral, version=stale, **assessment_data(referral))
    assert response.status_code == 409
    assert german(CONFLICT) in messages_of(response)
    assert SUMMARY in text_of(response)
    child = referral.children.get()
    assert re.search(rf'name="child-{child.pk}-result" value="latent_risk"[^>]*checked', response.content.decode())
    assert re.search(rf'name="version" value="{fresh(referral).version}" id="assessment_version"', text_of(response))
    assert not Assessment.objects.exists()


def test_second_professional_signs_off_and_the_case_is_closed(client, personas, referral):
    assessed(referral, personas)
    client.force_login(personas.lead_hilden)
    text = text_of(client.get(url("detail", referral)))
    assert f'action="{url("sign_off", referral)}"' in text
    assert f'action="{url("close", referral)}"' not in text

    assert act(client, "sign_off", referral).status_code == 302
    assessment = Assessment.objects.get(referral=referral)
    assert assessment.signed_off_by == personas.lead_hilden

    text = text_of(client.get(url("detail", referral)))
    assert f'action="{url("close", referral)}"' in text
    confirm = act(client, "close", referral)
    assert confirm.status_code == 200
    assert confirm.templates[0].name == "referrals/confirm_close.html"
    Task.objects.filter(referral=referral).update(done_at=timezone.now())  # the suggested home visit, say
    assert "data-open-tasks" not in text_of(act(client, "close", referral))
    for hours in (-1, 48):  # an overdue task and a later one stay open: the confirmation says so (QA)
        Task.objects.create(referral=referral, office=referral.youth_office, title="Anruf", kind="other",
                            due_at=timezone.now() + datetime.timedelta(hours=hours))  # fmt: skip
    confirm = text_of(act(client, "close", referral))
    assert 'data-open-tasks="2"' in confirm and "2 Aufgaben des Falls sind noch offen (1 überfällig)" in confirm
    assert fresh(referral).status == Status.IN_ASSESSMENT
    response = act(client, "close", referral, confirm="1")
    assert response.status_code == 302
    assert fresh(referral).status == Status.CLOSED


def test_author_cannot_sign_own_assessment(caseworker, personas, referral):
    assessed(referral, personas)
    response = act(caseworker, "sign_off", referral)
    assert response.status_code == 403
    assert Assessment.objects.get(referral=referral).signed_off_at is None


def test_close_needs_a_signed_off_assessment(caseworker, personas, referral):
    assessed(referral, personas)
    response = act(caseworker, "close", referral, confirm="1")
    assert response.status_code == 200
    assert german("Close only after a signed-off risk assessment.") in messages_of(response)
    assert fresh(referral).status == Status.IN_ASSESSMENT


def test_only_the_lead_reopens_with_a_reason(client, personas, referral):
    signed(referral, personas)
    referral_close(referral=referral, user=personas.caseworker_hilden)
    client.force_login(personas.caseworker_hilden)
    assert f'action="{url("reopen", referral)}"' not in text_of(client.get(url("detail", referral)))
    assert act(client, "reopen", referral, reason="Neue Mitteilung").status_code == 403

    client.force_login(personas.lead_hilden)
    response = act(client, "reopen", referral, reason="")
    assert response.status_code == 200
    assert 'id="reopen_reason_error"' in response.content.decode()
    assert fresh(referral).status == Status.CLOSED
    assert act(client, "reopen", referral, reason="Neue Mitteilung").status_code == 302
    assert fresh(referral).status == Status.IN_ASSESSMENT
    # A new assessment is needed before closing again: the form is offered, closing is not.
    text = text_of(client.get(url("detail", referral)))
    assert f'action="{url("assessment", referral)}"' in text
    assert f'action="{url("close", referral)}"' not in text


# --- notes and attachments ----------------------------------------------------------------------------------


def test_notes_with_the_confidential_flag(caseworker, personas, referral):
    assert act(caseworker, "notes", referral, text="Rückruf der Kita vereinbart").status_code == 302
    assert act(caseworker, "notes", referral, text="Mutter berichtet vertraulich", confidential="on").status_code == 302
    notes = list(Note.objects.filter(referral=referral).order_by("id"))
    assert [n.confidential for n in notes] == [False, True]
    text = text_of(caseworker.get(url("detail", referral)))
    assert "Rückruf der Kita vereinbart" in text and "Mutter berichtet vertraulich" in text
    assert text.count('class="entry entry--confidential"') == 1

    # During a hand-over the receiving office reads the notes, but never the confided one.
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    caseworker.force_login(personas.caseworker_velbert)
    text = text_of(caseworker.get(url("detail", referral)))
    assert "Rückruf der Kita vereinbart" in text
    assert "Mutter berichtet vertraulich" not in text


def test_empty_note_is_an_error(caseworker, referral):
    response = caseworker.post(url("notes", referral), {"text": "   "})
    assert response.status_code == 200
    assert 'id="note_text_error"' in response.content.decode()
    assert not Note.objects.exists()


def test_attachment_upload_and_download(caseworker, referral):
    upload = SimpleUploadedFile("Bericht Kita.png", PNG, content_type="image/png")
    response = caseworker.post(url("attachments", referral), {"file": upload, "confidential": "on"})
    assert response.status_code == 302
    attachment = referral.attachments.get()
    assert (attachment.content_type, attachment.confidential) == ("image/png", True)
    text = text_of(caseworker.get(url("detail", referral)))
    link = url("attachment", referral, attachment.pk)
    assert f'href="{link}"' in text and "Bericht Kita.png" in text

    download = caseworker.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == PNG
    assert download["Content-Type"] == "image/png"
    assert download["Content-Disposition"].startswith("attachment;")


def test_attachment_of_the_wrong_type_is_refused(caseworker, referral):
    upload = SimpleUploadedFile("bericht.png", b"MZ not an image at all", content_type="image/png")
    response = caseworker.post(url("attachments", referral), {"file": upload})
    assert response.status_code == 200
    assert 'id="attachment_file_error"' in response.content.decode()
    assert german("Only PDF, PNG and JPEG files can be attached.") in text_of(response)
    assert not referral.attachments.exists()


def test_attachment_download_outside_is_404(client, personas, referral):
    attachment = attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("a.pdf", PDF, content_type="application/pdf"),
    )
    other = make_referral(personas.police_hilden)
    link = url("attachment", referral, attachment.pk)
    for persona in ("caseworker_velbert", "lead_velbert", "police_hilden", "police_velbert", "district_coordinator"):
        client.force_login(getattr(personas, persona))
        assert client.get(link).status_code == 404, persona
    client.force_login(personas.caseworker_hilden)
    assert client.get(url("attachment", other, attachment.pk)).status_code == 404  # wrong referral in the URL
    assert client.get(link).status_code == 200


def test_confided_attachment_is_not_downloadable_by_the_receiving_office(client, personas, referral):
    confided = attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("c.pdf", PDF, content_type="application/pdf"),
        confidential=True,
    )
    plain = attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("p.pdf", PDF, content_type="application/pdf"),
    )
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    client.force_login(personas.caseworker_velbert)
    assert client.get(url("attachment", referral, confided.pk)).status_code == 404
    assert client.get(url("attachment", referral, plain.pk)).status_code == 200


# --- police: coded feedback and follow-ups ----------------------------------------------------------------------


def test_police_list_says_what_the_police_page_says(client, personas):
    """The station list showed the office's internal status ("In Prüfung") where the referral's page
    gives the coded feedback ("In Bearbeitung"): both say the coded words now (docs/domain.md)."""
    received, in_assessment = make_referral(personas.police_hilden), make_referral(personas.police_hilden)
    acknowledged(received, personas)
    assessed(in_assessment, personas)
    client.force_login(personas.police_hilden)
    listed = client.get(reverse("referrals:list"))
    rows = {r.pk: r for r in listed.context["page"].items}
    for referral, words in ((received, "Receipt acknowledged"), (in_assessment, "In progress")):
        detail = client.get(url("detail", referral))
        assert rows[referral.pk].police_status_label == german(words) == feedback_label(detail.context["feedback"])
        badge = re.search(r'class="summary-line"><span class="status[^"]*"[^>]*>([^<]*)<', detail.content.decode())
        assert badge and badge.group(1) == german(words), "the page's badge says what its feedback says (QA)"
        assert german("In assessment") not in text_of(detail)
    text = text_of(listed)
    assert german("In assessment") not in text and german("In progress") in text
    moving = make_referral(personas.police_hilden)
    referral_forward(referral=moving, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    row = {r.pk: r for r in client.get(reverse("referrals:list")).context["page"].items}[moving.pk]
    assert row.police_status_label == german("Being handed over")
    assert german("Being handed over") in text_of(client.get(url("detail", moving)))


def test_police_page_shows_the_coded_feedback_only(client, personas, referral):
    note_add(referral=referral, user=personas.caseworker_hilden, text="Interne Notiz zum Fall")
    attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("geheim.pdf", PDF, content_type="application/pdf"),
    )
    signed(referral, personas)
    client.force_login(personas.police_hilden)
    response = client.get(url("detail", referral))
    text = text_of(response)
    assert response.status_code == 200
    assert response.templates[0].name == "referrals/detail.html"
    assert response.context["feedback"]["code"] == "in_progress"
    assert 'data-feedback="in_progress"' in text
    assert german("In progress") in text
    assert "Jugendamt Hilden" in text and "caseworker_hilden" not in text  # office as contact, never a user name
    assert "Mia" in text  # the referral as filed
    for secret in ("Interne Notiz zum Fall", "geheim.pdf", SUMMARY, german("Internal notes")):
        assert secret not in text, secret
    assert 'id="timeline-title"' not in text  # no case history for police
    assert german(str(ReferralEvent.Kind.SIGNED_OFF.label)) not in text

    referral_close(referral=referral, user=personas.caseworker_hilden)
    text = text_of(client.get(url("detail", referral)))
    assert 'data-feedback="closed"' in text
    assert german("Closed") in text


@pytest.mark.parametrize(
    ("step", "code", "label"),
    [
        (None, "submitted", "Submitted"),
        ("acknowledge", "received", "Receipt acknowledged"),  # as the status in the police list says
        ("forward", "forwarded", "Being handed over to %(office)s"),  # not yet taken over (QA)
    ],
)
def test_police_feedback_labels(client, personas, referral, step, code, label):
    if step == "acknowledge":
        acknowledged(referral, personas)
    elif step == "forward":
        referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    client.force_login(personas.police_hilden)
    text = text_of(client.get(url("detail", referral)))
    assert f'data-feedback="{code}"' in text
    assert german(label) % {"office": "Jugendamt Velbert"} in text
    assert "Umzug" not in text


def test_triage_feedback_is_being_clarified(client, personas):
    triaged = make_referral(personas.police_hilden, postcode="40721", city="Düsseldorf")
    client.force_login(personas.police_hilden)
    text = text_of(client.get(url("detail", triaged)))
    assert 'data-feedback="triage"' in text and german("Being clarified") in text


def test_police_adds_a_follow_up(client, personas, referral):
    client.force_login(personas.police_hilden2)  # same station, not the filing officer
    incident = (timezone.localtime() - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url("followups", referral), {"text": "Erneuter Einsatz, Vater zurückgekehrt", "incident_at": incident}
    )
    assert response.status_code == 302
    followup = referral.followups.get()
    assert followup.incident_at is not None
    assert "Erneuter Einsatz" in text_of(client.get(url("detail", referral)))

    client.force_login(personas.caseworker_hilden)
    text = text_of(client.get(url("detail", referral)))
    assert "Erneuter Einsatz, Vater zurückgekehrt" in text
    assert german(str(ReferralEvent.Kind.FOLLOWUP.label)) in text


def test_follow_up_refusals(client, personas, referral):
    client.force_login(personas.police_hilden)
    response = client.post(url("followups", referral), {"text": "  "})
    assert response.status_code == 200
    assert 'id="followup_text_error"' in response.content.decode()
    response = client.post(url("followups", referral), {"text": "x", "incident_at": "2999-01-01T10:00"})
    assert response.status_code == 200
    assert 'id="followup_incident_at_error"' in response.content.decode()
    client.force_login(personas.caseworker_hilden)
    assert client.post(url("followups", referral), {"text": "x"}).status_code == 403
    client.force_login(personas.police_velbert)
    assert client.post(url("followups", referral), {"text": "x"}).status_code == 404
    assert not referral.followups.exists()


# --- repeat referrals --------------------------------------------------------------------------------------------


def test_repeat_hints_link_only_to_own_referrals(caseworker, personas):
    child = [{"first_name": "Lea", "last_name": "Muster", "date_of_birth": "2018-03-01"}]
    in_velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert", children=child)
    in_hilden = make_referral(personas.police_hilden, children=child)
    latest = make_referral(personas.police_hilden, children=child)
    text = text_of(caseworker.get(url("detail", latest)))
    today = timezone.localdate()
    with translation.override("de"):
        from django.utils.formats import date_format

        day = date_format(today, "DATE_FORMAT")
    hint_hilden = german("Earlier referral on %(date)s at %(office)s") % {"date": day, "office": "Jugendamt Hilden"}
    hint_velbert = german("Earlier referral on %(date)s at %(office)s") % {"date": day, "office": "Jugendamt Velbert"}
    assert f'<a href="{url("detail", in_hilden)}">{hint_hilden}</a>' in text
    assert hint_velbert in text
    assert url("detail", in_velbert) not in text
    assert in_velbert.reference not in text


# --- inbox: search, filters, tabs, counts, sorting ----------------------------------------------------------------


def inbox(client, **params):
    response = client.get(reverse("referrals:inbox"), params)
    assert response.status_code == 200
    return response


def listed(response) -> list[int]:
    return [r.pk for r in response.context["page"].items]


def counts(response) -> dict[str, int]:
    return {tab.key: tab.count for tab in response.context["tabs"]}


def test_search_by_reference_case_number_and_child_name(caseworker, personas):
    mia = make_referral(personas.police_hilden)
    ben = make_referral(
        personas.police_hilden,
        police_case_number="ME-2026-777777",
        children=[{"first_name": "Ben", "last_name": "Kurz"}],
    )
    assert listed(inbox(caseworker, q=ben.reference)) == [ben.pk]
    assert listed(inbox(caseworker, q="777777")) == [ben.pk]
    assert listed(inbox(caseworker, q="kurz")) == [ben.pk]
    assert listed(inbox(caseworker, q="Mia Beispiel")) == [mia.pk]
    assert listed(inbox(caseworker, q="Mia Kurz")) == []


def test_search_never_finds_another_offices_referral(caseworker, personas):
    secret = make_referral(
        personas.police_velbert,
        postcode="42551",
        city="Velbert",
        children=[{"first_name": "Zoe", "last_name": "Geheim"}],
    )
    response = inbox(caseworker, q="Geheim", tab="all")
    assert listed(response) == []
    assert counts(response)["all"] == 0
    assert secret.reference not in response.content.decode()
    assert listed(inbox(caseworker, q=secret.reference, tab="all")) == []


def test_tabs_filters_and_counts(caseworker, personas):
    mine = make_referral(personas.police_hilden, urgency="immediate")
    referral_assign(referral=mine, user=personas.caseworker_hilden, assignee=personas.caseworker_hilden)
    other = make_referral(personas.police_hilden, urgency="routine", concerns=["neglect"])
    referral_assign(referral=other, user=personas.lead_hilden, assignee=personas.lead_hilden)
    late = make_referral(personas.police_hilden)
    Referral.objects.filter(pk=late.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    done = make_referral(personas.police_hilden)
    signed(done, personas)
    referral_close(referral=done, user=personas.caseworker_hilden)
    make_referral(personas.police_velbert, postcode="42551", city="Velbert")  # another office's

    response = inbox(caseworker)
    assert counts(response) == {
        "open": 3, "mine": 1, "unassigned": 1, "overdue": 1, "closed": 1, "all": 4,
        "screening": 2, "assessment": 0,  # the two assigned ones are acknowledged: screening next (issue 13)
    }  # fmt: skip
    assert listed(inbox(caseworker, tab="screening")) == [mine.pk, other.pk]
    assert sorted(listed(response)) == sorted([mine.pk, other.pk, late.pk])
    assert listed(inbox(caseworker, tab="mine")) == [mine.pk]
    assert listed(inbox(caseworker, tab="unassigned")) == [late.pk]
    assert listed(inbox(caseworker, tab="overdue")) == [late.pk]
    assert listed(inbox(caseworker, tab="closed")) == [done.pk]
    assert listed(inbox(caseworker, urgency="routine")) == [other.pk]
    assert listed(inbox(caseworker, concern="neglect")) == [other.pk]
    assert listed(inbox(caseworker, status="closed", tab="all")) == [done.pk]
    # Counts follow the search and filters.
    assert counts(inbox(caseworker, urgency="immediate"))["open"] == 1
    # The overdue row says so.
    assert 'class="clock clock--overdue"' in inbox(caseworker, tab="overdue").content.decode()


def test_received_date_range(caseworker, personas):
    old = make_referral(personas.police_hilden)
    new = make_referral(personas.police_hilden)
    Referral.objects.filter(pk=old.pk).update(received_at=timezone.now() - datetime.timedelta(days=10))
    Referral.objects.filter(pk=new.pk).update(received_at=timezone.now())
    today = timezone.localdate()
    assert listed(inbox(caseworker, received_from=(today - datetime.timedelta(days=2)).isoformat())) == [new.pk]
    until = (today - datetime.timedelta(days=5)).isoformat()
    assert listed(inbox(caseworker, received_to=until)) == [old.pk]
    response = inbox(caseworker, received_from=today.isoformat(), received_to=until)
    assert "filter_received_to_error" in response.content.decode()


def test_invalid_filter_values_are_ignored(caseworker, personas):
    referral = make_referral(personas.police_hilden)
    response = inbox(caseworker, tab="nonsense", status="bogus", sort="drop table", received_from="yesterday")
    assert listed(response) == [referral.pk]


@pytest.mark.parametrize("sort", ["urgency", "due", "newest", "oldest"])
def test_every_sort_pages_without_gaps_or_duplicates(caseworker, personas, sort):
    referrals = [
        make_referral(personas.police_hilden, urgency=("urgent", "routine", "immediate")[i % 3]) for i in range(30)
    ]
    for index, referral in enumerate(referrals):
        due = timezone.now() + datetime.timedelta(hours=index % 7) if index % 5 else None
        Referral.objects.filter(pk=referral.pk).update(due_at=due)
    first = inbox(caseworker, sort=sort)
    cursor = first.context["page"].next_cursor
    assert cursor
    assert f"cursor={cursor}" in first.content.decode() and f"sort={sort}" in html.unescape(first.content.decode())
    second = inbox(caseworker, sort=sort, cursor=cursor)
    seen = listed(first) + listed(second)
    assert len(seen) == len(set(seen)) == 30
    assert not second.context["page"].has_next


def test_sort_by_deadline_and_newest(caseworker, personas):
    soon, later, none = (make_referral(personas.police_hilden) for _ in range(3))
    now = timezone.now()
    Referral.objects.filter(pk=soon.pk).update(due_at=now + datetime.timedelta(hours=1), received_at=now)
    Referral.objects.filter(pk=later.pk).update(
        due_at=now + datetime.timedelta(days=1), received_at=now - datetime.timedelta(days=1)
    )
    Referral.objects.filter(pk=none.pk).update(due_at=None, received_at=now - datetime.timedelta(days=2))
    assert listed(inbox(caseworker, sort="due")) == [soon.pk, later.pk, none.pk]
    assert listed(inbox(caseworker, sort="newest")) == [soon.pk, later.pk, none.pk]
    assert listed(inbox(caseworker, sort="oldest")) == [none.pk, later.pk, soon.pk]


def _inbox_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        inbox(client, **params)
    return len(queries)


@pytest.mark.parametrize(
    "params", [{}, {"q": "Mia", "sort": "due", "tab": "all"}, {"concern": "neglect", "tab": "overdue"}]
)
def test_inbox_query_count_is_constant(caseworker, personas, params):
    first = make_referral(personas.police_hilden, concerns=["neglect"])
    referral_assign(referral=first, user=personas.lead_hilden, assignee=personas.caseworker_hilden)
    Referral.objects.update(due_at=timezone.now() - datetime.timedelta(hours=1), acknowledged_at=None)
    one = _inbox_queries(caseworker, **params)
    assert len(inbox(caseworker, **params).context["page"].items) == 1
    for index in range(29):
        referral = make_referral(personas.police_hilden, urgency="routine", concerns=["neglect"])
        if index % 2:
            referral_assign(referral=referral, user=personas.lead_hilden, assignee=personas.lead_hilden)
    Referral.objects.update(due_at=timezone.now() - datetime.timedelta(hours=1), acknowledged_at=None)
    thirty = _inbox_queries(caseworker, **params)
    assert len(inbox(caseworker, **params).context["page"].items) == 25
    assert one == thirty


def test_office_page_query_count_is_constant(caseworker, personas):
    # Different children: no repeat-referral hint on either page (it costs a query of its own).
    small = make_referral(personas.police_hilden, children=[{"first_name": "Ida", "last_name": "Klein"}])
    busy = make_referral(personas.police_hilden, children=[{"first_name": "Ole", "last_name": "Groß"}])
    for index in range(6):
        note_add(referral=busy, user=personas.caseworker_hilden, text=f"Notiz {index}")
        attachment_add(
            referral=busy,
            user=personas.caseworker_hilden,
            uploaded_file=SimpleUploadedFile(f"{index}.pdf", PDF, content_type="application/pdf"),
        )
    referral_assign(referral=busy, user=personas.lead_hilden, assignee=personas.caseworker_hilden)
    referral_assign(referral=small, user=personas.lead_hilden, assignee=personas.lead_hilden)
    counts_ = []
    for referral in (small, busy):
        with CaptureQueriesContext(connection) as queries:
            assert caseworker.get(url("detail", referral)).status_code == 200
        counts_.append(len(queries))
    assert counts_[0] == counts_[1]


# --- bulk assignment ---------------------------------------------------------------------------------------------


def bulk(client, referrals, assignee, *, versions=None):
    data = {"assignee": assignee.pk, "referral": [r.pk for r in referrals], "next": "/inbox/?tab=all"}
    for referral in referrals:
        data[f"version_{referral.pk}"] = (versions or {}).get(referral.pk, fresh(referral).version)
    return client.post(reverse("referrals:bulk_assign"), data)


def bulk_errors(response) -> list[str]:
    """A failed bulk assignment re-renders the inbox in place with the errors in the bulk form."""
    assert response.status_code == 200, response.status_code
    form = response.context["bulk_form"]
    return [str(e) for e in form.non_field_errors()] + [str(e) for e in form.errors.get("assignee", [])]


def test_bulk_assign_all(client, personas):
    referrals = [make_referral(personas.police_hilden) for _ in range(3)]
    client.force_login(personas.lead_hilden)
    response = bulk(client, referrals, personas.caseworker_hilden)
    assert response.status_code == 302
    assert response["Location"] == "/inbox/?tab=all"
    assert all(fresh(r).assignee == personas.caseworker_hilden for r in referrals)


def test_bulk_assign_is_all_or_nothing(client, personas):
    good = [make_referral(personas.police_hilden) for _ in range(2)]
    closed = make_referral(personas.police_hilden)
    signed(closed, personas)
    referral_close(referral=closed, user=personas.caseworker_hilden)
    client.force_login(personas.lead_hilden)
    response = bulk(client, [*good, closed], personas.caseworker_hilden)
    assert all(fresh(r).assignee is None for r in good)
    messages = bulk_errors(response)
    assert any(m.startswith(closed.reference) for m in messages)
    assert not any(m.startswith(good[0].reference) for m in messages)


def test_bulk_assign_reports_a_stale_row(client, personas):
    first, second = make_referral(personas.police_hilden), make_referral(personas.police_hilden)
    stale = {second.pk: second.version}
    acknowledged(second, personas)
    client.force_login(personas.lead_hilden)
    response = bulk(client, [first, second], personas.caseworker_hilden, versions=stale)
    assert fresh(first).assignee is None and fresh(second).assignee is None
    assert any(m.startswith(second.reference) for m in bulk_errors(response))


def test_bulk_assign_by_a_caseworker_is_only_for_themselves(client, personas):
    referrals = [make_referral(personas.police_hilden) for _ in range(2)]
    client.force_login(personas.caseworker_hilden)
    options = inbox(client).context["bulk_form"].fields["assignee"].queryset
    assert list(options) == [personas.caseworker_hilden]
    response = bulk(client, referrals, personas.lead_hilden)  # not an option for them
    assert all(fresh(r).assignee is None for r in referrals)
    assert bulk_errors(response)
    bulk(client, referrals, personas.caseworker_hilden)
    assert all(fresh(r).assignee == personas.caseworker_hilden for r in referrals)
    # Already assigned now: a caseworker cannot take them again for someone else, nor re-take them.
    other = make_referral(personas.police_hilden)
    referral_assign(referral=other, user=personas.lead_hilden, assignee=personas.lead_hilden)
    response = bulk(client, [other], personas.caseworker_hilden)
    assert fresh(other).assignee == personas.lead_hilden
    assert any(m.startswith(other.reference) for m in bulk_errors(response))


def test_bulk_assign_outside_scope_assigns_nothing(client, personas):
    own = make_referral(personas.police_hilden)
    foreign = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    client.force_login(personas.lead_hilden)
    response = bulk(client, [own, foreign], personas.caseworker_hilden)
    assert fresh(own).assignee is None and fresh(foreign).assignee is None
    assert foreign.reference not in " ".join(bulk_errors(response))
    client.force_login(personas.police_hilden)
    assert bulk(client, [own], personas.caseworker_hilden).status_code == 403


def test_bulk_assign_needs_a_selection_and_a_person(client, personas):
    referral = make_referral(personas.police_hilden)
    client.force_login(personas.lead_hilden)
    response = client.post(reverse("referrals:bulk_assign"), {"assignee": personas.caseworker_hilden.pk})
    assert bulk_errors(response)
    response = client.post(
        reverse("referrals:bulk_assign"), {"referral": [referral.pk], "next": "https://evil.example/"}
    )
    assert bulk_errors(response)
    assert response.context["inbox_next"] == reverse("referrals:inbox")  # never a foreign address
    assert fresh(referral).assignee is None


def test_inbox_of_the_receiving_office_shows_the_offer(client, personas, referral):
    referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="x")
    client.force_login(personas.caseworker_velbert)
    response = inbox(client)
    assert listed(response) == [referral.pk]
    assert german("offered by %(office)s") % {"office": "Jugendamt Hilden"} in text_of(response)
    client.force_login(personas.caseworker_hilden)
    response = inbox(client)
    assert german("to %(office)s") % {"office": "Jugendamt Velbert"} in text_of(response)


def test_export_page_action_downloads_and_hands_over(client, personas):
    import json

    from tests.factories import make_referral as _make

    referral = _make(personas.police_hilden)
    client.force_login(personas.caseworker_hilden)
    page = client.get(f"/referrals/{referral.pk}/")
    assert f"/referrals/{referral.pk}/export/" not in page.content.decode()  # leads only
    assert client.post(f"/referrals/{referral.pk}/export/", {"version": 1, "recipient": "X"}).status_code == 403
    assert Referral.objects.get(pk=referral.pk).status == "submitted"
    client.force_login(personas.lead_hilden)
    assert f"/referrals/{referral.pk}/export/" in client.get(f"/referrals/{referral.pk}/").content.decode()
    response = client.post(
        f"/referrals/{referral.pk}/export/",
        {"version": referral.version, "recipient": "Jugendamt Solingen", "confirm": "1"},  # confirmed (issue 15 § 3)
    )
    # The hand-over is recorded with its PDF and JSON; the confirmation page offers both (issue 15 § 3).
    assert response.status_code == 302 and "/handovers/" in response["Location"]
    document = json.loads(client.get(f"{response['Location']}json/").content)
    assert document["handover"]["recipient"] == "Jugendamt Solingen"
    assert Referral.objects.get(pk=referral.pk).status == "closed"
    client.force_login(personas.lead_velbert)
    assert client.post(f"/referrals/{referral.pk}/export/", {"version": 1, "recipient": "X"}).status_code == 404


def test_coordinator_exports_from_the_triage_summary(client, personas):
    from tests.factories import make_referral as _make

    referral = _make(personas.police_hilden, postcode="40213", city="Düsseldorf")
    client.force_login(personas.district_coordinator)
    assert f"/referrals/{referral.pk}/export/" in client.get(f"/referrals/{referral.pk}/").content.decode()
    data = {"version": referral.version, "recipient": "JA D", "confirm": "1"}
    response = client.post(f"/referrals/{referral.pk}/export/", data)
    assert response.status_code == 302 and client.get(response["Location"]).status_code == 200
    assert Referral.objects.get(pk=referral.pk).status == "closed"


def test_search_term_never_goes_into_the_url(caseworker, personas):
    mia = make_referral(personas.police_hilden)
    response = caseworker.post(reverse("referrals:inbox"), {"q": "Mia Beispiel", "tab": "all", "sort": "urgency"})
    assert response.status_code == 302 and "Mia" not in response["Location"] and "tab=all" in response["Location"]
    page = caseworker.get(response["Location"])
    assert listed(page) == [mia.pk] and page.context["form"]["q"].value() == "Mia Beispiel"
    assert 'method="post"' in page.content.decode()
    reset = caseworker.get(reverse("referrals:inbox"), {"tab": "all", "reset": "1"})
    assert reset.context["form"]["q"].value() in ("", None)


@pytest.mark.parametrize("name", ["accept", "return", "sign_off"])
def test_irreversible_actions_ask_to_confirm_and_change_nothing_before(client, personas, referral, name):
    """QA of 2026-12-05: taking over a case, returning it and the four-eyes sign-off happened on one
    click; now they ask first, like closing and forwarding."""
    if name == "sign_off":
        assessed(referral, personas)
        client.force_login(personas.lead_hilden)
    else:
        referral_forward(
            referral=referral, user=personas.caseworker_hilden, to_office=office_of("JA-VEL"), reason="Umzug"
        )
        client.force_login(personas.caseworker_velbert)
    before = fresh(referral)
    data = {"version": before.version, "reason": "Adresse liegt in Hilden"}
    page = client.post(url(name, referral), data)
    assert page.status_code == 200 and page.templates[0].name == "referrals/confirm_action.html"
    text = text_of(page)
    assert 'name="confirm" value="1"' in text and f'action="{url(name, referral)}"' in text
    assert fresh(referral).version == before.version  # nothing happened yet
    assert client.post(url(name, referral), data | {"confirm": "1"}).status_code == 302
    assert fresh(referral).version > before.version
