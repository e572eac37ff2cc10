"""Sign-off requests (issue 14 §2): the author asks a named colleague or any colleague of the office;
the colleague is told once and finds it on "Meine Aufgaben"; they sign off or send it back with a
comment, of which the author is told once; the history shows request, return with comment, sign-off."""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from rest_framework.test import APIClient

from agencies.models import Agency, Membership, Role
from notifications.models import Notification
from referrals import followthrough
from referrals.models import Referral, ReferralEvent, SignOffRequest
from referrals.services import (
    assessment_save,
    assessment_sign_off,
    referral_accept,
    referral_acknowledge,
    referral_forward,
)
from tests.factories import make_referral


def _assess(referral, user, summary="Hausbesuch, Kind gesehen"):
    return assessment_save(
        referral=referral, user=user, summary=summary, outcome="support_need", measures=["offer_of_help"],
        home_visit_on=datetime.date(2026, 1, 5), child_seen=True,
    )  # fmt: skip


@pytest.fixture
def colleague(personas):
    """A second caseworker of Hilden (besides the author and the lead)."""
    user = get_user_model().objects.create_user(username="caseworker_hilden2", password="Test-Passwort-123")
    Membership.objects.create(user=user, agency=Agency.objects.get(code="JA-HIL"), role=Role.CASEWORKER)
    return user


@pytest.fixture
def pending(personas):
    """A Hilden case whose risk assessment by caseworker_hilden waits for a sign-off."""
    referral = make_referral(personas.police_hilden, police_measures=[])
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    _assess(referral, personas.caseworker_hilden)
    return Referral.objects.get(pk=referral.pk)


def _notes(kind, user=None):
    notes = Notification.objects.filter(kind=kind)
    return notes.filter(recipient_user=user) if user is not None else notes


def test_round_trip_named_colleague_send_back_then_any_colleague_and_sign_off(personas, pending, colleague):
    author, lead = personas.caseworker_hilden, personas.lead_hilden
    request = followthrough.signoff_request_create(referral=pending, user=author, to=lead)
    assert request.subject == "assessment" and request.requested_to == lead and request.is_open
    assert _notes("signoff_requested").count() == 1 and _notes("signoff_requested", lead).count() == 1
    message = _notes("signoff_requested").get()
    assert pending.reference in message.subject and "Beispiel" not in message.subject + message.body
    assert list(followthrough.signoff_requests_for(lead)) == [request]
    assert not followthrough.signoff_requests_for(colleague).exists()  # named: only the lead
    assert not followthrough.signoff_requests_for(author).exists()

    # Only the named colleague sends it back, and only with a comment.
    with pytest.raises(PermissionDenied):
        followthrough.signoff_return(referral=pending, user=colleague, comment="Bitte ergänzen")
    with pytest.raises(PermissionDenied):
        followthrough.signoff_return(referral=pending, user=author, comment="Bitte ergänzen")
    with pytest.raises(ValidationError) as error:
        followthrough.signoff_return(referral=pending, user=lead, comment="  ")
    assert "comment" in error.value.message_dict
    returned = followthrough.signoff_return(referral=pending, user=lead, comment="Schutzplan fehlt")
    assert returned.state == SignOffRequest.State.RETURNED and returned.resolved_by == lead
    assert _notes("signoff_returned").count() == 1 and _notes("signoff_returned", author).count() == 1
    assert "Schutzplan" not in _notes("signoff_returned").get().body  # the comment is read on the case page
    assert not followthrough.signoff_requests_for(lead).exists()

    # The author revises and asks any colleague: everyone of the office but the author is told.
    _assess(Referral.objects.get(pk=pending.pk), author, summary="Mit Schutzplan")
    again = followthrough.signoff_request_create(referral=Referral.objects.get(pk=pending.pk), user=author)
    assert again.requested_to is None
    told = set(_notes("signoff_requested").exclude(pk=message.pk).values_list("recipient_user", flat=True))
    assert told == {lead.pk, colleague.pk}
    assert list(followthrough.signoff_requests_for(colleague)) == [again]

    assessment_sign_off(referral=Referral.objects.get(pk=pending.pk), user=colleague)
    again.refresh_from_db()
    assert again.state == SignOffRequest.State.SIGNED_OFF and again.resolved_by == colleague
    assert _notes("signoff_done").count() == 1 and _notes("signoff_done", author).count() == 1
    assert not followthrough.signoff_requests_for(lead).exists()

    history = list(
        ReferralEvent.objects.filter(referral=pending, kind__startswith="sign").values_list("kind", "data__reason")
    )
    assert history == [
        ("signoff_requested", None),
        ("signoff_returned", "Schutzplan fehlt"),
        ("signoff_requested", None),
        ("signed_off", None),
    ]


def test_only_the_author_asks_and_only_a_colleague_of_the_office(personas, pending):
    for other in (personas.lead_hilden, personas.police_hilden, personas.caseworker_velbert):
        with pytest.raises(PermissionDenied):
            followthrough.signoff_request_create(referral=pending, user=other)
    for wrong in (personas.caseworker_hilden, personas.caseworker_velbert, personas.police_hilden):
        with pytest.raises(ValidationError) as error:
            followthrough.signoff_request_create(referral=pending, user=personas.caseworker_hilden, to=wrong)
        assert "to" in error.value.message_dict
    assert not SignOffRequest.objects.exists()


def test_nothing_to_sign_nothing_to_ask(personas):
    referral = make_referral(personas.police_hilden, police_measures=[])
    referral_acknowledge(referral=referral, user=personas.caseworker_hilden)
    with pytest.raises(ValidationError):
        followthrough.signoff_request_create(referral=referral, user=personas.caseworker_hilden)


def test_a_new_request_replaces_the_open_one(personas, pending, colleague):
    first = followthrough.signoff_request_create(referral=pending, user=personas.caseworker_hilden, to=colleague)
    second = followthrough.signoff_request_create(
        referral=Referral.objects.get(pk=pending.pk), user=personas.caseworker_hilden, to=personas.lead_hilden
    )
    first.refresh_from_db()
    assert first.state == SignOffRequest.State.REPLACED and second.is_open
    assert not followthrough.signoff_requests_for(colleague).exists()


def test_pages_round_trip_with_confirmation_messages_and_history(client, personas, pending):
    client.force_login(personas.caseworker_hilden)
    page = client.get(f"/referrals/{pending.pk}/")
    assert b'action="/referrals/%d/sign-off-request/"' % pending.pk in page.content
    response = client.post(
        f"/referrals/{pending.pk}/sign-off-request/", {"version": pending.version, "to": personas.lead_hilden.pk}
    )
    assert response.status_code == 302
    asked = client.get(f"/referrals/{pending.pk}/").content.decode()
    assert "Stattdessen jemand anderen bitten" in asked  # not the same form again as if nothing was asked
    client.force_login(personas.lead_hilden)
    mine = client.get("/tasks/")
    assert pending.reference.encode() in mine.content
    assert "Gegenzeichnungen, um die Sie gebeten werden" in mine.content.decode()
    version = Referral.objects.get(pk=pending.pk).version
    # Bad input keeps the page and says what is missing, no 500.
    again = client.post(f"/referrals/{pending.pk}/sign-off-return/", {"version": version, "comment": ""})
    assert again.status_code == 200 and SignOffRequest.objects.get().is_open
    response = client.post(
        f"/referrals/{pending.pk}/sign-off-return/", {"version": version, "comment": "Bitte Schutzplan ergänzen"}
    )
    assert response.status_code == 302
    client.force_login(personas.caseworker_hilden)
    page = client.get(f"/referrals/{pending.pk}/").content.decode()
    assert "Gegenzeichnung erbeten" in page and "Ohne Gegenzeichnung zurückgegeben" in page
    assert "Bitte Schutzplan ergänzen" in page
    assert "data-signoff-returned" in page and "Zurückgegeben von" in page  # in the sign-off panel too
    # A stale version is a conflict, not a second request.
    response = client.post(f"/referrals/{pending.pk}/sign-off-request/", {"version": 1, "to": ""})
    assert response.status_code == 409


def test_api_round_trip_and_scope(personas, pending):
    police, velbert = APIClient(), APIClient()
    police.force_authenticate(personas.police_hilden)
    velbert.force_authenticate(personas.caseworker_velbert)
    url = f"/api/v1/referrals/{pending.pk}/sign-off-request/"
    assert police.post(url, {"to": None}, format="json").status_code == 403
    assert velbert.post(url, {"to": None}, format="json").status_code == 404
    author = APIClient()
    author.force_authenticate(personas.caseworker_hilden)
    assert author.post(url, {"to": 987654}, format="json").status_code == 400
    response = author.post(url, {"to": personas.lead_hilden.pk}, format="json")
    assert response.status_code == 201 and response.json()["state"] == "open"
    lead = APIClient()
    lead.force_authenticate(personas.lead_hilden)
    back = f"/api/v1/referrals/{pending.pk}/sign-off-return/"
    assert lead.post(back, {}, format="json").status_code == 400
    assert author.post(back, {"comment": "x"}, format="json").status_code == 403
    response = lead.post(back, {"comment": "Bitte ergänzen"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "returned"
    assert response.json()["comment"] == "Bitte ergänzen"


def test_api_lists_the_sign_offs_asked_of_the_caller(personas, pending, colleague):
    """``GET /api/v1/sign-off-requests/``: what the tasks page lists under "Sign-offs asked of you" —
    open requests to the caller or to any colleague of their offices, never their own, oldest first."""

    def listed(user, query=""):
        client = APIClient()
        client.force_authenticate(user)
        response = client.get(f"/api/v1/sign-off-requests/{query}")
        assert response.status_code == 200, response.content[:300]
        return response.json()

    assert listed(personas.lead_hilden)["results"] == []
    followthrough.signoff_request_create(referral=pending, user=personas.caseworker_hilden, to=personas.lead_hilden)
    (row,) = listed(personas.lead_hilden)["results"]
    asked = SignOffRequest.objects.get(referral=pending, state="open")
    assert row == {
        "id": asked.pk,
        "referral": pending.pk,
        "reference": pending.reference,
        "subject": "assessment",
        "requested_by": {"id": personas.caseworker_hilden.pk, "name": "caseworker_hilden"},
        "requested_to": {"id": personas.lead_hilden.pk, "name": "lead_hilden"},
        "requested_at": row["requested_at"],
    }
    assert listed(colleague)["results"] == []  # asked of the lead by name
    assert listed(personas.caseworker_hilden)["results"] == []  # the author's own request
    for outsider in (personas.caseworker_velbert, personas.police_hilden, personas.district_coordinator):
        assert listed(outsider)["results"] == [], outsider.username

    followthrough.signoff_request_create(referral=pending, user=personas.caseworker_hilden, to=None)  # any colleague
    assert [r["reference"] for r in listed(colleague)["results"]] == [pending.reference]
    second = make_referral(personas.police_hilden, police_measures=[])
    referral_acknowledge(referral=second, user=personas.caseworker_hilden)
    _assess(second, personas.caseworker_hilden)
    followthrough.signoff_request_create(referral=second, user=personas.caseworker_hilden, to=None)
    first_page = listed(colleague, "?page_size=1")
    assert [r["referral"] for r in first_page["results"]] == [pending.pk]  # oldest first, a page at a time
    client = APIClient()
    client.force_authenticate(colleague)
    assert [r["referral"] for r in client.get(first_page["next"]).json()["results"]] == [second.pk]


def test_the_screening_decision_is_asked_for_and_signed_off_the_same_way(personas, colleague):
    from referrals.screening import screening_save, screening_sign_off

    author = personas.caseworker_hilden
    referral = make_referral(personas.police_hilden, police_measures=[])
    referral_acknowledge(referral=referral, user=author)
    screening = screening_save(
        referral=Referral.objects.get(pk=referral.pk), user=author, weighty_indications=False,
        reason="Keine gewichtigen Anhaltspunkte", next_step="information_only",
    )  # fmt: skip
    request = followthrough.signoff_request_create(referral=Referral.objects.get(pk=referral.pk), user=author)
    assert request.subject == "screening" and request.object_id == screening.pk
    assert set(_notes("signoff_requested").values_list("recipient_user", flat=True)) == {
        personas.lead_hilden.pk, colleague.pk,
    }  # fmt: skip
    assert "Ersteinschätzung" in _notes("signoff_requested").first().subject
    followthrough.signoff_return(referral=Referral.objects.get(pk=referral.pk), user=colleague, comment="Grund fehlt")
    assert _notes("signoff_returned", author).count() == 1
    followthrough.signoff_request_create(referral=Referral.objects.get(pk=referral.pk), user=author, to=colleague)
    screening_sign_off(referral=Referral.objects.get(pk=referral.pk), user=colleague)
    assert SignOffRequest.objects.get(state="signed_off").resolved_by == colleague
    assert _notes("signoff_done", author).count() == 1
    assert not followthrough.signoff_requests_for(colleague).exists()


def _open(referral):
    return list(SignOffRequest.objects.filter(referral=referral, state="open").values_list("requested_by", flat=True))


def test_a_request_ends_when_the_office_loses_the_case(personas, pending):
    """QA of 2026-12-05: after Velbert accepted the hand-over, Hilden's lead still listed the request
    for a case that answered them 404."""
    followthrough.signoff_request_create(referral=pending, user=personas.caseworker_hilden, to=None)
    assert followthrough.signoff_requests_for(personas.lead_hilden).exists()
    referral_forward(
        referral=Referral.objects.get(pk=pending.pk), user=personas.caseworker_hilden,
        to_office=Agency.objects.get(code="JA-VEL"), reason="Umzug",
    )  # fmt: skip
    assert followthrough.signoff_requests_for(personas.lead_hilden).exists()  # pending: it may come back
    referral_accept(referral=Referral.objects.get(pk=pending.pk), user=personas.caseworker_velbert)
    assert _open(pending) == []
    assert SignOffRequest.objects.get(referral=pending).state == "replaced"
    for user in (personas.lead_hilden, personas.lead_velbert, personas.caseworker_velbert):
        assert not followthrough.signoff_requests_for(user).exists(), user.username


def test_a_request_ends_when_what_it_asks_for_is_replaced(personas, pending, colleague):
    """The asked colleague revised the assessment (now their own: they may not sign it), or a new
    screening replaced the decision asked about: the request is withdrawn, no longer listed."""
    from referrals.screening import screening_save

    followthrough.signoff_request_create(referral=pending, user=personas.caseworker_hilden, to=personas.lead_hilden)
    _assess(Referral.objects.get(pk=pending.pk), personas.caseworker_hilden, summary="Ergänzt")  # the author: stays
    assert _open(pending) == [personas.caseworker_hilden.pk]
    _assess(Referral.objects.get(pk=pending.pk), personas.lead_hilden, summary="Von der Leitung überarbeitet")
    assert _open(pending) == [] and not followthrough.signoff_requests_for(personas.lead_hilden).exists()

    screened = make_referral(personas.police_hilden, police_measures=[])
    referral_acknowledge(referral=screened, user=personas.caseworker_hilden)
    screening_save(
        referral=Referral.objects.get(pk=screened.pk), user=personas.caseworker_hilden, weighty_indications=False,
        reason="Keine gewichtigen Anhaltspunkte", next_step="information_only",
    )  # fmt: skip
    followthrough.signoff_request_create(referral=Referral.objects.get(pk=screened.pk), user=personas.caseworker_hilden)
    assert followthrough.signoff_requests_for(colleague).exists()
    screening_save(
        referral=Referral.objects.get(pk=screened.pk), user=personas.caseworker_hilden, weighty_indications=True,
        reason="Doch gewichtige Anhaltspunkte",
    )  # fmt: skip
    assert _open(screened) == [] and not followthrough.signoff_requests_for(colleague).exists()
