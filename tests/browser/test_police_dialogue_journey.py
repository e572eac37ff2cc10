"""The dialogue with the police in a real browser (issue 14 §3, proof): the Hilden office asks the
filing station a question; the Hilden officer finds it by the badge in the police list, answers it and
attaches the police report as a PDF; the office sees both — the answer in the thread and in the
history, the file among the attachments. axe-core runs on each page on the way.
"""

import pytest
from django.core.files.storage import FileSystemStorage

from referrals.dialogue_models import Question
from referrals.models import Attachment
from tests.factories import make_referral

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
QUESTION = "Wurde gegen den Vater eine Strafanzeige erstattet, und wie lange gilt das Rückkehrverbot?"
ANSWER = "Ja, Anzeige wegen Körperverletzung. Das Rückkehrverbot gilt zehn Tage."


@pytest.fixture(autouse=True)
def private_files(tmp_path, monkeypatch):
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path / "store"))


def submit(page, action: str) -> None:
    """Press the submit button of the form that posts to ``.../<action>/``."""
    page.locator(f"form[action$='/{action}/'] button[type=submit]").click()
    page.wait_for_load_state()


def test_office_asks_officer_answers_and_attaches_a_pdf(
    page, live_server, personas, login, logout, assert_accessible, tmp_path
):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    detail_url = f"{live_server.url}/referrals/{referral.pk}/"

    # --- the office asks
    login(page, "caseworker_hilden")
    page.goto(detail_url)
    assert page.locator("#questions-title").inner_text() == "Rückfragen an die Polizei"
    page.fill("#question_text", QUESTION)
    assert_accessible(page, "office page with the question form")
    submit(page, "questions")
    assert page.url == detail_url
    assert "Polizeiwache Hilden" in page.locator(".message--success").inner_text()
    assert QUESTION in page.locator("[data-questions]").inner_text()
    assert "wartet auf Antwort" in page.locator("[data-questions]").inner_text()
    logout(page)

    # --- the officer finds it by the badge, answers and attaches the report
    login(page, "police_hilden")
    page.goto(f"{live_server.url}/referrals/")
    row = page.locator("table tbody tr", has_text=referral.reference)
    assert row.locator("[data-open-question]").inner_text() == "Rückfrage offen"
    assert page.locator("[data-open-questions]").count() == 1
    assert_accessible(page, "police list with an open question")
    row.locator("a", has_text=referral.reference).click()
    page.wait_for_url(detail_url)
    question = Question.objects.get()
    assert QUESTION in page.locator("[data-questions]").inner_text()
    page.fill(f"#answer{question.pk}_text", ANSWER)
    assert_accessible(page, "police page with the answer form")
    submit(page, "answer")
    assert page.url == detail_url
    assert "Jugendamt Hilden" in page.locator(".message--success").inner_text()
    assert ANSWER in page.locator("[data-questions]").inner_text()

    report = tmp_path / "Polizeibericht.pdf"
    report.write_bytes(PDF)
    page.set_input_files("#police_attachment_file", str(report))
    submit(page, "police-attachments")
    assert page.url == detail_url
    assert "Polizeibericht.pdf" in page.locator(".message--success").inner_text()
    assert "Polizeibericht.pdf" in page.locator("#police-attachments-title + p + ul").inner_text()
    assert_accessible(page, "police page after answering and attaching")
    page.goto(f"{live_server.url}/referrals/")
    assert page.locator("table tbody tr", has_text=referral.reference).locator("[data-open-question]").count() == 0
    logout(page)

    # --- the office sees both
    login(page, "caseworker_hilden")
    page.goto(detail_url)
    thread = page.locator("[data-questions]").inner_text()
    assert QUESTION in thread and ANSWER in thread
    attachments = page.locator("#attachments-title").locator("xpath=..").inner_text()
    assert "Polizeibericht.pdf" in attachments and "Polizeiwache Hilden" in attachments
    history = page.locator("#timeline-title").locator("xpath=..").inner_text()
    assert "Rückfrage an die Polizei" in history and "Antwort der Polizei" in history
    assert_accessible(page, "office page with the answer and the police file")
    with page.expect_download() as download:
        page.locator("a", has_text="Polizeibericht.pdf").click()
    assert open(download.value.path(), "rb").read() == PDF
    assert Attachment.objects.get().office.code == "PW-HIL"
