"""Permission-matrix rows of the dialogue with the police (issue 14 §3), merged into
``tests.test_permissions.ENDPOINTS``: the questions (API and pages), the answer, the police upload page
— and the referral's attachments endpoint, which police reach now too (their own files only).

Every check sends input that is refused before anything changes (an empty body): it proves the scope
(404 outside, 403 inside for the wrong relation); tests/test_police_dialogue.py and
tests/test_police_attachments.py prove the rules."""

from rest_framework.test import APIClient

from referrals.dialogue_models import Question
from referrals.models import Attachment, Referral

POLICE = {"police_hilden", "police_hilden2", "police_velbert", "police_coordinator", "police_duesseldorf"}
OFFICE_OF = {
    "caseworker_hilden": "JA-HIL",
    "lead_hilden": "JA-HIL",
    "caseworker_velbert": "JA-VEL",
    "lead_velbert": "JA-VEL",
    "caseworker_duesseldorf": "JA-D",
}


def _visible(persona, key):
    from tests.test_permissions import VISIBLE

    return key in VISIBLE[persona]


def refuses_get(*args):
    from tests.test_permissions import refuses_get

    refuses_get(*args)


def _office_codes(referral) -> set[str]:
    return {o.code for o in (referral.youth_office, referral.forwarded_to) if o is not None}


def _in_dialogue(persona, key, referrals) -> bool:
    """The dialogue belongs to the referral's offices (responsible, receiving, sending) and police."""
    if not _visible(persona, key):
        return False
    return persona in POLICE or OFFICE_OF.get(persona) in _office_codes(referrals[key])


def _responsible(persona, key, referrals) -> bool:
    """The responsible office, not during a hand-over: who may ask."""
    referral = referrals[key]
    return (
        _visible(persona, key) and referral.status != "forwarded" and OFFICE_OF.get(persona) in _office_codes(referral)
    )


def _api(user):
    api = APIClient()
    api.force_authenticate(user)
    return api


def _web(user):
    from tests.test_permissions import _web

    return _web(user)


def _question_count():
    return Question.objects.count()


def check_api_questions(persona, user, referrals):
    api = _api(user)
    before = _question_count()
    for key, referral in referrals.items():
        inside = _in_dialogue(persona, key, referrals)
        url = f"/api/v1/referrals/{referral.pk}/questions/"
        status = api.get(url).status_code
        assert status == (200 if inside else 404), ("questions GET", persona, key, status)
        status = api.post(url, {}, format="json").status_code
        assert status == (400 if inside else 404), ("questions POST", persona, key, status)
    assert api.get("/api/v1/referrals/987654/questions/").status_code == 404
    assert _question_count() == before


def _question(referrals):
    from django.contrib.auth import get_user_model

    from referrals.dialogue import question_ask

    return question_ask(
        referral=referrals["submitted_hilden"],
        user=get_user_model().objects.get(username="caseworker_hilden"),
        text="Gab es eine Anzeige?",
    )


def check_api_answer(persona, user, referrals):
    """A question on the Hilden referral: police who see it get 400 for an empty answer, its office 403
    (the service's relation check comes after the input), everyone else 404."""
    question = _question(referrals)
    api = _api(user)
    status = api.post(f"/api/v1/questions/{question.pk}/answer/", {}, format="json").status_code
    inside = _in_dialogue(persona, "submitted_hilden", referrals)
    assert status == (400 if inside else 404), ("answer", persona, status)
    status = api.post(f"/api/v1/questions/{question.pk}/answer/", {"text": "Ja."}, format="json").status_code
    if inside:
        assert status == (200 if persona in POLICE else 403), ("answer with text", persona, status)
    else:
        assert status == 404
    assert api.post("/api/v1/questions/987654/answer/", {"text": "x"}, format="json").status_code == 404


def check_api_attachments(persona, user, referrals):
    """The referral's attachments: its offices and (now) its police read and upload; an empty upload
    is refused (400) inside, 404 outside; nothing is stored."""
    api = _api(user)
    for key, referral in referrals.items():
        inside = _in_dialogue(persona, key, referrals)
        url = f"/api/v1/referrals/{referral.pk}/attachments/"
        status = api.get(url).status_code
        assert status == (200 if inside else 404), ("attachments GET", persona, key, status)
        status = api.post(url, {}, format="multipart").status_code
        assert status == (400 if inside else 404), ("attachments POST", persona, key, status)
    assert not Attachment.objects.exists()


def check_api_police_attachment(persona, user, referrals):
    """The office's file (the original row) and a file of the Hilden station: the office downloads
    both, police only the station's, everyone else neither."""
    import tempfile

    from django.contrib.auth import get_user_model
    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import SimpleUploadedFile

    from referrals.dialogue import police_attachment_add
    from tests.test_permissions import check_api_attachment

    check_api_attachment(persona, user, referrals)
    field = Attachment._meta.get_field("file")
    storage = field.storage
    with tempfile.TemporaryDirectory() as directory:
        field.storage = FileSystemStorage(location=directory)
        try:
            attachment = police_attachment_add(
                referral=referrals["submitted_hilden"],
                user=get_user_model().objects.get(username="police_hilden"),
                uploaded_file=SimpleUploadedFile("bericht.pdf", b"%PDF-1.4\n%%EOF\n"),
            )
            api, web = _api(user), _web(user)
            for key, referral in referrals.items():
                allowed = key == "submitted_hilden" and _in_dialogue(persona, key, referrals)
                for client, url in (
                    (api, f"/api/v1/referrals/{referral.pk}/attachments/{attachment.pk}/"),
                    (web, f"/referrals/{referral.pk}/attachments/{attachment.pk}/"),
                ):
                    response = client.get(url)
                    if response.streaming:
                        b"".join(response.streaming_content)  # reading to the end closes the file
                    assert response.status_code == (200 if allowed else 404), ("police file", persona, key, url)
        finally:
            field.storage = storage


def _versions(referrals):
    return dict(Referral.objects.filter(pk__in=[r.pk for r in referrals.values()]).values_list("pk", "version"))


def check_page_questions(persona, user, referrals):
    """Asking on the page: POST only; 404 outside the scope; inside, the responsible office gets the
    page again (the empty question is refused at the field), everyone else 403."""
    web = _web(user)
    before = (_question_count(), _versions(referrals))
    refuses_get(web, lambda referral: f"/referrals/{referral.pk}/questions/", persona, referrals, "questions")
    for key, referral in referrals.items():
        url = f"/referrals/{referral.pk}/questions/"
        status = web.post(url, {}).status_code
        if not _visible(persona, key):
            expected = 404
        else:
            expected = 200 if _responsible(persona, key, referrals) else 403
        assert status == expected, ("questions page", persona, key, status)
    assert web.post("/referrals/987654/questions/", {}).status_code == 404
    assert (_question_count(), _versions(referrals)) == before


def check_page_answer(persona, user, referrals):
    question = _question(referrals)
    web = _web(user)
    url = f"/questions/{question.pk}/answer/"
    assert web.get(url).status_code == 405
    status = web.post(url, {}).status_code
    if not _in_dialogue(persona, "submitted_hilden", referrals):
        expected = 404
    else:
        expected = 200 if persona in POLICE else 403
    assert status == expected, ("answer page", persona, status)
    assert web.post("/questions/987654/answer/", {}).status_code == 404
    assert Question.objects.get(pk=question.pk).is_open


def check_page_police_attachments(persona, user, referrals):
    """The police upload page: 404 outside the scope; inside, police get the page again (no file),
    everyone else 403."""
    web = _web(user)
    url_of = lambda referral: f"/referrals/{referral.pk}/police-attachments/"  # noqa: E731
    refuses_get(web, url_of, persona, referrals, "police attachments")
    for key, referral in referrals.items():
        url = url_of(referral)
        status = web.post(url, {}).status_code
        if not _visible(persona, key):
            expected = 404
        else:
            expected = 200 if persona in POLICE else 403
        assert status == expected, ("police attachments page", persona, key, status)
    assert not Attachment.objects.exists()


DIALOGUE_ENDPOINTS = {
    "referral-questions": check_api_questions,
    "question-answer": check_api_answer,
    "referral-attachments": check_api_attachments,  # replaces the office-only row: police reach it now
    "referral-attachment": check_api_police_attachment,  # the office's file as before, plus a police file
    "referrals:questions": check_page_questions,
    "referrals:question_answer": check_page_answer,
    "referrals:police_attachments": check_page_police_attachments,
}
