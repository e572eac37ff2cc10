"""The annual cooperation report with the referral figures (issue 15 § 2): one document on the page, in
the CSV and in the API (token auth); counts below 3 suppressed; a year without data says so, and a
year the report cannot cover never falls back to another year."""

import re

import time_machine
from rest_framework.test import APIClient

from tests.factories import api_token
from tests.test_dashboard_district import _office, _station, golden_district
from tests.test_dashboard_office import NOW, _web


def test_the_page_holds_the_referral_figures(personas):
    golden_district(personas)
    with time_machine.travel(NOW, tick=False):
        html = _web(personas.district_coordinator).get("/cooperation/report/?year=2026").content.decode()
    assert "Mitteilungen 2026" in html
    assert _station("PW-HIL") in html and _office("JA-HIL") in html
    assert "&lt; 3" in html
    assert "data-no-data" not in html


def test_the_csv_is_one_document(personas):
    golden_district(personas)
    with time_machine.travel(NOW, tick=False):
        csv = _web(personas.district_coordinator).get("/cooperation/report.csv?year=2026").content.decode()
    meetings, referrals = csv.split("\r\n\r\n")
    assert meetings.startswith("Behörden;Durchgeführte Treffen") or meetings.splitlines()[0].count(";") == 5
    header, *rows = referrals.splitlines()
    assert header.startswith("Polizeiwache;Jugendamt;Eingereichte Mitteilungen")
    hilden = next(r for r in rows if r.startswith(f"{_station('PW-HIL')};{_office('JA-HIL')}"))
    assert hilden.split(";")[2] == "4"
    for row in rows:
        assert not {"0", "1", "2"} & set(row.split(";")[2:]), row


def test_the_api_with_a_token(personas):
    golden_district(personas)
    key = api_token(personas.district_coordinator)
    with time_machine.travel(NOW, tick=False):
        response = APIClient().get("/api/v1/reports/cooperation/?year=2026", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200
    body = response.json()
    assert body["year"] == 2026 and body["has_data"] is True and body["message"] == ""
    assert body["cooperation"][-1]["is_total"] is True
    hilden = next(r for r in body["referrals"]["rows"] if r["office"] == _office("JA-HIL"))
    assert (hilden["filed"], hilden["via_triage"]) == (4, "< 3")
    assert APIClient().get("/api/v1/reports/cooperation/?year=2026").status_code in (401, 403)
    other = api_token(personas.lead_hilden)
    assert APIClient().get("/api/v1/reports/cooperation/", HTTP_AUTHORIZATION=f"Token {other}").status_code == 403


def test_a_year_without_data_says_so(personas):
    web = _web(personas.district_coordinator)
    with time_machine.travel(NOW, tick=False):
        html = web.get("/cooperation/report/?year=2024").content.decode()
        csv = web.get("/cooperation/report.csv?year=2024").content.decode()
        client = APIClient()
        client.force_authenticate(personas.district_coordinator)
        body = client.get("/api/v1/reports/cooperation/?year=2024").json()
    assert "data-no-data" in html and "Für 2024 sind keine Treffen" in html
    assert csv.splitlines()[0].startswith("Für 2024 sind keine")
    assert body["has_data"] is False and "2024" in body["message"] and body["referrals"]["rows"] == []


def test_no_silent_fallback_to_another_year(personas):
    web = _web(personas.district_coordinator)
    client = APIClient()
    client.force_authenticate(personas.district_coordinator)
    with time_machine.travel(NOW, tick=False):
        for year in ("1999", "2030", "zwanzig", "\uff12\uff10\uff12\uff16"):  # and full-width digits
            response = web.get(f"/cooperation/report/?year={year}")
            assert response.status_code == 404, year
            assert "Für „" in response.content.decode()
            assert web.get(f"/cooperation/report.csv?year={year}").status_code == 404
            assert client.get(f"/api/v1/reports/cooperation/?year={year}").status_code == 400


def test_the_pdf_is_the_same_document(personas):
    """The PDF (WeasyPrint) holds the meetings table and the referral figures, "< 3" for small cells,
    no personal data; a year the report cannot cover is 404 here too."""
    import io

    from pypdf import PdfReader

    golden_district(personas)
    web = _web(personas.district_coordinator)
    with time_machine.travel(NOW, tick=False):
        response = web.get("/cooperation/report.pdf?year=2026")
        assert web.get("/cooperation/report.pdf?year=1999").status_code == 404
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(response.content)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())  # table cells wrap
    assert "Jahresbericht der Kooperation 2026" in text and "Mitteilungen 2026" in text
    assert _station("PW-HIL") in text and "< 3" in text
    figures = re.sub(r"\d+ / \d+$", "", text.split("Zahl ihrer Zeile.")[1])  # the table, without the page number
    assert not {"0", "1", "2"} & set(figures.split()), figures
    for word in ("Beispiel", "Mia", "Mittelstraße", "KPB-ME-2026"):
        assert word not in text, word
    with time_machine.travel(NOW, tick=False):
        empty = web.get("/cooperation/report.pdf?year=2024")
    empty_text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(empty.content)).pages)
    assert "Für 2024 sind keine Treffen" in " ".join(empty_text.split())
