"""The dialogue with the police (issue 14 §3): the office's question (Rückfrage) and the station's
answer — round trip, notifications exactly once and without names, scoping, the history, and the
police notifications that say what changed (docs/domain.md "Rückfragen an die Polizei und Anhänge der
Polizei")."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agencies.models import Agency
from notifications.models import Channel, Notification
from referrals import services
from referrals.dialogue import (
    QUESTION_ANSWERED,
    QUESTION_ASKED,
    open_question_counts,
    question_answer,
    question_ask,
    station_open_questions,
)
from referrals.dialogue_models import Question
from referrals.models import Note, ReferralEvent
from tests.factories import make_referral

QUESTION = "Waren die Kinder beim Einsatz wach? Gibt es eine Anzeige?"
ANSWER = "Ja, beide Kinder waren wach. Anzeige ist erstattet."


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden, postcode="40723", city="Hilden")


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _new(kind):
    return Notification.objects.filter(kind=kind)


# --- services -------------------------------------------------------------------------------------


def test_round_trip_with_notifications_exactly_once(personas, referral):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=f"  {QUESTION} ")
    assert question.text == QUESTION and question.is_open
    assert question.office.code == "JA-HIL" and question.station.code == "PW-HIL"

    asked = _new("police_question")
    in_app = set(asked.filter(channel=Channel.IN_APP).values_list("recipient_user__username", flat=True))
    # every officer of the filing station once, nobody else (not Velbert, not the office)
    assert in_app == {"police_hilden", "police_hilden2"}
    assert asked.filter(channel=Channel.IN_APP).count() == 2
    station = Agency.objects.get(code="PW-HIL")
    emails = list(asked.filter(channel=Channel.EMAIL).values_list("recipient_email", flat=True))
    assert emails == ([station.email] if station.email else [])

    answered = question_answer(question=question, user=personas.police_hilden2, text=ANSWER)
    assert answered.answer == ANSWER and answered.answered_by == personas.police_hilden2
    assert not answered.is_open
    replies = _new("police_answer")
    assert list(replies.filter(channel=Channel.IN_APP).values_list("recipient_user__username", flat=True)) == [
        "caseworker_hilden"
    ]
    office = Agency.objects.get(code="JA-HIL")
    assert list(replies.filter(channel=Channel.EMAIL).values_list("recipient_email", flat=True)) == [office.email]

    # answering again is refused and tells nobody anything twice
    with pytest.raises(ValidationError):
        question_answer(question=question, user=personas.police_hilden, text="Nochmal")
    assert _new("police_answer").count() == replies.count() == 2
    assert _new("police_question").count() == asked.count()


def test_notifications_carry_no_names_and_no_text(personas, referral):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION + " Mia Beispiel")
    question_answer(question=question, user=personas.police_hilden, text=ANSWER + " Tom Beispiel")
    sent = Notification.objects.filter(kind__in=["police_question", "police_answer"])
    assert sent.count() >= 2
    for notification in sent:
        text = f"{notification.subject} {notification.body} {notification.link}"
        assert referral.reference in text
        for word in ("Beispiel", "Mia", "Tom", "Einsatz", "erstattet", "Mittelstraße"):
            assert word not in text, (word, text)
    assert "Rückfrage" in sent.filter(kind="police_question").first().subject
    assert "Jugendamt Hilden" in sent.filter(kind="police_question").first().subject


def test_the_thread_is_part_of_the_history(personas, referral):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    question_answer(question=question, user=personas.police_hilden, text=ANSWER)
    kinds = list(referral.events.values_list("kind", "data"))
    assert (QUESTION_ASKED, {"question": question.pk}) in kinds
    assert (QUESTION_ANSWERED, {"question": question.pk}) in kinds
    # the history holds ids, never the text
    assert QUESTION not in str(kinds) and ANSWER not in str(kinds)


@pytest.mark.parametrize("asker", ["police_hilden", "caseworker_velbert", "district_coordinator", "police_coordinator"])
def test_only_the_responsible_office_asks(personas, referral, asker):
    with pytest.raises(PermissionDenied):
        question_ask(referral=referral, user=getattr(personas, asker), text=QUESTION)
    assert not Question.objects.exists()


@pytest.mark.parametrize("answerer", ["caseworker_hilden", "lead_hilden", "police_velbert"])
def test_only_police_of_the_referral_answer(personas, referral, answerer):
    question = question_ask(referral=referral, user=personas.lead_hilden, text=QUESTION)
    with pytest.raises(PermissionDenied):
        question_answer(question=question, user=getattr(personas, answerer), text=ANSWER)
    assert Question.objects.get(pk=question.pk).is_open


def test_the_police_coordinator_of_the_authority_may_answer(personas, referral):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    assert question_answer(question=question, user=personas.police_coordinator, text=ANSWER).answered_at


def test_empty_or_too_long_texts_are_refused(personas, referral):
    for text in ("", "   ", "x" * 4001):
        with pytest.raises(ValidationError):
            question_ask(referral=referral, user=personas.caseworker_hilden, text=text)
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    with pytest.raises(ValidationError) as error:
        question_answer(question=question, user=personas.police_hilden, text=" ")
    assert "answer" in error.value.message_dict


def test_no_question_on_a_closed_or_forwarded_case(personas, referral):
    velbert = Agency.objects.get(code="JA-VEL")
    services.referral_forward(referral=referral, user=personas.caseworker_hilden, to_office=velbert, reason="Umzug")
    with pytest.raises(PermissionDenied):  # the sender is read-only during the hand-over
        question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    with pytest.raises(PermissionDenied):  # the receiving office has not taken it on yet
        question_ask(referral=referral, user=personas.caseworker_velbert, text=QUESTION)


def test_open_question_counts_read_one_query(personas, referral):
    other = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    done = question_ask(referral=other, user=personas.caseworker_hilden, text=QUESTION)
    question_answer(question=done, user=personas.police_hilden, text=ANSWER)
    with CaptureQueriesContext(connection) as queries:
        counts = open_question_counts([referral.pk, other.pk])
    assert counts == {referral.pk: 2} and len(queries) == 1
    assert station_open_questions(personas.police_hilden) == 2
    assert station_open_questions(personas.police_coordinator) == 2
    assert station_open_questions(personas.police_velbert) == 0
    assert station_open_questions(personas.caseworker_hilden) == 0


# --- what the police are told when the office acts --------------------------------------------------


def _police_subjects(referral):
    return list(
        Notification.objects.filter(kind="police_feedback", link__contains=f"/{referral.pk}/")
        .order_by("id")
        .values_list("subject", flat=True)
    )


def test_police_notifications_say_what_changed(personas, referral):
    p = personas
    services.referral_acknowledge(referral=referral, user=p.caseworker_hilden)
    services.referral_assign(referral=referral, user=p.lead_hilden, assignee=p.caseworker_hilden)
    velbert = Agency.objects.get(code="JA-VEL")
    services.referral_forward(referral=referral, user=p.caseworker_hilden, to_office=velbert, reason="Umzug")
    services.referral_accept(referral=referral, user=p.caseworker_velbert)
    ref = referral.reference
    assert _police_subjects(referral) == [
        f"Mitteilung {ref}: Eingang bestätigt von Jugendamt Hilden",
        f"Mitteilung {ref}: Ansprechperson benannt von Jugendamt Hilden",
        f"Mitteilung {ref}: an Jugendamt Velbert abgegeben",
        f"Mitteilung {ref}: übernommen von Jugendamt Velbert",
    ]
    for notification in Notification.objects.filter(kind="police_feedback"):
        assert "Status geändert" not in notification.subject
        assert "Beispiel" not in notification.subject + notification.body
        assert notification.recipient_user == p.police_hilden  # the filing officer, in the application


def test_police_notification_on_return_and_close(personas, referral):
    p = personas
    velbert = Agency.objects.get(code="JA-VEL")
    services.referral_forward(referral=referral, user=p.caseworker_hilden, to_office=velbert, reason="Umzug")
    services.referral_return(referral=referral, user=p.caseworker_velbert, reason="Nicht zuständig")
    assert _police_subjects(referral)[-1].endswith("Abgabe abgelehnt, wieder bei Jugendamt Hilden")


def test_the_office_notes_never_reach_police(personas, referral):
    """Police read the thread, never the office's notes (API: 404; page: no notes section)."""
    Note.objects.create(referral=referral, office=referral.youth_office, author=personas.caseworker_hilden, text="X")
    question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    api = _api(personas.police_hilden)
    assert api.get(f"/api/v1/referrals/{referral.pk}/notes/").status_code == 404
    thread = api.get(f"/api/v1/referrals/{referral.pk}/questions/").json()
    assert [q["text"] for q in thread] == [QUESTION]
    assert "note" not in str(thread).lower()


def test_event_kinds_are_not_choices():
    """The dialogue's history kinds are codes of their own (``referrals.dialogue.EVENT_LABELS``)."""
    assert QUESTION_ASKED not in ReferralEvent.Kind.values and QUESTION_ANSWERED not in ReferralEvent.Kind.values


# --- the API -----------------------------------------------------------------------------------------


def test_api_round_trip(personas, referral):
    office, police = _api(personas.caseworker_hilden), _api(personas.police_hilden)
    url = f"/api/v1/referrals/{referral.pk}/questions/"
    response = office.post(url, {"text": QUESTION}, format="json")
    assert response.status_code == 201, response.content
    question = response.json()
    assert question["text"] == QUESTION and question["answered_at"] is None
    assert question["office"]["name"] == "Jugendamt Hilden" and question["station"]["name"] == "Polizeiwache Hilden"

    assert [q["id"] for q in police.get(url).json()] == [question["id"]]
    response = police.post(f"/api/v1/questions/{question['id']}/answer/", {"text": ANSWER}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["answer"] == ANSWER and response.json()["answered_by"]["name"] == "police_hilden"
    thread = office.get(url).json()
    assert [(q["text"], q["answer"]) for q in thread] == [(QUESTION, ANSWER)]

    again = police.post(f"/api/v1/questions/{question['id']}/answer/", {"text": "Nochmal"}, format="json")
    assert again.status_code == 400
    assert Question.objects.get().answer == ANSWER


def test_api_refusals_and_bad_input(personas, referral):
    url = f"/api/v1/referrals/{referral.pk}/questions/"
    office = _api(personas.caseworker_hilden)
    for body in ({}, {"text": ""}, {"text": 42}, {"text": "x" * 4001}, {"text": ["a"]}):
        response = office.post(url, body, format="json")
        assert response.status_code == 400, body
        assert "text" in response.json()
    assert _api(personas.police_hilden).post(url, {"text": QUESTION}, format="json").status_code == 403
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    answer = f"/api/v1/questions/{question.pk}/answer/"
    assert office.post(answer, {"text": ANSWER}, format="json").status_code == 403
    assert _api(personas.police_hilden).post(answer, {}, format="json").status_code == 400
    assert _api(personas.police_hilden).post("/api/v1/questions/987654/answer/", {"text": "x"}).status_code == 404
    assert Question.objects.get().is_open


@pytest.mark.parametrize(
    "outsider", ["police_velbert", "caseworker_velbert", "lead_velbert", "district_coordinator", "no_role"]
)
def test_api_other_station_or_office_gets_404(personas, referral, outsider):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    api = _api(getattr(personas, outsider))
    url = f"/api/v1/referrals/{referral.pk}/questions/"
    assert api.get(url).status_code == 404
    assert api.post(url, {"text": QUESTION}, format="json").status_code == 404
    assert api.post(f"/api/v1/questions/{question.pk}/answer/", {"text": ANSWER}, format="json").status_code == 404
    assert Question.objects.get().is_open and Question.objects.count() == 1


def test_api_a_grant_reads_no_thread(personas, referral):
    from guardian.shortcuts import assign_perm

    assign_perm("referrals.view_referral", personas.caseworker_velbert, referral)
    question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    api = _api(personas.caseworker_velbert)
    assert api.get(f"/api/v1/referrals/{referral.pk}/").status_code == 200
    assert api.get(f"/api/v1/referrals/{referral.pk}/questions/").status_code == 404


def test_the_schema_describes_the_dialogue(client, personas):
    client.force_login(personas.caseworker_hilden)
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert set(paths["/api/v1/referrals/{id}/questions/"]) >= {"get", "post"}
    assert set(paths["/api/v1/questions/{id}/answer/"]) >= {"post"}
