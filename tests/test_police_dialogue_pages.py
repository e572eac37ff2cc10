"""The pages of the dialogue with the police (issue 14 §3): the office asks on its case page, police
answer and attach files on theirs, the police list searches and shows a badge for open questions."""

import re

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from referrals.access import referral_access
from referrals.dialogue import police_attachment_add, question_answer, question_ask
from referrals.dialogue_models import Question
from referrals.models import AccessLogEntry, Attachment, Referral
from referrals.services import followup_add
from referrals.transitions import Action, transitions_offered
from tests.factories import make_referral

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
QUESTION = "Wer hat die Polizei gerufen?"


@pytest.fixture(autouse=True)
def private_files(tmp_path, monkeypatch):
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))
    return tmp_path


@pytest.fixture
def referral(personas):
    return make_referral(personas.police_hilden, postcode="40723", city="Hilden")


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def test_office_asks_on_its_page_and_police_answer_on_theirs(client, personas, referral):
    client.force_login(personas.caseworker_hilden)
    page = client.get(reverse("referrals:detail", args=[referral.pk]))
    assert "Rückfragen an die Polizei" in _text(page)
    assert f'action="/referrals/{referral.pk}/questions/"' in _text(page)
    response = client.post(reverse("referrals:questions", args=[referral.pk]), {"text": QUESTION})
    assert response.status_code == 302
    question = Question.objects.get()
    assert question.text == QUESTION

    client.force_login(personas.police_hilden2)
    page = _text(client.get(reverse("referrals:detail", args=[referral.pk])))
    assert QUESTION in page and "wartet auf Ihre Antwort" in page
    assert f'action="/questions/{question.pk}/answer/"' in page
    response = client.post(reverse("referrals:question_answer", args=[question.pk]), {"text": "Die Nachbarin."})
    assert response.status_code == 302

    client.force_login(personas.caseworker_hilden)
    page = _text(client.get(reverse("referrals:detail", args=[referral.pk])))
    assert "Die Nachbarin." in page and "Antwort der Polizei" in page  # the thread and its history entry
    assert "Rückfrage an die Polizei" in page


def test_a_refused_question_keeps_what_was_typed(client, personas, referral):
    client.force_login(personas.caseworker_hilden)
    typed = "Zu lang " + "x" * 4000
    response = client.post(reverse("referrals:questions", args=[referral.pk]), {"text": typed})
    assert response.status_code == 200
    assert typed in response.content.decode()
    assert "field--error" in response.content.decode()
    assert not Question.objects.exists()


def test_a_refused_answer_keeps_what_was_typed(client, personas, referral):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    client.force_login(personas.police_hilden)
    typed = "y" * 4001
    response = client.post(reverse("referrals:question_answer", args=[question.pk]), {"text": typed})
    assert response.status_code == 200 and typed in response.content.decode()
    assert Question.objects.get().is_open


def test_answered_question_has_no_form(client, personas, referral):
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    question_answer(question=question, user=personas.police_hilden, text="Antwort")
    client.force_login(personas.police_hilden)
    page = _text(client.get(reverse("referrals:detail", args=[referral.pk])))
    assert f"/questions/{question.pk}/answer/" not in page and "Antwort" in page
    response = client.post(reverse("referrals:question_answer", args=[question.pk]), {"text": "Nochmal"})
    assert response.status_code == 200  # the page again, saying why (no open question left)
    assert "keine offene Rückfrage" in _text(response) or "schon beantwortet" in _text(response)
    assert Question.objects.get().answer == "Antwort"


@pytest.mark.parametrize(
    "name",
    [
        "police_hilden", "police_hilden2", "police_velbert", "police_coordinator", "caseworker_hilden",
        "lead_hilden", "caseworker_velbert", "district_coordinator",
    ],
)  # fmt: skip
def test_answer_offered_equals_accepted_with_an_open_question(client, personas, referral, name):
    """The transition table (tests/test_transitions.py has no state with an open question)."""
    question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    user = getattr(personas, name)
    table = Action.ANSWER in transitions_offered(referral_access(user, Referral.objects.get(pk=referral.pk)))
    client.force_login(user)
    response = client.get(reverse("referrals:detail", args=[referral.pk]))
    offered = response.status_code == 200 and bool(response.context.get("answer_forms"))
    status = client.post(reverse("referrals:question_answer", args=[question.pk]), {"text": "Antwort"}).status_code
    accepted = status == 302
    assert offered == accepted == table == (name in ("police_hilden", "police_hilden2", "police_coordinator"))


def test_police_attach_a_pdf_on_the_page_to_a_follow_up(client, personas, referral):
    followup = followup_add(referral=referral, user=personas.police_hilden, text="Neuer Vorfall.")
    client.force_login(personas.police_hilden)
    page = _text(client.get(reverse("referrals:detail", args=[referral.pk])))
    assert "Dateien der Polizei" in page and "dem Nachtrag vom" in page
    upload = SimpleUploadedFile("Bericht.pdf", PDF, content_type="application/pdf")
    response = client.post(
        reverse("referrals:police_attachments", args=[referral.pk]), {"file": upload, "followup": followup.pk}
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.followup == followup and attachment.office.code == "PW-HIL"
    assert "Bericht.pdf" in _text(client.get(reverse("referrals:detail", args=[referral.pk])))

    client.force_login(personas.caseworker_hilden)
    page = _text(client.get(reverse("referrals:detail", args=[referral.pk])))
    assert "Bericht.pdf" in page and "Polizeiwache Hilden" in page


def test_a_refused_police_file_says_why(client, personas, referral):
    client.force_login(personas.police_hilden)
    upload = SimpleUploadedFile("Bericht.pdf", b"MZ not a pdf", content_type="application/pdf")
    response = client.post(reverse("referrals:police_attachments", args=[referral.pk]), {"file": upload})
    assert response.status_code == 200
    assert "Nur PDF-, PNG- und JPEG-Dateien" in _text(response) or "PDF" in _text(response)
    assert "field--error" in response.content.decode()
    assert not Attachment.objects.exists()


# --- the police list -----------------------------------------------------------------------------------


def _list(client, user):
    client.force_login(user)
    return client.get(reverse("referrals:list"))


def test_list_shows_case_number_status_and_a_badge(client, personas, referral):
    other = make_referral(personas.police_hilden, postcode="40723", city="Hilden", police_case_number="ME-2026-777")
    question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    response = _list(client, personas.police_hilden2)
    page = _text(response)
    assert "ME-2026-777" in page and "Vorgangsnummer" in page
    rows = {r.pk: r for r in response.context["page"].items}
    assert rows[referral.pk].open_questions == 1 and rows[other.pk].open_questions == 0
    assert page.count("data-open-question>") == 1
    assert 'data-open-questions="1"' in page
    assert _list(client, personas.police_velbert).context["open_questions"] == 0


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("Mueller", "Müller"),
        ("müller", "Mueller"),
        ("MÜLLER", "Müller"),
        ("Strauss", "Strauß"),
        ("ME-2026-4711", None),  # police case number
    ],
)
def test_list_search(client, personas, typed, stored):
    wanted = make_referral(
        personas.police_hilden,
        postcode="40723",
        city="Hilden",
        police_case_number="ME-2026-4711",
        children=[{"first_name": "Lea", "last_name": stored or "Schmitz", "date_of_birth": "2018-03-01"}],
    )
    make_referral(personas.police_hilden, postcode="40723", city="Hilden", police_case_number="ME-2026-1")
    client.force_login(personas.police_hilden)
    response = client.post(reverse("referrals:list"), {"q": typed})
    assert response.status_code == 302 and typed not in response["Location"]  # never in the URL
    found = [r.pk for r in client.get(reverse("referrals:list")).context["page"].items]
    assert found == [wanted.pk]
    logged = AccessLogEntry.objects.filter(action=AccessLogEntry.Action.SEARCH, referral_id=wanted.pk)
    assert logged.exists()
    assert len(client.get(reverse("referrals:list") + "?reset=1").context["page"].items) == 2


def test_list_search_by_reference_and_within_the_scope_only(client, personas, referral):
    velbert = make_referral(personas.police_velbert, postcode="42551", city="Velbert")
    client.force_login(personas.police_hilden)
    client.post(reverse("referrals:list"), {"q": referral.reference})
    assert [r.pk for r in client.get(reverse("referrals:list")).context["page"].items] == [referral.pk]
    client.post(reverse("referrals:list"), {"q": "Beispiel"})  # the Velbert child has the same name
    found = {r.pk for r in client.get(reverse("referrals:list")).context["page"].items}
    assert referral.pk in found and velbert.pk not in found


def test_list_query_count_does_not_grow(client, personas, django_assert_max_num_queries):
    for _ in range(2):
        make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    client.force_login(personas.police_hilden)
    client.get(reverse("referrals:list"))  # session, second factor
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("referrals:list"))
    for index in range(12):
        referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
        if index % 3 == 0:
            question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("referrals:list"))


def test_name_spellings():
    from referrals.police_list import name_spellings

    assert name_spellings("Müller") == ["müller", "mueller"]
    assert name_spellings("Mueller") == ["mueller", "müller"]
    assert name_spellings("Strauß") == ["strauss", "strauß"]
    assert name_spellings("ME-2026-4711") == ["me-2026-4711"]  # a case number: no name spellings
    assert name_spellings("Li") == []  # too short for the trigram indexes


def test_short_words_and_case_numbers_do_not_match_names(client, personas):
    meier = make_referral(
        personas.police_hilden, postcode="40723", city="Hilden", police_case_number="X-1",
        children=[{"first_name": "Lea", "last_name": "Meier", "date_of_birth": "2018-03-01"}],
    )  # fmt: skip
    other = make_referral(personas.police_hilden, postcode="40723", city="Hilden", police_case_number="MEI-77")
    client.force_login(personas.police_hilden)
    client.post(reverse("referrals:list"), {"q": "MEI-77"})  # not also "mei", the letters of a name
    assert [r.pk for r in client.get(reverse("referrals:list")).context["page"].items] == [other.pk]
    client.post(reverse("referrals:list"), {"q": "Me"})  # ignored: lists everything
    assert {r.pk for r in client.get(reverse("referrals:list")).context["page"].items} == {meier.pk, other.pk}


def test_the_pages_query_count_does_not_grow_with_the_thread(client, personas, referral, django_assert_max_num_queries):
    def ask_and_attach():
        question = question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
        question_answer(question=question, user=personas.police_hilden, text="Antwort")
        question_ask(referral=referral, user=personas.caseworker_hilden, text=QUESTION)
        upload = SimpleUploadedFile("Bericht.pdf", PDF, content_type="application/pdf")
        police_attachment_add(referral=referral, user=personas.police_hilden, uploaded_file=upload)

    ask_and_attach()
    counts = {}
    for name in ("police_hilden", "caseworker_hilden"):
        client.force_login(getattr(personas, name))
        client.get(reverse("referrals:detail", args=[referral.pk]))
        with django_assert_max_num_queries(60) as captured:
            client.get(reverse("referrals:detail", args=[referral.pk]))
        counts[name] = len(captured.captured_queries)
    for _ in range(4):
        ask_and_attach()
    for name in ("police_hilden", "caseworker_hilden"):
        client.force_login(getattr(personas, name))
        with django_assert_max_num_queries(counts[name]):
            client.get(reverse("referrals:detail", args=[referral.pk]))
