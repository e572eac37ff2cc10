"""Print and PDF of a case (issue 15 § 3): the PDF is made in the suite with WeasyPrint, its text read
back with pypdf and checked for the reference, both signatures of the risk assessment and the absence
of what was confided under § 65 SGB VIII — unless the office's lead includes it for the office's own
file. Who gets which print: the referral's offices the case file, its police their referral as filed
with the coded feedback, everyone else 404; every print is a download in the access log."""

import io

import pypdf
import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from django.utils.translation import gettext
from rest_framework.test import APIClient

from referrals.models import AccessLogEntry, Attachment
from referrals.services import assessment_save, assessment_sign_off, attachment_add, note_add, referral_acknowledge
from tests.factories import make_referral

NOTE = "Mutter berichtet offen über die Lage"
CONFIDED_NOTE = "Anvertraut: die Großmutter hilft heimlich"
CONFIDED_FILE = "vertrauliches-gespraech.pdf"
OPEN_FILE = "schulbericht.pdf"
SUMMARY = "Hausbesuch ohne Befund, Kind wohlauf"


def german(msgid: str) -> str:
    with translation.override("de"):
        return gettext(msgid)


def pdf_text(content: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(content))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


@pytest.fixture(autouse=True)
def _private_storage(monkeypatch, tmp_path):
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))


def _named(user, first, last):
    user.first_name, user.last_name = first, last
    user.save()
    return user


@pytest.fixture
def case(personas):
    """A Hilden case with a signed-off risk assessment (author Carla Fallwerk, second signature Lea
    Leitwerk), a note and a file for anyone of the office, and one of each confided (§ 65)."""
    author = _named(personas.caseworker_hilden, "Carla", "Fallwerk")
    lead = _named(personas.lead_hilden, "Lea", "Leitwerk")
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_acknowledge(referral=referral, user=author)
    assessment_save(referral=referral, user=author, summary=SUMMARY, outcome="no_risk_no_need", measures=["none"])
    assessment_sign_off(referral=referral, user=lead)
    note_add(referral=referral, user=author, text=NOTE)
    note_add(referral=referral, user=author, text=CONFIDED_NOTE, confidential=True)
    pdf = b"%PDF-1.4\n%%EOF\n"
    attachment_add(referral=referral, user=author, uploaded_file=SimpleUploadedFile(OPEN_FILE, pdf))
    attachment_add(
        referral=referral, user=author, uploaded_file=SimpleUploadedFile(CONFIDED_FILE, pdf), confidential=True
    )
    referral.refresh_from_db()
    return referral


def web(user):
    client = APIClient()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def _downloads(referral):
    return AccessLogEntry.objects.filter(referral_id=referral.pk, action=AccessLogEntry.Action.DOWNLOAD)


def test_the_office_pdf_names_reference_both_signatures_and_leaves_out_what_was_confided(case, personas):
    response = web(personas.caseworker_hilden).get(f"/referrals/{case.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{case.reference}.pdf"'
    text = pdf_text(response.content)
    assert case.reference in text and "Jugendamt Hilden" in text
    assert f"{german('Recorded by')} Carla Fallwerk" in text
    assert f"{german('Signed off by')} Lea Leitwerk" in text
    assert SUMMARY in text and NOTE in text and OPEN_FILE in text
    assert "Mia" in text  # the child of tests.factories.referral_payload
    assert CONFIDED_NOTE not in text and CONFIDED_FILE not in text
    assert "2 Einträge, die nach § 65 SGB VIII anvertraut wurden, sind nicht enthalten" in text
    entry = _downloads(case).get()
    assert (entry.person, entry.obj_type) == (personas.caseworker_hilden, AccessLogEntry.ObjectType.REFERRAL)


def test_the_lead_includes_what_was_confided_for_the_office_file_and_no_one_else_may(case, personas):
    response = web(personas.lead_hilden).get(f"/referrals/{case.pk}/pdf/?confidential=include")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert CONFIDED_NOTE in text and CONFIDED_FILE in text
    assert "nur für die eigene Akte" in text
    refused = web(personas.caseworker_hilden).get(f"/referrals/{case.pk}/pdf/?confidential=include")
    assert refused.status_code == 403 and refused["Content-Type"].startswith("text/html")
    assert (
        api(personas.caseworker_hilden).get(f"/api/v1/referrals/{case.pk}/pdf/?confidential=include").status_code == 403
    )
    assert _downloads(case).count() == 1  # the refused ones read nothing


def test_the_api_pdf_has_the_same_scope_and_logging(case, personas):
    response = api(personas.caseworker_hilden).get(f"/api/v1/referrals/{case.pk}/pdf/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert case.reference in text and "Lea Leitwerk" in text and CONFIDED_NOTE not in text
    assert _downloads(case).count() == 1
    for person in (personas.caseworker_velbert, personas.lead_velbert, personas.district_coordinator, personas.no_role):
        refused = api(person).get(f"/api/v1/referrals/{case.pk}/pdf/")
        assert refused.status_code == 404, person
        assert refused["Content-Type"] == "application/json"
    assert api(personas.caseworker_hilden).get("/api/v1/referrals/987654/pdf/").status_code == 404
    asked_for_pdf = api(personas.caseworker_hilden).get(
        f"/api/v1/referrals/{case.pk}/pdf/", HTTP_ACCEPT="application/pdf"
    )
    assert asked_for_pdf.status_code == 200 and asked_for_pdf["Content-Type"] == "application/pdf"
    denied = AccessLogEntry.objects.filter(action=AccessLogEntry.Action.DENIED, referral_id=case.pk)
    assert denied.count() == 4


def test_police_get_their_referral_as_filed_with_the_coded_status_and_nothing_of_the_casework(case, personas):
    page = web(personas.police_hilden).get(f"/referrals/{case.pk}/print/")
    assert page.status_code == 200
    assert [t.name for t in page.templates][0] == "referrals/print_police.html"
    html = page.content.decode()
    assert case.reference in html and "Mia" in html and german("In progress") in html
    for secret in (SUMMARY, NOTE, OPEN_FILE, "Lea Leitwerk"):
        assert secret not in html
    response = api(personas.police_hilden).get(f"/api/v1/referrals/{case.pk}/pdf/")
    assert response.status_code == 200
    text = pdf_text(response.content)
    assert case.reference in text and german("Feedback from the youth office") in text
    assert SUMMARY not in text and NOTE not in text and "Lea Leitwerk" not in text
    assert _downloads(case).count() == 2


def test_the_print_page_shows_the_case_file_in_a_fixed_number_of_queries(case, personas):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = web(personas.lead_hilden)
    with CaptureQueriesContext(connection) as first:
        client.get(f"/referrals/{case.pk}/print/")
    for number in range(5):  # more notes, files, follow-ups and history: not one query more
        note_add(referral=case, user=personas.caseworker_hilden, text=f"Weitere Notiz {number}")
        attachment_add(
            referral=case,
            user=personas.caseworker_hilden,
            uploaded_file=SimpleUploadedFile(f"{number}.pdf", b"%PDF-1.4"),
        )
    with CaptureQueriesContext(connection) as second:
        page = client.get(f"/referrals/{case.pk}/print/")
    assert len(second) == len(first) <= 30, (len(first), len(second))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/static/css/print.css"' in html or "print.css" in html
    assert case.reference in html and NOTE in html and CONFIDED_NOTE not in html
    assert 'name="confidential" value="include"' in html  # the lead's choice
    assert f"/referrals/{case.pk}/pdf/" in html
    assert (
        'name="confidential"'
        not in web(personas.caseworker_hilden).get(f"/referrals/{case.pk}/print/").content.decode()
    )
    for person in (personas.caseworker_velbert, personas.district_coordinator):
        assert web(person).get(f"/referrals/{case.pk}/print/").status_code == 404
    # the office's page links to its print
    assert f"/referrals/{case.pk}/print/" in client.get(f"/referrals/{case.pk}/").content.decode()


def test_the_pdf_fetches_nothing_a_text_names(monkeypatch):
    """WeasyPrint asks only our fetcher, which refuses: an address typed into a case loads nothing."""
    from referrals import printing

    asked = []

    def refuse(url):
        asked.append(url)
        raise ValueError("refused")

    monkeypatch.setattr(printing, "_refuse_fetch", refuse)
    pdf = printing.pdf_from_html('<p>Text</p><img src="http://127.0.0.1:9/x.png" alt="">')
    assert pdf.startswith(b"%PDF") and asked == ["http://127.0.0.1:9/x.png"]


def test_the_screening_and_the_children_s_parts_are_printed(personas):
    """Issue 13: a screening without weighty indications with both signatures, and an assessment with
    one part per child."""
    from referrals.screening import screening_save, screening_sign_off
    from tests.test_assessment_children import acute

    author = _named(personas.caseworker_hilden, "Carla", "Fallwerk")
    lead = _named(personas.lead_hilden, "Lea", "Leitwerk")
    screened = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_acknowledge(referral=screened, user=author)
    screening_save(
        referral=screened,
        user=author,
        weighty_indications=False,
        reason="Streit ohne Gefährdung",
        next_step="information_only",
    )
    screening_sign_off(referral=screened, user=lead)
    text = pdf_text(web(author).get(f"/referrals/{screened.pk}/pdf/").content)
    assert "Streit ohne Gefährdung" in text
    assert f"{german('Recorded by')} Carla Fallwerk" in text and f"{german('Signed off by')} Lea Leitwerk" in text

    assessed = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    referral_acknowledge(referral=assessed, user=author)
    screening_save(referral=assessed, user=author, weighty_indications=True, reason="Hinweise", next_step="")
    assessed.refresh_from_db()
    assessment_save(
        referral=assessed, user=author, summary=SUMMARY, measures=["offer_of_help"],
        professionals=[author.pk, lead.pk], children=[acute(assessed.children.get())],
    )  # fmt: skip
    text = pdf_text(web(author).get(f"/referrals/{assessed.pk}/pdf/").content)
    with translation.override("de"):
        from referrals.models import Outcome

        assert str(Outcome.ACUTE_RISK.label) in text and german("Result for this child") in text


UNKNOWN_CONFIDENTIAL = (
    "Unbekannter Wert des Parameters „confidential“: Lassen Sie ihn für die übliche Druckansicht weg "
    "(„include“ ist nur für die Leitung des Amts)."
)


@pytest.mark.parametrize(
    "query",
    [
        "confidential=bogus",
        "confidential=",
        "confidential=true",
        "confidential=1",
        "confidential=INCLUDE",
        "confidential=include&confidential=bogus",
    ],
)
def test_only_the_documented_value_of_confidential_is_accepted(case, personas, query):
    """``?confidential=`` knows one value, ``include`` (docs/domain.md "Druck und PDF eines Falls"): anything
    else is 400 with a German message naming the parameter — in the API, the PDF and the print page — rather
    than a print that silently leaves out what the caller may have meant to include."""
    for person in (personas.lead_hilden, personas.caseworker_hilden):
        response = api(person).get(f"/api/v1/referrals/{case.pk}/pdf/?{query}")
        assert response.status_code == 400, (person, response.content[:200])
        assert response["Content-Type"] == "application/json"
        assert response.json() == {"confidential": [UNKNOWN_CONFIDENTIAL]}
        for page in ("pdf", "print"):
            response = web(person).get(f"/referrals/{case.pk}/{page}/?{query}")
            assert response.status_code == 400, (person, page)
            assert response["Content-Type"].startswith("text/html")
            assert UNKNOWN_CONFIDENTIAL in response.content.decode()
    # Out of the scope it stays 404, whatever the parameter says.
    assert api(personas.caseworker_velbert).get(f"/api/v1/referrals/{case.pk}/pdf/?{query}").status_code == 404
    assert web(personas.caseworker_velbert).get(f"/referrals/{case.pk}/pdf/?{query}").status_code == 404
    assert _downloads(case).count() == 0  # nothing was printed


def test_without_the_parameter_or_with_include_the_print_is_as_before(case, personas):
    assert api(personas.lead_hilden).get(f"/api/v1/referrals/{case.pk}/pdf/").status_code == 200
    assert api(personas.lead_hilden).get(f"/api/v1/referrals/{case.pk}/pdf/?confidential=include").status_code == 200
    assert web(personas.lead_hilden).get(f"/referrals/{case.pk}/print/?confidential=include").status_code == 200
    assert _downloads(case).count() == 3
