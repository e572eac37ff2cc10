"""Hand-over to an office outside the system (issue 15 § 3): the export produces the PDF and the
structured JSON, recorded together (what, to whom, when, by whom), then a confirmation page offers
both; the police then read "abgegeben an <office>", never "not yet submitted". Only the people of the
handing office fetch the documents again; everyone else gets 404."""

import json

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from referrals.handover_models import Handover
from referrals.models import AccessLogEntry, Attachment, Referral
from referrals.services import attachment_add, note_add, referral_reopen
from tests.factories import make_referral
from tests.test_case_pdf import german, pdf_text

RECIPIENT = "Jugendamt Solingen"
CONFIDED = "Anvertraut: der Nachbar passt nachts auf"


@pytest.fixture(autouse=True)
def _private_storage(monkeypatch, tmp_path):
    monkeypatch.setattr(Attachment._meta.get_field("file"), "storage", FileSystemStorage(location=tmp_path))


def web(user):
    client = APIClient()
    client.force_login(user)
    return client


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def case(personas):
    referral = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    note_add(referral=referral, user=personas.caseworker_hilden, text="Offene Notiz zum Fall")
    note_add(referral=referral, user=personas.caseworker_hilden, text=CONFIDED, confidential=True)
    attachment_add(
        referral=referral,
        user=personas.caseworker_hilden,
        uploaded_file=SimpleUploadedFile("geheim.pdf", b"%PDF-1.4\n%%EOF\n"),
        confidential=True,
    )
    referral.refresh_from_db()
    return referral


def _export(client, referral, recipient=RECIPIENT):
    data = {"version": referral.version, "recipient": recipient, "confirm": "1"}
    return client.post(f"/referrals/{referral.pk}/export/", data)


def test_the_export_asks_first_and_nothing_happens_until_confirmed(case, personas):
    lead = web(personas.lead_hilden)
    response = lead.post(f"/referrals/{case.pk}/export/", {"version": case.version, "recipient": RECIPIENT})
    assert response.status_code == 200 and [t.name for t in response.templates][0] == "referrals/confirm_export.html"
    html = response.content.decode()
    assert RECIPIENT in html and 'name="confirm" value="1"' in html and f'value="{case.version}"' in html
    assert not Handover.objects.exists() and Referral.objects.get(pk=case.pk).status == "submitted"


def test_an_empty_recipient_is_named_in_the_message(case, personas):
    """QA of 2026-12-05: the page said only "This field is required." at the top."""
    lead = web(personas.lead_hilden)
    response = lead.post(f"/referrals/{case.pk}/export/", {"version": case.version, "recipient": ""}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert [m for m in messages if m.startswith("Übernehmende Stelle außerhalb des Systems: ")], messages
    assert not Handover.objects.exists()


def test_the_export_records_pdf_and_json_and_confirms_what_to_whom_when_by_whom(case, personas):
    personas.lead_hilden.first_name, personas.lead_hilden.last_name = "Lea", "Leitwerk"
    personas.lead_hilden.save()
    lead = web(personas.lead_hilden)
    response = _export(lead, case)
    handover = Handover.objects.get(referral=case)
    assert response.status_code == 302
    assert response["Location"] == f"/referrals/{case.pk}/handovers/{handover.pk}/"
    assert (handover.recipient, handover.handed_over_by, handover.agency.code) == (
        RECIPIENT,
        personas.lead_hilden,
        "JA-HIL",
    )
    assert handover.confidential_left_out == 2
    closed = Referral.objects.get(pk=case.pk)
    assert closed.status == "closed" and handover.at == closed.closed_at

    page = lead.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert RECIPIENT in html and "Lea Leitwerk" in html and "Jugendamt Hilden" in html and case.reference in html
    assert f"/referrals/{case.pk}/handovers/{handover.pk}/pdf/" in html
    assert f"/referrals/{case.pk}/handovers/{handover.pk}/json/" in html

    pdf = lead.get(f"/referrals/{case.pk}/handovers/{handover.pk}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = pdf_text(pdf.content)
    assert case.reference in text and "Offene Notiz zum Fall" in text
    assert CONFIDED not in text and "geheim.pdf" not in text
    assert f"{german('Handed over to %(office)s') % {'office': RECIPIENT}}" in text
    document = json.loads(lead.get(f"/referrals/{case.pk}/handovers/{handover.pk}/json/").content)
    assert document["handover"]["recipient"] == RECIPIENT
    assert document["referral"]["reference"] == case.reference
    assert [n["text"] for n in document["notes"]] == ["Offene Notiz zum Fall"] and document["attachments"] == []

    # The closed case's page links to its hand-over.
    case_page = web(personas.caseworker_hilden).get(f"/referrals/{case.pk}/").content.decode()
    assert f'href="/referrals/{case.pk}/handovers/{handover.pk}/"' in case_page

    logged = AccessLogEntry.objects.filter(referral_id=case.pk, obj_type=AccessLogEntry.ObjectType.EXPORT)
    assert sorted(logged.values_list("action", flat=True)) == ["download", "download", "export"]
    assert set(logged.values_list("obj_id", flat=True)) == {handover.pk}


def test_police_feedback_names_the_receiving_office(case, personas):
    _export(web(personas.lead_hilden), case)
    police = web(personas.police_hilden)
    page = police.get(f"/referrals/{case.pk}/").content.decode()
    assert german("Handed over to %(office)s") % {"office": RECIPIENT} in page
    assert german("Not submitted yet") not in page
    feedback = api(personas.police_hilden).get(f"/api/v1/referrals/{case.pk}/").json()["feedback"]
    assert (feedback["code"], feedback["handed_over_to"]) == ("handed_over", RECIPIENT)
    printed = police.get(f"/referrals/{case.pk}/print/").content.decode()
    assert german("Handed over to %(office)s") % {"office": RECIPIENT} in printed
    # Reopened by the lead, the case is the office's again: no longer "handed over".
    referral_reopen(referral=Referral.objects.get(pk=case.pk), user=personas.lead_hilden, reason="Rückfrage")
    feedback = api(personas.police_hilden).get(f"/api/v1/referrals/{case.pk}/").json()["feedback"]
    assert feedback["code"] != "handed_over" and "handed_over_to" not in feedback


def test_a_referral_from_triage_names_the_office_and_the_coordination_office_keeps_its_copy(personas):
    referral = make_referral(personas.police_hilden, postcode="10115", city="Berlin")
    coordinator = web(personas.district_coordinator)
    response = _export(coordinator, referral, "Jugendamt Berlin-Mitte")
    handover = Handover.objects.get(referral=referral)
    assert response.status_code == 302 and handover.agency.code == "KOORD"
    # Closed, the referral has left the triage queue; the coordination office keeps the hand-over.
    assert coordinator.get(f"/referrals/{referral.pk}/").status_code == 404
    assert coordinator.get(response["Location"]).status_code == 200
    assert coordinator.get(f"/referrals/{referral.pk}/handovers/{handover.pk}/pdf/").status_code == 200
    page = web(personas.police_hilden).get(f"/referrals/{referral.pk}/").content.decode()
    assert german("Handed over to %(office)s") % {"office": "Jugendamt Berlin-Mitte"} in page
    assert german("Not submitted yet") not in page


OUTSIDERS = ("caseworker_velbert", "lead_velbert", "police_hilden", "police_coordinator", "district_coordinator")


def test_no_one_else_reaches_a_hand_over(case, personas):
    _export(web(personas.lead_hilden), case)
    handover = Handover.objects.get(referral=case)
    other = make_referral(personas.police_hilden, postcode="40723", city="Hilden")
    for what in ("", "pdf/", "json/"):
        url = f"/referrals/{case.pk}/handovers/{handover.pk}/{what}"
        for persona in OUTSIDERS:
            assert web(getattr(personas, persona)).get(url).status_code == 404, (persona, what)
        assert web(personas.caseworker_hilden).get(url).status_code == 200, what
        # The hand-over only under its own referral's address.
        assert web(personas.lead_hilden).get(f"/referrals/{other.pk}/handovers/{handover.pk}/{what}").status_code == 404
    denied = AccessLogEntry.objects.filter(action=AccessLogEntry.Action.DENIED)
    assert denied.filter(referral_id=case.pk).count() == 3 * len(OUTSIDERS)


def test_a_refused_export_records_nothing(case, personas):
    assert _export(web(personas.caseworker_hilden), case).status_code == 403
    response = _export(web(personas.lead_hilden), case, recipient=" ")
    assert response.status_code == 302 and response["Location"] == f"/referrals/{case.pk}/"
    stale = web(personas.lead_hilden).post(
        f"/referrals/{case.pk}/export/", {"version": 0, "recipient": RECIPIENT, "confirm": "1"}
    )
    assert stale.status_code == 302 and stale["Location"] == f"/referrals/{case.pk}/"
    assert not Handover.objects.exists() and Referral.objects.get(pk=case.pk).status == "submitted"


def test_the_api_export_records_the_hand_over_with_its_pdf(case, personas):
    response = api(personas.lead_hilden).post(
        f"/api/v1/referrals/{case.pk}/export/", {"recipient": RECIPIENT, "version": case.version}, format="json"
    )
    assert response.status_code == 200 and response.json()["handover"]["recipient"] == RECIPIENT
    handover = Handover.objects.get(referral=case)
    assert bytes(handover.pdf).startswith(b"%PDF") and case.reference in pdf_text(bytes(handover.pdf))
    assert handover.document == response.json()


def test_the_hand_over_is_deleted_with_its_case(case, personas):
    """Retention deletes a referral with everything hanging on it (referrals.retention._purge): the
    stored PDF and export of its hand-over too."""
    from referrals.retention import _purge

    _export(web(personas.lead_hilden), case)
    assert Handover.objects.filter(referral=case).exists()
    _purge(Referral.objects.get(pk=case.pk))
    assert not Handover.objects.exists()
