"""Protection against differencing in every district output (issue 15 § 2; docs/kennzahlen.md,
"Schutz vor Differenzbildung"): a pair of police station and youth office whose month holds one cell
of 2 beside a shown total — 9 filed: 3 immediate, 2 urgent, 4 routine; 7 direct, 2 via triage — must
not let anyone compute the 2 by subtraction, on the district page, in its CSV and API, and on the
page, in the CSV, the API and the PDF of the cooperation report."""

import datetime
import io
import re

import pytest
import time_machine
from pypdf import PdfReader
from rest_framework.test import APIClient

from referrals import dashboard
from referrals.models import Referral, Status
from tests.factories import api_token, make_referral
from tests.test_dashboard_district import _office, _station, district_outputs
from tests.test_dashboard_office import NOW, _set, _web, at

URGENCY = ("immediate", "urgent", "routine")
ROUTE = ("direct", "via_triage")


@pytest.fixture
def nine(personas):
    with time_machine.travel(at(20, 12), tick=False):
        referrals = [
            make_referral(personas.police_hilden, postcode="40723", city="Hilden", urgency=urgency)
            for urgency in ["immediate"] * 3 + ["urgent"] * 2 + ["routine"] * 4
        ]
    for day, referral in enumerate(referrals, start=2):
        _set(referral, submitted_at=at(day, 10), received_at=at(day, 10), acknowledged_at=at(day, 11),
             status=Status.ACKNOWLEDGED)  # fmt: skip
    for referral in (referrals[0], referrals[5]):  # two via the triage queue
        _set(referral, triage_reason="postcode_unknown")
    return referrals


def assert_not_recoverable(cells: dict[str, str], where: str):
    """``cells``: the Hilden pair's counts as shown (text). The total is shown; in each group at least
    two cells are hidden, so the hidden ones' sum cannot be split; and nothing shown is the 2."""
    hidden = "< 3"
    assert cells["filed"] == "9", (where, cells)
    for group in (URGENCY, ROUTE):
        covered = [c for c in group if cells[c] == hidden]
        assert len(covered) >= 2, (where, group, cells)
        assert all(cells[c] in (hidden, "4") for c in group), (where, group, cells)  # only "4 routine" shown
    assert cells["urgent"] == hidden and cells["via_triage"] == hidden, (where, cells)


def test_the_rule_on_the_counts():
    counts = {"filed": 9, "immediate": 3, "urgent": 2, "routine": 4, "direct": 7, "via_triage": 2}
    counts.update({f"concern_{c}": 0 for c in dashboard.Concern.values})
    counts["concern_neglect"] = 9
    hidden = dashboard.suppressed_cells(counts)
    assert {"urgent", "immediate", "direct", "via_triage"} <= hidden
    assert not {"filed", "routine"} & hidden
    # Concerns: five zeros hidden, "neglect 9" shown — a referral may name several concerns, so their
    # sum is no total to subtract from; exactly one hidden concern would pull in the next smallest.
    assert "concern_neglect" not in hidden
    one = {"filed": 9, "concern_neglect": 5, "concern_other": 4, "concern_domestic_violence": 1}
    assert dashboard.suppressed_cells(one) == {"concern_domestic_violence", "concern_other"}
    # Partitions: hidden cells that add up to 0 would each be 0.
    zeros = {"filed": 5, "immediate": 5, "urgent": 0, "routine": 0, "direct": 5, "via_triage": 0}
    assert dashboard.suppressed_cells(zeros) == {"urgent", "routine", "immediate", "via_triage", "direct"}
    # Nothing to protect: no cell hidden, or two hidden that do not add up to 0.
    fine = {"filed": 9, "immediate": 1, "urgent": 2, "routine": 6, "direct": 4, "via_triage": 5}
    assert dashboard.suppressed_cells(fine) == {"immediate", "urgent"}


def _district_columns():
    return list(dashboard.district_columns())


def test_the_district_page_csv_and_api(personas, nine):
    page, csv, api = district_outputs(personas.district_coordinator)
    columns = _district_columns()
    station, office = _station("PW-HIL"), _office("JA-HIL")
    row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, re.S) if station in r and office in r)
    texts = [c.replace("&lt;", "<") for c in re.findall(r"<t[hd][^>]*>(?:<a [^>]*>)?([^<]*)", row)]
    assert_not_recoverable(dict(zip(columns, texts, strict=True)), "page")
    line = next(r for r in csv.splitlines() if f";{station};{office};" in r)
    assert_not_recoverable(dict(zip(columns, line.split(";"), strict=True)), "csv")
    found = next(r for r in api["rows"] if r["station"] == station and r["office"] == office)
    assert_not_recoverable({c: str(found[c]) for c in columns}, "api")


def test_the_cooperation_report_page_csv_api_and_pdf(personas, nine):
    columns = list(dashboard.district_columns(by_month=False))
    station, office = _station("PW-HIL"), _office("JA-HIL")
    with time_machine.travel(NOW, tick=False):
        web = _web(personas.district_coordinator)
        page = web.get("/cooperation/report/?year=2026").content.decode()
        csv = web.get("/cooperation/report.csv?year=2026").content.decode()
        pdf = web.get("/cooperation/report.pdf?year=2026").content
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(personas.district_coordinator)}")
        api = client.get("/api/v1/reports/cooperation/?year=2026").json()
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S) if station in r and office in r)
    texts = [c.strip().replace("&lt;", "<") for c in re.findall(r"<t[hd][^>]*>([^<]*)", row)]
    assert_not_recoverable(dict(zip(columns, texts, strict=True)), "report page")
    line = next(r for r in csv.split("\r\n\r\n")[1].splitlines() if r.startswith(f"{station};{office};"))
    assert_not_recoverable(dict(zip(columns, line.split(";"), strict=True)), "report csv")
    found = next(r for r in api["referrals"]["rows"] if r["station"] == station and r["office"] == office)
    assert_not_recoverable({c: str(found[c]) for c in columns}, "report api")
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    after = text.split(f"{station} {office}", 1)[1]
    tokens = re.findall(r"< 3|–|\d+(?:,\d+)?", after)[: len(columns) - 2]
    assert_not_recoverable(dict(zip(columns[2:], tokens, strict=True)), "report pdf")


def test_the_golden_day_count_is_exact(personas, nine):
    """The fixture is what it says: without suppression the 2 would be there to compute."""
    period = dashboard.Period(datetime.date(2026, 11, 1), datetime.date(2026, 11, 30))
    filed = Referral.objects.filter(submitted_at__gte=period.begin_at, submitted_at__lt=period.end_at)
    assert filed.count() == 9 and filed.filter(urgency="urgent").count() == 2
    assert filed.exclude(triage_reason="").count() == 2
